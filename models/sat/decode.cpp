#include "sat/decode.h"

#include <cstring>
#include <vector>

#include <cestvp/regs.h>
#include <cestvp/stce_geometry.h>

namespace cestvp::sat {

namespace r = regs::sat;

namespace {

// A JobError is what <E>_ERROR.CAUSE reads, one enum for every engine (group engine in regmap.yaml).
using Cause = r::engine::ErrorCause;
static_assert(static_cast<std::uint32_t>(Cause::NAN_INPUT) == static_cast<std::uint32_t>(JobError::nan_input));
static_assert(static_cast<std::uint32_t>(Cause::MISALIGNED) == static_cast<std::uint32_t>(JobError::misaligned));
static_assert(static_cast<std::uint32_t>(Cause::OUT_OF_SRAM) == static_cast<std::uint32_t>(JobError::out_of_sram));
static_assert(static_cast<std::uint32_t>(Cause::BAD_OP) == static_cast<std::uint32_t>(JobError::bad_op));

static_assert(static_cast<std::uint32_t>(r::StceOpOp::GEMM) == static_cast<std::uint32_t>(StceOp::gemm) &&
              static_cast<std::uint32_t>(r::StceOpOp::CONV_FWD) == static_cast<std::uint32_t>(StceOp::conv_fwd) &&
              static_cast<std::uint32_t>(r::StceOpOp::CONV_BWD_DATA) == static_cast<std::uint32_t>(StceOp::conv_bwd_data) &&
              static_cast<std::uint32_t>(r::StceOpOp::CONV_BWD_WEIGHT) == static_cast<std::uint32_t>(StceOp::conv_bwd_weight));

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

JobError check_nm(std::uint32_t n, std::uint32_t m, std::uint32_t m_mask) {
  if (n == 0 || n > m) return JobError::bad_nm;
  if (m > 32 || (m & (m - 1)) != 0 || !(m_mask & m)) return JobError::m_unsupported;
  return JobError::none;
}

bool in_range(std::uint32_t v, std::uint32_t max) { return v >= 1 && v <= max; }

// The job in the contract's words, for the geometry the firmware computes too (fw::stce_shape):
// the GEMM registers for a GEMM, the convolution registers otherwise.
fw::StceShape shape_of(const StceWork& j, std::uint32_t segment) {
  const fw::Sparse sparse = j.a_sparse ? fw::Sparse::a : j.b_sparse ? fw::Sparse::b : fw::Sparse::none;
  if (j.op == StceOp::gemm) {
    fw::StceGemm g;
    g.rows = j.rows, g.cols = j.cols, g.depth = j.depth, g.segment = segment;
    g.sparse = sparse, g.n = j.n, g.m = j.m, g.out_fp16 = j.out_fp16;
    return fw::stce_shape(g);
  }
  fw::StceConv c;
  static_cast<fw::ConvDims&>(c) = j.conv;
  c.op = fw::conv_op(j.op);
  c.sparse = sparse, c.n = j.n, c.m = j.m, c.out_fp16 = j.out_fp16;
  return fw::stce_shape(c);
}

// Which operand may be compressed, and transposes, per operation (docs/engines.md).
bool flags_allowed(const StceWork& j) {
  if (j.a_sparse && j.b_sparse) return false;
  if ((j.a_trans || j.b_trans) && j.op != StceOp::gemm) return false;
  if ((j.a_sparse && j.a_trans) || (j.b_sparse && j.b_trans)) return false;
  if (j.a_sparse && j.op != StceOp::gemm && j.op != StceOp::conv_bwd_data) return false;
  if (j.b_sparse && j.op == StceOp::conv_bwd_weight) return false;
  return true;
}

// Registers a dense FP16 operand, or a compressed one (values, then indices), of the sizes the
// job's shape gives.
void add_input(Operands& ops, const DecodeContext& c, bool sparse, std::uint64_t bytes, std::uint64_t idx_bytes,
               std::uint32_t addr_reg, std::uint32_t idx_reg, const std::uint8_t*& values,
               const std::uint32_t*& indices, unsigned& buffer, unsigned& idx_buffer) {
  values = ops.add(c.regs.get(addr_reg), bytes, 2, false, buffer);
  if (!sparse) {
    idx_buffer = buffer;
    return;
  }
  indices = reinterpret_cast<const std::uint32_t*>(ops.add(c.regs.get(idx_reg), idx_bytes, 4, false, idx_buffer));
}

}  // namespace

Decoded<StceWork> decode_stce(const DecodeContext& c) {
  Decoded<StceWork> d;
  StceWork& j = d.job;
  const r::StceOp op{c.regs.get(r::STCE_OP)};
  const auto code = static_cast<std::uint32_t>(op.op());
  if (code > static_cast<std::uint32_t>(StceOp::conv_bwd_weight)) return {j, JobError::bad_op};
  j.op = static_cast<StceOp>(code);
  j.accumulate = op.accumulate();
  j.out_fp16 = op.out_fp16();
  j.a_trans = op.a_trans();
  j.b_trans = op.b_trans();
  j.a_sparse = op.a_sparse();
  j.b_sparse = op.b_sparse();
  if (!flags_allowed(j)) return {j, JobError::bad_op};
  const r::StceNm nm{c.regs.get(r::STCE_NM)};
  j.n = nm.n();
  j.m = nm.m();
  if (j.a_sparse || j.b_sparse)
    if (const JobError e = check_nm(j.n, j.m, c.m_mask); e != JobError::none) return {j, e};

  const r::StceInSize in_size{c.regs.get(r::STCE_IN_SIZE)};
  const r::StceChannels channels{c.regs.get(r::STCE_CHANNELS)};
  const r::StceKernel kernel{c.regs.get(r::STCE_KERNEL)};
  j.conv = {c.regs.get(r::STCE_BATCH), in_size.h(),  in_size.w(),     channels.cin(), channels.cout(),
            kernel.kh(),               kernel.kw(), kernel.stride(), kernel.pad()};
  j.rows = c.regs.get(r::STCE_ROWS);
  j.cols = c.regs.get(r::STCE_COLS);
  j.depth = c.regs.get(r::STCE_DEPTH);
  const fw::StceShape shape = shape_of(j, c.regs.get(r::STCE_SEGMENT));
  if (!shape.valid()) return {j, JobError::bad_shape};
  j.rows = shape.rows, j.cols = shape.cols, j.depth = shape.depth, j.segment = shape.segment;

  Operands ops(c.sram);
  add_input(ops, c, j.a_sparse, shape.a_bytes, shape.a_idx_bytes, r::STCE_A_ADDR, r::STCE_A_IDX_ADDR, j.a, j.a_idx,
            j.a_buffer, j.a_idx_buffer);
  add_input(ops, c, j.b_sparse, shape.b_bytes, shape.b_idx_bytes, r::STCE_B_ADDR, r::STCE_B_IDX_ADDR, j.b, j.b_idx,
            j.b_buffer, j.b_idx_buffer);
  const unsigned out_elem = j.out_fp16 ? 2 : 4;
  j.c = ops.add(c.regs.get(r::STCE_C_ADDR), shape.c_bytes, out_elem, true, j.c_buffer);
  d.error = ops.finish();
  return d;
}

Decoded<OsreWork> decode_osre(const DecodeContext& c) {
  Decoded<OsreWork> d;
  OsreWork& j = d.job;
  const r::OsreCtrl ctrl{c.regs.get(r::OSRE_CTRL)};
  j.backward = ctrl.dir() == r::OsreCtrlDir::BACKWARD;
  j.src_fp32 = ctrl.src_fp32();
  const r::OsreNm nm{c.regs.get(r::OSRE_NM)};
  j.n = nm.n();
  j.m = nm.m();
  if (const JobError e = check_nm(j.n, j.m, c.m_mask); e != JobError::none) return {j, e};
  j.rows = c.regs.get(r::OSRE_ROWS);
  j.cols = c.regs.get(r::OSRE_COLS);
  if (!in_range(j.rows, fw::kSatMaxDim) || !in_range(j.cols, fw::kSatMaxDim)) return {j, JobError::bad_shape};

  const unsigned src_elem = j.src_fp32 ? 4 : 2;
  Operands ops(c.sram);
  j.src = ops.add(c.regs.get(r::OSRE_SRC_ADDR), j.src_bytes(), src_elem, false, j.src_buffer);
  j.values = ops.add(c.regs.get(r::OSRE_VAL_ADDR), j.values_bytes(), 2, true, j.val_buffer);
  j.indices = reinterpret_cast<std::uint32_t*>(ops.add(c.regs.get(r::OSRE_IDX_ADDR), j.index_bytes(), 4, true, j.idx_buffer));
  d.error = ops.finish();
  return d;
}

Decoded<WuveWork> decode_wuve(const DecodeContext& c) {
  Decoded<WuveWork> d;
  WuveWork& j = d.job;
  const auto f32 = [&](std::uint32_t reg) {
    const std::uint32_t bits = c.regs.get(reg);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  };
  j.write_fp16 = r::WuveCtrl{c.regs.get(r::WUVE_CTRL)}.write_fp16();
  j.count = c.regs.get(r::WUVE_COUNT);
  j.lr = f32(r::WUVE_LR);
  j.momentum = f32(r::WUVE_MOMENTUM_COEF);
  j.weight_decay = f32(r::WUVE_WEIGHT_DECAY);
  j.grad_scale = f32(r::WUVE_GRAD_SCALE);
  if (!in_range(j.count, fw::kWuveMaxCount)) return {j, JobError::bad_shape};

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
