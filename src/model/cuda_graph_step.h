// The llm's one-token step replayed as a CUDA graph (issue 7's GPU target; BENCHMARKS.md, GPU).
//
// At one token per call the 8B step is bound by kernel launches, not by reading the weights: the
// TorchScript loop ran at 26% of the memory-bandwidth bound on an H200, the same module captured
// once and replayed at 57%. The step module is capturable as exported (docs/BUNDLE.md): the
// position arrives as a device tensor, the cache is written with index_copy_ and the causal mask
// is computed inside, so nothing in it reads a value back to the host.
//
// The graph is captured on the first one-token call for a given cache tensor (three warm-up runs
// on a side stream, as PyTorch's graphed callables do, then the capture), over the whole static
// cache (a fixed shape; the masked slots add exact zeros, as kv_cache.h explains for the
// narrowed views). Each call copies the embedding and the position into the graph's input
// buffers, replays, and returns copies of the outputs. The warm-up runs write the same K/V to the
// same slot as the real step, so they change nothing.
//
// Only in builds against a libtorch with CUDA (TERRASCOPE_CUDA_GRAPHS, set by CMake); elsewhere
// cuda_graphs_wanted is false and LlmGraphStep::step throws.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace terrascope {

// Whether this build can capture CUDA graphs (linked against a libtorch with CUDA).
bool cuda_graphs_built();

// Whether one-token steps on `device` replay a graph: a CUDA device, a build with graphs, and the
// environment variable TERRASCOPE_CUDA_GRAPHS not "0" (Error for a value other than 0 or 1).
bool cuda_graphs_wanted(const torch::Device& device);

class LlmGraphStep {
 public:
  explicit LlmGraphStep(std::string file);
  ~LlmGraphStep();
  LlmGraphStep(const LlmGraphStep&) = delete;
  LlmGraphStep& operator=(const LlmGraphStep&) = delete;

  // (logits, hidden) of `llm.forward(embeds [1, D], start, cache)` through the graph for `cache`
  // (captured at the first call, and again when the cache tensor or the embedding's dtype
  // changes). Errors name `file` (the llm module's file).
  std::pair<torch::Tensor, torch::Tensor> step(torch::jit::Module& llm, const torch::Tensor& embeds,
                                               int64_t start, torch::Tensor& cache);

 private:
  struct Captured;
  std::string file_;
  std::unique_ptr<Captured> captured_;
};

}  // namespace terrascope
