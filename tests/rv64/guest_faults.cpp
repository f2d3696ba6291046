// A guest program for the RV64 core that faults on purpose, one kind per ELF
// (firmware/rv64/CMakeLists.txt builds guest-fault-<kind>.elf with -DGUEST_FAULT_<KIND>), for
// tests/test_rv64.cpp to check what satvp reports: the fault's kind, its pc, the function it is
// in and, for an illegal instruction, the instruction. It boots as the firmware does
// (firmware/rv64/main.cpp: argv[1] is the BootBlock's address). Each fault lives in a function of
// its own, kept out of line, so that the report has a name to give.
#include <cstdint>
#include <cstdlib>

#include <cestvp/boot_block.h>

namespace {

// Exit statuses when the program gets past its fault: the platform did not stop the core.
constexpr int kNoBootBlock = 64;
constexpr int kWrongBootBlock = 65;
constexpr int kFaultDidNotStop = 66;

// In no region of the address map (vcu1525.yaml): above DDR, the SAT window and host RAM.
constexpr std::uint64_t kUnmapped = 0x70'0000'0000;

}  // namespace

namespace guest_faults {

// The 32-bit `unimp` (csrrw x0, cycle, x0: a write to a read-only CSR), spelled out so that the
// assembler does not pick the compressed one.
__attribute__((noinline)) void execute_illegal_instruction() {
  asm volatile(".option push\n.option norvc\nunimp\n.option pop");
}

// The 16-bit `c.unimp`, 0x0000: all-zero bits are illegal in every RISC-V ISA.
__attribute__((noinline)) void execute_illegal_compressed_instruction() { asm volatile("c.unimp"); }

__attribute__((noinline)) std::uint32_t read_unmapped_address() {
  return *reinterpret_cast<volatile std::uint32_t*>(kUnmapped);
}

__attribute__((noinline)) void write_unmapped_address() {
  *reinterpret_cast<volatile std::uint32_t*>(kUnmapped) = 0x600DF00D;
}

// A 32-bit load one byte into the SAT's register block: registers take aligned 32-bit accesses.
__attribute__((noinline)) std::uint32_t read_device_misaligned(std::uint64_t sat_regs) {
  return *reinterpret_cast<volatile std::uint32_t*>(sat_regs + 1);
}

__attribute__((noinline)) void call_abort() { std::abort(); }

}  // namespace guest_faults

int main(int argc, char** argv) {
  using cestvp::fw::BootBlock;
  if (argc < 2) return kNoBootBlock;
  const auto* block = reinterpret_cast<const BootBlock*>(std::strtoull(argv[1], nullptr, 16));
  if (block->magic != BootBlock::kMagic || block->version != BootBlock::kVersion) return kWrongBootBlock;
#if defined(GUEST_FAULT_ILLEGAL)
  guest_faults::execute_illegal_instruction();
#elif defined(GUEST_FAULT_ILLEGAL_COMPRESSED)
  guest_faults::execute_illegal_compressed_instruction();
#elif defined(GUEST_FAULT_UNMAPPED_READ)
  guest_faults::read_unmapped_address();
#elif defined(GUEST_FAULT_UNMAPPED_WRITE)
  guest_faults::write_unmapped_address();
#elif defined(GUEST_FAULT_MISALIGNED_DEVICE)
  guest_faults::read_device_misaligned(block->boot.sat_regs.base);
#elif defined(GUEST_FAULT_ABORT)
  guest_faults::call_abort();
#else
#error "define GUEST_FAULT_<KIND>: ILLEGAL, ILLEGAL_COMPRESSED, UNMAPPED_READ, UNMAPPED_WRITE, MISALIGNED_DEVICE or ABORT"
#endif
  return kFaultDidNotStop;
}
