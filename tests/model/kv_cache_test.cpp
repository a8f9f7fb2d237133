// The attended cache view (model/kv_cache.h): its length, and that a step of the tiny bundle's
// llm module on the narrowed view gives the same logits, hidden state and cache contents as the
// same step on the whole static cache (the masked slots add exact zeros).
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine_test_data.h"
#include "model/model_impl.h"
#include "terrascope/model.h"

namespace terrascope {
namespace {

TEST(KvCache, AttendedSlotsRoundUpToABucketWithinTheCache) {
  EXPECT_EQ(attended_slots(1, 2048), kCacheSlotBucket);
  EXPECT_EQ(attended_slots(kCacheSlotBucket, 2048), kCacheSlotBucket);
  EXPECT_EQ(attended_slots(kCacheSlotBucket + 1, 2048), 2 * kCacheSlotBucket);
  EXPECT_EQ(attended_slots(317, 2048),
            (317 + kCacheSlotBucket - 1) / kCacheSlotBucket * kCacheSlotBucket);
  EXPECT_EQ(attended_slots(2047, 2048), 2048);
  EXPECT_EQ(attended_slots(2048, 2048), 2048);
  EXPECT_EQ(attended_slots(5, 40), 40);  // a cache shorter than one bucket
}

TEST(KvCache, ViewSharesTheCacheStorage) {
  torch::Tensor cache = torch::zeros({2, 2, 2, 1000, 4});
  torch::Tensor view = attended_cache(cache, 70);
  EXPECT_EQ(view.size(3), attended_slots(70, 1000));
  view.select(3, 69).fill_(3.0);
  EXPECT_EQ(cache.select(3, 69).sum().item<float>(), 3.0f * 2 * 2 * 2 * 4);
}

TEST(KvCache, StepOnTheViewEqualsStepOnTheWholeCache) {
  ASSERT_TRUE(std::filesystem::exists(testdata::tiny_bundle() + "/terrascope.json"))
      << testdata::how_to_make();
  auto model = Model::load(testdata::tiny_bundle());
  const Model::Impl& impl = model->impl();
  auto& llm = const_cast<torch::jit::Module&>(impl.bundle.llm);
  c10::InferenceMode guard;
  torch::manual_seed(7);
  const auto& shape = impl.bundle.manifest.llm.cache_shape;
  ASSERT_GT(shape[3], 2 * kCacheSlotBucket) << "the tiny bundle's cache must span several buckets";
  const int64_t prompt = kCacheSlotBucket + 13;  // ends inside the second bucket
  torch::Tensor embeds = torch::randn({prompt, impl.bundle.manifest.llm.hidden}) * 0.05;
  torch::Tensor one = torch::randn({1, impl.bundle.manifest.llm.hidden}) * 0.05;

  auto run = [&](bool narrowed) {
    torch::Tensor cache = torch::zeros(shape);
    auto call = [&](const torch::Tensor& x, int64_t start) {
      torch::Tensor attended = narrowed ? attended_cache(cache, start + x.size(0)) : cache;
      auto out = llm.forward({x, torch::tensor({start}), attended}).toTuple()->elements();
      return std::make_pair(out[0].toTensor().clone(), out[1].toTensor().clone());
    };
    auto first = call(embeds, 0);
    auto next = call(one, prompt);
    return std::make_tuple(first, next, cache);
  };
  const auto [full_first, full_next, full_cache] = run(false);
  const auto [view_first, view_next, view_cache] = run(true);
  EXPECT_TRUE(torch::equal(full_first.first, view_first.first));
  EXPECT_TRUE(torch::equal(full_first.second, view_first.second));
  EXPECT_TRUE(torch::equal(full_next.first, view_next.first));
  EXPECT_TRUE(torch::equal(full_next.second, view_next.second));
  // The module wrote positions 0..prompt through the view into the cache itself.
  EXPECT_TRUE(torch::equal(full_cache, view_cache));
  EXPECT_GT(view_cache.narrow(3, 0, prompt + 1).abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace terrascope
