// satvp run: boots the platform with a workload's firmware program and reports the run.
#include "cli/cmd_run.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include <cestvp/sat_mode.h>
#include <cestvp/train_runtime.h>

#include "cli/cli.h"
#include "cli/host_setup.h"
#include "config/config.h"
#include "config/units.h"
#include "config/user_error.h"
#include "loader/elf_loader.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "report/report.h"
#include "report/run_dir.h"
#include "report/run_output.h"
#include "report/training_results.h"
#include "rv64_cpu.h"
#include "stop_signals.h"
#include "vp.h"

namespace fs = std::filesystem;

namespace cestvp {

namespace {

fw::LogLevel parse_log_level(const std::string& s) {
  if (s == "error") return fw::LogLevel::error;
  if (s == "warning") return fw::LogLevel::warning;
  if (s == "debug") return fw::LogLevel::debug;
  return fw::LogLevel::info;
}

fs::path run_dir_of(const RunArgs& args, const Workload& workload) {
  return args.out.empty() ? fs::path("runs") / workload.name : fs::path(args.out);
}

// What a run writes into its directory under fixed names, checked before the run.
const std::vector<std::string> kRunDirFiles = {"platform.yaml", "workload.yaml", "diagnostic.txt", "report.json",
                                               "layers.csv",    "engines.csv",   "metrics.csv",    "eval.csv",
                                               "training.json"};

// Outputs that could not be written: the run goes on writing the others, says which failed,
// and exits 4.
class OutputFailures {
 public:
  void attempt(const std::function<void()>& write) {
    try {
      write();
    } catch (const OutputError& e) {
      list_.push_back({e.path(), e.error()});
    }
  }
  void add(const std::vector<OutputFailure>& failures) { list_.insert(list_.end(), failures.begin(), failures.end()); }
  const std::vector<OutputFailure>& list() const { return list_; }
  bool failed(const std::string& path) const {
    return std::any_of(list_.begin(), list_.end(), [&](const OutputFailure& f) { return f.path == path; });
  }
  void print() const {
    for (const OutputFailure& f : list_) std::fprintf(stderr, "satvp: output error: %s: %s\n", f.path.c_str(), f.error.c_str());
  }

 private:
  std::vector<OutputFailure> list_;
};

// The workload's program; the engine self-test and bring-up are told the run's mode, to know
// what to compare.
fw::ProgramCall program_for(const Workload& workload, SatMode mode) {
  fw::ProgramCall call;
  call.program = workload.program == "engines" ? fw::Program::engines : fw::Program::bringup;
  call.engines = workload.engines;
  call.engines.mode = mode;
  call.bringup = workload.bringup;
  call.bringup.mode = mode;
  return call;
}

// The firmware's host buffers must fit the RV64 core's heap, or the program would stop on a
// failed allocation deep into the run.
void check_guest_heap(std::uint64_t need, const PlatformConfig& config, const GuestImage& elf) {
  const AddressRange& ram = config.region("host_ram");
  const std::uint64_t heap = Rv64Cpu::heap({"host_ram", ram.base, ram.size}, elf).size;
  if (need > heap)
    throw UserError(config.source + ": address_map.host_ram.size: the firmware's host buffers for this workload need "
                    "about " + format_size(need) + ", but the RV64 core's heap is " + format_size(heap) + " (host RAM " +
                    format_size(ram.size) + " less the firmware, boot block and stack); expected a host_ram of at least " +
                    format_size(ram.size - heap + need) + ", or --cpu native");
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // ru_maxrss is in KiB on Linux
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

sc_core::sc_time option_time(const std::string& option, const std::string& text) {
  if (text.empty()) return sc_core::SC_ZERO_TIME;
  constexpr double kMaxSeconds = 1e7;  // SystemC counts 64 bits of picoseconds, about 213 days
  const std::string expected = "; expected a time from 0 s to " + display_quantity(Quantity::time, kMaxSeconds) +
                               " with a unit (" + unit_symbols(Quantity::time) + "), e.g. '10 s'";
  double seconds = 0;
  try {
    seconds = parse_quantity(Quantity::time, text);
  } catch (const ValueError& e) {
    throw UserError(option + " " + text + ": " + e.what() + expected);
  }
  if (seconds > kMaxSeconds) throw UserError(option + " " + text + ": '" + text + "' is out of range" + expected);
  return sc_core::sc_time(seconds, sc_core::SC_SEC);
}

VpOptions vp_options(const RunArgs& args, const std::string& mode, const StopSignals& signals) {
  VpOptions options;
  options.time_limit = option_time("--max-sim-time", args.max_sim_time);
  options.no_progress = option_time("--watchdog", args.watchdog);
  options.stop_request = signals.request();
  options.stop_on_fault = args.stop_on_fault;
  options.vcd_path = args.vcd;
  options.trace_log_path = args.trace_log;
  options.timeline_path = args.timeline;
  options.log_level = parse_log_level(args.log_level);
  options.mode = parse_sat_mode(mode);
  return options;
}

void print_trace_files(const RunArgs& args, const OutputFailures& failures) {
  for (const std::string& file : {args.vcd, args.trace_log, args.timeline})
    if (failures.failed(file)) std::printf("  NOT WRITTEN         %s (see the output error below)\n", file.c_str());
  if (!args.vcd.empty() && !failures.failed(args.vcd)) std::printf("  VCD                 %s (open: gtkwave %s %s)\n", args.vcd.c_str(),
                                     args.vcd.c_str(), fs::path(args.vcd).replace_extension(".gtkw").c_str());
  if (!args.trace_log.empty() && !failures.failed(args.trace_log)) std::printf("  transaction log     %s\n", args.trace_log.c_str());
  if (!args.timeline.empty() && !failures.failed(args.timeline)) std::printf("  timeline            %s (open in ui.perfetto.dev)\n", args.timeline.c_str());
}

// How a run ended: its exit code, and what satvp says about it.
struct RunEnd {
  const RunStats& stats;
  bool failed;  // the firmware reported failure
  int signal;   // SIGINT or SIGTERM received, else 0
  const OutputFailures& outputs;
  bool stop_on_fault;  // --stop-on-fault: the first fault, even one provoked on purpose, ends the run

  bool hung() const {
    return !stats.firmware_finished && !signal && !stats.killed_by_debugger && stats.watchdog != Watchdog::Verdict::time_limit;
  }
  // A fault the firmware did not provoke on purpose (or --stop-on-fault's) can explain the end.
  bool fault_explains() const { return stats.unexpected_faults || (stop_on_fault && hung() && stats.faults); }
  int exit_code() const {
    if (signal) return 128 + signal;
    if (stats.killed_by_debugger) return 128 + SIGINT;  // stopped by the person at the debugger, as by Ctrl-C
    if (!outputs.list().empty()) return kExitSimulatorError;
    if (stats.watchdog == Watchdog::Verdict::time_limit) return kExitTimeLimit;
    if ((failed || hung()) && fault_explains()) return kExitHardwareFault;
    if (hung()) return kExitHung;
    return failed ? kExitFirmwareFailed : kExitSuccess;
  }
  // For a partial report; "" when the firmware ended the run.
  std::string stopped_by() const {
    if (signal) return signal_name(signal);
    if (stats.killed_by_debugger) return "GDB (kill)";
    if (stats.firmware_finished) return "";
    if (stats.watchdog == Watchdog::Verdict::none) return fault_explains() ? "hardware fault" : "nothing left to simulate";
    return std::string("watchdog: ") + to_string(stats.watchdog);
  }
};

// The fault that explains a failure: the last the firmware did not provoke on purpose (of the
// faults kept), or with --stop-on-fault the first.
const FaultLog::Fault& last_explaining(const std::vector<FaultLog::Fault>& kept, bool stop_on_fault) {
  if (stop_on_fault) return kept.front();
  for (auto f = kept.rbegin(); f != kept.rend(); ++f)
    if (!f->expected) return *f;
  return kept.back();
}

// Unless the firmware ended the run normally, says why on stderr and writes a diagnostic dump
// (the platform's state) to stdout and DIR/diagnostic.txt.
void explain_end(VirtualPlatform& vp, const RunEnd& end, const VpOptions& options, const fs::path& dir,
                 OutputFailures& failures) {
  const RunStats& s = end.stats;
  const double at_us = s.simulated.to_seconds() * 1e6;
  char headline[512];
  if (end.signal || s.killed_by_debugger) {
    std::snprintf(headline, sizeof headline, "stopped by %s at %.3f us simulated; the outputs are partial",
                  end.signal ? signal_name(end.signal) : "GDB (kill)", at_us);
  } else if (s.watchdog == Watchdog::Verdict::time_limit) {
    std::snprintf(headline, sizeof headline, "watchdog: the simulated-time limit of %s was reached (--max-sim-time)",
                  display_quantity(Quantity::time, options.time_limit.to_seconds()).c_str());
  } else if (end.exit_code() == kExitHardwareFault) {
    const std::vector<FaultLog::Fault> kept = vp.faults().kept();
    const FaultLog::Fault& fault = last_explaining(kept, options.stop_on_fault);
    const std::string last = FaultLog::describe(fault);
    if (fault.source == "cpu" && !end.failed)  // the RV64 core stopped on the guest's own fault
      std::snprintf(headline, sizeof headline, "guest fault: the RV64 core stopped the firmware: %s", last.c_str());
    else if (options.stop_on_fault)
      std::snprintf(headline, sizeof headline, "hardware fault: the run stopped at the first fault (--stop-on-fault): %s",
                    last.c_str());
    else
      std::snprintf(headline, sizeof headline, "hardware fault: the firmware %s after %llu fault%s; the last: %s",
                    end.failed ? "failed" : "hung", static_cast<unsigned long long>(s.unexpected_faults),
                    s.unexpected_faults == 1 ? "" : "s", last.c_str());
  } else if (s.watchdog == Watchdog::Verdict::no_progress) {
    std::snprintf(headline, sizeof headline,
                  "watchdog: no progress for %s of simulated time, since %.3f us (--watchdog): the firmware hangs",
                  display_quantity(Quantity::time, options.no_progress.to_seconds()).c_str(),
                  vp.watchdog.last_progress().to_seconds() * 1e6);
  } else if (!s.firmware_finished) {
    std::snprintf(headline, sizeof headline, "the firmware did not finish: nothing was left to simulate at %.3f us",
                  at_us);
  } else {
    return;
  }
  std::fprintf(stderr, "satvp: %s\n", headline);
  const std::string dump = vp.diagnostics();
  std::printf("\n%s", dump.c_str());
  failures.attempt([&] { write_text_atomically(dir / "diagnostic.txt", std::string(headline) + "\n" + dump); });
}

void print_summary(const RunStats& s, const VirtualPlatform& vp, const PlatformConfig& config, const fs::path& dir) {
  std::printf("\nsatvp: firmware %s\n",
              !s.firmware_finished ? "did not finish (see above)"
              : s.firmware_exit_code == 0 ? "reported success (exit 0)"
                                          : ("reported failure (exit " + std::to_string(s.firmware_exit_code) + ")").c_str());
  std::printf("  simulated time      %.3f us (%.0f SAT cycles at %.0f MHz)\n", s.simulated.to_seconds() * 1e6,
              s.sat_cycles, config.clocks.sat_hz / 1e6);
  std::printf("  wall time           %.3f s\n", s.wall_seconds);
  std::printf("  peak memory         %.1f MiB (resident)\n", peak_rss_mib());
  std::printf("  bus transactions    %llu (%llu answered with an error)\n",
              static_cast<unsigned long long>(s.bus_transactions), static_cast<unsigned long long>(s.bus_errors));
  std::printf("  simulation speed    %.3f M SAT cycles per wall second\n", s.sat_cycles_per_wall_second() / 1e6);
  if (config.host.cpu == PlatformConfig::Host::Cpu::rv64)
    std::printf("  RV64 core           %llu instructions (%.3f ms of host time at CPI %g, %g MHz); %.1f guest MIPS\n",
                static_cast<unsigned long long>(s.guest_instructions),
                static_cast<double>(s.guest_instructions) * config.host.cpi / config.clocks.host_hz * 1e3,
                config.host.cpi, config.clocks.host_hz / 1e6, s.guest_mips());
  if (s.faults) {
    std::printf("  faults              %llu (bus, engine and DMA errors; %llu provoked on purpose by the firmware)\n",
                static_cast<unsigned long long>(s.faults),
                static_cast<unsigned long long>(s.faults - s.unexpected_faults));
    const std::vector<FaultLog::Fault> kept = vp.faults().kept();
    for (std::size_t i = 0; i < kept.size(); ++i) {
      if (i < 3 || i + 1 == kept.size()) std::printf("    %s\n", FaultLog::describe(kept[i]).c_str());
      else if (i == 3) std::printf("    ...\n");
    }
  }
  std::printf("  run directory       %s\n", dir.string().c_str());
}

// Progress of a training run on the console. The firmware has no wall clock (it stays
// portable), so the platform watches it: a SystemC method that wakes every 10 us of simulated
// time (once iterations complete, every quarter of the mean iteration time, at most 10 ms),
// reads the ResultHeader through the DDR backdoor (no simulated time, no bus traffic), and
// prints a line each time iterations_done passes a multiple of log_interval. It stops when the
// firmware reports finished or failed, or when nothing but itself is left to simulate (so that
// a firmware that hangs still ends the simulation).
class TrainingMonitor {
 public:
  TrainingMonitor(const TrainingImage& image, MemRead read, std::uint32_t log_interval, bool computed)
      : image_(image), read_(std::move(read)), interval_(log_interval), next_(log_interval), computed_(computed) {}

  void start() {
    sc_core::sc_spawn_options options;
    options.spawn_method();
    sc_core::sc_spawn([this] { poll(); }, "training_monitor", &options);
  }

 private:
  static constexpr double kMinPollUs = 10, kMaxPollUs = 10'000;  // simulated

  void poll() {
    const fw::model::ResultHeader r = read_result_header(image_, read_);
    double poll_us = kMinPollUs;
    if (r.magic == fw::model::kMagic) {
      const auto now = std::chrono::steady_clock::now();
      if (!started_) {
        started_ = true;
        wall_start_ = now;
      }
      const std::uint32_t done = std::min(r.iterations_done, image_.header.iterations);
      for (; next_ <= done; next_ += interval_) report(next_, r, now);
      if (r.status != 0) return;  // finished or failed
      if (done > 0)
        poll_us = std::clamp(sc_core::sc_time_stamp().to_seconds() * 1e6 / done / 4, kMinPollUs, kMaxPollUs);
    }
    if (!sc_core::sc_pending_activity_at_current_time() && !sc_core::sc_pending_activity_at_future_time()) return;
    sc_core::next_trigger(poll_us, sc_core::SC_US);
  }

  void report(std::uint32_t done, const fw::model::ResultHeader& r, std::chrono::steady_clock::time_point now) {
    fw::model::IterationRecord last;
    read_(iteration_records_addr(image_) + std::uint64_t{done - 1} * sizeof last, &last, sizeof last);
    fw::model::EvalRecord eval;
    const std::uint32_t evals = std::min(r.evals_done, eval_capacity(image_));
    if (evals) read_(eval_records_addr(image_) + std::uint64_t{evals - 1} * sizeof eval, &eval, sizeof eval);
    const double wall = std::chrono::duration<double>(now - wall_start_).count();
    const double eta = wall / done * (image_.header.iterations - done);
    std::printf("%s\n", progress_line(image_, done, last, evals ? &eval : nullptr, wall, eta, computed_).c_str());
    std::fflush(stdout);
  }

  const TrainingImage& image_;
  MemRead read_;
  std::uint32_t interval_, next_;
  bool computed_;  // loss and accuracy exist: not a timing run
  bool started_ = false;
  std::chrono::steady_clock::time_point wall_start_;
};

ReportInputs report_inputs(const VirtualPlatform& vp, const PlatformConfig& config, const Workload& workload,
                           const TrainingImage& image, const TrainingResult& result, const std::string& mode,
                           const RunStats& stats, double load_seconds) {
  ReportInputs in;
  in.config = &config, in.workload = &workload.train, in.image = &image, in.result = &result;
  in.platform = vp.counts();
  in.name = workload.name, in.mode = mode;
  in.simulated_seconds = stats.simulated.to_seconds();
  in.wall_seconds = stats.wall_seconds, in.load_seconds = load_seconds, in.peak_rss_mib = peak_rss_mib();
  in.guest_instructions = stats.guest_instructions, in.guest_seconds = stats.guest_seconds;
  return in;
}

// program: train. Loads the image into DDR, runs fw::run_training with a progress monitor,
// then exports what the firmware measured into the run directory.
int run_training_workload(const RunArgs& args, const PlatformConfig& config, const HostSetup& host,
                          const Workload& workload, const std::string& mode, const fs::path& dir,
                          const StopSignals& signals) {
  TrainWorkload train = workload.train;
  train.mode = mode;  // --mode wins over the file: the loader leaves the data out of a timing image
  const fw::BootInfo boot = VirtualPlatform::make_boot_info(config);
  const auto load_start = std::chrono::steady_clock::now();
  const TrainingImage image = build_training_image(train, boot);
  const fw::model::Header& h = image.header;
  if (host.elf) check_guest_heap(estimate_host_memory(image, train, boot).firmware, config, *host.elf);

  VpOptions options = vp_options(args, mode, signals);
  host.apply(options);
  fw::ProgramCall call;
  call.program = fw::Program::training;
  call.training.model_addr = image.model_addr;
  call.training.mode = parse_sat_mode(mode);
  call.training.timeout_ns = train.timeout_ns;
  call.training.log_interval = train.log_interval;
  VirtualPlatform vp(config, call, options);
  write_training_image(image, ddr_writer(vp.ddr, boot.ddr.base));
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  std::printf("train: %s: %s, %u training and %u test samples of %ux%ux%u, %u iterations of batch %u (%u epoch%s), "
              "%s %u:%u, %s mode; image of %.1f MiB at 0x%llx loaded in %.2f s\n",
              workload.name.c_str(), train.dataset.name.c_str(), h.train_count, h.test_count, h.image_h, h.image_w,
              h.image_c, h.iterations, h.batch, image.train_epochs, image.train_epochs == 1 ? "" : "s",
              to_string(train.scheme), h.n, h.m, mode.c_str(), static_cast<double>(image.bytes()) / (1 << 20),
              static_cast<unsigned long long>(image.model_addr), load_seconds);
  std::fflush(stdout);

  const MemRead read = ddr_reader(vp.ddr, boot.ddr.base);
  TrainingMonitor monitor(image, read, train.log_interval, mode != "timing");
  if (train.log_interval) monitor.start();
  const RunStats stats = vp.run();
  const TrainingResult result = read_training_result(image, read);
  OutputFailures failures;
  failures.add(stats.output_failures);
  const RunEnd end{stats, stats.firmware_finished && (result.header.status == 2 || stats.firmware_exit_code != 0),
                   signals.received(), failures, args.stop_on_fault};
  explain_end(vp, end, options, dir, failures);

  print_summary(stats, vp, config, dir);
  TrainingRunInfo info;
  info.workload = workload.name;
  info.mode = mode;
  info.load_seconds = load_seconds;
  info.wall_seconds = stats.wall_seconds;
  info.simulated_seconds = stats.simulated.to_seconds();
  failures.attempt([&] { std::fputs(export_training(image, result, read, dir, info).c_str(), stdout); });
  ReportInputs inputs = report_inputs(vp, config, workload, image, result, mode, stats, load_seconds);
  inputs.stopped_by = end.stopped_by();
  inputs.output_failures = failures.list();
  const Report report = make_report(inputs);
  failures.attempt([&] { write_report(report, dir); });
  std::fputs(report_table(report).c_str(), stdout);
  std::printf("  report              report.json, layers.csv, engines.csv\n");
  print_trace_files(args, failures);
  failures.print();
  return end.exit_code();
}

}  // namespace

int run_workload(const RunArgs& args) {
  PlatformConfig config = load_platform_config(args.platform);
  const Workload workload = load_workload(args.workload, parse_overrides(args.sets), &config);
  // --mode, when given, overrides a training workload's `mode`; other programs default to functional.
  const std::string mode = !args.mode.empty() ? args.mode : workload.program == "train" ? workload.train.mode : "functional";
  const fs::path dir = run_dir_of(args, workload);
  const RunDirLock lock(dir, args.out.empty() ? "run directory" : "--out");
  const std::string save_file = args.vcd.empty() ? "" : fs::path(args.vcd).replace_extension(".gtkw").string();
  check_outputs({{"--vcd", args.vcd},
                 {"--vcd's GTKWave save file", save_file},
                 {"--trace-log", args.trace_log},
                 {"--timeline", args.timeline}},
                dir, kRunDirFiles);

  const HostSetup host = prepare_host({args.cpu, args.firmware, args.gdb}, config, mode);
  write_text_atomically(dir / "platform.yaml", to_yaml(config));
  write_text_atomically(dir / "workload.yaml", to_yaml(workload));
  const StopSignals signals;
  if (workload.program == "train") return run_training_workload(args, config, host, workload, mode, dir, signals);
  VpOptions options = vp_options(args, mode, signals);
  host.apply(options);
  VirtualPlatform vp(config, program_for(workload, parse_sat_mode(mode)), options);
  const RunStats stats = vp.run();
  OutputFailures failures;
  failures.add(stats.output_failures);
  const RunEnd end{stats, stats.firmware_finished && stats.firmware_exit_code != 0, signals.received(), failures, args.stop_on_fault};
  explain_end(vp, end, options, dir, failures);

  print_summary(stats, vp, config, dir);
  print_trace_files(args, failures);
  failures.print();
  return end.exit_code();
}

void add_run_options(CLI::App& cmd, RunArgs& args) {
  cmd.add_option("--set", args.sets,
                 "Override a workload key, e.g. --set bringup.rows=8 (repeatable; the key must exist in the file)");
  cmd.add_option("--platform", args.platform, "Platform YAML (clocks, address map, DDR, DMA, SAT)")
      ->capture_default_str();
  cmd.add_option("--workload", args.workload, "Workload YAML (what the firmware runs)")
      ->required();
  cmd.add_option("--out", args.out,
                 "Run directory (default: runs/<workload name>); locked for the run, so a second run into it is "
                 "refused (exit 2)");
  cmd.add_option("--vcd", args.vcd,
                 "Write a VCD of bus transactions, interrupts and DMA state, and a .gtkw beside it. Output paths must be "
                 "regular files or new (checked before the run); a write that fails is exit 4");
  cmd.add_option("--trace-log", args.trace_log, "Write one line per bus transaction to this file");
  cmd.add_option("--timeline", args.timeline,
                 "Write the run as a Chrome / Perfetto trace (JSON): a track per SAT engine, the DMA and the firmware's "
                 "phases (layer and pass); open it in ui.perfetto.dev or chrome://tracing");
  cmd.add_option("--mode", args.mode,
                 "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data); default: a "
                 "training workload's `mode`, functional for the other programs")
      ->check(one_of({kSatModeNames.begin(), kSatModeNames.end()}));
  cmd.add_option("--max-sim-time", args.max_sim_time,
                 "Watchdog: end the run with a diagnostic dump (exit 6) when simulated time reaches this, e.g. '30 s'");
  cmd.add_option("--watchdog", args.watchdog,
                 "Watchdog: end the run with a diagnostic dump (exit 3) after this much simulated time without "
                 "progress (no register write, transfer, job, host work or interrupt); '0 s' turns it off")
      ->capture_default_str();
  cmd.add_flag("--stop-on-fault", args.stop_on_fault,
               "End the run at the first bus, engine or DMA fault, with a diagnostic dump (exit 5), to look at the "
               "state it left (bring-up provokes some faults on purpose)");
  cmd.add_option("--cpu", args.cpu,
                 "Host CPU that runs the firmware: native (the firmware as host code, timed by host_cost; fast) or "
                 "rv64 (the cross-built firmware ELF on an emulated RV64GC core, timed by its instructions); default: "
                 "the platform's host.cpu")
      ->check(one_of({"native", "rv64"}));
  cmd.add_option("--firmware", args.firmware, "RV64 core: the firmware ELF to boot")->capture_default_str();
  cmd.add_option("--gdb", args.gdb,
                 "RV64 core: halt at the entry point and serve GDB's remote protocol on [ADDRESS:]PORT (loopback "
                 "unless an address is given); then: gdb-multiarch ELF -ex 'target remote :PORT'");
  cmd.add_option("--log-level", args.log_level, "Firmware log level")
      ->check(one_of({"error", "warning", "info", "debug"}))
      ->capture_default_str();
}

}  // namespace cestvp
