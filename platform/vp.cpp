#include "vp.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include <tlm_utils/tlm_quantumkeeper.h>

#include <regmap_tables.h>

#include "native_cpu.h"
#include "rv64_cpu.h"
#include "tlm_access.h"

namespace cestvp {

namespace {

sc_core::sc_time seconds(double s) { return sc_core::sc_time(s, sc_core::SC_SEC); }
sc_core::sc_time period(double hz) { return seconds(1.0 / hz); }

fw::Region region(const PlatformConfig& c, const char* name) {
  const AddressRange& r = c.region(name);
  return {r.base, r.size};
}

Ddr::Params ddr_params(const PlatformConfig& c) {
  return {c.region("ddr").size, c.ddr.channels, c.ddr.channel_bandwidth_Bps, seconds(c.ddr.latency_s),
          c.ddr.interleave_bytes};
}

Sat::Params sat_params(const PlatformConfig& c, SatMode mode) {
  Sat::Params p;
  p.timing.array_rows = c.sat.array_rows;
  p.timing.array_cols = c.sat.array_cols;
  for (int i = 0; i < 3; ++i) p.timing.port_bytes[i] = c.sat.sram_port_bytes[i];
  p.timing.osre_lanes = c.sat.osre_lanes;
  p.timing.osre_pipeline = c.sat.osre_pipeline;
  p.timing.wuve_lanes = c.sat.wuve_lanes;
  p.timing.wuve_pipeline = c.sat.wuve_pipeline;
  p.nm_m = c.sat.nm_m;
  p.sram_bytes[0] = c.region("sat_sram_a").size;
  p.sram_bytes[1] = c.region("sat_sram_b").size;
  p.sram_bytes[2] = c.region("sat_sram_c").size;
  p.clock_hz = c.clocks.sat_hz;
  p.mode = mode;
  return p;
}

std::unique_ptr<Tracer> make_tracer(const VpOptions& options) {
  if (options.vcd_path.empty() && options.trace_log_path.empty()) return nullptr;
  return std::make_unique<Tracer>(Tracer::Options{options.vcd_path, options.trace_log_path});
}

unsigned irq_lines(const PlatformConfig& c) { return std::max(c.interrupts.dma, c.interrupts.sat) + 1; }

HostCpu::Params cpu_params(const VpOptions& options) {
  return {16u << 20, options.log_level, options.log, options.stop_request};
}

}  // namespace

fw::BootInfo VirtualPlatform::make_boot_info(const PlatformConfig& c) {
  fw::BootInfo b;
  b.ddr = region(c, "ddr");
  b.sat_regs = region(c, "sat_regs");
  b.sat_sram_a = region(c, "sat_sram_a");
  b.sat_sram_b = region(c, "sat_sram_b");
  b.sat_sram_c = region(c, "sat_sram_c");
  b.dma = region(c, "dma");
  b.irqc = region(c, "irqc");
  b.irq_dma = c.interrupts.dma;
  b.irq_sat = c.interrupts.sat;
  b.host_cycle_ps = static_cast<std::uint64_t>(1e12 / c.clocks.host_hz + 0.5);
  b.host_cost = c.host_cost;
  return b;
}

VirtualPlatform::VirtualPlatform(const PlatformConfig& config, Firmware firmware, const VpOptions& options)
    : VirtualPlatform(config, options, [&](VirtualPlatform& vp) -> std::unique_ptr<HostCpu> {
        return std::make_unique<NativeCpu>(
            "cpu", cpu_params(options),
            [&vp, fw_main = std::move(firmware)](fw::Hal& hal) { return fw_main(hal, vp.boot_); });
      }) {}

VirtualPlatform::VirtualPlatform(const PlatformConfig& config, const fw::ProgramCall& program, const VpOptions& options)
    : VirtualPlatform(config, options, [&](VirtualPlatform& vp) -> std::unique_ptr<HostCpu> {
        if (config.host.cpu == PlatformConfig::Host::Cpu::rv64) return vp.make_rv64(program, options);
        return std::make_unique<NativeCpu>("cpu", cpu_params(options), [&vp, program](fw::Hal& hal) {
          return fw::run_program(hal, vp.boot_, program);
        });
      }) {}

VirtualPlatform::VirtualPlatform(const PlatformConfig& config, const VpOptions& options, const MakeCpu& make_cpu)
    : config_(config),
      boot_(make_boot_info(config)),
      tracer_(make_tracer(options)),
      timeline_(options.timeline_path.empty() ? nullptr : std::make_unique<Timeline>(options.timeline_path)),
      // Instantiate.
      bus("bus", {seconds(config.bus.hop_latency_s)}),
      ddr("ddr", ddr_params(config)),
      dma("dma", {config.dma.burst_bytes, period(config.clocks.peripheral_hz), options.mode == SatMode::timing}),
      irqc("irqc", {irq_lines(config), period(config.clocks.peripheral_hz)}),
      sat("sat", sat_params(config, options.mode)),
      cpu_(make_cpu(*this)),
      watchdog("watchdog", {options.time_limit, options.no_progress, options.stop_request}, [this] { return progress(); }) {
  tlm::tlm_global_quantum::instance().set(seconds(config.tlm.quantum_s));

  // Map: every region of the platform YAML's address map, one target each; faults name the
  // region, and the register of a register block, they happened at.
  const auto map = [&](auto& socket, const char* name, const BlockSpec* registers = nullptr) {
    const AddressRange& r = config.region(name);
    bus.map_target(socket, r.base, r.size, name);
    faults_.declare_region(name, r.base, r.size, registers);
  };
  map(ddr.socket, "ddr");
  map(sat.regs_socket, "sat_regs", &regmap::sat);
  map(sat.sram_a.socket, "sat_sram_a");
  map(sat.sram_b.socket, "sat_sram_b");
  map(sat.sram_c.socket, "sat_sram_c");
  map(dma.regs_socket, "dma", &regmap::dma);
  map(irqc.socket, "irqc", &regmap::irqc);
  // The RV64 core's own memory and devices: not on the bus, but faults there are named too.
  for (const char* own : {"host_ram", "host_local"}) {
    const AddressRange& r = config.region(own);
    faults_.declare_region(own, r.base, r.size, own == std::string("host_local") ? &regmap::host_local : nullptr);
  }

  // Bind initiators.
  bus.connect_initiator(cpu_->socket, "cpu");
  bus.connect_initiator(dma.data_socket, "dma");

  // Faults name the firmware's step at the time.
  faults_.set_step_source([this] { return cpu_->step(); });
  faults_.set_expected_source([this] { return cpu_->take_expected_fault(); });
  if (options.stop_on_fault)
    faults_.set_stop_on_fault([this] {
      cpu_->halt();
      sc_core::sc_stop();
    });
  bus.set_fault_log(&faults_);
  sat.set_fault_log(&faults_);
  dma.set_fault_log(&faults_);

  // Wire interrupts.
  for (unsigned i = 0; i < irqc.lines.size(); ++i) {
    if (i == config.interrupts.dma) {
      irqc.lines[i].bind(irq_dma_);
    } else if (i == config.interrupts.sat) {
      irqc.lines[i].bind(irq_sat_);
    } else {
      unused_lines_.push_back(std::make_unique<sc_core::sc_signal<bool>>(sc_core::sc_gen_unique_name("irq_unused")));
      irqc.lines[i].bind(*unused_lines_.back());
    }
  }
  dma.irq.bind(irq_dma_);
  sat.irq.bind(irq_sat_);
  irqc.cpu_irq.bind(irq_cpu_);
  cpu_->irq.bind(irq_cpu_);

  // Trace.
  if (timeline_) {
    cpu_->set_timeline(timeline_.get());
    sat.set_timeline(timeline_.get());
    dma.set_timeline(timeline_.get());
  }
  if (tracer_) {
    for (const std::string& name : bus.initiator_names()) tracer_->declare_initiator(name);
    tracer_->declare_targets(bus.target_names());
    bus.set_tracer(tracer_.get());
    // The firmware's phase above the bus traffic, so that a person reads one against the other.
    const Tracer::TextSignal phase = tracer_->declare_text("firmware", "phase");
    cpu_->set_phase_listener([tracer = tracer_.get(), phase](const std::string& name, const sc_core::sc_time& at) {
      tracer->change_text(phase, at, name);
    });
    dma.set_tracer(tracer_.get());
    sat.set_tracer(tracer_.get());
    if (tracer_->vcd_enabled()) {
      trace_line(irq_dma_, "dma");
      trace_line(irq_sat_, "sat");
      trace_line(irq_cpu_, "cpu");
    }
  }
}

VirtualPlatform::~VirtualPlatform() = default;

std::unique_ptr<HostCpu> VirtualPlatform::make_rv64(const fw::ProgramCall& program, const VpOptions& options) {
  assert(options.firmware_elf && "host.cpu rv64 needs the firmware ELF");
  const auto window = [this](const char* name) {
    const AddressRange& r = config_.region(name);
    return Rv64Cpu::Window{name, r.base, r.size};
  };
  Rv64Cpu::Config c;
  c.image = options.firmware_elf;
  c.ram = window("host_ram");
  c.local_base = config_.region("host_local").base;
  c.ddr = window("ddr");
  for (const char* name : {"sat_regs", "sat_sram_a", "sat_sram_b", "sat_sram_c", "dma", "irqc"})
    c.devices.push_back(window(name));
  c.instruction_time = seconds(config_.host.cpi / config_.clocks.host_hz);
  c.boot.boot = boot_;
  c.boot.call = program;
  c.gdb = options.gdb;
  c.faults = &faults_;
  return std::make_unique<Rv64Cpu>("cpu", cpu_params(options), c);
}

void VirtualPlatform::trace_line(sc_core::sc_signal<bool>& line, const std::string& name) {
  const Tracer::Signal signal = tracer_->declare("irq", name, 1);
  sc_core::sc_spawn_options options;
  options.spawn_method();
  options.set_sensitivity(&line.value_changed_event());
  options.dont_initialize();
  Tracer* tracer = tracer_.get();
  sc_core::sc_spawn([tracer, signal, &line] { tracer->change(signal, sc_core::sc_time_stamp(), line.read()); },
                    sc_core::sc_gen_unique_name("trace_irq"), &options);
}

PlatformCounts VirtualPlatform::counts() const {
  PlatformCounts c;
  c.ddr_read = ddr.bytes_read(), c.ddr_written = ddr.bytes_written();
  c.dma_busy_ps = dma.busy_ps();
  for (unsigned e = 0; e < 3; ++e) {
    std::uint64_t jobs = 0;
    const sat::JobCost cost = sat.counters(static_cast<Sat::Engine>(e), &jobs);
    c.engine[e] = {jobs, cost.cycles, cost.stall_cycles, cost.ops, cost.ops_skipped, cost.sram_read, cost.sram_write};
  }
  return c;
}

RunStats VirtualPlatform::run() {
  // The firmware ends the simulation with sc_stop(); that is the normal way out, not news.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  const auto wall_start = std::chrono::steady_clock::now();
  sc_core::sc_start();
  RunStats s;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  s.firmware_finished = cpu_->finished();
  s.firmware_exit_code = cpu_->exit_code();
  s.simulated = sc_core::sc_time_stamp();
  s.bus_transactions = bus.transactions();
  s.bus_errors = bus.error_responses();
  s.sat_cycles = s.simulated.to_seconds() * config_.clocks.sat_hz;
  s.watchdog = watchdog.verdict();
  s.faults = faults_.count();
  s.unexpected_faults = faults_.unexpected();
  s.killed_by_debugger = cpu_->killed_by_debugger();
  if (const auto* rv64 = dynamic_cast<const Rv64Cpu*>(cpu_.get())) {
    s.guest_instructions = rv64->instructions();
    s.guest_seconds = rv64->emulation_seconds();
  }
  if (tracer_) {
    tracer_->close();
    s.output_failures = tracer_->failures();
  }
  if (timeline_) {
    timeline_->close(static_cast<std::uint64_t>(s.simulated / sc_core::sc_time(1, sc_core::SC_PS)));
    if (!timeline_->error().empty()) s.output_failures.push_back({timeline_->path(), timeline_->error()});
  }
  return s;
}

// Anything that moves the run forward changes the snapshot; a busy engine or host work in
// progress changes it with the time.
std::uint64_t VirtualPlatform::progress() const {
  std::uint64_t snapshot = cpu_->progress() + dma.bytes_moved();
  for (unsigned e = 0; e < 3; ++e) snapshot += sat.counters(static_cast<Sat::Engine>(e)).cycles;
  if (cpu_->computing() || sat.busy() || dma.busy())
    snapshot += static_cast<std::uint64_t>(sc_core::sc_time_stamp() / sc_core::sc_time(1, sc_core::SC_PS)) + 1;
  return snapshot;
}

// Read through debug transport: no simulated time, no side effects.
std::string VirtualPlatform::register_dump(const char* region, const BlockSpec& block) {
  const std::uint64_t base = config_.region(region).base;
  std::string out = std::string("  ") + region + " (non-zero registers):";
  unsigned shown = 0;
  for (std::size_t i = 0; i < block.count; ++i) {
    const RegSpec& reg = block.regs[i];
    if (reg.access == Access::WO) continue;
    std::uint32_t value = 0;
    tlm::tlm_generic_payload gp;
    gp.set_read();
    gp.set_address(base + reg.offset);
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    gp.set_data_length(4);
    if (cpu_->socket->transport_dbg(gp) != 4 || value == 0) continue;
    char item[96];
    std::snprintf(item, sizeof item, "%s%s=0x%x", shown % 4 ? "  " : "\n    ", reg.name, value);
    out += item;
    ++shown;
  }
  return out + (shown ? "\n" : " none\n");
}

std::string VirtualPlatform::diagnostics() {
  const auto us = [](const sc_core::sc_time& t) { return t.to_seconds() * 1e6; };
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "diagnostic dump at %.3f us simulated\n", us(sc_core::sc_time_stamp()));
  out += line;
  const HostCpu::Wait wait = cpu_->interrupt_wait();
  const std::string& step = cpu_->step();
  if (cpu_->finished())
    std::snprintf(line, sizeof line, "  firmware: finished (exit %d)", cpu_->exit_code());
  else if (wait.waiting)
    std::snprintf(line, sizeof line, "  firmware: waiting for an interrupt since %.3f us, %s", us(wait.since),
                  wait.timeout ? "with a timeout" : "with no timeout");
  else
    std::snprintf(line, sizeof line, "  firmware: running");
  out += line + std::string("; step: ") + (step.empty() ? "none yet" : step) + "\n";
  std::snprintf(line, sizeof line, "  interrupt lines: cpu %d, dma %d, sat %d; engines %s, DMA %s\n", irq_cpu_.read(),
                irq_dma_.read(), irq_sat_.read(), sat.busy() ? "busy" : "idle", dma.busy() ? "busy" : "idle");
  out += line;
  if (wait.waiting && !wait.timeout && !sat.busy() && !dma.busy())
    out += "  nothing on the platform is running that could raise an interrupt: the wait cannot end\n";
  out += register_dump("sat_regs", regmap::sat);
  out += register_dump("dma", regmap::dma);
  out += register_dump("irqc", regmap::irqc);
  const std::vector<FaultLog::Fault> faults = faults_.kept();
  std::snprintf(line, sizeof line, "  faults: %" PRIu64 "%s\n", faults_.count(), faults.empty() ? "" : " (first and last)");
  out += line;
  if (!faults.empty()) {
    out += "    " + FaultLog::describe(faults.front()) + "\n";
    if (faults.size() > 1) out += "    " + FaultLog::describe(faults.back()) + "\n";
  }
  out += "  last bus transactions (oldest first):\n";
  for (const Bus::Transaction& t : bus.recent_transactions()) {
    std::snprintf(line, sizeof line, "    %12.3f us  %-4s %c 0x%016" PRIx64 " %5u B  %-28s %s\n", us(t.start),
                  bus.initiator_names().at(t.initiator).c_str(), t.command == tlm::TLM_WRITE_COMMAND ? 'W' : 'R',
                  t.address, t.length, faults_.place(t.address).c_str(), response_name(t.response));
    out += line;
  }
  return out;
}

}  // namespace cestvp
