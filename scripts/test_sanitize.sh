#!/usr/bin/env bash
# The sanitizer build (issue 8): terrascope's own code with AddressSanitizer and
# UndefinedBehaviorSanitizer (libtorch, GDAL, OpenCV are not instrumented), built with clang into
# build-asan/; runs the unit tests (ctest) and each libFuzzer target briefly.
#   bash scripts/test_sanitize.sh      (SANITIZE_BUILD=..., SANITIZE_FUZZ_SECONDS=20, JOBS=...)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${SANITIZE_BUILD:-$ROOT/build-asan}
JOBS=${JOBS:-$(nproc)}
source scripts/shared_data.sh
# Reuses the generated test data of the caller (scripts/test.sh exports build/testdata).
export TERRASCOPE_TEST_DATA=${TERRASCOPE_TEST_DATA:-$BUILD/testdata}

# libtorch's std::vector code is not instrumented, so container-overflow annotations would be
# half-present (false reports); leaks at exit belong to libtorch/GDAL singletons.
export ASAN_OPTIONS="detect_container_overflow=0:detect_leaks=0:strict_string_checks=1:check_initialization_order=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/fuzz/ubsan.supp"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DTERRASCOPE_SANITIZE=ON -DTERRASCOPE_FUZZ=ON \
  -DTERRASCOPE_SHARED_DATA="$TERRASCOPE_SHARED_DATA" -DTERRASCOPE_TEST_DATA="$TERRASCOPE_TEST_DATA"
# The unit-test binaries and the fuzzers; the CLI end-to-end suite runs in the normal build only
# (its cases spawn the binary and reload the bundle per test, which ASan makes very slow).
cmake --build "$BUILD" -j "$JOBS" --target test_model test_geo terrascope_fuzzers
bash scripts/make_testdata.sh "$TERRASCOPE_TEST_DATA"

echo "== unit tests (ASan + UBSan) =="
# Each binary runs as one process (ctest would start libtorch once per test case).
for suite in test_geo test_model; do
  "$BUILD/tests/$suite" --gtest_brief=1
done

echo "== fuzz targets (ASan + UBSan), ${SANITIZE_FUZZ_SECONDS:-20}s each =="
FUZZ_BUILD="$BUILD" FUZZ_SECONDS=${SANITIZE_FUZZ_SECONDS:-20} FUZZ_NICE=0 bash scripts/fuzz.sh
