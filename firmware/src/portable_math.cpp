#include "cestvp/portable_math.h"

#include <cfloat>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <cstring>

// Why the result is the same bits on every target: each statement below is one IEEE-754 basic
// operation (+, -, *, /) on binary32 values, rounded to nearest-even, in a fixed order; the
// library compiles with -ffp-contract=off, so no two of them fuse into a multiply-add. The
// target must evaluate float expressions in float (FLT_EVAL_METHOD 0: SSE on x86-64, the F
// extension on RISC-V; not x87) and keep subnormals (no flush-to-zero). The only library call
// is expf, for 1.25 <= |x| < 6, which gave the same bits on x86-64 and riscv64 glibc
// (measured on 100 000 inputs each; docs/firmware-guide.md, "What differs from the native core").
static_assert(FLT_EVAL_METHOD == 0, "erf_f32 needs float arithmetic evaluated in float");

namespace cestvp::fw {

namespace {

// The method and the coefficients are those of fdlibm's s_erf.c in the single-precision
// transcription s_erff.c (as in glibc's and FreeBSD's libm), whose notice follows:
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunPro, a Sun Microsystems, Inc. business.
//   Permission to use, copy, modify, and distribute this software is freely granted,
//   provided that this notice is preserved.
// Float version by Ian Lance Taylor, Cygnus Support.
//
// erf is odd, so everything is computed for a = |x| and the sign put back at the end. Ranges:
//   a < 0.84375        erf(a) = a + a * P(a^2) / Q(a^2). The leading term of the Taylor series
//                      is (2 / sqrt(pi)) a; P(0) = 2 / sqrt(pi) - 1, so the rational part is a
//                      small correction and a itself is added exactly last.
//   0.84375 <= a < 1.25
//                      erf(a) = c + P(s) / Q(s), s = a - 1 (exact), c = 0.845062911 a float
//                      close to erf(1); again the rational part is a small correction.
//   1.25 <= a < 6      erf(a) = 1 - erfc(a), erfc(a) = exp(-a^2 - 0.5625 + R(1/a^2) / S(1/a^2)) / a,
//                      one pair of R, S below 1 / 0.35 and another above. a^2 is split as
//                      z^2 + (z - a)(z + a) with z = a cut to its top 12 significand bits, so that
//                      z * z is exact and the large part of the exponent carries no rounding
//                      error; the two halves go through exp separately.
//   a >= 6             erf(a) = 1: erfc(6) ~ 2e-17 is far below half an ulp of 1.
// Every rational function is evaluated by Horner's rule from its highest coefficient down, in
// exactly the order of s_erff.c, so that on x86-64 the result also equals glibc's erff bit for
// bit (the test checks this; it keeps the VP's training bit-identical to the reference trainer,
// which calls std::erf).

constexpr float kOne = 1.0f;
constexpr float kErfNearOne = 0x1.b0ac16p-1f;  // c of the second range (0x3f58560b)
constexpr float kTwoOverSqrtPiMinusOne = 0x1.06eba8p-3f;

// [0, 0.84375): P and Q in z = a^2.
constexpr float kSmallP[] = {0x1.06eba8p-3f, -0x1.4cd7d6p-2f, -0x1.d2a51ep-6f, -0x1.7a2912p-8f,
                             -0x1.8ead62p-16f};
constexpr float kSmallQ[] = {kOne, 0x1.97779cp-2f, 0x1.0a54c6p-4f, 0x1.4d022cp-8f, 0x1.15dc92p-13f,
                             -0x1.09c434p-18f};
// [0.84375, 1.25): P and Q in s = a - 1.
constexpr float kNearOneP[] = {-0x1.359b8cp-9f, 0x1.a8d00ap-2f,  -0x1.7d2410p-2f, 0x1.45fca8p-2f,
                               -0x1.c63984p-4f, 0x1.22a366p-5f, -0x1.1bf380p-9f};
constexpr float kNearOneQ[] = {kOne,           0x1.b3e662p-4f, 0x1.14af0ap-1f, 0x1.2635cep-4f,
                               0x1.02660ep-3f, 0x1.bedc26p-7f, 0x1.88b546p-7f};
// [1.25, 1 / 0.35): R and S in w = 1 / a^2.
constexpr float kMidR[] = {-0x1.434126p-7f, -0x1.63416ep-1f, -0x1.51e044p+3f, -0x1.f300aep+5f,
                           -0x1.44cb18p+7f, -0x1.7135cep+7f, -0x1.452656p+6f, -0x1.3a0efcp+3f};
constexpr float kMidS[] = {kOne,           0x1.3a6b9cp+4f, 0x1.1350c6p+7f, 0x1.b290dep+8f, 0x1.42b192p+9f,
                           0x1.ad0216p+8f, 0x1.b28a3ep+6f, 0x1.a47ef8p+2f, -0x1.eeff2ep-5f};
// [1 / 0.35, 6): R and S in w = 1 / a^2.
constexpr float kTailR[] = {-0x1.434124p-7f, -0x1.993ba8p-1f, -0x1.1c2096p+4f, -0x1.4145d4p+7f,
                            -0x1.3ec882p+9f, -0x1.004616p+10f, -0x1.e384eap+8f};
constexpr float kTailS[] = {kOne,           0x1.e568b2p+4f,  0x1.45cae2p+8f, 0x1.802eb2p+10f,
                            0x1.8ffb76p+11f, 0x1.3f219cp+11f, 0x1.da874ep+8f, -0x1.670e24p+4f};

// Range boundaries on a = |x|.
constexpr float kNearOneFrom = 0x1.bp-1f;           // 0.84375
constexpr float kTailFrom = 1.25f;
constexpr float kFarTailFrom = 0x1.6db6dcp+1f;      // the float just above 1 / 0.35 (0x4036db6e)
constexpr float kOneFrom = 6.0f;
constexpr float kLinearBelow = 0x1p-28f;            // erf(a) = a + a * (2 / sqrt(pi) - 1) below
constexpr float kSubnormalGuardBelow = 0x1p-119f;   // scale by 16 below, so a * 0.128 stays normal

// c[0] + v * (c[1] + v * (... + v * c[N-1])): one multiply and one add per coefficient.
template <std::size_t N>
float horner(float v, const float (&c)[N]) {
  float acc = c[N - 1];
  for (std::size_t i = N - 1; i-- > 0;) {
    const float scaled = v * acc;
    acc = c[i] + scaled;
  }
  return acc;
}

// a with the low 12 of its 23 stored significand bits cleared: 12 significant bits, so its
// square is exact in float.
float top_12_bits(float a) {
  std::uint32_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  bits &= 0xfffff000u;
  float cut;
  std::memcpy(&cut, &bits, sizeof cut);
  return cut;
}

// erf(a) for finite a >= 0.
float erf_nonnegative(float a) {
  if (a < kLinearBelow) {
    if (a < kSubnormalGuardBelow) {
      // a * 0.128 could fall into the subnormals and lose bits: work on 16 a.
      const float scaled = 16.0f * a;
      const float slope = 16.0f * kTwoOverSqrtPiMinusOne;
      const float correction = slope * a;
      const float sum = scaled + correction;
      return 0.0625f * sum;
    }
    const float correction = kTwoOverSqrtPiMinusOne * a;
    return a + correction;
  }
  if (a < kNearOneFrom) {
    const float z = a * a;
    const float ratio = horner(z, kSmallP) / horner(z, kSmallQ);
    const float correction = a * ratio;
    return a + correction;
  }
  if (a < kTailFrom) {
    const float s = a - kOne;
    const float ratio = horner(s, kNearOneP) / horner(s, kNearOneQ);
    return kErfNearOne + ratio;
  }
  if (a >= kOneFrom) return kOne;
  const float square = a * a;
  const float w = kOne / square;
  const bool far = a >= kFarTailFrom;
  const float r = far ? horner(w, kTailR) : horner(w, kMidR);
  const float s = far ? horner(w, kTailS) : horner(w, kMidS);
  const float z = top_12_bits(a);
  const float z_square = z * z;
  const float big = -z_square - 0.5625f;
  const float difference = z - a;
  const float sum = z + a;
  const float rest = difference * sum;
  const float ratio = r / s;
  const float small = rest + ratio;
  const float erfc_times_a = std::exp(big) * std::exp(small);
  const float erfc = erfc_times_a / a;
  return kOne - erfc;
}

}  // namespace

float erf_f32(float x) {
  if (std::isnan(x)) return x;  // untouched: arithmetic would give RISC-V's canonical NaN instead
  if (std::isinf(x)) return x > 0 ? kOne : -kOne;
  // Round to nearest is symmetric, so the negated result is bit for bit what the same
  // operations on x itself would give: erf_f32 is exactly odd.
  const bool negative = std::signbit(x);
  const float magnitude = negative ? -x : x;
  const float y = erf_nonnegative(magnitude);
  return negative ? -y : y;
}

}  // namespace cestvp::fw
