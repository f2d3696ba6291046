// STCE numerics (models/sat/stce_compute.cpp) against the golden model (tests/golden/
// stce_golden.h): bit-accurate equals it bit for bit, functional is within the tolerance of
// docs/engines.md. Hand-computed cases first, then randomized shapes (fixed seed) of every
// operation, N:M pattern, stride, padding, kernel and flag. Each case also runs in tiles of a
// few lines to exercise the tiling.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "golden/stce_golden.h"
#include "sat/stce_compute.h"
#include <cestvp/fp16.h>

using namespace cestvp;
using sat::StceOp;

namespace {

using Bits = std::vector<std::uint16_t>;

// A job as the firmware states it; the engine's view (rows, cols, depth, segment) is derived.
struct Case {
  StceOp op = StceOp::gemm;
  std::uint32_t rows = 0, cols = 0, depth = 0, segment = 0;  // GEMM (segment 0 means K)
  bool a_trans = false, b_trans = false;
  golden::Conv conv{};
  bool accumulate = false, out_fp16 = false, a_sparse = false, b_sparse = false;
  std::uint32_t n = 1, m = 2;
  float scale = 1.0f;  // of the random operands: large values overflow an FP16 C

  std::string describe() const {
    const auto u = [](std::size_t v) { return std::to_string(v); };
    std::string s = "op " + u(static_cast<unsigned>(op)) + (a_sparse ? " A_SPARSE" : "") +
                    (b_sparse ? " B_SPARSE" : "") + " " + u(n) + ":" + u(m) + (a_trans ? " A_TRANS" : "") +
                    (b_trans ? " B_TRANS" : "") + (accumulate ? " ACCUMULATE" : "") + (out_fp16 ? " OUT_FP16" : "") +
                    " scale " + std::to_string(scale);
    if (op == StceOp::gemm) return s + " gemm " + u(rows) + "x" + u(cols) + "x" + u(depth) + " seg " + u(segment);
    const golden::Conv& c = conv;
    return s + " conv N" + u(c.batch) + " H" + u(c.h) + " W" + u(c.w) + " Cin" + u(c.cin) + " Cout" + u(c.cout) + " K" +
           u(c.kh) + "x" + u(c.kw) + " S" + u(c.stride) + " P" + u(c.pad);
  }
};

// The engine's GEMM view, as the SAT block derives it from the job registers (docs/engines.md).
sat::StceWork make_job(const Case& k) {
  sat::StceWork job;
  job.op = k.op;
  job.accumulate = k.accumulate, job.out_fp16 = k.out_fp16;
  job.a_trans = k.a_trans, job.b_trans = k.b_trans;
  job.a_sparse = k.a_sparse, job.b_sparse = k.b_sparse;
  job.n = k.n, job.m = k.m;
  const golden::Conv& c = k.conv;
  const auto u = [](std::size_t v) { return static_cast<std::uint32_t>(v); };
  job.conv = {u(c.batch), u(c.h), u(c.w), u(c.cin), u(c.cout), u(c.kh), u(c.kw), u(c.stride), u(c.pad)};
  const std::uint32_t pixels = u(c.batch * c.h * c.w), out_pixels = job.conv.batch * job.conv.oh() * job.conv.ow();
  const std::uint32_t taps = u(c.kh * c.kw);
  switch (k.op) {
    case StceOp::gemm:
      job.rows = k.rows, job.cols = k.cols, job.depth = k.depth, job.segment = k.segment ? k.segment : k.depth;
      break;
    case StceOp::conv_fwd:
      job.rows = out_pixels, job.cols = u(c.cout), job.depth = taps * u(c.cin), job.segment = u(c.cin);
      break;
    case StceOp::conv_bwd_data:
      job.rows = pixels, job.cols = u(c.cin), job.depth = taps * u(c.cout), job.segment = u(c.cout);
      break;
    case StceOp::conv_bwd_weight:
      job.rows = u(c.cout), job.cols = taps * u(c.cin), job.depth = out_pixels, job.segment = out_pixels;
      break;
  }
  return job;
}

// Element counts of the dense A and B tensors.
std::size_t a_size(const sat::StceWork& j) {
  return j.op == StceOp::gemm       ? std::size_t{j.rows} * j.depth
         : j.op == StceOp::conv_fwd ? std::size_t{j.conv.batch} * j.conv.h * j.conv.w * j.conv.cin
                                    : std::size_t{j.conv.batch} * j.conv.oh() * j.conv.ow() * j.conv.cout;
}
std::size_t b_size(const sat::StceWork& j) {
  return j.op == StceOp::gemm              ? std::size_t{j.depth} * j.cols
         : j.op == StceOp::conv_bwd_weight ? std::size_t{j.conv.batch} * j.conv.h * j.conv.w * j.conv.cin
                                           : std::size_t{j.conv.cout} * j.conv.kh * j.conv.kw * j.conv.cin;
}

// The lines of a compressed operand (one segment each) in the orders of docs/engines.md
// "Compressed operands".
golden::LineView a_lines(const sat::StceWork& j) {
  const std::size_t s = j.segment;
  if (j.op == StceOp::gemm)  // row r, segment g: line r·(K/S) + g of A [ROWS][K]
    return {std::size_t{j.rows} * (j.depth / s), s, [s](std::size_t l, std::size_t e) { return l * s + e; }};
  return {std::size_t{j.conv.batch} * j.conv.oh() * j.conv.ow(), s,
          [s](std::size_t l, std::size_t e) { return l * s + e; }};  // dY~
}
golden::LineView b_lines(const sat::StceWork& j) {
  const std::size_t s = j.segment, segments = j.depth / s, cols = j.cols, taps = std::size_t{j.conv.kh} * j.conv.kw;
  switch (j.op) {
    case StceOp::gemm:  // column c, segment g: line c·(K/S) + g of B [K][COLS]
      return {cols * segments, s,
              [=](std::size_t l, std::size_t e) { return (l % segments * s + e) * cols + l / segments; }};
    case StceOp::conv_fwd:  // W~: lines [Cout][KH][KW] of Cin
      return {cols * segments, s, [s](std::size_t l, std::size_t e) { return l * s + e; }};
    default:  // W~^T: lines [KH][KW][Cin] of Cout
      return {taps * cols, s, [n = taps * cols](std::size_t l, std::size_t e) { return e * n + l; }};
  }
}

// One operand: what SRAM holds and the dense tensor the golden model multiplies.
struct Operand {
  Bits stored;
  std::vector<std::uint32_t> indices;
  std::vector<float> dense;
};

std::vector<float> widen(const Bits& bits) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = fw::half_to_float(bits[i]);
  return out;
}

Operand make_operand(const Bits& data, bool sparse, const golden::LineView& view, const sat::StceWork& job) {
  if (!sparse) return {data, {}, widen(data)};
  const golden::Compressed c = golden::nm_compress(data, view, job.n, job.m);
  return {c.values, c.indices, widen(golden::nm_expand(c, view, job.n, job.m, data.size()))};
}

class Rng {
 public:
  // FP16 values in [-scale, scale]; one in four from a few levels, so that N:M selection meets
  // ties and zeros.
  Bits fp16(std::size_t count, float scale) {
    Bits out(count);
    for (auto& v : out) {
      const float x =
          coin(4) ? static_cast<float>(below(5)) * 0.5f - 1.0f : std::uniform_real_distribution<float>(-1, 1)(gen_);
      v = fw::float_to_half(x * scale);
    }
    return out;
  }
  std::uint32_t below(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(gen_); }
  std::uint32_t in(std::uint32_t lo, std::uint32_t hi) { return lo + below(hi - lo + 1); }
  bool coin(std::uint32_t one_in = 2) { return below(one_in) == 0; }

 private:
  std::mt19937 gen_{20240611};
};

golden::Result run_golden(const sat::StceWork& job, const Case& k, const std::vector<float>& a,
                          const std::vector<float>& b, const std::vector<float>& c0) {
  switch (k.op) {
    case StceOp::gemm: return golden::gemm(a, b, job.rows, job.cols, job.depth, k.a_trans, k.b_trans, c0);
    case StceOp::conv_fwd: return golden::conv_fwd(a, b, k.conv, c0);
    case StceOp::conv_bwd_data: return golden::conv_bwd_data(a, b, k.conv, c0);
    case StceOp::conv_bwd_weight: return golden::conv_bwd_weight(a, b, k.conv, c0);
  }
  return {};
}

float read_c(const std::vector<std::uint8_t>& c, std::size_t i, bool fp16) {
  if (fp16) return fw::load_half(c.data() + 2 * i);
  float v;
  std::memcpy(&v, c.data() + 4 * i, 4);
  return v;
}

// The tolerance of docs/engines.md, |functional − bit-accurate| <= K · 2^-23 · sum |a·b|, with |C|
// added to the sum (with ACCUMULATE, OpenBLAS adds C after the products, so C takes part in the
// reordering) and, when C is FP16, one FP16 spacing (the sums may round to neighbouring values).
bool within_tolerance(float f, float exact, double magnitude, std::uint32_t depth, bool fp16) {
  const float g = fp16 ? fw::round_to_half(exact) : exact;
  if (f == g || std::isinf(g) || std::isinf(f)) return f == g;
  double bound = depth * std::ldexp(1.0, -23) * magnitude;
  if (fp16) bound += std::ldexp(1.0, std::max(std::ilogb(std::fabs(exact)), -14) - 10);
  return std::fabs(double{f} - exact) <= bound;
}

// Runs a case in both modes, in one tile and in tiles of two lines, against the golden model.
void check(const Case& k, Rng& rng) {
  SCOPED_TRACE(k.describe());
  sat::StceWork job = make_job(k);
  const Operand a = make_operand(rng.fp16(a_size(job), k.scale), k.a_sparse, a_lines(job), job);
  const Operand b = make_operand(rng.fp16(b_size(job), k.scale), k.b_sparse, b_lines(job), job);
  const std::size_t outputs = std::size_t{job.rows} * job.cols;
  std::vector<float> c0;
  if (k.accumulate) {
    const Bits c = rng.fp16(outputs, k.scale * 100);
    c0 = widen(c);
    if (!k.out_fp16)  // an FP32 C with bits below FP16 precision
      for (float& v : c0) v *= 1.0f + std::ldexp(static_cast<float>(rng.below(1024)), -20);
  }
  const std::vector<std::uint8_t> initial =
      k.accumulate ? golden::to_bytes(c0, k.out_fp16) : std::vector<std::uint8_t>(outputs * (k.out_fp16 ? 2 : 4), 0xEE);
  job.a = reinterpret_cast<const std::uint8_t*>(a.stored.data());
  job.b = reinterpret_cast<const std::uint8_t*>(b.stored.data());
  job.a_idx = k.a_sparse ? a.indices.data() : nullptr;
  job.b_idx = k.b_sparse ? b.indices.data() : nullptr;

  const golden::Result g = run_golden(job, k, a.dense, b.dense, c0);
  const std::vector<std::uint8_t> expected = golden::to_bytes(g.c, k.out_fp16);
  for (const std::size_t tile : {sat::kStceTileFloats, std::size_t{2} * job.depth}) {
    std::vector<std::uint8_t> c = initial;
    job.c = c.data();
    sat::stce_compute(job, SatMode::bit_accurate, tile);
    EXPECT_EQ(c, expected) << "bit-accurate, tile " << tile;

    c = initial;
    sat::stce_compute(job, SatMode::functional, tile);
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < outputs; ++i) {
      if (within_tolerance(read_c(c, i, k.out_fp16), g.c[i], g.magnitude[i], job.depth, k.out_fp16)) continue;
      if (bad++ == 0) first = i;
    }
    EXPECT_EQ(bad, 0u) << "functional, tile " << tile << ": first at " << first << ": " << read_c(c, first, k.out_fp16)
                       << " vs " << g.c[first];
  }
}

struct NmPair {
  std::uint32_t n, m;
};
constexpr NmPair kNm[] = {{1, 2}, {2, 4}, {1, 4}, {2, 8}, {1, 8}, {4, 8}, {1, 16}, {2, 16}};

// The flags every randomized case draws: ACCUMULATE, OUT_FP16, and now and then operands large
// enough to overflow an FP16 C.
void random_flags(Case& k, Rng& rng) {
  k.accumulate = rng.coin();
  k.out_fp16 = rng.coin();
  k.scale = k.out_fp16 && rng.coin(4) ? 300.0f : 1.0f;
}

golden::Conv random_conv(Rng& rng, std::size_t kernel, std::size_t stride, std::size_t pad) {
  golden::Conv c{rng.in(1, 2), rng.in(1, 9), rng.in(1, 9), rng.in(1, 19), rng.in(1, 13), kernel, kernel, stride, pad};
  if (c.h + 2 * pad < kernel) c.h = kernel - 2 * pad;  // at least one output row and column
  if (c.w + 2 * pad < kernel) c.w = kernel - 2 * pad;
  return c;
}

// Randomized cases per combination of the enumerated parameters.
constexpr int kRepeats = 6;

// Every kernel / stride / padding combination for each N:M pattern.
template <class Each>
void for_each_conv(Rng& rng, StceOp op, Each&& each) {
  for (const NmPair nm : kNm)
    for (std::size_t kernel : {1, 3})
      for (std::size_t stride : {1, 2})
        for (std::size_t pad : {0, 1})
          for (int repeat = 0; repeat < kRepeats; ++repeat) {
            Case k;
            k.op = op;
            k.n = nm.n, k.m = nm.m;
            k.conv = random_conv(rng, kernel, stride, pad);
            random_flags(k, rng);
            each(k);
          }
}

golden::LineView one_line(std::size_t length) {
  return {1, length, [](std::size_t, std::size_t e) { return e; }};
}

// Hand-packed B operand of a GEMM with one column.
struct HandSparse {
  std::vector<std::uint16_t> values;
  std::vector<std::uint32_t> indices;
};

float gemm_1x1(const std::vector<float>& a, const HandSparse& b, std::uint32_t n, std::uint32_t m, SatMode mode) {
  Bits a16;
  for (float v : a) a16.push_back(fw::float_to_half(v));
  Case k;
  k.rows = 1, k.cols = 1, k.depth = static_cast<std::uint32_t>(a.size()), k.b_sparse = true, k.n = n, k.m = m;
  sat::StceWork job = make_job(k);
  float c = -1.0f;
  job.a = reinterpret_cast<const std::uint8_t*>(a16.data());
  job.b = reinterpret_cast<const std::uint8_t*>(b.values.data());
  job.b_idx = b.indices.data();
  job.c = reinterpret_cast<std::uint8_t*>(&c);
  sat::stce_compute(job, mode);
  return c;
}

Bits to_fp16(const std::vector<float>& v) {
  Bits out;
  for (float x : v) out.push_back(fw::float_to_half(x));
  return out;
}

// A job on given values (a compressed operand compressed by the golden model); C is FP32 unless
// out_fp16, starting from `c` with ACCUMULATE.
std::vector<float> small_job(const Case& k, const std::vector<float>& a, const std::vector<float>& b,
                             std::vector<float> c, SatMode mode) {
  sat::StceWork job = make_job(k);
  const Operand ao = make_operand(to_fp16(a), k.a_sparse, a_lines(job), job);
  const Operand bo = make_operand(to_fp16(b), k.b_sparse, b_lines(job), job);
  std::vector<std::uint8_t> bytes = golden::to_bytes(c, k.out_fp16);
  job.a = reinterpret_cast<const std::uint8_t*>(ao.stored.data());
  job.b = reinterpret_cast<const std::uint8_t*>(bo.stored.data());
  job.a_idx = ao.indices.data();
  job.b_idx = bo.indices.data();
  job.c = bytes.data();
  sat::stce_compute(job, mode);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = read_c(bytes, i, k.out_fp16);
  return c;
}

}  // namespace

// ---- Hand-computed ----

TEST(StceCompute, Gemm2x2x2ByHandWithTransposes) {
  // A = [1 2; 3 4], B = [5 6; 7 8]: C = [19 22; 43 50].
  const std::vector<float> want{19, 22, 43, 50};
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional}) {
    Case k;
    k.rows = k.cols = k.depth = 2;
    EXPECT_EQ(small_job(k, {1, 2, 3, 4}, {5, 6, 7, 8}, {0, 0, 0, 0}, mode), want);
    k.a_trans = k.b_trans = true;  // A stored [K][ROWS], B [COLS][K]
    EXPECT_EQ(small_job(k, {1, 3, 2, 4}, {5, 7, 6, 8}, {0, 0, 0, 0}, mode), want);
  }
}

TEST(StceCompute, AccumulateReadsCInItsPrecision) {
  Case k;
  k.rows = k.cols = k.depth = 1;
  k.accumulate = true;
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional}) {
    // FP32 C: 1 + 2^-20 + 2·3 keeps the 2^-20 an FP16 C could not hold.
    EXPECT_EQ(small_job(k, {2}, {3}, {1.0f + std::ldexp(1.0f, -20)}, mode)[0], 7.0f + std::ldexp(1.0f, -20));
    k.out_fp16 = true;
    EXPECT_EQ(small_job(k, {2}, {3}, {1.5f}, mode)[0], 7.5f);
    k.out_fp16 = false;
  }
}

TEST(StceCompute, Fp16OutputOverflowsToInfinity) {
  // 256·256 + 256·256 = 131072 > 65504: ±inf in FP16, finite in FP32.
  Case k;
  k.rows = 1, k.cols = 2, k.depth = 2;
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional}) {
    k.out_fp16 = true;
    EXPECT_EQ(small_job(k, {256, 256}, {256, -256, 256, -256}, {0, 0}, mode),
              (std::vector<float>{INFINITY, -INFINITY}));
    k.out_fp16 = false;
    EXPECT_EQ(small_job(k, {256, 256}, {256, -256, 256, -256}, {0, 0}, mode), (std::vector<float>{131072, -131072}));
  }
}

TEST(StceCompute, OneChannelConv3x3WithPaddingByHand) {
  // X = 1..9 (3x3), W = all ones, stride 1, padding 1: each output sums its 3x3 neighbourhood.
  Case k;
  k.op = StceOp::conv_fwd;
  k.conv = {1, 3, 3, 1, 1, 3, 3, 1, 1};
  const std::vector<float> want{12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(small_job(k, {1, 2, 3, 4, 5, 6, 7, 8, 9}, std::vector<float>(9, 1.0f), std::vector<float>(9), mode),
              want);
  // The same with stride 2: outputs at (0,0), (0,2), (2,0), (2,2), the corners.
  k.conv.stride = 2;
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(small_job(k, {1, 2, 3, 4, 5, 6, 7, 8, 9}, std::vector<float>(9, 1.0f), std::vector<float>(4), mode),
              (std::vector<float>{12, 16, 24, 28}));
}

TEST(StceCompute, ConvBwdDataByHandSkipsStrideGaps) {
  // 1 channel, 3x3 input, 1x1 kernel of weight 2, stride 2: dY (2x2) reaches only the input
  // pixels at even coordinates; the others get 0.
  Case k;
  k.op = StceOp::conv_bwd_data;
  k.conv = {1, 3, 3, 1, 1, 1, 1, 2, 0};
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(small_job(k, {1, 2, 3, 4}, {2}, std::vector<float>(9), mode),
              (std::vector<float>{2, 0, 4, 0, 0, 0, 6, 0, 8}));
}

TEST(StceCompute, HandPacked2of4CompressedB) {
  // B column [0.5 -3 2 1 | 4 0 -4 0.25], 2:4: group 0 keeps -3, 2 (indices 1, 2), group 1 keeps
  // 4, -4 (indices 0, 2). Indices of 2 bits LSB first: 1 | 2 << 2 | 0 << 4 | 2 << 6 = 0x89.
  const HandSparse b{to_fp16({-3, 2, 4, -4}), {0x89}};
  const golden::Compressed g = golden::nm_compress(to_fp16({0.5f, -3, 2, 1, 4, 0, -4, 0.25f}), one_line(8), 2, 4);
  EXPECT_EQ(g.values, b.values);
  EXPECT_EQ(g.indices, b.indices);
  // A = 1..8: 2·(−3) + 3·2 + 5·4 + 7·(−4) = −8.
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(gemm_1x1({1, 2, 3, 4, 5, 6, 7, 8}, b, 2, 4, mode), -8.0f);
}

TEST(StceCompute, SpecTestVectors) {
  // nm-training-spec.md section 6.
  EXPECT_EQ(golden::nm_keep({0.5f, 2, 0.5f, 0.5f, 1, 1, 0, 0}, 2, 8), (std::vector<bool>{0, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(golden::nm_keep(std::vector<float>(16, 1.0f), 2, 8),
            (std::vector<bool>{1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(golden::nm_keep({9, 1, 1, 1, 1, 1, 1, 1, 3, 0}, 2, 8), (std::vector<bool>{1, 1, 0, 0, 0, 0, 0, 0, 1, 1}));
  // [0.5 -2 0.5 0.5 1 -1 0 0], 2:8 keeps {1, 4}: values -2, 1; indices 1 | 4 << 3 = 33.
  const HandSparse b{to_fp16({-2, 1}), {33}};
  const golden::Compressed g = golden::nm_compress(to_fp16({0.5f, -2, 0.5f, 0.5f, 1, -1, 0, 0}), one_line(8), 2, 8);
  EXPECT_EQ(g.values, b.values);
  EXPECT_EQ(g.indices, b.indices);
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(gemm_1x1({1, 10, 100, 1000, 3, 10000, 1, 1}, b, 2, 8, mode), -17.0f);  // 10·(−2) + 3·1
}

TEST(StceCompute, ShortTailGroupIsPaddedWithZeroEntries) {
  // L = 10, 4:8: the tail group {8, 9} keeps both and is padded with two (0, index 0) entries,
  // which must not disturb the kept element at index 0 of that group.
  const golden::Compressed g = golden::nm_compress(to_fp16({1, 2, 3, 4, 5, 6, 7, 8, -5, 6}), one_line(10), 4, 8);
  EXPECT_EQ(g.values, to_fp16({5, 6, 7, 8, -5, 6, 0, 0}));
  EXPECT_EQ(g.indices, (std::vector<std::uint32_t>{4 | 5 << 3 | 6 << 6 | 7 << 9 | 0 << 12 | 1 << 15}));
  const HandSparse b{g.values, g.indices};
  const std::vector<float> a{1, 1, 1, 1, 1, 1, 1, 1, 2, 3};  // 26 + 2·(−5) + 3·6
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional}) EXPECT_EQ(gemm_1x1(a, b, 4, 8, mode), 34.0f);
}

TEST(StceCompute, PadEntriesAreSkipped) {
  // L = 9, 2:8: the tail group (length 1) keeps its element and has one pad entry (0, index 0),
  // which STCE skips: it would multiply the infinity of A at that position into a NaN.
  // B = [1 1 1 1 1 1 1 1 | 2]: values 1, 1, 2, 0; indices 0, 1, 0, 0 of 3 bits: 1 << 3 = 8.
  const HandSparse b{to_fp16({1, 1, 2, 0}), {8}};
  EXPECT_EQ(golden::nm_compress(to_fp16({1, 1, 1, 1, 1, 1, 1, 1, 2}), one_line(9), 2, 8).indices, b.indices);
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(gemm_1x1({1, 1, 1, 1, 1, 1, 1, 1, INFINITY}, b, 2, 8, mode), INFINITY);
}

TEST(StceCompute, IndexPastAShortTailGroupContributesNothing) {
  // L = 9, 2:8: the kept entry of the tail group (length 1) claims index 7, past the line. It
  // must neither be read nor written past the line (firmware can write any bits): it
  // contributes nothing. Values 1, 1, 2, 0; indices 0, 1, 7, 0 (3 bits): (1 << 3) | (7 << 6).
  const HandSparse b{to_fp16({1, 1, 2, 0}), {(1u << 3) | (7u << 6)}};
  for (const SatMode mode : {SatMode::bit_accurate, SatMode::functional})
    EXPECT_EQ(gemm_1x1({1, 1, 1, 1, 1, 1, 1, 1, 3}, b, 2, 8, mode), 2.0f);
}

TEST(StceCompute, MissingDyLinesHaveNoEntries) {
  // CONV_BWD_DATA with dY compressed (A_SPARSE), 1x1 kernel, stride 2, 3x3 input, Cout 2, 1:2:
  // dY keeps channel 1 (values 3..6), W = [inf, 1]. Input pixels in the stride gaps have no dY~
  // line, hence no entries: they stay 0 instead of multiplying W's infinity by a zero. (Dense
  // operands differ here: their padding reads as zero and is multiplied.)
  Case k;
  k.op = StceOp::conv_bwd_data;
  k.a_sparse = true, k.n = 1, k.m = 2;
  k.conv = {1, 3, 3, 1, 2, 1, 1, 2, 0};
  EXPECT_EQ(
      small_job(k, {0.5f, 3, 0.5f, 4, 0.5f, 5, 0.5f, 6}, {INFINITY, 1}, std::vector<float>(9), SatMode::bit_accurate),
      (std::vector<float>{3, 0, 4, 0, 0, 0, 5, 0, 6}));
}

TEST(StceCompute, TimingModeTouchesNothing) {
  Case k;
  k.rows = k.cols = k.depth = 4;
  sat::StceWork job = make_job(k);
  const Bits a(16, 0x3C00);
  std::vector<std::uint8_t> c(64, 0xAB);
  job.a = job.b = reinterpret_cast<const std::uint8_t*>(a.data());
  job.c = c.data();
  sat::stce_compute(job, SatMode::timing);
  EXPECT_EQ(c, std::vector<std::uint8_t>(64, 0xAB));
}

// ---- Randomized against the golden model ----

TEST(StceCompute, RandomGemm) {
  Rng rng;
  for (const NmPair nm : kNm)
    for (int sparse = 0; sparse < 3; ++sparse)  // dense, A_SPARSE, B_SPARSE
      for (int i = 0; i < 4 * kRepeats; ++i) {
        Case k;
        k.n = nm.n, k.m = nm.m;
        k.a_sparse = sparse == 1, k.b_sparse = sparse == 2;
        k.rows = rng.in(1, 45), k.cols = rng.in(1, 45);
        // K of 1..3 segments, each 1..40 long.
        k.segment = rng.in(1, 40);
        k.depth = k.segment * rng.in(1, 3);
        if (rng.coin(3)) k.segment = 0;  // one segment of K
        k.a_trans = !k.a_sparse && rng.coin();
        k.b_trans = !k.b_sparse && rng.coin();
        random_flags(k, rng);
        check(k, rng);
      }
}

TEST(StceCompute, RandomConvFwd) {
  Rng rng;
  for_each_conv(rng, StceOp::conv_fwd, [&](Case& k) {
    k.b_sparse = !rng.coin(3);
    check(k, rng);
  });
}

TEST(StceCompute, RandomConvBwdData) {
  Rng rng;
  int i = 0;
  for_each_conv(rng, StceOp::conv_bwd_data, [&](Case& k) {
    k.a_sparse = i % 3 == 1, k.b_sparse = i % 3 == 2;
    ++i;
    check(k, rng);
  });
}

TEST(StceCompute, RandomConvBwdWeight) {
  Rng rng;
  for_each_conv(rng, StceOp::conv_bwd_weight, [&](Case& k) { check(k, rng); });
}

TEST(StceCompute, NonSquareKernelsAndImages) {
  Rng rng;
  for (const StceOp op : {StceOp::conv_fwd, StceOp::conv_bwd_data, StceOp::conv_bwd_weight})
    for (const auto& [kh, kw] : {std::pair<std::size_t, std::size_t>{3, 1}, {1, 3}, {3, 2}})
      for (int sparse = 0; sparse < 3; ++sparse) {  // dense, A_SPARSE, B_SPARSE where allowed
        Case k;
        k.op = op;
        k.a_sparse = sparse == 1 && op == StceOp::conv_bwd_data;
        k.b_sparse = sparse == 2 && op != StceOp::conv_bwd_weight;
        if (sparse != 0 && !k.a_sparse && !k.b_sparse) continue;
        k.n = 2, k.m = 4;
        k.conv = {2, 7, 5, 6, 5, kh, kw, 2, 1};
        random_flags(k, rng);
        check(k, rng);
      }
}

TEST(StceCompute, LargerShapes) {
  Rng rng;
  for (int sparse = 0; sparse < 3; ++sparse) {
    Case k;
    k.rows = 97, k.cols = 131, k.depth = 200, k.segment = 40, k.n = 2, k.m = 8;
    k.a_sparse = sparse == 1, k.b_sparse = sparse == 2;
    k.accumulate = true;
    check(k, rng);
  }
  Case k;
  k.n = 2, k.m = 8;
  k.conv = {2, 12, 11, 40, 24, 3, 3, 1, 1};
  for (const StceOp op : {StceOp::conv_fwd, StceOp::conv_bwd_data, StceOp::conv_bwd_weight}) {
    k.op = op;
    k.b_sparse = op == StceOp::conv_fwd;
    k.a_sparse = op == StceOp::conv_bwd_data;
    check(k, rng);
  }
}
