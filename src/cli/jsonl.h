// JSON Lines files: strict reading of inputs (questions, bench samples), and crash-safe result
// files that a killed process can resume (batch, bench).
//
// A result file only ever grows by whole records: each record is one line written with a single
// write() on an O_APPEND descriptor and fsync'd before the caller moves on, so after a crash (kill
// -9, power loss) the file holds every finished record and at most one torn last line, which the
// next run cuts away before appending.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace terrascope::cli {

// One parsed line and where it came from (1-based line number, for error messages).
struct JsonlRecord {
  nlohmann::json value;
  int line = 0;
};

// Reads every non-blank line of `path` as a JSON value. Throws Error("<path>:<line>: ...") for a
// line that is not JSON and Error("<path>: ...") for an unreadable file.
std::vector<JsonlRecord> read_jsonl(const std::string& path);

// A result file read back for resuming: the complete records, and whether the last line was torn
// (no final newline, or not JSON). `valid_bytes` is the length of the file without the torn line.
struct ResultFileContents {
  std::vector<nlohmann::json> records;
  bool torn_tail = false;
  std::size_t valid_bytes = 0;
};

// A missing file reads as empty. A line other than the last that is not JSON is an Error naming
// the file and line: it was not written by an interrupted append, so something else is wrong.
ResultFileContents read_result_file(const std::string& path);

class JsonlAppender {
 public:
  // Opens (creating) `path` for appending. With `truncate`, the file starts empty; otherwise a torn
  // last line left by an interrupted run is cut off first. Throws Error naming `path`.
  JsonlAppender(const std::string& path, bool truncate);
  ~JsonlAppender();
  JsonlAppender(const JsonlAppender&) = delete;
  JsonlAppender& operator=(const JsonlAppender&) = delete;

  // Writes `record` as one line (compact JSON, UTF-8 kept) and fsyncs it. Throws Error naming the
  // file when the disk refuses.
  void append(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace terrascope::cli
