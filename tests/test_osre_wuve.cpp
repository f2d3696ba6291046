// OSRE and WUVE compute and timing (models/sat/osre.cpp, wuve.cpp): the N:M spec's test vectors,
// randomized comparisons with the independent golden models in tests/golden/, NaN and FP16
// rounding rules, a hand-worked PyTorch SGD example and hand-computed costs.
// docs/engines.md is the contract.
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "golden/nm_golden.h"
#include "golden/wuve_golden.h"
#include "sat/osre.h"
#include "sat/wuve.h"
#include <cestvp/fp16.h>

using namespace cestvp;
using sat::JobCost;
using sat::OsreWork;
using sat::TimingParams;
using sat::WuveWork;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr std::uint16_t kGarbage16 = 0xbeef;
constexpr std::uint32_t kGarbage32 = 0xdeadbeef;

std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// Element-wise equality of bit patterns, reporting the first difference only.
template <class T>
::testing::AssertionResult same(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << ", expected " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure() << "first difference at " << i << ": 0x" << std::hex
                                           << +got[i] << ", expected 0x" << +want[i];
  return ::testing::AssertionSuccess();
}
::testing::AssertionResult same(const std::vector<float>& got, const std::vector<float>& want) {
  std::vector<std::uint32_t> g, w;
  for (float x : got) g.push_back(bits_of(x));
  for (float x : want) w.push_back(bits_of(x));
  return same(g, w);
}

// ---------------------------------------------------------------------------------------------
// OSRE

struct OsreShape {
  unsigned rows, cols;
  bool backward, src_fp32;
  unsigned n, m;
};

// A job without data pointers, operands in the given SRAM buffers.
OsreWork osre_job(const OsreShape& s, unsigned src_buffer = 0, unsigned val_buffer = 0,
                 unsigned idx_buffer = 0) {
  OsreWork job;
  job.backward = s.backward;
  job.src_fp32 = s.src_fp32;
  job.n = s.n;
  job.m = s.m;
  job.rows = s.rows;
  job.cols = s.cols;
  job.src_buffer = src_buffer;
  job.val_buffer = val_buffer;
  job.idx_buffer = idx_buffer;
  return job;
}

struct OsreRun {
  std::vector<std::uint16_t> values;
  std::vector<std::uint32_t> indices;
  bool ok;
};

// Runs osre_compute on host buffers holding `dense` in the source format. The outputs start as
// garbage with one guard element past their end: every output bit must be written, none beyond.
OsreRun run_osre(const std::vector<float>& dense, const OsreShape& s) {
  std::vector<std::uint8_t> src(dense.size() * (s.src_fp32 ? 4 : 2));
  for (std::size_t i = 0; i < dense.size(); ++i) {
    if (s.src_fp32)
      std::memcpy(&src[4 * i], &dense[i], 4);
    else
      fw::store_half(&src[2 * i], dense[i]);
  }
  OsreWork job = osre_job(s);
  const fw::NmLine line = job.line();
  std::vector<std::uint16_t> values(std::size_t{job.lines()} * line.entries() + 1, kGarbage16);
  std::vector<std::uint32_t> indices(std::size_t{job.lines()} * line.index_words() + 1, kGarbage32);
  job.src = src.data();
  job.values = reinterpret_cast<std::uint8_t*>(values.data());
  job.indices = indices.data();
  const bool ok = sat::osre_compute(job);
  EXPECT_EQ(values.back(), kGarbage16) << "values written past the end";
  EXPECT_EQ(indices.back(), kGarbage32) << "indices written past the end";
  values.pop_back();
  indices.pop_back();
  return {values, indices, ok};
}

// The in-group index of each stored entry of line l.
std::vector<std::uint32_t> entry_indices(const OsreRun& run, const OsreShape& s, unsigned l) {
  const fw::NmLine line = osre_job(s).line();
  std::vector<std::uint32_t> out;
  for (std::uint32_t e = 0; e < line.entries(); ++e)
    out.push_back(fw::nm_index(run.indices.data() + l * line.index_words(), e, line.index_bits()));
  return out;
}

std::vector<std::uint16_t> fp16s(const std::vector<float>& v) {
  std::vector<std::uint16_t> out;
  for (float x : v) out.push_back(fw::float_to_half(x));
  return out;
}

std::vector<bool> kept_at(std::size_t size, const std::vector<std::size_t>& positions) {
  std::vector<bool> mask(size, false);
  for (std::size_t p : positions) mask[p] = true;
  return mask;
}

// nm-training-spec.md section 6, first vector: the ties at 0.5 and at |1| go to the lowest index.
TEST(Nm, SpecVectorTiesKeepLowestIndex) {
  const std::vector<float> v{0.5f, -2, 0.5f, 0.5f, 1, -1, 0, 0};
  EXPECT_EQ(golden::nm_mask(v, 2, 8), kept_at(8, {1, 4}));
  for (bool fp32 : {true, false}) {
    const OsreRun run = run_osre(v, {1, 8, false, fp32, 2, 8});
    EXPECT_TRUE(run.ok);
    EXPECT_EQ(run.values, fp16s({-2, 1}));
    EXPECT_EQ(run.indices, std::vector<std::uint32_t>{1 | 4 << 3});  // 3-bit indices, LSB first
  }
}

// Second vector: 16 equal values, two groups of 8: each keeps its two lowest indices.
TEST(Nm, SpecVectorAllEqualKeepsFirstTwoOfEachGroup) {
  const std::vector<float> v(16, 0.75f);
  EXPECT_EQ(golden::nm_mask(v, 2, 8), kept_at(16, {0, 1, 8, 9}));
  for (bool backward : {false, true}) {
    const OsreShape s{backward ? 16u : 1u, backward ? 1u : 16u, backward, true, 2, 8};
    const OsreRun run = run_osre(v, s);
    EXPECT_EQ(run.values, fp16s({0.75f, 0.75f, 0.75f, 0.75f}));
    EXPECT_EQ(entry_indices(run, s, 0), (std::vector<std::uint32_t>{0, 1, 0, 1}));
    EXPECT_EQ(run.indices, std::vector<std::uint32_t>{0 | 1 << 3 | 0 << 6 | 1 << 9});
  }
}

// Third vector: L = 10, 2:8; the tail group {8, 9} is short and keeps both (min(2, 2) = 2).
TEST(Nm, SpecVectorShortTailKeepsBoth) {
  const std::vector<float> v{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 3, 0};
  EXPECT_EQ(golden::nm_mask(v, 2, 8), kept_at(10, {6, 7, 8, 9}));
  const OsreShape s{1, 10, false, true, 2, 8};
  const OsreRun run = run_osre(v, s);
  EXPECT_EQ(run.values, fp16s({0.7f, 0.8f, 3, 0}));
  EXPECT_EQ(entry_indices(run, s, 0), (std::vector<std::uint32_t>{6, 7, 0, 1}));
}

// A tail shorter than N keeps all of it, then pads to N entries with value 0, index 0.
TEST(Nm, ShortTailBelowNIsPadded) {
  const std::vector<float> v{8, 1, 7, 2, 6, 3, 5, 4, -9, 0.5f};
  EXPECT_EQ(golden::nm_mask(v, 4, 8), kept_at(10, {0, 2, 4, 6, 8, 9}));
  const OsreShape s{10, 1, true, true, 4, 8};
  const OsreRun run = run_osre(v, s);
  EXPECT_EQ(run.values, fp16s({8, 7, 6, 5, -9, 0.5f, 0, 0}));
  EXPECT_EQ(entry_indices(run, s, 0), (std::vector<std::uint32_t>{0, 2, 4, 6, 0, 1, 0, 0}));
}

// Random sources. FP16 sources come mostly from a small pool so that exact ties are common; FP32
// sources mix Gaussian values with the pool and with values outside the FP16 range.
std::vector<float> random_source(std::mt19937& rng, std::size_t size, bool fp32) {
  static const float pool[] = {0.f, -0.f, 0.5f, -0.5f, 1.f, -1.f, 2.f, 65504.f, kInf, -kInf};
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pool) - 1);
  std::uniform_real_distribution<float> coin(0.f, 1.f);
  std::vector<float> v(size);
  for (float& x : v) {
    const float c = coin(rng);
    if (c < (fp32 ? 0.2f : 0.7f))
      x = pool[pick(rng)];
    else if (fp32 && c < 0.25f)
      x = gauss(rng) * 1e5f;  // overflows FP16 when |x| >= 65520
    else
      x = fp32 ? gauss(rng) : fw::round_to_half(gauss(rng));
  }
  return v;
}

struct Ratio {
  unsigned n, m;
};
void PrintTo(const Ratio& r, std::ostream* os) { *os << r.n << ":" << r.m; }

class OsreVsGolden : public ::testing::TestWithParam<Ratio> {};

// Line lengths not multiples of M or of 32, one element, single rows and columns, both
// directions and both source precisions: values and index words bit-identical to the golden.
TEST_P(OsreVsGolden, BitIdentical) {
  const Ratio r = GetParam();
  const unsigned shapes[][2] = {{1, 1}, {1, 7}, {7, 1}, {3, 37}, {37, 3}, {17, 64},
                                {64, 17}, {33, 100}, {100, 33}, {129, 257}};
  std::mt19937 rng(r.n * 100 + r.m);
  for (const auto& shape : shapes)
    for (bool backward : {false, true})
      for (bool fp32 : {true, false}) {
        const OsreShape s{shape[0], shape[1], backward, fp32, r.n, r.m};
        SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                     (backward ? " backward " : " forward ") + (fp32 ? "FP32" : "FP16"));
        const std::vector<float> dense = random_source(rng, std::size_t{s.rows} * s.cols, fp32);
        const golden::NmCompressed want = golden::nm_compress(dense, s.rows, s.cols, backward, r.n, r.m);
        const OsreRun run = run_osre(dense, s);
        EXPECT_TRUE(run.ok);
        EXPECT_TRUE(same(run.values, want.values));
        EXPECT_TRUE(same(run.indices, want.indices));
      }
}

INSTANTIATE_TEST_SUITE_P(Ratios, OsreVsGolden,
                         ::testing::Values(Ratio{1, 2}, Ratio{2, 4}, Ratio{1, 4}, Ratio{2, 8},
                                           Ratio{1, 8}, Ratio{4, 8}, Ratio{1, 16}, Ratio{2, 16},
                                           Ratio{2, 2}, Ratio{3, 32}),
                         [](const ::testing::TestParamInfo<Ratio>& ratio) {
                           return std::to_string(ratio.param.n) + "_" + std::to_string(ratio.param.m);
                         });

// |NaN| ranks as +inf, ties to the lowest index as any value: each row below is a 1:4 group.
// The job fails even where the NaN is dropped (rows 1 and 2), and writes its output all the same.
TEST(Osre, NanRanksAsInfinityAndFailsTheJob) {
  const std::vector<float> dense{kNan, kInf, 1, 2,     //   NaN first: kept
                                 kInf, kNan, 1, 2,     //   +inf first: kept, NaN dropped
                                 1, -kInf, kNan, 2,    //   -inf before NaN: kept
                                 1, 2, 3, -kNan};      //   the only "infinite" one: kept
  for (bool fp32 : {true, false}) {
    const OsreShape s{4, 4, false, fp32, 1, 4};
    const OsreRun run = run_osre(dense, s);
    EXPECT_FALSE(run.ok);
    const std::vector<std::uint32_t> want_index{0, 0, 1, 3};
    for (unsigned l = 0; l < 4; ++l) EXPECT_EQ(entry_indices(run, s, l), std::vector<std::uint32_t>{want_index[l]});
    EXPECT_TRUE(std::isnan(fw::half_to_float(run.values[0])));
    EXPECT_EQ(run.values[1], 0x7c00);
    EXPECT_EQ(run.values[2], 0xfc00);
    EXPECT_TRUE(std::isnan(fw::half_to_float(run.values[3])));
    EXPECT_TRUE(same(run.indices, golden::nm_compress(dense, 4, 4, false, 1, 4).indices));
  }
  // One NaN among thousands still fails the job.
  std::vector<float> many(64 * 65, 1.f);
  many[64 * 65 - 3] = kNan;
  EXPECT_FALSE(run_osre(many, {64, 65, true, true, 2, 8}).ok);
}

// FP32 to FP16: round to nearest even, overflow to infinity. 4:4 keeps every element, in order.
TEST(Osre, Fp32SourceRoundsToNearestEvenAndOverflows) {
  const std::vector<float> dense{
      1e6f, -1e6f,             // far beyond 65504: +-inf
      65520.f, 65519.f,        // 65520: halfway 65504 (odd) and 2^16 (even, = inf); 65504
      1.f / 3, 0x1p-25f,       // 0x3555 (0.33325); 2^-25: halfway 0 (even) and 2^-24: 0
      0x1.8p-25f, 0x1.002p0f,  // 0.75 x 2^-24 -> 2^-24; 1 + 2^-11: halfway 1 (even) and next: 1
      0x1.006p0f, -0.f,        // 1 + 3 x 2^-11: halfway 1 + 2^-10 (odd) and 1 + 2^-9 (even)
      -65504.f, 2.5f};
  const OsreRun run = run_osre(dense, {1, 12, false, true, 4, 4});
  EXPECT_TRUE(run.ok);
  EXPECT_EQ(run.values, (std::vector<std::uint16_t>{0x7c00, 0xfc00, 0x7c00, 0x7bff, 0x3555, 0x0000,
                                                    0x0001, 0x3c00, 0x3c02, 0x8000, 0xfbff, 0x4100}));
  EXPECT_EQ(run.indices, std::vector<std::uint32_t>{0xe4e4e4});  // 0, 1, 2, 3 in 2 bits, x3
}

// Magnitudes compare in the source precision: values that FP16 cannot tell apart still rank
// in an FP32 source, and tie (lowest index wins) in an FP16 source.
TEST(Osre, MagnitudesCompareInTheSourcePrecision) {
  const std::vector<float> dense{65520.f, -1e6f, 0x1.001p0f, -1.f};  // 1:2 groups
  EXPECT_EQ(entry_indices(run_osre(dense, {1, 4, false, true, 1, 2}), {1, 4, false, true, 1, 2}, 0),
            (std::vector<std::uint32_t>{1, 0}));
  EXPECT_EQ(entry_indices(run_osre(dense, {1, 4, false, false, 1, 2}), {1, 4, false, false, 1, 2}, 0),
            (std::vector<std::uint32_t>{0, 0}));
}

// Costs (docs/engines.md, OSRE timing): TimingParams' default ports, A 256, B 64, C 64 B per
// cycle; lanes and pipeline per test.
TimingParams timing(unsigned lanes, unsigned pipeline) {
  TimingParams t;
  t.osre_lanes = t.wuve_lanes = lanes;
  t.osre_pipeline = t.wuve_pipeline = pipeline;
  return t;
}

void expect_cost(const JobCost& got, const JobCost& want) {
  EXPECT_EQ(got.cycles, want.cycles);
  EXPECT_EQ(got.stall_cycles, want.stall_cycles);
  EXPECT_EQ(got.ops, want.ops);
  EXPECT_EQ(got.ops_skipped, want.ops_skipped);
  EXPECT_EQ(got.sram_read, want.sram_read);
  EXPECT_EQ(got.sram_write, want.sram_write);
}

// 2:8 forward of a 64 x 64 FP32 W, everything in buffer B.
// lines 64, L 64: 8 groups a line, 512 in all; compute = ceil(512 / 32) x 8 + 4 = 132.
// Source 64 x 64 x 4 = 16384 B; values 64 lines x 16 entries x 2 = 2048 B; indices: 16 x 3 =
// 48 bits = 2 words a line, 64 x 2 x 4 = 512 B. Port B: 18944 / 64 = 296 cycles > 132.
// Cycles 1 + 296 = 297, stall 297 - 1 - 132 = 164. OPS 4096, dropped 4096 - 64 x 16 = 3072.
TEST(OsreCost, SramBoundWithAllOperandsInOneBuffer) {
  const JobCost cost = sat::osre_cost(osre_job({64, 64, false, true, 2, 8}, 1, 1, 1), timing(32, 4));
  expect_cost(cost, {297, 164, 4096, 3072, 16384, 2560});
}

// The same job with the source in A, values in B, indices in C: A 16384 / 256 = 64,
// B 2048 / 64 = 32, C 512 / 64 = 8 cycles, all below compute 132: 133 cycles, no stall.
TEST(OsreCost, ComputeBoundWithOperandsSpread) {
  const JobCost cost = sat::osre_cost(osre_job({64, 64, false, true, 2, 8}, 0, 1, 2), timing(32, 4));
  expect_cost(cost, {133, 0, 4096, 3072, 16384, 2560});
}

// 4:8 backward of a 10 x 3 FP16 source (short tail groups of 2, padded): lines 3, L 10,
// 2 groups a line, 6 in all; compute = ceil(6 / 32) x 8 + 4 = 12 (the tail costs M cycles).
// Source 30 x 2 = 60 B (A: 1 cycle); values 3 lines x 8 entries x 2 = 48 B (B: 1); indices
// 8 x 3 = 24 bits = 1 word a line, 12 B (C: 1). Cycles 13. Kept a line 4 + min(4, 2) = 6:
// dropped 3 x (10 - 6) = 12.
TEST(OsreCost, BackwardShortTailFp16) {
  const JobCost cost = sat::osre_cost(osre_job({10, 3, true, false, 4, 8}, 0, 1, 2), timing(32, 4));
  expect_cost(cost, {13, 0, 30, 12, 60, 60});
}

// More groups than lanes, not a multiple: 1:4 forward of 100 x 36 FP16 with 8 lanes, no pipeline.
// 9 groups a line, 900 in all; compute = ceil(900 / 8) x 4 = 113 x 4 = 452. Source 7200 B in C:
// 7200 / 64 = 112.5 -> 113; values 100 x 9 x 2 = 1800 B and indices 9 x 2 = 18 bits = 1 word a
// line, 400 B, both in A: 2200 / 256 = 8.6 -> 9. Cycles 453. Dropped 100 x (36 - 9) = 2700.
TEST(OsreCost, ComputeBoundWithFewLanes) {
  const JobCost cost = sat::osre_cost(osre_job({100, 36, false, false, 1, 4}, 2, 0, 0), timing(8, 0));
  expect_cost(cost, {453, 0, 3600, 2700, 7200, 2200});
}

// ---------------------------------------------------------------------------------------------
// WUVE

struct WuveData {
  std::vector<std::uint16_t> grad;
  std::vector<float> weight, velocity;
  std::vector<std::uint16_t> out;
};

void run_wuve(WuveData& d, const golden::SgdParams& p, bool write_fp16) {
  WuveWork job;
  job.write_fp16 = write_fp16;
  job.count = static_cast<std::uint32_t>(d.weight.size());
  job.lr = p.lr;
  job.momentum = p.momentum;
  job.weight_decay = p.weight_decay;
  job.grad_scale = p.grad_scale;
  job.grad = reinterpret_cast<const std::uint8_t*>(d.grad.data());
  job.weight = d.weight.data();
  job.velocity = d.velocity.data();
  job.out = reinterpret_cast<std::uint8_t*>(d.out.data());
  sat::wuve_compute(job);
}

// FP16 gradients: Gaussian, with a sprinkle of zeros and of subnormals.
std::vector<std::uint16_t> random_grad(std::mt19937& rng, std::size_t count) {
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<std::uint16_t> g(count);
  for (std::uint16_t& x : g) {
    const int k = kind(rng);
    x = fw::float_to_half(k == 0 ? 0.f : k == 1 ? gauss(rng) * 0x1p-20f : gauss(rng));
  }
  return g;
}
std::vector<float> random_floats(std::mt19937& rng, std::size_t count, float sigma) {
  std::normal_distribution<float> gauss(0.f, sigma);
  std::vector<float> v(count);
  for (float& x : v) x = gauss(rng);
  return v;
}

// Three steps with random gradients, several hyper-parameters and sizes, from a random velocity:
// weights, velocities and the FP16 copy bit-identical to the golden SGD.
TEST(Wuve, MatchesGoldenSgd) {
  const golden::SgdParams params[] = {{0.1f, 0.9f, 1e-4f, 1.f},
                                      {0.01f, 0.99f, 5e-4f, 1.f / 1024},
                                      {1.f, 0.5f, 0.f, 8.f},
                                      {3e-3f, 0.9f, 1e-2f, 0x1p-16f}};
  std::mt19937 rng(7);
  for (const golden::SgdParams& p : params)
    for (std::size_t count : {1, 31, 1000, 4097})
      for (bool write_fp16 : {true, false}) {
        SCOPED_TRACE("lr " + std::to_string(p.lr) + " count " + std::to_string(count));
        WuveData d{{}, random_floats(rng, count, 1.f), random_floats(rng, count, 0.1f),
                   std::vector<std::uint16_t>(count, kGarbage16)};
        golden::SgdState want{d.weight, d.velocity, true};
        for (int step = 0; step < 3; ++step) {
          d.grad = random_grad(rng, count);
          run_wuve(d, p, write_fp16);
          golden::sgd_step(want, d.grad, p);
          ASSERT_TRUE(same(d.weight, want.weight));
          ASSERT_TRUE(same(d.velocity, want.buffer));
          EXPECT_TRUE(same(d.out, write_fp16 ? fp16s(want.weight) : std::vector<std::uint16_t>(count, kGarbage16)));
        }
      }
}

// With the velocity at 0, the first step is PyTorch's first step (buffer = d_p).
TEST(Wuve, FirstStepFromZeroVelocityMatchesPyTorchsFirst) {
  std::mt19937 rng(11);
  const golden::SgdParams p{0.1f, 0.9f, 1e-4f, 1.f};
  WuveData d{random_grad(rng, 1000), random_floats(rng, 1000, 1.f), std::vector<float>(1000, 0.f),
             std::vector<std::uint16_t>(1000)};
  golden::SgdState want{d.weight, {}, false};
  run_wuve(d, p, true);
  golden::sgd_step(want, d.grad, p);
  EXPECT_TRUE(same(d.weight, want.weight));
  EXPECT_TRUE(same(d.velocity, want.buffer));
}

// torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=1e-4), w0 = 1, gradients 0.5, 0.25,
// -1 (exact in FP16), grad_scale 1, worked by hand. FP32 constants: lr = 0x1.99999ap-4
// (0.100000001), mu = 0x1.ccccccp-1 (0.899999976), wd = 0x1.a36e2ep-14 (9.99999975e-5).
// Each line: the exact result of one operation on FP32 operands -> its FP32 rounding.
// step 1  wd*w  9.99999975e-5 (w = 1: exact)    -> 0x1.a36e2ep-14
//         g     0.5 + 9.99999975e-5 = 0.500099999997   -> 0x1.000d1cp-1  (0.500100017)
//         v     0.9 x 0 + g                      -> 0x1.000d1cp-1  (PyTorch: buf = clone(d_p))
//         lr*v  0.100000001 x 0.500100017 = 0.0500100024 -> 0x1.99ae94p-5 (0.0500100031)
//         w     1 - 0.0500100031 = 0.949989997    -> 0x1.e66516p-1  (0.949989974)
// step 2  wd*w  9.499899505e-5                   -> 0x1.8e7464p-14 (9.4998992e-5)
//         g     0.25 + 9.4998992e-5 = 0.250094999 -> 0x1.0018e8p-2  (0.25009501)
//         mu*v  0.899999976 x 0.500100017 = 0.450090003 -> 0x1.cce464p-2 (0.450089991)
//         v     0.450089991 + 0.25009501 = 0.700185001  -> 0x1.667ea6p-1 (exact)
//         lr*v  0.100000001 x 0.700185001 = 0.0700185011 -> 0x1.1ecbb8p-4 (0.0700185001)
//         w     0.949989974 - 0.0700185001 = 0.879971474 -> 0x1.c28ba0p-1 (0.879971504)
// step 3  wd*w  8.79971482e-5                    -> 0x1.711638p-14 (8.79971485e-5)
//         g     -1 + 8.79971485e-5 = -0.999912003 -> -0x1.fff478p-1 (-0.999912024)
//         mu*v  0.899999976 x 0.700185001 = 0.630166484 -> 0x1.42a52ep-1 (0.630166471)
//         v     0.630166471 - 0.999912024 = -0.369745553 -> -0x1.7a9e94p-2 (exact)
//         lr*v  0.100000001 x -0.369745553 = -0.0369745558 -> -0x1.2ee544p-5 (-0.0369745567)
//         w     0.879971504 + 0.0369745567 = 0.916946061 -> 0x1.d579f4p-1 (0.916946054)
// In real arithmetic (the same FP32 constants, no rounding) w3 = 0.916946053174, nearest FP32
// 0x1.d579f4p-1, and v3 = -0.369745531181, within 1 ulp (2^-25) of -0x1.7a9e94p-2.
// PyTorch on CPU: the vectorized add_(x, alpha) is one fused multiply-add (ATen ufunc/add.h,
// vec::fmadd), which rounds wd*w + g and w - lr*v once each: g and v come out the same, w2 =
// 0x1.c28b9ep-1 and w3 = 0x1.d579f2p-1, 1 ulp (2^-24) below the contract's unfused values.
TEST(Wuve, ThreeStepsOfPyTorchSgdByHand) {
  const golden::SgdParams p{0.1f, 0.9f, 1e-4f, 1.f};
  WuveData d{{}, {1.f}, {0.f}, {0}};
  const float grads[] = {0.5f, 0.25f, -1.f};
  const float want_w[] = {0x1.e66516p-1f, 0x1.c28ba0p-1f, 0x1.d579f4p-1f};
  const float want_v[] = {0x1.000d1cp-1f, 0x1.667ea6p-1f, -0x1.7a9e94p-2f};
  const float torch_w[] = {0x1.e66516p-1f, 0x1.c28b9ep-1f, 0x1.d579f2p-1f};
  for (int step = 0; step < 3; ++step) {
    d.grad = {fw::float_to_half(grads[step])};
    run_wuve(d, p, true);
    EXPECT_EQ(d.weight[0], want_w[step]) << "step " << step + 1;
    EXPECT_EQ(d.velocity[0], want_v[step]) << "step " << step + 1;
    EXPECT_EQ(d.out[0], fw::float_to_half(want_w[step]));
    EXPECT_NEAR(d.weight[0], torch_w[step], 0x1p-24) << "step " << step + 1;  // 1 ulp in [0.5, 1)
  }
  EXPECT_NEAR(d.weight[0], 0.916946053174, 0x1p-24);    // 1 ulp in [0.5, 1)
  EXPECT_NEAR(d.velocity[0], -0.369745531181, 0x1p-25);  // 1 ulp in [0.25, 0.5)
}

// Costs (docs/engines.md, WUVE timing), 1000 elements, 32 lanes, pipeline 4:
// compute = ceil(1000 / 32) + 4 = 32 + 4 = 36. Bytes: grad 2000 and FP16 copy 2000 in A,
// w 8000 (read + write) in B, v 8000 in C. A: 4000 / 256 = 15.6 -> 16; B, C: 8000 / 64 = 125.
// Cycles 1 + 125 = 126, stall 126 - 1 - 36 = 89. Read 10000 B, written 8000 + 2000 = 10000 B.
TEST(WuveCost, SramBoundAcrossBuffers) {
  WuveWork job;
  job.write_fp16 = true;
  job.count = 1000;
  job.grad_buffer = 0, job.weight_buffer = 1, job.momentum_buffer = 2, job.out_buffer = 0;
  expect_cost(sat::wuve_cost(job, timing(32, 4)), {126, 89, 1000, 0, 10000, 10000});
}

// w and v share buffer B: 16000 / 64 = 250 cycles; grad in C 2000 / 64 = 31.25 -> 32.
// Cycles 251, stall 251 - 1 - 36 = 214; no FP16 copy: written 8000.
TEST(WuveCost, WeightsAndVelocitiesShareAPort) {
  WuveWork job;
  job.count = 1000;
  job.grad_buffer = 2, job.weight_buffer = 1, job.momentum_buffer = 1;
  expect_cost(sat::wuve_cost(job, timing(32, 4)), {251, 214, 1000, 0, 10000, 8000});
}

// Everything in A with 8 lanes: compute = ceil(1000 / 8) + 4 = 129; A: 2000 + 8000 + 8000 =
// 18000 / 256 = 70.3 -> 71 < 129. Cycles 130, no stall.
TEST(WuveCost, ComputeBound) {
  WuveWork job;
  job.count = 1000;
  expect_cost(sat::wuve_cost(job, timing(8, 4)), {130, 0, 1000, 0, 10000, 8000});
}

}  // namespace
