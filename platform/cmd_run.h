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
};

void add_run_options(CLI::App& cmd, RunArgs& args);
// Exit codes as in main.cpp; throws UserError on bad input.
int run_workload(const RunArgs& args);

// The --mode option's value as the SAT model's numerics mode, and as the firmware knows it.
sat::Mode parse_mode(const std::string& text);
fw::SatMode parse_fw_mode(const std::string& text);

}  // namespace cestvp
