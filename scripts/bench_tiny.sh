#!/usr/bin/env bash
# terrascope-tiny on the held-out synthetic bench (issue 6): writes the bench (seeds 0..N-1, never
# a training seed), runs `terrascope bench` with the engine's release policies and again with
# <REGION> injection switched off (the grounding ablation), prints both reports and, with
# MIN_ACCURACY set, fails when the macro accuracy with injection falls below it.
#
#   scripts/bench_tiny.sh BUILD_DIR BUNDLE_DIR OUT_DIR     (env: N=300, MIN_ACCURACY=, ABLATION=1)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:?usage: bench_tiny.sh BUILD_DIR BUNDLE_DIR OUT_DIR}
BUNDLE=${2:?usage: bench_tiny.sh BUILD_DIR BUNDLE_DIR OUT_DIR}
OUT=${3:?usage: bench_tiny.sh BUILD_DIR BUNDLE_DIR OUT_DIR}
N=${N:-300}
BENCH="$OUT/synth-bench"

bash scripts/synth_bench.sh "$BENCH" "$N"

gate=()
if [ -n "${MIN_ACCURACY:-}" ]; then gate=(--min-accuracy "$MIN_ACCURACY"); fi

echo "== terrascope bench: terrascope-tiny, $N held-out synthetic samples, <REGION> injection on =="
rm -rf "$OUT/with-regions"
"$BUILD_DIR/terrascope" bench --model "$BUNDLE" --bench "$BENCH/bench.jsonl" \
  --out "$OUT/with-regions" "${gate[@]}"

if [ "${ABLATION:-1}" = "1" ]; then
  echo
  echo "== the same with --no-region-injection (the grounding ablation) =="
  rm -rf "$OUT/no-regions"
  "$BUILD_DIR/terrascope" bench --model "$BUNDLE" --bench "$BENCH/bench.jsonl" \
    --no-region-injection --out "$OUT/no-regions"
fi
