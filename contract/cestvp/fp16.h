// IEEE 754 binary16 as the SAT stores it, for the models and the firmware alike: round to
// nearest even, overflow to infinity, a NaN keeps its top payload bits (at least one), subnormals
// kept. Bit for bit what Imath's half computes (tests/test_fp16.cpp checks every FP16 pattern and
// floats across every exponent), without Imath, which the RV64 cross build does not have.
#pragma once
#include <cstdint>
#include <cstring>

namespace cestvp::fw {

namespace fp16_detail {

inline std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// c ? a : b as a mask, which the compiler keeps branch-free.
inline std::uint32_t pick(bool c, std::uint32_t a, std::uint32_t b) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return (a & mask) | (b & ~mask);
}

}  // namespace fp16_detail

// Branch-free, so that loops over tensors vectorise (the host layers and the STCE's operands
// convert every element).
inline std::uint16_t float_to_half(float value) {
  using namespace fp16_detail;
  const std::uint32_t u = bits(value), magnitude = u & 0x7fffffffu, sign = (u >> 16) & 0x8000u;
  // Normal results: rebias, round the 13 dropped bits to nearest even (a carry may reach infinity).
  const std::uint32_t rebased = magnitude - 0x38000000u;
  const std::uint32_t normal = (rebased + 0x0fffu + ((rebased >> 13) & 1u)) >> 13;
  // Below 2^-14: adding 0.5 (whose ulp is 2^-24, the FP16 subnormal step) rounds as FP16 does.
  float small;
  std::memcpy(&small, &magnitude, sizeof small);
  const std::uint32_t subnormal = bits(small + 0.5f) - 0x3f000000u;
  const std::uint32_t payload = (magnitude & 0x7fffffu) >> 13;  // a NaN keeps its top payload bits, at least one
  const std::uint32_t nan = 0x7c00u | payload | static_cast<std::uint32_t>(payload == 0);
  const std::uint32_t out = pick(magnitude < 0x38800000u, subnormal,
                                 pick(magnitude < 0x47800000u, normal, pick(magnitude <= 0x7f800000u, 0x7c00u, nan)));
  return static_cast<std::uint16_t>(out | sign);
}

// Branch-free too (a subnormal is magnitude x 2^-24, exact in FP32).
inline float half_to_float(std::uint16_t h) {
  using namespace fp16_detail;
  const std::uint32_t magnitude = h & 0x7fffu, sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t subnormal = bits(static_cast<float>(static_cast<std::int32_t>(magnitude)) * 0x1p-24f);
  const std::uint32_t normal = (magnitude << 13) + 0x38000000u;   // exponent bias 15 -> 127
  const std::uint32_t special = (magnitude << 13) | 0x7f800000u;  // infinity, or NaN with its payload
  const std::uint32_t out = pick(magnitude < 0x0400u, subnormal, pick(magnitude < 0x7c00u, normal, special)) | sign;
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

// The nearest FP16 value, kept as a float.
inline float round_to_half(float value) { return half_to_float(float_to_half(value)); }

// An FP16 value at a byte address (SRAM, a DDR image), any alignment.
inline float load_half(const std::uint8_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return half_to_float(bits);
}

inline void store_half(std::uint8_t* p, float value) {
  const std::uint16_t bits = float_to_half(value);
  std::memcpy(p, &bits, sizeof bits);
}

}  // namespace cestvp::fw
