// satvp compare: runs a training workload once per N:M scheme (each a child `satvp run`) and
// tabulates the time per iteration and the speed-up over dense on three bases (whole iteration,
// accelerator, STCE; docs/paper-reproduction.md), operations, STCE utilisation and host share
// (docs/reports.md).
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "cli/child_runs.h"

namespace cestvp {

struct CompareArgs {
  ChildRunOptions run;
  std::string schemes = "dense,srste,sdgp,bdwp";
};

void add_compare_options(CLI::App& cmd, CompareArgs& args);
// 0 when every run succeeded, 1 when any failed; throws UserError on bad input.
int run_compare(const CompareArgs& args);

}  // namespace cestvp
