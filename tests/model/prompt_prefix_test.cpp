// The shared prompt prefix (instruction + image blocks) whose KV cache a Session keeps from its
// first question and copies into later questions' caches (issue 7): answers must be those of a
// fresh session, for another question on the same scene, and after the scene changes.
#include <gtest/gtest.h>

#include "terrascope/model.h"
#include "tiny_bundle_fixture.h"

namespace terrascope {
namespace {

class PromptPrefix : public testdata::TinyBundleTest {
 protected:
  void SetUp() override {
    TinyBundleTest::SetUp();
    if (HasFatalFailure()) return;
    params_.max_new_tokens = 40;
    params_.keep_logits = 4;
  }

  Answer fresh_answer(const RgbImage& image, const Question& q) {
    Session session(model_);
    session.set_images({image});
    return session.ask(q, params_);
  }

  static void expect_same(const Answer& got, const Answer& want) {
    EXPECT_EQ(got.prompt_ids, want.prompt_ids);
    EXPECT_EQ(got.output_ids, want.output_ids);
    EXPECT_EQ(got.text, want.text);
    ASSERT_EQ(got.segs.size(), want.segs.size());
    for (size_t i = 0; i < got.segs.size(); ++i) {
      EXPECT_TRUE(got.segs[i].frame_masks[0].pixels == want.segs[i].frame_masks[0].pixels)
          << "mask of [SEG] " << i;
      EXPECT_EQ(got.segs[i].region_indices, want.segs[i].region_indices);
    }
    ASSERT_EQ(got.logits.size(), want.logits.size());
    for (size_t i = 0; i < got.logits.size(); ++i) {
      double err = 0, ref = 0;
      for (size_t k = 0; k < got.logits[i].size(); ++k) {
        const double d = static_cast<double>(got.logits[i][k]) - want.logits[i][k];
        err += d * d;
        ref += static_cast<double>(want.logits[i][k]) * want.logits[i][k];
      }
      EXPECT_LT(err / ref, 1e-10) << "logits of chosen token " << i;
    }
  }
};

TEST_F(PromptPrefix, OtherQuestionOnTheSameSceneAnswersAsAFreshSession) {
  const Question first{"What share of the scene is covered by water?",
                       {"less than 10%", "more than 60%"}};
  const Question second{"Where are the built-up areas?", {}};
  Session session(model_);
  session.set_images({image_});
  session.ask(first, params_);
  const Answer reused = session.ask(second, params_);
  expect_same(reused, fresh_answer(image_, second));
  // And a third question, back to the first, from the same kept prefix.
  expect_same(session.ask(first, params_), fresh_answer(image_, first));
}

TEST_F(PromptPrefix, NewImagesDropTheKeptPrefix) {
  const Question q{"Where is the water?", {}};
  RgbImage other = image_;
  for (size_t i = 0; i < other.pixels.size(); i += 3)
    std::swap(other.pixels[i], other.pixels[i + 2]);
  Session session(model_);
  session.set_images({image_});
  session.ask(q, params_);
  session.set_images({other});  // same size, same prompt ids, different vision rows
  expect_same(session.ask(q, params_), fresh_answer(other, q));
}

}  // namespace
}  // namespace terrascope
