// Golden sample order, written from docs/training.md ("The input") and docs/workloads.md
// ("Sample order") alone, independently of firmware/include/cestvp/sample_order.h: epoch e is a
// Fisher-Yates shuffle of [0, count) driven by SplitMix64 seeded with seed + e, and iteration t
// of an epoch of floor(count / batch) iterations takes its entries [t * batch, t * batch + batch).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace cestvp::golden {

// i from count - 1 down to 1: swap a[i] with a[j], j the high 32 bits of a SplitMix64 draw
// times (i + 1), shifted down by 32.
inline std::vector<std::uint32_t> epoch_shuffle(std::uint32_t count, std::uint64_t seed) {
  std::uint64_t state = seed;
  const auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<std::uint32_t> a(count);
  for (std::uint32_t i = 0; i < count; ++i) a[i] = i;
  for (std::uint32_t i = count - 1; i >= 1 && i < count; --i) {
    const auto j = static_cast<std::uint32_t>((next() >> 32) * (i + 1) >> 32);
    std::swap(a[i], a[j]);
  }
  return a;
}

// The training samples of iteration t, in batch order.
inline std::vector<std::uint32_t> batch_samples(std::uint32_t count, std::uint32_t batch, std::uint32_t t,
                                                std::uint64_t seed) {
  const std::uint32_t per_epoch = count / batch;
  const std::vector<std::uint32_t> epoch = epoch_shuffle(count, seed + t / per_epoch);
  const auto first = epoch.begin() + static_cast<std::ptrdiff_t>(std::uint64_t{t % per_epoch} * batch);
  return std::vector<std::uint32_t>(first, first + batch);
}

}  // namespace cestvp::golden
