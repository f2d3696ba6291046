// Ddr (models/ddr.h): timing of interleaved channels with contention, the sparse page store,
// counters, error responses, DMI, debug and backdoor access.
// Configuration for every test: 64 GiB, 2 channels of 1e9 B/s (1 ns per byte), 50 ns latency,
// 256-byte interleave: bytes [0, 256) on channel 0, [256, 512) on channel 1, [512, 768) on 0...
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>

#include "bus.h"
#include "ddr.h"
#include "tlm_initiator.h"

namespace {

using cestvp::Bus;
using cestvp::Ddr;
using cestvp::test::ns;
using cestvp::test::Result;
using cestvp::test::TlmInitiator;
using cestvp::test::Wait;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kSize = 64 * GiB;
constexpr std::uint64_t kPage = Ddr::kPageBytes;  // 1 MiB

Ddr::Params params() {
  Ddr::Params p;
  p.size = kSize;
  p.channels = 2;
  p.channel_bandwidth_Bps = 1e9;  // 1 ns per byte
  p.latency = ns(50);
  p.interleave_bytes = 256;
  return p;
}

// One initiator bound straight to the DDR.
struct Bench {
  Ddr ddr{"ddr", params()};
  TlmInitiator cpu;

  explicit Bench(TlmInitiator::Body body) : cpu("cpu", std::move(body)) { cpu.socket.bind(ddr.socket); }
  void run() { sc_core::sc_start(); }
};

// Two initiators: the DDR's simple_target_socket takes one binding, so they meet in a Bus with
// a zero hop latency, which adds no time and keeps the DDR's offsets (mapped at 0).
struct TwoInitiators {
  Ddr ddr{"ddr", params()};
  Bus bus{"bus", Bus::Params{SC_ZERO_TIME}};
  TlmInitiator a, b;

  TwoInitiators(TlmInitiator::Body body_a, TlmInitiator::Body body_b)
      : a("a", std::move(body_a)), b("b", std::move(body_b)) {
    bus.connect_initiator(a.socket, "a");
    bus.connect_initiator(b.socket, "b");
    bus.map_target(ddr.socket, 0, kSize, "ddr");
  }
  void run() { sc_core::sc_start(); }
};

TEST(Ddr, ReadWithinOneChunk) {
  Result r;
  std::vector<std::uint8_t> buf(64);
  Bench b([&](TlmInitiator& cpu) { r = cpu.read(0, buf.data(), 64); });
  b.run();
  EXPECT_TRUE(r.ok());
  // 64 B on channel 0 from t = 0: 64 x 1 ns = 64 ns, + 50 ns latency = 114 ns
  EXPECT_EQ(r.delay, ns(114));
  EXPECT_EQ(r.done, ns(114));
  EXPECT_TRUE(r.dmi_allowed);
}

TEST(Ddr, ChunksOnDifferentChannelsRunInParallel) {
  Result r512, w512, r1024, r_unaligned;
  std::vector<std::uint8_t> buf(1024);
  Bench b([&](TlmInitiator& cpu) {
    r512 = cpu.read(0, buf.data(), 512);
    w512 = cpu.write(0, buf.data(), 512);
    r1024 = cpu.read(0, buf.data(), 1024);
    r_unaligned = cpu.read(128, buf.data(), 256);
  });
  b.run();
  // 512 B at 0: 256 B on ch0 and 256 B on ch1 in parallel: 256 + 50 = 306 ns, done at 306
  EXPECT_EQ(r512.delay, ns(306));
  EXPECT_EQ(r512.done, ns(306));
  // A write costs the same: 306 ns, done at 306 + 306 = 612 ns (channels free since 256 ns)
  EXPECT_EQ(w512.delay, ns(306));
  EXPECT_EQ(w512.done, ns(612));
  // 1024 B: ch0 gets [0,256) and [512,768), ch1 gets [256,512) and [768,1024): each channel
  // 2 x 256 = 512 ns, + 50 = 562 ns; done at 612 + 562 = 1174 ns
  EXPECT_EQ(r1024.delay, ns(562));
  EXPECT_EQ(r1024.done, ns(1174));
  // 256 B at 128 is cut at 256: 128 B on ch0 and 128 B on ch1: 128 + 50 = 178 ns
  EXPECT_EQ(r_unaligned.delay, ns(178));
  EXPECT_EQ(r_unaligned.done, ns(1352));  // 1174 + 178
}

TEST(Ddr, ConcurrentInitiatorsContendForAChannel) {
  Result ra, rb;
  std::vector<std::uint8_t> buf_a(256), buf_b(256);
  TwoInitiators t([&](TlmInitiator& a) { ra = a.read(0, buf_a.data(), 256); },
                  [&](TlmInitiator& b) { rb = b.read(0, buf_b.data(), 256); });
  t.run();
  EXPECT_TRUE(ra.ok());
  EXPECT_TRUE(rb.ok());
  // Both at t = 0 on channel 0. Whichever runs first: 256 + 50 = 306 ns. The other waits
  // for the channel: 256 (channel busy) + 256 + 50 = 562 ns. SystemC does not fix which
  // thread runs first, so compare the pair in order.
  EXPECT_EQ(std::min(ra.done, rb.done), ns(306));
  EXPECT_EQ(std::max(ra.done, rb.done), ns(562));
}

TEST(Ddr, ConcurrentInitiatorsOnDifferentChannelsDoNotContend) {
  Result ra, rb;
  std::vector<std::uint8_t> buf_a(256), buf_b(256);
  TwoInitiators t([&](TlmInitiator& a) { ra = a.read(0, buf_a.data(), 256); },      // ch0
                  [&](TlmInitiator& b) { rb = b.read(256, buf_b.data(), 256); });   // ch1
  t.run();
  // Each alone on its channel: 256 + 50 = 306 ns
  EXPECT_EQ(ra.done, ns(306));
  EXPECT_EQ(rb.done, ns(306));
}

TEST(Ddr, ArrivalWhileChannelBusyWaitsOnlyForTheRest) {
  Result first, second;
  std::vector<std::uint8_t> buf(256);
  Bench b([&](TlmInitiator& cpu) {
    first = cpu.read(0, buf.data(), 256, SC_ZERO_TIME, Wait::no);  // ch0 busy until 256 ns
    sc_core::wait(ns(100));
    second = cpu.read(0, buf.data(), 256);
  });
  b.run();
  EXPECT_EQ(first.delay, ns(306));  // 256 + 50
  // At 100 ns ch0 is busy until 256 ns: it then takes 256 ns more -> 512 ns, + 50 = 562 ns;
  // the delay is counted from 100 ns: 562 - 100 = 462 ns
  EXPECT_EQ(second.delay, ns(462));
  EXPECT_EQ(second.done, ns(562));
}

TEST(Ddr, ArrivalAfterChannelIsFreeIsNotDelayed) {
  Result first, second, third;
  std::vector<std::uint8_t> buf(256);
  Bench b([&](TlmInitiator& cpu) {
    first = cpu.read(0, buf.data(), 256);  // ch0 busy until 256 ns; done at 306 ns
    second = cpu.read(0, buf.data(), 256);  // at 306 ns ch0 is free
    sc_core::wait(ns(1000));
    third = cpu.read(0, buf.data(), 64);
  });
  b.run();
  EXPECT_EQ(first.delay, ns(306));   // 256 + 50
  EXPECT_EQ(second.delay, ns(306));  // 256 + 50, no queueing
  EXPECT_EQ(second.done, ns(612));   // 306 + 306
  EXPECT_EQ(third.delay, ns(114));   // 64 + 50
  EXPECT_EQ(third.done, ns(1726));   // 612 + 1000 + 114
}

TEST(Ddr, AnnotatedDelayIsTheArrivalTime) {
  Result r, s;
  std::vector<std::uint8_t> buf(256);
  Bench b([&](TlmInitiator& cpu) {
    // Loosely timed: at t = 0 with 1000 ns of local time the access arrives at 1000 ns;
    // ch0 busy 1000..1064, + 50 = 1114 ns
    r = cpu.read(0, buf.data(), 64, ns(1000), Wait::no);
    // The initiator goes on with its local time, 1114 ns (ch0 free since 1064):
    // 1114 + 256 + 50 = 1420 ns
    s = cpu.read(0, buf.data(), 256, r.delay, Wait::no);
  });
  b.run();
  EXPECT_EQ(r.delay, ns(1114));
  EXPECT_EQ(s.delay, ns(1420));
  EXPECT_EQ(s.done, SC_ZERO_TIME);  // nothing waited
}

TEST(Ddr, SparseStoreAllocatesOnlyWrittenPages) {
  Result w, r;
  std::vector<std::uint8_t> zeros_read(64, 0xEE);
  std::uint64_t pages_after_write = 0, pages_after_read = 0;
  Bench b([&](TlmInitiator& cpu) {
    const std::uint8_t one = 0x5A;
    w = cpu.write(60 * GiB, &one, 1);
    pages_after_write = b.ddr.pages_allocated();
    r = cpu.read(GiB, zeros_read.data(), 64);  // never written
    pages_after_read = b.ddr.pages_allocated();
  });
  EXPECT_EQ(b.ddr.pages_allocated(), 0u);
  b.run();
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(pages_after_write, 1u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(zeros_read, std::vector<std::uint8_t>(64, 0));
  EXPECT_EQ(pages_after_read, 1u);
  std::uint8_t back = 0;
  b.ddr.read(60 * GiB, &back, 1);
  EXPECT_EQ(back, 0x5A);
}

TEST(Ddr, DataCrossesPageBoundary) {
  Result w, r;
  std::uint8_t out[16], in[16] = {};
  for (unsigned i = 0; i < 16; ++i) out[i] = static_cast<std::uint8_t>(0xA0 + i);
  Bench b([&](TlmInitiator& cpu) {
    w = cpu.write(kPage - 8, out, 16);  // 8 bytes in page 0, 8 in page 1
    r = cpu.read(kPage - 8, in, 16);
  });
  b.run();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::memcmp(in, out, 16), 0);
  EXPECT_EQ(b.ddr.pages_allocated(), 2u);
  // (kPage - 8) / 256 = 4095, odd -> ch1 takes 8 B; kPage / 256 = 4096 -> ch0 takes 8 B;
  // in parallel: 8 + 50 = 58 ns
  EXPECT_EQ(w.delay, ns(58));
  std::uint8_t tail[8] = {};
  b.ddr.read(kPage, tail, 8);  // backdoor, second page
  EXPECT_EQ(std::memcmp(tail, out + 8, 8), 0);
}

TEST(Ddr, ByteCounters) {
  std::vector<std::uint8_t> buf(512);
  Bench b([&](TlmInitiator& cpu) {
    cpu.write(0, buf.data(), 100);
    cpu.write(4096, buf.data(), 28);
    cpu.read(0, buf.data(), 512);
    cpu.read(kSize, buf.data(), 4);  // refused: not counted
    cpu.debug_read(0, buf.data(), 64);  // debug: not counted
    const std::uint8_t x = 1;
    b.ddr.write(8192, &x, 1);  // backdoor: not counted
  });
  b.run();
  EXPECT_EQ(b.ddr.bytes_written(), 128u);  // 100 + 28
  EXPECT_EQ(b.ddr.bytes_read(), 512u);
}

TEST(Ddr, OutOfRangeIsAddressError) {
  Result past_end, crossing_end, far, last_word;
  std::uint8_t buf[8] = {};
  Bench b([&](TlmInitiator& cpu) {
    past_end = cpu.read(kSize, buf, 4);
    crossing_end = cpu.write(kSize - 4, buf, 8);
    far = cpu.write(std::uint64_t{1} << 63, buf, 1);
    last_word = cpu.write(kSize - 4, buf, 4);
  });
  b.run();
  EXPECT_EQ(past_end.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(crossing_end.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(far.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_TRUE(last_word.ok());
  // kSize - 4 is in chunk (kSize / 256 - 1), odd -> ch1: 4 + 50 = 54 ns
  EXPECT_EQ(last_word.delay, ns(54));
  EXPECT_EQ(b.ddr.pages_allocated(), 1u);  // the last page, by the good write only
  EXPECT_EQ(b.ddr.bytes_written(), 4u);
}

TEST(Ddr, ByteEnableIsRefused) {
  Result r;
  std::uint32_t value = 0;
  unsigned char enables[4] = {0xFF, 0xFF, 0, 0};
  Bench b([&](TlmInitiator& cpu) {
    r = cpu.transport(tlm::TLM_WRITE_COMMAND, 0, &value, 4, SC_ZERO_TIME, Wait::yes, enables, 4);
  });
  b.run();
  EXPECT_EQ(r.status, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(b.ddr.bytes_written(), 0u);
  EXPECT_EQ(b.ddr.pages_allocated(), 0u);
}

TEST(Ddr, DmiCoversOnePage) {
  tlm::tlm_dmi dmi, last, none;
  bool got = false, got_last = false, got_none = true;
  std::uint8_t through_tlm = 0;
  Bench b([&](TlmInitiator& cpu) {
    const std::uint8_t v = 0x3C;
    cpu.write(60 * GiB + 5, &v, 1);
    got = cpu.get_dmi(60 * GiB + 0x1234, dmi);
    ASSERT_TRUE(got);
    dmi.get_dmi_ptr()[0x10] = 0xC3;  // write through DMI at 60 GiB + 0x10
    cpu.read(60 * GiB + 0x10, &through_tlm, 1);
    got_last = cpu.get_dmi(kSize - 1, last);
    got_none = cpu.get_dmi(kSize, none);
  });
  b.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(dmi.get_start_address(), 60 * GiB);
  EXPECT_EQ(dmi.get_end_address(), 60 * GiB + kPage - 1);
  EXPECT_TRUE(dmi.is_read_write_allowed());
  EXPECT_EQ(dmi.get_dmi_ptr()[5], 0x3C);  // the pointer is the store: sees the TLM write
  EXPECT_EQ(through_tlm, 0xC3);          // and TLM sees the DMI write
  // Per 64-byte line (kDmiLineBytes): 64 B / 1e9 B/s = 64 ns
  EXPECT_EQ(dmi.get_read_latency(), ns(64));
  EXPECT_EQ(dmi.get_write_latency(), ns(64));
  ASSERT_TRUE(got_last);
  EXPECT_EQ(last.get_start_address(), kSize - kPage);
  EXPECT_EQ(last.get_end_address(), kSize - 1);
  EXPECT_FALSE(got_none);
}

TEST(Ddr, DebugTransport) {
  unsigned n_write = 0, n_read = 0, n_tail = 0, n_past = 0;
  std::uint64_t back = 0;
  Bench b([&](TlmInitiator& cpu) {
    const std::uint64_t v = 0x0123456789ABCDEF;
    n_write = cpu.debug_write(kPage - 4, &v, 8);  // across the page boundary
    n_read = cpu.debug_read(kPage - 4, &back, 8);
    std::uint64_t junk = 0;
    n_tail = cpu.debug_read(kSize - 4, &junk, 8);  // clipped at the end: 4 bytes
    n_past = cpu.debug_read(kSize, &junk, 8);
  });
  b.run();
  EXPECT_EQ(n_write, 8u);
  EXPECT_EQ(n_read, 8u);
  EXPECT_EQ(back, 0x0123456789ABCDEFu);
  EXPECT_EQ(n_tail, 4u);
  EXPECT_EQ(n_past, 0u);
  EXPECT_EQ(sc_core::sc_time_stamp(), SC_ZERO_TIME);  // debug takes no time
  EXPECT_EQ(b.ddr.bytes_read() + b.ddr.bytes_written(), 0u);
}

TEST(Ddr, BackdoorAccess) {
  std::uint8_t via_tlm[6] = {};
  std::uint8_t via_backdoor[4] = {};
  Bench b([&](TlmInitiator& cpu) {
    cpu.read(3 * GiB, via_tlm, 6);
    const std::uint8_t w[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    cpu.write(5 * GiB, w, 4);
  });
  const std::uint8_t loaded[6] = {1, 2, 3, 4, 5, 6};
  b.ddr.write(3 * GiB, loaded, 6);  // e.g. the loader, before the simulation
  EXPECT_EQ(b.ddr.pages_allocated(), 1u);
  b.run();
  EXPECT_EQ(std::memcmp(via_tlm, loaded, 6), 0);
  b.ddr.read(5 * GiB, via_backdoor, 4);
  const std::uint8_t expected[4] = {0xDE, 0xAD, 0xBE, 0xEF};
  EXPECT_EQ(std::memcmp(via_backdoor, expected, 4), 0);
  std::uint8_t unwritten[4] = {9, 9, 9, 9};
  b.ddr.read(7 * GiB, unwritten, 4);  // never written: zeros, no page
  EXPECT_EQ(std::memcmp(unwritten, "\0\0\0\0", 4), 0);
  EXPECT_EQ(b.ddr.pages_allocated(), 2u);
  EXPECT_EQ(b.ddr.bytes_read(), 6u);  // backdoor accesses are not counted
  EXPECT_EQ(b.ddr.bytes_written(), 4u);
}

// Resident set size of this process in bytes (second field of /proc/self/statm, in pages).
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST(Ddr, SixtyFourGibibytesCostLittleMemory) {
  constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
  const std::uint64_t before = resident_bytes();
  ASSERT_GT(before, 0u);
  auto ddr = std::make_unique<Ddr>("ddr", params());
  const std::uint8_t x = 1;
  ddr->write(60 * GiB, &x, 1);   // one page: 1 MiB
  ddr->write(kSize - 1, &x, 1);  // and the last one: 1 MiB
  const std::uint64_t after = resident_bytes();
  EXPECT_EQ(ddr->pages_allocated(), 2u);
  // The page table is 64 GiB / 1 MiB = 65536 pointers = 512 KiB; plus 2 pages = 2.5 MiB.
  EXPECT_LT(after - std::min(after, before), 64 * MiB)
      << "resident before " << before / MiB << " MiB, after " << after / MiB << " MiB";
}

}  // namespace
