#include "model/scene_features.h"

#include <chrono>

#include "model/pixel_tensor.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void check_image(const RgbImage& image, const std::string& what) {
  if (image.width <= 0 || image.height <= 0) throw Error(what, "empty image");
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw Error(what, "pixel buffer holds " + std::to_string(image.pixels.size()) +
                          " bytes, expected width*height*3 = " +
                          std::to_string(static_cast<size_t>(image.width) * image.height * 3));
  }
}

torch::Tensor run_encoder(const Model::Impl& model, torch::jit::Module& encoder, const char* name,
                          const torch::Tensor& pixels) {
  const Manifest& m = model.bundle.manifest;
  torch::Tensor input = pixels.to(model.device, model.dtype);
  torch::Tensor tokens = call_module(module_file(model, name), "forward",
                                     [&] { return encoder.forward({input}).toTensor(); });
  if (tokens.dim() != 3 || tokens.size(0) != pixels.size(0) ||
      tokens.size(1) != m.vision.tokens_per_tile || tokens.size(2) != m.llm.hidden) {
    throw Error(model.bundle.dir + "/" + m.modules.at(name).file,
                "forward returned tokens of shape " + std::string(c10::str(tokens.sizes())) +
                    ", the manifest declares [N," + std::to_string(m.vision.tokens_per_tile) + "," +
                    std::to_string(m.llm.hidden) + "]");
  }
  return tokens.reshape({-1, tokens.size(2)});
}

}  // namespace

SceneFeatures compute_scene_features(const Model::Impl& model, const std::vector<RgbImage>& frames,
                                     const std::optional<RgbImage>& sar) {
  if (frames.empty()) throw Error("images", "no image given");
  for (size_t i = 0; i < frames.size(); ++i)
    check_image(frames[i], "image " + std::to_string(i + 1));
  if (sar) {
    check_image(*sar, "SAR image");
    if (frames.size() != 1)
      throw Error("SAR image", "an optical+SAR question takes exactly one optical image");
  }
  const Manifest& m = model.bundle.manifest;
  const PreprocessSpec& pp = m.preprocess;
  const int T = pp.tile_size;
  const int64_t Nt = m.vision.tokens_per_tile;
  // Modules are shared; TorchScript methods are const-safe to call, the handle is not const.
  auto& vision = const_cast<torch::jit::Module&>(model.bundle.vision);
  auto& sar_encoder = const_cast<torch::jit::Module&>(model.bundle.sar_encoder);

  SceneFeatures f;
  f.width = frames[0].width;
  f.height = frames[0].height;
  f.frames = static_cast<int>(frames.size());
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode guard;
  if (sar) {
    f.mode = SceneMode::kSar;
    torch::Tensor optical = run_encoder(
        model, vision, "vision", tiles_to_tensor({make_frame_tile(frames[0], T)}, pp.mean, pp.std));
    torch::Tensor radar = run_encoder(model, sar_encoder, "sar_encoder",
                                      tiles_to_tensor({make_frame_tile(*sar, T)}, pp.mean, pp.std));
    f.vision_rows = torch::cat({optical, radar}, 0);
    f.tokens_per_block = {Nt, Nt};
    f.block_offsets = {0, Nt};
  } else if (frames.size() > 1) {
    f.mode = SceneMode::kSeries;
    std::vector<RgbImage> tiles;
    for (const RgbImage& frame : frames) tiles.push_back(make_frame_tile(frame, T));
    f.vision_rows = run_encoder(model, vision, "vision", tiles_to_tensor(tiles, pp.mean, pp.std));
    for (size_t i = 0; i < frames.size(); ++i) {
      f.tokens_per_block.push_back(Nt);
      f.block_offsets.push_back(static_cast<int64_t>(i) * Nt);
    }
  } else {
    f.mode = SceneMode::kSingle;
    f.grid = choose_tile_grid(frames[0].width, frames[0].height, T, pp.min_tiles, pp.max_tiles,
                              pp.use_thumbnail);
    f.vision_rows = run_encoder(model, vision, "vision",
                                tiles_to_tensor(make_tiles(frames[0], f.grid, T), pp.mean, pp.std));
    f.tokens_per_block = {f.vision_rows.size(0)};
    f.block_offsets = {0};
  }
  f.vision_ms = ms_since(start);
  return f;
}

void ensure_sam_features(const Model::Impl& model, const std::vector<RgbImage>& frames,
                         SceneFeatures& f) {
  if (!f.sam.empty()) return;
  const Manifest& m = model.bundle.manifest;
  const PreprocessSpec& pp = m.preprocess;
  auto& encoder = const_cast<torch::jit::Module&>(model.bundle.sam_encoder);
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode guard;
  const int64_t S = m.sam.image_size, C = m.sam.d_model;
  const std::vector<std::vector<int64_t>> want = {
      {1, C, S / 16, S / 16}, {1, C / 8, S / 4, S / 4}, {1, C / 4, S / 8, S / 8}};
  // SAM-2 sees the optical frames only (single: the one image; sar: the optical image).
  for (int i = 0; i < f.frames; ++i) {
    torch::Tensor input = sam_input_tensor(frames[i], pp.sam_image_size, pp.sam_mean, pp.sam_std)
                              .to(model.device, model.dtype);
    auto out = call_module(module_file(model, "sam_encoder"), "forward",
                           [&] { return encoder.forward({input}); });
    if (!out.isTuple() || out.toTuple()->elements().size() != 3) {
      throw Error(model.bundle.dir + "/" + m.modules.at("sam_encoder").file,
                  "forward must return a tuple (feat, hr0, hr1)");
    }
    const auto& parts = out.toTuple()->elements();
    std::array<torch::Tensor, 3> features;
    for (size_t k = 0; k < 3; ++k) {
      features[k] = parts[k].toTensor();
      if (features[k].sizes().vec() != want[k]) {
        throw Error(model.bundle.dir + "/" + m.modules.at("sam_encoder").file,
                    "forward output " + std::to_string(k) + " has shape " +
                        std::string(c10::str(features[k].sizes())) +
                        ", the architecture numbers give " +
                        std::string(c10::str(at::IntArrayRef(want[k]))));
      }
    }
    f.sam.push_back(features);
  }
  f.sam_ms += ms_since(start);
}

}  // namespace terrascope
