// The bundle manifest (terrascope.json, docs/BUNDLE.md): parsed into plain structs and checked for
// internal consistency (types, required fields, module shapes against the architecture numbers).
// Files, hashes and TorchScript are checked by bundle.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "terrascope/model.h"

namespace terrascope {

constexpr int kManifestSchemaVersion = 1;

using Shape = std::vector<int64_t>;  // -1: free dimension

struct MethodSpec {
  std::vector<Shape> inputs;
  std::vector<Shape> outputs;
};

struct ModuleSpec {
  std::string file;
  std::string sha256;
  std::map<std::string, MethodSpec> methods;
};

struct LlmArch {
  int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0;
  double rope_theta = 0, rms_eps = 0;
  Shape cache_shape;  // [layers, 2, kv_heads, Lc, head_dim]
};

struct VisionArch {
  int64_t image_size = 0, patch_size = 0, tokens_per_tile = 0, hidden = 0;
  double downsample_ratio = 0;
};

struct SamArch {
  int64_t image_size = 0, d_model = 0, mask_size = 0, lang_dim = 0;
};

struct TokenStrings {
  std::string img_start, img_end, img_context, seg, region;
  std::string think_start, think_end, answer_start, answer_end;
  std::vector<std::string> stop;
};

struct PromptSpec {
  std::string chat_template;  // contains "{input}"
  std::string instruction;
  std::string image_placeholder;
  std::string image_joiner;
  std::string frame_indicator;  // contains "{index}"
};

struct PreprocessSpec {
  int tile_size = 0, min_tiles = 0, max_tiles = 0;
  bool use_thumbnail = true;
  std::array<double, 3> mean{}, std{};
  int sam_image_size = 0;
  std::array<double, 3> sam_mean{}, sam_std{};
};

struct Manifest {
  int schema_version = 0;
  std::string name, source, dtype;
  std::vector<int>
      requires_torch;  // minimum libtorch version (requires.torch ">=X.Y[.Z]"), or empty
  LlmArch llm;
  VisionArch vision;
  SamArch sam;
  int64_t seg_proj_in = 0, seg_proj_out = 0;
  TokenStrings tokens;
  PromptSpec prompt;
  PreprocessSpec preprocess;
  Policies policies;
  int max_new_tokens = 0, max_seg_rounds = 0;
  std::map<std::string, ModuleSpec> modules;  // "vision", "llm", ..., optional "sar_encoder"
  std::string tokenizer_file, tokenizer_sha256;
};

// Parses and checks the manifest text; `origin` (the manifest path) starts every error message.
Manifest parse_manifest(const std::string& json_text, const std::string& origin);

// Reads and parses the file at `path`.
Manifest read_manifest(const std::string& path);

// Throws Error(origin, ...) unless the policy values are known and K >= 1.
void check_policies(const Policies& policies, const std::string& origin);

}  // namespace terrascope
