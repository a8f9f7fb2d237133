#!/usr/bin/env bash
# The main job, from a fresh machine: install, build, export the repository's small trained model
# (terrascope-tiny, committed weights under models/) to a bundle, and ask it about a real scene.
# Usage: bash scripts/demo.sh          (BUILD_DIR=..., OUT_DIR=... to move the outputs)
set -euo pipefail
{ # bash reads the whole block before running it: editing this file during a run is harmless
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

# The same export as the tests' (tools/testdata_tiny_model.py: tools/export.py, --max-tiles 1).
BUNDLE="$BUILD_DIR/bundles/terrascope-tiny"
if [ ! -f "$BUNDLE/terrascope.json" ] || [ models/terrascope-tiny/model.safetensors -nt "$BUNDLE/terrascope.json" ]; then
  echo "== exporting models/terrascope-tiny -> $BUNDLE =="
  /usr/bin/python3 tools/testdata_tiny_model.py "$BUILD_DIR"
fi
"$BUILD_DIR/terrascope" verify --model "$BUNDLE"

SCENE="$DATA/sen1floods11/Spain_7370579_S2Hand.tif"
echo
echo "== terrascope info (Sentinel-2 13-band chip, sen1floods11) =="
"$BUILD_DIR/terrascope" info "$SCENE"
echo
echo "== terrascope ask --full: how much of the scene is water? =="
rm -rf "$OUT_DIR"
# The options are the ranges terrascope-tiny was trained with (docs/SYNTH.md, "Options").
"$BUILD_DIR/terrascope" ask --model "$BUNDLE" --image "$SCENE" --preset sentinel2 \
  -q "What percentage of the image is covered by water?" \
  --options "A. under 13%" "B. 13% to 24%" "C. 25% to 42%" "D. 43% or more" --full --out "$OUT_DIR"
echo
echo "== outputs in $OUT_DIR =="
ls -l "$OUT_DIR"
echo
echo "== the water mask against the hand label (sen1floods11 LabelHand: 1 water, -1 no data) =="
/usr/bin/python3 tools/mask_iou.py "$OUT_DIR/seg0.tif" "$DATA/sen1floods11/Spain_7370579_LabelHand.tif"
# (terrascope-tiny is trained on synthetic scenes only: on this real chip it names the right range
# but its mask over-segments; models/terrascope-tiny/TRAINING.md has the numbers.)

echo
echo "== the same model in its own domain: held-out synthetic scenes (seeds never trained on) =="
SYNTH="$BUILD_DIR/demo-synth"
bash scripts/synth_bench.sh "$SYNTH" 5 > /dev/null
# Sample 0 is a coverage question (CA), 2 a comparison (CR), 4 a distance (DM, which names the
# lots of the two objects): question, options, answer key.
for i in 0 2 4; do
  /usr/bin/python3 - "$SYNTH/bench.jsonl" "$i" > "$SYNTH/q$i.txt" <<'PY'
import json, sys
row = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")][int(sys.argv[2])]
print(row["image"])
print(row["question"])
print(row["answer"])
for letter, option in zip("ABCD", row["candidates"]):
    print("%s. %s" % (letter, option))
PY
  mapfile -t Q < "$SYNTH/q$i.txt"
  echo
  echo "-- $SYNTH/${Q[0]}: ${Q[1]} (answer key: ${Q[2]})"
  rm -rf "$OUT_DIR-synth$i"
  "$BUILD_DIR/terrascope" ask --model "$BUNDLE" --image "$SYNTH/${Q[0]}" -q "${Q[1]}" \
    --options "${Q[@]:3}" --full --out "$OUT_DIR-synth$i"
done
exit
}
