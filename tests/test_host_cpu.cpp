// Host CPU model: the firmware's HAL as TLM transactions, with exact timing under temporal
// decoupling, DMI block accesses, bus errors returned and recorded, host time, and interrupts.
//
// Platform of these tests: bus hop 10 ns; a 64 KiB SRAM at 0x0 with an 8-byte port and a 1 ns
// cycle, so a 4-byte access costs 10 + 1 = 11 ns and a DMI line (64 B) 8 ns; quantum 1 us.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "bus.h"
#include "fault_log.h"
#include "native_cpu.h"
#include "sram.h"
#include "tlm_initiator.h"

using namespace cestvp;
using cestvp::test::ns;

namespace {

struct Bench {
  Bus bus{"bus", {ns(10)}};
  Sram mem{"mem", {0x10000, 8, ns(1)}};
  sc_core::sc_signal<bool> irq{"irq"};
  NativeCpu cpu;

  explicit Bench(NativeCpu::Program program) : cpu("cpu", HostCpu::Params{1u << 20, fw::LogLevel::error, nullptr}, std::move(program)) {
    tlm::tlm_global_quantum::instance().set(ns(1000));
    bus.map_target(mem.socket, 0x0, 0x10000, "mem");
    bus.connect_initiator(cpu.socket, "cpu");
    cpu.irq.bind(irq);
  }
};

}  // namespace

TEST(HostCpu, RegisterAccessesAccumulateLocalTimeExactly) {
  std::uint64_t after = 0;
  sc_core::sc_time global;
  Bench b([&](fw::Hal& hal) {
    std::uint32_t v = 0;
    for (int i = 0; i < 50; ++i) hal.read32(0x100, v);  // 50 x 11 ns = 550 ns, within one quantum
    after = hal.now_ps();
    global = sc_core::sc_time_stamp();
    return 0;
  });
  sc_core::sc_start();
  EXPECT_EQ(after, 550'000u);
  EXPECT_EQ(global, sc_core::SC_ZERO_TIME);  // decoupled: no synchronisation inside the quantum
  EXPECT_TRUE(b.cpu.finished());
  EXPECT_EQ(b.cpu.mmio_transactions(), 50u);
}

TEST(HostCpu, QuantumBoundsHowFarTheCpuRunsAhead) {
  std::uint64_t local = 0;
  sc_core::sc_time global;
  Bench b([&](fw::Hal& hal) {
    std::uint32_t v = 0;
    for (int i = 0; i < 200; ++i) hal.read32(0x100, v);  // 2200 ns
    local = hal.now_ps();
    global = sc_core::sc_time_stamp();
    return 0;
  });
  sc_core::sc_start();
  EXPECT_EQ(local, 2'200'000u);
  EXPECT_LE(sc_core::sc_time(static_cast<double>(local), sc_core::SC_PS) - global, ns(1000));
  EXPECT_GE(global, ns(1000));
}

TEST(HostCpu, BlockAccessUsesDmiAndChargesPerLine) {
  std::vector<std::uint8_t> out(4096), back(4096, 0);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i * 13);
  std::uint64_t t_write = 0, t_read = 0;
  Bench b([&](fw::Hal& hal) {
    hal.write_block(0x2000, out.data(), out.size());  // 64 lines x 8 ns = 512 ns
    t_write = hal.now_ps();
    hal.read_block(0x2000, back.data(), 100);  // ceil(100 / 64) = 2 lines = 16 ns
    t_read = hal.now_ps();
    return 0;
  });
  sc_core::sc_start();
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x2000, out.data(), out.size()), 0);
  EXPECT_EQ(std::memcmp(back.data(), out.data(), 100), 0);
  EXPECT_EQ(t_write, 512'000u);
  EXPECT_EQ(t_read - t_write, 16'000u);
  EXPECT_EQ(b.bus.transactions(), 0u);  // DMI bypasses the bus
  EXPECT_EQ(b.cpu.block_bytes(), 4096u + 100u);
}

TEST(HostCpu, BusErrorsAreReturnedAndRecorded) {
  fw::BusStatus read_status{}, block_status{};
  std::uint32_t v = 0;
  FaultLog faults;
  faults.declare_region("mem", 0x0, 0x10000);
  Bench b([&](fw::Hal& hal) {
    read_status = hal.read32(0x20000, v);
    std::uint8_t buf[16];
    block_status = hal.write_block(0x30000, buf, sizeof buf);
    return 0;
  });
  b.bus.set_fault_log(&faults);
  sc_core::sc_start();
  EXPECT_EQ(read_status, fw::BusStatus::address_error);
  EXPECT_EQ(block_status, fw::BusStatus::address_error);
  const std::vector<FaultLog::Fault> kept = faults.kept();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].address, 0x20000u);
  EXPECT_EQ(kept[0].initiator, "cpu");
  EXPECT_EQ(kept[0].what, "ADDRESS_ERROR");
  EXPECT_EQ(kept[0].detail, "read of 4 B");
  EXPECT_EQ(kept[0].place, "unmapped");
  EXPECT_EQ(kept[0].at, ns(0));  // the access's start
  EXPECT_EQ(kept[1].address, 0x30000u);
  EXPECT_EQ(kept[1].detail, "write of 16 B");  // no DMI outside a target: one transaction
}

TEST(HostCpu, ChargedHostTimeAdvancesSimulatedTime) {
  std::uint64_t before = 0, after = 0;
  Bench b([&](fw::Hal& hal) {
    before = hal.now_ps();
    hal.charge_host_time(5'000'000);  // 5 us: more than a quantum
    after = hal.now_ps();
    return 0;
  });
  sc_core::sc_start();
  EXPECT_EQ(after - before, 5'000'000u);
  EXPECT_EQ(sc_core::sc_time_stamp(), ns(5000));
}

TEST(HostCpu, WaitForInterruptWakesWhenTheLineRises) {
  struct Raiser : sc_core::sc_module {
    sc_core::sc_signal<bool>& line;
    SC_HAS_PROCESS(Raiser);
    Raiser(const sc_core::sc_module_name& n, sc_core::sc_signal<bool>& l) : sc_module(n), line(l) { SC_THREAD(run); }
    void run() {
      sc_core::wait(ns(2000));
      line.write(true);
    }
  };
  std::uint64_t woke_at = 0;
  bool woke = false;
  int exit_code = -1;
  Bench b([&](fw::Hal& hal) {
    woke = hal.wait_for_interrupt(fw::kNoTimeout);
    woke_at = hal.now_ps();
    return 7;
  });
  Raiser raiser("raiser", b.irq);
  sc_core::sc_start();
  exit_code = b.cpu.exit_code();
  EXPECT_TRUE(woke);
  EXPECT_EQ(woke_at, 2'000'000u);
  EXPECT_EQ(exit_code, 7);
}
