// The part of a Linux kernel a static riscv64 glibc program needs to start and run (docs/
// firmware-guide.md, "What differs from native"): the start-up stack the kernel hands to _start,
// and the handful of system calls glibc's start-up, malloc and fatal-error paths make. The
// firmware ELF is a static Linux program because Debian's cross toolchain with a full C++
// library is riscv64-linux-gnu; everything it does with hardware goes through the bare-metal HAL.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "guest_image.h"

namespace cestvp {

class GuestLinux {
 public:
  // Guest memory as the host sees it: [base, base + size) at `host`.
  struct Memory {
    std::uint8_t* host = nullptr;
    std::uint64_t base = 0, size = 0;
    bool contains(std::uint64_t addr, std::uint64_t bytes) const {
      return addr >= base && bytes <= size && addr - base <= size - bytes;
    }
    std::uint8_t* at(std::uint64_t addr) const { return host + (addr - base); }
  };

  // The heap (brk) may grow from heap_start up to heap_limit.
  GuestLinux(const Memory& memory, std::uint64_t heap_start, std::uint64_t heap_limit);

  // Writes argc, argv, an empty environment and the auxiliary vector below stack_top, as Linux
  // does for a static ELF; returns the initial sp (16-byte aligned).
  std::uint64_t build_stack(std::uint64_t stack_top, const GuestImage& image, const std::vector<std::string>& args);

  struct Call {
    std::int64_t result = 0;  // into a0
    bool exit = false;        // exit_group / exit: the program ended with `status`
    bool abort = false;       // abort() (tgkill of itself): glibc's way to stop on a fatal error
    int status = 0;
    std::string output;       // what the program wrote to stdout/stderr (glibc's fatal messages)
    bool unknown = false;     // a system call this emulation does not know (answered -ENOSYS)
  };
  Call syscall(std::uint64_t number, const std::uint64_t args[6]);

  std::uint64_t heap_end() const { return brk_; }

 private:
  std::int64_t write(std::uint64_t fd, std::uint64_t buf, std::uint64_t len, std::string& out) const;
  std::int64_t writev(std::uint64_t fd, std::uint64_t iov, std::uint64_t count, std::string& out) const;

  Memory memory_;
  std::uint64_t heap_start_, heap_limit_, brk_;
};

}  // namespace cestvp
