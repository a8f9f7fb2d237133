// Loading a model bundle directory (docs/BUNDLE.md): the manifest, every file checked to lie inside
// the bundle and to match its sha256 BEFORE any TorchScript is loaded (a TorchScript file is code),
// the modules with their methods, the tokenizer, and the special-token ids resolved through it.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/manifest.h"
#include "model/tokenizer.h"

namespace terrascope {

struct SpecialTokenIds {
  int32_t img_start = 0, img_end = 0, img_context = 0, seg = 0, region = 0;
  int32_t think_start = 0, think_end = 0, answer_start = 0, answer_end = 0;
  std::vector<int32_t> stop;
};

struct Bundle {
  std::string dir;
  std::string manifest_path;
  Manifest manifest;
  Tokenizer tokenizer;
  SpecialTokenIds ids;
  torch::jit::Module vision, sar_encoder, llm, seg_proj, sam_encoder, sam_decoder;
};

// The path of `file` (a manifest field value) inside `bundle_dir`. Error (naming the manifest
// `field`) for absolute paths, `..` components, missing or non-regular files, and symbolic links
// that lead outside the bundle directory.
std::string resolve_bundle_file(const std::string& bundle_dir, const std::string& file,
                                const std::string& field);

// Everything about a bundle that can be checked without loading its code: the manifest, every file
// inside the bundle and matching its sha256, the tokenizer, the special-token ids resolved through
// it (`terrascope verify`; load_bundle starts with it).
struct VerifiedBundle {
  std::string dir;
  std::string manifest_path;
  Manifest manifest;
  std::map<std::string, std::string> module_paths;  // module name -> file, hash checked
  std::string tokenizer_path;
  Tokenizer tokenizer;
  SpecialTokenIds ids;
};

// Verifies without loading any TorchScript. Throws Error naming the file or manifest field.
VerifiedBundle verify_bundle(const std::string& bundle_dir);

// Loads and verifies everything; the modules are moved to `device` and `dtype` and set to eval.
Bundle load_bundle(const std::string& bundle_dir, const torch::Device& device,
                   torch::ScalarType dtype);

}  // namespace terrascope
