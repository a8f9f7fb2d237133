// Parity with the Python reference loop (tools/terrascope_ref/loop.py) on the tiny bundle: the
// golden cases of tools/make_golden.py must come out identically — prompt ids, output ids, text,
// stop reason, every mask byte for byte, region indices, frames — and the logits of the first
// chosen tokens within NMSE 1e-6. Missing golden files fail (never skip): make them with
// scripts/make_testdata.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine_test_data.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

using nlohmann::json;

class Parity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string cases_path = testdata::tiny_golden() + "/cases.json";
    std::ifstream in(cases_path);
    if (!in || !std::filesystem::exists(testdata::tiny_bundle() + "/terrascope.json")) return;
    cases_ = new json(json::parse(in));
    model_ = new std::shared_ptr<const Model>(Model::load(testdata::tiny_bundle()));
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete model_;
    cases_ = nullptr;
    model_ = nullptr;
  }

  // Runs the named golden case through the engine and compares everything.
  void check_case(const std::string& name) {
    ASSERT_TRUE(cases_ && model_) << testdata::how_to_make();
    const json* found = nullptr;
    for (const json& c : *cases_) {
      if (c["name"] == name) found = &c;
    }
    ASSERT_NE(found, nullptr) << "no case '" << name << "' in " << testdata::tiny_golden()
                              << "/cases.json; " << testdata::how_to_make();
    check(*found);
  }

  void check(const json& c) {
    const std::string name = c["name"];
    SCOPED_TRACE("case " + name);
    const std::string g = testdata::tiny_golden() + "/";
    std::vector<RgbImage> frames;
    for (const json& file : c["images"]) {
      RgbImage image;
      ASSERT_TRUE(testdata::read_rgb(g + file.get<std::string>(), image)) << file;
      frames.push_back(image);
    }
    std::optional<RgbImage> sar;
    if (!c["sar"].is_null()) {
      RgbImage image;
      ASSERT_TRUE(testdata::read_rgb(g + c["sar"].get<std::string>(), image));
      sar = image;
    }
    Question question{c["question"].get<std::string>(), {}};
    char key = 'A';
    for (auto it = c["options"].begin(); it != c["options"].end(); ++it, ++key) {
      ASSERT_EQ(it.key(), std::string(1, key)) << "options must be keyed A, B, ...";
      question.options.push_back(it.value().get<std::string>());
    }
    AskParams params = (*model_)->default_params();
    const json& pol = c["policies"];
    params.policies.region_cap = pol["region_cap"];
    params.policies.region_selection = pol["region_selection"];
    params.policies.frame_choice = pol["frame_choice"];
    params.policies.sar_fusion = pol["sar_fusion"];
    params.max_new_tokens = c["max_new_tokens"];
    params.sampling.temperature = c["sampling"].value("temperature", 0.0);
    params.keep_logits = 8;

    Session session(*model_);
    session.set_images(frames, sar);
    Answer answer = session.ask(question, params);

    EXPECT_EQ(answer.prompt_ids, c["prompt_ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(answer.output_ids, c["output_ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(answer.text, c["text"].get<std::string>());
    EXPECT_EQ(stop_reason_name(answer.stop), c["stop_reason"].get<std::string>());
    ASSERT_EQ(answer.segs.size(), c["segs"].size());
    for (size_t s = 0; s < answer.segs.size(); ++s) {
      SCOPED_TRACE("[SEG] " + std::to_string(s));
      const json& want = c["segs"][s];
      const SegResult& got = answer.segs[s];
      EXPECT_EQ(got.region_indices, want["region_indices"].get<std::vector<int64_t>>());
      EXPECT_EQ(got.frame, want["frame"].get<int>());
      EXPECT_EQ(got.modality, want["modality"].get<std::string>());
      ASSERT_EQ(got.frame_masks.size(), want["masks"].size());
      for (size_t f = 0; f < got.frame_masks.size(); ++f) {
        GrayImage mask;
        ASSERT_TRUE(testdata::read_mask(g + want["masks"][f].get<std::string>(), mask));
        EXPECT_EQ(got.frame_masks[f].width, mask.width);
        EXPECT_EQ(got.frame_masks[f].height, mask.height);
        EXPECT_TRUE(got.frame_masks[f].pixels == mask.pixels)
            << "mask of frame " << f << " differs";
      }
    }
    std::vector<std::vector<float>> logits;
    ASSERT_TRUE(testdata::read_logits(g + c["first_logits"].get<std::string>(), logits));
    ASSERT_GE(answer.logits.size(), logits.size());
    for (size_t i = 0; i < logits.size(); ++i) {
      ASSERT_EQ(answer.logits[i].size(), logits[i].size());
      double err = 0, ref = 0;
      for (size_t k = 0; k < logits[i].size(); ++k) {
        const double d = static_cast<double>(answer.logits[i][k]) - logits[i][k];
        err += d * d;
        ref += static_cast<double>(logits[i][k]) * logits[i][k];
      }
      EXPECT_LT(err / ref, 1e-6) << "logits of chosen token " << i;
    }
  }

  static json* cases_;
  static std::shared_ptr<const Model>* model_;
};

json* Parity::cases_ = nullptr;
std::shared_ptr<const Model>* Parity::model_ = nullptr;

TEST_F(Parity, SingleImageReleasePolicy) {
  check_case("single_release");
}
TEST_F(Parity, SingleImagePaperPolicy) {
  check_case("single_paper");
}
TEST_F(Parity, SarReleaseFusion) {
  check_case("sar_release");
}
TEST_F(Parity, SarAdaptiveFusion) {
  check_case("sar_adaptive");
}
TEST_F(Parity, SeriesReleaseFrameChoice) {
  check_case("series_release");
}
TEST_F(Parity, SeriesIndicatorFrameChoice) {
  check_case("series_indicator");
}

// Every case in cases.json, including any added later.
TEST_F(Parity, EveryGoldenCase) {
  ASSERT_TRUE(cases_ && model_) << testdata::how_to_make();
  ASSERT_FALSE(cases_->empty());
  for (const json& c : *cases_) check(c);
}

}  // namespace
}  // namespace terrascope
