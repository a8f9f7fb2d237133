// JSONL inputs and crash-safe result files: strict reading with file:line errors, torn last lines
// cut away before appending, whole records after every append.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli/jsonl.h"
#include "cli_run_support.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

using test::read_text;
using test::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

TEST(Jsonl, ReadsLinesSkipsBlanksAndNamesTheBadLine) {
  TempDir dir;
  const std::string path = dir.file("q.jsonl");
  write(path, "{\"a\":1}\n\n  \n{\"a\":2}\n{\"a\":\n");
  try {
    read_jsonl(path);
    FAIL() << "a broken line must throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ":5: not valid JSON", 0), 0u) << what;
  }
  write(path, "{\"a\":1}\n\n{\"a\":2}");
  const auto records = read_jsonl(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].value["a"], 2);
  EXPECT_EQ(records[1].line, 3);
  EXPECT_THROW(read_jsonl(dir.file("missing.jsonl")), Error);
}

TEST(Jsonl, ResultFileToleratesOnlyATornLastLine) {
  TempDir dir;
  const std::string path = dir.file("results.jsonl");
  EXPECT_TRUE(read_result_file(path).records.empty());  // missing: empty
  write(path, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"te");
  ResultFileContents contents = read_result_file(path);
  EXPECT_EQ(contents.records.size(), 2u);
  EXPECT_TRUE(contents.torn_tail);
  EXPECT_EQ(contents.valid_bytes, std::string("{\"id\":\"a\"}\n{\"id\":\"b\"}\n").size());
  // A torn line that happens to end in a newline (garbage written before the crash) is torn too.
  write(path, "{\"id\":\"a\"}\n{\"id\n");
  contents = read_result_file(path);
  EXPECT_EQ(contents.records.size(), 1u);
  EXPECT_TRUE(contents.torn_tail);
  // A bad line in the middle was not written by an append: an error naming file and line.
  write(path, "{\"id\":\"a\"}\nnot json\n{\"id\":\"c\"}\n");
  try {
    read_result_file(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":2: ", 0), 0u) << e.what();
  }
}

TEST(Jsonl, AppenderCutsTheTornLineThenAppendsWholeLines) {
  TempDir dir;
  const std::string path = dir.file("results.jsonl");
  write(path, "{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":[1,");
  {
    JsonlAppender appender(path, /*truncate=*/false);
    appender.append({{"id", "b"}, {"text", "é\nline"}});
  }
  EXPECT_EQ(read_text(path), "{\"id\":\"a\"}\n{\"id\":\"b\",\"text\":\"é\\nline\"}\n");
  {
    JsonlAppender appender(path, /*truncate=*/true);
    appender.append({{"id", "z"}});
    // Invalid UTF-8 from a model never stops a record from landing.
    appender.append({{"id", std::string("bad\xff")}});
  }
  const auto records = read_result_file(path).records;
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["id"], "z");
  EXPECT_EQ(records[1]["id"], "bad\xef\xbf\xbd");
  EXPECT_THROW(JsonlAppender(dir.file("no/such/dir/r.jsonl"), false), Error);
}

}  // namespace
}  // namespace terrascope::cli
