// The HAL of a real control processor, here an RV64GC core in machine mode (docs/firmware-
// guide.md): device registers are volatile 32-bit loads and stores at the addresses BootInfo
// gives, DDR is plain memory, interrupts arrive through the interrupt controller's line on
// mip.MEIP and end a `wfi`, and time is the core-local timer. Bus errors are read from the
// core's bus-error unit after each access. What only a simulator offers (log lines, phases,
// faults provoked on purpose, the exit status) goes to the simulation-control device and
// nowhere else.
#pragma once
#include <cstdint>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

class BareMetalHal final : public Hal {
 public:
  BareMetalHal(const BootInfo& boot, std::uint64_t host_local);

  BusStatus read32(std::uint64_t addr, std::uint32_t& value) override;
  BusStatus write32(std::uint64_t addr, std::uint32_t value) override;
  BusStatus read_block(std::uint64_t addr, void* dst, std::size_t bytes) override;
  BusStatus write_block(std::uint64_t addr, const void* src, std::size_t bytes) override;
  bool wait_for_interrupt(std::uint64_t timeout_ns) override;
  std::uint64_t now_ps() override;
  // The core's time is the instructions it executes: there is no cost model to charge.
  void charge_host_time(std::uint64_t) override {}
  void log(LogLevel level, const char* message) override;
  void phase(const char* name) override;
  void expect_faults(unsigned count) override;

  [[noreturn]] void exit(int status);

 private:
  std::uint32_t local_read(std::uint32_t offset) const;
  void local_write(std::uint32_t offset, std::uint32_t value) const;
  void send_text(std::uint32_t command, std::uint32_t value, const char* text) const;
  BusStatus take_bus_error() const;
  bool in_ddr(std::uint64_t addr, std::size_t bytes) const;
  void set_timer(std::uint64_t at_ps) const;

  BootInfo boot_;
  std::uint64_t local_;
};

}  // namespace cestvp::fw
