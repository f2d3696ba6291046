// IEEE 754 binary16 as the SAT stores it, for the models and the firmware alike: round to
// nearest even, overflow to infinity, a NaN keeps its top payload bits (at least one), subnormals
// kept. Bit for bit what Imath's half computes (tests/test_fp16.cpp checks every FP16 pattern and
// floats across every exponent), without Imath, which the RV64 cross build does not have.
#pragma once
#include <cstdint>
#include <cstring>

#include <cestvp/keep_call.h>

namespace cestvp::fw {

// Branch-free, so that loops over tensors vectorise (the host layers and the STCE's operands
// convert every element).
inline std::uint16_t float_to_half(float value) {
  const auto bits = [](float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
  };
  const auto pick = [](bool c, std::uint32_t a, std::uint32_t b) {
    const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
    return (a & mask) | (b & ~mask);
  };
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

// The firmware's code, called as it was (keep_call.h); a branch-free version would change the
// RV64 core's timing. The firmware widens activations through a table built with it; the STCE
// model widens its operands with F16C where the CPU has it.
CESTVP_KEEP_CALL inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113;
    while (!(mantissa & 0x400u)) mantissa <<= 1, --e;
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
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
