// terrascope perf through the binary on the tiny bundle: the JSON report holds every stage row with
// plausible samples, the decode-overhead ratio is the ratio of its two interleaved rows, and bad
// executor / GEMM choices fail naming the option or variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run_support.h"

namespace terrascope {
namespace {

using nlohmann::json;

const json* find_row(const json& report, const std::string& name) {
  for (const json& row : report["tests"]) {
    if (row["test"] == name) return &row;
  }
  return nullptr;
}

TEST(PerfCli, JsonReportHasEveryStage) {
  test::TempDir dir;
  const test::CliRun run = test::run_terrascope(
      "perf --model " + test::quoted(test::tiny_bundle()) +
          " --max-new-tokens 40 --questions 2 --reps 2 --warmup 0 --decode-tokens 4 --json",
      dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json report = json::parse(run.out);
  EXPECT_EQ(report["reps"], 2);
  EXPECT_TRUE(report["cpu_gemm"] == "onednn" || report["cpu_gemm"] == "system")
      << report["cpu_gemm"];
  for (const char* name :
       {"vision encode (per tile)", "SAM-2 image encode", "prefill", "bare llm step (forward only)",
        "mask decode (per [SEG])", "question, fresh session (end to end)",
        "question, fresh session (CPU time)", "2 questions, one scene (per question)"}) {
    const json* row = find_row(report, name);
    ASSERT_NE(row, nullptr) << "no row '" << name << "'";
    ASSERT_EQ((*row)["samples"].size(), 2u) << name;
    for (const json& v : (*row)["samples"]) EXPECT_GT(v.get<double>(), 0.0) << name;
  }
  const json* loop = find_row(report, "decode loop per token (interleaved)");
  const json* bare = find_row(report, "bare llm step (interleaved)");
  const json* ratio = find_row(report, "decode loop / bare step");
  if (loop || bare || ratio) {  // present when the answer has plain tokens to time
    ASSERT_TRUE(loop && bare && ratio);
    for (size_t i = 0; i < (*ratio)["samples"].size(); ++i) {
      EXPECT_NEAR((*ratio)["samples"][i].get<double>(),
                  (*loop)["samples"][i].get<double>() / (*bare)["samples"][i].get<double>(), 1e-9);
    }
  }
  EXPECT_GT(report["weights_mib"].get<double>(), 0.0);
  EXPECT_GT(report["kv_cache_mib"].get<double>(), 0.0);
  EXPECT_GE(report["peak_rss_mib"].get<double>(), report["rss_start_mib"].get<double>());

  EXPECT_FALSE(report["output_ids"].empty());
}

TEST(PerfCli, UnknownExecutorOrGemmIsAnError) {
  test::TempDir dir;
  const std::string base = "perf --model " + test::quoted(test::tiny_bundle()) +
                           " --reps 1 --warmup 0 --questions 1 --decode-tokens 1";
  const test::CliRun jit = test::run_terrascope(base + " --jit fastest", dir.path());
  EXPECT_NE(jit.exit_code, 0);
  EXPECT_NE(jit.err.find("--jit"), std::string::npos) << jit.err;
  setenv("TERRASCOPE_GEMM", "mkl", 1);
  const test::CliRun gemm = test::run_terrascope(base, dir.path());
  unsetenv("TERRASCOPE_GEMM");
  EXPECT_NE(gemm.exit_code, 0);
  EXPECT_NE(gemm.err.find("TERRASCOPE_GEMM"), std::string::npos) << gemm.err;
  setenv("TERRASCOPE_JIT", "fastest", 1);
  const test::CliRun env_jit = test::run_terrascope(base, dir.path());
  unsetenv("TERRASCOPE_JIT");
  EXPECT_NE(env_jit.exit_code, 0);
  EXPECT_NE(env_jit.err.find("TERRASCOPE_JIT"), std::string::npos) << env_jit.err;
}

}  // namespace
}  // namespace terrascope
