// Hostile model bundles (issue 8), beyond bundle_test.cpp and manifest_test.cpp: verify_bundle
// (terrascope verify) checks everything but never loads code; every manifest error is one line that
// names the manifest and the field; regressions found by the fuzzers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine_test_data.h"
#include "model/bundle.h"
#include "model/manifest.h"
#include "model/sha256.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

namespace fs = std::filesystem;

class HostileBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/hostile_bundle_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(testdata::copy_tiny_bundle(dir_)) << testdata::how_to_make();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // verify_bundle(dir_) fails with ONE line holding every one of `parts`.
  void expect_verify_error(const std::vector<std::string>& parts) {
    try {
      verify_bundle(dir_);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << "not one line: " << what;
      for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  void write_manifest_text(const std::string& text) {
    std::ofstream(dir_ + "/terrascope.json", std::ios::trunc) << text;
  }
  std::string manifest_text() {
    std::ifstream in(dir_ + "/terrascope.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
};

TEST_F(HostileBundle, VerifyAcceptsTheTinyBundleAndNamesEveryFile) {
  const VerifiedBundle v = verify_bundle(dir_);
  EXPECT_EQ(v.manifest.name, "terrascope-tiny-random-s0");
  for (const char* module : {"vision", "llm", "seg_proj", "sam_encoder", "sam_decoder"}) {
    ASSERT_TRUE(v.module_paths.count(module)) << module;
    EXPECT_EQ(sha256_file_hex(v.module_paths.at(module)), v.manifest.modules.at(module).sha256);
  }
  EXPECT_EQ(v.ids.seg, *v.tokenizer.token_to_id("[SEG]"));
}

// verify never runs the code: a module replaced by garbage whose hash the manifest was updated to
// passes verify (it is what the manifest says) while loading it fails; the hash check is what
// guards against a swapped file, and it comes first.
TEST_F(HostileBundle, VerifyDoesNotLoadTorchScript) {
  std::ofstream(dir_ + "/seg_proj.pt", std::ios::binary | std::ios::trunc) << "not a zip archive";
  const std::string sha = sha256_file_hex(dir_ + "/seg_proj.pt");
  testdata::edit_manifest(dir_,
                          [&](nlohmann::json& m) { m["modules"]["seg_proj"]["sha256"] = sha; });
  EXPECT_NO_THROW(verify_bundle(dir_));
  EXPECT_THROW(Model::load(dir_), Error);
}

TEST_F(HostileBundle, VerifyRefusesASwappedFile) {
  std::ofstream(dir_ + "/llm.pt", std::ios::binary | std::ios::app) << "appended payload";
  expect_verify_error({"llm.pt", "sha256", "modules.llm.sha256"});
}

TEST_F(HostileBundle, VerifyRefusesPathsLeavingTheBundle) {
  testdata::edit_manifest(
      dir_, [](nlohmann::json& m) { m["tokenizer"]["file"] = "../x/tokenizer.json"; });
  expect_verify_error({"terrascope.json", "tokenizer", "leaves the bundle"});
  testdata::edit_manifest(dir_, [](nlohmann::json& m) { m["tokenizer"]["file"] = "/etc/passwd"; });
  expect_verify_error({"terrascope.json", "tokenizer", "absolute path"});
}

TEST_F(HostileBundle, VerifyRefusesASymlinkOutOfTheBundle) {
  const std::string outside = dir_ + "_outside.pt";
  fs::copy_file(dir_ + "/vision.pt", outside, fs::copy_options::overwrite_existing);
  fs::remove(dir_ + "/vision.pt");
  fs::create_symlink(outside, dir_ + "/vision.pt");
  expect_verify_error({"vision.pt", "outside the bundle"});
  fs::remove(outside);
}

TEST_F(HostileBundle, EveryManifestErrorIsOneLineNamingTheField) {
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](nlohmann::json& m) { m["schema_version"] = 99; }, "schema_version"},
      {[](nlohmann::json& m) { m["schema_version"] = "1"; }, "schema_version"},
      {[](nlohmann::json& m) { m["tokens"]["seg"] = "[NOT_A_TOKEN]"; }, "tokens.seg"},
      {[](nlohmann::json& m) { m["tokens"].erase("region"); }, "region"},
      {[](nlohmann::json& m) { m["architecture"]["llm"]["hidden"] = "wide"; }, "hidden"},
      {[](nlohmann::json& m) { m["architecture"]["llm"]["cache_shape"][0] = 7; }, "cache_shape"},
      {[](nlohmann::json& m) { m["modules"]["llm"]["sha256"] = 12; }, "modules.llm.sha256"},
  };
  const std::string original = manifest_text();
  for (const Case& c : cases) {
    write_manifest_text(original);
    testdata::edit_manifest(dir_, c.edit);
    SCOPED_TRACE(c.field);
    expect_verify_error({"terrascope.json", c.field});
  }
}

TEST_F(HostileBundle, InvalidJsonIsOneLine) {
  write_manifest_text("{\"schema_version\": 1,\n \"name\": \"x\",\n oops }");
  expect_verify_error({"terrascope.json", "not valid JSON"});
}

// Fuzzer finding (fuzz_jsonl, then checked here): nlohmann::json throws out_of_range, not
// parse_error, for a number that overflows a double; it escaped the manifest parser as a
// non-terrascope exception.
TEST(HostileManifest, NumberOverflowIsAnErrorNotAStrayException) {
  try {
    parse_manifest("{\"schema_version\": 1e999}", "m/terrascope.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m/terrascope.json: not valid JSON"), std::string::npos)
        << e.what();
  }
}

TEST(HostileManifest, NotAnObjectIsAnError) {
  for (const char* text : {"[]", "null", "", "\"terrascope\"", "{\"schema_version\": 1.5}"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(parse_manifest(text, "m/terrascope.json"), Error);
  }
}

// 2^32 + 1 used to wrap to 1 in the int fields and pass as schema version 1.
TEST_F(HostileBundle, HugeIntegersAreRefusedNotWrapped) {
  const std::string original = manifest_text();
  testdata::edit_manifest(dir_, [](nlohmann::json& m) { m["schema_version"] = 4294967297LL; });
  expect_verify_error({"schema_version", "2147483647"});
  write_manifest_text(original);
  testdata::edit_manifest(
      dir_, [](nlohmann::json& m) { m["generation"]["max_new_tokens"] = 4294967296LL + 64; });
  expect_verify_error({"generation.max_new_tokens"});
}

}  // namespace
}  // namespace terrascope
