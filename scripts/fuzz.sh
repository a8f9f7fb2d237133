#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz/) for FUZZ_SECONDS seconds, one after the other, with
# corpora seeded from the shared real data and the generated test data (issue 8).
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh            # build-fuzz/, every target
#   FUZZ_TARGETS="fuzz_manifest" bash scripts/fuzz.sh
#   FUZZ_BUILD=build-asan bash scripts/fuzz.sh        # an already configured fuzz build
# A crash leaves its input under $FUZZ_BUILD/fuzz-artifacts/<target>/ and fails the script; the
# per-target numbers (executions, corpus size) are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
FUZZ_NICE=${FUZZ_NICE:-10}
source scripts/shared_data.sh
export TERRASCOPE_TEST_DATA=${TERRASCOPE_TEST_DATA:-$FUZZ_BUILD/testdata}

if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  cmake -S . -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DTERRASCOPE_FUZZ=ON \
    -DTERRASCOPE_SHARED_DATA="$TERRASCOPE_SHARED_DATA" -DTERRASCOPE_TEST_DATA="$TERRASCOPE_TEST_DATA"
fi
cmake --build "$FUZZ_BUILD" --target terrascope_fuzzers -j "${JOBS:-2}"
TINY="$TERRASCOPE_TEST_DATA/bundles/tiny-s0"
if [ ! -f "$TINY/tokenizer.json" ]; then bash scripts/make_testdata.sh "$TERRASCOPE_TEST_DATA"; fi
export TERRASCOPE_TINY_TOKENIZER="$TINY/tokenizer.json"
export TERRASCOPE_QWEN_TOKENIZER="$TERRASCOPE_SHARED_DATA/qwen2_tokenizer/tokenizer.json"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

FUZZ_DIR="$FUZZ_BUILD/tests/fuzz"
SEEDS="$FUZZ_BUILD/fuzz-seeds"
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{fuzz_tokenizer_encode,fuzz_tokenizer_json,fuzz_manifest,fuzz_jsonl,fuzz_raster}

# Tokenizer text: the first byte picks the tokenizer (bit 0), special tokens allowed (bit 1),
# ids instead of text (bits 1+2).
i=0
for text in "Hello world" "How much of the scene is water?" "[SEG] <IMG_CONTEXT> <|im_end|>" \
    "$(printf 'caf\xc3\xa9 \xf0\x9f\x8c\x8d \xff\xfe x')" "   spaces  and	tabs
newlines" "12345 3.14 1e10" "<|im_start|>user
<image>
A. yes
B. no<|im_end|>"; do
  for mode in 0 1 2 3; do
    printf "\\x$(printf %02x $mode)%s" "$text" > "$SEEDS/fuzz_tokenizer_encode/t$i-$mode"
  done
  i=$((i + 1))
done
printf '\x07\x01\x00\x00\x00\xff\xff\xff\xff\x00\x00\x01\x00' > "$SEEDS/fuzz_tokenizer_encode/ids"
cp "$TINY/tokenizer.json" "$SEEDS/fuzz_tokenizer_json/tiny.json"
cp "$TINY/terrascope.json" "$SEEDS/fuzz_manifest/tiny.json"
printf '{"id":"q1","question":"Is there water?","options":["yes","no"]}\n\n{"id":"q2","question":"x"}\n' \
  > "$SEEDS/fuzz_jsonl/questions.jsonl"
printf '{"item":"a#q1","ok":true}\n{"item":"a#q2","ok":fal' > "$SEEDS/fuzz_jsonl/torn.jsonl"

# Rasters: small crops of the shared rasters (GDAL's own tools), each behind a mode byte.
n=0
for src in "$TERRASCOPE_SHARED_DATA"/rasterio_landsat/RGB.byte.tif \
    "$TERRASCOPE_SHARED_DATA"/sen1floods11/*.tif "$TERRASCOPE_SHARED_DATA"/spacenet_solaris/*.tif \
    "$TERRASCOPE_SHARED_DATA"/rsvqa_lr_subset/Images_LR/102.tif; do
  for opts in "-outsize 24 24" "-srcwin 0 0 40 30 -co COMPRESS=DEFLATE -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16"; do
    out="$SEEDS/raster.tif"
    # shellcheck disable=SC2086
    gdal_translate -q $opts "$src" "$out" 2>/dev/null || continue
    mode=$(( (n * 37) % 256 ))
    { printf "\\x$(printf %02x $mode)"; cat "$out"; } > "$SEEDS/fuzz_raster/r$n"
    n=$((n + 1))
  done
done
rm -f "$SEEDS/raster.tif"

# Under the kernel's autogroup scheduling, nice only ranks processes within one session: lower this
# session's group too, so that fuzzing yields the CPU to builds and tests.
echo "$FUZZ_NICE" > /proc/self/autogroup 2>/dev/null || true

status=0
summary=""
for target in ${FUZZ_TARGETS:-fuzz_tokenizer_encode fuzz_tokenizer_json fuzz_manifest fuzz_jsonl fuzz_raster}; do
  bin="$FUZZ_DIR/$target"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $target not built (skipped)"
    summary+="$target: not built"$'\n'
    continue
  fi
  corpus="$FUZZ_BUILD/fuzz-corpus/$target"
  artifacts="$FUZZ_BUILD/fuzz-artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  max_len=4096
  case "$target" in
    fuzz_tokenizer_json) max_len=65536 ;;
    fuzz_manifest) max_len=16384 ;;
    fuzz_raster) max_len=131072 ;;
  esac
  log="$FUZZ_BUILD/fuzz-$target.log"
  echo "== $target: ${FUZZ_SECONDS}s (log $log) =="
  rc=0
  nice -n "$FUZZ_NICE" "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=$max_len -timeout=30 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$SEEDS/$target" > "$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  units=$(ls "$corpus" | wc -l)
  if [ $rc -ne 0 ]; then
    status=1
    echo "fuzz: $target FAILED (rc $rc); see $log and $artifacts"
    grep -m 5 -E 'ERROR|runtime error|abort|Assertion' "$log" || tail -n 20 "$log"
  fi
  line="$target: ${FUZZ_SECONDS}s, $execs executions, corpus $units files, rc $rc"
  echo "$line"
  summary+="$line"$'\n'
done
echo "== fuzz summary =="
printf '%s' "$summary"
exit $status
