// The pure parts of batch: shards (exact partition, stable hash), scene lists, question files,
// option letters.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "cli/batch.h"
#include "cli/cli_options.h"
#include "cli_run_support.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

using test::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

TEST(BatchPlan, Fnv1aMatchesPublishedVectors) {
  // Test vectors of the FNV reference page (Fowler/Noll/Vo, FNV-1a 64-bit).
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(BatchPlan, ShardsPartitionExactly) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back("tiles/scene_" + std::to_string(i) + ".tif");
  for (const int n : {1, 2, 3, 7, 16}) {
    std::vector<int> sizes(static_cast<size_t>(n), 0);
    for (const std::string& id : ids) {
      const int s = shard_of(id, n);
      ASSERT_GE(s, 0);
      ASSERT_LT(s, n);
      EXPECT_EQ(shard_of(id, n), s);  // deterministic
      ++sizes[static_cast<size_t>(s)];
    }
    int total = 0;
    for (const int size : sizes) {
      total += size;
      EXPECT_GT(size, 1000 / n / 2) << "shard of " << n << " far from balanced";
    }
    EXPECT_EQ(total, 1000);
  }
}

TEST(BatchPlan, ParseShard) {
  EXPECT_EQ(parse_shard("0/1").count, 1);
  const Shard s = parse_shard("3/8");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 8);
  for (const char* bad : {"8/8", "1/0", "-1/4", "a/4", "2", "2/", "/3", "1/2/3", " 1/2"}) {
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  }
}

TEST(BatchPlan, ListsAFolderRecursivelyAndSorted) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("b/c"));
  for (const char* name : {"z.tif", "a.PNG", "b/c/d.tiff", "notes.txt", ".hidden.tif"}) {
    write(dir.file(name), "x");
  }
  const auto scenes = list_batch_scenes(dir.path());
  ASSERT_EQ(scenes.size(), 3u);
  EXPECT_EQ(scenes[0].id, "a.PNG");
  EXPECT_EQ(scenes[1].id, "b/c/d.tiff");
  EXPECT_EQ(scenes[2].id, "z.tif");
  EXPECT_EQ(scenes[1].inputs.image, dir.file("b/c/d.tiff"));
  TempDir empty;
  EXPECT_THROW(list_batch_scenes(empty.path()), Error);
}

TEST(BatchPlan, ListFileWithPathsAndJsonScenes) {
  TempDir dir;
  const std::string list = dir.file("scenes.txt");
  write(list,
        "# comment\n"
        "one.tif\n"
        "\n"
        "{\"id\": \"pair\", \"image\": \"o.tif\", \"sar\": \"s.tif\"}\n"
        "{\"frames\": [\"t0.tif\", \"/abs/t1.tif\"]}\n");
  const auto scenes = list_batch_scenes(list);
  ASSERT_EQ(scenes.size(), 3u);
  EXPECT_EQ(scenes[0].id, "one.tif");
  EXPECT_EQ(scenes[0].inputs.image, dir.file("one.tif"));
  EXPECT_EQ(scenes[1].id, "pair");
  EXPECT_EQ(scenes[1].inputs.mode(), "sar");
  EXPECT_EQ(scenes[1].inputs.sar, dir.file("s.tif"));
  EXPECT_EQ(scenes[2].id, "t0.tif");
  EXPECT_EQ(scenes[2].inputs.mode(), "series");
  EXPECT_EQ(scenes[2].inputs.frames[1], "/abs/t1.tif");

  auto expect_error_at = [&](const std::string& text, const std::string& where) {
    write(list, text);
    try {
      list_batch_scenes(list);
      FAIL() << text;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(list + where, 0), 0u) << e.what();
    }
  };
  expect_error_at("a.tif\n{\"image\": 3}\n", ":2: ");
  expect_error_at("{\"image\": \"a.tif\", \"frames\": [\"b.tif\"]}\n", ":1: ");
  expect_error_at("a.tif\na.tif\n", ":2: ");
  expect_error_at("{broken\n", ":1: ");
  expect_error_at("# nothing\n", ": ");
  EXPECT_THROW(list_batch_scenes(dir.file("missing.txt")), Error);
}

TEST(BatchPlan, QuestionsFile) {
  TempDir dir;
  const std::string path = dir.file("q.jsonl");
  write(path,
        "{\"id\": \"water\", \"question\": \"Where is water?\"}\n"
        "{\"question\": \"Share?\", \"options\": [\"10%\", \"40%\"]}\n"
        "{\"id\": 7, \"question\": \"Q\", \"options\": {\"B\": \"two\", \"A\": \"one\"}}\n");
  const auto qs = read_batch_questions(path);
  ASSERT_EQ(qs.size(), 3u);
  EXPECT_EQ(qs[0].id, "water");
  EXPECT_TRUE(qs[0].question.options.empty());
  EXPECT_EQ(qs[1].id, "q2");
  EXPECT_EQ(qs[1].question.options, (std::vector<std::string>{"10%", "40%"}));
  EXPECT_EQ(qs[2].id, "7");
  EXPECT_EQ(qs[2].question.options, (std::vector<std::string>{"one", "two"}));
  write(path, "{\"id\": \"x\"}\n");
  EXPECT_THROW(read_batch_questions(path), Error);
  write(path, "{\"question\": \"q\", \"options\": {\"A\": \"one\", \"C\": \"three\"}}\n");
  EXPECT_THROW(read_batch_questions(path), Error);
}

TEST(BatchPlan, OptionLetters) {
  EXPECT_EQ(option_texts({"A. 10%", "B) 40%"}, "o"), (std::vector<std::string>{"10%", "40%"}));
  EXPECT_EQ(option_texts({"B. 40%", "A. 10%"}, "o"), (std::vector<std::string>{"10%", "40%"}));
  EXPECT_EQ(option_texts({"10%", "40%"}, "o"), (std::vector<std::string>{"10%", "40%"}));
  EXPECT_EQ(option_texts({"A lot", "Little"}, "o"), (std::vector<std::string>{"A lot", "Little"}));
  EXPECT_THROW(option_texts({"A. 10%", "40%"}, "o"), Error);     // mixed
  EXPECT_THROW(option_texts({"A. 10%", "C. 40%"}, "o"), Error);  // gap
  EXPECT_THROW(option_texts({"A. 10%", "A. 40%"}, "o"), Error);  // twice
  EXPECT_THROW(option_texts({"A.", "B. x"}, "o"), Error);        // no text
}

TEST(BatchPlan, OneLineErrors) {
  EXPECT_EQ(one_line("\n  first problem  \nat frame 1\nat frame 2"), "first problem");
  EXPECT_EQ(one_line("single"), "single");
  EXPECT_EQ(one_line(""), "unknown error");
}

}  // namespace
}  // namespace terrascope::cli
