// satvp run: boots the platform with a workload's firmware program and reports the run.
#include "cmd_run.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "config.h"
#include "user_error.h"
#include "vp.h"
#include "workload.h"

namespace fs = std::filesystem;

namespace cestvp {

namespace {

fw::LogLevel parse_log_level(const std::string& s) {
  if (s == "error") return fw::LogLevel::error;
  if (s == "warning") return fw::LogLevel::warning;
  if (s == "debug") return fw::LogLevel::debug;
  return fw::LogLevel::info;
}

void create_parent_dir(const std::string& file) {
  const fs::path parent = fs::path(file).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw UserError("cannot create directory " + parent.string() + " for " + file + ": " + ec.message());
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream os(path);
  os << text;
  if (!os) throw UserError("cannot write " + path.string());
}

fs::path prepare_out_dir(const RunArgs& args, const Workload& workload) {
  const fs::path dir = args.out.empty() ? fs::path("runs") / workload.name : fs::path(args.out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("cannot create run directory " + dir.string() + ": " + ec.message());
  return dir;
}

// The workload's program; the engine self-test is told the run's mode, to know what to compare.
VirtualPlatform::Firmware firmware_for(const Workload& workload, fw::SatMode mode) {
  if (workload.program == "engines") {
    fw::EngineSelftestParams params = workload.engines;
    params.mode = mode;
    return [params](fw::Hal& hal, const fw::BootInfo& boot) { return fw::run_engine_selftest(hal, boot, params); };
  }
  return [params = workload.bringup](fw::Hal& hal, const fw::BootInfo& boot) {
    return fw::run_bringup(hal, boot, params);
  };
}

void print_summary(const RunStats& s, const VirtualPlatform& vp, const PlatformConfig& config, const fs::path& dir) {
  std::printf("\nsatvp: firmware %s\n",
              !s.firmware_finished ? "did not finish (simulation ran out of events)"
              : s.firmware_exit_code == 0 ? "reported success (exit 0)"
                                          : ("reported failure (exit " + std::to_string(s.firmware_exit_code) + ")").c_str());
  std::printf("  simulated time      %.3f us (%.0f SAT cycles at %.0f MHz)\n", s.simulated.to_seconds() * 1e6,
              s.sat_cycles, config.clocks.sat_hz / 1e6);
  std::printf("  wall time           %.3f s\n", s.wall_seconds);
  std::printf("  bus transactions    %llu (%llu answered with an error)\n",
              static_cast<unsigned long long>(s.bus_transactions), static_cast<unsigned long long>(s.bus_errors));
  std::printf("  simulation speed    %.3f M SAT cycles per wall second\n", s.sat_cycles_per_wall_second() / 1e6);
  const auto& faults = vp.cpu.bus_faults();
  if (!faults.empty()) {
    std::printf("  firmware bus errors %zu (first: %s of %u B at 0x%016llx -> %s at %.3f us)\n", faults.size(),
                faults[0].write ? "write" : "read", faults[0].bytes, static_cast<unsigned long long>(faults[0].addr),
                fw::to_string(faults[0].status), faults[0].at.to_seconds() * 1e6);
  }
  std::printf("  run directory       %s\n", dir.string().c_str());
}

}  // namespace

fw::SatMode parse_fw_mode(const std::string& s) {
  return s == "bit-accurate" ? fw::SatMode::bit_accurate : s == "timing" ? fw::SatMode::timing : fw::SatMode::functional;
}

sat::Mode parse_mode(const std::string& s) {
  return s == "bit-accurate" ? sat::Mode::bit_accurate : s == "timing" ? sat::Mode::timing : sat::Mode::functional;
}

int run_workload(const RunArgs& args) {
  const PlatformConfig config = load_platform_config(args.platform);
  const Workload workload = load_workload(args.workload, parse_overrides(args.sets));
  const fs::path dir = prepare_out_dir(args, workload);
  write_file(dir / "platform.yaml", to_yaml(config));
  write_file(dir / "workload.yaml", to_yaml(workload));

  for (const std::string& file : {args.vcd, args.trace_log})
    if (!file.empty()) create_parent_dir(file);
  VpOptions options;
  options.vcd_path = args.vcd;
  options.trace_log_path = args.trace_log;
  options.log_level = parse_log_level(args.log_level);
  options.mode = parse_mode(args.mode);
  VirtualPlatform vp(config, firmware_for(workload, parse_fw_mode(args.mode)), options);
  const RunStats stats = vp.run();

  print_summary(stats, vp, config, dir);
  if (!args.vcd.empty()) std::printf("  VCD                 %s (open: gtkwave %s %s)\n", args.vcd.c_str(),
                                     args.vcd.c_str(), fs::path(args.vcd).replace_extension(".gtkw").c_str());
  if (!args.trace_log.empty()) std::printf("  transaction log     %s\n", args.trace_log.c_str());
  if (!stats.firmware_finished) return 3;
  return stats.firmware_exit_code == 0 ? 0 : 1;
}

void add_run_options(CLI::App& cmd, RunArgs& args) {
  cmd.add_option("--set", args.sets,
                 "Override a workload key, e.g. --set bringup.rows=8 (repeatable; the key must exist in the file)");
  cmd.add_option("--platform", args.platform, "Platform YAML (clocks, address map, DDR, DMA, SAT)")
      ->capture_default_str();
  cmd.add_option("--workload", args.workload, "Workload YAML (what the firmware runs)")
      ->required();
  cmd.add_option("--out", args.out, "Run directory (default: runs/<workload name>)");
  cmd.add_option("--vcd", args.vcd, "Write a VCD of bus transactions, interrupts and DMA state, and a .gtkw beside it");
  cmd.add_option("--trace-log", args.trace_log, "Write one line per bus transaction to this file");
  cmd.add_option("--mode", args.mode, "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data)")
      ->check(CLI::IsMember({"functional", "bit-accurate", "timing"}))
      ->capture_default_str();
  cmd.add_option("--log-level", args.log_level, "Firmware log level")
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->capture_default_str();
}

}  // namespace cestvp
