// The contract's FP16 conversion (contract/cestvp/fp16.h), which the models and the firmware
// (native and RV64) share, against Imath's half, the reference the SAT's numerics were specified
// with: every FP16 pattern to FP32, and FP32 values across every exponent, at and around every
// rounding tie, subnormal, NaN and infinity, to FP16. Plus hand-computed cases, so that the test
// does not rest on Imath alone.
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include <Imath/half.h>

#include <cestvp/fp16.h>

namespace {

using cestvp::fw::float_to_half;
using cestvp::fw::half_to_float;

float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::uint32_t to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// float_to_half(bits) against Imath; returns false (and reports) on the first difference.
::testing::AssertionResult narrows_as_imath(std::uint32_t bits) {
  const float f = from_bits(bits);
  const std::uint16_t want = Imath::half(f).bits(), got = float_to_half(f);
  if (want == got) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::hex << "float 0x" << bits << ": got 0x" << got << ", Imath 0x"
                                       << want;
}

TEST(Fp16, EveryHalfWidensAsImath) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    Imath::half ref;
    ref.setBits(static_cast<std::uint16_t>(h));
    const std::uint32_t want = to_bits(static_cast<float>(ref));
    const std::uint32_t got = to_bits(half_to_float(static_cast<std::uint16_t>(h)));
    ASSERT_EQ(got, want) << std::hex << "half 0x" << h;  // bit patterns: NaN payloads and -0 count
  }
}

TEST(Fp16, FloatsOfEveryExponentNarrowAsImath) {
  // The low 13 mantissa bits decide the rounding of a normal result (the bits FP16 drops); in
  // the subnormal range more are dropped. Around each tie of both, and the ends of each binade.
  const std::uint32_t low[] = {0x000000, 0x000001, 0x000fff, 0x001000, 0x001001, 0x001fff, 0x002000, 0x002fff,
                               0x003000, 0x003001, 0x3ff000, 0x400000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7fffff,
                               0x17ffff, 0x180000, 0x180001, 0x0fffff, 0x100000, 0x100001, 0x07ffff, 0x080000};
  std::mt19937 rng(1);
  for (std::uint32_t sign : {0u, 0x80000000u})
    for (std::uint32_t exponent = 0; exponent < 256; ++exponent) {
      for (std::uint32_t m : low) ASSERT_TRUE(narrows_as_imath(sign | exponent << 23 | m));
      for (int i = 0; i < 256; ++i) ASSERT_TRUE(narrows_as_imath(sign | exponent << 23 | (rng() & 0x7fffffu)));
    }
}

TEST(Fp16, RoundingBoundariesNarrowAsImath) {
  // Every FP16 value's midpoints to its neighbours, as floats, and one float either side: the
  // whole normal and subnormal range, and the step to infinity.
  for (std::uint32_t sign : {0u, 0x80000000u})
    for (std::uint32_t h = 0; h < 0x7c00; ++h) {
      Imath::half lo, hi;
      lo.setBits(static_cast<std::uint16_t>(h));
      hi.setBits(static_cast<std::uint16_t>(h + 1));
      const float mid = (static_cast<float>(lo) + static_cast<float>(hi)) / 2;  // exact in FP32
      const std::uint32_t bits = to_bits(mid) | sign;
      for (std::uint32_t d : {bits - 1, bits, bits + 1}) ASSERT_TRUE(narrows_as_imath(d));
    }
}

TEST(Fp16, SampledFloatsNarrowAsImath) {
  for (std::uint64_t bits = 0; bits <= 0xffffffffull; bits += 4093) ASSERT_TRUE(narrows_as_imath(static_cast<std::uint32_t>(bits)));
}

TEST(Fp16, NanAndInfinityNarrowAsImath) {
  for (std::uint32_t sign : {0u, 0x80000000u}) {
    for (std::uint32_t payload : {0x000001u, 0x001fffu, 0x002000u, 0x200000u, 0x3fffffu, 0x400000u, 0x400001u,
                                  0x7fffffu, 0x555555u, 0x2aaaaau})
      ASSERT_TRUE(narrows_as_imath(sign | 0x7f800000u | payload));
    ASSERT_TRUE(narrows_as_imath(sign | 0x7f800000u));
  }
}

// Hand-computed: what IEEE 754 binary16 with round to nearest even gives.
TEST(Fp16, HandComputedCases) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);          // largest finite
  EXPECT_EQ(float_to_half(65519.99f), 0x7bff);         // below the midpoint to 65536
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);          // the midpoint: ties to even, which is infinity
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001);          // smallest subnormal
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);          // half of it: ties to even (0)
  EXPECT_EQ(float_to_half(0x1.8p-24f), 0x0002);        // 1.5 steps: ties to even (2)
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3c00);   // tie between 1 and 1 + 2^-10: even
  EXPECT_EQ(float_to_half(1.0f + 0x3p-11f), 0x3c02);   // tie between 1 + 2^-10 and 1 + 2^-9: even
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(from_bits(0x7f800001u)), 0x7c01);  // NaN stays NaN (a payload bit kept)
  EXPECT_EQ(half_to_float(0x3555), 0x1.554p-2f);
  EXPECT_EQ(half_to_float(0x03ff), 0x3ffp-24f);  // largest subnormal
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(to_bits(half_to_float(0x7e01)), 0x7fc02000u);
}

TEST(Fp16, LoadStoreAndRoundAreTheConversions) {
  std::uint8_t bytes[3] = {0xaa, 0, 0};
  cestvp::fw::store_half(bytes + 1, 3.14159f);  // unaligned on purpose
  EXPECT_EQ(bytes[0], 0xaa);
  std::uint16_t bits;
  std::memcpy(&bits, bytes + 1, 2);
  EXPECT_EQ(bits, 0x4248);  // 3.140625
  EXPECT_EQ(cestvp::fw::load_half(bytes + 1), 3.140625f);
  EXPECT_EQ(cestvp::fw::round_to_half(3.14159f), 3.140625f);
}

}  // namespace
