// Fuzz target: loading a tokenizer.json (a bundle file that comes from the internet). Every bad
// file must be a terrascope::Error; anything else escaping, or a crash, is a finding. A file that
// loads must then encode and decode.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_input_file.h"
#include "model/tokenizer.h"
#include "terrascope/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = terrascope::fuzz::write_scratch(data, size, ".json");
  try {
    const terrascope::Tokenizer tok = terrascope::Tokenizer::from_file(path);
    const auto ids = tok.encode("Hello [SEG] w\xC3\xB6rld 123 <|im_end|>\n\xF0\x9F\x8C\x8D", true);
    (void)tok.decode(ids);
    (void)tok.encode("abc \xFF\xFE plain [SEG]", false);
  } catch (const terrascope::Error&) {
  }
  return 0;
}
