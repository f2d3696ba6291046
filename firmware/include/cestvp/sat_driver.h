// SAT engine drivers (docs/engines.md): one per engine (STCE, OSRE, WUVE). A driver turns a
// job description of the contract (cestvp/sat_job.h; stce_shape() in cestvp/stce_geometry.h
// sizes an STCE job's operands) into the engine's job registers, starts it, sleeps until the
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

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>
#include <cestvp/sat_abi.h>
#include <cestvp/sat_job.h>
#include <cestvp/stce_geometry.h>

#include "irq.h"
#include "mmio.h"

namespace cestvp::fw {

// Outcome of one engine job.
struct SatJobResult {
  bool ok = false;          // DONE and no error
  std::uint32_t cause = 0;  // <E>_ERROR.CAUSE (regs::sat::engine::ErrorCause, the same for every engine)
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
  std::uint32_t base_;  // offset of the engine's registers, <E>_BASE
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
