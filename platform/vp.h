// The virtual platform's top level (riscv-vp's main, as a class so tests and benchmarks can
// boot it too). The constructor reads top to bottom: instantiate, map, bind, wire interrupts,
// trace; run() simulates until the firmware returns.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>
#include <cestvp/program.h>

#include "bus.h"
#include "config/config.h"
#include "ddr.h"
#include "dma.h"
#include "fault_log.h"
#include "gdb_server.h"
#include "guest_image.h"
#include "host_cpu.h"
#include "irqc.h"
#include "output_file.h"
#include "report/report.h"
#include "sat.h"
#include "tracer.h"
#include "watchdog.h"

namespace cestvp {

struct VpOptions {
  std::string vcd_path;        // empty: no VCD
  std::string trace_log_path;  // empty: no transaction log
  std::string timeline_path;   // empty: no timeline (Chrome / Perfetto trace JSON)
  fw::LogLevel log_level = fw::LogLevel::info;
  SatMode mode = SatMode::functional;  // numerics of the SAT engines; timing: the DMA moves no data either
  std::ostream* log = nullptr;  // firmware log; nullptr: stdout
  // Watchdog (docs/reliability.md): zero turns a check off.
  sc_core::sc_time time_limit;                               // simulated time
  sc_core::sc_time no_progress{1, sc_core::SC_SEC};          // simulated time without progress
  const std::atomic<int>* stop_request = nullptr;            // set by SIGINT/SIGTERM: stop cleanly
  bool stop_on_fault = false;                                // end the run at the first fault
  // host.cpu rv64: the firmware ELF (loaded and checked by platform/loader/elf_loader.h) and, to debug
  // it, a GDB server the core halts for at the entry point.
  const GuestImage* firmware_elf = nullptr;
  GdbServer* gdb = nullptr;
};

struct RunStats {
  bool firmware_finished = false;
  int firmware_exit_code = -1;
  sc_core::sc_time simulated;
  double wall_seconds = 0;
  std::uint64_t bus_transactions = 0;
  std::uint64_t bus_errors = 0;
  double sat_cycles = 0;  // simulated time in SAT clock cycles
  Watchdog::Verdict watchdog = Watchdog::Verdict::none;  // why the run ended early, if it did
  std::uint64_t faults = 0;                              // FaultLog entries
  std::uint64_t unexpected_faults = 0;                   // of which the firmware did not announce
  bool killed_by_debugger = false;                       // GDB's kill ended the run
  std::vector<OutputFailure> output_failures;            // traces that could not be written whole
  // RV64 core: guest instructions executed, and the wall time the emulator ran them in.
  std::uint64_t guest_instructions = 0;
  double guest_seconds = 0;
  double guest_mips() const { return guest_seconds > 0 ? guest_instructions / guest_seconds / 1e6 : 0; }
  double sat_cycles_per_wall_second() const { return wall_seconds > 0 ? sat_cycles / wall_seconds : 0; }
};

class VirtualPlatform {
 public:
  using Firmware = std::function<int(fw::Hal&, const fw::BootInfo&)>;

  // Runs `program` on the host CPU the configuration names (host.cpu): natively, or the
  // firmware ELF of options.firmware_elf on the RV64 core.
  VirtualPlatform(const PlatformConfig& config, const fw::ProgramCall& program, const VpOptions& options);
  // Runs `firmware` on the native core, whatever host.cpu says (tests, benchmarks, satvp job).
  VirtualPlatform(const PlatformConfig& config, Firmware firmware, const VpOptions& options);
  ~VirtualPlatform();

  // Simulates until the firmware returns (or nothing is left to simulate) and closes traces.
  RunStats run();

  const fw::BootInfo& boot_info() const { return boot_; }
  // What the models counted that the report needs beside the firmware's figures.
  PlatformCounts counts() const;
  const FaultLog& faults() const { return faults_; }
  // The platform's state for a person finding out why a run hung or failed: the firmware's
  // step and wait, the interrupt lines, every non-zero register of the SAT, DMA and interrupt
  // controller, the faults and the last bus transactions.
  std::string diagnostics();  // reads registers through the bus (debug transport)

  // Config-derived boot information: the firmware's view of the address map.
  static fw::BootInfo make_boot_info(const PlatformConfig& config);

  HostCpu& cpu() { return *cpu_; }
  const HostCpu& cpu() const { return *cpu_; }

 private:
  using MakeCpu = std::function<std::unique_ptr<HostCpu>(VirtualPlatform&)>;
  VirtualPlatform(const PlatformConfig& config, const VpOptions& options, const MakeCpu& make_cpu);
  std::unique_ptr<HostCpu> make_rv64(const fw::ProgramCall& program, const VpOptions& options);
  void trace_line(sc_core::sc_signal<bool>& line, const std::string& name);
  std::uint64_t progress() const;
  std::string register_dump(const char* region, const BlockSpec& block);

  const PlatformConfig config_;
  const fw::BootInfo boot_;
  std::unique_ptr<Tracer> tracer_;
  std::unique_ptr<Timeline> timeline_;
  FaultLog faults_;

 public:
  Bus bus;
  Ddr ddr;
  Dma dma;
  Irqc irqc;
  Sat sat;

 private:
  std::unique_ptr<HostCpu> cpu_;

 public:
  Watchdog watchdog;

 private:
  sc_core::sc_signal<bool> irq_dma_{"irq_dma"};
  sc_core::sc_signal<bool> irq_sat_{"irq_sat"};
  sc_core::sc_signal<bool> irq_cpu_{"irq_cpu"};
  std::vector<std::unique_ptr<sc_core::sc_signal<bool>>> unused_lines_;
};

}  // namespace cestvp
