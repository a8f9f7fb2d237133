// The per-scene work a Session does once and reuses for every [SEG] and every question on the same
// images: the vision tokens (tiles or frames through InternViT + mlp1, SAR through the SAR encoder)
// and the SAM-2 image features of each optical frame.
#pragma once

#include <torch/script.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "model/model_impl.h"
#include "model/tiling.h"
#include "terrascope/image.h"

namespace terrascope {

// single: one optical image, dynamic tiles; series: several frames, one tile each; sar: optical and
// SAR pseudo-RGB, one tile each (tools/terrascope_ref/loop.py "Layouts of the vision input").
enum class SceneMode { kSingle, kSeries, kSar };

struct SceneFeatures {
  SceneMode mode = SceneMode::kSingle;
  TileGrid grid;                          // single mode: the tile grid
  int width = 0, height = 0;              // frame 0's size: every mask comes out at this size
  int frames = 1;                         // optical frames (SAM-2 inputs)
  torch::Tensor vision_rows;              // [rows, D], model dtype, on the device
  std::vector<int64_t> tokens_per_block;  // <IMG_CONTEXT> count of each <img> block
  std::vector<int64_t> block_offsets;     // first row of each block in vision_rows
  std::vector<std::array<torch::Tensor, 3>> sam;  // per frame (feat, hr0, hr1); empty until needed
  double vision_ms = 0, sam_ms = 0;
};

// Checks the images and computes the vision tokens (SAM-2 features are left for ensure_sam).
SceneFeatures compute_scene_features(const Model::Impl& model, const std::vector<RgbImage>& frames,
                                     const std::optional<RgbImage>& sar);

// Computes the SAM-2 features of every optical frame unless already there.
void ensure_sam_features(const Model::Impl& model, const std::vector<RgbImage>& frames,
                         SceneFeatures& features);

}  // namespace terrascope
