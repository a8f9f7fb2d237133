// Fuzz target: the bundle manifest parser (terrascope.json). Every bad manifest must be a
// terrascope::Error naming the manifest; anything else escaping, or a crash, is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "model/manifest.h"
#include "terrascope/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const terrascope::Manifest m = terrascope::parse_manifest(text, "fuzz/terrascope.json");
    (void)m;
  } catch (const terrascope::Error& e) {
    if (std::string(e.what()).rfind("fuzz/terrascope.json", 0) != 0) {
      fprintf(stderr, "error does not name the manifest: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
