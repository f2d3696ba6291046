// Bus (models/bus.h): address decoding, hop latency, error responses, counters, and the
// translation of DMI, debug transport and DMI invalidation between bus and target addresses.
// Two Sram targets sit behind the bus:
//   sram_a at 0x1000..0x1FFF (size 0x1000), sram_b at 0x10000..0x100FF (size 0x100),
// both with an 8-byte port and a 1 ns cycle; the bus hop costs 10 ns.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "bus.h"
#include "sram.h"
#include "tlm_initiator.h"

namespace {

using cestvp::Bus;
using cestvp::Sram;
using cestvp::test::ns;
using cestvp::test::Result;
using cestvp::test::TlmInitiator;
using cestvp::test::Wait;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

constexpr std::uint64_t A_BASE = 0x1000, A_SIZE = 0x1000;
constexpr std::uint64_t B_BASE = 0x10000, B_SIZE = 0x100;

const sc_time kHop = ns(10);
const sc_time kCycle = ns(1);

struct Bench {
  Bus bus{"bus", Bus::Params{kHop}};
  Sram a{"sram_a", Sram::Params{A_SIZE, 8, kCycle}};
  Sram b{"sram_b", Sram::Params{B_SIZE, 8, kCycle}};
  TlmInitiator cpu;

  explicit Bench(TlmInitiator::Body body) : cpu("cpu", std::move(body)) {
    bus.connect_initiator(cpu.socket, "cpu");
    bus.map_target(a.socket, A_BASE, A_SIZE, "sram_a");
    bus.map_target(b.socket, B_BASE, B_SIZE, "sram_b");
  }
  void run() { sc_core::sc_start(); }
};

TEST(Bus, NamesInBindOrder) {
  Bench b(nullptr);
  EXPECT_EQ(b.bus.initiator_names(), std::vector<std::string>{"cpu"});
  EXPECT_EQ(b.bus.target_names(), (std::vector<std::string>{"sram_a", "sram_b"}));
}

TEST(Bus, ReadDelayIsHopPlusTargetCycles) {
  std::uint32_t value = 0;
  Result r;
  Bench b([&](TlmInitiator& cpu) { r = cpu.read32(A_BASE + 0x20, value); });
  const std::uint32_t pattern = 0x87654321;
  std::memcpy(b.a.data() + 0x20, &pattern, 4);
  b.run();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(value, pattern);
  // 10 ns hop + ceil(4 / 8) = 1 cycle x 1 ns = 11 ns
  EXPECT_EQ(r.delay, ns(11));
  EXPECT_EQ(r.done, ns(11));
  EXPECT_TRUE(r.dmi_allowed);  // the Sram's hint passes through
  EXPECT_EQ(b.a.bytes_read(), 4u);
}

TEST(Bus, WritesLandAtTargetOffsets) {
  std::uint8_t line[64];
  for (unsigned i = 0; i < 64; ++i) line[i] = static_cast<std::uint8_t>(0x40 + i);
  const std::uint8_t odd[9] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  Result w64, w8, w9;
  Bench b([&](TlmInitiator& cpu) {
    w64 = cpu.write(A_BASE + 0x100, line, 64);
    w8 = cpu.write(B_BASE + 0x10, line, 8);
    w9 = cpu.write(B_BASE + 0xF0, odd, 9);
  });
  b.run();
  ASSERT_TRUE(w64.ok());
  ASSERT_TRUE(w8.ok());
  ASSERT_TRUE(w9.ok());
  // 10 ns hop + ceil(64 / 8) = 8 cycles x 1 ns = 18 ns, done at 0 + 18 = 18 ns
  EXPECT_EQ(w64.delay, ns(18));
  EXPECT_EQ(w64.done, ns(18));
  // 10 ns hop + ceil(8 / 8) = 1 cycle = 11 ns, done at 18 + 11 = 29 ns
  EXPECT_EQ(w8.delay, ns(11));
  EXPECT_EQ(w8.done, ns(29));
  // 10 ns hop + ceil(9 / 8) = 2 cycles = 12 ns, done at 29 + 12 = 41 ns
  EXPECT_EQ(w9.delay, ns(12));
  EXPECT_EQ(w9.done, ns(41));
  EXPECT_EQ(std::memcmp(b.a.data() + 0x100, line, 64), 0);  // bus 0x1100 -> sram_a 0x100
  EXPECT_EQ(std::memcmp(b.b.data() + 0x10, line, 8), 0);    // bus 0x10010 -> sram_b 0x10
  EXPECT_EQ(std::memcmp(b.b.data() + 0xF0, odd, 9), 0);     // bus 0x100F0 -> sram_b 0xF0
  EXPECT_EQ(b.a.data()[0xFF], 0);   // nothing before the written range
  EXPECT_EQ(b.a.data()[0x140], 0);  // nor after it
  EXPECT_EQ(b.a.bytes_written(), 64u);
  EXPECT_EQ(b.b.bytes_written(), 8u + 9u);
}

TEST(Bus, UnmappedAccessIsAddressErrorAndSimulationGoesOn) {
  // Below the first region, in the gap between the regions, just past each region, far away.
  const std::uint64_t unmapped[] = {0x0, 0xFFC, 0x2000, 0xFFFC, 0x10100, 0xFFFFFFFF00000000};
  std::vector<Result> results;
  Result after;
  std::uint32_t value = 0;
  Bench b([&](TlmInitiator& cpu) {
    for (std::uint64_t a : unmapped) results.push_back(cpu.read32(a, value));
    after = cpu.read32(B_BASE, value);
  });
  b.run();
  ASSERT_EQ(results.size(), std::size(unmapped));
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].status, tlm::TLM_ADDRESS_ERROR_RESPONSE) << std::hex << unmapped[i];
    EXPECT_EQ(results[i].delay, kHop) << std::hex << unmapped[i];  // the hop alone: 10 ns
  }
  // 6 errors x 10 ns = 60 ns, then a good read: 60 + 10 + 1 = 71 ns
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(after.done, ns(71));
  EXPECT_EQ(b.bus.transactions(), 7u);
  EXPECT_EQ(b.bus.error_responses(), 6u);
}

TEST(Bus, AccessCrossingRegionEndIsAddressError) {
  const std::uint8_t ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  Result cross_a, cross_b, last_word;
  Bench b([&](TlmInitiator& cpu) {
    cross_a = cpu.write(A_BASE + A_SIZE - 4, ones, 8);  // 0x1FFC..0x2003
    cross_b = cpu.write(B_BASE + B_SIZE - 1, ones, 2);  // 0x100FF..0x10100
    last_word = cpu.write(A_BASE + A_SIZE - 4, ones, 4);  // 0x1FFC..0x1FFF: fits
  });
  b.run();
  EXPECT_EQ(cross_a.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(cross_a.delay, kHop);
  EXPECT_EQ(cross_b.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(cross_b.delay, kHop);
  EXPECT_TRUE(last_word.ok());
  EXPECT_EQ(last_word.delay, ns(11));  // 10 + ceil(4 / 8) x 1
  EXPECT_EQ(b.b.data()[B_SIZE - 1], 0);  // the crossing write wrote nothing
  EXPECT_EQ(b.b.bytes_written(), 0u);
  EXPECT_EQ(b.a.bytes_written(), 4u);
  EXPECT_EQ(b.bus.transactions(), 3u);
  EXPECT_EQ(b.bus.error_responses(), 2u);
}

TEST(Bus, TargetErrorsAreCounted) {
  // A byte-enabled access is refused by the Sram itself; the bus counts the error response.
  Result be;
  std::uint32_t value = 0;
  unsigned char enables[4] = {0xFF, 0, 0xFF, 0};
  Bench b([&](TlmInitiator& cpu) {
    be = cpu.transport(tlm::TLM_READ_COMMAND, A_BASE, &value, 4, SC_ZERO_TIME, Wait::yes,
                       enables, 4);
    cpu.read32(A_BASE, value);
  });
  b.run();
  EXPECT_EQ(be.status, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(be.delay, kHop);  // the Sram adds no cycles to a refused access
  EXPECT_EQ(b.bus.transactions(), 2u);
  EXPECT_EQ(b.bus.error_responses(), 1u);
}

TEST(Bus, AnnotatedDelayIsKept) {
  // A loosely-timed initiator arrives with 100 ns of local time: 100 + 10 + 1 = 111 ns.
  Result r;
  std::uint32_t value = 0;
  Bench b([&](TlmInitiator& cpu) { r = cpu.read32(B_BASE, value, ns(100)); });
  b.run();
  EXPECT_EQ(r.delay, ns(111));
  EXPECT_EQ(r.done, ns(111));
}

TEST(Bus, DmiIsTranslatedToBusAddresses) {
  tlm::tlm_dmi dmi_a, dmi_b, dmi_none;
  bool got_a = false, got_b = false, got_none = true;
  Bench b([&](TlmInitiator& cpu) {
    got_a = cpu.get_dmi(A_BASE + 0x10, dmi_a);
    got_b = cpu.get_dmi(B_BASE + 0xFF, dmi_b, tlm::TLM_WRITE_COMMAND);
    got_none = cpu.get_dmi(0x3000, dmi_none);
  });
  b.run();
  ASSERT_TRUE(got_a);
  EXPECT_EQ(dmi_a.get_start_address(), 0x1000u);
  EXPECT_EQ(dmi_a.get_end_address(), 0x1FFFu);
  EXPECT_EQ(dmi_a.get_dmi_ptr(), b.a.data());
  EXPECT_TRUE(dmi_a.is_read_write_allowed());
  // Per kDmiLineBytes = 64 byte line: ceil(64 / 8) = 8 cycles x 1 ns = 8 ns
  EXPECT_EQ(dmi_a.get_read_latency(), ns(8));
  EXPECT_EQ(dmi_a.get_write_latency(), ns(8));
  ASSERT_TRUE(got_b);
  EXPECT_EQ(dmi_b.get_start_address(), 0x10000u);
  EXPECT_EQ(dmi_b.get_end_address(), 0x100FFu);
  EXPECT_EQ(dmi_b.get_dmi_ptr(), b.b.data());
  EXPECT_FALSE(got_none);
}

TEST(Bus, DmiIsClippedToTheRegion) {
  // A 0x200-byte Sram mapped into a 0x100-byte window at 0x20000: the Sram grants 0..0x1FF,
  // the bus must clip to its window, 0x20000..0x200FF.
  tlm::tlm_dmi dmi;
  bool got = false;
  Bench b([&](TlmInitiator& cpu) { got = cpu.get_dmi(0x20080, dmi); });
  Sram c("sram_c", Sram::Params{0x200, 8, kCycle});
  b.bus.map_target(c.socket, 0x20000, 0x100, "sram_c");
  b.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(dmi.get_start_address(), 0x20000u);
  EXPECT_EQ(dmi.get_end_address(), 0x200FFu);  // 0x20000 + 0x100 - 1
  EXPECT_EQ(dmi.get_dmi_ptr(), c.data());
}

TEST(Bus, RegionEndIsEnforcedByTheBusNotTheTarget) {
  // Same 0x200-byte Sram in a 0x100-byte window: an access crossing the window's end would fit
  // the Sram, so only the bus's decoding can refuse it.
  Result cross, inside;
  const std::uint8_t ones[2] = {1, 1};
  Bench b([&](TlmInitiator& cpu) {
    cross = cpu.write(0x200FF, ones, 2);   // 0x200FF..0x20100
    inside = cpu.write(0x200FE, ones, 2);  // 0x200FE..0x200FF
  });
  Sram c("sram_c", Sram::Params{0x200, 8, kCycle});
  b.bus.map_target(c.socket, 0x20000, 0x100, "sram_c");
  b.run();
  EXPECT_EQ(cross.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(cross.delay, kHop);
  EXPECT_EQ(c.data()[0x100], 0);
  EXPECT_TRUE(inside.ok());
  EXPECT_EQ(inside.delay, ns(11));  // 10 + ceil(2 / 8) x 1
  EXPECT_EQ(c.bytes_written(), 2u);
}

TEST(Bus, DebugTransportIsTranslated) {
  unsigned n_write = 0, n_read = 0, n_unmapped_r = 0, n_unmapped_w = 0;
  std::uint32_t read_back = 0;
  Bench b([&](TlmInitiator& cpu) {
    const std::uint32_t v = 0x0BADF00D;
    n_write = cpu.debug_write(A_BASE + 0x20, &v, 4);
    n_read = cpu.debug_read(B_BASE + 0x04, &read_back, 4);
    std::uint32_t junk = 0;
    n_unmapped_r = cpu.debug_read(0x3000, &junk, 4);
    n_unmapped_w = cpu.debug_write(0x3000, &v, 4);
  });
  const std::uint32_t pattern = 0x13572468;
  std::memcpy(b.b.data() + 0x04, &pattern, 4);
  b.run();
  EXPECT_EQ(n_write, 4u);
  std::uint32_t landed = 0;
  std::memcpy(&landed, b.a.data() + 0x20, 4);  // bus 0x1020 -> sram_a 0x20
  EXPECT_EQ(landed, 0x0BADF00Du);
  EXPECT_EQ(n_read, 4u);
  EXPECT_EQ(read_back, pattern);  // bus 0x10004 -> sram_b 0x04
  EXPECT_EQ(n_unmapped_r, 0u);
  EXPECT_EQ(n_unmapped_w, 0u);
  // Debug accesses take no time and are not bus transactions.
  EXPECT_EQ(sc_core::sc_time_stamp(), SC_ZERO_TIME);
  EXPECT_EQ(b.bus.transactions(), 0u);
  EXPECT_EQ(b.a.bytes_written(), 0u);
}

// The Sram never invalidates its DMI region, so this target exists to exercise the backward
// path: a write of (start, end) makes it invalidate [start, end] in its own offsets.
class Revoker : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Revoker> socket;
  explicit Revoker(const sc_core::sc_module_name& name) : sc_module(name), socket("socket") {
    socket.register_b_transport(this, &Revoker::b_transport);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_time&) {
    std::uint64_t range[2];
    std::memcpy(range, gp.get_data_ptr(), sizeof range);
    socket->invalidate_direct_mem_ptr(range[0], range[1]);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

TEST(Bus, InvalidateReachesInitiatorsInBusAddresses) {
  constexpr std::uint64_t R_BASE = 0x40000, R_SIZE = 0x1000;
  auto revoke = [](TlmInitiator& cpu, std::uint64_t start, std::uint64_t end) {
    const std::uint64_t range[2] = {start, end};
    cpu.write(R_BASE, range, sizeof range);
  };
  Bench b([&](TlmInitiator& cpu) {
    revoke(cpu, 0x100, 0x1FF);       // -> 0x40100..0x401FF
    revoke(cpu, 0, ~std::uint64_t{0});  // everything -> clipped to the region 0x40000..0x40FFF
    revoke(cpu, 0x2000, 0x3000);     // beyond the region: not forwarded
  });
  Revoker revoker("revoker");
  b.bus.map_target(revoker.socket, R_BASE, R_SIZE, "revoker");
  TlmInitiator dma("dma", nullptr);  // a second initiator hears it too
  b.bus.connect_initiator(dma.socket, "dma");
  b.run();
  using Range = std::pair<std::uint64_t, std::uint64_t>;
  const std::vector<Range> expected{{0x40100, 0x401FF}, {0x40000, 0x40FFF}};
  EXPECT_EQ(b.cpu.invalidations(), expected);
  EXPECT_EQ(dma.invalidations(), expected);
}

}  // namespace
