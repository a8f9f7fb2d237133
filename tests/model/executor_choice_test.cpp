// Model::load's TorchScript executor choice for CPU models (src/model/model.cpp): the legacy
// executor unless TERRASCOPE_JIT=profiling, and an Error naming the variable for other values.
#include <gtest/gtest.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <filesystem>
#include <string>

#include "engine_test_data.h"
#include "scoped_env.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

class ExecutorChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(testdata::tiny_bundle() + "/terrascope.json"))
        << testdata::how_to_make();
    saved_mode_ = torch::jit::getProfilingMode();
  }
  void TearDown() override { torch::jit::getProfilingMode() = saved_mode_; }
  test::ScopedEnv env_{"TERRASCOPE_JIT"};
  bool saved_mode_ = true;
};

TEST_F(ExecutorChoice, CpuModelsRunOnTheLegacyExecutor) {
  env_.unset();
  torch::jit::getProfilingMode() = true;
  Model::load(testdata::tiny_bundle());
  EXPECT_FALSE(torch::jit::getProfilingMode());
}

TEST_F(ExecutorChoice, ProfilingKeepsLibtorchsExecutor) {
  env_.set("profiling");
  torch::jit::getProfilingMode() = true;
  Model::load(testdata::tiny_bundle());
  EXPECT_TRUE(torch::jit::getProfilingMode());
}

TEST_F(ExecutorChoice, UnknownValueIsAnError) {
  test::expect_load_refuses(env_, "fastest");
}

}  // namespace
}  // namespace terrascope
