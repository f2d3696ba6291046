// CPU reference path of the SAT engines (Gemmini-style): plain loops behind the same job
// descriptions as the drivers, run on a host-side image of the SAT SRAM. The firmware uses them
// to check the engines; they follow docs/engines.md, not the models' code.
//
// STCE: FP16 inputs, FP32 accumulation in the uMAC order (bit-accurate mode's exact result; pad
// entries skipped), and per output element the functional-mode tolerance K x 2^-23 x sum |a x b|.
// OSRE: top-N by magnitude per group of M, lowest index on ties, short tail padded.
// WUVE: momentum SGD, one FP32 rounding per operation (built with -ffp-contract=off).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sat_driver.h"

namespace cestvp::fw {

// IEEE 754 binary16 <-> binary32, round to nearest even, overflow to infinity, NaN kept quiet
// with its top payload bits (the same results as Imath's half, which the models use).
// Branch-free so that loops over tensors vectorise (the host layers convert every activation).
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
float half_to_float(std::uint16_t bits);
inline float round_to_half(float value) { return half_to_float(float_to_half(value)); }

// Host-side mirror of the SAT SRAM buffers A, B, C, addressed by SRAM addresses. Buffers grow
// on demand (zero-filled) to the highest byte used.
class SramImage {
 public:
  std::uint8_t* at(std::uint32_t address, std::uint64_t bytes);

  float f32(std::uint32_t address, std::uint64_t index);
  void set_f32(std::uint32_t address, std::uint64_t index, float value);
  std::uint16_t f16(std::uint32_t address, std::uint64_t index);
  void set_f16(std::uint32_t address, std::uint64_t index, std::uint16_t bits);

 private:
  std::vector<std::uint8_t> buffers_[3];
};

// Writes C of the job into `sram` as the bit-accurate engine computes it. With `bound`, also
// the functional-mode tolerance of each C element, row-major (docs/engines.md: K x 2^-23 x
// sum |a x b|; with ACCUMULATE the initial |C| joins the sum).
void reference_stce(const StceGemm& job, SramImage& sram, std::vector<double>* bound = nullptr);
void reference_stce(const StceConv& job, SramImage& sram, std::vector<double>* bound = nullptr);

// N:M compression of a dense [rows][cols] source (FP16 bits, or FP32 with src_fp32) along the
// columns of each row (forward) or the rows of each column (backward), into FP16 values and
// packed indices in the compressed form of docs/engines.md. Returns false if the source holds a
// NaN (ranked as +inf; the output is still written).
bool nm_compress(const std::uint8_t* src, bool src_fp32, std::uint32_t rows, std::uint32_t cols, bool backward,
                 std::uint32_t n, std::uint32_t m, std::uint8_t* values, std::uint32_t* indices);

// OSRE's outputs written into `sram`; false if the source holds a NaN (NAN_INPUT).
bool reference_osre(const OsreJob& job, SramImage& sram);

// WUVE's update of weights and velocity (and the FP16 copy) in `sram`.
void reference_wuve(const WuveJob& job, SramImage& sram);

}  // namespace cestvp::fw
