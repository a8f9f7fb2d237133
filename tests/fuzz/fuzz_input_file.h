// Fuzz inputs for readers that take a path: the bytes written to a per-process file in /dev/shm
// (or $TMPDIR), rewritten for every input.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace terrascope::fuzz {

inline std::string scratch_path(const std::string& extension) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = (access("/dev/shm", W_OK) == 0) ? "/dev/shm" : (tmp ? tmp : "/tmp");
  return dir + "/terrascope_fuzz_" + std::to_string(::getpid()) + extension;
}

inline const std::string& write_scratch(const uint8_t* data, size_t size,
                                        const std::string& extension) {
  static const std::string path = scratch_path(extension);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// A path from the environment, else the compiled default.
inline std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value && *value) ? value : fallback;
}

}  // namespace terrascope::fuzz
