#!/usr/bin/env bash
# Sets up, builds and runs every test: Debian packages, CMake build, generated test data,
# Python tool tests, ctest.   Usage: bash scripts/test.sh   (BUILD_DIR=... to change build/)
set -euo pipefail
{ # bash reads the whole block before running it: editing this file during a run is harmless
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}

bash scripts/setup.sh
source scripts/shared_data.sh
export TERRASCOPE_TEST_DATA="$BUILD_DIR/testdata"

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTERRASCOPE_SHARED_DATA="$TERRASCOPE_SHARED_DATA" -DTERRASCOPE_TEST_DATA="$TERRASCOPE_TEST_DATA"
cmake --build "$BUILD_DIR" -j "$JOBS"

# Test data made by the project's own tools (tiny bundles, golden files, PIL references).
bash scripts/make_testdata.sh "$TERRASCOPE_TEST_DATA"

echo "== Python tool tests =="
(cd tests/python && /usr/bin/python3 -m unittest 2>&1 | tail -n 30; exit "${PIPESTATUS[0]}")

echo "== ctest =="
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"

# Issue 6: terrascope-tiny on the held-out synthetic bench, through the engine; the floor sits a
# few points under the accuracy measured when the weights were committed (models/terrascope-tiny/
# TRAINING.md), so a broken [SEG] / <REGION> loop fails here.
MIN_ACCURACY=${TINY_MIN_ACCURACY:-74} bash scripts/bench_tiny.sh "$BUILD_DIR" \
  "$TERRASCOPE_TEST_DATA/bundles/terrascope-tiny" "$BUILD_DIR/bench-tiny"
bash scripts/test_sanitize.sh  # issue 8: ASan+UBSan build in build-asan/, ctest, each fuzz target 20 s
exit
}
