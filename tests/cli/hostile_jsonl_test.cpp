// Regressions from fuzz_jsonl (issue 8): every bad JSON Lines input is a terrascope::Error naming
// the file and line, never a foreign exception; and a result file on a full disk keeps whole lines.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "cli/jsonl.h"
#include "geo/scene_test_support.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Fuzzer finding: nlohmann::json throws out_of_range (not parse_error) for "6666E66666662".
TEST(HostileJsonl, NumberOverflowIsAnErrorNamingTheLine) {
  test::TempDir dir;
  const std::string path = dir.file("q.jsonl");
  std::ofstream(path) << "{\"id\": \"a\"}\n6666E66666662{\n";
  const std::string message = error_of([&] { read_jsonl(path); });
  EXPECT_EQ(message.rfind(path + ":2: ", 0), 0u) << message;
  std::ofstream(path, std::ios::trunc) << "{\"x\": 1e999}\n{\"id\": \"b\"}\n";
  const std::string result_message = error_of([&] { read_result_file(path); });
  EXPECT_EQ(result_message.rfind(path + ":1: ", 0), 0u) << result_message;
}

TEST(HostileJsonl, AppendOnAFullDiskIsAnErrorAndKeepsWholeLines) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root (mount -t tmpfs)";
  test::TempDir dir;
  if (::mount("terrascope_test", dir.path().c_str(), "tmpfs", 0, "size=16k") != 0) {
    GTEST_SKIP() << "mount -t tmpfs failed: " << std::strerror(errno);
  }
  const std::string path = dir.file("results.jsonl");
  std::string message;
  int written = 0;
  {
    JsonlAppender appender(path, true);
    const nlohmann::json record = {{"item", "scene#q"}, {"answer", std::string(900, 'a')}};
    message = error_of([&] {
      for (; written < 100; ++written) appender.append(record);
    });
  }
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_GT(written, 0);
  EXPECT_LT(written, 100);
  // Every record append() returned from is there, whole; at most a torn last line follows, and
  // reopening for resume cuts it.
  EXPECT_EQ(read_result_file(path).records.size(), static_cast<size_t>(written));
  { JsonlAppender resume(path, false); }
  const ResultFileContents after = read_result_file(path);
  EXPECT_FALSE(after.torn_tail);
  EXPECT_EQ(after.records.size(), static_cast<size_t>(written));
  ::umount2(dir.path().c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace terrascope::cli
