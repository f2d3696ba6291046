// Bring-up program: the first firmware a board runs. It probes the SAT's identification and
// configuration registers, checks register access rules, and self-tests the DMA (1-D, 2-D
// strided, chained, through the SAT SRAM, and its error path), verifying every copied word
// and the guard words around it. Returns 0 when every check passes.
#pragma once
#include <cstdint>

#include "boot_info.h"
#include "hal.h"

namespace cestvp::fw {

struct BringupParams {
  std::uint64_t ddr_scratch_offset = 16u << 20;  // where in DDR the tests place their buffers
  std::uint32_t copy_bytes = 64u << 10;          // 1-D copy and SRAM round trip
  std::uint32_t rows = 64;                       // 2-D copy
  std::uint32_t row_bytes = 256;
  std::uint32_t src_stride = 1024;
  std::uint32_t dst_stride = 512;
  std::uint32_t chain_descriptors = 8;           // chained copy: descriptors of chain_bytes each
  std::uint32_t chain_bytes = 4096;
  std::uint64_t timeout_ns = 100'000'000;        // per DMA transfer, simulated
};

int run_bringup(Hal& hal, const BootInfo& boot, const BringupParams& params);

}  // namespace cestvp::fw
