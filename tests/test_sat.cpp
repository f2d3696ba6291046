// SAT shell: identification and configuration registers as the firmware sees them, and the
// SRAM buffers' access rules and timing.
//
// Parameters: 16x8 array, M in {4, 8, 16}, SRAM A/B/C 64/32/16 KiB, 16-byte port, 200 MHz
// (5 ns cycle). Register access: one SAT cycle. SRAM access of n bytes: ceil(n / 16) cycles.
#include <cstring>

#include <gtest/gtest.h>

#include <cestvp/regs.h>

#include "sat.h"
#include "tlm_initiator.h"

using namespace cestvp;
using cestvp::test::ns;
using cestvp::test::Result;
using cestvp::test::TlmInitiator;
namespace r = cestvp::regs::sat;

namespace {

Sat::Params params() {
  Sat::Params p;
  p.timing.array_rows = 16;
  p.timing.array_cols = 8;
  p.timing.port_bytes[0] = p.timing.port_bytes[1] = p.timing.port_bytes[2] = 16;
  p.nm_m = {4, 8, 16};
  p.sram_bytes[0] = 64 << 10;
  p.sram_bytes[1] = 32 << 10;
  p.sram_bytes[2] = 16 << 10;
  p.clock_hz = 200e6;
  return p;
}

struct Bench {
  Sat sat{"sat", params()};
  sc_core::sc_signal<bool> irq{"irq"};
  TlmInitiator regs;
  TlmInitiator sram;  // on SRAM A
  TlmInitiator idle_b{"idle_b", {}}, idle_c{"idle_c", {}};
  Bench(TlmInitiator::Body on_regs, TlmInitiator::Body on_sram = {})
      : regs("regs", std::move(on_regs)), sram("sram", std::move(on_sram)) {
    regs.socket.bind(sat.regs_socket);
    sram.socket.bind(sat.sram_a.socket);
    idle_b.socket.bind(sat.sram_b.socket);
    idle_c.socket.bind(sat.sram_c.socket);
    sat.irq.bind(irq);
  }
};

}  // namespace

TEST(Sat, ConfigurationRegistersReportThePlatformParameters) {
  std::uint32_t id = 0, version = 0, array = 0, nm = 0, a = 0, b = 0, c = 0, khz = 0;
  Bench bench([&](TlmInitiator& cpu) {
    cpu.read32(r::ID, id);
    cpu.read32(r::VERSION, version);
    cpu.read32(r::ARRAY, array);
    cpu.read32(r::NM_SUPPORT, nm);
    cpu.read32(r::SRAM_A_KIB, a);
    cpu.read32(r::SRAM_B_KIB, b);
    cpu.read32(r::SRAM_C_KIB, c);
    cpu.read32(r::CLOCK_KHZ, khz);
  });
  sc_core::sc_start();
  EXPECT_EQ(id, 0x53415456u);  // 'SATV'
  EXPECT_EQ(version, 0x00010001u);
  EXPECT_EQ(array, (8u << 16) | 16u);                 // COLS in 31:16, ROWS in 15:0
  EXPECT_EQ(nm, (1u << 2) | (1u << 3) | (1u << 4));  // M = 4, 8, 16
  EXPECT_EQ(a, 64u);
  EXPECT_EQ(b, 32u);
  EXPECT_EQ(c, 16u);
  EXPECT_EQ(khz, 200000u);
}

TEST(Sat, IdentificationIsReadOnlyAndScratchHoldsValues) {
  Result id_write, scratch_write, unmapped;
  std::uint32_t id = 0, scratch = 0, ignored = 0;
  Bench bench([&](TlmInitiator& cpu) {
    id_write = cpu.write32(r::ID, 0);
    cpu.read32(r::ID, id);
    scratch_write = cpu.write32(r::SCRATCH, 0xDEADBEEF);
    cpu.read32(r::SCRATCH, scratch);
    unmapped = cpu.read32(r::BLOCK_BYTES, ignored);
  });
  sc_core::sc_start();
  EXPECT_EQ(id_write.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(id, 0x53415456u);
  EXPECT_TRUE(scratch_write.ok());
  EXPECT_EQ(scratch, 0xDEADBEEFu);
  EXPECT_EQ(unmapped.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST(Sat, RegisterAccessTakesOneSatCycle) {
  Result read;
  Bench bench([&](TlmInitiator& cpu) {
    std::uint32_t v = 0;
    read = cpu.read32(r::ID, v);
  });
  sc_core::sc_start();
  EXPECT_EQ(read.delay, ns(5));
}

TEST(Sat, SramAccessTakesOneCyclePerPortWidth) {
  Result small, exact, odd, beyond;
  std::vector<std::uint8_t> data(1024, 0x5A), back(1024, 0);
  Bench bench([](TlmInitiator&) {},
              [&](TlmInitiator& cpu) {
                small = cpu.write(0, data.data(), 4);            // ceil(4/16) = 1 cycle = 5 ns
                exact = cpu.write(0, data.data(), 1024);         // 64 cycles = 320 ns
                odd = cpu.read(0, back.data(), 17);              // 2 cycles = 10 ns
                beyond = cpu.read((64 << 10) - 8, back.data(), 16);  // crosses the end
              });
  sc_core::sc_start();
  EXPECT_EQ(small.delay, ns(5));
  EXPECT_EQ(exact.delay, ns(320));
  EXPECT_EQ(odd.delay, ns(10));
  EXPECT_EQ(beyond.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(std::memcmp(bench.sat.sram_a.data(), data.data(), 1024), 0);
  EXPECT_EQ(bench.sat.sram_a.bytes_written(), 4u + 1024u);
  EXPECT_EQ(bench.sat.sram_a.bytes_read(), 17u);
}

TEST(Sat, SramGrantsDmiOverTheWholeBufferWithPerLineLatency) {
  bool granted = false;
  tlm::tlm_dmi dmi;
  Bench bench([](TlmInitiator&) {}, [&](TlmInitiator& cpu) { granted = cpu.get_dmi(100, dmi); });
  sc_core::sc_start();
  ASSERT_TRUE(granted);
  EXPECT_EQ(dmi.get_dmi_ptr(), bench.sat.sram_a.data());
  EXPECT_EQ(dmi.get_start_address(), 0u);
  EXPECT_EQ(dmi.get_end_address(), (64u << 10) - 1);
  EXPECT_EQ(dmi.get_read_latency(), ns(20));  // a 64-byte line: 4 cycles of 16 B
}
