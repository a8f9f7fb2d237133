#include "model/prompt_builder.h"

#include "terrascope/error.h"

namespace terrascope {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

void append(std::vector<int32_t>& ids, const std::vector<int32_t>& more) {
  ids.insert(ids.end(), more.begin(), more.end());
}

}  // namespace

std::string format_options(const std::vector<std::string>& options) {
  if (options.size() > 26) throw Error("question", "more than 26 options (A-Z)");
  std::string out;
  for (size_t i = 0; i < options.size(); ++i) {
    out += std::string(1, static_cast<char>('A' + i)) + ". " + options[i] + "\n";
  }
  return out;
}

std::vector<int32_t> build_prompt_ids(const Manifest& manifest, const Tokenizer& tokenizer,
                                      int32_t img_start_id, int32_t img_context_id,
                                      int32_t img_end_id, const Question& question,
                                      const PromptLayout& layout) {
  const PromptSpec& p = manifest.prompt;
  const size_t input_at = p.chat_template.find("{input}");
  const std::string prefix = p.chat_template.substr(0, input_at);
  const std::string suffix = p.chat_template.substr(input_at + 7);

  std::vector<int32_t> ids;
  // Bundle text up to the first image block (indicator of frame 1 included).
  std::string trusted = prefix + p.instruction;
  for (size_t block = 0; block < layout.tokens_per_block.size(); ++block) {
    if (block > 0) trusted += p.image_joiner;
    if (layout.frame_indicators) {
      std::string indicator = p.frame_indicator;
      replace_all(indicator, "{index}", std::to_string(block + 1));
      trusted += indicator;
    }
    append(ids, tokenizer.encode(trusted, true));
    trusted.clear();
    ids.push_back(img_start_id);
    ids.insert(ids.end(), static_cast<size_t>(layout.tokens_per_block[block]), img_context_id);
    ids.push_back(img_end_id);
  }
  if (!trusted.empty()) append(ids, tokenizer.encode(trusted, true));
  // User text: never matched against added tokens.
  append(ids,
         tokenizer.encode("\n" + question.text + "\n" + format_options(question.options), false));
  append(ids, tokenizer.encode(suffix, true));
  return ids;
}

}  // namespace terrascope
