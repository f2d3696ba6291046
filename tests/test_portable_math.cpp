// The firmware's own erf (firmware/src/portable_math.cpp), which replaces the libm erff so that
// GELU gives the same bits on x86-64 and riscv64. Accuracy against double-precision erf rounded
// to float over a dense sweep of [-7, 7] and the range boundaries of the method; exact odd
// symmetry; special values and tabulated values whose expectations need no libm.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/portable_math.h>

namespace {

using cestvp::fw::erf_f32;

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Floats in order as integers (-0 and +0 both 0), so that ulp distance is a difference.
std::int64_t ordinal(float f) {
  const std::uint32_t u = bits_of(f);
  const std::int64_t magnitude = u & 0x7fffffffu;
  return (u >> 31) ? -magnitude : magnitude;
}

std::int64_t ulps_between(float a, float b) { return std::llabs(ordinal(a) - ordinal(b)); }

// The accuracy contract of erf_f32 (portable_math.h).
constexpr std::int64_t kMaxUlps = 2;

// Every 61st float in [0, 7] and its negative (about 36 million values), the boundaries of the
// method's ranges and their neighbours, and the tiny and subnormal inputs.
std::vector<float> sweep_inputs() {
  std::vector<float> xs;
  const std::uint32_t seven = bits_of(7.0f);
  for (std::uint32_t u = 0; u <= seven; u += 61) xs.push_back(float_of(u));
  const float boundaries[] = {0x1p-119f,  0x1p-28f, 0.84375f, 1.25f, 0x1.6db6dcp+1f /* 1 / 0.35 */,
                              6.0f,       1.0f,     0.5f,     2.0f,  std::numeric_limits<float>::min()};
  for (const float b : boundaries)
    for (std::int32_t step = -64; step <= 64; ++step) xs.push_back(float_of(bits_of(b) + step));
  const float tiny[] = {0x1p-149f, 0x1p-140f, 0x1.fffffcp-127f, 1e-30f, 1e-20f, 1e-10f};
  xs.insert(xs.end(), std::begin(tiny), std::end(tiny));
  const std::size_t positives = xs.size();
  for (std::size_t i = 0; i < positives; ++i) xs.push_back(-xs[i]);
  return xs;
}

TEST(PortableErf, WithinTwoUlpsOfDoubleErfOverMinusSevenToSeven) {
  const std::vector<float> xs = sweep_inputs();
  ASSERT_GT(xs.size(), 10'000'000u);
  std::int64_t worst = 0;
  float worst_x = 0;
  std::size_t over = 0;
  for (const float x : xs) {
    const float want = static_cast<float>(std::erf(static_cast<double>(x)));
    const std::int64_t error = ulps_between(erf_f32(x), want);
    if (error > kMaxUlps) ++over;
    if (error > worst) worst = error, worst_x = x;
  }
  EXPECT_EQ(over, 0u) << "largest error " << worst << " ulp at x = " << worst_x;
  // Exhaustive over all floats when written: 1 ulp at most. More would mean a coefficient or
  // the evaluation order changed.
  EXPECT_LE(worst, 1) << "at x = " << worst_x;
}

TEST(PortableErf, ExactlyOdd) {
  std::size_t differ = 0;
  float first = 0;
  for (const float x : sweep_inputs()) {
    if (bits_of(erf_f32(-x)) != (bits_of(erf_f32(x)) ^ 0x80000000u) && differ++ == 0) first = x;
  }
  EXPECT_EQ(differ, 0u) << "first at x = " << first;
}

TEST(PortableErf, SpecialValuesNeedNoLibm) {
  EXPECT_EQ(bits_of(erf_f32(0.0f)), bits_of(0.0f));
  EXPECT_EQ(bits_of(erf_f32(-0.0f)), bits_of(-0.0f));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(erf_f32(inf), 1.0f);
  EXPECT_EQ(erf_f32(-inf), -1.0f);
  EXPECT_TRUE(std::isnan(erf_f32(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(erf_f32(-std::numeric_limits<float>::quiet_NaN())));
  // A NaN comes back untouched (the same payload on every target).
  const float payload = float_of(0x7fc12345u);
  EXPECT_EQ(bits_of(erf_f32(payload)), 0x7fc12345u);
  // erfc(6) ~ 2e-17 is far below half an ulp of 1: erf is 1 in float from 6 on.
  EXPECT_EQ(erf_f32(6.0f), 1.0f);
  EXPECT_EQ(erf_f32(std::numeric_limits<float>::max()), 1.0f);
  EXPECT_EQ(erf_f32(-1e30f), -1.0f);
  // Below 2^-28, erf(x) = (2 / sqrt(pi)) x to float precision: the smallest subnormal stays
  // itself (1.128 rounds to 1 in units of 2^-149), 2^-140 becomes 578 units of 2^-149
  // (512 * 1.1284 = 577.75).
  EXPECT_EQ(erf_f32(0x1p-149f), 0x1p-149f);
  EXPECT_EQ(erf_f32(0x1p-140f), 578 * 0x1p-149f);
}

// Values from published tables (Abramowitz and Stegun, table 7.1; 20 digits).
TEST(PortableErf, TabulatedValues) {
  struct Point {
    float x;
    double erf;
  };
  const Point points[] = {{0.25f, 0.27632639016823693299}, {0.5f, 0.52049987781304653768},
                          {1.0f, 0.84270079294971486934},  {1.5f, 0.96610514647531072707},
                          {2.0f, 0.99532226501895273416},  {3.0f, 0.99997790950300141456}};
  for (const Point& p : points) {
    EXPECT_LE(ulps_between(erf_f32(p.x), static_cast<float>(p.erf)), 1) << "x = " << p.x;
    EXPECT_LE(ulps_between(erf_f32(-p.x), static_cast<float>(-p.erf)), 1) << "x = " << -p.x;
  }
}

// erf_f32 follows the evaluation order of fdlibm's s_erff.c, which glibc's erff also is on
// x86-64 (built without fused multiply-adds). That is why the VP's GELU still matches the
// reference trainer (tests/golden/ref_trainer.cpp, std::erf) bit for bit there
// (TrainingVsReference.Transformer*BitAccurate). If this fails after a libm upgrade, those
// bit-accurate comparisons fail too: the reference, not the firmware, has changed.
TEST(PortableErf, MatchesHostErffBitForBit) {
#if defined(__x86_64__) && defined(__GLIBC__)
  std::size_t differ = 0;
  float first = 0;
  for (const float x : sweep_inputs()) {
    if (bits_of(erf_f32(x)) != bits_of(std::erf(x)) && differ++ == 0) first = x;
  }
  EXPECT_EQ(differ, 0u) << "first at x = " << first << ": erf_f32 " << erf_f32(first) << ", erff "
                        << std::erf(first);
#else
  GTEST_SKIP() << "only x86-64 glibc's erff is fdlibm's without fused multiply-adds";
#endif
}

}  // namespace
