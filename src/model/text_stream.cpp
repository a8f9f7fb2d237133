#include "model/text_stream.h"

#include "model/utf8.h"

namespace terrascope {

std::string TextStreamer::push(int32_t id) {
  pending_ += tokenizer_.token_bytes(id);
  std::size_t unfinished = 0;
  // The held-back tail starts at a lead byte, so the repair of what precedes it is the same as
  // in the full decode: cutting there never changes how earlier bytes are read.
  std::string text = utf8_repair(pending_, &unfinished);
  pending_.erase(0, pending_.size() - unfinished);
  return text;
}

std::string TextStreamer::flush() {
  std::string text = utf8_repair(pending_);
  pending_.clear();
  return text;
}

}  // namespace terrascope
