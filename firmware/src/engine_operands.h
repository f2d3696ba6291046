// What the engine self-test and the single-job runner (`satvp job`) share: random operands in a
// host image of the SAT SRAM, where each operand goes, and how the image reaches the SRAM
// (through a DDR staging area, by the DMA). Internal to the firmware library.
#pragma once
#include <cstdint>

#include <cestvp/boot_info.h>
#include <cestvp/dma_driver.h>
#include <cestvp/hal.h>
#include <cestvp/sat_reference.h>

namespace cestvp::fw {

// Operands start on 64-byte boundaries: the offset of the next one in a buffer of which `used`
// bytes are taken.
inline std::uint64_t next_operand_offset(std::uint64_t used) { return (used + 63) / 64 * 64; }

// xorshift32: deterministic tensors from the workload's seed.
class TensorRandom {
 public:
  explicit TensorRandom(std::uint32_t seed) : x_(seed ? seed : 0x9E3779B9u) {}
  std::uint32_t next() {
    x_ ^= x_ << 13, x_ ^= x_ >> 17, x_ ^= x_ << 5;
    return x_;
  }
  float uniform() { return static_cast<float>(next() >> 8) * 0x1p-23f - 1.0f; }  // [-1, 1)
  // Multiples of 1/16 in [-1, 1]: many equal magnitudes, so OSRE's tie rule is exercised.
  float grid() { return static_cast<float>(static_cast<int>(next() % 33) - 16) / 16.0f; }

 private:
  std::uint32_t x_;
};

// `count` FP16 values at SRAM address `addr` of the image: uniform in [-1, 1), or on the grid.
void fill_half(SramImage& image, std::uint32_t addr, std::uint64_t count, TensorRandom& rng, bool grid = false);
// `count` FP32 values: half of them on the grid (ties), half not representable in FP16 (rounding).
void fill_float(SramImage& image, std::uint32_t addr, std::uint64_t count, TensorRandom& rng);

// Where the bus reaches SRAM address `addr` (sram_address()).
std::uint64_t sram_bus_address(const BootInfo& boot, std::uint32_t addr);

// `bytes` of the image from SRAM address `addr` on, moved into the SRAM: the CPU writes them to
// the DDR staging area at `staging`, the DMA copies them on.
struct StagedUpload {
  bool staging_written = false;  // false: the CPU's write failed (the bus error is logged), no DMA ran
  DmaResult dma;                 // how the DMA's copy ended
  bool ok() const { return staging_written && dma.ok; }
};
StagedUpload upload_to_sram(Hal& hal, DmaDriver& dma, const BootInfo& boot, std::uint64_t staging, SramImage& image,
                            std::uint32_t addr, std::uint64_t bytes);

}  // namespace cestvp::fw
