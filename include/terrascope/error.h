// The one exception type of terrascope. Messages name the file and the problem, so that the CLI can
// print them as they are on one line ("scene.tif: band 4 requested, file has 3 bands").
#pragma once

#include <stdexcept>
#include <string>

namespace terrascope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // "<subject>: <problem>", the form every user-facing error takes.
  Error(const std::string& subject, const std::string& problem)
      : std::runtime_error(subject + ": " + problem) {}
};

}  // namespace terrascope
