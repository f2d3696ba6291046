// satvp host-costs: measures what the firmware's host work costs per element on a host core (the
// RV64 core by default) with the firmware's host cost probe (fw::Program::host_costs), prints it
// kind by kind beside the platform's host_cost table, and can write a host_cost: section of
// measured figures to splice into a platform YAML.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

namespace cestvp {

struct HostCostsArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string cpu = "rv64";                    // the core that runs the probe: rv64 or native
  std::string firmware = CESTVP_FIRMWARE_ELF;  // the RV64 core's firmware ELF
  std::string out;                             // "" or the YAML file for the host_cost: section
};

void add_host_costs_options(CLI::App& cmd, HostCostsArgs& args);
// Returns an ExitCode (cmd_run.h); throws UserError on bad input.
int run_host_costs(const HostCostsArgs& args);

}  // namespace cestvp
