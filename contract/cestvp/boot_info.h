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

// Host CPU cycles per element of the work the firmware does on the host CPU (the layers the
// SAT does not run); the firmware charges them through Hal::charge_host_time. From the
// platform YAML's host_cost table.
struct HostCosts {
  double input = 0;        // per input pixel: gather, normalise, convert to FP16
  double elementwise = 0;  // per element of ReLU, bias add, FP16/FP32 conversion, gradient copy
  double pool = 0;         // per window element read by a pooling layer, forward or backward
  double softmax = 0;      // per logit of softmax cross-entropy (exp, log, divide)
  double reduce = 0;       // per element summed (bias gradient, SDGP rescale sums)
  double nm_decode = 0;    // per compressed N:M entry decoded or rescaled
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
  HostCosts host_cost;
};

}  // namespace cestvp::fw
