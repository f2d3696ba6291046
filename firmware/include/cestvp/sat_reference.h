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
#include <vector>

#include <cestvp/fp16.h>

#include "sat_driver.h"

namespace cestvp::fw {

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
