"""Choosing the next token from logits: greedy (the release) or seeded sampling.

The exact algorithm, so that the C++ engine can reproduce it bit for bit:

Greedy (temperature == 0, the default and the release's `argmax`): the lowest id among the ids
with the largest logit.

Sampling (temperature > 0), on the logits `z` (f32, one per vocabulary id):
1. `x = double(z) / temperature` (float64 from here on).
2. top-k (k > 0 and k < V): order ids by (x descending, id ascending); keep the first k ids.
3. softmax over the kept ids: `p_i = exp(x_i - max x) / sum_j exp(x_j - max x)`, sum in the
   (x descending, id ascending) order.
4. top-p (0 < p < 1): in that same order, keep the shortest prefix whose running sum of `p_i`
   is >= p (at least one id); renormalise by dividing by the prefix sum (summed in order).
5. draw `u` in [0, 1) from the generator below; walk the kept ids in the same order adding
   `p_i` to a running sum; pick the first id whose running sum is > u; if rounding leaves u
   above the last sum, pick the last kept id.

Generator: SplitMix64 seeded with `seed` (uint64): per draw
`state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31` (all mod 2^64), and
`u = (z >> 11) * 2^-53`. One draw per sampled token, none for greedy; one generator per
question, seeded once before the first token.
"""
import math

import torch

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = int(seed) & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


class Sampler:
    """temperature 0 = greedy; top_k 0 = off; top_p 1.0 = off."""

    def __init__(self, temperature=0.0, top_k=0, top_p=1.0, seed=0):
        if temperature < 0:
            raise ValueError(f"sampling: temperature {temperature} is negative")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"sampling: top_p {top_p} is not in (0, 1]")
        if top_k < 0:
            raise ValueError(f"sampling: top_k {top_k} is negative")
        self.temperature = float(temperature)
        self.top_k = int(top_k)
        self.top_p = float(top_p)
        self.seed = int(seed)
        self.rng = SplitMix64(seed)

    @property
    def greedy(self):
        return self.temperature == 0.0

    def choose(self, logits):
        """logits: 1-D torch tensor (or sequence of floats). Returns an int id."""
        if self.greedy:
            # torch.argmax returns the first maximal index (documented), i.e. the lowest id.
            return int(torch.argmax(torch.as_tensor(logits).reshape(-1)).item())
        values = [float(v) for v in torch.as_tensor(logits).reshape(-1).float().tolist()]
        scaled = [v / self.temperature for v in values]
        order = sorted(range(len(scaled)), key=lambda i: (-scaled[i], i))
        if 0 < self.top_k < len(order):
            order = order[:self.top_k]
        top = scaled[order[0]]
        weights = [math.exp(scaled[i] - top) for i in order]
        total = 0.0
        for w in weights:
            total += w
        probs = [w / total for w in weights]
        if self.top_p < 1.0:
            running = 0.0
            keep = len(probs)
            for n, p in enumerate(probs):
                running += p
                if running >= self.top_p:
                    keep = n + 1
                    break
            order, probs = order[:keep], probs[:keep]
            total = 0.0
            for p in probs:
                total += p
            probs = [p / total for p in probs]
        u = self.rng.uniform()
        running = 0.0
        for i, p in zip(order, probs):
            running += p
            if running > u:
                return i
        return order[-1]
