// What the RV64 core's boot ROM leaves for the firmware ELF (docs/firmware-guide.md, "Run and
// debug your firmware on the RV64 core"): at the start of host RAM, before the ELF's first
// segment, one BootBlock. The ELF starts as a static Linux program (glibc's _start owns a0), so
// the block's address reaches main() as argv[1], in hex.
//
// Both sides compile this header (x86-64 and riscv64, both LP64 little-endian); the size check
// below fails the build of either if their layouts ever differ.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cestvp/boot_info.h>

namespace cestvp::fw {

// The program call as the boot ROM sees it: bytes to copy. They hold the firmware's ProgramCall
// (firmware/include/cestvp/program.h, which checks that it fills them exactly and converts both
// ways); the models never look inside, so they need none of the programs' parameters.
inline constexpr std::size_t kProgramCallBytes = 160;

struct ProgramCallBytes {
  alignas(8) std::uint8_t bytes[kProgramCallBytes] = {};
};

struct BootBlock {
  static constexpr std::uint32_t kMagic = 0x54425643;  // "CVBT"
  static constexpr std::uint32_t kVersion = 2;  // 2: ProgramCall gained host_costs

  std::uint32_t magic = kMagic;
  std::uint32_t version = kVersion;
  std::uint64_t host_local = 0;  // base of the core-local devices (regs::host_local)
  BootInfo boot;
  ProgramCallBytes call;
};
static_assert(std::is_trivially_copyable_v<BootBlock>, "the boot ROM copies it byte for byte");
static_assert(sizeof(BootBlock) == 352, "BootBlock's layout changed: both targets must agree (LP64)");

// Room the boot ROM keeps for the block at the start of host RAM; the ELF is linked above it.
inline constexpr std::uint64_t kBootBlockBytes = 64 << 10;

}  // namespace cestvp::fw
