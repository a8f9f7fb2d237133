// Streaming decode for generation: push token ids as they come, get back the text that became
// complete. A UTF-8 character spread over several byte tokens (Chinese, emoji) is held back until
// its last byte arrives, so no piece ever ends inside a character, and the concatenated pieces
// equal Tokenizer::decode of all ids.
#pragma once

#include <cstdint>
#include <string>

#include "model/tokenizer.h"

namespace terrascope {

class TextStreamer {
 public:
  // Keeps a reference: the tokenizer must outlive the streamer.
  explicit TextStreamer(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // Text completed by `id` (possibly empty). Invalid byte sequences become U+FFFD as in decode.
  std::string push(int32_t id);

  // The rest at the end of the stream: an unfinished character becomes U+FFFD, as in decode.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;  // bytes of an unfinished character
};

}  // namespace terrascope
