// The engines' work: a job as the SAT decodes it from the job registers and checks it
// (models/sat/decode.cpp), handed to the engines' compute and timing code, which is SystemC-free.
// What a job is comes from the contract (cestvp/sat_job.h: the firmware writes it); a work item
// adds where its operands are: the SRAM buffer of each, for the port model, and pointers into
// the SRAM buffers, null in timing-only mode. docs/engines.md is the contract.
#pragma once
#include <cstdint>

#include <cestvp/sat_abi.h>
#include <cestvp/sat_job.h>
#include <cestvp/sat_mode.h>

namespace cestvp::sat {

using fw::StceOp;

struct StceWork {
  StceOp op = StceOp::gemm;
  bool accumulate = false, out_fp16 = false;
  bool a_trans = false, b_trans = false;  // GEMM only
  bool a_sparse = false, b_sparse = false;
  std::uint32_t n = 0, m = 0;
  // GEMM view: C[rows][cols] (+)= A[rows][depth] x B[depth][cols] (fw::stce_shape for a
  // convolution).
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t segment = 0;  // N:M segment along depth (never 0 once decoded)
  fw::ConvDims conv;          // convolutions only
  // SRAM buffer (0..2) of each operand, for the port model; the index buffers only when sparse.
  unsigned a_buffer = 0, a_idx_buffer = 0, b_buffer = 1, b_idx_buffer = 1, c_buffer = 2;
  const std::uint8_t* a = nullptr;
  const std::uint32_t* a_idx = nullptr;
  const std::uint8_t* b = nullptr;
  const std::uint32_t* b_idx = nullptr;
  std::uint8_t* c = nullptr;

  // One line of the compressed operand: one segment of K (docs/engines.md).
  fw::NmLine line() const { return {segment, segment, n, m}; }
  std::uint32_t segments() const { return depth / segment; }
};

struct OsreWork : fw::OsreGeometry {
  unsigned src_buffer = 0, val_buffer = 0, idx_buffer = 0;
  const std::uint8_t* src = nullptr;
  std::uint8_t* values = nullptr;  // FP16
  std::uint32_t* indices = nullptr;
};

struct WuveWork : fw::WuveStep {
  unsigned grad_buffer = 0, weight_buffer = 0, momentum_buffer = 0, out_buffer = 0;
  const std::uint8_t* grad = nullptr;  // FP16
  float* weight = nullptr;
  float* velocity = nullptr;
  std::uint8_t* out = nullptr;  // FP16
};

// What a job costs, from the engine's timing formula (docs/engines.md).
struct JobCost {
  std::uint64_t cycles = 0;  // busy cycles, set-up included
  std::uint64_t stall_cycles = 0;
  std::uint64_t ops = 0;
  std::uint64_t ops_skipped = 0;
  std::uint64_t sram_read = 0;   // bytes
  std::uint64_t sram_write = 0;  // bytes
};

// SRAM port widths and engine parameters the timing formulas use.
struct TimingParams {
  unsigned array_rows = 32, array_cols = 32;
  std::uint64_t port_bytes[3] = {256, 64, 64};  // per cycle, buffers A, B, C
  unsigned osre_lanes = 32, osre_pipeline = 0;
  unsigned wuve_lanes = 32, wuve_pipeline = 0;
};

}  // namespace cestvp::sat
