#!/usr/bin/env bash
# The GPU check of issue 7, for the GPU check machine of docs ENGINE.md (Ubuntu 24.04, one
# H100/H200, CUDA libtorch from the Python torch, no GDAL/OpenCV):
#
#   OUT=/path/to/logs scripts/gpu_check.sh            (all steps)
#   OUT=... STEPS="build tests parity qwen2" scripts/gpu_check.sh
#   OUT=... STEPS="decode8b" scripts/gpu_check.sh     (needs the build step's tool)
#
# Environment: TESTDATA (the tiny bundle and goldens; default: made by the testdata step in the
# build folder), GPU_DEPS (a folder of unpacked Debian packages: libpcre2-dev, libutf8proc-dev,
# nlohmann-json3-dev, pkgconf and their libraries, used where the machine lacks them; default
# .gpu_deps/root when present; scripts/gpu_prepare.sh makes .gpu_deps), CXX_STD (default 20:
# libtorch 2.12 and later need C++20), GRAPH_TOOL=0 (skip the tool's own whole-step graph
# variant, a second binary), HF_DECODE=0 (skip transformers' decode).
#
# Steps (each logs to $OUT/<step>.log and writes its JSON to $OUT/<step>*.json; a failing step is
# recorded and the others still run):
#   build     CMake build with -DTERRASCOPE_WITH_GEO=OFF against the Python torch's libtorch, then
#             scripts/gpu_check/gpu_check_tool against that build's libterrascope_model.a
#   testdata  the tiny bundle and golden files (scripts/make_testdata.sh)
#   tests     the model test suite (ctest) on the CPU
#   parity    every golden case on CUDA fp32 vs CPU (same ids, mask IoU >= 0.99), with the
#             engine's CUDA graphs (the default) and without, and bf16 (same answer text)
#   qwen2     our reference Qwen2 and the exported llm module vs transformers' Qwen2 at a small
#             random config (logits NMSE < 1e-6, same greedy ids)
#   decode8b  the llm module at the TerraScope-8B configuration, random bf16 weights: exported on
#             the GPU, timed from C++ as the engine's loop calls it (prefill 600 tokens, decode)
#             with and without the engine's graphed step and as one graph of embed + step +
#             argmax, against the bandwidth bound (parameter bytes / measured device copy
#             bandwidth); and transformers' eager Qwen2 decoding token by token as the release does
# The last thing printed is a short table of every check. Measured on one H200 (BENCHMARKS.md):
# build 80-115 s, parity 15 s, qwen2 20 s, decode8b 50-120 s; the whole call 2.5-5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${OUT:-$REPO/gpu_check_out}
STEPS=${STEPS:-"build testdata tests parity qwen2 decode8b"}
BUILD=${BUILD:-$REPO/build-gpu}
SCRATCH=${SCRATCH:-/tmp/terrascope_gpu_check}
JOBS=${JOBS:-$(nproc)}
PY=${PY:-python3}
mkdir -p "$OUT" "$SCRATCH"
STATUS=$OUT/status.txt
: > "$STATUS"

has_step() { [[ " $STEPS " == *" $1 "* ]]; }
# run_step NAME CMD...: runs CMD with its output in $OUT/NAME.log, records ok/FAILED.
run_step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name: $*" | tee -a "$OUT/$name.log"
  if "$@" >> "$OUT/$name.log" 2>&1; then
    echo "$name ok $((SECONDS - start))s" >> "$STATUS"
  else
    echo "$name FAILED $((SECONDS - start))s (see $name.log)" >> "$STATUS"
    tail -n 20 "$OUT/$name.log"
  fi
}

{
  echo "date: $(date -u)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
  echo "cores: $(nproc)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
TESTDATA=${TESTDATA:-$BUILD/testdata}
CXX_STD=${CXX_STD:-20}
GPU_DEPS=${GPU_DEPS:-$REPO/.gpu_deps/root}

# Carried Debian packages for what the machine lacks: pkg-config files rewritten to their folder.
if [[ -d "$GPU_DEPS" ]]; then
  GPU_DEPS=$(cd "$GPU_DEPS" && pwd)
  DEPS_LIB=$GPU_DEPS/usr/lib/x86_64-linux-gnu
  for pc in "$DEPS_LIB"/pkgconfig/*.pc "$GPU_DEPS"/usr/share/pkgconfig/*.pc; do
    [[ -f "$pc" ]] && sed -i "s|^prefix=.*|prefix=$GPU_DEPS/usr|" "$pc"
  done
  DEPS_PC=$DEPS_LIB/pkgconfig:$GPU_DEPS/usr/share/pkgconfig
  export PKG_CONFIG_PATH=${PKG_CONFIG_PATH:+$PKG_CONFIG_PATH:}$DEPS_PC
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$DEPS_LIB
  export PATH=$PATH:$GPU_DEPS/usr/bin
  TORCH_PREFIX="$TORCH_PREFIX;$GPU_DEPS/usr"
  echo "carried packages: $GPU_DEPS" >> "$OUT/machine.txt"
fi
TESTS_FLAG=OFF
has_step tests && TESTS_FLAG=ON

# The 8B export (GPU, Python, about 15 GB written) runs beside the build.
EXPORT_PID=
if has_step decode8b; then
  "$PY" scripts/gpu_check/hf_check.py export-8b --out "$SCRATCH/llm8b.pt" \
    > "$OUT/decode8b_export.json" 2> "$OUT/decode8b_export.log" &
  EXPORT_PID=$!
fi

build() {
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERRASCOPE_WITH_GEO=OFF \
    -DTERRASCOPE_BUILD_TESTS=$TESTS_FLAG -DCMAKE_CXX_STANDARD="$CXX_STD" \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" &&
    cmake --build "$BUILD" -j "$JOBS" &&
    cmake -S "$REPO/scripts/gpu_check" -B "$BUILD/gpu_check" -G Ninja \
      -DCMAKE_CXX_STANDARD="$CXX_STD" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
      -DTERRASCOPE_BUILD="$BUILD" &&
    cmake --build "$BUILD/gpu_check" -j "$JOBS" &&
    { [[ ${GRAPH_TOOL:-1} == 0 ]] ||
        cmake --build "$BUILD/gpu_check" -j "$JOBS" --target gpu_check_graph ||
        echo "gpu_check_graph (the CUDA-graph variant) did not build; its row is skipped"; }
}
tests() {
  TERRASCOPE_TEST_DATA=$TESTDATA ctest --test-dir "$BUILD" --output-on-failure -j 4 \
    -E 'Benchmark|DISABLED'
}
parity() {
  local tool=$BUILD/gpu_check/gpu_check_tool ok=0
  # The engine's default on CUDA replays one-token steps as a CUDA graph; the same without.
  TERRASCOPE_CUDA_GRAPHS=0 "$tool" parity "$TESTDATA/bundles/tiny-s0" "$TESTDATA/golden/tiny-s0" \
    cuda:0 fp32 > "$OUT/parity_fp32_nographs.json" || ok=1
  "$tool" parity "$TESTDATA/bundles/tiny-s0" "$TESTDATA/golden/tiny-s0" cuda:0 fp32 \
    > "$OUT/parity_fp32.json" || ok=1
  "$tool" parity "$TESTDATA/bundles/tiny-s0" "$TESTDATA/golden/tiny-s0" cuda:0 bf16 \
    > "$OUT/parity_bf16.json" || ok=1
  "$PY" - "$OUT" <<'EOF' || ok=1
import json, sys
out = sys.argv[1]
def fp32_ok(c):
    return c["same_ids_as_cpu"] and c["min_mask_iou"] >= 0.99
bad = []
for name, label, ok in (("fp32", "", fp32_ok), ("fp32_nographs", " (fp32, no graphs)", fp32_ok),
                        ("bf16", " (bf16)", lambda c: c["same_text_as_cpu"])):
    bad += [c["case"] + label for c in json.load(open(f"{out}/parity_{name}.json")) if not ok(c)]
print("parity failures:", bad or "none")
sys.exit(1 if bad else 0)
EOF
  return $ok
}
qwen2() {
  "$PY" scripts/gpu_check/hf_check.py qwen2-compare --device cuda > "$OUT/qwen2_compare.json"
}
decode8b() {
  local ok=0
  wait "$EXPORT_PID" || { cat "$OUT/decode8b_export.log"; return 1; }
  "$BUILD/gpu_check/gpu_check_tool" decode "$SCRATCH/llm8b.pt" cuda:0 bf16 600 64 2048 \
    > "$OUT/decode8b_engine.json" || ok=1
  "$BUILD/gpu_check/gpu_check_tool" decode "$SCRATCH/llm8b.pt" cuda:0 bf16 600 64 2048 \
    engine-graph > "$OUT/decode8b_engine-graph.json" || ok=1
  if [[ -x "$BUILD/gpu_check/gpu_check_graph" ]]; then
    "$BUILD/gpu_check/gpu_check_graph" decode "$SCRATCH/llm8b.pt" cuda:0 bf16 600 64 2048 graph \
      > "$OUT/decode8b_graph.json" || ok=1
  fi
  rm -f "$SCRATCH/llm8b.pt"
  if [[ ${HF_DECODE:-1} != 0 ]]; then
    "$PY" scripts/gpu_check/hf_check.py hf-decode --tokens 64 --prompt 600 \
      > "$OUT/decode8b_hf.json" || ok=1
  fi
  return $ok
}

has_step build && run_step build build
has_step testdata && run_step testdata bash scripts/make_testdata.sh "$TESTDATA"
has_step tests && run_step tests tests
has_step parity && run_step parity parity
has_step qwen2 && run_step qwen2 qwen2
has_step decode8b && run_step decode8b decode8b

echo
echo "== summary (logs in $OUT)"
"$PY" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return None
rows = [("step", "result")]
for line in open(os.path.join(out, "status.txt")):
    name, rest = line.split(" ", 1)
    rows.append((name, rest.strip()))
for dtype in ("fp32", "bf16", "fp32_nographs"):
    p = load(f"parity_{dtype}.json")
    if p:
        same = sum(c["same_ids_as_cpu"] for c in p)
        text = sum(c["same_text_as_cpu"] for c in p)
        iou = min(c["min_mask_iou"] for c in p)
        rows.append((f"CUDA {dtype} vs CPU", f"{same}/{len(p)} same ids, {text}/{len(p)} same "
                     f"text, min mask IoU {iou:.4f}"))
q = load("qwen2_compare.json")
if q:
    rows.append(("Qwen2 vs transformers", f"NMSE {q['logits_nmse_full']:.2e} (full), "
                 f"{q['logits_nmse_scripted_step_last']:.2e} (scripted step); greedy equal "
                 f"{q['greedy_equal']}"))
e, h = load("decode8b_engine.json"), load("decode8b_hf.json")
if e:
    rows.append(("8B copy bandwidth", f"{e['copy_bandwidth_gbs']:.0f} GB/s; weights "
                 f"{e['param_gb']:.1f} GB; bound {e['bound_ms_per_token']:.2f} ms/token"))
    rows.append(("8B decode, TorchScript loop", f"{e['decode_ms_per_token']:.2f} ms/token = "
                 f"{100 * e['fraction_of_bound']:.0f}% of bound (goal >= 60%)"))
    rows.append(("8B engine prefill 600", f"{e['prefill_ms']:.1f} ms"))
for name, label in (("engine-graph", "8B decode, engine (graphed step)"),
                    ("graph", "8B decode, graph of embed+step+argmax")):
    v = load(f"decode8b_{name}.json")
    if v:
        rows.append((label, f"{v['decode_ms_per_token']:.2f} ms/token = "
                     f"{100 * v['fraction_of_bound']:.0f}% of bound"))
if h:
    rows.append(("8B transformers eager decode", f"{h['decode_ms_per_token']:.2f} ms/token; "
                 f"prefill {h['prefill_ms']:.1f} ms"))
w = max(len(r[0]) for r in rows)
print(f"| {'check'.ljust(w)} | result |")
print(f"|{'-' * (w + 2)}|---|")
for name, result in rows[1:]:
    print(f"| {name.ljust(w)} | {result} |")
EOF
