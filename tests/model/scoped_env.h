// An environment variable saved on construction and restored (or unset) on destruction, for tests
// that set the engine's switches (TERRASCOPE_JIT, TERRASCOPE_CUDA_GRAPHS).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace terrascope::test {

class ScopedEnv {
 public:
  explicit ScopedEnv(std::string name) : name_(std::move(name)) {
    const char* old = std::getenv(name_.c_str());
    if (old) saved_ = old;
  }
  ~ScopedEnv() {
    if (saved_) {
      setenv(name_.c_str(), saved_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  void set(const std::string& value) const { setenv(name_.c_str(), value.c_str(), 1); }
  void unset() const { unsetenv(name_.c_str()); }

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

}  // namespace terrascope::test
