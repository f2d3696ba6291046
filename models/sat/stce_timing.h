// STCE timing: the output-stationary systolic mapping of docs/engines.md ("STCE, Timing").
#pragma once
#include "sat/jobs.h"

namespace cestvp::sat {

JobCost stce_cost(const StceWork& job, const TimingParams& timing);

}  // namespace cestvp::sat
