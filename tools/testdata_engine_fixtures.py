#!/usr/bin/env python3
"""Test data for the C++ engine's unit tests that comes from the Python reference, not from the
engine: the seeded sampler's choices (terrascope_ref/sampling.py, the documented algorithm).

    testdata_engine_fixtures.py OUTDIR     -> OUTDIR/engine/sampling_cases.json

Each case: logits (float32 values written as exact decimal strings of their float32 value),
sampler settings, and the ids the reference Sampler draws in order with one generator.
"""
import json
import os
import sys

import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from terrascope_ref.sampling import Sampler, SplitMix64  # noqa: E402

SETTINGS = [
    # temperature, top_k, top_p, seed
    (0.0, 0, 1.0, 0),
    (1.0, 0, 1.0, 0),
    (0.7, 0, 1.0, 42),
    (1.3, 5, 1.0, 7),
    (0.9, 0, 0.8, 123456789),
    (1.0, 40, 0.95, 2 ** 63 + 11),
    (2.5, 1, 1.0, 3),
    (0.5, 0, 0.3, 99),
]
DRAWS = 24


def main(argv):
    if len(argv) != 2:
        raise SystemExit(f"usage: {argv[0]} OUTDIR")
    out_dir = os.path.join(argv[1], "engine")
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261126)
    cases = []
    for n, (temperature, top_k, top_p, seed) in enumerate(SETTINGS):
        vocab = 64 + 37 * n
        logits = (torch.randn(DRAWS, vocab, generator=gen) * 3.0).to(torch.float32)
        # Ties: the greedy rule must take the lowest id.
        logits[0, 5] = logits[0].max() + 1.0
        logits[0, 9] = logits[0, 5]
        sampler = Sampler(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        ids = [sampler.choose(logits[d]) for d in range(DRAWS)]
        cases.append({"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": str(seed),
                      "logits": [[float(v) for v in row] for row in logits.tolist()], "ids": ids})
    rng = SplitMix64(1234567)
    splitmix = {"seed": "1234567", "u64": [str(rng.next_u64()) for _ in range(5)],
                "uniform_seed0": [SplitMix64(0).uniform()]}
    path = os.path.join(out_dir, "sampling_cases.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cases": cases, "splitmix64": splitmix}, f)
    print(f"engine fixtures: {path}")


if __name__ == "__main__":
    main(sys.argv)
