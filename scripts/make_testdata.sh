#!/usr/bin/env bash
# Makes the generated test data (tiny bundles, golden files) with the project's own tools.
# Every tools/testdata_*.py is run as `/usr/bin/python3 tools/testdata_X.py OUTDIR`, in name order;
# each writes under OUTDIR and skips work whose outputs are already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/testdata}
mkdir -p "$OUT"
for gen in tools/testdata_*.py; do
  [ -e "$gen" ] || continue
  echo "testdata: $gen"
  /usr/bin/python3 "$gen" "$OUT"
done
