#include "model/bundle.h"

#include <torch/version.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "model/sha256.h"
#include "terrascope/error.h"

namespace terrascope {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestName = "terrascope.json";

bool inside(const fs::path& root, const fs::path& path) {
  auto r = root.begin(), p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (p == path.end() || *r != *p) return false;
  }
  return p != path.end();
}

Tokenizer load_tokenizer(const std::string& path) {
  return Tokenizer::from_file(path);
}

int32_t resolve_token(const Tokenizer& tokenizer, const std::string& text, const std::string& field,
                      int64_t vocab, const std::string& manifest_path) {
  std::optional<int32_t> id = tokenizer.token_to_id(text);
  if (!id) {
    throw Error(manifest_path, "field '" + field + "': token '" + text +
                                   "' is not in the bundle's tokenizer.json");
  }
  if (*id < 0 || *id >= vocab) {
    throw Error(manifest_path, "field '" + field + "': token '" + text + "' has id " +
                                   std::to_string(*id) + ", outside the LLM vocabulary (" +
                                   std::to_string(vocab) + ")");
  }
  return *id;
}

}  // namespace

std::string resolve_bundle_file(const std::string& bundle_dir, const std::string& file,
                                const std::string& field) {
  const std::string manifest_path = (fs::path(bundle_dir) / kManifestName).string();
  const fs::path rel(file);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory()) {
    throw Error(manifest_path,
                "field '" + field + "': '" + file +
                    "' is an absolute path; bundle files must lie inside the bundle");
  }
  for (const fs::path& part : rel) {
    if (part == "..") {
      throw Error(manifest_path,
                  "field '" + field + "': '" + file + "' leaves the bundle directory ('..')");
    }
  }
  const fs::path full = fs::path(bundle_dir) / rel;
  std::error_code ec;
  if (!fs::exists(full, ec)) throw Error(full.string(), "missing (named by " + field + ")");
  if (!fs::is_regular_file(full, ec)) throw Error(full.string(), "not a regular file");
  const fs::path real_root = fs::canonical(bundle_dir, ec);
  const fs::path real_file = fs::canonical(full, ec);
  if (ec || !inside(real_root, real_file)) {
    throw Error(full.string(), "resolves to " + real_file.string() +
                                   ", outside the bundle directory (symbolic link)");
  }
  return full.string();
}

VerifiedBundle verify_bundle(const std::string& bundle_dir) {
  std::error_code ec;
  if (!fs::is_directory(bundle_dir, ec)) throw Error(bundle_dir, "not a bundle directory");
  const std::string manifest_path = (fs::path(bundle_dir) / kManifestName).string();
  if (!fs::exists(manifest_path, ec)) {
    throw Error(manifest_path, "missing (not a bundle directory)");
  }
  Manifest manifest = read_manifest(manifest_path);
  // Exporters may use ops of a newer libtorch and say so (docs/BUNDLE.md "requires").
  const std::vector<int> have = {TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH};
  const std::vector<int>& need = manifest.requires_torch;
  if (!need.empty() &&
      std::lexicographical_compare(have.begin(), have.end(), need.begin(), need.end())) {
    std::string need_text;
    for (size_t i = 0; i < need.size(); ++i) need_text += (i ? "." : "") + std::to_string(need[i]);
    throw Error(manifest_path, "field 'requires.torch': the bundle needs libtorch >= " + need_text +
                                   ", this engine is built with " + TORCH_VERSION);
  }

  // Every file resolved and hashed before anything is loaded.
  std::map<std::string, std::string> module_paths;
  std::map<std::string, bool> verified;
  auto verify = [&](const std::string& file, const std::string& sha, const std::string& field) {
    std::string path = resolve_bundle_file(bundle_dir, file, field);
    const std::string actual = sha256_file_hex(path);
    if (actual != sha) {
      throw Error(path, "sha256 " + actual + " does not match the manifest (" + field + " " + sha +
                            "); refusing to load it");
    }
    return path;
  };
  for (const auto& [name, spec] : manifest.modules) {
    module_paths[name] = verify(spec.file, spec.sha256, "modules." + name + ".sha256");
  }
  const std::string tokenizer_path =
      verify(manifest.tokenizer_file, manifest.tokenizer_sha256, "tokenizer.sha256");

  Tokenizer tokenizer = load_tokenizer(tokenizer_path);
  VerifiedBundle b{bundle_dir,
                   manifest_path,
                   std::move(manifest),
                   std::move(module_paths),
                   tokenizer_path,
                   std::move(tokenizer),
                   {}};
  const Manifest& m = b.manifest;

  const int64_t vocab = m.llm.vocab;
  const TokenStrings& t = m.tokens;
  auto rt = [&](const std::string& text, const std::string& field) {
    return resolve_token(b.tokenizer, text, "tokens." + field, vocab, manifest_path);
  };
  b.ids.img_start = rt(t.img_start, "img_start");
  b.ids.img_end = rt(t.img_end, "img_end");
  b.ids.img_context = rt(t.img_context, "img_context");
  b.ids.seg = rt(t.seg, "seg");
  b.ids.region = rt(t.region, "region");
  b.ids.think_start = rt(t.think_start, "think_start");
  b.ids.think_end = rt(t.think_end, "think_end");
  b.ids.answer_start = rt(t.answer_start, "answer_start");
  b.ids.answer_end = rt(t.answer_end, "answer_end");
  for (const std::string& s : t.stop) b.ids.stop.push_back(rt(s, "stop"));
  return b;
}

Bundle load_bundle(const std::string& bundle_dir, const torch::Device& device,
                   torch::ScalarType dtype) {
  VerifiedBundle v = verify_bundle(bundle_dir);
  const std::map<std::string, std::string> module_paths = std::move(v.module_paths);
  Bundle b{v.dir,
           v.manifest_path,
           std::move(v.manifest),
           std::move(v.tokenizer),
           v.ids,
           {},
           {},
           {},
           {},
           {},
           {}};
  const Manifest& m = b.manifest;

  // Load each file once (vision and sar_encoder may share one), then check the methods.
  std::map<std::string, torch::jit::Module> loaded;
  auto module_for = [&](const std::string& name) -> torch::jit::Module {
    const std::string& path = module_paths.at(name);
    auto it = loaded.find(path);
    torch::jit::Module module;
    if (it != loaded.end()) {
      module = it->second;
    } else {
      try {
        module = torch::jit::load(path, device);
      } catch (const std::exception& e) {
        std::string what = e.what();
        throw Error(path,
                    "not a loadable TorchScript module (" + what.substr(0, what.find('\n')) + ")");
      }
      module.eval();
      module.to(device, dtype);
      loaded.emplace(path, module);
    }
    for (const auto& [method, spec] : m.modules.at(name).methods) {
      (void)spec;
      if (!module.find_method(method)) {
        throw Error(path, "has no method '" + method + "' (modules." + name + ".methods)");
      }
    }
    return module;
  };
  b.vision = module_for("vision");
  b.sar_encoder = module_for("sar_encoder");
  b.llm = module_for("llm");
  b.seg_proj = module_for("seg_proj");
  b.sam_encoder = module_for("sam_encoder");
  b.sam_decoder = module_for("sam_decoder");
  return b;
}

}  // namespace terrascope
