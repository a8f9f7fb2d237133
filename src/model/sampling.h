// Choosing the next token from one step's logits: greedy (the release's argmax) or seeded sampling
// with temperature, top-k and top-p. The algorithm is the one documented in
// tools/terrascope_ref/sampling.py, step for step, so that the same seed picks the same ids.
#pragma once

#include <cstdint>

#include "terrascope/model.h"

namespace terrascope {

// SplitMix64: the reference's generator, one uniform draw per sampled token.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double uniform();  // [0, 1), 53 bits

 private:
  uint64_t state_;
};

class TokenSampler {
 public:
  // Throws Error for a negative temperature or top_k, or top_p outside (0, 1].
  explicit TokenSampler(const Sampling& sampling);

  bool greedy() const { return temperature_ == 0.0; }

  // `logits`: `count` fp32 values, one per vocabulary id.
  int32_t choose(const float* logits, int64_t count);

 private:
  double temperature_;
  int top_k_;
  double top_p_;
  SplitMix64 rng_;
};

}  // namespace terrascope
