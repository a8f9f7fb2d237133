// The part of the static KV cache one llm.forward call attends over.
//
// The bundle's step (docs/BUNDLE.md, tools/terrascope_ref/qwen2.py `step`) takes the cache length
// from `cache.size(3)`, writes the new K/V with index_copy_ and masks the slots after each query's
// position. Attending over all Lc slots costs the masked ones too (a 317-token prefill on the
// tiny bundle's 2048-slot cache spent most of its time on them), so every call gets a view of the
// first slots only, `start + L` rounded up to a bucket: the view shares the cache's storage (the
// module writes through it), its strides stay those of the full cache, and the few distinct
// lengths keep the TorchScript executor from seeing a new shape at every token. Masked slots add
// exact zeros to the softmax sum and to probs @ V, so the result equals the full-cache call.
#pragma once

#include <torch/script.h>

#include <algorithm>
#include <cstdint>

namespace terrascope {

// Slots per bucket of the attended cache view.
constexpr int64_t kCacheSlotBucket = 64;

// Slots a call that writes positions [0, end) attends over: `end` rounded up to a bucket, at most
// the cache length `cache_len`.
inline int64_t attended_slots(int64_t end, int64_t cache_len) {
  return std::min(cache_len, (end + kCacheSlotBucket - 1) / kCacheSlotBucket * kCacheSlotBucket);
}

// `cache` [layers, 2, kv_heads, Lc, head_dim] narrowed on the slot dimension for a call that
// writes positions [start, end).
inline torch::Tensor attended_cache(const torch::Tensor& cache, int64_t end) {
  return cache.narrow(3, 0, attended_slots(end, cache.size(3)));
}

}  // namespace terrascope
