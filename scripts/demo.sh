#!/usr/bin/env bash
# The main job, from a fresh machine: install, build, export the repository's small trained model
# (terrascope-tiny, committed weights under models/) to a bundle, and ask it about a real scene.
# Usage: bash scripts/demo.sh          (BUILD_DIR=..., OUT_DIR=... to move the outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$ROOT/out/demo}

bash scripts/setup.sh
source scripts/shared_data.sh
DATA=$TERRASCOPE_SHARED_DATA

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTERRASCOPE_SHARED_DATA="$DATA" > /dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target terrascope

BUNDLE="$BUILD_DIR/models/terrascope-tiny"
if [ ! -f "$BUNDLE/terrascope.json" ] || [ models/terrascope-tiny/model.safetensors -nt "$BUNDLE/terrascope.json" ]; then
  echo "== exporting models/terrascope-tiny -> $BUNDLE =="
  /usr/bin/python3 tools/export.py --checkpoint models/terrascope-tiny --out "$BUNDLE" \
    --name terrascope-tiny --source "models/terrascope-tiny (trained here, see TRAINING.md)"
fi
"$BUILD_DIR/terrascope" verify --model "$BUNDLE"

SCENE="$DATA/sen1floods11/Spain_7370579_S2Hand.tif"
echo
echo "== terrascope info (Sentinel-2 13-band chip, sen1floods11) =="
"$BUILD_DIR/terrascope" info "$SCENE"
echo
echo "== terrascope ask --full: how much of the scene is water? =="
rm -rf "$OUT_DIR"
"$BUILD_DIR/terrascope" ask --model "$BUNDLE" --image "$SCENE" --preset sentinel2 \
  -q "What percentage of the image is covered by water?" \
  --options "A. 3%" "B. 14%" "C. 31%" "D. 52%" --full --out "$OUT_DIR"
echo
echo "== outputs in $OUT_DIR =="
ls -l "$OUT_DIR"
