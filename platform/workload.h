// Workload YAML: what the firmware runs on the platform. For now the bring-up program; the
// training workloads add their own sections.
#pragma once
#include <string>

#include <cestvp/bringup.h>

namespace cestvp {

struct Workload {
  std::string source;   // file it was read from
  std::string name;     // for the run directory and reports
  std::string program;  // firmware program: "bringup"
  fw::BringupParams bringup;
};

// Reads and validates a workload YAML; UserError (file:line:col: key: ...) on any problem.
Workload load_workload(const std::string& path);

// The resolved workload as YAML, for the run directory.
std::string to_yaml(const Workload& workload);

}  // namespace cestvp
