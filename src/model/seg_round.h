// One [SEG] round after the [SEG] token was fed: its final-norm hidden state -> seg_proj -> SAM-2
// mask decoder on every optical frame -> masks at the original size -> region selection (policy)
// -> the vision rows to feed back as <REGION> positions (tools/terrascope_ref/loop.py
// `_seg_round`).
#pragma once

#include <torch/script.h>

#include <string>

#include "model/model_impl.h"
#include "model/scene_features.h"
#include "terrascope/model.h"

namespace terrascope {

struct SegRoundInput {
  torch::Tensor seg_hidden;       // [D], final-norm hidden state at the [SEG] position
  int seg_index = 0;              // rounds before this one (release seg_count)
  std::string text_so_far;        // decoded output, for the indicator frame policy
  torch::Tensor question_embeds;  // [n, D] embeddings of the prompt's non-image ids (adaptive)
};

struct SegRoundOutput {
  SegResult result;
  torch::Tensor rows;  // [K, D] to feed as <REGION>
};

SegRoundOutput run_seg_round(const Model::Impl& model, const SceneFeatures& scene,
                             const Policies& policies, const SegRoundInput& input);

// Paper policy: the frame named by the last "Image: t{i}" (1-based) in `text`, clamped to the
// frames; frame 0 when there is none (the reference's regex `Image:\s*t(\d+)`).
int frame_from_indicators(const std::string& text, int frames);

// Bilinear (align_corners=False) to S x S, then to height x width, as the release's two resizes.
torch::Tensor upsample_mask_logits(const torch::Tensor& low_res, int64_t sam_size, int height,
                                   int width);

}  // namespace terrascope
