#!/usr/bin/env bash
# Retrain terrascope-tiny from scratch (issue 6), the two stages of models/terrascope-tiny/TRAINING.md,
# on CPU: about 55 minutes on 2 cores. Not part of the build or the tests (the weights are committed).
# Usage: bash scripts/train_tiny.sh [OUT [STAGE]]
#   OUT    checkpoint to write (default models/terrascope-tiny)
#   STAGE  scratch folder for stage 1 and the GEMM shim (default build/train-tiny)
# Stage 1 is skipped when STAGE holds its checkpoint from the same command and the same training
# code (a stamp written after it finished: sha256 of the command and of tools/train_tiny.py,
# tools/synth/*.py, tools/terrascope_ref/*.py); REUSE_STAGE1=0 always reruns it.
set -euo pipefail
{ # bash reads the whole block before running it: editing this file during a run is harmless
cd "$(dirname "$0")/.."
OUT=${1:-models/terrascope-tiny}
STAGE=${2:-build/train-tiny}
mkdir -p "$STAGE"

# Debian's torch multiplies through the netlib reference BLAS; route its sgemm_ to oneDNN (6x
# faster training steps here). tools/onednn_sgemm.c says how.
gcc -O2 -shared -fPIC -o "$STAGE/libonednn_sgemm.so" tools/onednn_sgemm.c -ldl
export LD_PRELOAD="$(cd "$STAGE" && pwd)/libonednn_sgemm.so"

# Stage 1: SAM-2 alone, prompted in its language slot by a learnt embedding per mask kind.
STAGE1=(tools/train_tiny.py --out "$STAGE/sam" --stage sam --steps 1200 --batch 16
  --fresh 8 --lr 1e-3 --sam-lr-scale 1 --warmup 20 --pos-weight 2 --seed 0)
STAMP=$( { echo "${STAGE1[*]}"
           cat tools/train_tiny.py tools/synth/*.py tools/terrascope_ref/*.py; } |
         sha256sum | cut -d' ' -f1)
if [[ ${REUSE_STAGE1:-1} != 0 && -f "$STAGE/sam/model.safetensors" &&
      "$(cat "$STAGE/sam/stage1.stamp" 2>/dev/null)" == "$STAMP" ]]; then
  echo "train_tiny.sh: reusing stage 1 in $STAGE/sam (same command and code; REUSE_STAGE1=0 reruns)"
else
  rm -f "$STAGE/sam/stage1.stamp"
  /usr/bin/python3 "${STAGE1[@]}" --log "$STAGE/train_sam.log"
  echo "$STAMP" > "$STAGE/sam/stage1.stamp"
fi
# Stage 2: the whole model from stage 1 (vision and LLM fresh).
/usr/bin/python3 tools/train_tiny.py --out "$OUT" --init-from "$STAGE/sam" \
  --kinds "$STAGE/sam/mask_kinds.pt" --steps 9000 --batch 8 --fresh 4 --lr 3e-3 --warmup 60 \
  --sam-lr-scale 0.33 --sam-frozen-steps 600 --pos-weight 2 --answer-weight 3 --tail-weight 3 \
  --probe-weight 0.5 --lot-probe-weight 0.5 --align-weight 1 --first-sample 100000 --seed 0 \
  --max-minutes 50 \
  --log "$STAGE/train_joint.log"
exit
}
