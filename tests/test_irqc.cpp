// Irqc (models/irqc.h): edge latching into PENDING, masking by ENABLE, acknowledgement, RAW
// levels, register latency and illegal accesses. Four input lines driven by the stimulus
// thread through sc_signal<bool>; cpu_irq drives a signal whose changes a monitor records
// with their times. Register latency 4 ns.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <cestvp/regs.h>
#include <systemc>
#include <tlm>

#include "irqc.h"
#include "tlm_initiator.h"

namespace {

namespace r = cestvp::regs::irqc;
using cestvp::Irqc;
using cestvp::test::ns;
using cestvp::test::Result;
using cestvp::test::TlmInitiator;
using cestvp::test::Wait;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

const sc_time kRegLatency = ns(4);

// Records every change of a bool signal with the time it happened.
class EdgeMonitor : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> in{"in"};
  std::vector<std::pair<sc_time, bool>> edges;

  explicit EdgeMonitor(const sc_core::sc_module_name& name) : sc_module(name) {
    SC_METHOD(record);
    sensitive << in;
    dont_initialize();
  }
  SC_HAS_PROCESS(EdgeMonitor);

 private:
  void record() { edges.emplace_back(sc_core::sc_time_stamp(), in.read()); }
};

using Edges = std::vector<std::pair<sc_time, bool>>;

struct Bench {
  Irqc irqc{"irqc", Irqc::Params{4, kRegLatency}};
  // Plain sc_signal<bool>, as the platform top level uses (platform/vp.h).
  sc_core::sc_vector<sc_core::sc_signal<bool>> line{"line", 4};
  sc_core::sc_signal<bool> cpu_irq{"cpu_irq"};
  EdgeMonitor monitor{"monitor"};
  TlmInitiator cpu;

  explicit Bench(TlmInitiator::Body body) : cpu("cpu", std::move(body)) {
    cpu.socket.bind(irqc.socket);
    for (unsigned i = 0; i < 4; ++i) irqc.lines[i].bind(line[i]);
    irqc.cpu_irq.bind(cpu_irq);
    monitor.in.bind(cpu_irq);
  }
  void run() { sc_core::sc_start(); }
};

// Waits until absolute time t (t must not be in the past).
void wait_until(const sc_time& t) { sc_core::wait(t - sc_core::sc_time_stamp()); }

std::uint32_t read_reg(TlmInitiator& cpu, std::uint32_t offset) {
  std::uint32_t v = 0xDEADBEEF;
  const Result res = cpu.read32(offset, v);
  EXPECT_TRUE(res.ok()) << "read at " << offset;
  return v;
}

void write_reg(TlmInitiator& cpu, std::uint32_t offset, std::uint32_t value) {
  const Result res = cpu.write32(offset, value);
  EXPECT_TRUE(res.ok()) << "write at " << offset;
}

TEST(Irqc, RisingEdgeSetsPendingButNoIrqWhileDisabled) {
  std::uint32_t pending_before = 0xFF, pending_after = 0, raw = 0, enable = 0xFF;
  bool irq_level = true;
  Bench b([&](TlmInitiator& cpu) {
    pending_before = read_reg(cpu, r::PENDING);  // t = 0 -> 4 ns
    wait_until(ns(10));
    b.line[1].write(true);  // rises at 10 ns
    wait_until(ns(20));
    pending_after = read_reg(cpu, r::PENDING);   // 20 -> 24 ns
    raw = read_reg(cpu, r::RAW);                 // 24 -> 28 ns
    enable = read_reg(cpu, r::ENABLE);           // 28 -> 32 ns
    irq_level = b.cpu_irq.read();
  });
  b.run();
  EXPECT_EQ(pending_before, 0u);
  EXPECT_EQ(pending_after, 0x2u);  // bit 1
  EXPECT_EQ(raw, 0x2u);
  EXPECT_EQ(enable, 0u);           // ENABLE resets to 0
  EXPECT_FALSE(irq_level);
  EXPECT_TRUE(b.monitor.edges.empty());
  EXPECT_EQ(sc_core::sc_time_stamp(), ns(32));  // 4 register accesses of 4 ns, last from 28
}

TEST(Irqc, EnablingAPendingLineRaisesIrq) {
  Result w;
  bool before_enable = true;
  Bench b([&](TlmInitiator& cpu) {
    b.line[2].write(true);       // rises at 0 ns; ENABLE = 0: pending only
    wait_until(ns(10));
    before_enable = b.cpu_irq.read();
    // Written at 10 ns with 20 ns of local time: ENABLE synchronises, so the write takes
    // effect at 10 + 20 = 30 ns and the returned delay is the register latency alone.
    w = cpu.write32(r::ENABLE, 0x4, ns(20), Wait::no);
    sc_core::wait(w.delay);
  });
  b.run();
  EXPECT_FALSE(before_enable);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(w.delay, kRegLatency);  // 0 (synchronised) + 4 ns
  EXPECT_EQ(b.monitor.edges, (Edges{{ns(30), true}}));
}

TEST(Irqc, EnableMasksLines) {
  Bench b([&](TlmInitiator& cpu) {
    write_reg(cpu, r::ENABLE, 0x1);  // 0 -> 4 ns
    wait_until(ns(10));
    b.line[1].write(true);           // not enabled: pending, no irq
    wait_until(ns(20));
    b.line[0].write(true);           // enabled: irq at 20 ns
    wait_until(ns(30));
    write_reg(cpu, r::ENABLE, 0x2);  // 30 ns: line 1 is pending and now enabled: stays high
    write_reg(cpu, r::ENABLE, 0x0);  // 34 ns: nothing enabled: falls
  });
  b.run();
  EXPECT_EQ(b.monitor.edges, (Edges{{ns(20), true}, {ns(34), false}}));
}

TEST(Irqc, AckClearsPendingAndDropsIrq) {
  std::uint32_t pending_before_ack = 0, pending_after_ack = 0xFF, pending_held_high = 0xFF,
                pending_new_edge = 0;
  Result ack;
  Bench b([&](TlmInitiator& cpu) {
    write_reg(cpu, r::ENABLE, 0xF);                 // 0 -> 4 ns
    wait_until(ns(10));
    b.line[0].write(true);                          // rises at 10 ns: irq at 10 ns
    wait_until(ns(20));
    pending_before_ack = read_reg(cpu, r::PENDING);  // 20 -> 24 ns
    ack = cpu.write32(r::ACK, 0x1);                  // at 24 ns: irq falls at 24 ns; -> 28 ns
    pending_after_ack = read_reg(cpu, r::PENDING);   // 28 -> 32 ns
    wait_until(ns(50));                              // line 0 still high: no new edge
    pending_held_high = read_reg(cpu, r::PENDING);   // 50 -> 54 ns
    b.line[0].write(false);                          // falls at 54 ns
    wait_until(ns(60));
    b.line[0].write(true);                           // rises again at 60 ns: irq at 60 ns
    wait_until(ns(70));
    pending_new_edge = read_reg(cpu, r::PENDING);    // 70 -> 74 ns
  });
  b.run();
  EXPECT_EQ(pending_before_ack, 0x1u);
  EXPECT_TRUE(ack.ok());
  EXPECT_EQ(ack.delay, kRegLatency);
  EXPECT_EQ(pending_after_ack, 0x0u);
  EXPECT_EQ(pending_held_high, 0x0u);
  EXPECT_EQ(pending_new_edge, 0x1u);
  EXPECT_EQ(b.monitor.edges, (Edges{{ns(10), true}, {ns(24), false}, {ns(60), true}}));
}

TEST(Irqc, HeldLineDoesNotRependWhenAnotherLineChanges) {
  std::uint32_t pending_acked = 0xFF, pending_other = 0;
  Bench b([&](TlmInitiator& cpu) {
    b.line[0].write(true);                        // rises at 0 ns and stays high
    wait_until(ns(10));
    write_reg(cpu, r::ACK, 0x1);                  // 10 -> 14 ns
    pending_acked = read_reg(cpu, r::PENDING);    // 14 -> 18 ns
    wait_until(ns(20));
    b.line[1].write(true);                        // another line rises: lines are sampled again
    wait_until(ns(30));
    pending_other = read_reg(cpu, r::PENDING);    // 30 -> 34 ns: line 1 only
  });
  b.run();
  EXPECT_EQ(pending_acked, 0x0u);
  EXPECT_EQ(pending_other, 0x2u);
}

TEST(Irqc, AckClearsOnlyWrittenBits) {
  std::uint32_t pending = 0, after_partial = 0, after_rest = 0xFF;
  Bench b([&](TlmInitiator& cpu) {
    write_reg(cpu, r::ENABLE, 0xF);                // 0 -> 4 ns
    b.line[0].write(true);
    b.line[1].write(true);
    b.line[3].write(true);                         // all rise at 4 ns: irq at 4 ns
    wait_until(ns(10));
    pending = read_reg(cpu, r::PENDING);           // 10 -> 14: 0b1011
    write_reg(cpu, r::ACK, 0x6);                   // 14 -> 18: clears bit 1 (bit 2 not pending)
    after_partial = read_reg(cpu, r::PENDING);     // 18 -> 22: 0b1001, irq stays high
    write_reg(cpu, r::ACK, 0x9);                   // 22 -> 26: clears the rest, irq falls at 22
    after_rest = read_reg(cpu, r::PENDING);        // 26 -> 30
  });
  b.run();
  EXPECT_EQ(pending, 0xBu);
  EXPECT_EQ(after_partial, 0x9u);
  EXPECT_EQ(after_rest, 0x0u);
  EXPECT_EQ(b.monitor.edges, (Edges{{ns(4), true}, {ns(22), false}}));
}

TEST(Irqc, RawReflectsLevels) {
  std::uint32_t raw1 = 0, raw2 = 0xFF, pending = 0;
  Bench b([&](TlmInitiator& cpu) {
    b.line[0].write(true);
    b.line[2].write(true);
    wait_until(ns(10));
    raw1 = read_reg(cpu, r::RAW);          // 10 -> 14 ns: 0b0101
    b.line[0].write(false);
    b.line[3].write(true);
    wait_until(ns(20));
    raw2 = read_reg(cpu, r::RAW);          // 20 -> 24 ns: 0b1100
    pending = read_reg(cpu, r::PENDING);   // edges stay latched: 0b1101
  });
  b.run();
  EXPECT_EQ(raw1, 0x5u);
  EXPECT_EQ(raw2, 0xCu);
  EXPECT_EQ(pending, 0xDu);
}

TEST(Irqc, RegisterLatencyAddsToDelay) {
  Result raw0, raw10, pending10, enable0;
  sc_time after_pending;
  Bench b([&](TlmInitiator& cpu) {
    std::uint32_t v = 0;
    raw0 = cpu.read32(r::RAW, v, SC_ZERO_TIME, Wait::no);         // t = 0
    raw10 = cpu.read32(r::RAW, v, ns(10), Wait::no);              // t = 0, RAW does not sync
    pending10 = cpu.read32(r::PENDING, v, ns(10), Wait::no);      // PENDING syncs: waits 10 ns
    after_pending = sc_core::sc_time_stamp();
    enable0 = cpu.write32(r::ENABLE, 0, SC_ZERO_TIME, Wait::no);  // t = 10 ns
  });
  b.run();
  EXPECT_EQ(raw0.delay, ns(4));       // 0 + 4
  EXPECT_EQ(raw10.delay, ns(14));     // 10 + 4
  EXPECT_EQ(pending10.delay, ns(4));  // 10 consumed by the sync, + 4
  EXPECT_EQ(after_pending, ns(10));
  EXPECT_EQ(enable0.delay, ns(4));
}

TEST(Irqc, IllegalAccessesAreTlmErrors) {
  Result write_pending, read_ack, write_raw, narrow, unmapped;
  std::uint32_t pending_after = 0;
  Bench b([&](TlmInitiator& cpu) {
    b.line[0].write(true);
    wait_until(ns(10));
    write_pending = cpu.write32(r::PENDING, 0x0);     // RO
    std::uint32_t v = 0;
    read_ack = cpu.read32(r::ACK, v);                 // WO
    write_raw = cpu.write32(r::RAW, 0xF);             // RO
    std::uint16_t half = 0;
    narrow = cpu.read(r::PENDING, &half, 2);
    unmapped = cpu.read32(r::BLOCK_BYTES, v);         // first offset past the block
    pending_after = read_reg(cpu, r::PENDING);
  });
  b.run();
  EXPECT_EQ(write_pending.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(read_ack.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(write_raw.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(narrow.status, tlm::TLM_BURST_ERROR_RESPONSE);
  EXPECT_EQ(unmapped.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(pending_after, 0x1u);  // the write to PENDING changed nothing
}

TEST(Irqc, DebugAccessHasNoSideEffects) {
  unsigned n_read = 0, n_ack = 0;
  std::uint32_t pending_dbg = 0, pending_after = 0;
  Bench b([&](TlmInitiator& cpu) {
    write_reg(cpu, r::ENABLE, 0x1);  // 0 -> 4 ns
    b.line[0].write(true);           // 4 ns: irq high
    wait_until(ns(10));
    n_read = cpu.debug_read(r::PENDING, &pending_dbg, 4);
    const std::uint32_t ones = 0x1;
    n_ack = cpu.debug_write(r::ACK, &ones, 4);  // a debugger poking ACK must not acknowledge
    pending_after = read_reg(cpu, r::PENDING);   // 10 -> 14 ns
  });
  b.run();
  EXPECT_EQ(n_read, 4u);
  EXPECT_EQ(pending_dbg, 0x1u);
  EXPECT_EQ(n_ack, 4u);
  EXPECT_EQ(pending_after, 0x1u);
  EXPECT_EQ(b.monitor.edges, (Edges{{ns(4), true}}));
}

}  // namespace
