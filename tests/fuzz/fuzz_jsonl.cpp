// Fuzz target: the JSON Lines readers of the CLI (questions / bench inputs, and result files read
// back for resuming). Bad lines must be a terrascope::Error naming the file; a crash or another
// exception is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cli/jsonl.h"
#include "fuzz_input_file.h"
#include "terrascope/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = terrascope::fuzz::write_scratch(data, size, ".jsonl");
  try {
    (void)terrascope::cli::read_jsonl(path);
  } catch (const terrascope::Error& e) {
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();
  }
  try {
    const auto contents = terrascope::cli::read_result_file(path);
    if (contents.valid_bytes > size) std::abort();
  } catch (const terrascope::Error& e) {
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();
  }
  return 0;
}
