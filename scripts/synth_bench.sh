#!/usr/bin/env bash
# Writes the held-out synthetic bench (tools/make_synth_bench.py, seeds 0..N-1) into DIR, or keeps
# the one already there when it was made by the same generator code for the same N (a hash stamp
# in DIR/.made-by). Used by scripts/bench_tiny.sh and scripts/demo.sh.
#   scripts/synth_bench.sh DIR N
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: synth_bench.sh DIR N}
N=${2:?usage: synth_bench.sh DIR N}
STAMP="N=$N $(cat tools/make_synth_bench.py tools/synth/*.py | sha256sum | cut -d' ' -f1)"
if [ ! -f "$DIR/bench.jsonl" ] || [ "$(cat "$DIR/.made-by" 2>/dev/null)" != "$STAMP" ]; then
  rm -rf "$DIR"
  /usr/bin/python3 tools/make_synth_bench.py --out "$DIR" --n "$N" --seed 0
  echo "$STAMP" > "$DIR/.made-by"
fi
