// The loop's stop conditions, cancellation and callbacks on the tiny bundle. Expectations come
// from an unlimited run of the same question: a limited run must be its exact prefix, cut where the
// release's rules say.
#include "model/generate.h"

#include "model/seg_round.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine_test_data.h"
#include "model/seg_round.h"
#include "model/tokenizer.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

const Question kQuestion{"What share of the scene is covered by water?",
                         {"less than 10%", "10% to 30%", "30% to 60%", "more than 60%"}};

class Generate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RgbImage image;
    if (!testdata::golden_single_image(image)) return;
    model_ = new std::shared_ptr<const Model>(Model::load(testdata::tiny_bundle()));
    image_ = new RgbImage(image);
    AskParams params = (*model_)->default_params();
    params.max_new_tokens = 60;
    reference_ = new Answer(ask(params));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete image_;
    delete reference_;
    model_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(model_) << testdata::how_to_make(); }

  static Answer ask(const AskParams& params) {
    Session session(*model_);
    session.set_images({*image_});
    return session.ask(kQuestion, params);
  }
  static AskParams params() { return (*model_)->default_params(); }
  static int32_t seg_id() {
    return Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json")
        .token_to_id("[SEG]")
        .value();
  }
  static int32_t region_id() {
    return Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json")
        .token_to_id("<REGION>")
        .value();
  }

  static void expect_prefix(const std::vector<int32_t>& got) {
    ASSERT_LE(got.size(), reference_->output_ids.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), reference_->output_ids.begin()));
  }

  static std::shared_ptr<const Model>* model_;
  static RgbImage* image_;
  static Answer* reference_;
};

std::shared_ptr<const Model>* Generate::model_ = nullptr;
RgbImage* Generate::image_ = nullptr;
Answer* Generate::reference_ = nullptr;

TEST_F(Generate, ReferenceRunExercisesSegAndText) {
  // The other tests rely on the reference run holding [SEG] rounds and plain text tokens.
  EXPECT_GE(reference_->segs.size(), 2u);
  EXPECT_EQ(reference_->stop, StopReason::kMaxNewTokens);
}

TEST_F(Generate, MaxNewTokensStopsAfterFirstPlainTokenAtTheLimit) {
  for (int limit : {1, 3, 10, 12, 25}) {
    AskParams p = params();
    p.max_new_tokens = limit;
    Answer a = ask(p);
    SCOPED_TRACE("limit " + std::to_string(limit));
    // Release: checked only after a fed token that is not [SEG] (region ids count).
    size_t expected = 0;
    const auto& ref = reference_->output_ids;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (ref[i] == region_id()) continue;
      if (ref[i] != seg_id() && static_cast<int>(i + 1) >= limit) {
        expected = i + 1;
        break;
      }
    }
    ASSERT_GT(expected, 0u);
    EXPECT_EQ(a.stop, StopReason::kMaxNewTokens);
    EXPECT_EQ(a.output_ids.size(), expected);
    expect_prefix(a.output_ids);
  }
}

TEST_F(Generate, MaxSegRoundsEndsRightAfterTheRegionFeed) {
  AskParams p = params();
  p.max_new_tokens = 60;
  p.max_seg_rounds = 2;
  Answer a = ask(p);
  EXPECT_EQ(a.stop, StopReason::kMaxSegRounds);
  ASSERT_EQ(a.segs.size(), 2u);
  EXPECT_EQ(a.output_ids.back(), region_id());
  expect_prefix(a.output_ids);
  EXPECT_EQ(a.segs[1].region_indices, reference_->segs[1].region_indices);
}

TEST_F(Generate, StopTokenEndsGenerationAfterFeedingIt) {
  // Make the first plain text token of the reference run a stop token.
  const Tokenizer tokenizer = Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json");
  size_t at = 0;
  while (at < reference_->output_ids.size() &&
         (reference_->output_ids[at] == seg_id() || reference_->output_ids[at] == region_id())) {
    ++at;
  }
  ASSERT_LT(at, reference_->output_ids.size());
  const int32_t stop = reference_->output_ids[at];
  const std::string dir = ::testing::TempDir() + "/generate_stop_bundle";
  ASSERT_TRUE(testdata::copy_tiny_bundle(dir));
  testdata::edit_manifest(
      dir, [&](nlohmann::json& m) { m["tokens"]["stop"] = {tokenizer.id_to_token(stop)}; });
  auto model = Model::load(dir);
  Session session(model);
  session.set_images({*image_});
  AskParams p = model->default_params();
  p.max_new_tokens = 60;
  Answer a = session.ask(kQuestion, p);
  EXPECT_EQ(a.stop, StopReason::kStopToken);
  EXPECT_EQ(a.output_ids.size(), at + 1);
  EXPECT_EQ(a.output_ids.back(), stop);
  expect_prefix(a.output_ids);
  std::filesystem::remove_all(dir);
}

TEST_F(Generate, AbortCallbackStopsWithinOneStep) {
  AskParams p = params();
  p.max_new_tokens = 60;
  int seen = 0;
  p.on_progress = [&](const Progress& progress) { seen = progress.new_tokens; };
  p.should_abort = [&] { return seen >= 12; };
  Answer a = ask(p);
  EXPECT_EQ(a.stop, StopReason::kAborted);
  EXPECT_EQ(static_cast<int>(a.output_ids.size()), seen);
  EXPECT_GE(seen, 12);
  EXPECT_LT(a.output_ids.size(), reference_->output_ids.size());
  expect_prefix(a.output_ids);
}

TEST_F(Generate, AbortBeforePrefillProducesNothing) {
  AskParams p = params();
  p.should_abort = [] { return true; };
  Answer a = ask(p);
  EXPECT_EQ(a.stop, StopReason::kAborted);
  EXPECT_TRUE(a.output_ids.empty());
  EXPECT_TRUE(a.text.empty());
}

TEST_F(Generate, StreamedPiecesConcatenateToTheDecodedOutput) {
  AskParams p = params();
  p.max_new_tokens = 60;
  std::string streamed;
  int pieces = 0;
  p.on_text = [&](const std::string& piece) {
    streamed += piece;
    ++pieces;
  };
  Answer a = ask(p);
  const Tokenizer tokenizer = Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json");
  EXPECT_EQ(streamed, tokenizer.decode(a.output_ids));
  EXPECT_EQ(strip_text(streamed), a.text);
  EXPECT_GT(pieces, 1);
}

TEST_F(Generate, MaskCallbackReportsEachRoundInOrder) {
  AskParams p = params();
  p.max_new_tokens = 60;
  std::vector<int> indices;
  std::vector<SegResult> segs;
  p.on_mask = [&](const SegResult& seg, int index) {
    indices.push_back(index);
    segs.push_back(seg);
  };
  Answer a = ask(p);
  ASSERT_EQ(segs.size(), a.segs.size());
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_EQ(indices[i], static_cast<int>(i));
    EXPECT_EQ(segs[i].region_indices, a.segs[i].region_indices);
    EXPECT_TRUE(segs[i].frame_masks[0].pixels == a.segs[i].frame_masks[0].pixels);
    EXPECT_EQ(segs[i].frame_masks[0].width, image_->width);
    EXPECT_EQ(segs[i].frame_masks[0].height, image_->height);
  }
}

TEST_F(Generate, ProgressCountsUpToTheOutput) {
  AskParams p = params();
  p.max_new_tokens = 30;
  std::vector<int> counts;
  p.on_progress = [&](const Progress& progress) {
    counts.push_back(progress.new_tokens);
    EXPECT_EQ(progress.max_new_tokens, 30);
  };
  Answer a = ask(p);
  ASSERT_FALSE(counts.empty());
  EXPECT_TRUE(std::is_sorted(counts.begin(), counts.end()));
  EXPECT_EQ(counts.back(), static_cast<int>(a.output_ids.size()));
}

TEST_F(Generate, FullCacheStopsWithWhatWasGenerated) {
  const std::string dir = ::testing::TempDir() + "/generate_small_cache";
  ASSERT_TRUE(testdata::copy_tiny_bundle(dir));
  const int64_t length = static_cast<int64_t>(reference_->prompt_ids.size()) + 5;
  testdata::edit_manifest(dir, [&](nlohmann::json& m) {
    m["architecture"]["llm"]["cache_shape"][3] = length;
    m["modules"]["llm"]["methods"]["forward"]["inputs"][2][3] = length;
  });
  auto model = Model::load(dir);
  Session session(model);
  session.set_images({*image_});
  AskParams p = model->default_params();
  p.max_new_tokens = 60;
  Answer a = session.ask(kQuestion, p);
  EXPECT_EQ(a.stop, StopReason::kContextFull);
  EXPECT_LE(a.prompt_ids.size() + a.output_ids.size(), static_cast<size_t>(length));
  std::filesystem::remove_all(dir);
}

TEST_F(Generate, PromptLongerThanCacheIsAnError) {
  const std::string dir = ::testing::TempDir() + "/generate_tiny_cache";
  ASSERT_TRUE(testdata::copy_tiny_bundle(dir));
  testdata::edit_manifest(dir, [&](nlohmann::json& m) {
    m["architecture"]["llm"]["cache_shape"][3] = 16;
    m["modules"]["llm"]["methods"]["forward"]["inputs"][2][3] = 16;
  });
  auto model = Model::load(dir);
  Session session(model);
  session.set_images({*image_});
  try {
    session.ask(kQuestion, model->default_params());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the KV cache of 16"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST_F(Generate, UnknownPolicyIsAnError) {
  AskParams p = params();
  p.policies.frame_choice = "random";
  EXPECT_THROW(ask(p), Error);
  p = params();
  p.policies.region_cap = 0;
  EXPECT_THROW(ask(p), Error);
}

TEST_F(Generate, SeededSamplingIsReproducible) {
  AskParams p = params();
  p.max_new_tokens = 20;
  p.sampling.temperature = 1.0;
  p.sampling.seed = 17;
  Answer first = ask(p);
  Answer second = ask(p);
  EXPECT_EQ(first.output_ids, second.output_ids);
}

TEST(FramePolicy, IndicatorFrameIsTheLastNamedFrame) {
  EXPECT_EQ(frame_from_indicators("Image: t2 shows fields. Image:  t1 shows", 3), 0);
  EXPECT_EQ(frame_from_indicators("look at Image: t2[SEG]", 3), 1);
  EXPECT_EQ(frame_from_indicators("Image:\nt3", 3), 2);
  EXPECT_EQ(frame_from_indicators("Image: t7", 2), 1);  // clamped to the last frame
  EXPECT_EQ(frame_from_indicators("Image: t0", 2), 0);
  EXPECT_EQ(frame_from_indicators("no indicator, Image: x2, image: t2", 2), 0);
  EXPECT_EQ(frame_from_indicators("Image: t2 then Image: t", 2),
            1);  // an incomplete one is skipped
}

TEST(SarFusion, ConcatFeedsOpticalThenSarRows) {
  // The first [SEG] of the golden sar_release case comes before any region feed, so with concat
  // its optical rows are the release's, followed by the same positions in the SAR block.
  std::ifstream in(testdata::tiny_golden() + "/cases.json");
  ASSERT_TRUE(in) << testdata::how_to_make();
  const nlohmann::json cases = nlohmann::json::parse(in);
  const nlohmann::json* release = nullptr;
  for (const auto& c : cases) {
    if (c["name"] == "sar_release") release = &c;
  }
  ASSERT_NE(release, nullptr);
  RgbImage optical, sar;
  ASSERT_TRUE(testdata::read_rgb(
      testdata::tiny_golden() + "/" + (*release)["images"][0].get<std::string>(), optical));
  ASSERT_TRUE(testdata::read_rgb(
      testdata::tiny_golden() + "/" + (*release)["sar"].get<std::string>(), sar));
  auto model = Model::load(testdata::tiny_bundle());
  Session session(model);
  session.set_images({optical}, sar);
  AskParams p = model->default_params();
  p.policies.sar_fusion = "concat";
  p.max_new_tokens = 20;
  Answer a = session.ask({(*release)["question"].get<std::string>(), {}}, p);
  ASSERT_FALSE(a.segs.empty());
  const auto opt = (*release)["segs"][0]["region_indices"].get<std::vector<int64_t>>();
  std::vector<int64_t> expected = opt;
  for (int64_t i : opt) expected.push_back(i + model->info().tokens_per_tile);
  EXPECT_EQ(a.segs[0].region_indices, expected);
  EXPECT_EQ(a.segs[0].modality, "both");
  const int32_t region = Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json")
                             .token_to_id("<REGION>")
                             .value();
  const int32_t seg = Tokenizer::from_file(testdata::tiny_bundle() + "/tokenizer.json")
                          .token_to_id("[SEG]")
                          .value();
  const auto at = std::find(a.output_ids.begin(), a.output_ids.end(), seg) - a.output_ids.begin();
  ASSERT_LE(at + 1 + static_cast<long>(expected.size()), static_cast<long>(a.output_ids.size()));
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(a.output_ids[at + 1 + k], region);
}

}  // namespace
}  // namespace terrascope
