// Manifest parsing and consistency checks (docs/BUNDLE.md): a valid manifest parses into the
// numbers the engine uses; each defect is an Error naming the manifest and the field.
#include "model/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "terrascope/error.h"

namespace terrascope {
namespace {

using nlohmann::json;

const std::string kSha(64, 'a');

json method(json inputs, json outputs) {
  return {{"inputs", inputs}, {"outputs", outputs}};
}

// A consistent manifest at the sizes of docs/BUNDLE.md's example.
json valid_manifest() {
  json vision = {{"file", "vision.pt"},
                 {"sha256", kSha},
                 {"methods", {{"forward", method({{-1, 3, 56, 56}}, {{-1, 4, 64}})}}}};
  return {{"schema_version", 1},
          {"name", "tiny"},
          {"dtype", "fp32"},
          {"architecture",
           {{"llm",
             {{"hidden", 64},
              {"layers", 2},
              {"heads", 4},
              {"kv_heads", 2},
              {"head_dim", 16},
              {"ffn", 128},
              {"vocab", 512},
              {"rope_theta", 1e6},
              {"rms_eps", 1e-6},
              {"cache_shape", {2, 2, 2, 1024, 16}}}},
            {"vision",
             {{"image_size", 56},
              {"patch_size", 14},
              {"downsample_ratio", 0.5},
              {"tokens_per_tile", 4},
              {"hidden", 64}}},
            {"sam", {{"image_size", 128}, {"d_model", 32}, {"mask_size", 32}, {"lang_dim", 32}}},
            {"seg_proj", {{"in", 64}, {"out", 32}}}}},
          {"tokens",
           {{"img_start", "<img>"},
            {"img_end", "</img>"},
            {"img_context", "<IMG_CONTEXT>"},
            {"seg", "[SEG]"},
            {"region", "<REGION>"},
            {"think_start", "<think>"},
            {"think_end", "</think>"},
            {"answer_start", "<answer>"},
            {"answer_end", "</answer>"},
            {"stop", {"<|im_end|>", "<|endoftext|>"}}}},
          {"prompt",
           {{"template", "<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n"},
            {"instruction", "Think.\n\n"},
            {"image_placeholder", "<image>"},
            {"image_joiner", "\n"},
            {"frame_indicator", "Image: t{index}\n"}}},
          {"preprocess",
           {{"tile_size", 56},
            {"min_tiles", 1},
            {"max_tiles", 12},
            {"use_thumbnail", true},
            {"mean", {0.485, 0.456, 0.406}},
            {"std", {0.229, 0.224, 0.225}},
            {"sam_image_size", 128},
            {"sam_mean", {0.485, 0.456, 0.406}},
            {"sam_std", {0.229, 0.224, 0.225}}}},
          {"policies",
           {{"region_cap", 8},
            {"region_selection", "release"},
            {"frame_choice", "release"},
            {"sar_fusion", "release"}}},
          {"generation", {{"max_new_tokens", 8192}, {"max_seg_rounds", 20}}},
          {"modules",
           {{"vision", vision},
            {"sar_encoder", vision},
            {"llm",
             {{"file", "llm.pt"},
              {"sha256", kSha},
              {"methods",
               {{"embed", method({{-1}}, {{-1, 64}})},
                {"forward", method({{-1, 64}, {1}, {2, 2, 2, 1024, 16}}, {{512}, {64}})}}}}},
            {"seg_proj",
             {{"file", "seg_proj.pt"},
              {"sha256", kSha},
              {"methods", {{"forward", method({{-1, 64}}, {{-1, 32}})}}}}},
            {"sam_encoder",
             {{"file", "sam_encoder.pt"},
              {"sha256", kSha},
              {"methods",
               {{"forward",
                 method({{1, 3, 128, 128}}, {{1, 32, 8, 8}, {1, 4, 32, 32}, {1, 8, 16, 16}})}}}}},
            {"sam_decoder",
             {{"file", "sam_decoder.pt"},
              {"sha256", kSha},
              {"methods",
               {{"forward", method({{1, 32, 8, 8}, {1, 4, 32, 32}, {1, 8, 16, 16}, {1, 32}},
                                   {{1, 1, 32, 32}, {1}, {1}})}}}}}}},
          {"tokenizer", {{"file", "tokenizer.json"}, {"sha256", kSha}}}};
}

// Parsing `manifest` must fail with a message holding every one of `parts`.
void expect_error(const json& manifest, const std::vector<std::string>& parts) {
  try {
    parse_manifest(manifest.dump(), "B/terrascope.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("B/terrascope.json: ", 0), 0u) << what;
    for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
  }
}

TEST(Manifest, ValidManifestParses) {
  Manifest m = parse_manifest(valid_manifest().dump(), "B/terrascope.json");
  EXPECT_EQ(m.llm.hidden, 64);
  EXPECT_EQ(m.llm.cache_shape, (Shape{2, 2, 2, 1024, 16}));
  EXPECT_EQ(m.vision.tokens_per_tile, 4);
  EXPECT_EQ(m.tokens.stop.size(), 2u);
  EXPECT_EQ(m.preprocess.mean[1], 0.456);
  EXPECT_EQ(m.policies.region_cap, 8);
  EXPECT_EQ(m.modules.at("llm").methods.at("forward").inputs[2], (Shape{2, 2, 2, 1024, 16}));
  EXPECT_EQ(m.max_seg_rounds, 20);
}

TEST(Manifest, NotJsonIsAnError) {
  try {
    parse_manifest("{ not json", "B/terrascope.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("B/terrascope.json: not valid JSON"), std::string::npos);
  }
}

TEST(Manifest, UnknownSchemaVersionIsAnError) {
  json m = valid_manifest();
  m["schema_version"] = 2;
  expect_error(m, {"schema_version", "is 2", "reads 1"});
}

TEST(Manifest, MissingFieldIsNamed) {
  json m = valid_manifest();
  m["architecture"]["llm"].erase("hidden");
  expect_error(m, {"'architecture.llm.hidden'", "missing"});
}

TEST(Manifest, WrongTypeIsNamed) {
  json m = valid_manifest();
  m["preprocess"]["use_thumbnail"] = "yes";
  expect_error(m, {"'preprocess.use_thumbnail'", "true or false"});
}

TEST(Manifest, UnknownDtypeIsAnError) {
  json m = valid_manifest();
  m["dtype"] = "int8";
  expect_error(m, {"'dtype'", "int8"});
}

TEST(Manifest, MalformedSha256IsAnError) {
  json m = valid_manifest();
  m["modules"]["llm"]["sha256"] = "ABC";
  expect_error(m, {"'modules.llm.sha256'", "hex"});
}

TEST(Manifest, MissingModuleIsNamed) {
  json m = valid_manifest();
  m["modules"].erase("sam_decoder");
  expect_error(m, {"'modules.sam_decoder'", "missing"});
}

TEST(Manifest, MissingMethodIsNamed) {
  json m = valid_manifest();
  m["modules"]["llm"]["methods"].erase("embed");
  expect_error(m, {"'modules.llm.methods.embed'", "missing"});
}

TEST(Manifest, MethodShapeAgainstArchitectureIsChecked) {
  json m = valid_manifest();
  m["modules"]["vision"]["methods"]["forward"]["outputs"][0] = {-1, 5, 64};
  expect_error(m, {"'modules.vision.methods.forward.outputs[0]'", "[-1,5,64]", "[-1,4,64]"});
}

TEST(Manifest, CacheShapeMustFollowLayersAndHeads) {
  json m = valid_manifest();
  m["architecture"]["llm"]["cache_shape"] = {3, 2, 2, 1024, 16};
  expect_error(m, {"'architecture.llm.cache_shape'", "[3,2,2,1024,16]"});
}

TEST(Manifest, TokensPerTileMustFollowPatchGrid) {
  json m = valid_manifest();
  m["architecture"]["vision"]["tokens_per_tile"] = 9;
  expect_error(m, {"'architecture.vision.tokens_per_tile'", "is 9"});
}

TEST(Manifest, SamSizesMustAgree) {
  json m = valid_manifest();
  m["preprocess"]["sam_image_size"] = 1024;
  expect_error(m, {"'preprocess.sam_image_size'"});
}

TEST(Manifest, SegProjMustMatchLlmAndSam) {
  json m = valid_manifest();
  m["architecture"]["seg_proj"]["out"] = 16;
  expect_error(m, {"'architecture.seg_proj.out'"});
}

TEST(Manifest, UnknownPolicyIsAnError) {
  json m = valid_manifest();
  m["policies"]["region_selection"] = "fancy";
  expect_error(m, {"policies", "fancy"});
}

TEST(Manifest, TemplateNeedsInputSlot) {
  json m = valid_manifest();
  m["prompt"]["template"] = "<|im_start|>user\n";
  expect_error(m, {"'prompt.template'", "{input}"});
}

TEST(Manifest, EmptyStopListIsAnError) {
  json m = valid_manifest();
  m["tokens"]["stop"] = json::array();
  expect_error(m, {"'tokens.stop'"});
}

TEST(Manifest, TorchRequirementIsParsed) {
  json m = valid_manifest();
  m["requires"] = {{"torch", ">=2.1"}};
  EXPECT_EQ(parse_manifest(m.dump(), "B/terrascope.json").requires_torch, (std::vector<int>{2, 1}));
  m["requires"] = {{"torch", ">=1.13.1"}};
  EXPECT_EQ(parse_manifest(m.dump(), "B/terrascope.json").requires_torch,
            (std::vector<int>{1, 13, 1}));
}

TEST(Manifest, MalformedTorchRequirementIsAnError) {
  for (const char* spec : {"~2.1", ">=2", ">=2.x", "2.1", ">=2..1"}) {
    json m = valid_manifest();
    m["requires"] = {{"torch", spec}};
    expect_error(m, {"'requires.torch'", spec});
  }
}

}  // namespace
}  // namespace terrascope
