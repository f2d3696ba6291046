// The SAT's engines as firmware sees them through registers: exact job time from the timing
// formulas, counters, interrupts, error causes for every kind of bad job, and no SRAM byte
// written outside a job's output (none at all for a rejected job).
//
// Parameters: the paper platform's 32 x 32 array and SRAM ports (A 256, B 64, C 64 B/cycle),
// M in {4, 8}, 1 MiB per buffer, at 200 MHz so that a cycle is exactly 5 ns.
#include <cstring>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/regs.h>
#include <cestvp/sat_abi.h>

#include "sat.h"
#include "tlm_initiator.h"

using namespace cestvp;
using cestvp::test::ns;
using cestvp::test::TlmInitiator;
namespace r = cestvp::regs::sat;
using fw::SramBuffer;
using fw::sram_address;

namespace {

constexpr std::uint64_t kBuffer = 1 << 20;

Sat::Params params(SatMode mode) {
  Sat::Params p;
  p.timing.osre_pipeline = 4;
  p.timing.wuve_pipeline = 8;
  p.nm_m = {4, 8};
  p.sram_bytes[0] = p.sram_bytes[1] = p.sram_bytes[2] = kBuffer;
  p.clock_hz = 200e6;
  p.mode = mode;
  return p;
}

struct IrqProbe : sc_core::sc_module {
  sc_core::sc_in<bool> line{"line"};
  std::vector<sc_core::sc_time> rises;
  SC_HAS_PROCESS(IrqProbe);
  explicit IrqProbe(const sc_core::sc_module_name& n) : sc_module(n) {
    SC_METHOD(sample);
    sensitive << line.pos();
    dont_initialize();
  }
  void sample() { rises.push_back(sc_core::sc_time_stamp()); }
};

struct Bench {
  Sat sat;
  sc_core::sc_signal<bool> irq{"irq"};
  IrqProbe probe{"probe"};
  TlmInitiator cpu;
  TlmInitiator dbg_a{"dbg_a", {}}, dbg_b{"dbg_b", {}}, dbg_c{"dbg_c", {}};

  Bench(TlmInitiator::Body body, SatMode mode = SatMode::functional)
      : sat("sat", params(mode)), cpu("cpu", std::move(body)) {
    cpu.socket.bind(sat.regs_socket);
    dbg_a.socket.bind(sat.sram_a.socket);
    dbg_b.socket.bind(sat.sram_b.socket);
    dbg_c.socket.bind(sat.sram_c.socket);
    sat.irq.bind(irq);
    probe.line.bind(irq);
    fill(0x5A);
  }
  void fill(std::uint8_t v) {
    for (Sram* s : {&sat.sram_a, &sat.sram_b, &sat.sram_c}) std::memset(s->data(), v, s->size());
  }
  bool untouched(std::uint8_t v, const Sram& s, std::uint64_t skip_from = 0, std::uint64_t skip_bytes = 0) const {
    const std::uint8_t* d = const_cast<Sram&>(s).data();
    for (std::uint64_t i = 0; i < s.size(); ++i)
      if ((i < skip_from || i >= skip_from + skip_bytes) && d[i] != v) return false;
    return true;
  }
};

void set(TlmInitiator& cpu, std::uint32_t reg, std::uint32_t v) { EXPECT_TRUE(cpu.write32(reg, v).ok()) << reg; }
std::uint32_t get(TlmInitiator& cpu, std::uint32_t reg) {
  std::uint32_t v = 0;
  EXPECT_TRUE(cpu.read32(reg, v).ok()) << reg;
  return v;
}

std::uint32_t nm(std::uint32_t n, std::uint32_t m) { return n | (m << 8); }
std::uint32_t op(r::StceOpOp code, std::uint32_t flags = 0) { return static_cast<std::uint32_t>(code) | flags; }

// A GEMM rows x cols x depth: A in buffer A at 0, B in buffer B at 0 (indices at 512 KiB), C
// in buffer C at 0.
void program_gemm(TlmInitiator& cpu, std::uint32_t rows, std::uint32_t cols, std::uint32_t depth,
                  std::uint32_t flags = 0, std::uint32_t nm_value = 0) {
  set(cpu, r::STCE_OP, op(r::StceOpOp::GEMM, flags));
  set(cpu, r::STCE_NM, nm_value);
  set(cpu, r::STCE_ROWS, rows);
  set(cpu, r::STCE_COLS, cols);
  set(cpu, r::STCE_DEPTH, depth);
  set(cpu, r::STCE_SEGMENT, 0);
  set(cpu, r::STCE_A_ADDR, sram_address(SramBuffer::a, 0));
  set(cpu, r::STCE_B_ADDR, sram_address(SramBuffer::b, 0));
  set(cpu, r::STCE_B_IDX_ADDR, sram_address(SramBuffer::b, 512 << 10));
  set(cpu, r::STCE_C_ADDR, sram_address(SramBuffer::c, 0));
}

struct Outcome {
  std::uint32_t cause = 0xFF, events = 0;
};

// Starts the engine at `start_reg`, waits for the interrupt, and collects the outcome.
Outcome run(TlmInitiator& cpu, std::uint32_t start_reg, std::uint32_t error_reg) {
  set(cpu, r::IRQ_ENABLE, 0x3F);
  set(cpu, start_reg, r::STCE_START_GO_MASK);
  sc_core::wait(ns(100'000));
  Outcome o{get(cpu, error_reg), get(cpu, r::IRQ_STATUS)};
  set(cpu, r::IRQ_STATUS, o.events);
  return o;
}

Outcome run_stce(TlmInitiator& cpu) { return run(cpu, r::STCE_START, r::STCE_ERROR); }

std::uint32_t cause(r::StceErrorCause c) { return static_cast<std::uint32_t>(c); }

// Runs one STCE job programmed by `setup` and returns its error cause; checks that a rejected
// job wrote nothing and raised ERROR.
std::uint32_t stce_error(const std::function<void(TlmInitiator&)>& setup) {
  Outcome o;
  Bench b([&](TlmInitiator& cpu) {
    setup(cpu);
    o = run_stce(cpu);
  });
  sc_core::sc_start();
  EXPECT_EQ(o.events, r::IRQ_STATUS_STCE_ERROR_MASK);
  EXPECT_TRUE(b.untouched(0x5A, b.sat.sram_a) && b.untouched(0x5A, b.sat.sram_b) && b.untouched(0x5A, b.sat.sram_c));
  return o.cause;
}

}  // namespace

TEST(SatEngines, SparseGemmTakesTheWorkedExampleTimeAndCounts) {
  sc_core::sc_time started;
  Outcome o;
  std::uint32_t jobs = 0, busy = 0, ops = 0, skipped = 0;
  Bench b([&](TlmInitiator& cpu) {
    program_gemm(cpu, 64, 64, 256, r::STCE_OP_B_SPARSE_MASK | r::STCE_OP_B_TRANS_MASK * 0, nm(2, 8));
    started = sc_core::sc_time_stamp();
    o = run_stce(cpu);
    jobs = get(cpu, r::STCE_JOBS);
    busy = get(cpu, r::STCE_BUSY_CYCLES_LO);
    ops = get(cpu, r::STCE_OPS_LO);
    skipped = get(cpu, r::STCE_OPS_SKIPPED_LO);
  }, SatMode::timing);
  sc_core::sc_start();
  EXPECT_EQ(o.cause, 0u);
  EXPECT_EQ(o.events, r::IRQ_STATUS_STCE_DONE_MASK);
  // docs/engines.md worked example: 505 cycles of 5 ns, from the START write, which comes
  // after the IRQ_ENABLE write (one register access: one 5 ns cycle).
  ASSERT_EQ(b.probe.rises.size(), 1u);
  EXPECT_EQ(b.probe.rises[0], started + ns(5) + ns(505 * 5));
  EXPECT_EQ(jobs, 1u);
  EXPECT_EQ(busy, 505u);
  EXPECT_EQ(ops, 64u * 64u * 64u);
  EXPECT_EQ(skipped, 64u * 64u * 192u);
  std::uint64_t model_jobs = 0;
  EXPECT_EQ(b.sat.counters(Sat::Engine::stce, &model_jobs).cycles, 505u);
  EXPECT_EQ(model_jobs, 1u);
}

TEST(SatEngines, DenseGemmWritesExactlyItsOutput) {
  Outcome o;
  Bench b([&](TlmInitiator& cpu) {
    program_gemm(cpu, 3, 5, 4);
    o = run_stce(cpu);
  });
  // A = 1.0 (0x3C00) everywhere, B = 2.0 (0x4000): every C element is 4 x 2.0 = 8.0f.
  for (int i = 0; i < 12; ++i) std::memcpy(b.sat.sram_a.data() + 2 * i, "\x00\x3C", 2);
  for (int i = 0; i < 20; ++i) std::memcpy(b.sat.sram_b.data() + 2 * i, "\x00\x40", 2);
  sc_core::sc_start();
  EXPECT_EQ(o.cause, 0u);
  for (int i = 0; i < 15; ++i) {
    float v;
    std::memcpy(&v, b.sat.sram_c.data() + 4 * i, 4);
    EXPECT_EQ(v, 8.0f) << i;
  }
  EXPECT_TRUE(b.untouched(0x5A, b.sat.sram_c, 0, 15 * 4));
}

TEST(SatEngines, TimingModeWritesNothing) {
  Outcome o;
  Bench b([&](TlmInitiator& cpu) {
    program_gemm(cpu, 8, 8, 8);
    o = run_stce(cpu);
  }, SatMode::timing);
  sc_core::sc_start();
  EXPECT_EQ(o.cause, 0u);
  EXPECT_TRUE(b.untouched(0x5A, b.sat.sram_c));
}

TEST(SatEngines, NGreaterThanMIsBadNm) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) { program_gemm(cpu, 8, 8, 16, r::STCE_OP_B_SPARSE_MASK, nm(5, 4)); }),
            cause(r::StceErrorCause::BAD_NM));
}

TEST(SatEngines, UnsupportedMIsReported) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) { program_gemm(cpu, 8, 8, 16, r::STCE_OP_B_SPARSE_MASK, nm(2, 16)); }),
            cause(r::StceErrorCause::M_UNSUPPORTED));
}

TEST(SatEngines, OperandOutsideSramIsOutOfSram) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16);
              set(cpu, r::STCE_A_ADDR, sram_address(SramBuffer::a, kBuffer - 64));  // needs 256 B
            }),
            cause(r::StceErrorCause::OUT_OF_SRAM));
}

TEST(SatEngines, BufferFieldBeyondCIsOutOfSram) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16);
              set(cpu, r::STCE_B_ADDR, 3u << fw::kSramBufferShift);
            }),
            cause(r::StceErrorCause::OUT_OF_SRAM));
}

TEST(SatEngines, OutputOverlappingAnInputIsOverlap) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16);
              set(cpu, r::STCE_C_ADDR, sram_address(SramBuffer::a, 128));
            }),
            cause(r::StceErrorCause::OVERLAP));
}

TEST(SatEngines, ZeroOrHugeDimensionsAreBadShape) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) { program_gemm(cpu, 0, 8, 16); }), cause(r::StceErrorCause::BAD_SHAPE));
}

TEST(SatEngines, SegmentNotDividingKIsBadShape) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 20, r::STCE_OP_B_SPARSE_MASK, nm(2, 8));
              set(cpu, r::STCE_SEGMENT, 8);
            }),
            cause(r::StceErrorCause::BAD_SHAPE));
}

TEST(SatEngines, KernelLargerThanPaddedInputIsBadShape) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              set(cpu, r::STCE_OP, op(r::StceOpOp::CONV_FWD));
              set(cpu, r::STCE_BATCH, 1);
              set(cpu, r::STCE_IN_SIZE, 2 | (2u << r::STCE_IN_SIZE_W_SHIFT));
              set(cpu, r::STCE_CHANNELS, 4 | (4u << r::STCE_CHANNELS_COUT_SHIFT));
              set(cpu, r::STCE_KERNEL, 5 | (5u << r::STCE_KERNEL_KW_SHIFT) | (1u << r::STCE_KERNEL_STRIDE_SHIFT));
            }),
            cause(r::StceErrorCause::BAD_SHAPE));
}

TEST(SatEngines, ReservedOpAndForbiddenFlagsAreBadOp) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16);
              set(cpu, r::STCE_OP, 9);
            }),
            cause(r::StceErrorCause::BAD_OP));
}

TEST(SatEngines, BothOperandsCompressedIsBadOp) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16, r::STCE_OP_A_SPARSE_MASK | r::STCE_OP_B_SPARSE_MASK, nm(2, 8));
            }),
            cause(r::StceErrorCause::BAD_OP));
}

TEST(SatEngines, MisalignedOutputIsMisaligned) {
  EXPECT_EQ(stce_error([](TlmInitiator& cpu) {
              program_gemm(cpu, 8, 8, 16);
              set(cpu, r::STCE_C_ADDR, sram_address(SramBuffer::c, 2));  // FP32 needs 4
            }),
            cause(r::StceErrorCause::MISALIGNED));
}

TEST(SatEngines, StartWhileBusyIsReportedAndTheJobCompletes) {
  std::uint32_t cause_after = 0xFF, events = 0, jobs = 0;
  Bench b([&](TlmInitiator& cpu) {
    program_gemm(cpu, 64, 64, 256);
    set(cpu, r::STCE_START, 1);
    sc_core::wait(ns(100));
    set(cpu, r::STCE_START, 1);  // busy: 1273 cycles
    events = get(cpu, r::IRQ_STATUS);
    sc_core::wait(ns(100'000));
    cause_after = get(cpu, r::STCE_ERROR);
    events |= get(cpu, r::IRQ_STATUS);
    jobs = get(cpu, r::STCE_JOBS);
  }, SatMode::timing);
  sc_core::sc_start();
  EXPECT_EQ(events, r::IRQ_STATUS_STCE_ERROR_MASK | r::IRQ_STATUS_STCE_DONE_MASK);
  EXPECT_EQ(jobs, 1u);
  // The rejected START's cause stays until the next START; the running job completed cleanly.
  EXPECT_EQ(cause_after, static_cast<std::uint32_t>(r::StceErrorCause::START_WHILE_BUSY));
}

TEST(SatEngines, OsreNanIsReportedAfterTheOutputIsWritten) {
  Outcome o;
  Bench b([&](TlmInitiator& cpu) {
    set(cpu, r::OSRE_CTRL, r::OSRE_CTRL_SRC_FP32_MASK);
    set(cpu, r::OSRE_NM, nm(2, 4));
    set(cpu, r::OSRE_ROWS, 1);
    set(cpu, r::OSRE_COLS, 4);
    set(cpu, r::OSRE_SRC_ADDR, sram_address(SramBuffer::a, 0));
    set(cpu, r::OSRE_VAL_ADDR, sram_address(SramBuffer::b, 0));
    set(cpu, r::OSRE_IDX_ADDR, sram_address(SramBuffer::c, 0));
    o = run(cpu, r::OSRE_START, r::OSRE_ERROR);
  });
  const float src[4] = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f, -0.5f};
  std::memcpy(b.sat.sram_a.data(), src, sizeof src);
  sc_core::sc_start();
  EXPECT_EQ(o.cause, static_cast<std::uint32_t>(r::OsreErrorCause::NAN_INPUT));
  EXPECT_EQ(o.events, r::IRQ_STATUS_OSRE_ERROR_MASK);
  // Kept: index 1 (NaN counts as +inf) and index 2 (3.0), in ascending order.
  std::uint32_t idx = 0;
  std::memcpy(&idx, b.sat.sram_c.data(), 4);
  EXPECT_EQ(fw::nm_index(&idx, 0, 2), 1u);
  EXPECT_EQ(fw::nm_index(&idx, 1, 2), 2u);
}

TEST(SatEngines, EnginesRunConcurrently) {
  std::vector<std::uint32_t> events;
  sc_core::sc_time started;
  Bench b([&](TlmInitiator& cpu) {
    program_gemm(cpu, 64, 64, 256);  // 1273 cycles
    set(cpu, r::WUVE_COUNT, 320);    // ceil(320 / 32) + 8 = 18 compute; SRAM dominates below
    set(cpu, r::WUVE_GRAD_ADDR, sram_address(SramBuffer::a, 0x80000));
    set(cpu, r::WUVE_WEIGHT_ADDR, sram_address(SramBuffer::b, 0x80000));
    set(cpu, r::WUVE_MOMENTUM_ADDR, sram_address(SramBuffer::c, 0x80000));
    set(cpu, r::IRQ_ENABLE, 0x3F);
    started = sc_core::sc_time_stamp();
    set(cpu, r::STCE_START, 1);
    set(cpu, r::WUVE_START, 1);
    sc_core::wait(ns(100'000));
  }, SatMode::timing);
  sc_core::sc_start();
  // WUVE: B holds w (read 4 + write 4 B per element): 320 x 8 / 64 = 40 cycles; C the same
  // for v; A 320 x 2 / 256 = 3: 1 + 40 = 41 cycles. It finishes long before the STCE job.
  // WUVE starts after the STCE START write (one 5 ns register access).
  ASSERT_EQ(b.probe.rises.size(), 1u);  // the line stays high until IRQ_STATUS is cleared
  EXPECT_EQ(b.probe.rises[0], started + ns(5) + ns(41 * 5));
  EXPECT_EQ(b.sat.counters(Sat::Engine::wuve).cycles, 41u);
  EXPECT_EQ(b.sat.counters(Sat::Engine::stce).cycles, 1273u);
}

namespace {

// Runs an OSRE or WUVE job programmed by `setup` and returns its error cause.
std::uint32_t vector_error(std::uint32_t start_reg, std::uint32_t error_reg,
                           const std::function<void(TlmInitiator&)>& setup) {
  Outcome o;
  Bench b([&](TlmInitiator& cpu) {
    setup(cpu);
    o = run(cpu, start_reg, error_reg);
  });
  sc_core::sc_start();
  EXPECT_TRUE(b.untouched(0x5A, b.sat.sram_a) && b.untouched(0x5A, b.sat.sram_b) && b.untouched(0x5A, b.sat.sram_c));
  return o.cause;
}

void program_osre(TlmInitiator& cpu, std::uint32_t rows, std::uint32_t cols, std::uint32_t nm_value) {
  set(cpu, r::OSRE_CTRL, 0);
  set(cpu, r::OSRE_NM, nm_value);
  set(cpu, r::OSRE_ROWS, rows);
  set(cpu, r::OSRE_COLS, cols);
  set(cpu, r::OSRE_SRC_ADDR, sram_address(SramBuffer::a, 0));
  set(cpu, r::OSRE_VAL_ADDR, sram_address(SramBuffer::b, 0));
  set(cpu, r::OSRE_IDX_ADDR, sram_address(SramBuffer::c, 0));
}

void program_wuve(TlmInitiator& cpu, std::uint32_t count) {
  set(cpu, r::WUVE_CTRL, r::WUVE_CTRL_WRITE_FP16_MASK);
  set(cpu, r::WUVE_COUNT, count);
  set(cpu, r::WUVE_GRAD_ADDR, sram_address(SramBuffer::a, 0));
  set(cpu, r::WUVE_WEIGHT_ADDR, sram_address(SramBuffer::b, 0));
  set(cpu, r::WUVE_MOMENTUM_ADDR, sram_address(SramBuffer::c, 0));
  set(cpu, r::WUVE_OUT_ADDR, sram_address(SramBuffer::a, 0x10000));
}

std::uint32_t osre_error(const std::function<void(TlmInitiator&)>& setup) {
  return vector_error(r::OSRE_START, r::OSRE_ERROR, setup);
}
std::uint32_t wuve_error(const std::function<void(TlmInitiator&)>& setup) {
  return vector_error(r::WUVE_START, r::WUVE_ERROR, setup);
}

}  // namespace

// One simulation per process: each bad job is a TEST of its own.
TEST(SatEngines, OsreZeroNIsBadNm) {
  EXPECT_EQ(osre_error([](TlmInitiator& cpu) { program_osre(cpu, 4, 8, nm(0, 8)); }), cause(r::OsreErrorCause::BAD_NM));
}

TEST(SatEngines, OsreUnsupportedM) {
  EXPECT_EQ(osre_error([](TlmInitiator& cpu) { program_osre(cpu, 4, 8, nm(1, 2)); }),
            cause(r::OsreErrorCause::M_UNSUPPORTED));
}

TEST(SatEngines, OsreZeroRowsIsBadShape) {
  EXPECT_EQ(osre_error([](TlmInitiator& cpu) { program_osre(cpu, 0, 8, nm(2, 8)); }),
            cause(r::OsreErrorCause::BAD_SHAPE));
}

TEST(SatEngines, OsreIndicesOverlappingValuesIsOverlap) {
  EXPECT_EQ(osre_error([](TlmInitiator& cpu) {
              program_osre(cpu, 4, 8, nm(2, 8));
              set(cpu, r::OSRE_IDX_ADDR, sram_address(SramBuffer::b, 8));  // inside the values
            }),
            cause(r::OsreErrorCause::OVERLAP));
}

TEST(SatEngines, OsreMisalignedFp32SourceIsMisaligned) {
  EXPECT_EQ(osre_error([](TlmInitiator& cpu) {
              program_osre(cpu, 4, 8, nm(2, 8));
              set(cpu, r::OSRE_CTRL, r::OSRE_CTRL_SRC_FP32_MASK);
              set(cpu, r::OSRE_SRC_ADDR, sram_address(SramBuffer::a, 2));  // FP32 needs 4
            }),
            cause(r::OsreErrorCause::MISALIGNED));
}

TEST(SatEngines, WuveZeroCountIsBadShape) {
  EXPECT_EQ(wuve_error([](TlmInitiator& cpu) { program_wuve(cpu, 0); }), cause(r::WuveErrorCause::BAD_SHAPE));
}

TEST(SatEngines, WuveCopyOverlappingWeightsIsOverlap) {
  EXPECT_EQ(wuve_error([](TlmInitiator& cpu) {
              program_wuve(cpu, 64);
              set(cpu, r::WUVE_OUT_ADDR, sram_address(SramBuffer::b, 128));  // inside the weights
            }),
            cause(r::WuveErrorCause::OVERLAP));
}

TEST(SatEngines, WuveMomentumBeyondSramIsOutOfSram) {
  EXPECT_EQ(wuve_error([](TlmInitiator& cpu) {
              program_wuve(cpu, 64);
              set(cpu, r::WUVE_MOMENTUM_ADDR, sram_address(SramBuffer::c, kBuffer - 8));
            }),
            cause(r::WuveErrorCause::OUT_OF_SRAM));
}

TEST(SatEngines, ConvJobInFunctionalModeTakesTheFormulaTime) {
  // Functional mode computes real data and still takes exactly the formula's time, as the
  // timing mode does (SparseGemmTakesTheWorkedExampleTimeAndCounts).
  sat::JobCost functional;
  Bench b([&](TlmInitiator& cpu) {
    set(cpu, r::STCE_OP, op(r::StceOpOp::CONV_FWD));
    set(cpu, r::STCE_BATCH, 2);
    set(cpu, r::STCE_IN_SIZE, 8 | (8u << r::STCE_IN_SIZE_W_SHIFT));
    set(cpu, r::STCE_CHANNELS, 16 | (24u << r::STCE_CHANNELS_COUT_SHIFT));
    set(cpu, r::STCE_KERNEL, 3 | (3u << r::STCE_KERNEL_KW_SHIFT) | (1u << r::STCE_KERNEL_STRIDE_SHIFT) |
                                 (1u << r::STCE_KERNEL_PAD_SHIFT));
    set(cpu, r::STCE_A_ADDR, sram_address(SramBuffer::a, 0));
    set(cpu, r::STCE_B_ADDR, sram_address(SramBuffer::b, 0));
    set(cpu, r::STCE_C_ADDR, sram_address(SramBuffer::c, 0));
    EXPECT_EQ(run_stce(cpu).cause, 0u);
  });
  sc_core::sc_start();
  functional = b.sat.counters(Sat::Engine::stce);
  // GEMM view: rows 2 x 8 x 8 = 128, cols 24, K = 9 x 16 = 144. Folds 4 x 1 of 32 x 24:
  // compute 144 + 62 = 206; A 32 x 144 x 2 / 256 = 36; B 24 x 144 x 2 / 64 = 108;
  // C 32 x 24 x 4 / 64 = 48. 1 + 4 x 206 = 825.
  EXPECT_EQ(functional.cycles, 825u);
  EXPECT_EQ(functional.ops, 128u * 24u * 144u);
}
