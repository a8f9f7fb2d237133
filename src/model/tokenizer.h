// Qwen2's byte-level BPE tokenizer, read from a Hugging Face tokenizer.json (the bundle's copy).
//
// Encoding reproduces Hugging Face `tokenizers` encode(text, add_special_tokens=false): added
// tokens cut out first (leftmost-longest), NFC, the Split pre-tokenizer regex ("Isolated"),
// GPT-2's byte-to-character map, merges by rank. Decoding reproduces decode(ids,
// skip_special_tokens=false). Only the tokenizer.json structure Qwen2 uses is accepted; anything
// else is an Error naming the file and the part, never a silent approximation. The post_processor
// is never applied: Qwen2 adds no BOS/EOS, so this equals the release's tokenizer.encode(text).
//
// Text that is not valid UTF-8 is repaired first: each maximal invalid byte sequence becomes U+FFFD
// (as Python's bytes.decode(errors="replace")), so encode never fails on user input.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace terrascope {

class Tokenizer {
 public:
  // Throws terrascope::Error naming the file and the problem (unreadable, not JSON, missing
  // model.vocab, unsupported model type / normalizer / pre-tokenizer / decoder, bad merge, ...).
  static Tokenizer from_file(const std::string& tokenizer_json_path);

  // allow_special=true: added tokens (special or not) in the text are matched first, as HF does.
  // allow_special=false: the text is plain user text; no added token is matched, so "[SEG]" in a
  // question is tokenised as ordinary BPE pieces.
  std::vector<int32_t> encode(const std::string& text, bool allow_special = true) const;

  // Text of `ids` with special tokens kept as their content; invalid UTF-8 that the byte tokens
  // spell becomes U+FFFD; ids that are neither in the vocab nor added tokens are skipped (as HF).
  std::string decode(const std::vector<int32_t>& ids) const;

  // The raw bytes one id decodes to (before UTF-8 repair); empty for an unknown id.
  const std::string& token_bytes(int32_t id) const;

  // Id of a vocab token (in its byte-level spelling, e.g. "Ġworld") or of an added token.
  std::optional<int32_t> token_to_id(const std::string& token) const;

  // The vocab token (byte-level spelling) or added token content; throws Error for an unknown id.
  std::string id_to_token(int32_t id) const;

  // True for ids of added tokens (special or not): the ids plain user text never produces.
  bool is_added_token(int32_t id) const;

  int32_t vocab_size() const;  // max id + 1

  const std::string& source_path() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable once loaded: copies share it
};

}  // namespace terrascope
