#include <cestvp/sat_driver.h>

#include <cstdio>
#include <cstring>

#include <cestvp/regs.h>

namespace cestvp::fw {

namespace r = regs::sat;

namespace {

// Every engine has the registers of group `engine` at its base (regs.h).
namespace common = r::engine;

struct EngineRegs {
  std::uint32_t base;
  std::uint32_t done_bit, error_bit;  // in IRQ_STATUS
};

constexpr EngineRegs kEngines[3] = {
    {r::STCE_BASE, r::IRQ_STATUS_STCE_DONE_MASK, r::IRQ_STATUS_STCE_ERROR_MASK},
    {r::OSRE_BASE, r::IRQ_STATUS_OSRE_DONE_MASK, r::IRQ_STATUS_OSRE_ERROR_MASK},
    {r::WUVE_BASE, r::IRQ_STATUS_WUVE_DONE_MASK, r::IRQ_STATUS_WUVE_ERROR_MASK},
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

// STCE_OP with its one-bit flags set (with_op adds the operation).
r::StceOp stce_op_flags(bool accumulate, bool out_fp16, bool a_trans, bool b_trans, Sparse sparse) {
  return r::StceOp{}
      .with_accumulate(accumulate)
      .with_out_fp16(out_fp16)
      .with_a_trans(a_trans)
      .with_b_trans(b_trans)
      .with_a_sparse(sparse == Sparse::a)
      .with_b_sparse(sparse == Sparse::b);
}

std::uint32_t nm_word(std::uint32_t n, std::uint32_t m) { return r::StceNm{}.with_n(n).with_m(m).value; }

}  // namespace

const char* sat_cause_name(std::uint32_t cause) { return r::to_string(static_cast<common::ErrorCause>(cause)); }

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

SatCounters operator-(const SatCounters& a, const SatCounters& b) {
  return {a.jobs - b.jobs,           a.busy_cycles - b.busy_cycles, a.stall_cycles - b.stall_cycles,
          a.ops - b.ops,             a.ops_skipped - b.ops_skipped, a.sram_read - b.sram_read,
          a.sram_write - b.sram_write};
}

SatCounters read_sat_counters(Mmio& io, SatEngine engine) {
  const std::uint32_t base = regs_of(engine).base;
  SatCounters c;
  c.jobs = io.read(base + common::JOBS);
  c.busy_cycles = read64(io, base + common::BUSY_CYCLES_LO);
  c.stall_cycles = read64(io, base + common::STALL_CYCLES_LO);
  c.ops = read64(io, base + common::OPS_LO);
  c.ops_skipped = read64(io, base + common::OPS_SKIPPED_LO);
  c.sram_read = read64(io, base + common::SRAM_READ_LO);
  c.sram_write = read64(io, base + common::SRAM_WRITE_LO);
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
    : io_(hal, boot.sat_regs.base), irq_(irq), engine_(engine), base_(regs_of(engine).base), timeout_ns_(timeout_ns) {}

bool SatEngineDriver::busy() { return common::Status{io_.read(base_ + common::STATUS)}.busy(); }

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
  io_.write(base_ + common::START, common::Start{}.with_go(true).value);
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
  result.cause = static_cast<std::uint32_t>(common::Error{io_.read(base_ + common::ERROR)}.cause());
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
  const r::StceOp flags = stce_op_flags(j.accumulate, j.out_fp16, j.a_trans, j.b_trans, j.sparse);
  io_.write(r::STCE_OP, flags.with_op(r::StceOpOp::GEMM).value);
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
  io_.write(r::STCE_OP, stce_op_flags(j.accumulate, j.out_fp16, false, false, j.sparse).with_op(op).value);
  io_.write(r::STCE_NM, nm_word(j.n, j.m));
  io_.write(r::STCE_ROWS, 0);
  io_.write(r::STCE_COLS, 0);
  io_.write(r::STCE_DEPTH, 0);
  io_.write(r::STCE_SEGMENT, 0);
  io_.write(r::STCE_BATCH, j.batch);
  io_.write(r::STCE_IN_SIZE, r::StceInSize{}.with_h(j.h).with_w(j.w).value);
  io_.write(r::STCE_CHANNELS, r::StceChannels{}.with_cin(j.cin).with_cout(j.cout).value);
  io_.write(r::STCE_KERNEL, r::StceKernel{}.with_kh(j.kh).with_kw(j.kw).with_stride(j.stride).with_pad(j.pad).value);
  io_.write(r::STCE_A_ADDR, j.a);
  io_.write(r::STCE_A_IDX_ADDR, j.a_idx);
  io_.write(r::STCE_B_ADDR, j.b);
  io_.write(r::STCE_B_IDX_ADDR, j.b_idx);
  io_.write(r::STCE_C_ADDR, j.c);
  go();
}

void OsreDriver::start(const OsreJob& j) {
  const r::OsreCtrlDir dir = j.backward ? r::OsreCtrlDir::BACKWARD : r::OsreCtrlDir::FORWARD;
  io_.write(r::OSRE_CTRL, r::OsreCtrl{}.with_dir(dir).with_src_fp32(j.src_fp32).value);
  io_.write(r::OSRE_NM, r::OsreNm{}.with_n(j.n).with_m(j.m).value);
  io_.write(r::OSRE_ROWS, j.rows);
  io_.write(r::OSRE_COLS, j.cols);
  io_.write(r::OSRE_SRC_ADDR, j.src);
  io_.write(r::OSRE_VAL_ADDR, j.values);
  io_.write(r::OSRE_IDX_ADDR, j.indices);
  go();
}

void WuveDriver::start(const WuveJob& j) {
  io_.write(r::WUVE_CTRL, r::WuveCtrl{}.with_write_fp16(j.write_fp16).value);
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
