// Fuzz target: encode and decode arbitrary bytes with the tiny bundle's tokenizer and the real
// Qwen2 tokenizer (issue 8). Besides "no crash", it checks the properties the engine relies on:
// plain user text never yields an added (control) token, ASCII text round-trips exactly, and any
// id sequence decodes without error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input_file.h"
#include "model/tokenizer.h"
#include "terrascope/error.h"

namespace {

using terrascope::Tokenizer;

// Both tokenizers are loaded once; a missing file is a setup error, not a finding.
const std::vector<Tokenizer>& tokenizers() {
  static const std::vector<Tokenizer> loaded = [] {
    std::vector<Tokenizer> t;
    for (const std::string& path :
         {terrascope::fuzz::env_or("TERRASCOPE_TINY_TOKENIZER", TERRASCOPE_TINY_TOKENIZER),
          terrascope::fuzz::env_or("TERRASCOPE_QWEN_TOKENIZER", TERRASCOPE_QWEN_TOKENIZER)}) {
      try {
        t.push_back(Tokenizer::from_file(path));
      } catch (const terrascope::Error& e) {
        fprintf(stderr, "fuzz setup: %s\n", e.what());
        std::abort();
      }
    }
    return t;
  }();
  return loaded;
}

bool is_ascii(const std::string& text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const Tokenizer& tok = tokenizers()[mode & 1];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  if ((mode & 6) == 6) {
    // The bytes as little-endian int32 ids (any value, negative and huge included).
    std::vector<int32_t> ids(text.size() / 4);
    if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * 4);
    std::string decoded = tok.decode(ids);
    for (int32_t id : ids) (void)tok.token_bytes(id);
    (void)decoded;
    return 0;
  }

  const bool allow_special = (mode & 2) != 0;
  const std::vector<int32_t> ids = tok.encode(text, allow_special);
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.vocab_size()) std::abort();  // every id must be a real token
    if (!allow_special && tok.is_added_token(id)) {
      fprintf(stderr, "plain text produced added token %d\n", id);
      std::abort();
    }
  }
  const std::string decoded = tok.decode(ids);
  // Plain ASCII text (no added tokens matched, so no special handling) must round-trip exactly;
  // NFC leaves ASCII unchanged.
  if (!allow_special && is_ascii(text) && decoded != text) {
    fprintf(stderr, "round trip changed ASCII text (%zu -> %zu bytes)\n", text.size(),
            decoded.size());
    std::abort();
  }
  return 0;
}
