// terrascope batch through the binary on real tiles with the tiny bundle: a corrupt tile fails
// alone, a batch killed with SIGKILL and resumed gives the records of an uninterrupted run, shards
// partition the items exactly, and results are never clobbered.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "cli_run_support.h"

namespace terrascope::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Three real RSVQA-LR tiles (256x256 Sentinel-2 RGB, EPSG:3857) linked into a folder.
void make_tile_folder(const std::string& folder, bool with_corrupt_tile) {
  fs::create_directories(folder + "/north");
  const char* tiles[] = {"236.tif", "273.tif", "316.tif"};
  for (int i = 0; i < 3; ++i) {
    const std::string target = shared_data(std::string("rsvqa_lr_subset/Images_LR/") + tiles[i]);
    fs::create_symlink(target, folder + (i == 2 ? "/north/" : "/") + tiles[i]);
  }
  if (with_corrupt_tile) {
    // A truncated GeoTIFF: the first bytes of a real one.
    const std::string real = read_text(shared_data("rsvqa_lr_subset/Images_LR/236.tif"));
    std::ofstream(folder + "/corrupt.tif", std::ios::binary) << real.substr(0, 300);
  }
}

std::string questions_file(const std::string& dir) {
  const std::string path = dir + "/questions.jsonl";
  std::ofstream out(path);
  out << "{\"id\": \"water\", \"question\": \"Where is the water?\"}\n"
      << "{\"id\": \"urban\", \"question\": \"Is it rural or urban?\", \"options\": [\"rural\", "
         "\"urban\"]}\n";
  return path;
}

std::string batch_args(const std::string& inputs, const std::string& questions,
                       const std::string& out) {
  return "batch " + tiny_model_args() + " --inputs " + quoted(inputs) + " --questions " +
         quoted(questions) + " --out " + quoted(out) + " --no-overlay";
}

// Records without their timings, keyed by id.
std::map<std::string, json> records_by_id(const std::string& path) {
  std::map<std::string, json> records;
  for (json record : read_json_lines(path)) {
    record.erase("timings_ms");
    const std::string id = record["id"];
    EXPECT_EQ(records.count(id), 0u) << "duplicate record " << id;
    records[id] = record;
  }
  return records;
}

json result_without_timings(const std::string& path) {
  json result = json::parse(read_text(path));
  result.erase("timings_ms");
  return result;
}

TEST(BatchCli, CorruptTileIsRecordedAndTheOthersFinish) {
  TempDir dir;
  make_tile_folder(dir.file("tiles"), true);
  const CliRun run = run_terrascope(
      batch_args(dir.file("tiles"), questions_file(dir.path()), dir.file("out")), dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.err;  // something failed
  const auto records = read_json_lines(dir.file("out/results.jsonl"));
  ASSERT_EQ(records.size(), 8u);  // 4 scenes x 2 questions
  int failed = 0;
  for (const json& r : records) {
    if (r["scene"] == "corrupt.tif") {
      EXPECT_EQ(r["status"], "error");
      EXPECT_NE(r["error"].get<std::string>().find("corrupt.tif"), std::string::npos) << r["error"];
      ++failed;
      continue;
    }
    EXPECT_EQ(r["status"], "ok") << r.dump();
    const std::string result = dir.file("out/" + r["dir"].get<std::string>() + "/result.json");
    EXPECT_EQ(schema_errors(result), "") << result;
    for (const json& mask : r["masks"]) {
      const json info = gdalinfo_json(dir.file("out/" + mask["file"].get<std::string>()));
      EXPECT_EQ(info["size"], json({256, 256}));
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(records[0]["scene"], "236.tif");  // scenes in sorted order
  EXPECT_TRUE(fs::exists(dir.file("out/items/north/316.tif/urban/result.json")));
  const json summary = json::parse(read_text(dir.file("out/summary.json")));
  EXPECT_EQ(summary["recorded"], 8);
  EXPECT_EQ(summary["failed"], 2);
  EXPECT_NE(run.err.find("2 items failed"), std::string::npos) << run.err;
}

TEST(BatchCli, KilledAndResumedEqualsUninterrupted) {
  TempDir dir;
  make_tile_folder(dir.file("tiles"), false);
  const std::string questions = questions_file(dir.path());
  const CliRun full =
      run_terrascope(batch_args(dir.file("tiles"), questions, dir.file("full")), dir.path());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto expected = records_by_id(dir.file("full/results.jsonl"));
  ASSERT_EQ(expected.size(), 6u);

  // The same batch, killed with SIGKILL once it has recorded two items.
  const std::string killed_out = dir.file("killed");
  const std::string results = killed_out + "/results.jsonl";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string command = "exec " + std::string(TERRASCOPE_EXE) + " " +
                                batch_args(dir.file("tiles"), questions, killed_out) +
                                " >/dev/null 2>&1 </dev/null";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  size_t recorded = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    recorded = fs::exists(results) ? read_json_lines(results).size() : 0;
    if (recorded >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the batch finished before it could be killed";
  const size_t before_resume = read_json_lines(results).size();
  ASSERT_LT(before_resume, 6u);
  // A crash in the middle of an append leaves a torn line; resume must cut it away.
  std::ofstream(results, std::ios::app) << "{\"id\": \"north/316.tif#wat";

  const CliRun resumed = run_terrascope(
      batch_args(dir.file("tiles"), questions, killed_out) + " --resume", dir.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto got = records_by_id(results);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(read_json_lines(results).size(), 6u);  // nothing lost, nothing twice
  for (const auto& [id, record] : expected) {
    const std::string item = "/" + record["dir"].get<std::string>() + "/result.json";
    EXPECT_EQ(result_without_timings(killed_out + item),
              result_without_timings(dir.file("full") + item))
        << id;
  }
  // No half-written item folders are left behind.
  for (const auto& entry : fs::recursive_directory_iterator(killed_out)) {
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  }
  const json summary = json::parse(read_text(killed_out + "/summary.json"));
  EXPECT_EQ(summary["skipped_already_done"].get<size_t>(), before_resume);
}

TEST(BatchCli, ShardsPartitionTheItemsExactly) {
  TempDir dir;
  make_tile_folder(dir.file("tiles"), false);
  const std::string questions = questions_file(dir.path());
  const CliRun full =
      run_terrascope(batch_args(dir.file("tiles"), questions, dir.file("full")), dir.path());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto expected = records_by_id(dir.file("full/results.jsonl"));
  std::map<std::string, json> union_of_shards;
  std::map<std::string, int> shard_of_scene;
  for (int i = 0; i < 3; ++i) {
    const CliRun run =
        run_terrascope(batch_args(dir.file("tiles"), questions, dir.file("sharded")) + " --shard " +
                           std::to_string(i) + "/3",
                       dir.path());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::string path = dir.file("sharded/results.shard-" + std::to_string(i) + "-of-3.jsonl");
    for (const auto& [id, record] : records_by_id(path)) {
      EXPECT_EQ(union_of_shards.count(id), 0u) << id << " in two shards";
      union_of_shards[id] = record;
      // All questions about a scene stay on one shard (its features are computed once).
      const auto [it, inserted] = shard_of_scene.emplace(record["scene"].get<std::string>(), i);
      EXPECT_EQ(it->second, i) << record["scene"];
    }
  }
  EXPECT_EQ(union_of_shards, expected);
}

TEST(BatchCli, RefusesToClobberAndBadInputsExitOne) {
  TempDir dir;
  make_tile_folder(dir.file("tiles"), false);
  const std::string questions = questions_file(dir.path());
  const std::string list = dir.file("one.txt");
  std::ofstream(list) << "tiles/236.tif\n";
  ASSERT_EQ(run_terrascope(batch_args(list, questions, dir.file("out")), dir.path()).exit_code, 0);
  CliRun again = run_terrascope(batch_args(list, questions, dir.file("out")), dir.path());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(line_count(again.err), 1) << again.err;
  EXPECT_NE(again.err.find("results.jsonl"), std::string::npos) << again.err;
  EXPECT_EQ(
      run_terrascope(batch_args(list, questions, dir.file("out")) + " --overwrite", dir.path())
          .exit_code,
      0);

  std::ofstream(dir.file("bad.jsonl")) << "{\"id\": \"a\", \"question\": \"q\"}\n{\"id\":\n";
  for (const auto& [arguments, named] : std::vector<std::pair<std::string, std::string>>{
           {batch_args(dir.file("nowhere"), questions, dir.file("o1")), dir.file("nowhere")},
           {batch_args(list, dir.file("bad.jsonl"), dir.file("o2")), dir.file("bad.jsonl") + ":2"},
           {batch_args(list, dir.file("missing.jsonl"), dir.file("o3")), dir.file("missing.jsonl")},
       }) {
    const CliRun run = run_terrascope(arguments, dir.path());
    EXPECT_EQ(run.exit_code, 1) << arguments << "\n" << run.err;
    EXPECT_EQ(line_count(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(named), std::string::npos) << run.err;
  }
  for (const std::string& arguments :
       {batch_args(list, questions, dir.file("o4")) + " --shard 3/3",
        batch_args(list, questions, dir.file("o5")) + " --shard x",
        batch_args(list, questions, dir.file("o6")) + " --resume --overwrite"}) {
    EXPECT_EQ(run_terrascope(arguments, dir.path()).exit_code, 2) << arguments;
  }
}

}  // namespace
}  // namespace terrascope::test
