// The programs a board boots (bring-up, the engine self-test, training, the host cost probe) as
// one call with its parameters, so that the native core and the firmware ELF on the RV64 core
// start them the same way. The call is plain data: the RV64 core's boot ROM copies it into the
// guest's memory.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <cestvp/boot_block.h>
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

#include "bringup.h"
#include "engine_selftest.h"
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

  // The bytes a BootBlock carries (the platform hands the call to the RV64 core's boot ROM so:
  // `block.call = call`).
  operator ProgramCallBytes() const {
    ProgramCallBytes out;
    std::memcpy(out.bytes, this, sizeof *this);
    return out;
  }
};
static_assert(std::is_trivially_copyable_v<ProgramCall>, "the boot ROM copies it byte for byte");
static_assert(sizeof(ProgramCall) == kProgramCallBytes && alignof(ProgramCall) <= alignof(ProgramCallBytes),
              "ProgramCall no longer fills the BootBlock's call (cestvp/boot_block.h): change both, and BootBlock::kVersion");

// The call a BootBlock carries, where the boot ROM put it (the block is the ROM's copy of a
// ProgramCall's bytes, suitably aligned).
inline const ProgramCall& program_call(const ProgramCallBytes& bytes) {
  return *reinterpret_cast<const ProgramCall*>(bytes.bytes);
}

// Runs the program the call names; its exit status (0: passed or completed).
int run_program(Hal& hal, const BootInfo& boot, const ProgramCall& call);

}  // namespace cestvp::fw
