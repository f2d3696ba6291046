// IEEE 754 binary16 as the SAT stores it: conversions through Imath's half (round to nearest
// even, overflow to infinity), on raw 16-bit patterns in SRAM.
#pragma once
#include <cstdint>
#include <cstring>

#include <Imath/half.h>

namespace cestvp::sat {

inline float fp16_to_float(std::uint16_t bits) {
  Imath::half h;
  h.setBits(bits);
  return static_cast<float>(h);
}

inline std::uint16_t float_to_fp16(float value) { return Imath::half(value).bits(); }

inline float load_fp16(const std::uint8_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, 2);
  return fp16_to_float(bits);
}

inline void store_fp16(std::uint8_t* p, float value) {
  const std::uint16_t bits = float_to_fp16(value);
  std::memcpy(p, &bits, 2);
}

// Rounds a float to the nearest FP16 value, kept as a float.
inline float round_fp16(float value) { return static_cast<float>(Imath::half(value)); }

}  // namespace cestvp::sat
