// terrascope bench through the binary on the real-raster bench (tools/testdata_realbench.py) with
// the tiny bundle: the report's numbers equal an independent scoring of samples.jsonl by Python's
// own `re` with the release scripts' regexes, the report formats parse, --tasks/--limit select,
// --min-accuracy gates, --resume reuses samples, and bad inputs exit 1 with one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run_support.h"

namespace terrascope::test {
namespace {

using nlohmann::json;

std::string bench_args(const std::string& bench) {
  return "bench " + tiny_model_args() + " --bench " + quoted(bench);
}

// Per-task accuracy (%) of samples.jsonl as the release's infer + eval scripts compute it, in
// Python with its `re` module: {"tasks": {task: pct}, "macro": pct}.
json python_release_scores(const std::string& samples) {
  const std::string script = R"PY(
import json, re, sys
def extract(r):
    if not r:
        return None
    m = re.search(r"<answer>\s*(.*?)\s*</answer>", r, flags=re.DOTALL | re.IGNORECASE)
    raw = m.group(1).strip() if m else r.strip()
    m = re.match(r"^\s*([A-Da-d])[\.\)]?\s*", raw)
    return m.group(1).upper() if m else raw
def norm(x):
    s = x.strip()
    m = re.match(r"\s*([A-D])\b", s, flags=re.IGNORECASE)
    return m.group(1).upper() if m else s.upper()
tot, cor = {}, {}
for line in open(sys.argv[1]):
    s = json.loads(line)
    p = extract(s["response"])
    p = norm(p if p is not None else "")
    g = norm(s["answer"])
    t = s["task_type"]
    tot[t] = tot.get(t, 0) + 1
    cor[t] = cor.get(t, 0) + (1 if p == g and g != "" else 0)
acc = {t: 100.0 * cor[t] / tot[t] for t in tot}
print(json.dumps({"tasks": acc, "macro": sum(acc.values()) / len(acc)}))
)PY";
  std::string out;
  EXPECT_EQ(run_command("/usr/bin/python3 -c " + quoted(script) + " " + quoted(samples), &out), 0);
  return json::parse(out);
}

TEST(BenchCli, RealBenchReportMatchesAnIndependentScoring) {
  TempDir dir;
  const std::string bench = realbench_dir() + "/bench.jsonl";
  const CliRun run = run_terrascope(
      bench_args(bench) + " --report json --out " + quoted(dir.file("out")), dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json report = json::parse(run.out);
  EXPECT_EQ(report, json::parse(read_text(dir.file("out/report.json"))));
  EXPECT_EQ(report["samples"], 14);
  EXPECT_EQ(report["errors"], 0);
  const json expected = python_release_scores(dir.file("out/samples.jsonl"));
  ASSERT_EQ(report["tasks"].size(), expected["tasks"].size());
  for (const json& task : report["tasks"]) {
    EXPECT_NEAR(task["accuracy_pct"].get<double>(),
                expected["tasks"][task["task"].get<std::string>()].get<double>(), 1e-9)
        << task["task"];
  }
  EXPECT_NEAR(report["macro_accuracy_pct"].get<double>(), expected["macro"].get<double>(), 1e-9);
  // Paper order first (CA AQ CR), then other tasks by name.
  std::vector<std::string> order;
  for (const json& task : report["tasks"]) order.push_back(task["task"]);
  EXPECT_EQ(order, (std::vector<std::string>{"CA", "AQ", "CR", "COUNT", "RSVQA"}));
  // Ground-truth masks exist for the sen1floods11 and SpaceNet samples (6 of 14).
  ASSERT_TRUE(report["iou"].is_object());
  EXPECT_EQ(report["iou"]["samples"], 6);
  const double iou = report["iou"]["mean"].get<double>();
  EXPECT_GE(iou, 0.0);
  EXPECT_LE(iou, 1.0);

  // The markdown and CSV reports carry the same row.
  const std::string md = read_text(dir.file("out/report.md"));
  EXPECT_EQ(md.rfind("| Model | CA | AQ | CR | COUNT | RSVQA | Avg |\n", 0), 0u) << md;
  const std::string csv = read_text(dir.file("out/report.csv"));
  EXPECT_EQ(csv.rfind("model,CA,AQ,CR,COUNT,RSVQA,Avg,mIoU,mIoU_correct,mIoU_wrong\n", 0), 0u)
      << csv;
  char macro[32];
  std::snprintf(macro, sizeof macro, "%.1f", report["macro_accuracy_pct"].get<double>());
  EXPECT_NE(md.find("| " + std::string(macro) + " |"), std::string::npos) << md;

  // --resume scores again from samples.jsonl without running the model: same report.
  const std::string before = read_text(dir.file("out/samples.jsonl"));
  const CliRun resumed = run_terrascope(
      bench_args(bench) + " --report json --resume --out " + quoted(dir.file("out")), dir.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(json::parse(resumed.out), report);
  EXPECT_EQ(read_text(dir.file("out/samples.jsonl")), before);
}

TEST(BenchCli, TasksLimitAndAccuracyGate) {
  TempDir dir;
  const std::string bench = realbench_dir() + "/bench.jsonl";
  CliRun run =
      run_terrascope(bench_args(bench) + " --tasks RSVQA --limit 3 --report csv", dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind("model,RSVQA,Avg\n", 0), 0u) << run.out;

  run =
      run_terrascope(bench_args(bench) + " --tasks CR --report json --min-accuracy 0", dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const double macro = json::parse(run.out)["macro_accuracy_pct"].get<double>();
  run = run_terrascope(
      bench_args(bench) + " --tasks CR --min-accuracy " + std::to_string(macro + 0.5), dir.path());
  if (macro < 99.5) {
    EXPECT_EQ(run.exit_code, 1);
    // Progress lines come first; the verdict is one line naming the bench.
    EXPECT_EQ(last_line(run.err).rfind("terrascope bench: " + bench + ": macro accuracy ", 0), 0u)
        << run.err;
    EXPECT_NE(last_line(run.err).find("below --min-accuracy"), std::string::npos) << run.err;
  }
}

TEST(BenchCli, BadSampleIsScoredWrongAndReported) {
  TempDir dir;
  const std::string bench = dir.file("bench.jsonl");
  std::ofstream(bench)
      << "{\"id\": \"ok\", \"task_type\": \"CA\", \"image\": "
      << json(shared_data("rsvqa_lr_subset/Images_LR/236.tif")).dump()
      << ", \"question\": \"Water?\", \"candidates\": [\"yes\", \"no\"], \"answer\": \"A\"}\n"
      << "{\"id\": \"gone\", \"task_type\": \"CA\", \"image\": \"missing.tif\", \"question\": "
         "\"Water?\", \"candidates\": {\"A\": \"yes\", \"B\": \"no\"}, \"answer\": \"B\"}\n";
  const CliRun run = run_terrascope(
      bench_args(bench) + " --report json --out " + quoted(dir.file("out")), dir.path());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(last_line(run.err),
            "terrascope bench: " + bench + ": 1 sample failed (scored as wrong)")
      << run.err;
  const json report = json::parse(run.out);
  EXPECT_EQ(report["samples"], 2);
  EXPECT_EQ(report["errors"], 1);
  const auto samples = read_json_lines(dir.file("out/samples.jsonl"));
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_NE(samples[1]["error"].get<std::string>().find("missing.tif"), std::string::npos);
  EXPECT_EQ(samples[1]["response"], "");
  EXPECT_FALSE(samples[1]["correct"].get<bool>());
}

TEST(BenchCli, BadBenchFilesExitOneWithOneLine) {
  TempDir dir;
  std::ofstream(dir.file("broken.jsonl"))
      << "{\"id\": 1, \"question\": \"q\", \"image\": \"a.tif\"}\n{oops\n";
  std::ofstream(dir.file("empty.jsonl")) << "\n";
  const std::string real = realbench_dir() + "/bench.jsonl";
  for (const auto& [arguments, named] : std::vector<std::pair<std::string, std::string>>{
           {bench_args(dir.file("missing.jsonl")), dir.file("missing.jsonl")},
           {bench_args(dir.file("broken.jsonl")), dir.file("broken.jsonl") + ":2"},
           {bench_args(dir.file("empty.jsonl")), dir.file("empty.jsonl")},
           {bench_args(real) + " --tasks NOPE", "NOPE"},
       }) {
    const CliRun run = run_terrascope(arguments, dir.path());
    EXPECT_EQ(run.exit_code, 1) << arguments << "\n" << run.err;
    EXPECT_EQ(line_count(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(named), std::string::npos) << run.err;
  }
  for (const std::string& arguments :
       {bench_args(real) + " --report xml", bench_args(real) + " --min-accuracy 120",
        bench_args(real) + " --resume"}) {
    EXPECT_EQ(run_terrascope(arguments, dir.path()).exit_code, 2) << arguments;
  }
}

}  // namespace
}  // namespace terrascope::test
