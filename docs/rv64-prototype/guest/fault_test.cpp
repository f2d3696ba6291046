// Guest faults: what unicorn 2.0.1 reports, and with which pc.  fault_test <case>
#include <cstdint>
#include <cstring>

#include "simctl.h"

volatile std::uint64_t sink;
int main(int argc, char** argv) {
  const char* c = argc > 1 ? argv[1] : "";
  alignas(8) static std::uint8_t buf[64];
  sink = 1; sink = 2;  // some instructions in the same block before the fault
  if (!std::strcmp(c, "illegal")) asm volatile("addi a0, a0, 1\n .word 0\n addi a0, a0, 1" ::: "a0");
  if (!std::strcmp(c, "unmapped")) sink = *reinterpret_cast<volatile std::uint64_t*>(0x30000000);
  if (!std::strcmp(c, "unmapped-write")) *reinterpret_cast<volatile std::uint64_t*>(0x30000000) = 5;
  if (!std::strcmp(c, "null")) sink = *reinterpret_cast<volatile std::uint32_t*>(std::uintptr_t(sink - 2));
  if (!std::strcmp(c, "misaligned")) {
    sink = *reinterpret_cast<volatile std::uint32_t*>(buf + 1);
    simctl::puts("misaligned RAM load: no trap");
  }
  if (!std::strcmp(c, "misaligned-mmio")) {
    sink = *reinterpret_cast<volatile std::uint32_t*>(simctl::kBase + 0x31);
    simctl::puts("misaligned MMIO load: no trap");
  }
  if (!std::strcmp(c, "misaligned-amo")) {
    auto* p = reinterpret_cast<std::uint32_t*>(buf + 2);
    __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
    simctl::puts("misaligned AMO: no trap");
  }
  if (!std::strcmp(c, "ebreak")) asm volatile("ebreak");
  return 0;
}
