#include "model/seg_round.h"

#include <algorithm>
#include <cmath>

#include "model/region_select.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

GrayImage mask_to_image(const torch::Tensor& mask_bool) {
  torch::Tensor m = mask_bool.to(torch::kCPU, torch::kUInt8).contiguous();
  GrayImage image;
  image.height = static_cast<int>(m.size(0));
  image.width = static_cast<int>(m.size(1));
  image.pixels.assign(m.data_ptr<uint8_t>(), m.data_ptr<uint8_t>() + m.numel());
  return image;
}

// Python's \s on ASCII: space, \t\n\v\f\r and \x1c-\x1f.
bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

// Paper Eq. 4-5 (release training code, fusion 'query_select'): per position, the SAR row where
// its mean attention weight over the question's text embeddings beats the optical row's.
std::vector<bool> prefer_sar_rows(const torch::Tensor& v_opt, const torch::Tensor& v_sar,
                                  const torch::Tensor& query) {
  torch::Tensor q = query.to(torch::kFloat32);
  const double scale = std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor beta_opt =
      torch::softmax(torch::matmul(v_opt.to(torch::kFloat32), q.t()) / scale, 0).mean(1);
  torch::Tensor beta_sar =
      torch::softmax(torch::matmul(v_sar.to(torch::kFloat32), q.t()) / scale, 0).mean(1);
  torch::Tensor pick = (beta_sar > beta_opt).to(torch::kCPU, torch::kUInt8).contiguous();
  std::vector<bool> out(pick.numel());
  for (int64_t i = 0; i < pick.numel(); ++i) out[i] = pick.data_ptr<uint8_t>()[i] != 0;
  return out;
}

}  // namespace

int frame_from_indicators(const std::string& text, int frames) {
  int found = -1;
  for (size_t at = text.find("Image:"); at != std::string::npos; at = text.find("Image:", at + 1)) {
    size_t i = at + 6;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || text[i] != 't') continue;
    size_t digits = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == digits) continue;
    const std::string number = text.substr(digits, std::min<size_t>(i - digits, 9));
    found = std::stoi(number) - 1;
  }
  if (found < 0) return 0;
  return std::min(found, frames - 1);
}

torch::Tensor upsample_mask_logits(const torch::Tensor& low_res, int64_t sam_size, int height,
                                   int width) {
  // F.interpolate(size=..., mode="bilinear", align_corners=False) without scale factors. A
  // default-constructed c10::optional is "no scale" in libtorch 1.13 and 2.x alike.
  const c10::optional<double> no_scale;
  torch::Tensor full = at::upsample_bilinear2d(low_res, std::vector<int64_t>{sam_size, sam_size},
                                               false, no_scale, no_scale);
  return at::upsample_bilinear2d(full, std::vector<int64_t>{height, width}, false, no_scale,
                                 no_scale);
}

SegRoundOutput run_seg_round(const Model::Impl& model, const SceneFeatures& scene,
                             const Policies& policies, const SegRoundInput& input) {
  const Manifest& m = model.bundle.manifest;
  auto& seg_proj = const_cast<torch::jit::Module&>(model.bundle.seg_proj);
  auto& decoder = const_cast<torch::jit::Module&>(model.bundle.sam_decoder);
  const std::string decoder_file = model.bundle.dir + "/" + m.modules.at("sam_decoder").file;

  torch::Tensor lang = call_module(module_file(model, "seg_proj"), "forward", [&] {
    return seg_proj.forward({input.seg_hidden.reshape({1, -1})}).toTensor();
  });
  if (lang.dim() != 2 || lang.size(0) != 1 || lang.size(1) != m.sam.lang_dim) {
    throw Error(model.bundle.dir + "/" + m.modules.at("seg_proj").file,
                "forward returned shape " + std::string(c10::str(lang.sizes())) + ", expected [1," +
                    std::to_string(m.sam.lang_dim) + "]");
  }

  SegRoundOutput out;
  for (const auto& features : scene.sam) {
    auto result = call_module(decoder_file, "forward", [&] {
      return decoder.forward({features[0], features[1], features[2], lang});
    });
    if (!result.isTuple() || result.toTuple()->elements().size() != 3) {
      throw Error(decoder_file, "forward must return a tuple (mask_logits, iou, object_score)");
    }
    torch::Tensor logits = result.toTuple()->elements()[0].toTensor();
    const int64_t s = m.sam.mask_size;
    if (logits.sizes().vec() != std::vector<int64_t>{1, 1, s, s}) {
      throw Error(decoder_file, "forward returned mask logits of shape " +
                                    std::string(c10::str(logits.sizes())) + ", expected [1,1," +
                                    std::to_string(s) + "," + std::to_string(s) + "]");
    }
    torch::Tensor up = upsample_mask_logits(logits.to(torch::kFloat32), m.sam.image_size,
                                            scene.height, scene.width);
    out.result.frame_masks.push_back(mask_to_image(up[0][0].sigmoid() > 0.5));
  }

  const int T = m.preprocess.tile_size;
  const int tokens_per_side = static_cast<int>(std::lround(std::sqrt(m.vision.tokens_per_tile)));
  const RegionPolicy region{policies.region_cap, parse_region_rule(policies.region_selection)};
  std::vector<int64_t> indices;
  std::vector<bool> from_sar;
  int frame = 0;
  if (scene.mode == SceneMode::kSingle) {
    indices =
        select_region_tokens(out.result.frame_masks[0], scene.grid, T, tokens_per_side, region);
    from_sar.assign(indices.size(), false);
  } else if (scene.mode == SceneMode::kSeries) {
    frame = policies.frame_choice == "release"
                ? input.seg_index % scene.frames
                : frame_from_indicators(input.text_so_far, scene.frames);
    for (int64_t i :
         select_region_tokens_frame(out.result.frame_masks[frame], T, tokens_per_side, region)) {
      indices.push_back(i + scene.block_offsets[frame]);
    }
    from_sar.assign(indices.size(), false);
  } else {
    std::vector<int64_t> opt, sar;
    for (int64_t i :
         select_region_tokens_frame(out.result.frame_masks[0], T, tokens_per_side, region)) {
      opt.push_back(i + scene.block_offsets[0]);
      sar.push_back(i + scene.block_offsets[1]);
    }
    if (policies.sar_fusion == "release") {
      indices = opt;
      from_sar.assign(opt.size(), false);
    } else if (policies.sar_fusion == "concat") {
      indices = opt;
      indices.insert(indices.end(), sar.begin(), sar.end());
      from_sar.assign(opt.size(), false);
      from_sar.insert(from_sar.end(), sar.size(), true);
    } else {
      auto rows_of = [&](const std::vector<int64_t>& idx) {
        return scene.vision_rows.index_select(0,
                                              torch::tensor(idx, torch::kInt64).to(model.device));
      };
      std::vector<bool> pick = prefer_sar_rows(rows_of(opt), rows_of(sar), input.question_embeds);
      for (size_t k = 0; k < opt.size(); ++k) indices.push_back(pick[k] ? sar[k] : opt[k]);
      from_sar = pick;
    }
  }
  out.result.region_indices = indices;
  out.result.frame = frame;
  out.result.region_from_sar = from_sar;
  const auto n_sar = std::count(from_sar.begin(), from_sar.end(), true);
  out.result.modality = n_sar == 0                                    ? "optical"
                        : n_sar == static_cast<long>(from_sar.size()) ? "sar"
                                                                      : "both";
  out.rows =
      scene.vision_rows.index_select(0, torch::tensor(indices, torch::kInt64).to(model.device));
  return out;
}

}  // namespace terrascope
