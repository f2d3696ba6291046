// The programs a board boots (bring-up, the engine self-test, training, the host cost probe) as
// one call with its parameters, so that the native core and the firmware ELF on the RV64 core
// start them the same way. The call is plain data: the RV64 core's boot ROM copies it into the
// guest's memory.
#pragma once
#include <cstdint>
#include <type_traits>

#include "boot_info.h"
#include "bringup.h"
#include "engine_selftest.h"
#include "hal.h"
#include "host_cost_probe.h"
#include "train_runtime.h"

namespace cestvp::fw {

enum class Program : std::uint32_t { bringup = 1, engines = 2, training = 3, host_costs = 4 };
const char* to_string(Program program);

struct ProgramCall {
  Program program = Program::bringup;
  BringupParams bringup;         // program bringup
  EngineSelftestParams engines;  // program engines
  TrainingParams training;       // program training
  HostCostParams host_costs;     // program host_costs
};
static_assert(std::is_trivially_copyable_v<ProgramCall>, "the boot ROM copies it byte for byte");

// Runs the program the call names; its exit status (0: passed or completed).
int run_program(Hal& hal, const BootInfo& boot, const ProgramCall& call);

}  // namespace cestvp::fw
