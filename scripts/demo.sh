#!/usr/bin/env bash
# Sets up, builds and runs the main job on real scenes: describes the rasters terrascope reads.
# (When the small trained model lands, this runs `terrascope ask` on a scene with it.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
source scripts/shared_data.sh
DATA=$TERRASCOPE_SHARED_DATA

bash scripts/setup.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)" --target terrascope

echo "== terrascope info: Sentinel-2 13-band chip (sen1floods11) =="
"$BUILD_DIR/terrascope" info "$DATA/sen1floods11/Spain_7370579_S2Hand.tif"
echo
echo "== terrascope info --json: Landsat 7 RGB scene with a nodata collar =="
"$BUILD_DIR/terrascope" info --json "$DATA/rasterio_landsat/RGB.byte.tif"
