// The engine self-test: STCE, OSRE and WUVE checked against the CPU reference, a program a
// board runs on its own, like bring-up (one engine job as `satvp job` describes it is in
// engine_job.h).
//
// The self-test probes the SAT, then for each check places small random tensors in DDR, moves
// them to the SAT SRAM with the DMA, runs engine jobs through the drivers, moves the results
// back and compares them with the CPU reference (sat_reference.h): bit for bit when the run is
// bit-accurate, within docs/engines.md's tolerance when functional; a timing-only run moves no
// data and checks completion and counters only. Returns 0 when every check passes.
#pragma once
#include <cstdint>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>
#include <cestvp/sat_mode.h>

namespace cestvp::fw {

struct EngineSelftestParams {
  std::uint64_t ddr_scratch_offset = 16u << 20;  // DDR staging area for the DMA
  std::uint32_t seed = 1;                        // of the random tensors
  std::uint32_t n = 2, m = 8;                    // N:M of the compressed operands
  std::uint64_t timeout_ns = 100'000'000;        // per engine job or DMA transfer, simulated
  SatMode mode = SatMode::functional;
};

// The self-test's operands are of fixed shapes: SAT SRAM A, B and C must hold at least these
// bytes (the largest any check places; the bad-sram check writes the last 1 KiB of C), and the
// DDR staging area from ddr_scratch_offset the largest transfer, one buffer's used part. The
// loader checks both against the platform; the probe step checks the SRAM sizes again.
inline constexpr std::uint64_t kSelftestSramBytes[3] = {32 << 10, 32 << 10, 36 << 10};
inline constexpr std::uint64_t kSelftestStagingBytes = 36 << 10;

int run_engine_selftest(Hal& hal, const BootInfo& boot, const EngineSelftestParams& params);

}  // namespace cestvp::fw
