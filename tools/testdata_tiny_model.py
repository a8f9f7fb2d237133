#!/usr/bin/env python3
"""Export the committed terrascope-tiny weights (models/terrascope-tiny: config.json,
model.safetensors, tokenizer.json) to OUTDIR/bundles/terrascope-tiny/ through the real exporter
(tools/export.py), as the set-up does for every checkpoint. The bundle itself is not committed.

    testdata_tiny_model.py OUTDIR [--checkpoint models/terrascope-tiny]
"""
import argparse
import os
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
DEFAULT_CHECKPOINT = os.path.join(REPO, "models", "terrascope-tiny")
CACHE_LEN = 1024  # prompt (up to 13 tiles x 16 tokens + text) plus the reasoning, with room


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    args = parser.parse_args(argv)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        path = os.path.join(args.checkpoint, name)
        if not os.path.isfile(path):
            print(f"{path}: missing (terrascope-tiny checkpoint incomplete)", file=sys.stderr)
            return 1
    out = os.path.join(args.outdir, "bundles", "terrascope-tiny")
    subprocess.run([sys.executable, os.path.join(TOOLS, "export.py"), "--checkpoint",
                    args.checkpoint, "--out", out, "--dtype", "fp32", "--cache-len",
                    str(CACHE_LEN), "--name", "terrascope-tiny", "--max-tiles", "1",
                    "--source", "models/terrascope-tiny (tools/train_tiny.py, see TRAINING.md)"],
                   check=True)
    print(f"terrascope-tiny bundle: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
