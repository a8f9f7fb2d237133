// Loading a bundle: the tiny bundle loads; every way a bundle can be wrong is an Error naming the
// file and the problem, and no TorchScript is loaded before its sha256 matched.
#include "model/bundle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine_test_data.h"
#include "model/sha256.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

namespace fs = std::filesystem;

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/bundle_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(testdata::copy_tiny_bundle(dir_)) << testdata::how_to_make();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Model::load(dir_) must fail with a message holding every one of `parts`.
  void expect_load_error(const std::vector<std::string>& parts, const std::string& dir = "") {
    try {
      Model::load(dir.empty() ? dir_ : dir);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      const std::string what = e.what();
      for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }

  void overwrite(const std::string& name, const std::string& content) {
    std::ofstream out(dir_ + "/" + name, std::ios::binary | std::ios::trunc);
    out << content;
  }

  std::string dir_;
};

TEST_F(BundleTest, TinyBundleLoads) {
  auto model = Model::load(dir_);
  const ModelInfo info = model->info();
  EXPECT_EQ(info.name, "terrascope-tiny-random-s0");
  EXPECT_EQ(info.device, "cpu");
  EXPECT_EQ(info.dtype, "fp32");
  EXPECT_GT(info.tokens_per_tile, 0);
  const AskParams params = model->default_params();
  EXPECT_EQ(params.policies.region_cap, 8);
  EXPECT_EQ(params.policies.region_selection, "release");
}

TEST_F(BundleTest, NotADirectoryIsAnError) {
  expect_load_error({dir_ + "/nowhere", "not a bundle directory"}, dir_ + "/nowhere");
}

TEST_F(BundleTest, MissingManifestIsAnError) {
  fs::remove(dir_ + "/terrascope.json");
  expect_load_error({"terrascope.json", "missing"});
}

TEST_F(BundleTest, MissingModuleFileIsNamed) {
  fs::remove(dir_ + "/seg_proj.pt");
  expect_load_error({"seg_proj.pt", "missing", "modules.seg_proj"});
}

TEST_F(BundleTest, Sha256MismatchRefusesBeforeLoadingCode) {
  // Not even TorchScript: had it been loaded first, the error would say so instead.
  overwrite("llm.pt", "import os  # hostile");
  expect_load_error({"llm.pt", "sha256", "does not match", "refusing"});
}

TEST_F(BundleTest, TokenizerSha256MismatchIsNamed) {
  std::ofstream(dir_ + "/tokenizer.json", std::ios::app) << " ";
  expect_load_error({"tokenizer.json", "sha256", "tokenizer.sha256"});
}

TEST_F(BundleTest, UnloadableModuleWithMatchingHashIsNamed) {
  overwrite("seg_proj.pt", "not a zip archive");
  testdata::edit_manifest(dir_, [&](nlohmann::json& m) {
    m["modules"]["seg_proj"]["sha256"] = sha256_file_hex(dir_ + "/seg_proj.pt");
  });
  expect_load_error({"seg_proj.pt", "not a loadable TorchScript module"});
}

TEST_F(BundleTest, AbsolutePathIsRejected) {
  testdata::edit_manifest(dir_,
                          [](nlohmann::json& m) { m["modules"]["llm"]["file"] = "/etc/hostname"; });
  expect_load_error({"terrascope.json", "modules.llm", "/etc/hostname", "absolute"});
}

TEST_F(BundleTest, ParentDirectoryIsRejected) {
  testdata::edit_manifest(
      dir_, [](nlohmann::json& m) { m["modules"]["llm"]["file"] = "sub/../../llm.pt"; });
  expect_load_error({"terrascope.json", "modules.llm", "'..'"});
}

TEST_F(BundleTest, SymlinkOutOfTheBundleIsRejected) {
  const std::string outside = dir_ + ".outside";
  fs::create_directories(outside);
  fs::copy_file(dir_ + "/llm.pt", outside + "/llm.pt", fs::copy_options::overwrite_existing);
  fs::remove(dir_ + "/llm.pt");
  fs::create_symlink(outside + "/llm.pt", dir_ + "/llm.pt");
  expect_load_error({"llm.pt", "outside the bundle directory"});
  fs::remove_all(outside);
}

TEST_F(BundleTest, SymlinkInsideTheBundleIsAccepted) {
  fs::create_directories(dir_ + "/weights");
  fs::rename(dir_ + "/llm.pt", dir_ + "/weights/llm.pt");
  fs::create_symlink("weights/llm.pt", dir_ + "/llm.pt");
  EXPECT_NO_THROW(Model::load(dir_));
}

TEST_F(BundleTest, DirectoryInsteadOfFileIsAnError) {
  fs::create_directories(dir_ + "/adir");
  testdata::edit_manifest(dir_,
                          [](nlohmann::json& m) { m["modules"]["seg_proj"]["file"] = "adir"; });
  expect_load_error({"adir", "not a regular file"});
}

TEST_F(BundleTest, MissingMethodInModuleIsNamed) {
  // seg_proj.pt has `forward` but no `embed`.
  testdata::edit_manifest(dir_, [&](nlohmann::json& m) {
    m["modules"]["llm"]["file"] = "seg_proj.pt";
    m["modules"]["llm"]["sha256"] = m["modules"]["seg_proj"]["sha256"];
  });
  expect_load_error({"seg_proj.pt", "has no method 'embed'", "modules.llm"});
}

TEST_F(BundleTest, SpecialTokenMissingFromTokenizerIsNamed) {
  testdata::edit_manifest(dir_, [](nlohmann::json& m) { m["tokens"]["seg"] = "[NO_SUCH_SEG]"; });
  expect_load_error(
      {"terrascope.json", "'tokens.seg'", "[NO_SUCH_SEG]", "not in the bundle's tokenizer.json"});
}

TEST_F(BundleTest, StopTokenMissingFromTokenizerIsNamed) {
  testdata::edit_manifest(dir_,
                          [](nlohmann::json& m) { m["tokens"]["stop"].push_back("<|nope|>"); });
  expect_load_error({"'tokens.stop'", "<|nope|>"});
}

TEST_F(BundleTest, TokenIdOutsideVocabularyIsAnError) {
  testdata::edit_manifest(dir_, [](nlohmann::json& m) {
    // A smaller vocabulary than the tokenizer's: the added tokens fall outside it.
    m["architecture"]["llm"]["vocab"] = 300;
    m["modules"]["llm"]["methods"]["forward"]["outputs"][0] = {300};
  });
  expect_load_error({"terrascope.json", "outside the LLM vocabulary (300)"});
}

TEST_F(BundleTest, InconsistentManifestShapeIsNamed) {
  testdata::edit_manifest(dir_, [](nlohmann::json& m) {
    m["modules"]["seg_proj"]["methods"]["forward"]["outputs"][0] = {-1, 7};
  });
  expect_load_error({"terrascope.json", "modules.seg_proj.methods.forward.outputs[0]", "[-1,7]"});
}

TEST_F(BundleTest, ModuleFailureAtRunTimeNamesTheFile) {
  // A module whose hash matches but that can not do the job: seg_proj.pt as the vision encoder.
  testdata::edit_manifest(dir_, [&](nlohmann::json& m) {
    m["modules"]["vision"]["file"] = "seg_proj.pt";
    m["modules"]["vision"]["sha256"] = m["modules"]["seg_proj"]["sha256"];
  });
  auto model = Model::load(dir_);
  RgbImage image;
  ASSERT_TRUE(testdata::golden_single_image(image)) << testdata::how_to_make();
  Session session(model);
  session.set_images({image});
  try {
    session.ask({"What is here?", {}}, model->default_params());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seg_proj.pt: forward"), std::string::npos) << e.what();
  }
}

TEST_F(BundleTest, NewerLibtorchRequirementIsRefused) {
  testdata::edit_manifest(dir_, [](nlohmann::json& m) { m["requires"] = {{"torch", ">=99.0"}}; });
  expect_load_error({"terrascope.json", "requires.torch", "libtorch >= 99.0", "built with"});
}

TEST(Device, UnknownDeviceIsAnError) {
  try {
    Model::load(testdata::tiny_bundle(), {"tpu:0", "fp32"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device 'tpu:0'"), std::string::npos) << e.what();
  }
}

TEST(Device, HalfPrecisionNeedsCuda) {
  for (const char* dtype : {"bf16", "fp16"}) {
    try {
      Model::load(testdata::tiny_bundle(), {"cpu", dtype});
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("needs a CUDA device"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, UnknownDtypeIsAnError) {
  EXPECT_THROW(Model::load(testdata::tiny_bundle(), {"cpu", "int4"}), Error);
}

TEST(Device, CudaNeedsACudaBuildAndDevice) {
  // On a CPU-only libtorch (Debian's) "cuda:0" must be refused with a reason; with CUDA it loads.
  try {
    auto model = Model::load(testdata::tiny_bundle(), {"cuda:0", "fp32"});
    EXPECT_EQ(model->info().device, "cuda:0");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device 'cuda:0'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Model::load(testdata::tiny_bundle(), {"cuda:x", "fp32"}), Error);
  EXPECT_THROW(Model::load(testdata::tiny_bundle(), {"cuda:99", "fp32"}), Error);
}

}  // namespace
}  // namespace terrascope
