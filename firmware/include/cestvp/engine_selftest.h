// Engine programs: the self-test of STCE, OSRE and WUVE (like bring-up, a program a board runs
// on its own), and one engine job as `satvp job` describes it.
//
// The self-test probes the SAT, then for each check places small random tensors in DDR, moves
// them to the SAT SRAM with the DMA, runs engine jobs through the drivers, moves the results
// back and compares them with the CPU reference (sat_reference.h): bit for bit when the run is
// bit-accurate, within docs/engines.md's tolerance when functional; a timing-only run moves no
// data and checks completion and counters only. Returns 0 when every check passes.
#pragma once
#include <cstdint>
#include <string>

#include "boot_info.h"
#include "hal.h"
#include "sat_driver.h"
#include "sat_probe.h"

namespace cestvp::fw {

// The numerics the platform runs the engines with (satvp --mode). The firmware cannot read it
// from the hardware; the program is told, so that it knows what it can compare.
enum class SatMode : std::uint8_t { functional, bit_accurate, timing };
const char* to_string(SatMode mode);

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

// --- One engine job (satvp job) ----------------------------------------------------------------

// Training pass of an STCE job: which operation and which operand is compressed
// (docs/engines.md, linear-layer table): ff and bp compress the weights (B), wu nothing.
enum class JobPass : std::uint8_t { ff, bp, wu };
const char* to_string(JobPass pass);

struct EngineJobSpec {
  SatEngine engine = SatEngine::stce;
  bool conv = false;  // STCE: convolution, else GEMM
  JobPass pass = JobPass::ff;
  std::uint32_t rows = 0, cols = 0, depth = 0;  // STCE GEMM M, N, K; OSRE: the dense source
  std::uint32_t batch = 0, h = 0, w = 0, cin = 0, cout = 0, kernel = 0, stride = 1, pad = 0;
  std::uint32_t n = 0, m = 0;  // N:M; n = 0: dense (STCE)
  bool backward = false;       // OSRE: groups along the rows of each column
  bool src_fp32 = false;       // OSRE: FP32 source (master weights), else FP16
  std::uint32_t count = 0;     // WUVE elements
  SatMode mode = SatMode::functional;
  std::uint32_t seed = 1;
  std::uint64_t ddr_scratch_offset = 16u << 20;
  std::uint64_t timeout_ns = kNoTimeout;
};

// The job with its operands placed in SRAM (STCE: A, B and C in their buffers; OSRE: source in
// A, values and indices in B; WUVE: gradients and FP16 copy in A, weights in B, velocity in C).
struct EngineJobPlan {
  StceGemm gemm;
  StceConv conv;
  OsreJob osre;
  WuveJob wuve;
  std::uint64_t sram_bytes[3] = {};  // bytes used in buffers A, B, C
  std::string contents[3];           // what each buffer holds, for messages
  std::string problem;               // why the job cannot be expressed, empty if it can
  std::string describe() const;      // "GEMM 64x64x256 ff B 2:8" and the like
};
EngineJobPlan plan_engine_job(const EngineJobSpec& spec);
// Empty if the plan fits buffers of these sizes, else which buffer needs how much of how much.
std::string sram_fit_problem(const EngineJobPlan& plan, const std::uint64_t sram_sizes[3]);

struct EngineJobReport {
  SatInfo sat;           // the probed SAT (array size, clock)
  SatJobResult result;   // how the job ended
  SatCounters counters;  // the job's part of the engine's counters
  std::string problem;   // why the job did not run or failed, empty if it passed
};

// Probes the SAT, places random operands (none in timing mode) with the DMA, runs the job and
// reads its counters. Returns 0 if the job completed without error.
int run_engine_job(Hal& hal, const BootInfo& boot, const EngineJobSpec& spec, EngineJobReport& report);

}  // namespace cestvp::fw
