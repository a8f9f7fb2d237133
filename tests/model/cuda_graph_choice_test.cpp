// The CUDA-graph switch of the one-token llm step (src/model/cuda_graph_step.h): never on a CPU
// device, TERRASCOPE_CUDA_GRAPHS accepts only 0 or 1 (an Error naming the variable, from
// Model::load too), and a graphed step refuses what it cannot capture.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine_test_data.h"
#include "model/cuda_graph_step.h"
#include "scoped_env.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

class CudaGraphChoice : public ::testing::Test {
 protected:
  test::ScopedEnv env_{"TERRASCOPE_CUDA_GRAPHS"};
};

TEST_F(CudaGraphChoice, NeverOnTheCpu) {
  for (const char* value : {"", "0", "1"}) {
    env_.set(value);
    EXPECT_FALSE(cuda_graphs_wanted(torch::Device(torch::kCPU))) << "'" << value << "'";
  }
}

TEST_F(CudaGraphChoice, UnknownValueIsAnError) {
  env_.set("yes");
  EXPECT_THROW(cuda_graphs_wanted(torch::Device(torch::kCPU)), Error);
  ASSERT_TRUE(std::filesystem::exists(testdata::tiny_bundle() + "/terrascope.json"))
      << testdata::how_to_make();
  test::expect_load_refuses(env_, "yes");
}

TEST_F(CudaGraphChoice, GraphedStepRefusesWhatItCannotCapture) {
  // A CPU embedding: a build without graphs says so, one with graphs refuses the CPU row; both
  // name the module file.
  torch::jit::Module llm("llm");
  torch::Tensor embeds = torch::zeros({1, 8});
  torch::Tensor cache = torch::zeros({1, 2, 1, 4, 8});
  LlmGraphStep step("bundle/llm.pt");
  try {
    step.step(llm, embeds, 0, cache);
    FAIL() << "a CPU embedding was stepped through a CUDA graph";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("bundle/llm.pt"), std::string::npos) << what;
    EXPECT_NE(what.find(cuda_graphs_built() ? "one CUDA embedding row" : "no CUDA graphs"),
              std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace terrascope
