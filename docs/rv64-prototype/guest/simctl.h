// Guest side of the prototype's simulation-control device (a semihosting-like MMIO window).
// Register layout (all 64-bit slots, 8-byte stride) -- see host/rvhost.cpp.
#pragma once
#include <cstdint>
#include <cstring>

namespace simctl {
inline constexpr std::uintptr_t kBase = 0x40000000UL;
enum : std::uintptr_t {
  PUTC = 0x00,      // W: one byte of console output
  EXIT = 0x08,      // W: stop the run with this exit status
  PHASE = 0x10,     // W: guest address of a NUL-terminated phase name (host records instret + wall time)
  IRQ_AFTER = 0x18, // W: raise the external interrupt line after N more guest instructions
  IRQ_ACK = 0x20,   // W: lower the line (the "interrupt controller" acknowledge)
  INSTRET = 0x28,   // R: guest instructions counted by the host's block hook
  SINK = 0x30,      // R/W: no effect; for measuring the cost of one MMIO access
  PUTS = 0x38,      // W: guest address of a NUL-terminated string (one access per line)
};
inline volatile std::uint64_t* reg(std::uintptr_t off) {
  return reinterpret_cast<volatile std::uint64_t*>(kBase + off);
}
inline void putc(char c) { *reinterpret_cast<volatile std::uint8_t*>(kBase + PUTC) = static_cast<std::uint8_t>(c); }
inline void puts_bytewise(const char* s) { while (*s) putc(*s++); }
inline void puts(const char* s) { *reg(PUTS) = reinterpret_cast<std::uintptr_t>(s); }
inline void phase(const char* s) { *reg(PHASE) = reinterpret_cast<std::uintptr_t>(s); }
[[noreturn]] inline void exit(int code) {
  *reg(EXIT) = static_cast<std::uint64_t>(code);
  for (;;) {}
}
}  // namespace simctl
