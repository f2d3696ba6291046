// DMA model: correctness of 1-D, 2-D and chained copies, error reporting, interrupts, and
// exact timing from the configured parameters.
//
// Platform of these tests: bus hop 10 ns; a 64 KiB SRAM at 0x0 with an 8-byte port and a 1 ns
// cycle (an access of n bytes takes 10 + ceil(n / 8) ns through the bus); DMA registers at
// 0x100000, bursts of 1 KiB, register latency 4 ns. Per burst the DMA reads then writes, so a
// burst of n bytes between two SRAM locations takes 2 x (10 + n / 8) ns.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/regs.h>

#include "bus.h"
#include "ddr.h"
#include "dma.h"
#include "sram.h"
#include "tlm_initiator.h"

using namespace cestvp;
using cestvp::test::ns;
using cestvp::test::TlmInitiator;
namespace r = cestvp::regs::dma;

namespace {

constexpr std::uint64_t kMem = 0x0, kMemSize = 0x10000, kRegs = 0x100000;

struct IrqProbe : sc_core::sc_module {
  sc_core::sc_in<bool> line{"line"};
  std::vector<sc_core::sc_time> rises, falls;
  SC_HAS_PROCESS(IrqProbe);
  explicit IrqProbe(const sc_core::sc_module_name& n) : sc_module(n) {
    SC_METHOD(sample);
    sensitive << line;
    dont_initialize();
  }
  void sample() { (line.read() ? rises : falls).push_back(sc_core::sc_time_stamp()); }
};

struct Bench {
  Bus bus{"bus", {ns(10)}};
  Sram mem{"mem", {kMemSize, 8, ns(1)}};
  Dma dma{"dma", {1024, ns(4)}};
  sc_core::sc_signal<bool> irq{"irq"};
  IrqProbe probe{"probe"};
  std::unique_ptr<TlmInitiator> cpu;

  explicit Bench(TlmInitiator::Body body) : cpu(std::make_unique<TlmInitiator>("cpu", std::move(body))) {
    tlm::tlm_global_quantum::instance().set(ns(1000));
    bus.map_target(mem.socket, kMem, kMemSize, "mem");
    bus.map_target(dma.regs_socket, kRegs, 0x1000, "dma");
    bus.connect_initiator(cpu->socket, "cpu");
    bus.connect_initiator(dma.data_socket, "dma");
    dma.irq.bind(irq);
    probe.line.bind(irq);
    for (std::size_t i = 0; i < kMemSize; ++i) mem.data()[i] = static_cast<std::uint8_t>(i * 7 + 3);
  }
};

std::uint32_t reg(TlmInitiator& cpu, std::uint32_t offset) {
  std::uint32_t v = 0;
  EXPECT_TRUE(cpu.read32(kRegs + offset, v).ok()) << offset;
  return v;
}
void set(TlmInitiator& cpu, std::uint32_t offset, std::uint32_t v) {
  EXPECT_TRUE(cpu.write32(kRegs + offset, v).ok()) << offset;
}

constexpr std::uint32_t kIrqBoth = r::CTRL_IRQ_DONE_EN_MASK | r::CTRL_IRQ_ERROR_EN_MASK;

void program(TlmInitiator& cpu, std::uint64_t src, std::uint64_t dst, std::uint32_t len, std::uint32_t rows = 1,
             std::uint32_t src_stride = 0, std::uint32_t dst_stride = 0) {
  set(cpu, r::SRC_LO, static_cast<std::uint32_t>(src));
  set(cpu, r::SRC_HI, static_cast<std::uint32_t>(src >> 32));
  set(cpu, r::DST_LO, static_cast<std::uint32_t>(dst));
  set(cpu, r::DST_HI, static_cast<std::uint32_t>(dst >> 32));
  set(cpu, r::LENGTH, len);
  set(cpu, r::ROWS, rows);
  set(cpu, r::SRC_STRIDE, src_stride);
  set(cpu, r::DST_STRIDE, dst_stride);
  set(cpu, r::CTRL, kIrqBoth);
}

// Writes START at the current time; returns the time the DMA starts: the bus hop (10 ns) is
// consumed before the start register acts.
sc_core::sc_time start(TlmInitiator& cpu) {
  const sc_core::sc_time t = sc_core::sc_time_stamp();
  EXPECT_TRUE(cpu.write32(kRegs + r::START, r::START_GO_MASK).ok());
  return t + ns(10);
}

// A chain descriptor (regs::dma_desc) at `d`.
void put_descriptor(std::uint8_t* d, std::uint64_t src, std::uint64_t dst, std::uint32_t len, std::uint32_t rows,
                    std::uint32_t src_stride, std::uint32_t dst_stride, std::uint64_t next) {
  std::memset(d, 0, regs::dma_desc::SIZE);
  std::memcpy(d + regs::dma_desc::SRC, &src, 8);
  std::memcpy(d + regs::dma_desc::DST, &dst, 8);
  std::memcpy(d + regs::dma_desc::LENGTH, &len, 4);
  std::memcpy(d + regs::dma_desc::ROWS, &rows, 4);
  std::memcpy(d + regs::dma_desc::SRC_STRIDE, &src_stride, 4);
  std::memcpy(d + regs::dma_desc::DST_STRIDE, &dst_stride, 4);
  std::memcpy(d + regs::dma_desc::NEXT, &next, 8);
}

}  // namespace

TEST(Dma, OneDimensionalCopyMovesEveryByteInExactTime) {
  sc_core::sc_time started;
  std::uint32_t bytes = 0, events = 0, status = 0;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x4000, 2048);
    started = start(cpu);
    sc_core::wait(ns(1000));
    bytes = reg(cpu, r::BYTES_DONE_LO);
    events = reg(cpu, r::IRQ_STATUS);
    status = reg(cpu, r::STATUS);
  });
  std::vector<std::uint8_t> before(b.mem.data(), b.mem.data() + 2048);
  sc_core::sc_start();
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x4000, before.data(), 2048), 0);
  EXPECT_EQ(b.mem.data()[0x4000 + 2048], static_cast<std::uint8_t>((0x4000 + 2048) * 7 + 3));  // untouched after
  EXPECT_EQ(bytes, 2048u);
  EXPECT_EQ(events, r::IRQ_STATUS_DONE_MASK);
  EXPECT_EQ(status & r::STATUS_BUSY_MASK, 0u);
  // 2 bursts x (read 10 + 1024/8 + write 10 + 1024/8) = 2 x 276 = 552 ns after the start.
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(552));
}

TEST(Dma, BusyWhileRunningIdleAfter) {
  std::uint32_t during = 0, after = 0;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x4000, 2048);
    start(cpu);
    during = reg(cpu, r::STATUS);  // STATUS synchronises: it sees the engine at this time
    sc_core::wait(ns(1000));
    after = reg(cpu, r::STATUS);
  });
  sc_core::sc_start();
  EXPECT_EQ(during & r::STATUS_BUSY_MASK, r::STATUS_BUSY_MASK);
  EXPECT_NE(during & r::STATUS_STATE_MASK, 0u);
  EXPECT_EQ(after, 0u);
}

TEST(Dma, TwoDimensionalCopyHonoursBothStrides) {
  sc_core::sc_time started;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0100, 0x8000, 16, 3, 64, 32);
    started = start(cpu);
    sc_core::wait(ns(1000));
  });
  std::memset(b.mem.data() + 0x8000, 0xEE, 0x100);
  std::vector<std::uint8_t> src(b.mem.data(), b.mem.data() + 0x200), expected(0x100, 0xEE);
  for (int row = 0; row < 3; ++row) std::memcpy(&expected[row * 32], &src[0x100 + row * 64], 16);
  sc_core::sc_start();
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x8000, expected.data(), expected.size()), 0);
  // 3 rows x (read 10 + 16/8 + write 10 + 16/8) = 3 x 24 = 72 ns.
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(72));
}

TEST(Dma, ChainRunsEveryDescriptorInOrder) {
  sc_core::sc_time started;
  std::uint32_t descs = 0, bytes = 0;
  Bench b([&](TlmInitiator& cpu) {
    set(cpu, r::DESC_LO, 0x2000);
    set(cpu, r::DESC_HI, 0);
    set(cpu, r::CTRL, kIrqBoth | (static_cast<std::uint32_t>(r::CtrlMode::CHAIN) << r::CTRL_MODE_SHIFT));
    started = start(cpu);
    sc_core::wait(ns(1000));
    descs = reg(cpu, r::DESC_DONE);
    bytes = reg(cpu, r::BYTES_DONE_LO);
  });
  // Descriptor 0 at 0x2000: 64 B 0x0000 -> 0x9000, next 0x2040. Descriptor 1: 2 rows of 8 B
  // from 0x0100 (stride 16) to 0x9100 (stride 8), last.
  put_descriptor(b.mem.data() + 0x2000, 0x0000, 0x9000, 64, 1, 0, 0, 0x2040);
  put_descriptor(b.mem.data() + 0x2040, 0x0100, 0x9100, 8, 2, 16, 8, 0);
  std::vector<std::uint8_t> src(b.mem.data(), b.mem.data() + 0x200);
  sc_core::sc_start();
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x9000, src.data(), 64), 0);
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x9100, src.data() + 0x100, 8), 0);
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x9108, src.data() + 0x110, 8), 0);
  EXPECT_EQ(descs, 2u);
  EXPECT_EQ(bytes, 64u + 16u);
  // fetch 48 B (10 + 6) + copy 64 B (2 x (10 + 8)) + fetch (16) + 2 rows of 8 B (2 x 2 x (10 + 1))
  // = 16 + 36 + 16 + 44 = 112 ns.
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(112));
}

TEST(Dma, ReadErrorMidTransferReportsTheFailingAddress) {
  sc_core::sc_time started;
  std::uint32_t events = 0, cause = 0, addr_lo = 0, addr_hi = 1, bytes = 0;
  Bench b([&](TlmInitiator& cpu) {
    // Row 0 at 0xFF80 is inside the SRAM; row 1 at 0x10080 is not mapped.
    program(cpu, 0xFF80, 0x1000, 0x80, 2, 0x100, 0x80);
    started = start(cpu);
    sc_core::wait(ns(1000));
    events = reg(cpu, r::IRQ_STATUS);
    cause = reg(cpu, r::ERROR_CODE);
    addr_lo = reg(cpu, r::ERROR_ADDR_LO);
    addr_hi = reg(cpu, r::ERROR_ADDR_HI);
    bytes = reg(cpu, r::BYTES_DONE_LO);
  });
  sc_core::sc_start();
  EXPECT_EQ(events, r::IRQ_STATUS_ERROR_MASK);
  EXPECT_EQ(cause, static_cast<std::uint32_t>(r::ErrorCodeCause::READ_ERROR));
  EXPECT_EQ(addr_lo, 0x10080u);
  EXPECT_EQ(addr_hi, 0u);
  EXPECT_EQ(bytes, 0x80u);
  // row 0: 2 x (10 + 16) = 52 ns; the failed read costs the bus hop: 10 ns.
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(62));
}

TEST(Dma, WriteErrorReportsTheDestinationAddress) {
  std::uint32_t cause = 0, addr_lo = 0, addr_hi = 0;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x7'0000'0000ull, 64);
    start(cpu);
    sc_core::wait(ns(1000));
    cause = reg(cpu, r::ERROR_CODE);
    addr_lo = reg(cpu, r::ERROR_ADDR_LO);
    addr_hi = reg(cpu, r::ERROR_ADDR_HI);
  });
  sc_core::sc_start();
  EXPECT_EQ(cause, static_cast<std::uint32_t>(r::ErrorCodeCause::WRITE_ERROR));
  EXPECT_EQ(addr_lo, 0u);
  EXPECT_EQ(addr_hi, 7u);
}

TEST(Dma, MisalignedDescriptorIsADescriptorError) {
  std::uint32_t cause = 0, addr = 0;
  Bench b([&](TlmInitiator& cpu) {
    set(cpu, r::DESC_LO, 0x2004);
    set(cpu, r::CTRL, kIrqBoth | (static_cast<std::uint32_t>(r::CtrlMode::CHAIN) << r::CTRL_MODE_SHIFT));
    start(cpu);
    sc_core::wait(ns(1000));
    cause = reg(cpu, r::ERROR_CODE);
    addr = reg(cpu, r::ERROR_ADDR_LO);
  });
  sc_core::sc_start();
  EXPECT_EQ(cause, static_cast<std::uint32_t>(r::ErrorCodeCause::DESC_ERROR));
  EXPECT_EQ(addr, 0x2004u);
}

TEST(Dma, ZeroLengthIsAnError) {
  std::uint32_t cause = 0, events = 0;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x4000, 0);
    start(cpu);
    sc_core::wait(ns(100));
    cause = reg(cpu, r::ERROR_CODE);
    events = reg(cpu, r::IRQ_STATUS);
  });
  sc_core::sc_start();
  EXPECT_EQ(cause, static_cast<std::uint32_t>(r::ErrorCodeCause::ZERO_LENGTH));
  EXPECT_EQ(events, r::IRQ_STATUS_ERROR_MASK);
}

TEST(Dma, StartWhileBusyIsReportedAndTheRunningTransferCompletes) {
  std::uint32_t cause = 0, events = 0, bytes = 0;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x4000, 2048);
    start(cpu);
    sc_core::wait(ns(100));
    start(cpu);
    sc_core::wait(ns(1000));
    cause = reg(cpu, r::ERROR_CODE);
    events = reg(cpu, r::IRQ_STATUS);
    bytes = reg(cpu, r::BYTES_DONE_LO);
  });
  std::vector<std::uint8_t> before(b.mem.data(), b.mem.data() + 2048);
  sc_core::sc_start();
  EXPECT_EQ(cause, static_cast<std::uint32_t>(r::ErrorCodeCause::START_WHILE_BUSY));
  EXPECT_EQ(events, r::IRQ_STATUS_ERROR_MASK | r::IRQ_STATUS_DONE_MASK);
  EXPECT_EQ(bytes, 2048u);
  EXPECT_EQ(std::memcmp(b.mem.data() + 0x4000, before.data(), 2048), 0);
}

TEST(Dma, InterruptLineFollowsStatusAndEnables) {
  bool after_done = true, after_enable = false, after_clear = true;
  Bench b([&](TlmInitiator& cpu) {
    program(cpu, 0x0000, 0x4000, 64);
    set(cpu, r::CTRL, 0);  // no interrupt enables
    start(cpu);
    sc_core::wait(ns(200));
    after_done = b.irq.read();
    set(cpu, r::CTRL, r::CTRL_IRQ_DONE_EN_MASK);
    sc_core::wait(ns(1));  // the line follows within delta cycles
    after_enable = b.irq.read();
    set(cpu, r::IRQ_STATUS, r::IRQ_STATUS_DONE_MASK);  // write 1 to clear
    sc_core::wait(ns(1));  // the line follows within delta cycles
    after_clear = b.irq.read();
  });
  sc_core::sc_start();
  EXPECT_FALSE(after_done);
  EXPECT_TRUE(after_enable);
  EXPECT_FALSE(after_clear);
}

TEST(Dma, RegisterAccessRules) {
  tlm::tlm_response_status ro_write{}, wo_read{}, narrow{};
  Bench b([&](TlmInitiator& cpu) {
    ro_write = cpu.write32(kRegs + r::STATUS, 1).status;
    std::uint32_t v = 0;
    wo_read = cpu.read32(kRegs + r::START, v).status;
    std::uint16_t h = 0;
    narrow = cpu.read(kRegs + r::CTRL, &h, 2).status;
  });
  sc_core::sc_start();
  EXPECT_EQ(ro_write, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(wo_read, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(narrow, tlm::TLM_BURST_ERROR_RESPONSE);
}

// ---- lengths that are not multiples of 4, odd addresses, guard bytes ---------------------------
// Reliability II, class 8. The source area (below 0x4000) holds bytes that are never 0; the rest
// of the SRAM is 0, the guard. After the copies the whole SRAM must be the image of the copies
// applied to that start by memcpy: the destination rows, and every byte before, after and
// between them untouched. Each copy's time is its rows' bursts, 2 x (10 + ceil(n / 8)) ns each.

namespace {

struct OddCopy {
  std::uint64_t src;
  std::uint32_t src_stride;
  std::uint64_t dst;
  std::uint32_t dst_stride, length, rows;
  unsigned ns_expected;  // from START to the interrupt, by hand
};

std::string describe(const OddCopy& c) {
  char text[120];
  std::snprintf(text, sizeof text, "%u x %u B from 0x%llx (stride %u) to 0x%llx (stride %u)", c.rows, c.length,
                static_cast<unsigned long long>(c.src), c.src_stride, static_cast<unsigned long long>(c.dst), c.dst_stride);
  return text;
}

// First address where the SRAM differs from `expected`, or kMemSize.
std::size_t first_difference(const std::uint8_t* mem, const std::vector<std::uint8_t>& expected) {
  std::size_t at = 0;
  while (at < expected.size() && mem[at] == expected[at]) ++at;
  return at;
}

void fill_source_and_guards(std::uint8_t* mem) {
  for (std::size_t i = 0; i < kMemSize; ++i) mem[i] = i < 0x4000 ? static_cast<std::uint8_t>(1 + (i * 7 + 3) % 255) : 0;
}

void apply(std::vector<std::uint8_t>& image, const OddCopy& c) {
  for (std::uint32_t row = 0; row < c.rows; ++row)
    std::memmove(&image[c.dst + std::uint64_t{row} * c.dst_stride], &image[c.src + std::uint64_t{row} * c.src_stride],
                 c.length);
}

// Runs each copy in turn (direct mode), clearing DONE after each so that the next raises the
// interrupt line again.
void expect_copies(const std::vector<OddCopy>& copies) {
  std::vector<sc_core::sc_time> started;
  std::vector<std::uint32_t> bytes, errors;
  Bench b([&](TlmInitiator& cpu) {
    for (const OddCopy& c : copies) {
      program(cpu, c.src, c.dst, c.length, c.rows, c.src_stride, c.dst_stride);
      started.push_back(start(cpu));
      sc_core::wait(ns(1000));
      bytes.push_back(reg(cpu, r::BYTES_DONE_LO));
      errors.push_back(reg(cpu, r::ERROR_CODE));
      set(cpu, r::IRQ_STATUS, r::IRQ_STATUS_DONE_MASK);
    }
  });
  fill_source_and_guards(b.mem.data());
  std::vector<std::uint8_t> expected(b.mem.data(), b.mem.data() + kMemSize);
  for (const OddCopy& c : copies) apply(expected, c);
  sc_core::sc_start();
  const std::size_t at = first_difference(b.mem.data(), expected);
  EXPECT_EQ(at, kMemSize) << "first differing byte at 0x" << std::hex << at << std::dec << ": " << unsigned{b.mem.data()[at % kMemSize]}
                          << ", expected " << unsigned{expected[at % kMemSize]};
  ASSERT_EQ(bytes.size(), copies.size());
  ASSERT_EQ(b.probe.rises.size(), copies.size());
  for (std::size_t i = 0; i < copies.size(); ++i) {
    EXPECT_EQ(bytes[i], copies[i].length * copies[i].rows) << describe(copies[i]);
    EXPECT_EQ(errors[i], 0u) << describe(copies[i]);
    EXPECT_EQ(b.probe.rises[i], started[i] + ns(copies[i].ns_expected)) << describe(copies[i]);
  }
}

}  // namespace

TEST(Dma, OddLengthsAtOddAddressesCopyExactlyTheirBytes) {
  // One destination slot per 0x900 bytes from 0x4000. 1..7 B: one burst, 2 x (10 + 1) = 22 ns;
  // 63 B: 2 x (10 + 8) = 36; 65 B: 2 x (10 + 9) = 38; 1023 B: 2 x (10 + 128) = 276; 1025 B:
  // a full burst 276 + 1 B 22 = 298; 2051 B: 276 + 276 + 3 B 22 = 574.
  expect_copies({{0x0001, 0, 0x4000, 0, 1, 1, 22},
                 {0x0103, 0, 0x4901, 0, 2, 1, 22},
                 {0x0200, 0, 0x5203, 0, 3, 1, 22},
                 {0x0307, 0, 0x5B02, 0, 5, 1, 22},
                 {0x0401, 0, 0x6405, 0, 7, 1, 22},
                 {0x0503, 0, 0x6D01, 0, 63, 1, 36},
                 {0x0601, 0, 0x7607, 0, 65, 1, 38},
                 {0x0705, 0, 0x7F03, 0, 1023, 1, 276},
                 {0x0802, 0, 0x8801, 0, 1025, 1, 298},
                 {0x0903, 0, 0x9105, 0, 2051, 1, 574}});
}

TEST(Dma, TwoDimensionalOddRowsLeaveTheBytesBetweenRowsUntouched) {
  // Strides longer than the rows: gaps of 2 to 4 B between destination rows (1 B rows with
  // stride 2: every other byte). Per row as above: 3, 7 and 1 B 22 ns, 65 B 38 ns, 1025 B 298 ns.
  expect_copies({{0x0001, 5, 0xA003, 7, 3, 4, 4 * 22},
                 {0x0103, 9, 0xA101, 11, 7, 3, 3 * 22},
                 {0x0200, 3, 0xA201, 2, 1, 5, 5 * 22},
                 {0x0305, 67, 0xA307, 69, 65, 3, 3 * 38},
                 {0x0601, 1031, 0xA803, 1029, 1025, 2, 2 * 298}});
}

TEST(Dma, ChainOfOddCopiesMovesExactlyTheirBytes) {
  // Descriptor 0 at 0x3000: 5 B 0x0101 -> 0xB101, next 0x3040; descriptor 1: 2 rows of 63 B
  // from 0x0203 (stride 65) to 0xB203 (stride 67), last. Fetch 48 B (10 + 6) + 5 B (22) + fetch
  // (16) + 2 rows of 63 B (2 x 36) = 126 ns.
  sc_core::sc_time started;
  std::uint32_t bytes = 0, descs = 0;
  Bench b([&](TlmInitiator& cpu) {
    set(cpu, r::DESC_LO, 0x3000);
    set(cpu, r::DESC_HI, 0);
    set(cpu, r::CTRL, kIrqBoth | (static_cast<std::uint32_t>(r::CtrlMode::CHAIN) << r::CTRL_MODE_SHIFT));
    started = start(cpu);
    sc_core::wait(ns(1000));
    bytes = reg(cpu, r::BYTES_DONE_LO);
    descs = reg(cpu, r::DESC_DONE);
  });
  fill_source_and_guards(b.mem.data());
  put_descriptor(b.mem.data() + 0x3000, 0x0101, 0xB101, 5, 1, 0, 0, 0x3040);
  put_descriptor(b.mem.data() + 0x3040, 0x0203, 0xB203, 63, 2, 65, 67, 0);
  std::vector<std::uint8_t> expected(b.mem.data(), b.mem.data() + kMemSize);
  apply(expected, {0x0101, 0, 0xB101, 0, 5, 1, 0});
  apply(expected, {0x0203, 65, 0xB203, 67, 63, 2, 0});
  sc_core::sc_start();
  EXPECT_EQ(first_difference(b.mem.data(), expected), kMemSize);
  EXPECT_EQ(bytes, 5u + 2u * 63u);
  EXPECT_EQ(descs, 2u);
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(126));
}

// The same through DDR, whose backing store is cut into 1 MiB pages: odd copies whose source
// and destination rows straddle page boundaries. Unwritten DDR reads as 0, the guard.
TEST(Dma, OddCopiesAcrossDdrPagesMoveExactlyTheirBytes) {
  constexpr std::uint64_t kDdr = 0x1000'0000, kPage = Ddr::kPageBytes;
  Bus bus{"bus", {ns(10)}};
  Ddr ddr{"ddr", {8 * kPage, 1, 1e9, ns(20), 256}};
  Dma dma{"dma", {1024, ns(4)}};
  sc_core::sc_signal<bool> irq{"irq"};
  std::vector<std::uint32_t> bytes;
  // 1031 B from 9 B before page 1 to 1023 B before page 2; 3 rows of 13 B from 5 B before page
  // 3 (stride 17: the last row straddles it) to 20 B before page 5 (stride 15: the second row
  // straddles it).
  const std::vector<OddCopy> copies = {{kPage - 9, 0, 2 * kPage - 1023, 0, 1031, 1, 0},
                                       {3 * kPage - 5 - 2 * 17, 17, 5 * kPage - 20, 15, 13, 3, 0}};
  TlmInitiator cpu("cpu", [&](TlmInitiator& c) {
    for (const OddCopy& copy : copies) {
      program(c, kDdr + copy.src, kDdr + copy.dst, copy.length, copy.rows, copy.src_stride, copy.dst_stride);
      start(c);
      sc_core::wait(ns(100000));
      bytes.push_back(reg(c, r::BYTES_DONE_LO));
    }
  });
  tlm::tlm_global_quantum::instance().set(ns(1000));
  bus.map_target(ddr.socket, kDdr, 8 * kPage, "ddr");
  bus.map_target(dma.regs_socket, kRegs, 0x1000, "dma");
  bus.connect_initiator(cpu.socket, "cpu");
  bus.connect_initiator(dma.data_socket, "dma");
  dma.irq.bind(irq);
  // Each source span holds bytes that are never 0; the window checked is each destination's
  // extent and 64 guard bytes either side.
  std::vector<std::uint8_t> source(2048);
  for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<std::uint8_t>(1 + (i * 11 + 5) % 255);
  for (const OddCopy& c : copies) ddr.write(c.src, source.data(), std::uint64_t{c.rows - 1} * c.src_stride + c.length);
  sc_core::sc_start();
  for (std::size_t i = 0; i < copies.size(); ++i) {
    const OddCopy& c = copies[i];
    const std::uint64_t from = c.dst - 64, extent = std::uint64_t{c.rows - 1} * c.dst_stride + c.length + 128;
    std::vector<std::uint8_t> got(extent), want(extent, 0);
    ddr.read(from, got.data(), extent);
    for (std::uint32_t row = 0; row < c.rows; ++row)
      std::memcpy(&want[64 + row * c.dst_stride], &source[row * c.src_stride], c.length);
    std::size_t at = 0;
    while (at < extent && got[at] == want[at]) ++at;
    EXPECT_EQ(at, extent) << describe(c) << ": first differing byte at destination offset "
                          << static_cast<long long>(at) - 64;
    ASSERT_LT(i, bytes.size());
    EXPECT_EQ(bytes[i], c.length * c.rows) << describe(c);
  }
}
