#include "model/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "terrascope/error.h"

namespace terrascope {

uint64_t SplitMix64::next_u64() {
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

TokenSampler::TokenSampler(const Sampling& s)
    : temperature_(s.temperature), top_k_(s.top_k), top_p_(s.top_p), rng_(s.seed) {
  if (!(s.temperature >= 0.0)) {
    throw Error("sampling", "temperature " + std::to_string(s.temperature) + " is negative");
  }
  if (!(s.top_p > 0.0 && s.top_p <= 1.0)) {
    throw Error("sampling", "top_p " + std::to_string(s.top_p) + " is not in (0, 1]");
  }
  if (s.top_k < 0) throw Error("sampling", "top_k " + std::to_string(s.top_k) + " is negative");
}

int32_t TokenSampler::choose(const float* logits, int64_t count) {
  if (greedy()) {
    // The lowest id among the largest logits, as torch.argmax (which takes NaN as the largest).
    int64_t best = 0;
    for (int64_t i = 0; i < count; ++i) {
      if (std::isnan(logits[i])) return static_cast<int32_t>(i);
      if (logits[i] > logits[best]) best = i;
    }
    return static_cast<int32_t>(best);
  }
  std::vector<double> scaled(count);
  for (int64_t i = 0; i < count; ++i) scaled[i] = static_cast<double>(logits[i]) / temperature_;
  std::vector<int32_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return scaled[a] != scaled[b] ? scaled[a] > scaled[b] : a < b;
  });
  if (top_k_ > 0 && top_k_ < count) order.resize(top_k_);

  const double top = scaled[order[0]];
  std::vector<double> probs(order.size());
  double total = 0.0;
  for (size_t n = 0; n < order.size(); ++n) {
    probs[n] = std::exp(scaled[order[n]] - top);
    total += probs[n];
  }
  for (double& p : probs) p /= total;

  if (top_p_ < 1.0) {
    double running = 0.0;
    size_t keep = probs.size();
    for (size_t n = 0; n < probs.size(); ++n) {
      running += probs[n];
      if (running >= top_p_) {
        keep = n + 1;
        break;
      }
    }
    order.resize(keep);
    probs.resize(keep);
    total = 0.0;
    for (double p : probs) total += p;
    for (double& p : probs) p /= total;
  }

  const double u = rng_.uniform();
  double running = 0.0;
  for (size_t n = 0; n < order.size(); ++n) {
    running += probs[n];
    if (running > u) return order[n];
  }
  return order.back();
}

}  // namespace terrascope
