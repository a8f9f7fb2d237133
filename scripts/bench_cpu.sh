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
# `terrascope perf --json`. Runs alternate (baseline, engine, baseline, engine, ...: ABAB) so that
# the load of a shared machine hits both alike; the summary quotes medians over the rounds, wall
# and process CPU time, and checks that both produced the same output ids.
#
# Environment: ROUNDS (default 5) baseline/engine pairs; JIT_ROUNDS (default 3) rounds of the
# TorchScript executor comparison (0 skips it); THREADS (default: libtorch's) for both;
# WRITE=0 to leave BENCHMARKS.md alone (default: its block between the bench_cpu markers is
# replaced); TESTDATA (default BUILD_DIR/testdata, made by scripts/make_testdata.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EXE=$BUILD/terrascope
ROUNDS=${ROUNDS:-5}
JIT_ROUNDS=${JIT_ROUNDS:-3}
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
done
# The TorchScript executor settings, alternated the same way (the engine's own default first).
for i in $(seq 1 "$JIT_ROUNDS"); do
  for jit in default no-optimize no-profiling simple; do
    echo "jit round $i/$JIT_ROUNDS: $jit" >&2
    "$EXE" "${COMMON_ENGINE[@]}" --questions 1 --reps 3 --warmup 1 --jit "$jit" \
      > "$WORK/jit_${jit}_$i.json"
  done
done
echo "machine load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$WORK/load_end"

"$PY" - "$WORK" "$ROUNDS" "$JIT_ROUNDS" "$WRITE" "$BUILD" <<'EOF'
import datetime, glob, json, os, platform, statistics, subprocess, sys
work, rounds, jit_rounds, write, build = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4] == "1", sys.argv[5]
load = lambda p: json.load(open(p))
base = [load(f"{work}/baseline_{i}.json") for i in range(1, rounds + 1)]
eng = [load(f"{work}/engine_{i}.json") for i in range(1, rounds + 1)]
med = statistics.median

def test(run, name):
    return next(t for t in run["tests"] if t["test"] == name)

def eng_med(name, stat="median"):
    return med(test(r, name)[stat] for r in eng)

same = all(b["answers"][0]["output_ids"] == e["output_ids"] for b, e in zip(base, eng))
segs = eng[0]["segs_per_question"]
cpu = "unknown"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
machine = (f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} logical CPUs, "
           f"{platform.system()} {platform.release()}; libtorch threads {eng[0]['threads']} "
           f"(engine), torch {base[0]['torch']} threads {base[0]['threads']} (baseline); load "
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
loop_ms = eng_med("decode loop per token")
bare_ms = eng_med("bare llm step (forward only)")
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
    for jit in ("default", "no-optimize", "no-profiling", "simple"):
        runs = [load(p) for p in sorted(glob.glob(f"{work}/jit_{jit}_*.json"))]
        tok = med(test(r, "decode loop per token")["median"] for r in runs)
        bare = med(test(r, "bare llm step (forward only)")["median"] for r in runs)
        q = med(test(r, "question, fresh session (end to end)")["median"] for r in runs)
        qc = med(test(r, "question, fresh session (CPU time)")["median"] for r in runs)
        jit_rows.append(f"| {jit} | {bare:.3f} | {tok:.3f} | {q:.3f} | {qc:.3f} |")

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
    f"| decode loop per token vs bare `llm.forward` step (same process) | - | {loop_ms:.3f} ms vs "
    f"{bare_ms:.3f} ms | {ratio:.2f}x | <= 1.15x | {'yes' if ratio <= 1.15 else '**no**'} |",
    f"| peak RSS (process) | {med(r['peak_rss_mib'] for r in base):.0f} MiB | "
    f"{med(r['peak_rss_mib'] for r in eng):.0f} MiB | - | - | - |",
    f"| engine RSS growth from start vs weights + KV cache | - | {growth:.0f} MiB vs "
    f"{weights_kv:.1f} MiB | {growth / weights_kv:.1f}x | <= 1.3x | "
    f"{'yes' if growth <= 1.3 * weights_kv else '**no** (runtime, see notes)'} |",
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
