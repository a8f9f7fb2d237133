// Model::load's TorchScript executor choice for CPU models (src/model/model.cpp): the legacy
// executor unless TERRASCOPE_JIT=profiling, and an Error naming the variable for other values.
#include <gtest/gtest.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "engine_test_data.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

class ExecutorChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(testdata::tiny_bundle() + "/terrascope.json"))
        << testdata::how_to_make();
    const char* old = std::getenv("TERRASCOPE_JIT");
    saved_ = old ? std::optional<std::string>(old) : std::nullopt;
    saved_mode_ = torch::jit::getProfilingMode();
  }
  void TearDown() override {
    if (saved_) {
      setenv("TERRASCOPE_JIT", saved_->c_str(), 1);
    } else {
      unsetenv("TERRASCOPE_JIT");
    }
    torch::jit::getProfilingMode() = saved_mode_;
  }
  std::optional<std::string> saved_;
  bool saved_mode_ = true;
};

TEST_F(ExecutorChoice, CpuModelsRunOnTheLegacyExecutor) {
  unsetenv("TERRASCOPE_JIT");
  torch::jit::getProfilingMode() = true;
  Model::load(testdata::tiny_bundle());
  EXPECT_FALSE(torch::jit::getProfilingMode());
}

TEST_F(ExecutorChoice, ProfilingKeepsLibtorchsExecutor) {
  setenv("TERRASCOPE_JIT", "profiling", 1);
  torch::jit::getProfilingMode() = true;
  Model::load(testdata::tiny_bundle());
  EXPECT_TRUE(torch::jit::getProfilingMode());
}

TEST_F(ExecutorChoice, UnknownValueIsAnError) {
  setenv("TERRASCOPE_JIT", "fastest", 1);
  try {
    Model::load(testdata::tiny_bundle());
    FAIL() << "no error for TERRASCOPE_JIT=fastest";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("TERRASCOPE_JIT"), std::string::npos) << what;
    EXPECT_NE(what.find("fastest"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace terrascope
