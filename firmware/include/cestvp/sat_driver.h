// SAT engine drivers (docs/engines.md): one per engine (STCE, OSRE, WUVE). A driver turns a
// firmware-level job description into the engine's job registers, starts it, sleeps until the
// SAT interrupt reports the engine's DONE or ERROR, and returns the outcome with the error
// cause. The three engines share one interrupt line: SatIrq services the SAT's IRQ_STATUS into
// per-engine events (NVDLA's engine_isr), so jobs on different engines can run at once and be
// waited for in any order.
//
//   Irq irq(hal, boot.irqc.base);
//   SatDriver sat(hal, irq, boot, timeout_ns);
//   sat.osre.start(osre_job);                        // runs concurrently with...
//   SatJobResult r = sat.stce.run(gemm);             // ...this one (start + wait)
//   SatJobResult o = sat.osre.wait();
#pragma once
#include <cstdint>
#include <string>

#include "boot_info.h"
#include "hal.h"
#include "irq.h"
#include "mmio.h"
#include "sat_abi.h"

namespace cestvp::fw {

enum class SatEngine : std::uint8_t { stce = 0, osre = 1, wuve = 2 };
const char* to_string(SatEngine engine);

// Which operand of an STCE job is N:M compressed along K (values at a/b, indices at a_idx/b_idx).
enum class Sparse : std::uint8_t { none, a, b };

// Job descriptions. Addresses are SRAM addresses (sram_address() in sat_abi.h). Layouts,
// allowed flags and the line order of compressed operands: docs/engines.md.

// C[rows][cols] (+)= A x B over K = depth.
struct StceGemm {
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t a = 0, b = 0, c = 0;
  std::uint32_t a_idx = 0, b_idx = 0;
  bool a_trans = false;  // A stored [K][rows]
  bool b_trans = false;  // B stored [cols][K]
  Sparse sparse = Sparse::none;
  std::uint32_t n = 0, m = 0;  // of the compressed operand
  std::uint32_t segment = 0;   // groups restart every `segment` elements of K; 0: K
  bool accumulate = false, out_fp16 = false;
};

enum class ConvOp : std::uint8_t { fwd, bwd_data, bwd_weight };
const char* to_string(ConvOp op);

// FWD: Y = conv(X, W); BWD_DATA: dX from dY and W; BWD_WEIGHT: dW from dY and X. NHWC
// activations, OHWI weights. A/B/C as in the table of docs/engines.md.
struct StceConv {
  ConvOp op = ConvOp::fwd;
  std::uint32_t batch = 0, h = 0, w = 0, cin = 0, cout = 0, kh = 0, kw = 0, stride = 1, pad = 0;
  std::uint32_t a = 0, b = 0, c = 0;
  std::uint32_t a_idx = 0, b_idx = 0;
  Sparse sparse = Sparse::none;
  std::uint32_t n = 0, m = 0;
  bool accumulate = false, out_fp16 = false;

  std::uint32_t oh() const { return conv_out(h, kh, stride, pad); }
  std::uint32_t ow() const { return conv_out(w, kw, stride, pad); }
};

// Top-N of every group of M of a dense [rows][cols] source (FP16, or FP32 with src_fp32), along
// the columns of each row (forward) or the rows of each column (backward).
struct OsreJob {
  bool backward = false;
  bool src_fp32 = false;
  std::uint32_t n = 0, m = 0;
  std::uint32_t rows = 0, cols = 0;
  std::uint32_t src = 0, values = 0, indices = 0;

  std::uint32_t lines() const { return backward ? cols : rows; }
  NmLine line() const {
    const std::uint32_t length = backward ? rows : cols;
    return {length, length, n, m};
  }
  std::uint64_t src_bytes() const { return std::uint64_t{rows} * cols * (src_fp32 ? 4 : 2); }
  std::uint64_t values_bytes() const { return std::uint64_t{lines()} * line().entries() * 2; }
  std::uint64_t index_bytes() const { return std::uint64_t{lines()} * line().index_words() * 4; }
};

// Momentum SGD on `count` elements: FP16 gradients, FP32 weights and velocity updated in place,
// optionally an FP16 copy of the new weights.
struct WuveJob {
  float lr = 0, momentum = 0, weight_decay = 0, grad_scale = 1;
  std::uint32_t count = 0;
  std::uint32_t grad = 0, weight = 0, velocity = 0, out = 0;
  bool write_fp16 = false;
};

// The GEMM view of an STCE job and its operands' sizes in SRAM (bytes), as the engine checks
// them; zeros for a shape the engine would reject as BAD_SHAPE.
struct StceShape {
  std::uint32_t rows = 0, cols = 0, depth = 0, segment = 0;
  std::uint64_t a_bytes = 0, a_idx_bytes = 0, b_bytes = 0, b_idx_bytes = 0, c_bytes = 0;
  std::uint64_t macs = 0;        // executed: rows x cols x K_eff
  std::uint64_t macs_dense = 0;  // rows x cols x K
  bool valid() const { return rows != 0; }
};
StceShape stce_shape(const StceGemm& job);
StceShape stce_shape(const StceConv& job);

// Outcome of one engine job.
struct SatJobResult {
  bool ok = false;          // DONE and no error
  std::uint32_t cause = 0;  // <E>_ERROR.CAUSE (regs::sat::StceErrorCause codes, shared by all engines)
  std::string problem;      // driver-level failure (bus error, timeout), empty if none
  std::uint64_t start_ps = 0, end_ps = 0;  // START written; completion seen by the firmware
  const char* cause_name() const;
  std::string describe() const;  // one line for logs
};
const char* sat_cause_name(std::uint32_t cause);

// An engine's performance counters (docs/engines.md "Counters").
struct SatCounters {
  std::uint64_t jobs = 0, busy_cycles = 0, stall_cycles = 0, ops = 0, ops_skipped = 0;
  std::uint64_t sram_read = 0, sram_write = 0;  // bytes
};
SatCounters operator-(const SatCounters& after, const SatCounters& before);
SatCounters read_sat_counters(Mmio& sat_regs, SatEngine engine);
SatCounters read_sat_counters(Hal& hal, const BootInfo& boot, SatEngine engine);

// The SAT interrupt, shared by the engines. Its line is a level (IRQ_STATUS & IRQ_ENABLE), and
// the interrupt controller latches rising edges: so the handler clears every IRQ_STATUS bit it
// reads (W1C) and keeps them as per-engine events until their driver asks.
class SatIrq {
 public:
  // Enables the SAT line in the interrupt controller and every engine's DONE and ERROR.
  SatIrq(Hal& hal, Irq& irq, const BootInfo& boot);

  // Waits until `engine` reported DONE or ERROR since its last wait. Returns that engine's
  // IRQ_STATUS bits seen (in register position), 0 on timeout or a bus error (see io()).
  std::uint32_t wait(SatEngine engine, std::uint64_t timeout_ns);
  // Drops the engine's events not waited for (they belong to earlier jobs): called before a
  // START, so that the next wait reports the new job.
  void forget(SatEngine engine);

  Mmio& io() { return io_; }
  Irq& irq() { return irq_; }

 private:
  void service();

  Hal& hal_;
  Irq& irq_;
  Mmio io_;
  unsigned line_;
  std::uint32_t events_ = 0;
};

// Common part of the engine drivers: start, wait, error cause, counters.
class SatEngineDriver {
 public:
  // Waits for the job started last and reports how it ended.
  SatJobResult wait();
  bool busy();  // <E>_STATUS.BUSY
  SatCounters counters() { return read_sat_counters(io_, engine_); }
  SatEngine engine() const { return engine_; }

 protected:
  SatEngineDriver(Hal& hal, SatIrq& irq, const BootInfo& boot, SatEngine engine, std::uint64_t timeout_ns);
  // Writes <E>_START.GO after the job registers were written through io_.
  void go();

  Mmio io_;

 private:
  SatIrq& irq_;
  SatEngine engine_;
  std::uint32_t base_;  // offset of <E>_START
  std::uint64_t timeout_ns_;
  bool started_ = false;
  std::uint64_t start_ps_ = 0;
  std::string start_problem_;
};

class StceDriver : public SatEngineDriver {
 public:
  StceDriver(Hal& hal, SatIrq& irq, const BootInfo& boot, std::uint64_t timeout_ns)
      : SatEngineDriver(hal, irq, boot, SatEngine::stce, timeout_ns) {}
  void start(const StceGemm& job);
  void start(const StceConv& job);
  SatJobResult run(const StceGemm& job) { return start(job), wait(); }
  SatJobResult run(const StceConv& job) { return start(job), wait(); }
};

class OsreDriver : public SatEngineDriver {
 public:
  OsreDriver(Hal& hal, SatIrq& irq, const BootInfo& boot, std::uint64_t timeout_ns)
      : SatEngineDriver(hal, irq, boot, SatEngine::osre, timeout_ns) {}
  void start(const OsreJob& job);
  SatJobResult run(const OsreJob& job) { return start(job), wait(); }
};

class WuveDriver : public SatEngineDriver {
 public:
  WuveDriver(Hal& hal, SatIrq& irq, const BootInfo& boot, std::uint64_t timeout_ns)
      : SatEngineDriver(hal, irq, boot, SatEngine::wuve, timeout_ns) {}
  void start(const WuveJob& job);
  SatJobResult run(const WuveJob& job) { return start(job), wait(); }
};

// The SAT as the firmware drives it: the shared interrupt and one driver per engine.
class SatDriver {
 public:
  SatDriver(Hal& hal, Irq& irq, const BootInfo& boot, std::uint64_t timeout_ns)
      : irq_(hal, irq, boot),
        stce(hal, irq_, boot, timeout_ns),
        osre(hal, irq_, boot, timeout_ns),
        wuve(hal, irq_, boot, timeout_ns) {}

 private:
  SatIrq irq_;  // constructed first: the drivers refer to it

 public:
  StceDriver stce;
  OsreDriver osre;
  WuveDriver wuve;

  SatEngineDriver& engine(SatEngine e);
  SatIrq& irq() { return irq_; }
};

}  // namespace cestvp::fw
