// One engine job as `satvp job` describes it: the planner places its operands in the SAT SRAM
// buffers (and says why a job cannot be expressed or does not fit), the runner probes the SAT,
// places random operands there with the DMA (none in timing mode), runs the job through the
// drivers and reads its counters.
#pragma once
#include <cstdint>
#include <string>

#include "sat_driver.h"
#include "sat_probe.h"
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>
#include <cestvp/sat_mode.h>

namespace cestvp::fw {

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
