// The interleaved [SEG] loop of the release, on a static KV cache (tools/terrascope_ref/loop.py
// `run`, release `predict_forward_with_grounding[_multi]`):
//   prefill the prompt (vision rows written into the <IMG_CONTEXT> positions); choose a token;
//   then repeatedly FEED the chosen token and append it; stop after a stop id; on [SEG] run the
//   [SEG] round (masks, region rows), feed the rows as <REGION> positions on the same cache and
//   choose the next token from the last region position's logits; stop after max_seg_rounds
//   rounds; otherwise choose the next token and stop once the output holds max_new_tokens ids
//   (checked only after a non-[SEG] token, as the release).
#pragma once

#include <torch/script.h>

#include <vector>

#include "model/model_impl.h"
#include "model/scene_features.h"
#include "terrascope/model.h"

namespace terrascope {

// A prompt prefix already in the KV cache (Session: the instruction and image blocks shared by
// every question on one scene, copied in from an earlier question's prefill).
struct PromptCache {
  int64_t reused = 0;      // in: cache positions 0..reused-1 hold the prompt's first `reused` ids
  bool prefilled = false;  // out: the cache holds the whole prompt (generation got past prefill)
};

// `cache`: the session's KV cache (architecture.llm.cache_shape, model dtype, on the device); it
// is overwritten from position `prompt_cache->reused` (0 without one). `frames`: the optical
// frames, for SAM-2 features on first need.
Answer generate_answer(const Model::Impl& model, SceneFeatures& scene,
                       const std::vector<RgbImage>& frames, torch::Tensor& cache,
                       const std::vector<int32_t>& prompt_ids, const AskParams& params,
                       PromptCache* prompt_cache = nullptr);

// Python's str.strip() on ASCII whitespace (the release strips the decoded answer).
std::string strip_text(const std::string& text);

}  // namespace terrascope
