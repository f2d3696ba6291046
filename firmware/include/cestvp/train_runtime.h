// The training runtime (firmware layer 5, docs/training.md): reads the model descriptor the
// loader put in DDR, runs the iterations of its scheme on the SAT through the kernels, the
// host layers on the host CPU, evaluation, snapshots, and writes its measurements to the
// descriptor's result area. Returns 0 when the run completed (a diverging loss is a result, not
// a failure), 1 on a descriptor, engine or DMA problem (also written to the result area).
#pragma once
#include <cstdint>

#include "engine_selftest.h"
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

struct TrainingParams {
  std::uint64_t model_addr = 0;            // DDR address of the model::Header
  SatMode mode = SatMode::functional;      // timing: no tensor data, host layers charge time only
  std::uint64_t timeout_ns = 1'000'000'000;  // per engine job or DMA transfer, simulated
  std::uint32_t log_interval = 0;          // a progress line every this many iterations; 0: none
};

int run_training(Hal& hal, const BootInfo& boot, const TrainingParams& params);

}  // namespace cestvp::fw
