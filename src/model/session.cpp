#include <torch/script.h>

#include <algorithm>
#include <optional>

#include "model/generate.h"
#include "model/model_impl.h"
#include "model/prompt_builder.h"
#include "model/scene_features.h"
#include "terrascope/error.h"

namespace terrascope {

struct Session::State {
  std::vector<RgbImage> frames;
  std::optional<RgbImage> sar;
  std::optional<SceneFeatures> features;  // computed on the first question
  torch::Tensor cache;                    // allocated on the first question, reused after
  // K/V of the prompt prefix every question on this scene shares (template start, instruction,
  // image blocks up to the last </img>), kept from the first question's prefill; later questions
  // copy it into `cache` and prefill only their own text.
  std::vector<int32_t> prefix_ids;
  torch::Tensor prefix_kv;  // [layers, 2, kv_heads, prefix length, head_dim]
};

Session::Session(std::shared_ptr<const Model> model)
    : model_(std::move(model)), state_(std::make_unique<State>()) {
  if (!model_) throw Error("session", "no model");
}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::set_images(const std::vector<RgbImage>& frames, const std::optional<RgbImage>& sar) {
  if (frames.empty()) throw Error("images", "no image given");
  if (sar && frames.size() != 1) {
    throw Error("SAR image", "an optical+SAR question takes exactly one optical image");
  }
  state_->frames = frames;
  state_->sar = sar;
  state_->features.reset();
  state_->prefix_ids.clear();
  state_->prefix_kv = torch::Tensor();
}

namespace {

PromptLayout layout_for(const Manifest& m, const std::vector<RgbImage>& frames, bool has_sar,
                        const Policies& policies) {
  PromptLayout layout;
  const int64_t Nt = m.vision.tokens_per_tile;
  if (has_sar) {
    layout.tokens_per_block = {Nt, Nt};
  } else if (frames.size() > 1) {
    layout.tokens_per_block.assign(frames.size(), Nt);
    layout.frame_indicators = policies.frame_choice == "indicator";
  } else {
    const PreprocessSpec& pp = m.preprocess;
    const TileGrid grid = choose_tile_grid(frames[0].width, frames[0].height, pp.tile_size,
                                           pp.min_tiles, pp.max_tiles, pp.use_thumbnail);
    layout.tokens_per_block = {grid.tiles() * Nt};
  }
  return layout;
}

// Length of the prompt prefix that does not depend on the question: up to and including the last
// </img> (release prompt: instruction, then the image blocks, then the question; each run of text
// between special tokens is encoded on its own, so these ids never change with the question).
int64_t question_independent_prefix(const std::vector<int32_t>& ids, int32_t img_end) {
  for (size_t i = ids.size(); i > 0; --i) {
    if (ids[i - 1] == img_end) return static_cast<int64_t>(i);
  }
  return 0;
}

}  // namespace

std::vector<int32_t> Session::prompt_ids(const Question& question, const AskParams& params) const {
  if (state_->frames.empty()) throw Error("session", "no image set (call set_images first)");
  const Model::Impl& m = model_->impl();
  const PromptLayout layout =
      layout_for(m.bundle.manifest, state_->frames, state_->sar.has_value(), params.policies);
  const SpecialTokenIds& ids = m.bundle.ids;
  return build_prompt_ids(m.bundle.manifest, m.bundle.tokenizer, ids.img_start, ids.img_context,
                          ids.img_end, question, layout);
}

Answer Session::ask(const Question& question, const AskParams& params) {
  check_policies(params.policies, "policies");
  const std::vector<int32_t> ids = prompt_ids(question, params);
  const Model::Impl& m = model_->impl();
  c10::InferenceMode guard;
  if (!state_->features) {
    state_->features = compute_scene_features(m, state_->frames, state_->sar);
  } else {
    state_->features->vision_ms = 0;  // reused: no vision time for this question
  }
  if (!state_->cache.defined()) {
    state_->cache = torch::zeros(m.bundle.manifest.llm.cache_shape,
                                 torch::TensorOptions().dtype(m.dtype).device(m.device));
  }
  const int64_t shared = question_independent_prefix(ids, m.bundle.ids.img_end);
  PromptCache prompt_cache;
  State& st = *state_;
  if (shared > 0 && shared < static_cast<int64_t>(ids.size()) && st.prefix_kv.defined() &&
      st.prefix_ids.size() == static_cast<size_t>(shared) &&
      std::equal(st.prefix_ids.begin(), st.prefix_ids.end(), ids.begin())) {
    st.cache.narrow(3, 0, shared).copy_(st.prefix_kv);
    prompt_cache.reused = shared;
  }
  Answer answer = generate_answer(m, *st.features, st.frames, st.cache, ids, params, &prompt_cache);
  if (prompt_cache.reused == 0 && prompt_cache.prefilled && shared > 0 &&
      shared < static_cast<int64_t>(ids.size())) {
    // Later positions were overwritten by generation; 0..shared-1 still hold the prefix.
    st.prefix_kv = st.cache.narrow(3, 0, shared).clone();
    st.prefix_ids.assign(ids.begin(), ids.begin() + shared);
  }
  return answer;
}

}  // namespace terrascope
