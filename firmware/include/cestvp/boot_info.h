// What the platform tells the firmware at boot (the role a device tree plays): where each block
// is mapped and which interrupt line it drives. The address map exists once, in the platform
// YAML; the firmware learns it here instead of from compiled-in constants.
#pragma once
#include <cstdint>

namespace cestvp::fw {

struct Region {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
};

struct BootInfo {
  Region ddr;
  Region sat_regs;
  Region sat_sram_a;
  Region sat_sram_b;
  Region sat_sram_c;
  Region dma;
  Region irqc;
  unsigned irq_dma = 0;
  unsigned irq_sat = 0;
  std::uint64_t host_cycle_ps = 0;  // host CPU clock period, for charging firmware compute
};

}  // namespace cestvp::fw
