// Entry of the firmware ELF on the RV64 core: the boot ROM's BootBlock names the program and its
// parameters (cestvp/boot_block.h); the program runs on the bare-metal HAL, and its status goes
// to the simulation-control device.
#include <cstdlib>

#include <cestvp/boot_block.h>
#include <cestvp/program.h>

#include "baremetal_hal.h"

namespace {

// Exit statuses of a boot that cannot start a program (the platform names them).
constexpr int kNoBootBlock = 64;
constexpr int kWrongBootBlock = 65;

}  // namespace

int main(int argc, char** argv) {
  using namespace cestvp::fw;
  if (argc < 2) return kNoBootBlock;
  const auto* block = reinterpret_cast<const BootBlock*>(std::strtoull(argv[1], nullptr, 16));
  if (block->magic != BootBlock::kMagic || block->version != BootBlock::kVersion) return kWrongBootBlock;
  BareMetalHal hal(block->boot, block->host_local);
  hal.exit(run_program(hal, block->boot, program_call(block->call)));
}
