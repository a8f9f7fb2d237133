// The C++ half of scripts/gpu_check.sh (issue 7), built against the engine's static library:
//
//   gpu_check_tool parity BUNDLE GOLDEN_DIR DEVICE DTYPE
//     Runs every golden case of the tiny bundle on the CPU (fp32) and on DEVICE/DTYPE through the
//     public API; prints JSON per case: same output ids as the CPU, same as the golden file, the
//     smallest mask IoU against the CPU masks, and the answer text of each.
//   gpu_check_tool decode LLM_PT DEVICE DTYPE PROMPT_TOKENS DECODE_TOKENS CACHE_LEN
//     Times a TorchScript llm module of the bundle interface (embed, forward with a static cache)
//     as the engine's decode loop calls it (embed the chosen id, forward, logits to the host,
//     argmax), a prefill of PROMPT_TOKENS random embeddings, and the device's copy bandwidth;
//     prints JSON with the bandwidth bound (parameter bytes / copy bandwidth) and the fraction of
//     it reached.
//   gpu_check_tool decode ... CACHE_LEN VARIANT
//     VARIANT "loop" (the above, libtorch's default executor, as the engine runs CUDA models),
//     "legacy" (the same under TorchScript's legacy executor), "graph": embed, forward and the
//     argmax captured once as a CUDA graph (static id, position and cache on the device), then
//     replayed per token with the chosen id read back after each replay, as a loop that must see
//     every id would; "graph-legacy" the same under the legacy executor; "engine-graph" the loop
//     with the engine's own graphed step (src/model/cuda_graph_step.h: the forward alone replayed,
//     embed and argmax outside, as the engine runs CUDA models now). "graph" and "graph-legacy"
//     exist only in the binary built with GPU_CHECK_CUDA_GRAPHS, "engine-graph" in a build of the
//     engine against a libtorch with CUDA.
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>
#ifdef GPU_CHECK_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/cuda_graph_step.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw terrascope::Error(path, "cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The golden images: uint32 width, height (little endian), then RGB bytes (golden_inputs.py).
terrascope::RgbImage read_rgb(const std::string& path) {
  std::vector<uint8_t> data = read_file(path);
  if (data.size() < 8) throw terrascope::Error(path, "too short");
  uint32_t w = 0, h = 0;
  for (int i = 3; i >= 0; --i) w = (w << 8) | data[i], h = (h << 8) | data[4 + i];
  if (data.size() != 8 + static_cast<size_t>(w) * h * 3) throw terrascope::Error(path, "bad size");
  terrascope::RgbImage image;
  image.width = static_cast<int>(w);
  image.height = static_cast<int>(h);
  image.pixels.assign(data.begin() + 8, data.end());
  return image;
}

double iou(const terrascope::GrayImage& a, const terrascope::GrayImage& b) {
  if (a.width != b.width || a.height != b.height) return 0.0;
  size_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    inter += a.pixels[i] && b.pixels[i];
    uni += a.pixels[i] || b.pixels[i];
  }
  return uni == 0 ? 1.0 : static_cast<double>(inter) / uni;
}

int parity(const std::string& bundle, const std::string& golden, const std::string& device,
           const std::string& dtype) {
  json cases = json::parse(read_file(golden + "/cases.json"));
  auto cpu = terrascope::Model::load(bundle, {"cpu", "fp32"});
  auto dev = terrascope::Model::load(bundle, {device, dtype});
  json out = json::array();
  for (const json& c : cases) {
    std::vector<terrascope::RgbImage> frames;
    for (const json& f : c["images"])
      frames.push_back(read_rgb(golden + "/" + f.get<std::string>()));
    std::optional<terrascope::RgbImage> sar;
    if (!c["sar"].is_null()) sar = read_rgb(golden + "/" + c["sar"].get<std::string>());
    terrascope::Question q{c["question"].get<std::string>(), {}};
    for (auto it = c["options"].begin(); it != c["options"].end(); ++it) {
      q.options.push_back(it.value().get<std::string>());
    }
    auto answer = [&](const std::shared_ptr<const terrascope::Model>& model) {
      terrascope::AskParams p = model->default_params();
      const json& pol = c["policies"];
      p.policies.region_cap = pol["region_cap"];
      p.policies.region_selection = pol["region_selection"];
      p.policies.frame_choice = pol["frame_choice"];
      p.policies.sar_fusion = pol["sar_fusion"];
      p.max_new_tokens = c["max_new_tokens"];
      terrascope::Session s(model);
      s.set_images(frames, sar);
      return s.ask(q, p);
    };
    const terrascope::Answer a = answer(cpu);
    const auto t0 = Clock::now();
    const terrascope::Answer b = answer(dev);
    const double dev_s = std::chrono::duration<double>(Clock::now() - t0).count();
    double min_iou = 1.0;
    const size_t segs = std::min(a.segs.size(), b.segs.size());
    for (size_t s = 0; s < segs; ++s) {
      for (size_t f = 0; f < a.segs[s].frame_masks.size() && f < b.segs[s].frame_masks.size();
           ++f) {
        min_iou = std::min(min_iou, iou(a.segs[s].frame_masks[f], b.segs[s].frame_masks[f]));
      }
    }
    if (a.segs.size() != b.segs.size()) min_iou = 0.0;
    out.push_back(
        {{"case", c["name"]},
         {"device", device},
         {"dtype", dtype},
         {"same_ids_as_cpu", a.output_ids == b.output_ids},
         {"cpu_matches_golden", a.output_ids == c["output_ids"].get<std::vector<int32_t>>()},
         {"same_text_as_cpu", a.text == b.text},
         {"segs_cpu", a.segs.size()},
         {"segs_device", b.segs.size()},
         {"min_mask_iou", min_iou},
         {"device_seconds", dev_s},
         {"text_cpu", a.text},
         {"text_device", b.text}});
  }
  std::cout << out.dump(1) << "\n";
  return 0;
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

int decode(const std::string& llm_path, const std::string& device_name,
           const std::string& dtype_name, int prompt_tokens, int decode_tokens, int64_t cache_len,
           const std::string& variant) {
  if (variant != "loop" && variant != "legacy" && variant != "graph" && variant != "graph-legacy" &&
      variant != "engine-graph")
    throw terrascope::Error("variant '" + variant + "'",
                            "not one of: loop, legacy, graph, graph-legacy, engine-graph");
  if (variant == "engine-graph" && !terrascope::cuda_graphs_built())
    throw terrascope::Error("variant 'engine-graph'", "the engine was built without CUDA graphs");
  const bool use_graph = variant.rfind("graph", 0) == 0;
#ifndef GPU_CHECK_CUDA_GRAPHS
  if (use_graph)
    throw terrascope::Error("variant '" + variant + "'",
                            "this binary was built without CUDA graphs");
#endif
  if (variant.find("legacy") != std::string::npos) torch::jit::getProfilingMode() = false;
  c10::InferenceMode guard;
  const torch::Device device(device_name);
  const torch::ScalarType dtype = dtype_name == "bf16"   ? torch::kBFloat16
                                  : dtype_name == "fp16" ? torch::kFloat16
                                                         : torch::kFloat32;
  auto t_load = Clock::now();
  torch::jit::Module llm = torch::jit::load(llm_path, device);
  llm.eval();
  llm.to(device, dtype);
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();
  double param_bytes = 0, embed_bytes = 0;
  for (const auto& p : llm.named_parameters()) {
    param_bytes += p.value.nbytes();
    if (p.name.find("embed_tokens") != std::string::npos) embed_bytes += p.value.nbytes();
  }
  // Cache shape from the module's config: layers, kv heads and head dim from the first k_proj.
  int64_t layers = 0, kv_out = 0, hidden = 0, head_dim = 0;
  for (const auto& p : llm.named_parameters()) {
    if (p.name.find("self_attn.q_proj.weight") != std::string::npos) {
      ++layers;
      hidden = p.value.size(1);
    }
    if (p.name.find("self_attn.k_proj.weight") != std::string::npos) kv_out = p.value.size(0);
  }
  head_dim = 128;  // Qwen2-7B; checked below against the k_proj rows
  if (kv_out % head_dim != 0)
    throw terrascope::Error(llm_path, "k_proj rows not a multiple of 128");
  const int64_t kv_heads = kv_out / head_dim;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  torch::Tensor cache = torch::zeros({layers, 2, kv_heads, cache_len, head_dim}, opts);

  // Copy bandwidth: a 1 GiB buffer copied device to device (bytes read + written per second).
  torch::Tensor src = torch::empty({1 << 29}, opts.dtype(torch::kBFloat16));
  torch::Tensor dst = torch::empty_like(src);
  dst.copy_(src);
  sync(device);
  const int copies = 20;
  auto t0 = Clock::now();
  for (int i = 0; i < copies; ++i) dst.copy_(src);
  sync(device);
  const double copy_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double bandwidth = 2.0 * src.nbytes() * copies / copy_s;

  auto forward = [&](const torch::Tensor& embeds, int64_t start) {
    torch::Tensor s =
        torch::full({1}, start, torch::TensorOptions().dtype(torch::kInt64)).to(device);
    return llm.forward({embeds, s, cache}).toTuple()->elements()[0].toTensor();
  };
  torch::Tensor prompt = torch::randn({prompt_tokens, hidden}, opts) * 0.02;
  for (int w = 0; w < 2; ++w) forward(prompt, 0);  // warm-up (executor profiling runs)
  sync(device);
  t0 = Clock::now();
  torch::Tensor logits = forward(prompt, 0);
  sync(device);
  const double prefill_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  auto embed_method = llm.get_method("embed");
  terrascope::LlmGraphStep engine_graph(llm_path);
  int64_t next = logits.to(torch::kCPU, torch::kFloat32).argmax().item<int64_t>();
  auto loop = [&](int n, int64_t pos) {
    for (int i = 0; i < n; ++i, ++pos) {
      torch::Tensor id =
          torch::full({1}, next, torch::TensorOptions().dtype(torch::kInt64)).to(device);
      torch::Tensor e = embed_method({id}).toTensor();
      torch::Tensor l =
          variant == "engine-graph" ? engine_graph.step(llm, e, pos, cache).first : forward(e, pos);
      next = l.to(torch::kCPU, torch::kFloat32).argmax().item<int64_t>();
    }
  };
  auto time_tokens = [&](const std::function<void(int)>& run) {
    run(3);  // warm-up
    sync(device);
    const auto start = Clock::now();
    run(decode_tokens);
    sync(device);
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  double decode_total_ms = 0;
  if (!use_graph) {
    int64_t pos = prompt_tokens;
    decode_total_ms = time_tokens([&](int n) {
      loop(n, pos);
      pos += n;
    });
  }
#ifdef GPU_CHECK_CUDA_GRAPHS
  // Kept alive until the replays are done.
  at::cuda::CUDAGraph graph;
  if (use_graph) {
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
    torch::Tensor static_id = torch::full({1}, next, i64);
    torch::Tensor static_pos = torch::full({1}, static_cast<int64_t>(prompt_tokens), i64);
    auto body = [&] {
      torch::Tensor e = embed_method({static_id}).toTensor();
      torch::Tensor l = llm.forward({e, static_pos, cache}).toTuple()->elements()[0].toTensor();
      static_id.copy_(l.argmax().reshape({1}));
      static_pos.add_(1);
    };
    // Warm-up (executor profiling runs) and capture on a side stream, as PyTorch's make_graphed
    // callables do; the replays run on the default stream.
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device.index());
    {
      c10::cuda::CUDAStreamGuard stream_guard(side);
      for (int w = 0; w < 3; ++w) body();
      side.synchronize();
      graph.capture_begin();
      body();
      graph.capture_end();
    }
    sync(device);
    decode_total_ms = time_tokens([&](int n) {
      for (int i = 0; i < n; ++i) {
        graph.replay();
        next = static_id.item<int64_t>();
      }
    });
  }
#endif
  const double decode_ms = decode_total_ms / decode_tokens;
  const double bound_ms = param_bytes / bandwidth * 1000;
  const double bound_no_embed_ms = (param_bytes - embed_bytes) / bandwidth * 1000;
  json out = {{"llm", llm_path},
              {"variant", variant},
              {"device", device_name},
              {"dtype", dtype_name},
              {"load_s", load_s},
              {"layers", layers},
              {"kv_heads", kv_heads},
              {"cache_len", cache_len},
              {"param_gb", param_bytes / 1e9},
              {"embedding_gb", embed_bytes / 1e9},
              {"copy_bandwidth_gbs", bandwidth / 1e9},
              {"bound_ms_per_token", bound_ms},
              {"bound_ms_per_token_without_embedding", bound_no_embed_ms},
              {"prefill_tokens", prompt_tokens},
              {"prefill_ms", prefill_ms},
              {"decode_ms_per_token", decode_ms},
              {"fraction_of_bound", bound_ms / decode_ms}};
  std::cout << out.dump(1) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 5 && a[0] == "parity") return parity(a[1], a[2], a[3], a[4]);
    if ((a.size() == 7 || a.size() == 8) && a[0] == "decode") {
      return decode(a[1], a[2], a[3], std::stoi(a[4]), std::stoi(a[5]), std::stoll(a[6]),
                    a.size() == 8 ? a[7] : "loop");
    }
    std::cerr << "usage: gpu_check_tool parity BUNDLE GOLDEN DEVICE DTYPE\n"
                 "       gpu_check_tool decode LLM_PT DEVICE DTYPE PROMPT DECODE CACHE_LEN "
                 "[loop|legacy|graph|graph-legacy|engine-graph]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gpu_check_tool: " << e.what() << "\n";
    return 1;
  }
}
