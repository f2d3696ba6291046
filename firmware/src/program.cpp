#include <cestvp/program.h>

namespace cestvp::fw {

const char* to_string(Program program) {
  switch (program) {
    case Program::bringup: return "bringup";
    case Program::engines: return "engines";
    case Program::training: return "training";
    case Program::host_costs: return "host_costs";
  }
  return "?";
}

int run_program(Hal& hal, const BootInfo& boot, const ProgramCall& call) {
  switch (call.program) {
    case Program::bringup: return run_bringup(hal, boot, call.bringup);
    case Program::engines: return run_engine_selftest(hal, boot, call.engines);
    case Program::training: return run_training(hal, boot, call.training);
    case Program::host_costs: return run_host_cost_probe(hal, boot, call.host_costs);
  }
  hal.log(LogLevel::error, "unknown program in the boot call");
  return 1;
}

}  // namespace cestvp::fw
