// SAT accelerator: its register block (identification, configuration, interrupts, and per
// engine the job, status, error and counter registers), its on-chip SRAM buffers A, B and C,
// and the three engines STCE, OSRE and WUVE (docs/engines.md). START decodes and checks the
// engine's job registers; the engine's thread then takes the time its formula gives, computes
// in the run's numerics mode, updates counters, raises DONE or ERROR.
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "fault_log.h"
#include "reg.h"
#include "sat/decode.h"
#include "sat/jobs.h"
#include "sram.h"
#include "timeline.h"
#include "tracer.h"

namespace cestvp {

class Sat : public sc_core::sc_module {
 public:
  struct Params {
    sat::TimingParams timing;    // array size, SRAM ports, OSRE/WUVE lanes and pipelines
    std::vector<unsigned> nm_m;  // supported group sizes M, powers of two
    std::uint64_t sram_bytes[3] = {};  // buffers A, B, C
    double clock_hz = 0;
    SatMode mode = SatMode::functional;
  };
  using Engine = fw::SatEngine;  // the contract's (cestvp/sat_job.h)

  tlm_utils::simple_target_socket<Sat> regs_socket;
  Sram sram_a;
  Sram sram_b;
  Sram sram_c;
  sc_core::sc_out<bool> irq;

  Sat(const sc_core::sc_module_name& name, const Params& params);
  SC_HAS_PROCESS(Sat);

  void set_tracer(Tracer* tracer);
  // Jobs that end in ERROR and STARTs while busy are reported there.
  void set_fault_log(FaultLog* faults) { faults_ = faults; }
  // Each engine job becomes a span on the engine's track.
  void set_timeline(Timeline* timeline);
  sc_core::sc_time cycle() const { return cycle_; }
  // An engine's counters as its registers hold them.
  sat::JobCost counters(Engine engine, std::uint64_t* jobs = nullptr) const;
  // An engine is running a job.
  bool busy() const { return engines_[0].busy || engines_[1].busy || engines_[2].busy; }

 private:
  struct EngineState {
    EngineState(const char* n, std::uint32_t b, std::uint32_t done, std::uint32_t error)
        : name(n), base(b), done_bit(done), error_bit(error) {}
    const char* name;
    std::uint32_t base;  // <E>_BASE: where its instance of the common register group `engine` starts
    std::uint32_t done_bit, error_bit;
    bool busy = false;
    sc_core::sc_event start;
    Tracer::Signal busy_signal;
    Timeline::Track track = 0;
    std::uint64_t busy_since_ps = 0;
  };

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  void write_start(EngineState& engine, std::uint32_t value);
  std::uint32_t read_status(const EngineState& engine) const;
  void update_irq();
  void drive_irq();
  void run_engine(EngineState& engine);
  // Decodes the job registers of an engine at its START.
  void decode(Engine engine);
  // Runs the engine's decoded job; returns its error, fills its cost (time and counters).
  sat::JobError execute(Engine engine, sat::JobCost& cost);
  template <typename Job, typename CostFn, typename ComputeFn>
  sat::JobError run_job(const sat::Decoded<Job>& decoded, CostFn cost_of, ComputeFn compute, sat::JobCost& cost);
  void finish(EngineState& engine, sat::JobError error, const sat::JobCost& cost);
  void add_counter(std::uint32_t lo_offset, std::uint64_t value);
  std::uint64_t counter(std::uint32_t lo_offset) const;
  void trace_busy(EngineState& engine);
  void report_fault(const EngineState& engine, sat::JobError error, const char* detail);

  Params params_;
  sc_core::sc_time cycle_;
  RegisterBank regs_;
  sat::SramBuffers sram_;
  std::uint32_t m_mask_;
  EngineState engines_[3];
  // Each engine's job as its last START found the registers. Decoded in write_start, not when
  // the engine's thread runs: the initiator runs ahead of it (temporal decoupling), and its next
  // register writes would otherwise change a job already started.
  sat::Decoded<sat::StceWork> stce_job_;
  sat::Decoded<sat::OsreWork> osre_job_;
  sat::Decoded<sat::WuveWork> wuve_job_;
  sc_core::sc_event irq_changed_;
  Tracer* tracer_ = nullptr;
  Timeline* timeline_ = nullptr;
  FaultLog* faults_ = nullptr;
};

}  // namespace cestvp
