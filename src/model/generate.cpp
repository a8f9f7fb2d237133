#include "model/generate.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "model/cuda_graph_step.h"
#include "model/kv_cache.h"
#include "model/sampling.h"
#include "model/seg_round.h"
#include "model/text_stream.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The llm module's two methods, with their outputs checked against the manifest. On CUDA the
// one-token steps replay a CUDA graph (cuda_graph_step.h) unless TERRASCOPE_CUDA_GRAPHS=0.
class LlmSteps {
 public:
  LlmSteps(const Model::Impl& model)
      : model_(model),
        llm_(const_cast<torch::jit::Module&>(model.bundle.llm)),
        file_(module_file(model, "llm")),
        graph_(file_) {}

  torch::Tensor embed(const std::vector<int32_t>& ids) {
    torch::Tensor t = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
                          .to(model_.device);
    torch::Tensor out =
        call_module(file_, "embed", [&] { return llm_.get_method("embed")({t}).toTensor(); });
    const int64_t D = model_.bundle.manifest.llm.hidden;
    if (out.dim() != 2 || out.size(0) != t.size(0) || out.size(1) != D) {
      throw Error(file_, "embed returned shape " + std::string(c10::str(out.sizes())) +
                             ", expected [" + std::to_string(t.size(0)) + "," + std::to_string(D) +
                             "]");
    }
    return out;
  }

  // (logits [V], hidden [D]) of the last of `embeds`, fed at positions start.. on `cache` (the
  // module sees only the slots up to the bucket that holds the last position: kv_cache.h).
  std::pair<torch::Tensor, torch::Tensor> step(const torch::Tensor& embeds, int64_t start,
                                               torch::Tensor& cache) {
    torch::Tensor logits, hidden;
    if (model_.cuda_graphs && embeds.size(0) == 1) {
      std::tie(logits, hidden) =
          call_module(file_, "forward", [&] { return graph_.step(llm_, embeds, start, cache); });
    } else {
      torch::Tensor start_t =
          torch::tensor(std::vector<int64_t>{start}, torch::kInt64).to(model_.device);
      torch::Tensor attended = attended_cache(cache, start + embeds.size(0));
      std::tie(logits, hidden) = call_module(file_, "forward", [&] {
        return llm_step_outputs(llm_.forward({embeds, start_t, attended}), file_);
      });
    }
    const LlmArch& a = model_.bundle.manifest.llm;
    if (logits.dim() != 1 || logits.size(0) != a.vocab || hidden.dim() != 1 ||
        hidden.size(0) != a.hidden) {
      throw Error(file_, "forward returned logits " + std::string(c10::str(logits.sizes())) +
                             " and hidden " + std::string(c10::str(hidden.sizes())) +
                             ", expected [" + std::to_string(a.vocab) + "] and [" +
                             std::to_string(a.hidden) + "]");
    }
    return {logits, hidden};
  }

 private:
  const Model::Impl& model_;
  torch::jit::Module& llm_;
  std::string file_;
  LlmGraphStep graph_;
};

}  // namespace

std::string strip_text(const std::string& text) {
  auto space = [](char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
  };
  size_t begin = 0, end = text.size();
  while (begin < end && space(text[begin])) ++begin;
  while (end > begin && space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

Answer generate_answer(const Model::Impl& model, SceneFeatures& scene,
                       const std::vector<RgbImage>& frames, torch::Tensor& cache,
                       const std::vector<int32_t>& prompt_ids, const AskParams& params,
                       PromptCache* prompt_cache) {
  check_policies(params.policies, "policies");
  if (params.max_new_tokens < 1) {
    throw Error("max_new_tokens", std::to_string(params.max_new_tokens) + " must be >= 1");
  }
  if (params.max_seg_rounds < 0) {
    throw Error("max_seg_rounds", std::to_string(params.max_seg_rounds) + " must be >= 0");
  }
  const Bundle& b = model.bundle;
  const SpecialTokenIds& ids = b.ids;
  const int64_t cache_len = cache.size(3);
  if (static_cast<int64_t>(prompt_ids.size()) > cache_len) {
    throw Error("prompt", std::to_string(prompt_ids.size()) + " tokens exceed the KV cache of " +
                              std::to_string(cache_len) + " positions");
  }
  const int64_t reused = prompt_cache ? prompt_cache->reused : 0;
  if (reused < 0 || reused >= static_cast<int64_t>(prompt_ids.size())) {
    throw Error("prompt", "cached prefix of " + std::to_string(reused) +
                              " positions for a prompt of " + std::to_string(prompt_ids.size()) +
                              " tokens");
  }
  c10::InferenceMode guard;
  TokenSampler sampler(params.sampling);
  LlmSteps llm(model);
  TextStreamer streamer(b.tokenizer);

  Answer answer;
  answer.prompt_ids = prompt_ids;
  answer.vision_ms = scene.vision_ms;
  std::vector<int32_t>& output = answer.output_ids;
  const std::unordered_set<int32_t> stop_ids(ids.stop.begin(), ids.stop.end());
  auto aborted = [&] { return params.should_abort && params.should_abort(); };

  // Prompt embeddings: text embeddings with the vision rows written into the <IMG_CONTEXT> rows.
  std::vector<int64_t> image_positions, text_positions;
  for (size_t i = 0; i < prompt_ids.size(); ++i) {
    (prompt_ids[i] == ids.img_context ? image_positions : text_positions)
        .push_back(static_cast<int64_t>(i));
  }
  if (static_cast<int64_t>(image_positions.size()) != scene.vision_rows.size(0)) {
    throw Error("prompt", std::to_string(image_positions.size()) + " <IMG_CONTEXT> tokens for " +
                              std::to_string(scene.vision_rows.size(0)) + " vision rows");
  }
  torch::Tensor text_embeds = llm.embed(prompt_ids);
  torch::Tensor embeds = text_embeds.clone();
  embeds.index_copy_(0, torch::tensor(image_positions, torch::kInt64).to(model.device),
                     scene.vision_rows.to(embeds.scalar_type()));
  torch::Tensor question_embeds;  // for the adaptive SAR fusion
  if (scene.mode == SceneMode::kSar && params.policies.sar_fusion == "adaptive") {
    question_embeds =
        text_embeds.index_select(0, torch::tensor(text_positions, torch::kInt64).to(model.device));
  }

  if (aborted()) {
    answer.stop = StopReason::kAborted;
    return answer;
  }
  // Slots past the written positions are never attended (the step's causal mask), so a reused
  // prefix needs no clearing of the rest.
  if (reused == 0) cache.zero_();
  auto t0 = Clock::now();
  auto [logits, hidden] =
      reused == 0 ? llm.step(embeds, 0, cache)
                  : llm.step(embeds.narrow(0, reused, embeds.size(0) - reused), reused, cache);
  if (prompt_cache) prompt_cache->prefilled = true;
  int64_t pos = static_cast<int64_t>(prompt_ids.size());
  answer.prefill_ms = ms_since(t0);
  auto t_decode = Clock::now();

  auto choose = [&](const torch::Tensor& step_logits) {
    torch::Tensor cpu = step_logits.to(torch::kCPU, torch::kFloat32).contiguous();
    if (static_cast<int>(answer.logits.size()) < params.keep_logits) {
      answer.logits.emplace_back(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
    }
    return sampler.choose(cpu.data_ptr<float>(), cpu.numel());
  };
  auto emit = [&](int32_t id) {
    output.push_back(id);
    if (params.on_text) {
      std::string piece = streamer.push(id);
      if (!piece.empty()) params.on_text(piece);
    }
  };
  auto progress = [&] {
    if (params.on_progress) {
      params.on_progress(Progress{static_cast<int>(output.size()), params.max_new_tokens,
                                  static_cast<int>(answer.segs.size())});
    }
  };

  int32_t next_id = choose(logits);
  int seg_count = 0;
  while (true) {
    if (aborted()) {
      answer.stop = StopReason::kAborted;
      break;
    }
    if (pos + 1 > cache_len) {
      answer.stop = StopReason::kContextFull;
      break;
    }
    std::tie(logits, hidden) = llm.step(llm.embed({next_id}), pos, cache);
    pos += 1;
    emit(next_id);
    progress();
    if (stop_ids.count(next_id)) {
      answer.stop = StopReason::kStopToken;
      break;
    }
    if (next_id == ids.seg) {
      auto t_seg = Clock::now();
      ensure_sam_features(model, frames, scene);
      SegRoundInput input;
      input.seg_hidden = hidden;
      input.seg_index = seg_count;
      if (scene.mode == SceneMode::kSeries && params.policies.frame_choice == "indicator") {
        input.text_so_far = b.tokenizer.decode(output);
      }
      input.question_embeds = question_embeds;
      SegRoundOutput round = run_seg_round(model, scene, params.policies, input);
      answer.sam_ms += ms_since(t_seg);
      const int64_t k = params.policies.inject_regions ? round.rows.size(0) : 0;
      if (aborted()) {
        answer.segs.push_back(round.result);
        answer.stop = StopReason::kAborted;
        break;
      }
      if (pos + k > cache_len) {
        answer.segs.push_back(round.result);
        answer.stop = StopReason::kContextFull;
        break;
      }
      if (k > 0) {
        std::tie(logits, hidden) = llm.step(round.rows.to(embeds.scalar_type()), pos, cache);
      }
      pos += k;
      for (int64_t i = 0; i < k; ++i) emit(ids.region);
      answer.segs.push_back(round.result);
      if (params.on_mask) params.on_mask(answer.segs.back(), seg_count);
      seg_count += 1;
      progress();
      if (seg_count >= params.max_seg_rounds) {
        answer.stop = StopReason::kMaxSegRounds;
        break;
      }
      next_id = choose(logits);
      continue;
    }
    if (static_cast<int>(output.size()) >= params.max_new_tokens) {
      answer.stop = StopReason::kMaxNewTokens;
      break;
    }
    next_id = choose(logits);
  }
  if (params.on_text) {
    std::string rest = streamer.flush();
    if (!rest.empty()) params.on_text(rest);
  }
  answer.decode_ms = ms_since(t_decode);
  answer.text = strip_text(b.tokenizer.decode(output));
  return answer;
}

}  // namespace terrascope
