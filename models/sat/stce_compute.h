// STCE numerics (docs/engines.md "STCE"): C (+)= A x B for GEMM and the three convolution
// passes, with an optional N:M compressed operand. SystemC-free.
#pragma once
#include <cstddef>

#include "sat/jobs.h"

namespace cestvp::sat {

// Bound, in floats, of each temporary the compute allocates (an FP32 tile of A lines, of B
// lines, of C; A and B lines padded by up to 16 floats; the widened images an implicit im2col is
// copied from, at least one): 16 MiB, so that a 2048-square GEMM is one OpenBLAS call while the
// implicit im2col of a large convolution is gathered a tile at a time. Functional mode cuts
// convolutions into smaller tiles that stay in the cache. The temporaries stay allocated per
// thread between jobs (allocating and faulting them in anew costs as much as a small GEMM).
inline constexpr std::size_t kStceTileFloats = std::size_t{1} << 22;

// Computes a validated job into job.c. SatMode::bit_accurate sums every output in the uMAC's order;
// SatMode::functional calls OpenBLAS SGEMM, on one thread, on the operands widened to FP32;
// SatMode::timing touches nothing. `tile_floats` exists so that tests can force many tiles on small
// jobs.
void stce_compute(const StceWork& job, SatMode mode, std::size_t tile_floats = kStceTileFloats);

}  // namespace cestvp::sat
