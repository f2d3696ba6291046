// SplitMix64 (Steele, Lea, Flood 2014): the platform's only random generator (synthetic data,
// initial weights, sample order). Tiny, fast, and the same sequence on every machine, which
// std:: distributions are not (their output is implementation-defined).
#pragma once
#include <cstdint>

namespace cestvp {

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

}  // namespace cestvp
