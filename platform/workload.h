// Workload YAML: what the firmware runs on the platform: a `program` and that program's own
// section (bring-up, or the engine self-test); the training workloads add theirs.
#pragma once
#include <string>
#include <vector>

#include "yaml_override.h"

#include <cestvp/bringup.h>
#include <cestvp/engine_selftest.h>

namespace cestvp {

struct Workload {
  std::string source;   // file it was read from
  std::string name;     // for the run directory and reports
  std::string program;  // firmware program: "bringup" or "engines"
  fw::BringupParams bringup;         // program: bringup
  fw::EngineSelftestParams engines;  // program: engines (its mode comes from satvp --mode)
};

// Reads and validates a workload YAML; UserError (file:line:col: key: ...) on any problem.
// overrides (`--set key=value`) replace values of the file before it is validated.
Workload load_workload(const std::string& path, const std::vector<Override>& overrides = {});

// The resolved workload as YAML, for the run directory.
std::string to_yaml(const Workload& workload);

}  // namespace cestvp
