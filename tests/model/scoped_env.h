// An environment variable saved on construction and restored (or unset) on destruction, for tests
// that set the engine's switches (TERRASCOPE_JIT, TERRASCOPE_CUDA_GRAPHS), and the check that
// Model::load refuses a bad value of one.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "engine_test_data.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

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
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

// Sets `env` to `value` and expects Model::load of the tiny bundle to throw an Error that names
// the variable and the value.
inline void expect_load_refuses(const ScopedEnv& env, const std::string& value) {
  env.set(value);
  try {
    Model::load(testdata::tiny_bundle());
    ADD_FAILURE() << "no error for " << env.name() << "=" << value;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(env.name()), std::string::npos) << what;
    EXPECT_NE(what.find(value), std::string::npos) << what;
  }
}

}  // namespace terrascope::test
