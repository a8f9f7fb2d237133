"""terrascope_ref: our own PyTorch reference of TerraScope (model, tokenizer, preprocessing, loop).

It defines what "correct" means for the C++ engine: the exporter turns it into bundles and the
reference loop writes the golden files the engine's parity tests compare against.
"""
