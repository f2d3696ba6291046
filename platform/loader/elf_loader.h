// Reading the RV64 firmware ELF (build/firmware/rv64/cestvp-fw.elf) into a GuestImage, and
// checking that it fits the platform's host RAM before the core places it there. SystemC-free.
//
//   const GuestImage image = load_guest_elf(path);
//   check_guest_placement(image, host_ram, {config.region("sat_regs"), ...});
//
// Everything a user can get wrong in the file is a UserError "PATH: problem; expected ...":
// not an ELF, the wrong class, byte order, machine or type, a file cut short (which part, and
// the sizes), segments that do not fit their own sizes or the 64-bit address space, a broken
// symbol table. A stripped ELF is fine: it has no function names.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "rv64/guest_image.h"

namespace cestvp {

// The ELF is read whole. The cross-built firmware (RelWithDebInfo, static with glibc and
// libstdc++) is 5 MB and the native firmware library with debug information 13 MB: 64 MiB
// leaves room for the firmware to grow several times, while a wrong file (a disk image, a core
// dump) is refused before it is read.
inline constexpr std::uint64_t kMaxGuestElfBytes = 64u << 20;

// A static, non-PIE, little-endian ELF64 executable for RISC-V (EM_RISCV) with at least one
// PT_LOAD segment. Throws UserError naming `path` for anything else.
GuestImage load_guest_elf(const std::string& path);

// Every segment with memory must lie inside `ram` and overlap none of `others` (device windows,
// the other memories); UserError naming the image's file, the segment and the region otherwise.
void check_guest_placement(const GuestImage& image, const AddressRange& ram, const std::vector<AddressRange>& others);

}  // namespace cestvp
