#!/usr/bin/env bash
# The engine against the Python baseline on the CPU, side by side in one run (issue 7):
#
#   scripts/bench_cpu.sh [BUILD_DIR]      (default build; needs BUILD_DIR/terrascope)
#
# Both answer the same questions about the same image with the same tiny bundle: the golden
# single-image scene of the tiny test data (tools/testdata_bundles.py) as a PNG, its multiple-choice
# question, [SEG] rounds capped at 2 ("one question with two [SEG]s"), then eight questions on that
# scene. The baseline is tools/baseline_loop.py (eager PyTorch from the checkpoint, SAM-2 recomputed
# at every [SEG], nothing reused between questions: the release's way); the engine is
# `terrascope perf --json`, once as shipped and once with TERRASCOPE_GEMM=system (the engine on
# the same BLAS as the baseline, see src/model/cpu_gemm.cpp). Runs alternate (baseline, engine,
# engine-system, baseline, ...) so that the load of a shared machine hits all alike; the summary
# quotes medians over the rounds, wall and process CPU time, and checks that all produced the same
# output ids.
#
# Environment: ROUNDS (default 5) baseline/engine pairs; JIT_ROUNDS (default 3) rounds of the
# TorchScript executor comparison (0 skips it); MEM_CHECK=0 skips the peak-memory run on a
# 730 MB random bundle (made once under TESTDATA, ~1.5 GB of disk with its checkpoint);
# THREADS (default: libtorch's) for both;
# WRITE=0 to leave BENCHMARKS.md alone (default: its block between the bench_cpu markers is
# replaced); TESTDATA (default BUILD_DIR/testdata, made by scripts/make_testdata.sh when missing).
set -euo pipefail
{ # bash reads the whole block before running it: editing this file during a run is harmless
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EXE=$BUILD/terrascope
ROUNDS=${ROUNDS:-5}
JIT_ROUNDS=${JIT_ROUNDS:-3}
MEM_CHECK=${MEM_CHECK:-1}
WRITE=${WRITE:-1}
TESTDATA=${TESTDATA:-$BUILD/testdata}
PY=/usr/bin/python3
[ -x "$EXE" ] || { echo "bench_cpu: $EXE missing (build first)" >&2; exit 1; }
if [ ! -f "$TESTDATA/bundles/tiny-s0/terrascope.json" ]; then
  bash scripts/make_testdata.sh "$TESTDATA"
fi
BUNDLE=$TESTDATA/bundles/tiny-s0
CHECKPOINT=$TESTDATA/checkpoints/tiny-s0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench_cpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The input: the golden single-image case's scene (PNG) and question.
"$PY" - "$TESTDATA/golden/tiny-s0" "$WORK" <<'EOF'
import json, os, sys
sys.path.insert(0, "tools")
from terrascope_ref import golden_inputs as gi
golden, work = sys.argv[1], sys.argv[2]
case = next(c for c in json.load(open(os.path.join(golden, "cases.json")))
            if c["name"] == "single_release")
gi.read_rgb(os.path.join(golden, case["images"][0])).save(os.path.join(work, "scene.png"))
with open(os.path.join(work, "question.json"), "w") as f:
    json.dump({"question": case["question"],
               "options": [case["options"][k] for k in sorted(case["options"])]}, f)
EOF
QUESTION=$("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["question"])' "$WORK/question.json")
mapfile -t OPTIONS < <("$PY" -c 'import json,sys;print("\n".join(json.load(open(sys.argv[1]))["options"]))' "$WORK/question.json")
THREAD_ARGS=()
[ -n "${THREADS:-}" ] && THREAD_ARGS=(--threads "$THREADS")
COMMON_ENGINE=(perf --model "$BUNDLE" --image "$WORK/scene.png" --question "$QUESTION"
               --options "${OPTIONS[@]}" --max-seg-rounds 2 --json "${THREAD_ARGS[@]}")
BASELINE=("$PY" tools/baseline_loop.py --bundle "$BUNDLE" --checkpoint "$CHECKPOINT"
          --image "$WORK/scene.png" --question "$QUESTION" --options "${OPTIONS[@]}"
          --max-seg-rounds 2 --questions 8 --reps 1 --warmup 1 "${THREAD_ARGS[@]}")

echo "machine load at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$WORK/load_start"
for i in $(seq 1 "$ROUNDS"); do
  echo "round $i/$ROUNDS: baseline" >&2
  "${BASELINE[@]}" > "$WORK/baseline_$i.json"
  echo "round $i/$ROUNDS: engine" >&2
  "$EXE" "${COMMON_ENGINE[@]}" --questions 8 --reps 1 --warmup 1 > "$WORK/engine_$i.json"
  # The engine on the system BLAS (the baseline's GEMM): what the engine's structure alone gains.
  echo "round $i/$ROUNDS: engine, TERRASCOPE_GEMM=system" >&2
  TERRASCOPE_GEMM=system "$EXE" "${COMMON_ENGINE[@]}" --questions 8 --reps 1 --warmup 1 \
    > "$WORK/engine_system_$i.json"
done
# The TorchScript executor settings, alternated the same way (the engine's own default first).
for i in $(seq 1 "$JIT_ROUNDS"); do
  for jit in default profiling no-optimize simple; do
    echo "jit round $i/$JIT_ROUNDS: $jit" >&2
    "$EXE" "${COMMON_ENGINE[@]}" --questions 1 --reps 3 --warmup 1 --jit "$jit" \
      > "$WORK/jit_${jit}_$i.json"
  done
done
# Peak memory against weights + KV cache needs weights that dwarf libtorch's own ~100 MiB: a random
# bundle with the tiny vision/SAM-2 parts and a 12-layer, 1024-wide Qwen2 (~730 MB fp32, 2048-slot
# cache), made once under TESTDATA; one question through each executor (MEM_CHECK=0 skips).
if [ "$MEM_CHECK" = 1 ]; then
  MEM_BUNDLE=$TESTDATA/bundles/mem-check-730m
  if [ ! -f "$MEM_BUNDLE/terrascope.json" ]; then
    echo "memory check: making $MEM_BUNDLE" >&2
    "$PY" - "$TESTDATA/checkpoints/mem-check-730m" "$MEM_BUNDLE" <<'EOF_MEM'
import os, subprocess, sys
sys.path.insert(0, "tools")
import torch
import make_tiny_bundle as mtb
from terrascope_ref.model import TerraScope
ckpt, out = sys.argv[1], sys.argv[2]
os.makedirs(ckpt, exist_ok=True)
tok = os.path.join(ckpt, "tokenizer.json")
mtb.make_tokenizer(tok)
added, _ = mtb.added_token_ids(tok)
cfg = mtb.tiny_config(mtb.vocab_size_of(tok))
llm = cfg.llm
llm.hidden_size, llm.num_hidden_layers, llm.intermediate_size = 1024, 12, 4096
llm.num_attention_heads, llm.num_key_value_heads, llm.head_dim = 16, 4, 64
torch.manual_seed(0)
state = {k: v.detach().clone().float() for k, v in TerraScope(cfg).state_dict().items()}
mtb.steer(state, cfg, added)
mtb.write_checkpoint(ckpt, cfg, state, tok)
subprocess.run([sys.executable, "tools/export.py", "--checkpoint", ckpt, "--out", out,
                "--dtype", "fp32", "--cache-len", "2048", "--name", "mem-check-730m",
                "--source", "scripts/bench_cpu.sh memory check (random weights)"], check=True)
EOF_MEM
  fi
  for jit in default profiling; do
    echo "memory check: --jit $jit" >&2
    "$EXE" perf --model "$MEM_BUNDLE" --image "$WORK/scene.png" --question "$QUESTION" \
      --options "${OPTIONS[@]}" --max-seg-rounds 2 --questions 1 --reps 1 --warmup 0 \
      --decode-tokens 4 --json --jit "$jit" "${THREAD_ARGS[@]}" > "$WORK/mem_$jit.json"
  done
fi
echo "machine load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$WORK/load_end"

"$PY" - "$WORK" "$ROUNDS" "$JIT_ROUNDS" "$WRITE" "$BUILD" "$MEM_CHECK" <<'EOF'
import datetime, glob, json, os, platform, statistics, subprocess, sys
work, rounds, jit_rounds, write, build = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4] == "1", sys.argv[5]
mem_check = sys.argv[6] == "1"
load = lambda p: json.load(open(p))
base = [load(f"{work}/baseline_{i}.json") for i in range(1, rounds + 1)]
eng = [load(f"{work}/engine_{i}.json") for i in range(1, rounds + 1)]
eng_sys = [load(f"{work}/engine_system_{i}.json") for i in range(1, rounds + 1)]
med = statistics.median

def test(run, name):
    return next(t for t in run["tests"] if t["test"] == name)

def eng_med(name, stat="median", runs=None):
    return med(test(r, name)[stat] for r in (runs or eng))

same = all(b["answers"][0]["output_ids"] == e["output_ids"] == s["output_ids"]
           for b, e, s in zip(base, eng, eng_sys))
segs = eng[0]["segs_per_question"]
cpu = "unknown"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
machine = (f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} logical CPUs, "
           f"{platform.system()} {platform.release()}; libtorch threads {eng[0]['threads']} "
           f"(engine, CPU GEMM {eng[0].get('cpu_gemm', '?')}), torch {base[0]['torch']} threads {base[0]['threads']} (baseline); load "
           f"average {open(work + '/load_start').read().split(':', 1)[1].strip()} at start, "
           f"{open(work + '/load_end').read().split(':', 1)[1].strip()} at end")

rows = []
def row(what, b, e, unit, goal=None, lower_is_better=True):
    ratio = b / e if lower_is_better else e / b
    met = "" if goal is None else ("yes" if ratio >= goal else "**no**")
    rows.append(f"| {what} | {b:.3f} {unit} | {e:.3f} {unit} | {ratio:.2f}x | "
                f"{'' if goal is None else f'>= {goal:g}x'} | {met} |")

b1 = med(r["median_first_question_s"] for r in base)
b1c = med(r["median_first_question_cpu_s"] for r in base)
b8 = med(r["median_set_s"] for r in base)
b8c = med(r["median_set_cpu_s"] for r in base)
e1 = eng_med("question, fresh session (end to end)")
e1c = eng_med("question, fresh session (CPU time)")
e8 = 8 * eng_med("8 questions, one scene (per question)")
e8c = 8 * eng_med("8 questions, one scene (CPU time per question)")
row(f"one question, {segs:g} [SEG] (wall)", b1, e1, "s", 2)
row(f"one question, {segs:g} [SEG] (process CPU)", b1c, e1c, "s", 2)
row("eight questions, one scene (wall)", b8, e8, "s", 5)
row("eight questions, one scene (process CPU)", b8c, e8c, "s", 5)
s1 = eng_med("question, fresh session (end to end)", runs=eng_sys)
s1c = eng_med("question, fresh session (CPU time)", runs=eng_sys)
s8c = 8 * eng_med("8 questions, one scene (CPU time per question)", runs=eng_sys)
row(f"same, engine on the system BLAS: one question (wall)", b1, s1, "s")
row(f"same, engine on the system BLAS: one question (process CPU)", b1c, s1c, "s")
row("same, engine on the system BLAS: eight questions (process CPU)", b8c, s8c, "s")
loop_ms = eng_med("decode loop per token (interleaved)")
bare_ms = eng_med("bare llm step (interleaved)")
ratio = med(test(r, "decode loop / bare step")["median"] for r in eng)
e = eng[0]
weights_kv = e["weights_mib"] + e["kv_cache_mib"]
growth = med(r["peak_rss_mib"] - r["rss_start_mib"] for r in eng)

stage_rows = []
for t in eng[0]["tests"]:
    vals = [test(r, t["test"])["mean"] for r in eng]
    stage_rows.append(f"| {t['test']} | {med(vals):.4g} | {t['unit']} |")

jit_rows = []
if jit_rounds:
    for jit in ("default", "profiling", "no-optimize", "simple"):
        runs = [load(p) for p in sorted(glob.glob(f"{work}/jit_{jit}_*.json"))]
        tok = med(test(r, "decode loop per token (interleaved)")["median"] for r in runs)
        bare = med(test(r, "bare llm step (interleaved)")["median"] for r in runs)
        q = med(test(r, "question, fresh session (end to end)")["median"] for r in runs)
        qc = med(test(r, "question, fresh session (CPU time)")["median"] for r in runs)
        jit_rows.append(f"| {jit} | {bare:.3f} | {tok:.3f} | {q:.3f} | {qc:.3f} |")

mem_rows = []
if mem_check:
    for jit, what in (("default", "engine's executor"), ("profiling", "libtorch's profiling executor")):
        m = load(f"{work}/mem_{jit}.json")
        wk = m["weights_mib"] + m["kv_cache_mib"]
        g = m["peak_rss_mib"] - m["rss_start_mib"]
        mem_rows.append(
            f"| engine RSS growth vs weights + KV cache, 730 MB random bundle ({what}) | - | "
            f"{g:.0f} MiB vs {m['weights_mib']:.0f} + {m['kv_cache_mib']:.0f} MiB | "
            f"{g / wk:.2f}x | <= 1.3x | {'yes' if g <= 1.3 * wk else '**no**'} |")

today = datetime.date.today().isoformat()
cmd = f"ROUNDS={rounds} JIT_ROUNDS={jit_rounds} scripts/bench_cpu.sh {build}"
lines = [
    f"Measured {today} with `{cmd}` ({rounds} baseline/engine rounds, alternating ABAB; medians).",
    f"Machine: {machine}.",
    "",
    f"Inputs: tiny bundle `tiny-s0`, the golden `single_release` scene ({e['width']}x{e['height']},"
    f" {e['tiles']} tiles, prompt {e['prompt_tokens']} tokens), its question with four options,"
    f" `--max-seg-rounds 2`; eight questions: that one and seven others on the same scene."
    f" Same output ids from baseline and engine: {'yes' if same else '**NO**'}.",
    "",
    "| target | baseline (Python, release-like) | engine | ratio | goal | met |",
    "|---|---|---|---|---|---|",
    *rows,
    f"| decode loop per token vs bare `llm.forward` step (same process, interleaved) | - | {loop_ms:.3f} ms vs "
    f"{bare_ms:.3f} ms | {ratio:.2f}x | <= 1.15x | {'yes' if ratio <= 1.15 else '**no**'} |",
    f"| peak RSS (process) | {med(r['peak_rss_mib'] for r in base):.0f} MiB | "
    f"{med(r['peak_rss_mib'] for r in eng):.0f} MiB | - | - | - |",
    f"| engine RSS growth from start vs weights + KV cache | - | {growth:.0f} MiB vs "
    f"{weights_kv:.1f} MiB | {growth / weights_kv:.1f}x | <= 1.3x | "
    f"{'yes' if growth <= 1.3 * weights_kv else '**no** (runtime, see notes)'} |",
    *mem_rows,
    "",
    "Engine stages (`terrascope perf`, median over the rounds of each round's mean):",
    "",
    "| stage | value | unit |",
    "|---|---|---|",
    *stage_rows,
]
if jit_rows:
    lines += ["", f"TorchScript executor settings (`terrascope perf --jit X`, {jit_rounds} rounds"
              " of 3 reps, medians): bare step and engine loop per token in ms, one question in s.",
              "", "| --jit | bare step ms | loop per token ms | question s (wall) | question s (CPU) |",
              "|---|---|---|---|---|", *jit_rows]
block = "\n".join(lines)
print(block)
if write:
    path = "BENCHMARKS.md"
    text = open(path).read()
    begin, end = "<!-- bench_cpu:begin -->", "<!-- bench_cpu:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + begin + "\n" + block + "\n" + end + "\n"
    open(path, "w").write(text)
    print(f"\nbench_cpu: updated {path}", file=sys.stderr)
EOF
exit
}
