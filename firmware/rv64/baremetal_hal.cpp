#include "baremetal_hal.h"

#include <cstring>

#include <cestvp/mmio.h>
#include <cestvp/regs.h>

namespace cestvp::fw {

namespace {

namespace r = regs::host_local;

constexpr std::uint64_t kMstatusMie = 1u << 3;  // machine interrupts enabled
constexpr std::uint64_t kMieMtie = 1u << 7;     // machine timer interrupt enable
constexpr std::uint64_t kMieMeie = 1u << 11;    // machine external interrupt enable
constexpr std::uint64_t kCauseInterrupt = 1ull << 63;
constexpr std::uint64_t kCauseMachineTimer = 7;
constexpr std::uint64_t kCauseMachineExternal = 11;

// Set by the trap handler when the external interrupt line was taken.
volatile bool g_external_interrupt = false;

inline void csr_set_mstatus(std::uint64_t bits) { asm volatile("csrs mstatus, %0" ::"r"(bits) : "memory"); }
inline void csr_clear_mstatus(std::uint64_t bits) { asm volatile("csrc mstatus, %0" ::"r"(bits) : "memory"); }
inline void csr_set_mie(std::uint64_t bits) { asm volatile("csrs mie, %0" ::"r"(bits) : "memory"); }
inline void csr_clear_mie(std::uint64_t bits) { asm volatile("csrc mie, %0" ::"r"(bits) : "memory"); }

// Machine-mode trap vector (mtvec, direct mode: 4-byte aligned). Interrupts are level
// triggered and only the drivers can clear their sources (Irq::service acknowledges the
// controller after the wait), so the handler masks the source it took and records it; the next
// wait unmasks it. A leaf function: GCC saves exactly the registers it uses.
extern "C" __attribute__((interrupt("machine"), aligned(4))) void cestvp_trap() {
  std::uint64_t cause;
  asm volatile("csrr %0, mcause" : "=r"(cause));
  if (cause == (kCauseInterrupt | kCauseMachineExternal)) {
    csr_clear_mie(kMieMeie);
    g_external_interrupt = true;
  } else if (cause == (kCauseInterrupt | kCauseMachineTimer)) {
    csr_clear_mie(kMieMtie);  // the waiter compares the time itself
  } else {
    // A synchronous exception: the platform reports those before they reach the guest; on a
    // core that delivers them, stop rather than return to the faulting instruction.
    for (;;) asm volatile("wfi");
  }
}

}  // namespace

BareMetalHal::BareMetalHal(const BootInfo& boot, std::uint64_t host_local) : boot_(boot), local_(host_local) {
  asm volatile("csrw mtvec, %0" ::"r"(reinterpret_cast<std::uint64_t>(&cestvp_trap)));
  csr_clear_mstatus(kMstatusMie);
  set_timer(UINT64_MAX);
}

std::uint32_t BareMetalHal::local_read(std::uint32_t offset) const {
  return *reinterpret_cast<volatile std::uint32_t*>(local_ + offset);
}

void BareMetalHal::local_write(std::uint32_t offset, std::uint32_t value) const {
  *reinterpret_cast<volatile std::uint32_t*>(local_ + offset) = value;
}

BusStatus BareMetalHal::take_bus_error() const {
  const std::uint32_t cause = local_read(r::BERR_CAUSE);
  if (cause == 0) return BusStatus::ok;
  local_write(r::BERR_CAUSE, 0);
  return static_cast<BusStatus>(r::BerrCause{cause}.cause());
}

// Kept out of line so that a device access's fault report names them (the emulator reports
// device accesses at the start of their block of instructions).
__attribute__((noinline)) BusStatus BareMetalHal::read32(std::uint64_t addr, std::uint32_t& value) {
  value = *reinterpret_cast<volatile std::uint32_t*>(addr);
  return take_bus_error();
}

__attribute__((noinline)) BusStatus BareMetalHal::write32(std::uint64_t addr, std::uint32_t value) {
  *reinterpret_cast<volatile std::uint32_t*>(addr) = value;
  return take_bus_error();
}

bool BareMetalHal::in_ddr(std::uint64_t addr, std::size_t bytes) const {
  return addr >= boot_.ddr.base && bytes <= boot_.ddr.size && addr - boot_.ddr.base <= boot_.ddr.size - bytes;
}

// DDR is memory; any other target (the SAT SRAM) is a device window taking 32-bit accesses.
BusStatus BareMetalHal::read_block(std::uint64_t addr, void* dst, std::size_t bytes) {
  if (in_ddr(addr, bytes)) {
    std::memcpy(dst, reinterpret_cast<const void*>(addr), bytes);
    return BusStatus::ok;
  }
  if ((addr | bytes) % 4 != 0) return BusStatus::burst_error;
  auto* out = static_cast<std::uint8_t*>(dst);
  for (std::size_t i = 0; i < bytes; i += 4) {
    const std::uint32_t word = *reinterpret_cast<volatile std::uint32_t*>(addr + i);
    std::memcpy(out + i, &word, 4);
  }
  return take_bus_error();
}

BusStatus BareMetalHal::write_block(std::uint64_t addr, const void* src, std::size_t bytes) {
  if (in_ddr(addr, bytes)) {
    std::memcpy(reinterpret_cast<void*>(addr), src, bytes);
    return BusStatus::ok;
  }
  if ((addr | bytes) % 4 != 0) return BusStatus::burst_error;
  const auto* in = static_cast<const std::uint8_t*>(src);
  for (std::size_t i = 0; i < bytes; i += 4) {
    std::uint32_t word;
    std::memcpy(&word, in + i, 4);
    *reinterpret_cast<volatile std::uint32_t*>(addr + i) = word;
  }
  return take_bus_error();
}

std::uint64_t BareMetalHal::now_ps() {
  const std::uint32_t lo = local_read(r::MTIME_LO);  // latches MTIME_HI
  return (std::uint64_t{local_read(r::MTIME_HI)} << 32) | lo;
}

// High word first, so that the pair never passes through an earlier deadline than either.
void BareMetalHal::set_timer(std::uint64_t at_ps) const {
  local_write(r::MTIMECMP_LO, static_cast<std::uint32_t>(at_ps));
  local_write(r::MTIMECMP_HI, static_cast<std::uint32_t>(at_ps >> 32));
}

// Check-then-sleep with interrupts globally off: `wfi` wakes on a pending enabled interrupt even
// while mstatus.MIE is clear, and opening MIE afterwards takes the trap, so no interrupt is lost
// between the check and the sleep.
bool BareMetalHal::wait_for_interrupt(std::uint64_t timeout_ns) {
  const std::uint64_t deadline = timeout_ns == kNoTimeout ? UINT64_MAX : now_ps() + timeout_ns * 1000;
  set_timer(deadline);
  bool interrupted = false;
  for (;;) {
    csr_clear_mstatus(kMstatusMie);
    if (g_external_interrupt) {
      g_external_interrupt = false;
      interrupted = true;
      break;
    }
    if (deadline != UINT64_MAX && now_ps() >= deadline) break;
    csr_set_mie(kMieMeie | (deadline != UINT64_MAX ? kMieMtie : 0));
    asm volatile("wfi" ::: "memory");
    csr_set_mstatus(kMstatusMie);
  }
  csr_clear_mie(kMieMtie);
  set_timer(UINT64_MAX);
  return interrupted;
}

void BareMetalHal::send_text(std::uint32_t command, std::uint32_t value, const char* text) const {
  const auto addr = reinterpret_cast<std::uint64_t>(text);
  local_write(r::SIM_ARG_LO, static_cast<std::uint32_t>(addr));
  local_write(r::SIM_ARG_HI, static_cast<std::uint32_t>(addr >> 32));
  local_write(r::SIM_LEN, static_cast<std::uint32_t>(std::strlen(text)));
  local_write(command, value);
}

void BareMetalHal::log(LogLevel level, const char* message) {
  send_text(r::SIM_LOG, static_cast<std::uint32_t>(level), message);
}

void BareMetalHal::phase(const char* name) { send_text(r::SIM_PHASE, 1, name); }

void BareMetalHal::expect_faults(unsigned count) { local_write(r::SIM_EXPECT_FAULTS, count); }

void BareMetalHal::exit(int status) {
  local_write(r::SIM_EXIT, static_cast<std::uint32_t>(status));
  for (;;) asm volatile("wfi");
}

}  // namespace cestvp::fw
