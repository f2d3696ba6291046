// satvp run: boots the platform with a workload's firmware program and reports the run.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <cestvp/engine_selftest.h>

#include "sat/jobs.h"

namespace cestvp {

struct RunArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string workload;
  std::string out;
  std::string vcd;
  std::string trace_log;
  std::string timeline;
  std::string log_level = "info";
  std::string mode;  // empty: the workload's (program train), else functional
  std::vector<std::string> sets;  // --set key=value, applied to the workload
  std::string max_sim_time;        // "" or a time with a unit: the watchdog's limit
  std::string watchdog = "1 s";    // simulated time without progress that ends a run; "0 s": off
  bool stop_on_fault = false;
  std::string cpu;                               // "" (the platform's host.cpu), native or rv64
  std::string firmware = CESTVP_FIRMWARE_ELF;    // the RV64 core's firmware ELF
  std::string gdb;                               // "" or [ADDRESS:]PORT: serve GDB, halted at the entry
};

// satvp's exit codes (docs/reliability.md); a run stopped by a signal exits 128 + its number.
enum ExitCode : int {
  kExitSuccess = 0,         // the firmware reported success
  kExitFirmwareFailed = 1,  // the firmware reported failure, and no hardware fault was seen
  kExitBadInput = 2,        // options, YAML, datasets: the message names the file, line and key
  kExitHung = 3,            // the firmware never finished: no progress, or nothing left to simulate
  kExitSimulatorError = 4,  // a bug in the simulator
  kExitHardwareFault = 5,   // the firmware failed or hung after a bus, engine or DMA fault
  kExitTimeLimit = 6,       // the simulated-time limit (--max-sim-time) was reached
};

void add_run_options(CLI::App& cmd, RunArgs& args);
// Returns an ExitCode; throws UserError on bad input.
int run_workload(const RunArgs& args);

// The --mode option's value as the SAT model's numerics mode, and as the firmware knows it.

}  // namespace cestvp
