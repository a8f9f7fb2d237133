#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cstdlib>
#include <string>

#include "model/cpu_gemm.h"
#include "model/cuda_graph_step.h"
#include "model/device.h"
#include "model/model_impl.h"

namespace terrascope {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken:
      return "stop_token";
    case StopReason::kMaxNewTokens:
      return "max_new_tokens";
    case StopReason::kMaxSegRounds:
      return "max_seg_rounds";
    case StopReason::kContextFull:
      return "context_full";
    case StopReason::kAborted:
      return "aborted";
  }
  return "unknown";
}

namespace {

// The TorchScript executor for CPU models: the legacy executor (profiling mode off) unless
// TERRASCOPE_JIT=profiling. Measured with `terrascope perf` (BENCHMARKS.md, issue 7): as fast as
// the profiling executor on the tiny bundle, and it frees intermediate values as it goes, where the
// profiling executor's first (profiling) run of `llm.forward` keeps them to the end of the call:
// a 317-token prefill of a 730 MB random model raised the peak RSS by ~300 MB more. The setting is
// process-wide and must come before the first call of any module; CUDA models keep libtorch's
// default (its fusers need the profiling executor).
void choose_cpu_executor() {
  const char* env = std::getenv("TERRASCOPE_JIT");
  const std::string value = env ? env : "";
  if (value == "profiling") return;
  if (!value.empty() && value != "legacy") {
    throw Error("TERRASCOPE_JIT", "'" + value + "' is not one of: legacy, profiling");
  }
  torch::jit::getProfilingMode() = false;
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const std::string& bundle_dir,
                                         const ModelOptions& options) {
  // Settles which GEMM the CPU matrix products use (cpu_gemm.cpp) before any runs, so that a bad
  // TERRASCOPE_GEMM is an error here.
  cpu_gemm_backend();
  const torch::Device device = parse_device(options.device);
  const torch::ScalarType dtype = parse_dtype(options.dtype, device);
  if (device.is_cpu()) choose_cpu_executor();
  const bool cuda_graphs = cuda_graphs_wanted(device);  // a bad TERRASCOPE_CUDA_GRAPHS fails here
  c10::InferenceMode guard;
  auto impl = std::unique_ptr<Impl>(
      new Impl{load_bundle(bundle_dir, device, dtype), device, dtype, cuda_graphs});
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

AskParams Model::default_params() const {
  const Manifest& m = impl_->bundle.manifest;
  AskParams params;
  params.policies = m.policies;
  params.max_new_tokens = m.max_new_tokens;
  params.max_seg_rounds = m.max_seg_rounds;
  return params;
}

ModelInfo Model::info() const {
  const Manifest& m = impl_->bundle.manifest;
  ModelInfo info;
  info.name = m.name;
  info.device = impl_->device.str();
  info.dtype = dtype_name(impl_->dtype);
  info.tile_size = m.preprocess.tile_size;
  info.tokens_per_tile = static_cast<int>(m.vision.tokens_per_tile);
  info.max_tiles = m.preprocess.max_tiles;
  info.cache_length = static_cast<int>(m.llm.cache_shape[3]);
  return info;
}

}  // namespace terrascope
