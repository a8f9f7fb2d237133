// The sampler against the Python reference's Sampler (tools/terrascope_ref/sampling.py): the same
// logits, settings and seed must draw the same ids (data: tools/testdata_engine_fixtures.py).
#include "model/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine_test_data.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

nlohmann::json load_cases() {
  std::ifstream in(testdata::dir() + "/engine/sampling_cases.json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

TEST(Sampling, SplitMix64MatchesReference) {
  nlohmann::json data = load_cases();
  ASSERT_FALSE(data.is_null()) << testdata::how_to_make();
  const auto& sm = data["splitmix64"];
  SplitMix64 rng(std::stoull(sm["seed"].get<std::string>()));
  for (const auto& v : sm["u64"]) EXPECT_EQ(rng.next_u64(), std::stoull(v.get<std::string>()));
  EXPECT_EQ(SplitMix64(0).uniform(), sm["uniform_seed0"][0].get<double>());
}

TEST(Sampling, SeededDrawsMatchReference) {
  nlohmann::json data = load_cases();
  ASSERT_FALSE(data.is_null()) << testdata::how_to_make();
  ASSERT_GE(data["cases"].size(), 8u);
  for (const auto& c : data["cases"]) {
    Sampling s;
    s.temperature = c["temperature"];
    s.top_k = c["top_k"];
    s.top_p = c["top_p"];
    s.seed = std::stoull(c["seed"].get<std::string>());
    SCOPED_TRACE("temperature " + std::to_string(s.temperature) + " top_k " +
                 std::to_string(s.top_k) + " top_p " + std::to_string(s.top_p));
    TokenSampler sampler(s);
    const auto& rows = c["logits"];
    const auto& ids = c["ids"];
    ASSERT_EQ(rows.size(), ids.size());
    for (size_t d = 0; d < rows.size(); ++d) {
      std::vector<float> logits;
      for (const auto& v : rows[d]) logits.push_back(static_cast<float>(v.get<double>()));
      EXPECT_EQ(sampler.choose(logits.data(), static_cast<int64_t>(logits.size())),
                ids[d].get<int32_t>())
          << "draw " << d;
    }
  }
}

TEST(Sampling, GreedyTakesLowestIdAmongTies) {
  TokenSampler greedy(Sampling{});
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(greedy.choose(logits.data(), 4), 1);
}

TEST(Sampling, GreedyTreatsNanAsLargestLikeTorchArgmax) {
  TokenSampler greedy(Sampling{});
  const std::vector<float> logits = {0.5f, 9.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  EXPECT_EQ(greedy.choose(logits.data(), 4), 2);
}

TEST(Sampling, TopKOfOneIsGreedy) {
  Sampling s;
  s.temperature = 5.0;
  s.top_k = 1;
  s.seed = 3;
  TokenSampler sampler(s);
  const std::vector<float> logits = {0.1f, 0.3f, 0.2f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.choose(logits.data(), 3), 1);
}

TEST(Sampling, RejectsBadSettings) {
  Sampling negative;
  negative.temperature = -1.0;
  EXPECT_THROW(TokenSampler{negative}, Error);
  Sampling top_p;
  top_p.top_p = 0.0;
  EXPECT_THROW(TokenSampler{top_p}, Error);
  top_p.top_p = 1.5;
  EXPECT_THROW(TokenSampler{top_p}, Error);
  Sampling top_k;
  top_k.top_k = -2;
  EXPECT_THROW(TokenSampler{top_k}, Error);
}

}  // namespace
}  // namespace terrascope
