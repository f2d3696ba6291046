#include "engine_operands.h"

namespace cestvp::fw {

void fill_half(SramImage& image, std::uint32_t addr, std::uint64_t count, TensorRandom& rng, bool grid) {
  for (std::uint64_t i = 0; i < count; ++i) image.set_f16(addr, i, float_to_half(grid ? rng.grid() : rng.uniform()));
}

void fill_float(SramImage& image, std::uint32_t addr, std::uint64_t count, TensorRandom& rng) {
  for (std::uint64_t i = 0; i < count; ++i) image.set_f32(addr, i, rng.next() & 1 ? rng.grid() : rng.uniform());
}

std::uint64_t sram_bus_address(const BootInfo& boot, std::uint32_t addr) {
  const Region* regions[3] = {&boot.sat_sram_a, &boot.sat_sram_b, &boot.sat_sram_c};
  return regions[sram_buffer(addr) % 3]->base + sram_offset(addr);
}

StagedUpload upload_to_sram(Hal& hal, DmaDriver& dma, const BootInfo& boot, std::uint64_t staging, SramImage& image,
                            std::uint32_t addr, std::uint64_t bytes) {
  StagedUpload upload;
  upload.staging_written = hal.write_block(staging, image.at(addr, bytes), bytes) == BusStatus::ok;
  if (upload.staging_written)
    upload.dma = dma.copy({staging, sram_bus_address(boot, addr), static_cast<std::uint32_t>(bytes), 1, 0, 0});
  return upload;
}

}  // namespace cestvp::fw
