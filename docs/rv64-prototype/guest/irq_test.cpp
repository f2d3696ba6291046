// Interrupts on the unicorn core: M-mode CSRs, a trap vector, wfi, mret.
// The host raises its external interrupt line IRQ_AFTER instructions later and
// injects the trap (host/rvhost.cpp, --irq=manual or --irq=native).
#include <cstdio>

#include "simctl.h"

extern "C" void trap_entry();  // assembly below: saves caller-saved registers, calls trap_handler, mret
namespace { volatile unsigned irq_count; volatile std::uint64_t last_cause, last_epc; }

extern "C" void trap_handler() {
  std::uint64_t cause, epc;
  asm volatile("csrr %0, mcause" : "=r"(cause));
  asm volatile("csrr %0, mepc" : "=r"(epc));
  last_cause = cause;
  last_epc = epc;
  if (cause >> 63) {                 // interrupt: acknowledge at the "controller"
    *simctl::reg(simctl::IRQ_ACK) = 1;
    irq_count = irq_count + 1;
  } else {                           // an exception here is a bug in the test
    simctl::puts("unexpected exception");
    simctl::exit(3);
  }
}

asm(R"(
  .text
  .balign 4
  .globl trap_entry
trap_entry:
  addi sp, sp, -256
  sd ra, 0(sp);  sd t0, 8(sp);  sd t1, 16(sp); sd t2, 24(sp)
  sd a0, 32(sp); sd a1, 40(sp); sd a2, 48(sp); sd a3, 56(sp)
  sd a4, 64(sp); sd a5, 72(sp); sd a6, 80(sp); sd a7, 88(sp)
  sd t3, 96(sp); sd t4, 104(sp); sd t5, 112(sp); sd t6, 120(sp)
  fsd ft0, 128(sp); fsd ft1, 136(sp); fsd ft2, 144(sp); fsd ft3, 152(sp)
  fsd fa0, 160(sp); fsd fa1, 168(sp)
  call trap_handler
  fld ft0, 128(sp); fld ft1, 136(sp); fld ft2, 144(sp); fld ft3, 152(sp)
  fld fa0, 160(sp); fld fa1, 168(sp)
  ld ra, 0(sp);  ld t0, 8(sp);  ld t1, 16(sp); ld t2, 24(sp)
  ld a0, 32(sp); ld a1, 40(sp); ld a2, 48(sp); ld a3, 56(sp)
  ld a4, 64(sp); ld a5, 72(sp); ld a6, 80(sp); ld a7, 88(sp)
  ld t3, 96(sp); ld t4, 104(sp); ld t5, 112(sp); ld t6, 120(sp)
  addi sp, sp, 256
  mret
)");

int main() {
  char line[200];
  std::uint64_t mstatus, misa, mtvec;
  asm volatile("csrr %0, mstatus" : "=r"(mstatus));
  asm volatile("csrr %0, misa" : "=r"(misa));
  std::snprintf(line, sizeof line, "M-mode CSR read works: mstatus=0x%llx misa=0x%llx",
                (unsigned long long)mstatus, (unsigned long long)misa);
  simctl::puts(line);

  asm volatile("csrw mtvec, %0" ::"r"(&trap_entry));
  asm volatile("csrr %0, mtvec" : "=r"(mtvec));
  const int kMeie = 1 << 11, kSeie = 1 << 9;
  asm volatile("csrs mie, %0" ::"r"(kMeie | kSeie));   // MEIE for --irq=manual, SEIE for --irq=native
  asm volatile("csrsi mstatus, 8");                      // MIE

  // 1) Interrupt while running: a busy loop.
  *simctl::reg(simctl::IRQ_AFTER) = 10000;
  for (volatile int i = 0; i < 100000 && irq_count == 0; i = i + 1) {}
  std::snprintf(line, sizeof line, "busy loop: irq_count=%u mcause=0x%llx mepc=0x%llx mtvec=0x%llx",
                irq_count, (unsigned long long)last_cause, (unsigned long long)last_epc,
                (unsigned long long)mtvec);
  simctl::puts(line);

  // 2) wfi with interrupts enabled: the trap is taken, then execution continues after wfi.
  for (int k = 0; k < 3; ++k) {
    const unsigned before = irq_count;
    *simctl::reg(simctl::IRQ_AFTER) = 5000;
    while (irq_count == before) asm volatile("wfi");
  }
  std::snprintf(line, sizeof line, "wfi loop (MIE=1): irq_count=%u", irq_count);
  simctl::puts(line);

  // 3) wfi with MIE=0 (the race-free idiom: check, then sleep with interrupts masked):
  //    wfi must still wake up on a pending+enabled interrupt, without taking the trap.
  asm volatile("csrci mstatus, 8");
  *simctl::reg(simctl::IRQ_AFTER) = 1000;
  const unsigned before = irq_count;
  asm volatile("wfi");
  std::uint64_t mip;
  asm volatile("csrr %0, mip" : "=r"(mip));
  asm volatile("csrsi mstatus, 8");  // now the pending interrupt is taken
  for (volatile int i = 0; i < 10; i = i + 1) {}
  std::snprintf(line, sizeof line, "wfi with MIE=0 woke: mip=0x%llx, irq taken after re-enable: %s",
                (unsigned long long)mip, irq_count == before + 1 ? "yes" : "no");
  simctl::puts(line);
  return irq_count == 5 ? 0 : 1;
}
