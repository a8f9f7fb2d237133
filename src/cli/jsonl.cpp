#include "cli/jsonl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path, "read error");
  return buffer.str();
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

// The parser's message without its "[json.exception.parse_error.101] " prefix.
std::string parse_problem(const nlohmann::json::exception& e) {
  std::string what = e.what();
  const size_t bracket = what.find("] ");
  if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
    what = what.substr(bracket + 2);
  }
  return "not valid JSON (" + what + ")";
}

}  // namespace

std::vector<JsonlRecord> read_jsonl(const std::string& path) {
  const std::string text = read_whole_file(path);
  std::vector<JsonlRecord> records;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    ++line_number;
    start = end + 1;
    if (is_blank(line)) continue;
    try {
      records.push_back({nlohmann::json::parse(line), line_number});
    } catch (const nlohmann::json::exception& e) {  // parse_error, out_of_range (1e999)
      throw Error(path + ":" + std::to_string(line_number), parse_problem(e));
    }
  }
  return records;
}

ResultFileContents read_result_file(const std::string& path) {
  ResultFileContents contents;
  if (access(path.c_str(), F_OK) != 0) return contents;
  const std::string text = read_whole_file(path);
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    const size_t newline = text.find('\n', start);
    const bool last = newline == std::string::npos || newline + 1 == text.size();
    const size_t end = newline == std::string::npos ? text.size() : newline;
    const std::string line = text.substr(start, end - start);
    ++line_number;
    if (newline == std::string::npos) {
      // No final newline: the append that wrote it did not finish.
      contents.torn_tail = true;
      break;
    }
    if (!is_blank(line)) {
      try {
        contents.records.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception& e) {  // parse_error, out_of_range (1e999)
        if (!last) throw Error(path + ":" + std::to_string(line_number), parse_problem(e));
        contents.torn_tail = true;
        break;
      }
    }
    start = newline + 1;
    contents.valid_bytes = start;
  }
  return contents;
}

JsonlAppender::JsonlAppender(const std::string& path, bool truncate) : path_(path) {
  if (!truncate) {
    const ResultFileContents existing = read_result_file(path);
    if (existing.torn_tail) {
      if (::truncate(path.c_str(), static_cast<off_t>(existing.valid_bytes)) != 0) {
        throw Error(path, std::string("cannot cut the torn last line: ") + std::strerror(errno));
      }
    }
  }
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) throw Error(path, std::string("cannot open for writing: ") + std::strerror(errno));
}

JsonlAppender::~JsonlAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlAppender::append(const nlohmann::json& record) {
  // Invalid UTF-8 in a model's text is replaced rather than refused: a record must always land.
  const std::string line =
      record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_, std::string("cannot append a record: ") + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0) {
    throw Error(path_, std::string("cannot flush a record to disk: ") + std::strerror(errno));
  }
}

}  // namespace terrascope::cli
