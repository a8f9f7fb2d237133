// terrascope verify --model DIR (issue 8) through the binary: a good bundle passes (exit 0), every
// hostile bundle fails with exit 1 and ONE line on stderr naming the file or manifest field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "geo/scene_test_support.h"

namespace terrascope {
namespace {

namespace fs = std::filesystem;

struct VerifyRun {
  int exit_code = 0;
  std::string out;
  std::string err;
};

class HostileVerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tiny = std::string(TERRASCOPE_TEST_DATA) + "/bundles/tiny-s0";
    ASSERT_TRUE(fs::exists(tiny + "/terrascope.json"))
        << tiny << " missing: run scripts/make_testdata.sh " << TERRASCOPE_TEST_DATA;
    bundle_ = dir_.file("bundle");
    fs::copy(tiny, bundle_);
  }
  VerifyRun verify(const std::string& extra = "") {
    VerifyRun run;
    const std::string err_file = dir_.file("stderr.txt");
    run.exit_code = test::run_command(std::string(TERRASCOPE_EXE) + " verify --model '" + bundle_ +
                                          "' " + extra + " 2>'" + err_file + "'",
                                      &run.out);
    std::ifstream err(err_file);
    std::stringstream buffer;
    buffer << err.rdbuf();
    run.err = buffer.str();
    return run;
  }
  void edit_manifest(const std::function<void(nlohmann::json&)>& edit) {
    const std::string path = bundle_ + "/terrascope.json";
    nlohmann::json m = nlohmann::json::parse(std::ifstream(path));
    edit(m);
    std::ofstream(path, std::ios::trunc) << m.dump(1);
  }
  void expect_one_line_failure(const std::vector<std::string>& parts) {
    const VerifyRun run = verify();
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(run.out, "");
    ASSERT_FALSE(run.err.empty());
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not one line: " << run.err;
    EXPECT_EQ(run.err.rfind("terrascope: ", 0), 0u) << run.err;
    for (const auto& part : parts) EXPECT_NE(run.err.find(part), std::string::npos) << run.err;
  }

  test::TempDir dir_;
  std::string bundle_;
};

TEST_F(HostileVerifyCli, GoodBundlePasses) {
  const VerifyRun run = verify();
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("OK"), std::string::npos) << run.out;
  const VerifyRun json_run = verify("--json");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const nlohmann::json out = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["name"], "terrascope-tiny-random-s0");
  EXPECT_TRUE(out["modules"].contains("llm"));
}

TEST_F(HostileVerifyCli, TamperedModuleFails) {
  std::ofstream(bundle_ + "/vision.pt", std::ios::binary | std::ios::app) << "payload";
  expect_one_line_failure({"vision.pt", "sha256", "refusing"});
}

TEST_F(HostileVerifyCli, PathLeavingTheBundleFails) {
  edit_manifest([](nlohmann::json& m) { m["modules"]["llm"]["file"] = "../../llm.pt"; });
  expect_one_line_failure({"terrascope.json", "modules.llm", "leaves the bundle"});
}

TEST_F(HostileVerifyCli, InvalidJsonFails) {
  std::ofstream(bundle_ + "/terrascope.json", std::ios::trunc) << "{\n \"schema_version\": 1,\n";
  expect_one_line_failure({"terrascope.json", "not valid JSON"});
}

TEST_F(HostileVerifyCli, UnknownSchemaVersionFails) {
  edit_manifest([](nlohmann::json& m) { m["schema_version"] = 2; });
  expect_one_line_failure({"terrascope.json", "schema_version"});
}

TEST_F(HostileVerifyCli, MissingTokenFails) {
  edit_manifest([](nlohmann::json& m) { m["tokens"]["img_context"] = "<NOPE>"; });
  expect_one_line_failure({"terrascope.json", "tokens.img_context", "<NOPE>"});
}

TEST_F(HostileVerifyCli, MissingDirectoryFails) {
  bundle_ = dir_.file("absent");
  expect_one_line_failure({"absent", "not a bundle directory"});
}

}  // namespace
}  // namespace terrascope
