// WUVE, the weight update vector engine: one momentum-SGD step over FP32 weights and velocities
// from FP16 gradients, and the job's cost. SystemC-free; docs/engines.md ("WUVE") is the
// contract.
#pragma once

#include "sat/jobs.h"

namespace cestvp::sat {

// Updates weight and velocity in place and writes the FP16 weight copy when write_fp16.
void wuve_compute(const WuveWork& job);

// The job's busy cycles, stalls, counters and SRAM traffic; needs no data pointers.
JobCost wuve_cost(const WuveWork& job, const TimingParams& t);

}  // namespace cestvp::sat
