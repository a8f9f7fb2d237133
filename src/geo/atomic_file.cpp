#include "geo/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "terrascope/error.h"

namespace terrascope::geo {
namespace {

namespace fs = std::filesystem;

// Side files a GDAL driver may leave beside a dataset (PAM metadata, SQLite journals).
constexpr const char* kSideFileSuffixes[] = {".aux.xml", "-journal", "-wal", "-shm"};

std::string unique_temp_path(const fs::path& destination) {
  static std::atomic<unsigned> counter{0};
  const fs::path dir =
      destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
  const std::string name = "." + destination.stem().string() + ".tmp-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                           destination.extension().string();
  return (dir / name).string();
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
  for (const char* suffix : kSideFileSuffixes) fs::remove(path + suffix, ignored);
}

}  // namespace

AtomicFile::AtomicFile(std::string destination) : destination_(std::move(destination)) {
  if (destination_.empty()) throw Error("output", "empty output path");
  const fs::path target(destination_);
  if (target.filename().empty() || target.filename() == "." || target.filename() == "..") {
    throw Error(destination_, "output path names a directory, not a file");
  }
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Error(destination_,
                "output directory " + dir.string() + " cannot be used (" + ec.message() + ")");
  }
  if (!fs::exists(status)) {
    throw Error(destination_, "output directory " + dir.string() + " does not exist");
  }
  if (!fs::is_directory(status)) {
    throw Error(destination_, "output directory " + dir.string() + " is not a directory");
  }
  // access() answers for the real user, which is what matters here; it also reports read-only
  // file systems (EROFS), where root may not write either.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw Error(destination_, "output directory " + dir.string() + " is not writable (" +
                                  std::strerror(errno) + ")");
  }
  temp_path_ = unique_temp_path(target);
}

AtomicFile::~AtomicFile() {
  if (!committed_) remove_quietly(temp_path_);
}

void AtomicFile::commit() {
  if (committed_) return;
  if (std::rename(temp_path_.c_str(), destination_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    remove_quietly(temp_path_);
    throw Error(destination_, "cannot move the finished file into place (" + reason + ")");
  }
  committed_ = true;
  // A side file GDAL wrote for the temporary name belongs to the destination now.
  std::error_code ignored;
  const std::string aux = temp_path_ + ".aux.xml";
  if (fs::exists(aux, ignored)) fs::rename(aux, destination_ + ".aux.xml", ignored);
}

}  // namespace terrascope::geo
