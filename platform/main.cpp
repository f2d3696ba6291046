// satvp: boots the CEST-VP virtual platform. Reads top to bottom: options, configuration,
// platform, run, report. Exit codes: 0 the firmware reported success; 1 the firmware reported
// failure; 2 bad input (options, YAML); 3 the firmware never finished (e.g. it waits for an
// interrupt that cannot come); 4 a simulator error.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "config.h"
#include "user_error.h"
#include "vp.h"
#include "workload.h"

namespace fs = std::filesystem;
using namespace cestvp;

namespace {

struct RunArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string workload;
  std::string out;
  std::string vcd;
  std::string trace_log;
  std::string log_level = "info";
  std::string mode = "functional";
};

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

VirtualPlatform::Firmware firmware_for(const Workload& workload) {
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

int run(const RunArgs& args) {
  const PlatformConfig config = load_platform_config(args.platform);
  const Workload workload = load_workload(args.workload);
  const fs::path dir = prepare_out_dir(args, workload);
  write_file(dir / "platform.yaml", to_yaml(config));
  write_file(dir / "workload.yaml", to_yaml(workload));

  for (const std::string& file : {args.vcd, args.trace_log})
    if (!file.empty()) create_parent_dir(file);
  VpOptions options;
  options.vcd_path = args.vcd;
  options.trace_log_path = args.trace_log;
  options.log_level = parse_log_level(args.log_level);
  options.mode = args.mode == "bit-accurate" ? sat::Mode::bit_accurate
                 : args.mode == "timing"     ? sat::Mode::timing
                                             : sat::Mode::functional;
  VirtualPlatform vp(config, firmware_for(workload), options);
  const RunStats stats = vp.run();

  print_summary(stats, vp, config, dir);
  if (!args.vcd.empty()) std::printf("  VCD                 %s (open: gtkwave %s %s)\n", args.vcd.c_str(),
                                     args.vcd.c_str(), fs::path(args.vcd).replace_extension(".gtkw").c_str());
  if (!args.trace_log.empty()) std::printf("  transaction log     %s\n", args.trace_log.c_str());
  if (!stats.firmware_finished) return 3;
  return stats.firmware_exit_code == 0 ? 0 : 1;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  CLI::App app{"CEST-VP: virtual platform of the SAT N:M sparse training accelerator"};
  app.require_subcommand(1);
  RunArgs args;
  CLI::App* run_cmd = app.add_subcommand("run", "Boot the platform and run a workload's firmware");
  run_cmd->add_option("--platform", args.platform, "Platform YAML (clocks, address map, DDR, DMA, SAT)")
      ->capture_default_str();
  run_cmd->add_option("--workload", args.workload, "Workload YAML (what the firmware runs)")
      ->required();
  run_cmd->add_option("--out", args.out, "Run directory (default: runs/<workload name>)");
  run_cmd->add_option("--vcd", args.vcd, "Write a VCD of bus transactions, interrupts and DMA state, and a .gtkw beside it");
  run_cmd->add_option("--trace-log", args.trace_log, "Write one line per bus transaction to this file");
  run_cmd->add_option("--mode", args.mode, "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data)")
      ->check(CLI::IsMember({"functional", "bit-accurate", "timing"}))
      ->capture_default_str();
  run_cmd->add_option("--log-level", args.log_level, "Firmware log level")
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a "parse error" that succeeds
  }

  try {
    return run(args);
  } catch (const UserError& e) {
    std::cerr << "satvp: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "satvp: simulator error: " << e.what() << "\n";
    return 4;
  }
}

// libsystemc prints its banner before sc_main unless told not to; our summary says what ran.
int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
