#include "sat/decode.h"

#include <cstring>
#include <vector>

#include <cestvp/regs.h>

namespace cestvp::sat {

namespace r = regs::sat;

namespace {

static_assert(static_cast<std::uint32_t>(r::StceErrorCause::NAN_INPUT) == static_cast<std::uint32_t>(JobError::nan_input));
static_assert(static_cast<std::uint32_t>(r::OsreErrorCause::MISALIGNED) == static_cast<std::uint32_t>(JobError::misaligned));
static_assert(static_cast<std::uint32_t>(r::WuveErrorCause::OUT_OF_SRAM) == static_cast<std::uint32_t>(JobError::out_of_sram));
static_assert(static_cast<std::uint32_t>(r::StceErrorCause::BAD_OP) == static_cast<std::uint32_t>(JobError::bad_op));

constexpr std::uint32_t kMaxConvDim = 65535;
constexpr std::uint32_t kMaxGemmDim = 1u << 24;

// Collects a job's operands, checks each against the SRAM and the outputs against everything
// else; the first problem found is the job's error.
class Operands {
 public:
  explicit Operands(const SramBuffers& sram) : sram_(sram) {}

  // Resolves an operand of `bytes` bytes at SRAM address `address`; nullptr on error.
  std::uint8_t* add(std::uint32_t address, std::uint64_t bytes, unsigned align, bool output, unsigned& buffer) {
    buffer = fw::sram_buffer(address);
    const std::uint64_t offset = fw::sram_offset(address);
    if (buffer > 2 || bytes > sram_.size[buffer] || offset > sram_.size[buffer] - bytes) return fail(JobError::out_of_sram);
    if (offset % align != 0) return fail(JobError::misaligned);
    spans_.push_back({buffer, offset, bytes, output});
    return sram_.data[buffer] ? sram_.data[buffer] + offset : nullptr;
  }

  void fail_with(JobError e) { fail(e); }

  JobError finish() {
    for (std::size_t i = 0; i < spans_.size() && error_ == JobError::none; ++i)
      for (std::size_t j = 0; j < spans_.size(); ++j)
        if (i != j && spans_[i].output && spans_[i].overlaps(spans_[j])) fail(JobError::overlap);
    return error_;
  }

 private:
  struct Span {
    unsigned buffer;
    std::uint64_t offset, bytes;
    bool output;
    bool overlaps(const Span& o) const {
      return buffer == o.buffer && offset < o.offset + o.bytes && o.offset < offset + bytes;
    }
  };

  std::uint8_t* fail(JobError e) {
    if (error_ == JobError::none) error_ = e;
    return nullptr;
  }

  const SramBuffers& sram_;
  std::vector<Span> spans_;
  JobError error_ = JobError::none;
};

std::uint32_t field(std::uint32_t value, std::uint32_t mask, std::uint32_t shift) { return (value & mask) >> shift; }

JobError check_nm(std::uint32_t n, std::uint32_t m, std::uint32_t m_mask) {
  if (n == 0 || n > m) return JobError::bad_nm;
  if (m > 32 || (m & (m - 1)) != 0 || !(m_mask & m)) return JobError::m_unsupported;
  return JobError::none;
}

bool in_range(std::uint32_t v, std::uint32_t max) { return v >= 1 && v <= max; }

// Fills the GEMM view of a convolution; false if the shape is not legal.
bool conv_view(StceJob& j) {
  ConvShape& s = j.conv;
  for (std::uint32_t v : {s.batch, s.h, s.w, s.cin, s.cout, s.kh, s.kw, s.stride})
    if (!in_range(v, kMaxConvDim)) return false;
  s.oh = fw::conv_out(s.h, s.kh, s.stride, s.pad);
  s.ow = fw::conv_out(s.w, s.kw, s.stride, s.pad);
  if (s.oh == 0 || s.ow == 0) return false;
  const std::uint64_t taps = std::uint64_t{s.kh} * s.kw;
  std::uint64_t rows = 0, cols = 0, depth = 0;
  switch (j.op) {
    case StceOp::conv_fwd:
      rows = std::uint64_t{s.batch} * s.oh * s.ow, cols = s.cout, depth = taps * s.cin, j.segment = s.cin;
      break;
    case StceOp::conv_bwd_data:
      rows = std::uint64_t{s.batch} * s.h * s.w, cols = s.cin, depth = taps * s.cout, j.segment = s.cout;
      break;
    case StceOp::conv_bwd_weight:
      rows = s.cout, cols = taps * s.cin, depth = std::uint64_t{s.batch} * s.oh * s.ow;
      j.segment = static_cast<std::uint32_t>(depth);
      break;
    case StceOp::gemm:
      return false;
  }
  if (rows > kMaxGemmDim || cols > kMaxGemmDim || depth > kMaxGemmDim) return false;
  j.rows = static_cast<std::uint32_t>(rows);
  j.cols = static_cast<std::uint32_t>(cols);
  j.depth = static_cast<std::uint32_t>(depth);
  return true;
}

bool gemm_view(StceJob& j, std::uint32_t segment) {
  if (!in_range(j.rows, kMaxGemmDim) || !in_range(j.cols, kMaxGemmDim) || !in_range(j.depth, kMaxGemmDim)) return false;
  j.segment = segment == 0 ? j.depth : segment;
  return j.depth % j.segment == 0;
}

// Which operand may be compressed, and transposes, per operation (docs/engines.md).
bool flags_allowed(const StceJob& j) {
  if (j.a_sparse && j.b_sparse) return false;
  if ((j.a_trans || j.b_trans) && j.op != StceOp::gemm) return false;
  if ((j.a_sparse && j.a_trans) || (j.b_sparse && j.b_trans)) return false;
  if (j.a_sparse && j.op != StceOp::gemm && j.op != StceOp::conv_bwd_data) return false;
  if (j.b_sparse && j.op == StceOp::conv_bwd_weight) return false;
  return true;
}

// Element counts of A and B as stored (dense), and the line count of a compressed operand.
struct OperandSizes {
  std::uint64_t a_elems, b_elems, a_lines, b_lines;
};

OperandSizes operand_sizes(const StceJob& j) {
  const ConvShape& s = j.conv;
  const std::uint64_t x = std::uint64_t{s.batch} * s.h * s.w * s.cin;
  const std::uint64_t dy = std::uint64_t{s.batch} * s.oh * s.ow * s.cout;
  const std::uint64_t w = std::uint64_t{s.cout} * s.kh * s.kw * s.cin;
  const std::uint64_t segments = j.depth / j.segment;
  switch (j.op) {
    case StceOp::gemm:
      return {std::uint64_t{j.rows} * j.depth, std::uint64_t{j.depth} * j.cols, j.rows * segments, j.cols * segments};
    case StceOp::conv_fwd:
      return {x, w, 0, j.cols * segments};
    case StceOp::conv_bwd_data:
      return {dy, w, std::uint64_t{s.batch} * s.oh * s.ow, j.cols * segments};
    case StceOp::conv_bwd_weight:
      return {dy, x, 0, 0};
  }
  return {};
}

// Registers a compressed operand (values and indices) or a dense FP16 one.
void add_input(Operands& ops, const DecodeContext& c, const StceJob& j, bool sparse, std::uint64_t elems,
               std::uint64_t lines, std::uint32_t addr_reg, std::uint32_t idx_reg, const std::uint8_t*& values,
               const std::uint32_t*& indices, unsigned& buffer, unsigned& idx_buffer) {
  if (!sparse) {
    values = ops.add(c.regs.get(addr_reg), elems * 2, 2, false, buffer);
    idx_buffer = buffer;
    return;
  }
  const fw::NmLine line = j.line();
  values = ops.add(c.regs.get(addr_reg), lines * line.entries() * 2, 2, false, buffer);
  indices = reinterpret_cast<const std::uint32_t*>(
      ops.add(c.regs.get(idx_reg), lines * line.index_words() * 4, 4, false, idx_buffer));
}

}  // namespace

Decoded<StceJob> decode_stce(const DecodeContext& c) {
  Decoded<StceJob> d;
  StceJob& j = d.job;
  const std::uint32_t op = c.regs.get(r::STCE_OP);
  const std::uint32_t code = field(op, r::STCE_OP_OP_MASK, r::STCE_OP_OP_SHIFT);
  if (code > static_cast<std::uint32_t>(StceOp::conv_bwd_weight)) return {j, JobError::bad_op};
  j.op = static_cast<StceOp>(code);
  j.accumulate = op & r::STCE_OP_ACCUMULATE_MASK;
  j.out_fp16 = op & r::STCE_OP_OUT_FP16_MASK;
  j.a_trans = op & r::STCE_OP_A_TRANS_MASK;
  j.b_trans = op & r::STCE_OP_B_TRANS_MASK;
  j.a_sparse = op & r::STCE_OP_A_SPARSE_MASK;
  j.b_sparse = op & r::STCE_OP_B_SPARSE_MASK;
  if (!flags_allowed(j)) return {j, JobError::bad_op};
  const std::uint32_t nm = c.regs.get(r::STCE_NM);
  j.n = field(nm, r::STCE_NM_N_MASK, r::STCE_NM_N_SHIFT);
  j.m = field(nm, r::STCE_NM_M_MASK, r::STCE_NM_M_SHIFT);
  if (j.a_sparse || j.b_sparse)
    if (const JobError e = check_nm(j.n, j.m, c.m_mask); e != JobError::none) return {j, e};

  const std::uint32_t in_size = c.regs.get(r::STCE_IN_SIZE), channels = c.regs.get(r::STCE_CHANNELS),
                      kernel = c.regs.get(r::STCE_KERNEL);
  j.conv = {c.regs.get(r::STCE_BATCH),
            field(in_size, r::STCE_IN_SIZE_H_MASK, r::STCE_IN_SIZE_H_SHIFT),
            field(in_size, r::STCE_IN_SIZE_W_MASK, r::STCE_IN_SIZE_W_SHIFT),
            field(channels, r::STCE_CHANNELS_CIN_MASK, r::STCE_CHANNELS_CIN_SHIFT),
            field(channels, r::STCE_CHANNELS_COUT_MASK, r::STCE_CHANNELS_COUT_SHIFT),
            field(kernel, r::STCE_KERNEL_KH_MASK, r::STCE_KERNEL_KH_SHIFT),
            field(kernel, r::STCE_KERNEL_KW_MASK, r::STCE_KERNEL_KW_SHIFT),
            field(kernel, r::STCE_KERNEL_STRIDE_MASK, r::STCE_KERNEL_STRIDE_SHIFT),
            field(kernel, r::STCE_KERNEL_PAD_MASK, r::STCE_KERNEL_PAD_SHIFT)};
  j.rows = c.regs.get(r::STCE_ROWS);
  j.cols = c.regs.get(r::STCE_COLS);
  j.depth = c.regs.get(r::STCE_DEPTH);
  const bool shape_ok = j.op == StceOp::gemm ? gemm_view(j, c.regs.get(r::STCE_SEGMENT)) : conv_view(j);
  if (!shape_ok) return {j, JobError::bad_shape};

  const OperandSizes sizes = operand_sizes(j);
  Operands ops(c.sram);
  add_input(ops, c, j, j.a_sparse, sizes.a_elems, sizes.a_lines, r::STCE_A_ADDR, r::STCE_A_IDX_ADDR, j.a, j.a_idx,
            j.a_buffer, j.a_idx_buffer);
  add_input(ops, c, j, j.b_sparse, sizes.b_elems, sizes.b_lines, r::STCE_B_ADDR, r::STCE_B_IDX_ADDR, j.b, j.b_idx,
            j.b_buffer, j.b_idx_buffer);
  const unsigned out_elem = j.out_fp16 ? 2 : 4;
  j.c = ops.add(c.regs.get(r::STCE_C_ADDR), std::uint64_t{j.rows} * j.cols * out_elem, out_elem, true, j.c_buffer);
  d.error = ops.finish();
  return d;
}

Decoded<OsreJob> decode_osre(const DecodeContext& c) {
  Decoded<OsreJob> d;
  OsreJob& j = d.job;
  const std::uint32_t ctrl = c.regs.get(r::OSRE_CTRL);
  j.backward = field(ctrl, r::OSRE_CTRL_DIR_MASK, r::OSRE_CTRL_DIR_SHIFT) ==
               static_cast<std::uint32_t>(r::OsreCtrlDir::BACKWARD);
  j.src_fp32 = ctrl & r::OSRE_CTRL_SRC_FP32_MASK;
  const std::uint32_t nm = c.regs.get(r::OSRE_NM);
  j.n = field(nm, r::OSRE_NM_N_MASK, r::OSRE_NM_N_SHIFT);
  j.m = field(nm, r::OSRE_NM_M_MASK, r::OSRE_NM_M_SHIFT);
  if (const JobError e = check_nm(j.n, j.m, c.m_mask); e != JobError::none) return {j, e};
  j.rows = c.regs.get(r::OSRE_ROWS);
  j.cols = c.regs.get(r::OSRE_COLS);
  if (!in_range(j.rows, kMaxGemmDim) || !in_range(j.cols, kMaxGemmDim)) return {j, JobError::bad_shape};

  const unsigned src_elem = j.src_fp32 ? 4 : 2;
  const fw::NmLine line = j.line();
  Operands ops(c.sram);
  j.src = ops.add(c.regs.get(r::OSRE_SRC_ADDR), std::uint64_t{j.rows} * j.cols * src_elem, src_elem, false, j.src_buffer);
  j.values = ops.add(c.regs.get(r::OSRE_VAL_ADDR), std::uint64_t{j.lines()} * line.entries() * 2, 2, true, j.val_buffer);
  j.indices = reinterpret_cast<std::uint32_t*>(
      ops.add(c.regs.get(r::OSRE_IDX_ADDR), std::uint64_t{j.lines()} * line.index_words() * 4, 4, true, j.idx_buffer));
  d.error = ops.finish();
  return d;
}

Decoded<WuveJob> decode_wuve(const DecodeContext& c) {
  Decoded<WuveJob> d;
  WuveJob& j = d.job;
  const auto f32 = [&](std::uint32_t reg) {
    const std::uint32_t bits = c.regs.get(reg);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  };
  j.write_fp16 = c.regs.get(r::WUVE_CTRL) & r::WUVE_CTRL_WRITE_FP16_MASK;
  j.count = c.regs.get(r::WUVE_COUNT);
  j.lr = f32(r::WUVE_LR);
  j.momentum = f32(r::WUVE_MOMENTUM_COEF);
  j.weight_decay = f32(r::WUVE_WEIGHT_DECAY);
  j.grad_scale = f32(r::WUVE_GRAD_SCALE);
  if (!in_range(j.count, 1u << 28)) return {j, JobError::bad_shape};

  const std::uint64_t n = j.count;
  Operands ops(c.sram);
  j.grad = ops.add(c.regs.get(r::WUVE_GRAD_ADDR), n * 2, 2, false, j.grad_buffer);
  j.weight = reinterpret_cast<float*>(ops.add(c.regs.get(r::WUVE_WEIGHT_ADDR), n * 4, 4, true, j.weight_buffer));
  j.velocity = reinterpret_cast<float*>(ops.add(c.regs.get(r::WUVE_MOMENTUM_ADDR), n * 4, 4, true, j.momentum_buffer));
  if (j.write_fp16) j.out = ops.add(c.regs.get(r::WUVE_OUT_ADDR), n * 2, 2, true, j.out_buffer);
  d.error = ops.finish();
  return d;
}

}  // namespace cestvp::sat
