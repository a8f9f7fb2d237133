// Hostile questions (issue 8): empty, longer than the context, invalid UTF-8, NUL bytes, and text
// spelling every added token of the tokenizer. User text must never become a control token, and
// nothing may crash. (session_test.cpp's UserTextNeverBecomesControlTokens covers five tokens;
// this covers every added token, in the question and in the options.)
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "model/tokenizer.h"
#include "terrascope/error.h"
#include "terrascope/model.h"
#include "tiny_bundle_fixture.h"

namespace terrascope {
namespace {

class HostileQuestion : public testdata::TinyBundleTest {
 protected:
  void SetUp() override {
    TinyBundleTest::SetUp();
    if (HasFatalFailure()) return;
    params_.max_new_tokens = 4;
  }
  // How often each added (control) token occurs in `ids`.
  std::map<int32_t, int> added_counts(const std::vector<int32_t>& ids) const {
    std::map<int32_t, int> counts;
    for (int32_t id : ids) {
      if (tokenizer_->is_added_token(id)) ++counts[id];
    }
    return counts;
  }
};

TEST_F(HostileQuestion, EveryAddedTokenInUserTextStaysText) {
  std::string all;
  std::vector<std::string> options;
  for (int32_t id = 0; id < tokenizer_->vocab_size(); ++id) {
    if (!tokenizer_->is_added_token(id)) continue;
    all += tokenizer_->id_to_token(id) + " ";
    options.push_back(tokenizer_->id_to_token(id));
  }
  ASSERT_GE(options.size(), 10u);  // the TerraScope tokens and Qwen2's chat tokens
  if (options.size() > 26) options.resize(26);
  Session session(model_);
  session.set_images({image_});
  // The control tokens of the prompt come from the template and the image block only, so a
  // hostile question has exactly those of a harmless one.
  const auto harmless = added_counts(session.prompt_ids({"x", {"a", "b"}}, params_));
  const auto hostile = added_counts(session.prompt_ids({all, options}, params_));
  EXPECT_EQ(hostile, harmless);
  EXPECT_NO_THROW(session.ask({all, options}, params_));
}

TEST_F(HostileQuestion, EmptyQuestionIsAnsweredNotACrash) {
  Session session(model_);
  session.set_images({image_});
  const auto ids = session.prompt_ids({"", {}}, params_);
  const int32_t img_context = *tokenizer_->token_to_id("<IMG_CONTEXT>");
  const auto harmless = session.prompt_ids({"x", {}}, params_);
  // The image block is all there (every tile), as for any question.
  EXPECT_GT(std::count(ids.begin(), ids.end(), img_context), 0);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), img_context),
            std::count(harmless.begin(), harmless.end(), img_context));
  EXPECT_LT(ids.size(), harmless.size());
  EXPECT_NO_THROW(session.ask({"", {}}, params_));
}

TEST_F(HostileQuestion, QuestionBeyondTheContextIsAClearErrorAndTheSessionGoesOn) {
  Session session(model_);
  session.set_images({image_});
  std::string long_text;
  while (long_text.size() < 60000) long_text += "How much of the scene is water? ";
  ASSERT_GT(session.prompt_ids({long_text, {}}, params_).size(),
            static_cast<size_t>(model_->info().cache_length));
  try {
    session.ask({long_text, {}}, params_);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exceed the KV cache"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  // The failed question left the session usable.
  EXPECT_NO_THROW(session.ask({"Is there water?", {"yes", "no"}}, params_));
}

TEST_F(HostileQuestion, InvalidUtf8AndNulBytesAreReplacedNotFatal) {
  Session session(model_);
  session.set_images({image_});
  const char kBad[] = "water \xFF\xFE \xC3 \xED\xA0\x80 a\0b \xF4\x90\x80\x80";
  const std::string bad(kBad, sizeof(kBad) - 1);
  const auto ids = session.prompt_ids({bad, {"\xC0\xAF", "ok"}}, params_);
  const std::string prompt = tokenizer_->decode(ids);
  EXPECT_NE(prompt.find("water \xEF\xBF\xBD"), std::string::npos);  // U+FFFD replaces 0xFF
  EXPECT_NE(prompt.find(std::string("a\0b", 3)), std::string::npos);
  EXPECT_EQ(added_counts(ids), added_counts(session.prompt_ids({"x", {"a", "b"}}, params_)));
  EXPECT_NO_THROW(session.ask({bad, {}}, params_));
}

}  // namespace
}  // namespace terrascope
