#include "model/cuda_graph_step.h"

#include <cstdlib>

#include "model/model_impl.h"
#include "terrascope/error.h"

#ifdef TERRASCOPE_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#endif

namespace terrascope {

bool cuda_graphs_built() {
#ifdef TERRASCOPE_CUDA_GRAPHS
  return true;
#else
  return false;
#endif
}

bool cuda_graphs_wanted(const torch::Device& device) {
  const char* env = std::getenv("TERRASCOPE_CUDA_GRAPHS");
  const std::string value = env ? env : "";
  if (!value.empty() && value != "0" && value != "1") {
    throw Error("TERRASCOPE_CUDA_GRAPHS", "'" + value + "' is not 0 or 1");
  }
  return device.is_cuda() && cuda_graphs_built() && value != "0";
}

struct LlmGraphStep::Captured {
#ifdef TERRASCOPE_CUDA_GRAPHS
  at::cuda::CUDAGraph graph;
#endif
  void* cache_data = nullptr;
  torch::Tensor embeds, start, logits, hidden;  // the graph's input and output buffers
};

LlmGraphStep::LlmGraphStep(std::string file) : file_(std::move(file)) {}
LlmGraphStep::~LlmGraphStep() = default;

std::pair<torch::Tensor, torch::Tensor> LlmGraphStep::step(torch::jit::Module& llm,
                                                           const torch::Tensor& embeds,
                                                           int64_t start, torch::Tensor& cache) {
#ifdef TERRASCOPE_CUDA_GRAPHS
  if (embeds.dim() != 2 || embeds.size(0) != 1 || !embeds.is_cuda()) {
    throw Error(file_, "a graphed step takes one CUDA embedding row");
  }
  const torch::Device device = embeds.device();
  c10::cuda::CUDAGuard device_guard(device);
  if (!captured_ || captured_->cache_data != cache.data_ptr() ||
      captured_->embeds.scalar_type() != embeds.scalar_type()) {
    captured_.reset();  // frees the previous graph and its memory pool first
    auto c = std::make_unique<Captured>();
    c->cache_data = cache.data_ptr();
    c->embeds = embeds.clone();
    c->start = torch::full({1}, start, torch::TensorOptions().dtype(torch::kInt64).device(device));
    torch::cuda::synchronize(device.index());  // the inputs were made on the default stream
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device.index());
    {
      c10::cuda::CUDAStreamGuard stream_guard(side);
      auto forward = [&] {
        return llm_step_outputs(llm.forward({c->embeds, c->start, cache}), file_);
      };
      for (int i = 0; i < 3; ++i) forward();
      side.synchronize();
      c->graph.capture_begin();
      try {
        std::tie(c->logits, c->hidden) = call_module(
            file_, "forward captured as a CUDA graph (TERRASCOPE_CUDA_GRAPHS=0 runs without)",
            forward);
      } catch (const std::exception&) {
        try {
          c->graph.capture_end();  // leaves the side stream out of capture mode
        } catch (const std::exception&) {
        }
        throw;
      }
      c->graph.capture_end();
    }
    torch::cuda::synchronize(device.index());
    captured_ = std::move(c);
  }
  Captured& c = *captured_;
  c.embeds.copy_(embeds);
  c.start.fill_(start);
  c.graph.replay();
  return {c.logits.clone(), c.hidden.clone()};
#else
  (void)llm;
  (void)embeds;
  (void)start;
  (void)cache;
  throw Error(file_, "this build of terrascope has no CUDA graphs");
#endif
}

}  // namespace terrascope
