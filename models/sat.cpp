#include "sat.h"

#include <cctype>

#include <cestvp/regs.h>
#include <regmap_tables.h>

#include "sat/osre.h"
#include "sat/stce_compute.h"
#include "sat/stce_timing.h"
#include "sat/wuve.h"

namespace cestvp {

namespace r = regs::sat;

namespace {

// The common registers of an engine, relative to its base: group `engine` of regmap.yaml, which
// every engine has.
namespace common = r::engine;

Sram::Params sram_params(int buffer, const Sat::Params& p) {
  return {p.sram_bytes[buffer], p.timing.port_bytes[buffer], sc_core::sc_time(1.0 / p.clock_hz, sc_core::SC_SEC)};
}

std::uint32_t m_mask(const std::vector<unsigned>& nm_m) {
  std::uint32_t mask = 0;
  for (unsigned m : nm_m) mask |= m;  // M is a power of two (<= 32): bit k of the mask is M = 2^k itself
  return mask;
}

}  // namespace

Sat::Sat(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name),
      regs_socket("regs_socket"),
      sram_a("sram_a", sram_params(0, params)),
      sram_b("sram_b", sram_params(1, params)),
      sram_c("sram_c", sram_params(2, params)),
      irq("irq"),
      params_(params),
      cycle_(1.0 / params.clock_hz, sc_core::SC_SEC),
      regs_(regmap::sat),
      m_mask_(m_mask(params.nm_m)),
      engines_{{"stce", r::STCE_BASE, r::IRQ_STATUS_STCE_DONE_MASK, r::IRQ_STATUS_STCE_ERROR_MASK},
               {"osre", r::OSRE_BASE, r::IRQ_STATUS_OSRE_DONE_MASK, r::IRQ_STATUS_OSRE_ERROR_MASK},
               {"wuve", r::WUVE_BASE, r::IRQ_STATUS_WUVE_DONE_MASK, r::IRQ_STATUS_WUVE_ERROR_MASK}} {
  regs_socket.register_b_transport(this, &Sat::b_transport);
  regs_socket.register_transport_dbg(this, &Sat::transport_dbg);

  regs_.preset(r::ARRAY, r::Array{}.with_rows(params.timing.array_rows).with_cols(params.timing.array_cols).value);
  regs_.preset(r::NM_SUPPORT, m_mask_);
  regs_.preset(r::SRAM_A_KIB, static_cast<std::uint32_t>(params.sram_bytes[0] / 1024));
  regs_.preset(r::SRAM_B_KIB, static_cast<std::uint32_t>(params.sram_bytes[1] / 1024));
  regs_.preset(r::SRAM_C_KIB, static_cast<std::uint32_t>(params.sram_bytes[2] / 1024));
  regs_.preset(r::CLOCK_KHZ, static_cast<std::uint32_t>(params.clock_hz / 1000.0 + 0.5));

  Sram* buffers[3] = {&sram_a, &sram_b, &sram_c};
  for (int i = 0; i < 3; ++i) {
    // Timing-only runs move no data: the engines get no pointers.
    sram_.data[i] = params.mode == SatMode::timing ? nullptr : buffers[i]->data();
    sram_.size[i] = buffers[i]->size();
  }

  regs_.on_write(r::IRQ_STATUS, [this](std::uint32_t) { update_irq(); });
  regs_.on_write(r::IRQ_ENABLE, [this](std::uint32_t) { update_irq(); });
  regs_.sync_on_access(r::IRQ_STATUS);
  for (EngineState& e : engines_) {
    regs_.on_write(e.base + common::START, [this, &e](std::uint32_t v) { write_start(e, v); });
    regs_.sync_on_access(e.base + common::START);
    regs_.on_read(e.base + common::STATUS, [this, &e] { return read_status(e); });
    regs_.sync_on_access(e.base + common::STATUS);
    sc_core::sc_spawn([this, &e] { run_engine(e); }, sc_core::sc_gen_unique_name(e.name));
  }
  SC_METHOD(drive_irq);
  sensitive << irq_changed_;
  dont_initialize();
}

void Sat::set_tracer(Tracer* tracer) {
  tracer_ = tracer;
  if (!tracer_ || !tracer_->vcd_enabled()) return;
  for (EngineState& e : engines_) e.busy_signal = tracer_->declare(std::string(name()) + '.' + e.name, "busy", 1);
}

void Sat::set_timeline(Timeline* timeline) {
  timeline_ = timeline;
  if (!timeline_) return;
  for (EngineState& e : engines_) {
    std::string track = e.name;
    for (char& c : track) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    e.track = timeline_->declare(track);
  }
}

void Sat::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  regs_.transport(gp, delay);
  delay += cycle_;
}

unsigned Sat::transport_dbg(tlm::tlm_generic_payload& gp) { return regs_.transport_dbg(gp); }

// irq has one driver, drive_irq: register writes run in the initiator's thread, job
// completions in the engines'.
void Sat::update_irq() { irq_changed_.notify(sc_core::SC_ZERO_TIME); }

void Sat::drive_irq() { irq.write((regs_.get(r::IRQ_STATUS) & regs_.get(r::IRQ_ENABLE)) != 0); }

void Sat::write_start(EngineState& e, std::uint32_t value) {
  if (!common::Start{value}.go()) return;
  if (e.busy) {
    report_fault(e, sat::JobError::start_while_busy, "the running job goes on");
    regs_.set(e.base + common::ERROR, static_cast<std::uint32_t>(sat::JobError::start_while_busy));
    regs_.set(r::IRQ_STATUS, regs_.get(r::IRQ_STATUS) | e.error_bit);
    update_irq();
    return;
  }
  regs_.set(e.base + common::ERROR, 0);
  decode(static_cast<Engine>(&e - engines_));
  e.busy = true;
  trace_busy(e);
  e.start.notify(sc_core::SC_ZERO_TIME);
}

std::uint32_t Sat::read_status(const EngineState& e) const { return common::Status{}.with_busy(e.busy).value; }

void Sat::run_engine(EngineState& e) {
  const Engine which = static_cast<Engine>(&e - engines_);
  for (;;) {
    sc_core::wait(e.start);
    sat::JobCost cost;
    const sat::JobError error = execute(which, cost);
    finish(e, error, cost);
  }
}

template <typename Job, typename CostFn, typename ComputeFn>
sat::JobError Sat::run_job(const sat::Decoded<Job>& decoded, CostFn cost_of, ComputeFn compute, sat::JobCost& cost) {
  if (!decoded.ok()) {
    cost.cycles = 1;  // a rejected job takes its decode cycle and touches nothing
    sc_core::wait(cycle_);
    return decoded.error;
  }
  cost = cost_of(decoded.job, params_.timing);
  sc_core::wait(cycle_ * static_cast<double>(cost.cycles));
  // The results appear when the job ends, computed from the SRAM contents at that time.
  if (params_.mode == SatMode::timing || compute(decoded.job)) return sat::JobError::none;
  return sat::JobError::nan_input;
}

void Sat::decode(Engine engine) {
  const sat::DecodeContext context{regs_, sram_, m_mask_};
  switch (engine) {
    case Engine::stce: stce_job_ = sat::decode_stce(context); break;
    case Engine::osre: osre_job_ = sat::decode_osre(context); break;
    case Engine::wuve: wuve_job_ = sat::decode_wuve(context); break;
  }
}

sat::JobError Sat::execute(Engine engine, sat::JobCost& cost) {
  switch (engine) {
    case Engine::stce:
      return run_job(stce_job_, sat::stce_cost,
                     [this](const sat::StceWork& j) { return sat::stce_compute(j, params_.mode), true; }, cost);
    case Engine::osre:
      return run_job(osre_job_, sat::osre_cost, sat::osre_compute, cost);
    case Engine::wuve:
      return run_job(wuve_job_, sat::wuve_cost,
                     [](const sat::WuveWork& j) { return sat::wuve_compute(j), true; }, cost);
  }
  return sat::JobError::bad_op;
}

void Sat::finish(EngineState& e, sat::JobError error, const sat::JobCost& cost) {
  add_counter(e.base + common::BUSY_CYCLES_LO, cost.cycles);
  add_counter(e.base + common::STALL_CYCLES_LO, cost.stall_cycles);
  add_counter(e.base + common::OPS_LO, cost.ops);
  add_counter(e.base + common::OPS_SKIPPED_LO, cost.ops_skipped);
  add_counter(e.base + common::SRAM_READ_LO, cost.sram_read);
  add_counter(e.base + common::SRAM_WRITE_LO, cost.sram_write);
  if (error == sat::JobError::none)
    regs_.set(e.base + common::JOBS, regs_.get(e.base + common::JOBS) + 1);
  else
    regs_.set(e.base + common::ERROR, static_cast<std::uint32_t>(error));  // kept until the next START
  if (error != sat::JobError::none) report_fault(e, error, "the job's registers are in the dump");
  regs_.set(r::IRQ_STATUS, regs_.get(r::IRQ_STATUS) | (error == sat::JobError::none ? e.done_bit : e.error_bit));
  e.busy = false;
  trace_busy(e);
  update_irq();
}

void Sat::add_counter(std::uint32_t lo, std::uint64_t value) {
  const std::uint64_t total = counter(lo) + value;
  regs_.set(lo, static_cast<std::uint32_t>(total));
  regs_.set(lo + 4, static_cast<std::uint32_t>(total >> 32));
}

std::uint64_t Sat::counter(std::uint32_t lo) const {
  return (std::uint64_t{regs_.get(lo + 4)} << 32) | regs_.get(lo);
}

sat::JobCost Sat::counters(Engine engine, std::uint64_t* jobs) const {
  const std::uint32_t base = engines_[static_cast<int>(engine)].base;
  if (jobs) *jobs = regs_.get(base + common::JOBS);
  return {counter(base + common::BUSY_CYCLES_LO), counter(base + common::STALL_CYCLES_LO),
          counter(base + common::OPS_LO),         counter(base + common::OPS_SKIPPED_LO),
          counter(base + common::SRAM_READ_LO),   counter(base + common::SRAM_WRITE_LO)};
}

void Sat::trace_busy(EngineState& e) {
  if (e.busy_signal.valid()) tracer_->change(e.busy_signal, sc_core::sc_time_stamp(), e.busy);
  if (!timeline_) return;
  const auto now_ps = static_cast<std::uint64_t>(sc_core::sc_time_stamp() / sc_core::sc_time(1, sc_core::SC_PS));
  if (e.busy) e.busy_since_ps = now_ps;
  else timeline_->span(e.track, "job", e.busy_since_ps, now_ps);
}

void Sat::report_fault(const EngineState& e, sat::JobError error, const char* detail) {
  if (faults_)
    faults_->record_register(std::string(name()) + '.' + e.name, r::to_string(static_cast<common::ErrorCause>(error)),
                             regmap::sat, e.base, detail, sc_core::sc_time_stamp());
}

}  // namespace cestvp
