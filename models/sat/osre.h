// OSRE, the online sparse reduction engine: N:M compression of a dense FP32 or FP16 matrix
// along its rows (forward) or columns (backward), and the job's cost. SystemC-free;
// docs/engines.md ("N:M compressed form", "OSRE") is the contract.
#pragma once

#include "sat/jobs.h"

namespace cestvp::sat {

// Writes the compressed values and indices of a checked job (1 <= N <= M <= 32, shape not
// empty, outputs not overlapping the source). Returns false if the source holds a NaN; the
// output is written in full all the same, NaNs ranking as +inf.
bool osre_compute(const OsreWork& job);

// The job's busy cycles, stalls, counters and SRAM traffic; needs no data pointers.
JobCost osre_cost(const OsreWork& job, const TimingParams& t);

}  // namespace cestvp::sat
