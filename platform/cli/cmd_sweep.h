// satvp sweep: a design-space sweep. Runs a training workload once per point of the cartesian
// product of workload keys (--param, given to each run as --set) and platform keys
// (--platform-param, written into a copy of the platform YAML per run), each a child `satvp
// run`, and collects their report.json files into sweep.csv and sweep.png. With --emit it writes
// the runs as commands for a Slurm job array or GNU parallel instead; --collect gathers their
// reports afterwards (docs/reports.md).
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/child_runs.h"

namespace cestvp {

struct SweepArgs {
  ChildRunOptions run;
  std::vector<std::string> params;           // "batch=16,32"
  std::vector<std::string> platform_params;  // "sat.array.rows=16,32"
  std::string emit;                          // "", "slurm" or "parallel"
  std::string collect;                       // --collect's directory ("" and given: --out's)
};

void add_sweep_options(CLI::App& cmd, SweepArgs& args);
// 0 when every run succeeded (or the commands were written), 1 when any failed or has no
// report; throws UserError on bad input.
int run_sweep(const SweepArgs& args, const CLI::App& cmd);

}  // namespace cestvp
