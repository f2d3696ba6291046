// Bring-up program: the first firmware a board runs. It probes the SAT's identification and
// configuration registers, checks register access rules, and self-tests the DMA (1-D, 2-D
// strided, chained, through the SAT SRAM, and its error path), verifying every copied word
// and the guard words around it. Returns 0 when every check passes.
//
// In timing mode (SatMode::timing) the DMA moves no data: every check still runs, with the
// same transfers, bus traffic and host work, so the simulated time is that of a functional run,
// but the destination words are not compared; the log and the summary line say so.
#pragma once
#include <cstdint>
#include <vector>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>
#include <cestvp/sat_mode.h>

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
  SatMode mode = SatMode::functional;            // timing: the DMA moves no data to compare
};

// What one DMA check needs: DDR from ddr_scratch_offset on (each check starts at the beginning
// of the scratch area, so a run needs the largest of them) and host memory for the firmware's
// own copies of its buffers (the pattern, the expected destination and the one read back).
struct BringupNeed {
  const char* check;  // "dma-1d", ... as the log names it
  std::uint64_t scratch_bytes;
  std::uint64_t host_bytes;
};

// The needs of the DMA checks in the order they run, from the layout the checks use, so that
// the loader can reject parameters that do not fit before the run starts. The scratch area
// starts at a multiple of kBringupScratchAlign in DDR (the chained copy's descriptors are
// 8-byte aligned within it).
inline constexpr std::uint64_t kBringupScratchAlign = 8;
std::vector<BringupNeed> bringup_needs(const BringupParams& params, std::uint64_t sram_a_bytes);

int run_bringup(Hal& hal, const BootInfo& boot, const BringupParams& params);

}  // namespace cestvp::fw
