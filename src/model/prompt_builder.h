// The prompt of one question as token ids: chat template, reasoning instruction, one
// `<img>` + `<IMG_CONTEXT>` x n + `</img>` block per image (optical tiles, SAR, time-series frames)
// joined as the release joins them, then the question and its multiple-choice options.
//
// Layout (tools/terrascope_ref/prompt.py, release `format_question_with_candidates` and
// `predict_forward_with_grounding[_multi]`):
//   template.prefix + instruction + blocks + "\n" + question + "\n" + "A. opt\n" ... +
//   template.suffix
// The bundle's own strings (template, instruction, joiner, frame indicators) are encoded with
// special tokens recognised; the user's question and options are encoded as plain text, so that a
// "[SEG]" or "<|im_end|>" typed by a user never becomes a control token. Each run of text between
// special tokens is encoded in one piece, so ordinary questions give the same ids as encoding the
// whole prompt string at once (the reference's way).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/manifest.h"
#include "model/tokenizer.h"
#include "terrascope/model.h"

namespace terrascope {

struct PromptLayout {
  std::vector<int64_t> tokens_per_block;  // <IMG_CONTEXT> count of each image block, in order
  bool frame_indicators = false;          // "Image: t{i}\n" before each block (paper, series)
};

// "A. opt\nB. opt\n..." (release: keys sorted, one line each); empty without options.
std::string format_options(const std::vector<std::string>& options);

std::vector<int32_t> build_prompt_ids(const Manifest& manifest, const Tokenizer& tokenizer,
                                      int32_t img_start_id, int32_t img_context_id,
                                      int32_t img_end_id, const Question& question,
                                      const PromptLayout& layout);

}  // namespace terrascope
