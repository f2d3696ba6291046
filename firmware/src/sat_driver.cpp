#include <cestvp/sat_driver.h>

#include <cstdio>
#include <cstring>

#include <cestvp/regs.h>

namespace cestvp::fw {

namespace r = regs::sat;

namespace {

// The common registers of an engine, relative to its <E>_START (the same for every engine).
constexpr std::uint32_t kStatus = r::STCE_STATUS - r::STCE_START;
constexpr std::uint32_t kError = r::STCE_ERROR - r::STCE_START;
constexpr std::uint32_t kJobs = r::STCE_JOBS - r::STCE_START;
constexpr std::uint32_t kBusy = r::STCE_BUSY_CYCLES_LO - r::STCE_START;
constexpr std::uint32_t kStall = r::STCE_STALL_CYCLES_LO - r::STCE_START;
constexpr std::uint32_t kOps = r::STCE_OPS_LO - r::STCE_START;
constexpr std::uint32_t kOpsSkipped = r::STCE_OPS_SKIPPED_LO - r::STCE_START;
constexpr std::uint32_t kSramRead = r::STCE_SRAM_READ_LO - r::STCE_START;
constexpr std::uint32_t kSramWrite = r::STCE_SRAM_WRITE_LO - r::STCE_START;
static_assert(r::OSRE_SRAM_WRITE_LO - r::OSRE_START == kSramWrite && r::WUVE_SRAM_WRITE_LO - r::WUVE_START == kSramWrite);
static_assert(r::OSRE_ERROR - r::OSRE_START == kError && r::WUVE_ERROR - r::WUVE_START == kError);
static_assert(r::OSRE_STATUS - r::OSRE_START == kStatus && r::WUVE_STATUS - r::WUVE_START == kStatus);
static_assert(r::OSRE_JOBS - r::OSRE_START == kJobs && r::WUVE_JOBS - r::WUVE_START == kJobs);

struct EngineRegs {
  std::uint32_t start;
  std::uint32_t done_bit, error_bit;  // in IRQ_STATUS
};

constexpr EngineRegs kEngines[3] = {
    {r::STCE_START, r::IRQ_STATUS_STCE_DONE_MASK, r::IRQ_STATUS_STCE_ERROR_MASK},
    {r::OSRE_START, r::IRQ_STATUS_OSRE_DONE_MASK, r::IRQ_STATUS_OSRE_ERROR_MASK},
    {r::WUVE_START, r::IRQ_STATUS_WUVE_DONE_MASK, r::IRQ_STATUS_WUVE_ERROR_MASK},
};

const EngineRegs& regs_of(SatEngine e) { return kEngines[static_cast<unsigned>(e)]; }
std::uint32_t event_bits(SatEngine e) { return regs_of(e).done_bit | regs_of(e).error_bit; }

constexpr std::uint32_t kAllEvents = r::IRQ_STATUS_STCE_DONE_MASK | r::IRQ_STATUS_STCE_ERROR_MASK |
                                     r::IRQ_STATUS_OSRE_DONE_MASK | r::IRQ_STATUS_OSRE_ERROR_MASK |
                                     r::IRQ_STATUS_WUVE_DONE_MASK | r::IRQ_STATUS_WUVE_ERROR_MASK;

std::uint64_t read64(Mmio& io, std::uint32_t lo) {
  const std::uint64_t low = io.read(lo);
  return (std::uint64_t{io.read(lo + 4)} << 32) | low;
}

std::uint32_t f32_bits(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

constexpr std::uint32_t kMaxGemmDim = 1u << 24;
constexpr std::uint32_t kMaxConvDim = 65535;
constexpr std::uint32_t kMaxKernelField = 255;  // KH, KW, STRIDE, PAD are 8-bit fields

bool in_range(std::uint64_t v, std::uint64_t max) { return v >= 1 && v <= max; }

// Bytes of an operand: dense FP16 elements, or `lines` compressed lines of one segment each.
void operand_bytes(bool sparse, std::uint64_t elems, std::uint64_t lines, const NmLine& line, std::uint64_t& values,
                   std::uint64_t& indices) {
  if (!sparse) {
    values = elems * 2;
    indices = 0;
    return;
  }
  values = lines * line.entries() * 2;
  indices = lines * line.index_words() * 4;
}

// Fills the sizes of a shape whose rows, cols, depth and segment are set.
StceShape finish_shape(StceShape s, Sparse sparse, std::uint32_t n, std::uint32_t m, bool out_fp16,
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

std::uint32_t op_flags(bool accumulate, bool out_fp16, bool a_trans, bool b_trans, Sparse sparse) {
  return (accumulate ? r::STCE_OP_ACCUMULATE_MASK : 0) | (out_fp16 ? r::STCE_OP_OUT_FP16_MASK : 0) |
         (a_trans ? r::STCE_OP_A_TRANS_MASK : 0) | (b_trans ? r::STCE_OP_B_TRANS_MASK : 0) |
         (sparse == Sparse::a ? r::STCE_OP_A_SPARSE_MASK : 0) | (sparse == Sparse::b ? r::STCE_OP_B_SPARSE_MASK : 0);
}

std::uint32_t nm_word(std::uint32_t n, std::uint32_t m) {
  return field_put(n, r::STCE_NM_N_MASK, r::STCE_NM_N_SHIFT) | field_put(m, r::STCE_NM_M_MASK, r::STCE_NM_M_SHIFT);
}

}  // namespace

const char* to_string(SatEngine engine) {
  switch (engine) {
    case SatEngine::stce: return "STCE";
    case SatEngine::osre: return "OSRE";
    case SatEngine::wuve: return "WUVE";
  }
  return "?";
}

const char* to_string(ConvOp op) {
  switch (op) {
    case ConvOp::fwd: return "CONV_FWD";
    case ConvOp::bwd_data: return "CONV_BWD_DATA";
    case ConvOp::bwd_weight: return "CONV_BWD_WEIGHT";
  }
  return "?";
}

const char* sat_cause_name(std::uint32_t cause) { return r::to_string(static_cast<r::StceErrorCause>(cause)); }

const char* SatJobResult::cause_name() const { return sat_cause_name(cause); }

std::string SatJobResult::describe() const {
  char buf[256];
  if (!problem.empty())
    std::snprintf(buf, sizeof buf, "driver: %s", problem.c_str());
  else if (ok)
    std::snprintf(buf, sizeof buf, "done after %.3f us", (end_ps - start_ps) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "engine error %s (cause %u)", cause_name(), cause);
  return buf;
}

StceShape stce_shape(const StceGemm& j) {
  if (!in_range(j.rows, kMaxGemmDim) || !in_range(j.cols, kMaxGemmDim) || !in_range(j.depth, kMaxGemmDim)) return {};
  StceShape s;
  s.rows = j.rows, s.cols = j.cols, s.depth = j.depth;
  s.segment = j.segment == 0 ? j.depth : j.segment;
  if (j.depth % s.segment != 0) return {};
  const std::uint64_t segments = j.depth / s.segment;
  return finish_shape(s, j.sparse, j.n, j.m, j.out_fp16, std::uint64_t{j.rows} * j.depth,
                      std::uint64_t{j.depth} * j.cols, j.rows * segments, j.cols * segments);
}

StceShape stce_shape(const StceConv& j) {
  for (std::uint32_t v : {j.batch, j.h, j.w, j.cin, j.cout, j.kh, j.kw, j.stride})
    if (!in_range(v, kMaxConvDim)) return {};
  if (j.kh > kMaxKernelField || j.kw > kMaxKernelField || j.stride > kMaxKernelField || j.pad > kMaxKernelField)
    return {};
  const std::uint64_t oh = j.oh(), ow = j.ow();
  if (oh == 0 || ow == 0) return {};
  const std::uint64_t taps = std::uint64_t{j.kh} * j.kw;
  const std::uint64_t x = std::uint64_t{j.batch} * j.h * j.w * j.cin;
  const std::uint64_t dy = std::uint64_t{j.batch} * oh * ow * j.cout;
  const std::uint64_t w = std::uint64_t{j.cout} * taps * j.cin;
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
  if (rows > UINT32_MAX || cols > UINT32_MAX || depth > UINT32_MAX) return {};
  StceShape s;
  s.rows = static_cast<std::uint32_t>(rows), s.cols = static_cast<std::uint32_t>(cols);
  s.depth = static_cast<std::uint32_t>(depth), s.segment = static_cast<std::uint32_t>(segment);
  return finish_shape(s, j.sparse, j.n, j.m, j.out_fp16, a, b, a_lines, b_lines);
}

SatCounters operator-(const SatCounters& a, const SatCounters& b) {
  return {a.jobs - b.jobs,           a.busy_cycles - b.busy_cycles, a.stall_cycles - b.stall_cycles,
          a.ops - b.ops,             a.ops_skipped - b.ops_skipped, a.sram_read - b.sram_read,
          a.sram_write - b.sram_write};
}

SatCounters read_sat_counters(Mmio& io, SatEngine engine) {
  const std::uint32_t base = regs_of(engine).start;
  SatCounters c;
  c.jobs = io.read(base + kJobs);
  c.busy_cycles = read64(io, base + kBusy);
  c.stall_cycles = read64(io, base + kStall);
  c.ops = read64(io, base + kOps);
  c.ops_skipped = read64(io, base + kOpsSkipped);
  c.sram_read = read64(io, base + kSramRead);
  c.sram_write = read64(io, base + kSramWrite);
  return c;
}

SatCounters read_sat_counters(Hal& hal, const BootInfo& boot, SatEngine engine) {
  Mmio io(hal, boot.sat_regs.base);
  return read_sat_counters(io, engine);
}

// --- SatIrq ---------------------------------------------------------------------------------

SatIrq::SatIrq(Hal& hal, Irq& irq, const BootInfo& boot)
    : hal_(hal), irq_(irq), io_(hal, boot.sat_regs.base), line_(boot.irq_sat) {
  // Events left over from before this driver (another program) are not ours to report.
  io_.write(r::IRQ_STATUS, kAllEvents);
  io_.write(r::IRQ_ENABLE, io_.read(r::IRQ_ENABLE) | kAllEvents);
  irq_.enable(line_);
}

void SatIrq::service() {
  // Clear what was read: the line falls, and the next event makes a new edge. An event that
  // arrives between the read and the clear keeps the line high without an edge, so read again
  // until IRQ_STATUS is empty (bounded: a stuck bit must not hang the firmware here).
  for (int pass = 0; pass < 8; ++pass) {
    const std::uint32_t status = io_.read(r::IRQ_STATUS);
    if (io_.faulted() || status == 0) return;
    io_.write(r::IRQ_STATUS, status);
    events_ |= status;
  }
}

std::uint32_t SatIrq::wait(SatEngine engine, std::uint64_t timeout_ns) {
  const std::uint32_t mask = event_bits(engine);
  const std::uint64_t deadline_ps = timeout_ns == kNoTimeout ? UINT64_MAX : hal_.now_ps() + timeout_ns * 1000;
  const auto take = [&] {
    const std::uint32_t bits = events_ & mask;
    events_ &= ~mask;
    return bits;
  };
  for (;;) {
    service();
    if (io_.faulted()) return 0;
    if (events_ & mask) return take();
    const std::uint64_t now = hal_.now_ps();
    if (now >= deadline_ps) return 0;
    const std::uint64_t left_ns = deadline_ps == UINT64_MAX ? kNoTimeout : (deadline_ps - now + 999) / 1000;
    if (!irq_.wait(line_, left_ns)) {
      service();  // the last look before giving up
      return io_.faulted() ? 0 : take();
    }
  }
}

void SatIrq::forget(SatEngine engine) {
  service();
  events_ &= ~event_bits(engine);
}

// --- Engine drivers --------------------------------------------------------------------------

SatEngineDriver::SatEngineDriver(Hal& hal, SatIrq& irq, const BootInfo& boot, SatEngine engine,
                                 std::uint64_t timeout_ns)
    : io_(hal, boot.sat_regs.base), irq_(irq), engine_(engine), base_(regs_of(engine).start), timeout_ns_(timeout_ns) {}

bool SatEngineDriver::busy() { return (io_.read(base_ + kStatus) & r::STCE_STATUS_BUSY_MASK) != 0; }

void SatEngineDriver::go() {
  started_ = true;
  start_problem_.clear();
  if (io_.faulted()) {
    start_problem_ = std::string("programming the ") + to_string(engine_) + " job failed: " + io_.fault();
    io_.clear_fault();
    return;
  }
  irq_.forget(engine_);
  start_ps_ = io_.hal().now_ps();
  io_.write(base_, r::STCE_START_GO_MASK);
  if (io_.faulted()) {
    start_problem_ = std::string("starting ") + to_string(engine_) + " failed: " + io_.fault();
    io_.clear_fault();
  }
}

SatJobResult SatEngineDriver::wait() {
  SatJobResult result;
  result.start_ps = start_ps_;
  if (!started_) {
    result.problem = std::string("no ") + to_string(engine_) + " job was started";
    return result;
  }
  started_ = false;
  if (!start_problem_.empty()) {
    result.problem = start_problem_;
    return result;
  }
  const std::uint32_t bits = irq_.wait(engine_, timeout_ns_);
  result.end_ps = io_.hal().now_ps();
  if (bits == 0) {
    if (irq_.io().faulted()) {
      result.problem = "reading the SAT IRQ_STATUS failed: " + irq_.io().fault();
      irq_.io().clear_fault();
    } else if (irq_.irq().io().faulted()) {
      result.problem = "interrupt controller: " + irq_.irq().io().fault();
    } else {
      result.problem = std::string("no ") + to_string(engine_) + " interrupt within the timeout";
    }
    return result;
  }
  result.cause = field_get(io_.read(base_ + kError), r::STCE_ERROR_CAUSE_MASK, r::STCE_ERROR_CAUSE_SHIFT);
  const EngineRegs& e = regs_of(engine_);
  result.ok = (bits & e.error_bit) == 0 && (bits & e.done_bit) != 0 && result.cause == 0;
  if (io_.faulted()) {
    result.ok = false;
    result.problem = std::string("reading ") + to_string(engine_) + "_ERROR failed: " + io_.fault();
    io_.clear_fault();
  }
  return result;
}

void StceDriver::start(const StceGemm& j) {
  io_.write(r::STCE_OP, static_cast<std::uint32_t>(r::StceOpOp::GEMM) |
                            op_flags(j.accumulate, j.out_fp16, j.a_trans, j.b_trans, j.sparse));
  io_.write(r::STCE_NM, nm_word(j.n, j.m));
  io_.write(r::STCE_ROWS, j.rows);
  io_.write(r::STCE_COLS, j.cols);
  io_.write(r::STCE_DEPTH, j.depth);
  io_.write(r::STCE_SEGMENT, j.segment);
  io_.write(r::STCE_BATCH, 0);
  io_.write(r::STCE_IN_SIZE, 0);
  io_.write(r::STCE_CHANNELS, 0);
  io_.write(r::STCE_KERNEL, 0);
  io_.write(r::STCE_A_ADDR, j.a);
  io_.write(r::STCE_A_IDX_ADDR, j.a_idx);
  io_.write(r::STCE_B_ADDR, j.b);
  io_.write(r::STCE_B_IDX_ADDR, j.b_idx);
  io_.write(r::STCE_C_ADDR, j.c);
  go();
}

void StceDriver::start(const StceConv& j) {
  const r::StceOpOp op = j.op == ConvOp::fwd        ? r::StceOpOp::CONV_FWD
                         : j.op == ConvOp::bwd_data ? r::StceOpOp::CONV_BWD_DATA
                                                    : r::StceOpOp::CONV_BWD_WEIGHT;
  io_.write(r::STCE_OP, static_cast<std::uint32_t>(op) | op_flags(j.accumulate, j.out_fp16, false, false, j.sparse));
  io_.write(r::STCE_NM, nm_word(j.n, j.m));
  io_.write(r::STCE_ROWS, 0);
  io_.write(r::STCE_COLS, 0);
  io_.write(r::STCE_DEPTH, 0);
  io_.write(r::STCE_SEGMENT, 0);
  io_.write(r::STCE_BATCH, j.batch);
  io_.write(r::STCE_IN_SIZE, field_put(j.h, r::STCE_IN_SIZE_H_MASK, r::STCE_IN_SIZE_H_SHIFT) |
                                 field_put(j.w, r::STCE_IN_SIZE_W_MASK, r::STCE_IN_SIZE_W_SHIFT));
  io_.write(r::STCE_CHANNELS, field_put(j.cin, r::STCE_CHANNELS_CIN_MASK, r::STCE_CHANNELS_CIN_SHIFT) |
                                  field_put(j.cout, r::STCE_CHANNELS_COUT_MASK, r::STCE_CHANNELS_COUT_SHIFT));
  io_.write(r::STCE_KERNEL, field_put(j.kh, r::STCE_KERNEL_KH_MASK, r::STCE_KERNEL_KH_SHIFT) |
                                field_put(j.kw, r::STCE_KERNEL_KW_MASK, r::STCE_KERNEL_KW_SHIFT) |
                                field_put(j.stride, r::STCE_KERNEL_STRIDE_MASK, r::STCE_KERNEL_STRIDE_SHIFT) |
                                field_put(j.pad, r::STCE_KERNEL_PAD_MASK, r::STCE_KERNEL_PAD_SHIFT));
  io_.write(r::STCE_A_ADDR, j.a);
  io_.write(r::STCE_A_IDX_ADDR, j.a_idx);
  io_.write(r::STCE_B_ADDR, j.b);
  io_.write(r::STCE_B_IDX_ADDR, j.b_idx);
  io_.write(r::STCE_C_ADDR, j.c);
  go();
}

void OsreDriver::start(const OsreJob& j) {
  const r::OsreCtrlDir dir = j.backward ? r::OsreCtrlDir::BACKWARD : r::OsreCtrlDir::FORWARD;
  io_.write(r::OSRE_CTRL, field_put(static_cast<std::uint32_t>(dir), r::OSRE_CTRL_DIR_MASK, r::OSRE_CTRL_DIR_SHIFT) |
                              (j.src_fp32 ? r::OSRE_CTRL_SRC_FP32_MASK : 0));
  io_.write(r::OSRE_NM, field_put(j.n, r::OSRE_NM_N_MASK, r::OSRE_NM_N_SHIFT) |
                            field_put(j.m, r::OSRE_NM_M_MASK, r::OSRE_NM_M_SHIFT));
  io_.write(r::OSRE_ROWS, j.rows);
  io_.write(r::OSRE_COLS, j.cols);
  io_.write(r::OSRE_SRC_ADDR, j.src);
  io_.write(r::OSRE_VAL_ADDR, j.values);
  io_.write(r::OSRE_IDX_ADDR, j.indices);
  go();
}

void WuveDriver::start(const WuveJob& j) {
  io_.write(r::WUVE_CTRL, j.write_fp16 ? r::WUVE_CTRL_WRITE_FP16_MASK : 0);
  io_.write(r::WUVE_COUNT, j.count);
  io_.write(r::WUVE_GRAD_ADDR, j.grad);
  io_.write(r::WUVE_WEIGHT_ADDR, j.weight);
  io_.write(r::WUVE_MOMENTUM_ADDR, j.velocity);
  io_.write(r::WUVE_OUT_ADDR, j.out);
  io_.write(r::WUVE_LR, f32_bits(j.lr));
  io_.write(r::WUVE_MOMENTUM_COEF, f32_bits(j.momentum));
  io_.write(r::WUVE_WEIGHT_DECAY, f32_bits(j.weight_decay));
  io_.write(r::WUVE_GRAD_SCALE, f32_bits(j.grad_scale));
  go();
}

SatEngineDriver& SatDriver::engine(SatEngine e) {
  switch (e) {
    case SatEngine::stce: return stce;
    case SatEngine::osre: return osre;
    case SatEngine::wuve: return wuve;
  }
  return stce;
}

}  // namespace cestvp::fw
