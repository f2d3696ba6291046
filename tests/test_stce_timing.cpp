// STCE timing formula (docs/engines.md, "STCE, Timing") on hand-computed cases. Default
// platform parameters: 32 x 32 array, SRAM ports A 256 B, B 64 B, C 64 B per cycle; fill and
// drain 32 + 32 - 2 = 62 cycles per fold.
#include <gtest/gtest.h>

#include "sat/stce_timing.h"

using namespace cestvp::sat;

namespace {

TimingParams paper() { return TimingParams{}; }  // the defaults are the paper platform's

StceWork gemm(std::uint32_t rows, std::uint32_t cols, std::uint32_t depth) {
  StceWork j;
  j.rows = rows;
  j.cols = cols;
  j.depth = depth;
  j.segment = depth;
  return j;
}

}  // namespace

TEST(StceTiming, WorkedExampleSparse) {
  // docs/engines.md: 64 x 64 x 256, B 2:8. Folds 2 x 2; K_eff = 32 groups x 2 = 64;
  // compute 64 + 62 = 126; A 32 x 256 x 2 / 256 = 64; B 32 x (64 x 2 + 6 x 4) / 64 = 76;
  // C 32 x 32 x 4 / 64 = 64. Fold 126; job 1 + 4 x 126 = 505.
  StceWork j = gemm(64, 64, 256);
  j.b_sparse = true;
  j.n = 2;
  j.m = 8;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 505u);
  EXPECT_EQ(c.stall_cycles, 0u);
  EXPECT_EQ(c.ops, 64u * 64u * 64u);
  EXPECT_EQ(c.ops_skipped, 64u * 64u * 192u);
  EXPECT_EQ(c.sram_read, 4u * (16384u + 4864u));
  EXPECT_EQ(c.sram_write, 4u * 4096u);
}

TEST(StceTiming, WorkedExampleDense) {
  // Per fold 256 + 62 = 318 (A 64, B 32 x 256 x 2 / 64 = 256, C 64): 1 + 4 x 318 = 1273.
  const JobCost c = stce_cost(gemm(64, 64, 256), paper());
  EXPECT_EQ(c.cycles, 1273u);
  EXPECT_EQ(c.ops, 64u * 64u * 256u);
  EXPECT_EQ(c.ops_skipped, 0u);
}

TEST(StceTiming, AccumulateDoublesOutputTrafficAndStalls) {
  // 32 x 32 x 16 FP32: compute 16 + 62 = 78; C read + write 2 x 4096 / 64 = 128 > 78.
  StceWork j = gemm(32, 32, 16);
  const JobCost plain = stce_cost(j, paper());
  EXPECT_EQ(plain.cycles, 1u + 78u);
  EXPECT_EQ(plain.stall_cycles, 0u);
  j.accumulate = true;
  const JobCost acc = stce_cost(j, paper());
  EXPECT_EQ(acc.cycles, 1u + 128u);
  EXPECT_EQ(acc.stall_cycles, 50u);
  EXPECT_EQ(acc.sram_read, 1024u + 1024u + 4096u);  // A, B, and C read first
  EXPECT_EQ(acc.sram_write, 4096u);
}

TEST(StceTiming, PartialFoldsTakeAFullFoldOfCompute) {
  // 40 x 10 x 8, FP16 out: folds (32 x 10) and (8 x 10), each compute 8 + 62 = 70 and SRAM
  // below that (A 512 / 256 = 2, B 160 / 64 = 3, C 640 / 64 = 10): 1 + 2 x 70 = 141.
  StceWork j = gemm(40, 10, 8);
  j.out_fp16 = true;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 141u);
  EXPECT_EQ(c.ops, 3200u);
  EXPECT_EQ(c.sram_write, 40u * 10u * 2u);
}

TEST(StceTiming, CompressedAWithSegmentsAndIndicesInAnotherBuffer) {
  // 32 x 32 x 64, A 2:4 with segments of 16: a line is 4 groups, 8 entries, 8 x 2 bits = 1
  // index word; K_eff = 4 segments x 8 = 32; compute 32 + 62 = 94. A values 32 x 4 x 8 x 2 =
  // 2048 B in A; A indices 32 x 4 x 4 = 512 B in B, with B 32 x 64 x 2 = 4096 B: 4608 / 64 = 72.
  StceWork j = gemm(32, 32, 64);
  j.a_sparse = true;
  j.n = 2;
  j.m = 4;
  j.segment = 16;
  j.a_idx_buffer = 1;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 1u + 94u);
  EXPECT_EQ(c.ops, 32u * 32u * 32u);
  EXPECT_EQ(c.sram_read, 2048u + 512u + 4096u);
}

TEST(StceTiming, OneSharedBufferServesEveryOperandThroughOnePort) {
  // 32 x 32 x 256 dense, all in buffer B (64 B/cycle): A 16384 + B 16384 + C 4096 = 36864 B /
  // 64 = 576 cycles against compute 256 + 62 = 318: stall 258.
  StceWork j = gemm(32, 32, 256);
  j.a_buffer = j.b_buffer = j.c_buffer = 1;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 1u + 576u);
  EXPECT_EQ(c.stall_cycles, 258u);
}

// ---- SRAM ports whose width does not divide the bytes of a fold -----------------------------
// Reliability II, class 8: the port terms round up per fold and per buffer, ceil(bytes / port).

TEST(StceTiming, OddShapeInOneBufferRoundsItsPortCyclesUp) {
  // 31 x 30 x 13, every operand in buffer B (64 B = 32 FP16 per cycle, K = 13 not a multiple):
  // one fold, compute 13 + 62 = 75; A 31 x 13 x 2 = 806 + B 30 x 13 x 2 = 780 + C 31 x 30 x 4 =
  // 3720 = 5306 B = 82 x 64 + 58: 83 cycles. Stall 83 - 75 = 8; job 1 + 83 = 84.
  StceWork j = gemm(31, 30, 13);
  j.a_buffer = j.b_buffer = j.c_buffer = 1;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 84u);
  EXPECT_EQ(c.stall_cycles, 8u);
  EXPECT_EQ(c.ops, 31u * 30u * 13u);
  EXPECT_EQ(c.sram_read, 806u + 780u);
  EXPECT_EQ(c.sram_write, 3720u);
}

TEST(StceTiming, AccumulatedOddOutputRoundsItsOwnPortUp) {
  // The same shape in separate buffers with ACCUMULATE: C read and written, 2 x 3720 = 7440 B
  // = 116 x 64 + 16: 117 cycles; A 806 / 256 -> 4, B 780 / 64 -> 13, compute 75. Fold 117,
  // stall 42; job 118.
  StceWork j = gemm(31, 30, 13);
  j.accumulate = true;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 118u);
  EXPECT_EQ(c.stall_cycles, 42u);
  EXPECT_EQ(c.sram_read, 806u + 780u + 3720u);
  EXPECT_EQ(c.sram_write, 3720u);
}

TEST(StceTiming, EachFoldSizeRoundsItsOwnPortCyclesUp) {
  // A 4 x 4 array, every operand in buffer B with an 8-byte port; 7 x 6 x 13: compute 13 + 4 +
  // 4 - 2 = 19 per fold; folds of 4 and 3 rows by 4 and 2 columns (A r x 26, B c x 26, C r x c x 4):
  //   4 x 4: 104 + 104 + 64 = 272 B -> 34 cycles (stall 15)
  //   4 x 2: 104 +  52 + 32 = 188 B -> 23.5 -> 24 (stall 5)
  //   3 x 4:  78 + 104 + 48 = 230 B -> 28.75 -> 29 (stall 10)
  //   3 x 2:  78 +  52 + 24 = 154 B -> 19.25 -> 20 (stall 1: one cycle more than compute)
  // Job 1 + 34 + 24 + 29 + 20 = 108, stall 31 (rounding the job's 844 B once would give 106).
  TimingParams small;
  small.array_rows = small.array_cols = 4;
  small.port_bytes[1] = 8;
  StceWork j = gemm(7, 6, 13);
  j.a_buffer = j.b_buffer = j.c_buffer = 1;
  const JobCost c = stce_cost(j, small);
  EXPECT_EQ(c.cycles, 108u);
  EXPECT_EQ(c.stall_cycles, 31u);
  EXPECT_EQ(c.sram_read, 104u + 104u + 104u + 52u + 78u + 104u + 78u + 52u);
  EXPECT_EQ(c.sram_write, 64u + 32u + 48u + 24u);
}

TEST(StceTiming, CompressedBWithATailGroupRoundsItsPortCyclesUp) {
  // 31 x 30 x 21, B 2:8 with S = K = 21: groups ceil(21 / 8) = 3 (the last of 5), 6 entries,
  // K_eff 6, 6 x 3 = 18 index bits in 1 word: a B line is 6 x 2 + 4 = 16 B. Compute 6 + 62 =
  // 68. Every operand in buffer B: A in full 31 x 21 x 2 = 1302 + B 30 x 16 = 480 + C 3720 =
  // 5502 B = 85 x 64 + 62: 86 cycles. Stall 18; job 87.
  StceWork j = gemm(31, 30, 21);
  j.b_sparse = true;
  j.n = 2;
  j.m = 8;
  j.a_buffer = j.b_buffer = j.b_idx_buffer = j.c_buffer = 1;
  const JobCost c = stce_cost(j, paper());
  EXPECT_EQ(c.cycles, 87u);
  EXPECT_EQ(c.stall_cycles, 18u);
  EXPECT_EQ(c.ops, 31u * 30u * 6u);
  EXPECT_EQ(c.ops_skipped, 31u * 30u * 15u);
  EXPECT_EQ(c.sram_read, 1302u + 480u);
  EXPECT_EQ(c.sram_write, 3720u);
}
