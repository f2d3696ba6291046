// The RV64 firmware program as loaded from its ELF file (platform/loader/elf_loader.h reads it): what to
// place in guest memory, where to start, what the start-up stack tells the program about its
// own program headers, and the function symbols that turn a guest address into a name for fault
// reports and traces. Plain data, no SystemC, so that the loader and its tests need no kernel.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cestvp {

struct GuestSegment {
  std::uint64_t addr = 0;           // load address (p_paddr)
  std::vector<std::uint8_t> bytes;  // file contents (p_filesz)
  std::uint64_t mem_bytes = 0;      // p_memsz (rest zero-filled)
  bool executable = false, writable = false;
};

struct GuestSymbol {
  std::uint64_t addr = 0, size = 0;
  std::string name;  // demangled C++ name ("cestvp::fw::run_bringup(cestvp::fw::Hal&)"), or as in the ELF
};

struct GuestImage {
  std::string path;
  std::uint64_t entry = 0;
  std::vector<GuestSegment> segments;  // PT_LOAD in file order
  // Where the program headers are in memory, for the start-up stack's AT_PHDR/AT_PHNUM/AT_PHENT
  // (glibc's static start-up finds its TLS segment through them). Static ELFs have no PT_PHDR:
  // then the PT_LOAD whose file bytes hold them (the one at p_offset 0) + e_phoff; 0 when no
  // segment loads them.
  std::uint64_t phdr_addr = 0;
  std::uint16_t phnum = 0, phentsize = 0;
  // STT_FUNC symbols with a size, sorted by address; aliases at one address keep the ELF's
  // global names before weak and local ones (memcpy before __GI_memcpy), then by name.
  std::vector<GuestSymbol> functions;

  // "cestvp::fw::run_bringup(cestvp::fw::Hal&)+0x1c" for an address inside a function (always
  // with the offset, "+0x0" at its first byte), "" if none.
  std::string function_at(std::uint64_t addr) const;
  // The first function (by address) whose name starts with `demangled_prefix`.
  std::optional<std::uint64_t> address_of(const std::string& demangled_prefix) const;
  // [lowest, highest) spanned by the segments' memory (p_memsz); segments of no memory do not
  // count; 0 and 0 for an image without any.
  std::uint64_t lowest() const;
  std::uint64_t highest() const;
};

}  // namespace cestvp
