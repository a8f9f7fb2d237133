#include "model/manifest.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "terrascope/error.h"

namespace terrascope {
namespace {

using nlohmann::json;

std::string shape_text(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

// Reads typed fields out of the manifest, naming the dotted field in every error.
class FieldReader {
 public:
  explicit FieldReader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(origin_, "field '" + field + "' " + problem);
  }

  const json& object(const json& parent, const std::string& key, const std::string& path) const {
    const json& v = member(parent, key, path);
    if (!v.is_object()) fail(path, "must be an object");
    return v;
  }

  const json& member(const json& parent, const std::string& key, const std::string& path) const {
    auto it = parent.find(key);
    if (it == parent.end()) fail(path, "is missing");
    return *it;
  }

  int64_t integer(const json& parent, const std::string& key, const std::string& path,
                  int64_t min_value = 1) const {
    const json& v = member(parent, key, path);
    if (!v.is_number_integer()) fail(path, "must be an integer");
    int64_t n = v.get<int64_t>();
    if (n < min_value)
      fail(path, "must be >= " + std::to_string(min_value) + ", is " + std::to_string(n));
    // No manifest number is near 2^31; a larger one would wrap in the int fields (issue 8).
    if (n > std::numeric_limits<int32_t>::max())
      fail(path, "must be <= 2147483647, is " + std::to_string(n));
    return n;
  }

  double number(const json& parent, const std::string& key, const std::string& path) const {
    const json& v = member(parent, key, path);
    if (!v.is_number()) fail(path, "must be a number");
    return v.get<double>();
  }

  std::string text(const json& parent, const std::string& key, const std::string& path,
                   bool allow_empty = false) const {
    const json& v = member(parent, key, path);
    if (!v.is_string()) fail(path, "must be a string");
    std::string s = v.get<std::string>();
    if (s.empty() && !allow_empty) fail(path, "must not be empty");
    return s;
  }

  bool boolean(const json& parent, const std::string& key, const std::string& path) const {
    const json& v = member(parent, key, path);
    if (!v.is_boolean()) fail(path, "must be true or false");
    return v.get<bool>();
  }

  std::array<double, 3> triple(const json& parent, const std::string& key,
                               const std::string& path) const {
    const json& v = member(parent, key, path);
    if (!v.is_array() || v.size() != 3) fail(path, "must be a list of 3 numbers");
    std::array<double, 3> out{};
    for (size_t i = 0; i < 3; ++i) {
      if (!v[i].is_number()) fail(path, "must be a list of 3 numbers");
      out[i] = v[i].get<double>();
    }
    return out;
  }

  Shape shape(const json& v, const std::string& path) const {
    if (!v.is_array()) fail(path, "must be a list of integers (a shape)");
    Shape out;
    for (const json& x : v) {
      if (!x.is_number_integer() || x.get<int64_t>() < -1 || x.get<int64_t>() == 0) {
        fail(path, "must be a list of positive integers or -1 (a shape)");
      }
      out.push_back(x.get<int64_t>());
    }
    return out;
  }

  std::vector<Shape> shapes(const json& parent, const std::string& key,
                            const std::string& path) const {
    const json& v = member(parent, key, path);
    if (!v.is_array()) fail(path, "must be a list of shapes");
    std::vector<Shape> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(shape(v[i], path + "[" + std::to_string(i) + "]"));
    return out;
  }

 private:
  std::string origin_;
};

ModuleSpec read_module(const FieldReader& r, const json& modules, const std::string& name) {
  const std::string base = "modules." + name;
  const json& m = r.object(modules, name, base);
  ModuleSpec spec;
  spec.file = r.text(m, "file", base + ".file");
  spec.sha256 = r.text(m, "sha256", base + ".sha256");
  if (spec.sha256.size() != 64 ||
      spec.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    r.fail(base + ".sha256", "must be 64 lower-case hex digits");
  }
  const json& methods = r.object(m, "methods", base + ".methods");
  for (auto it = methods.begin(); it != methods.end(); ++it) {
    const std::string mpath = base + ".methods." + it.key();
    if (!it.value().is_object()) r.fail(mpath, "must be an object");
    MethodSpec method;
    method.inputs = r.shapes(it.value(), "inputs", mpath + ".inputs");
    method.outputs = r.shapes(it.value(), "outputs", mpath + ".outputs");
    spec.methods[it.key()] = method;
  }
  return spec;
}

// Checks that a module declares `method` with exactly these input and output shapes.
void expect_method(const FieldReader& r, const Manifest& m, const std::string& module,
                   const std::string& method, const std::vector<Shape>& inputs,
                   const std::vector<Shape>& outputs) {
  const ModuleSpec& spec = m.modules.at(module);
  const std::string path = "modules." + module + ".methods." + method;
  auto it = spec.methods.find(method);
  if (it == spec.methods.end()) r.fail(path, "is missing");
  auto check = [&](const std::vector<Shape>& got, const std::vector<Shape>& want,
                   const std::string& which) {
    if (got.size() != want.size()) {
      r.fail(path + "." + which, "has " + std::to_string(got.size()) +
                                     " shapes, the architecture needs " +
                                     std::to_string(want.size()));
    }
    for (size_t i = 0; i < want.size(); ++i) {
      if (got[i] != want[i]) {
        r.fail(
            path + "." + which + "[" + std::to_string(i) + "]",
            "is " + shape_text(got[i]) + ", the architecture numbers give " + shape_text(want[i]));
      }
    }
  };
  check(it->second.inputs, inputs, "inputs");
  check(it->second.outputs, outputs, "outputs");
}

void check_architecture(const FieldReader& r, const Manifest& m) {
  const LlmArch& llm = m.llm;
  if (llm.heads * llm.head_dim != llm.hidden) {
    r.fail("architecture.llm.head_dim", "times heads (" + std::to_string(llm.heads * llm.head_dim) +
                                            ") differs from hidden " + std::to_string(llm.hidden));
  }
  if (llm.heads % llm.kv_heads != 0) {
    r.fail("architecture.llm.kv_heads", "must divide heads");
  }
  if (llm.cache_shape.size() != 5 || llm.cache_shape[0] != llm.layers || llm.cache_shape[1] != 2 ||
      llm.cache_shape[2] != llm.kv_heads || llm.cache_shape[3] < 1 ||
      llm.cache_shape[4] != llm.head_dim) {
    r.fail("architecture.llm.cache_shape",
           "is " + shape_text(llm.cache_shape) +
               ", must be [layers, 2, kv_heads, length, head_dim] = [" +
               std::to_string(llm.layers) + ",2," + std::to_string(llm.kv_heads) + ",L," +
               std::to_string(llm.head_dim) + "]");
  }
  const VisionArch& v = m.vision;
  if (v.image_size % v.patch_size != 0) {
    r.fail("architecture.vision.patch_size", "must divide image_size");
  }
  const double side = static_cast<double>(v.image_size / v.patch_size) * v.downsample_ratio;
  const int64_t tokens_side = static_cast<int64_t>(side + 0.5);
  if (tokens_side * tokens_side != v.tokens_per_tile) {
    r.fail("architecture.vision.tokens_per_tile",
           "is " + std::to_string(v.tokens_per_tile) +
               ", (image_size/patch_size*downsample_ratio)^2 is " +
               std::to_string(tokens_side * tokens_side));
  }
  if (m.preprocess.tile_size != v.image_size) {
    r.fail("preprocess.tile_size", "differs from architecture.vision.image_size");
  }
  if (m.preprocess.sam_image_size != m.sam.image_size) {
    r.fail("preprocess.sam_image_size", "differs from architecture.sam.image_size");
  }
  const SamArch& s = m.sam;
  if (s.image_size % 16 != 0) r.fail("architecture.sam.image_size", "must be a multiple of 16");
  if (s.mask_size * 4 != s.image_size) r.fail("architecture.sam.mask_size", "must be image_size/4");
  if (s.d_model % 8 != 0) r.fail("architecture.sam.d_model", "must be a multiple of 8");
  if (m.seg_proj_in != llm.hidden) r.fail("architecture.seg_proj.in", "differs from llm.hidden");
  if (m.seg_proj_out != s.lang_dim)
    r.fail("architecture.seg_proj.out", "differs from sam.lang_dim");
  if (m.preprocess.min_tiles > m.preprocess.max_tiles) {
    r.fail("preprocess.min_tiles", "is larger than max_tiles");
  }

  const int64_t T = v.image_size, D = llm.hidden, S = s.image_size, C = s.d_model;
  const int64_t E = s.lang_dim;
  const Shape feat = {1, C, S / 16, S / 16}, hr0 = {1, C / 8, S / 4, S / 4},
              hr1 = {1, C / 4, S / 8, S / 8};
  expect_method(r, m, "vision", "forward", {{-1, 3, T, T}}, {{-1, v.tokens_per_tile, D}});
  expect_method(r, m, "sar_encoder", "forward", {{-1, 3, T, T}}, {{-1, v.tokens_per_tile, D}});
  expect_method(r, m, "llm", "embed", {{-1}}, {{-1, D}});
  expect_method(r, m, "llm", "forward", {{-1, D}, {1}, llm.cache_shape}, {{llm.vocab}, {D}});
  expect_method(r, m, "seg_proj", "forward", {{-1, D}}, {{-1, E}});
  expect_method(r, m, "sam_encoder", "forward", {{1, 3, S, S}}, {feat, hr0, hr1});
  expect_method(r, m, "sam_decoder", "forward", {feat, hr0, hr1, {1, E}},
                {{1, 1, S / 4, S / 4}, {1}, {1}});
}

// ">=1.13" or ">=2.1.0" -> {1, 13} / {2, 1, 0}; empty when malformed.
std::vector<int> parse_minimum_version(const std::string& spec) {
  if (spec.rfind(">=", 0) != 0) return {};
  std::vector<int> parts;
  std::string number;
  for (size_t i = 2; i <= spec.size(); ++i) {
    if (i == spec.size() || spec[i] == '.') {
      if (number.empty() || number.size() > 4) return {};
      parts.push_back(std::stoi(number));
      number.clear();
    } else if (spec[i] >= '0' && spec[i] <= '9') {
      number += spec[i];
    } else {
      return {};
    }
  }
  if (parts.size() < 2 || parts.size() > 3) return {};
  return parts;
}

}  // namespace

void check_policies(const Policies& p, const std::string& origin) {
  if (p.region_cap < 1)
    throw Error(origin, "region cap must be >= 1, is " + std::to_string(p.region_cap));
  if (p.region_selection != "release" && p.region_selection != "paper") {
    throw Error(origin, "region selection '" + p.region_selection + "' unknown (release, paper)");
  }
  if (p.frame_choice != "release" && p.frame_choice != "indicator") {
    throw Error(origin, "frame choice '" + p.frame_choice + "' unknown (release, indicator)");
  }
  if (p.sar_fusion != "release" && p.sar_fusion != "adaptive" && p.sar_fusion != "concat") {
    throw Error(origin, "SAR fusion '" + p.sar_fusion + "' unknown (release, adaptive, concat)");
  }
}

Manifest parse_manifest(const std::string& json_text, const std::string& origin) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw Error(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw Error(origin, "not a JSON object");
  FieldReader r(origin);
  Manifest m;

  m.schema_version = static_cast<int>(r.integer(root, "schema_version", "schema_version"));
  if (m.schema_version != kManifestSchemaVersion) {
    r.fail("schema_version", "is " + std::to_string(m.schema_version) + ", this engine reads " +
                                 std::to_string(kManifestSchemaVersion));
  }
  m.name = r.text(root, "name", "name");
  if (root.contains("source") && root["source"].is_string()) m.source = root["source"];
  m.dtype = r.text(root, "dtype", "dtype");
  if (m.dtype != "fp32" && m.dtype != "bf16" && m.dtype != "fp16") {
    r.fail("dtype", "is '" + m.dtype + "', must be fp32, bf16 or fp16");
  }

  if (root.contains("requires")) {
    const json& req = r.object(root, "requires", "requires");
    if (req.contains("torch")) {
      const std::string spec = r.text(req, "torch", "requires.torch");
      m.requires_torch = parse_minimum_version(spec);
      if (m.requires_torch.empty()) {
        r.fail("requires.torch", "is '" + spec + "', expected '>=MAJOR.MINOR[.PATCH]'");
      }
    }
  }

  const json& arch = r.object(root, "architecture", "architecture");
  const json& llm = r.object(arch, "llm", "architecture.llm");
  auto li = [&](const char* k) { return r.integer(llm, k, std::string("architecture.llm.") + k); };
  m.llm.hidden = li("hidden");
  m.llm.layers = li("layers");
  m.llm.heads = li("heads");
  m.llm.kv_heads = li("kv_heads");
  m.llm.head_dim = li("head_dim");
  m.llm.ffn = li("ffn");
  m.llm.vocab = li("vocab");
  m.llm.rope_theta = r.number(llm, "rope_theta", "architecture.llm.rope_theta");
  m.llm.rms_eps = r.number(llm, "rms_eps", "architecture.llm.rms_eps");
  m.llm.cache_shape = r.shape(r.member(llm, "cache_shape", "architecture.llm.cache_shape"),
                              "architecture.llm.cache_shape");

  const json& vis = r.object(arch, "vision", "architecture.vision");
  auto vi = [&](const char* k) {
    return r.integer(vis, k, std::string("architecture.vision.") + k);
  };
  m.vision.image_size = vi("image_size");
  m.vision.patch_size = vi("patch_size");
  m.vision.tokens_per_tile = vi("tokens_per_tile");
  m.vision.hidden = vi("hidden");
  m.vision.downsample_ratio =
      r.number(vis, "downsample_ratio", "architecture.vision.downsample_ratio");

  const json& sam = r.object(arch, "sam", "architecture.sam");
  auto si = [&](const char* k) { return r.integer(sam, k, std::string("architecture.sam.") + k); };
  m.sam.image_size = si("image_size");
  m.sam.d_model = si("d_model");
  m.sam.mask_size = si("mask_size");
  m.sam.lang_dim = si("lang_dim");

  const json& sp = r.object(arch, "seg_proj", "architecture.seg_proj");
  m.seg_proj_in = r.integer(sp, "in", "architecture.seg_proj.in");
  m.seg_proj_out = r.integer(sp, "out", "architecture.seg_proj.out");

  const json& tok = r.object(root, "tokens", "tokens");
  auto ts = [&](const char* k) { return r.text(tok, k, std::string("tokens.") + k); };
  m.tokens.img_start = ts("img_start");
  m.tokens.img_end = ts("img_end");
  m.tokens.img_context = ts("img_context");
  m.tokens.seg = ts("seg");
  m.tokens.region = ts("region");
  m.tokens.think_start = ts("think_start");
  m.tokens.think_end = ts("think_end");
  m.tokens.answer_start = ts("answer_start");
  m.tokens.answer_end = ts("answer_end");
  const json& stop = r.member(tok, "stop", "tokens.stop");
  if (!stop.is_array() || stop.empty())
    r.fail("tokens.stop", "must be a non-empty list of strings");
  for (const json& s : stop) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      r.fail("tokens.stop", "must be a non-empty list of strings");
    }
    m.tokens.stop.push_back(s.get<std::string>());
  }

  const json& pr = r.object(root, "prompt", "prompt");
  m.prompt.chat_template = r.text(pr, "template", "prompt.template");
  if (m.prompt.chat_template.find("{input}") == std::string::npos) {
    r.fail("prompt.template", "has no {input}");
  }
  m.prompt.instruction = r.text(pr, "instruction", "prompt.instruction", true);
  m.prompt.image_placeholder = r.text(pr, "image_placeholder", "prompt.image_placeholder");
  m.prompt.image_joiner = r.text(pr, "image_joiner", "prompt.image_joiner", true);
  m.prompt.frame_indicator = r.text(pr, "frame_indicator", "prompt.frame_indicator", true);

  const json& pp = r.object(root, "preprocess", "preprocess");
  auto pi = [&](const char* k) {
    return static_cast<int>(r.integer(pp, k, std::string("preprocess.") + k));
  };
  m.preprocess.tile_size = pi("tile_size");
  m.preprocess.min_tiles = pi("min_tiles");
  m.preprocess.max_tiles = pi("max_tiles");
  m.preprocess.use_thumbnail = r.boolean(pp, "use_thumbnail", "preprocess.use_thumbnail");
  m.preprocess.mean = r.triple(pp, "mean", "preprocess.mean");
  m.preprocess.std = r.triple(pp, "std", "preprocess.std");
  m.preprocess.sam_image_size = pi("sam_image_size");
  m.preprocess.sam_mean = r.triple(pp, "sam_mean", "preprocess.sam_mean");
  m.preprocess.sam_std = r.triple(pp, "sam_std", "preprocess.sam_std");
  for (const auto* stds : {&m.preprocess.std, &m.preprocess.sam_std}) {
    for (double x : *stds) {
      if (!(x > 0))
        r.fail(stds == &m.preprocess.std ? "preprocess.std" : "preprocess.sam_std",
               "must be positive");
    }
  }

  const json& pol = r.object(root, "policies", "policies");
  m.policies.region_cap = static_cast<int>(r.integer(pol, "region_cap", "policies.region_cap"));
  m.policies.region_selection = r.text(pol, "region_selection", "policies.region_selection");
  m.policies.frame_choice = r.text(pol, "frame_choice", "policies.frame_choice");
  m.policies.sar_fusion = r.text(pol, "sar_fusion", "policies.sar_fusion");
  check_policies(m.policies, origin + ": policies");

  const json& gen = r.object(root, "generation", "generation");
  m.max_new_tokens =
      static_cast<int>(r.integer(gen, "max_new_tokens", "generation.max_new_tokens"));
  m.max_seg_rounds =
      static_cast<int>(r.integer(gen, "max_seg_rounds", "generation.max_seg_rounds", 0));

  const json& mods = r.object(root, "modules", "modules");
  for (const char* name :
       {"vision", "sar_encoder", "llm", "seg_proj", "sam_encoder", "sam_decoder"}) {
    m.modules[name] = read_module(r, mods, name);
  }

  const json& tk = r.object(root, "tokenizer", "tokenizer");
  m.tokenizer_file = r.text(tk, "file", "tokenizer.file");
  m.tokenizer_sha256 = r.text(tk, "sha256", "tokenizer.sha256");
  if (m.tokenizer_sha256.size() != 64 ||
      m.tokenizer_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    r.fail("tokenizer.sha256", "must be 64 lower-case hex digits");
  }

  check_architecture(r, m);
  return m;
}

Manifest read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open the bundle manifest");
  std::stringstream text;
  text << in.rdbuf();
  return parse_manifest(text.str(), path);
}

}  // namespace terrascope
