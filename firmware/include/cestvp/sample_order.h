// The order in which a training run visits its samples, shared by the loader (which only needs
// the generator, for synthetic data and initial weights) and the training runtime (which draws
// each epoch's order when the epoch starts), so that both sides and every machine agree on it.
// SystemC-free, header-only.
//
// Epoch e of a run with seed s is a Fisher-Yates shuffle of [0, count): order[i] = i, then for
// i from count - 1 down to 1 swap order[i] with order[below(i + 1)], drawn from SplitMix64(s + e).
// The epoch's batches are its first floor(count / batch) * batch entries, in order; the rest of
// the samples wait for a later epoch's shuffle.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace cestvp::fw {

// SplitMix64 (Steele, Lea, Flood 2014): the only random generator of CEST-VP (synthetic data,
// initial weights, sample order). Tiny, fast, and the same sequence on every machine, which
// std:: distributions are not (their output is implementation-defined).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // An integer in [0, n): the high 32 bits of a draw scaled by n (Lemire, without rejection).
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>((next() >> 32) * n >> 32); }

 private:
  std::uint64_t state_;
};

// Epoch `epoch`'s order of `count` samples into `order` (resized to count).
inline void epoch_order(std::uint32_t count, std::uint64_t seed, std::uint64_t epoch, std::vector<std::uint32_t>& order) {
  order.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) order[i] = i;
  SplitMix64 rng(seed + epoch);
  for (std::uint32_t i = count; i-- > 1;) std::swap(order[i], order[rng.below(i + 1)]);
}

}  // namespace cestvp::fw
