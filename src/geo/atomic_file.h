// Atomic output files: a writer fills a temporary file beside the destination, and only a finished
// file is renamed into place, so that an interrupted or failed write never leaves a partial output
// (issue 2: "no partial output left behind"; a resumed batch relies on it).
#pragma once

#include <string>

namespace terrascope::geo {

class AtomicFile {
 public:
  // Checks that the destination's directory exists and accepts new files; throws terrascope::Error
  // naming `destination` otherwise. Nothing is created yet.
  explicit AtomicFile(std::string destination);
  // Removes the temporary file (and GDAL's side files of it) unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where the writer writes: same directory and extension as the destination (drivers such as
  // GeoPackage look at the extension), a hidden name that cannot collide with another writer.
  const std::string& temp_path() const { return temp_path_; }
  const std::string& destination() const { return destination_; }

  // Renames the finished temporary file onto the destination (replacing an older file there);
  // throws terrascope::Error naming the destination, and removes the temporary file, on failure.
  void commit();

 private:
  std::string destination_;
  std::string temp_path_;
  bool committed_ = false;
};

}  // namespace terrascope::geo
