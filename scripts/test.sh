#!/usr/bin/env bash
# Sets up, builds and runs every test: Debian packages, CMake build, Python tool tests, ctest.
# Usage: scripts/test.sh            (build dir: build/, override with BUILD_DIR=...)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}

bash scripts/setup.sh

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"

# Test data made by the project's own tools (tiny bundles, golden files); see tools/README.md.
if [ -x scripts/make_testdata.sh ]; then
  bash scripts/make_testdata.sh "$BUILD_DIR/testdata"
fi

# Python tools: reference model, exporter, bundles.
if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then
  (cd tests/python && /usr/bin/python3 -m unittest -v 2>&1 | tail -n 40; exit "${PIPESTATUS[0]}")
fi

ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
