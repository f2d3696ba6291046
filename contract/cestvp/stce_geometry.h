// The STCE's operand geometry (docs/engines.md, "STCE"): the GEMM view of a job and the size of
// each operand in SRAM, with the limits the engine checks. Computed here once: the firmware sizes
// and checks its jobs with it, the SAT model decodes its registers into a job and checks it with
// the same function. SystemC-free.
#pragma once
#include <cstdint>

#include <cestvp/sat_abi.h>
#include <cestvp/sat_job.h>

namespace cestvp::fw {

// The GEMM view of an STCE job and its operands' sizes in SRAM (bytes); all zeros for a shape
// the engine rejects as BAD_SHAPE.
struct StceShape {
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t segment = 0;  // N:M segment along depth (never 0 for a valid shape)
  std::uint64_t a_bytes = 0, a_idx_bytes = 0, b_bytes = 0, b_idx_bytes = 0, c_bytes = 0;
  std::uint64_t macs = 0;        // executed: rows x cols x K_eff
  std::uint64_t macs_dense = 0;  // rows x cols x K
  bool valid() const { return rows != 0; }
};

namespace stce_detail {

inline bool in_range(std::uint64_t v, std::uint64_t max) { return v >= 1 && v <= max; }

// Bytes of an operand: dense FP16 elements, or `lines` compressed lines of one segment each.
inline void operand_bytes(bool sparse, std::uint64_t elems, std::uint64_t lines, const NmLine& line,
                          std::uint64_t& values, std::uint64_t& indices) {
  if (!sparse) {
    values = elems * 2;
    indices = 0;
    return;
  }
  values = lines * line.entries() * 2;
  indices = lines * line.index_words() * 4;
}

// Fills the sizes of a shape whose rows, cols, depth and segment are set, from the dense element
// counts of A and B and the line counts of a compressed one.
inline StceShape finish(StceShape s, Sparse sparse, std::uint32_t n, std::uint32_t m, bool out_fp16,
                        std::uint64_t a_elems, std::uint64_t b_elems, std::uint64_t a_lines, std::uint64_t b_lines) {
  if (sparse != Sparse::none && (n == 0 || m == 0)) return {};
  const NmLine line{s.segment, s.segment, n, m};
  operand_bytes(sparse == Sparse::a, a_elems, a_lines, line, s.a_bytes, s.a_idx_bytes);
  operand_bytes(sparse == Sparse::b, b_elems, b_lines, line, s.b_bytes, s.b_idx_bytes);
  s.c_bytes = std::uint64_t{s.rows} * s.cols * (out_fp16 ? 2 : 4);
  const std::uint64_t k_eff = sparse == Sparse::none ? s.depth : std::uint64_t{s.depth / s.segment} * line.entries();
  s.macs = std::uint64_t{s.rows} * s.cols * k_eff;
  s.macs_dense = std::uint64_t{s.rows} * s.cols * s.depth;
  return s;
}

}  // namespace stce_detail

inline StceShape stce_shape(const StceGemm& j) {
  using stce_detail::in_range;
  if (!in_range(j.rows, kSatMaxDim) || !in_range(j.cols, kSatMaxDim) || !in_range(j.depth, kSatMaxDim)) return {};
  StceShape s;
  s.rows = j.rows, s.cols = j.cols, s.depth = j.depth;
  s.segment = j.segment == 0 ? j.depth : j.segment;
  if (j.depth % s.segment != 0) return {};
  const std::uint64_t segments = j.depth / s.segment;
  return stce_detail::finish(s, j.sparse, j.n, j.m, j.out_fp16, std::uint64_t{j.rows} * j.depth,
                             std::uint64_t{j.depth} * j.cols, j.rows * segments, j.cols * segments);
}

inline StceShape stce_shape(const StceConv& j) {
  using stce_detail::in_range;
  for (std::uint32_t v : {j.batch, j.h, j.w, j.cin, j.cout, j.kh, j.kw, j.stride})
    if (!in_range(v, kStceMaxConvDim)) return {};
  if (j.kh > kStceMaxKernelField || j.kw > kStceMaxKernelField || j.stride > kStceMaxKernelField ||
      j.pad > kStceMaxKernelField)
    return {};
  const std::uint64_t oh = j.oh(), ow = j.ow();
  if (oh == 0 || ow == 0) return {};
  const std::uint64_t taps = std::uint64_t{j.kh} * j.kw;
  const std::uint64_t x = std::uint64_t{j.batch} * j.h * j.w * j.cin;
  const std::uint64_t dy = std::uint64_t{j.batch} * oh * ow * j.cout;
  const std::uint64_t w = std::uint64_t{j.cout} * taps * j.cin;
  // The GEMM view (docs/engines.md): a compressed W~ has a line of one segment per (output
  // channel, tap); a compressed dY~ one per output pixel.
  std::uint64_t rows = 0, cols = 0, depth = 0, segment = 0, a = 0, b = 0, a_lines = 0, b_lines = 0;
  switch (j.op) {
    case ConvOp::fwd:
      rows = j.batch * oh * ow, cols = j.cout, depth = taps * j.cin, segment = j.cin;
      a = x, b = w, b_lines = cols * taps;
      break;
    case ConvOp::bwd_data:
      rows = std::uint64_t{j.batch} * j.h * j.w, cols = j.cin, depth = taps * j.cout, segment = j.cout;
      a = dy, b = w, a_lines = j.batch * oh * ow, b_lines = cols * taps;
      break;
    case ConvOp::bwd_weight:
      rows = j.cout, cols = taps * j.cin, depth = j.batch * oh * ow, segment = depth;
      a = dy, b = x;
      break;
  }
  if (rows > kSatMaxDim || cols > kSatMaxDim || depth > kSatMaxDim) return {};
  StceShape s;
  s.rows = static_cast<std::uint32_t>(rows), s.cols = static_cast<std::uint32_t>(cols);
  s.depth = static_cast<std::uint32_t>(depth), s.segment = static_cast<std::uint32_t>(segment);
  return stce_detail::finish(s, j.sparse, j.n, j.m, j.out_fp16, a, b, a_lines, b_lines);
}

}  // namespace cestvp::fw
