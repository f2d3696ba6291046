// The training kernels (firmware/src/train_kernels.cpp) booted on the platform: each layer pass
// is cut into tiles that fit the SAT SRAM, and its result is compared with the golden models of
// tests/golden: bit for bit in bit-accurate mode, within docs/engines.md's tolerance in
// functional mode. Shrunk SRAM buffers (16 KiB) make every tiling path run: image chunks, Cout
// and Cin chunks, the split-K weight gradient, chunked WUVE and OSRE in both directions; two
// tests run the default buffers, one of them every layer of the shipped workloads in timing mode
// to check that the tiles take no more folds of the array than one job. The tensors are random
// and placed in DDR by the firmware.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <Imath/half.h>

#include <cestvp/dma_driver.h>
#include <cestvp/irq.h>
#include <cestvp/sat_driver.h>
#include <cestvp/train_kernels.h>

#include "config/config.h"
#include "golden/nm_golden.h"
#include "golden/stce_golden.h"
#include "golden/wuve_golden.h"
#include "loader/workload.h"
#include "satvp_command.h"
#include "vp.h"
#include <cestvp/fp16.h>

using namespace cestvp;

namespace {

constexpr std::uint64_t kTimeoutNs = 1'000'000'000;
constexpr std::uint64_t kScratch = 64u << 20;  // DDR offsets: the kernels' scratch, then the tensors
constexpr std::uint64_t kScratchBytes = 16u << 20;
constexpr std::uint64_t kTensors = 128u << 20;
constexpr std::uint64_t kSmallSram = 16u << 10;  // half a buffer: 8 KiB

PlatformConfig with_sram(std::uint64_t bytes) {
  PlatformConfig config = test::default_config();
  for (AddressRange& r : config.address_map)
    if (r.name == "sat_sram_a" || r.name == "sat_sram_b" || r.name == "sat_sram_c") r.size = bytes;
  return config;
}

SatMode firmware_mode(SatMode mode) {
  switch (mode) {
    case SatMode::functional: return SatMode::functional;
    case SatMode::bit_accurate: return SatMode::bit_accurate;
    case SatMode::timing: return SatMode::timing;
  }
  return SatMode::functional;
}

// xorshift32: FP16 values in [-1, 1), FP32 values half of them on a grid of 1/16 (ties, so that
// the N:M selection's lowest-index rule matters).
class Random {
 public:
  explicit Random(std::uint32_t seed) : x_(seed) {}
  std::vector<std::uint16_t> halves(std::size_t count) {
    std::vector<std::uint16_t> v(count);
    for (auto& h : v) h = Imath::half(uniform()).bits();
    return v;
  }
  std::vector<float> floats(std::size_t count) {
    std::vector<float> v(count);
    for (auto& f : v) f = next() & 1 ? static_cast<float>(static_cast<int>(next() % 33) - 16) / 16.0f : uniform();
    return v;
  }

 private:
  std::uint32_t next() {
    x_ ^= x_ << 13, x_ ^= x_ >> 17, x_ ^= x_ << 5;
    return x_;
  }
  float uniform() { return static_cast<float>(next() >> 8) * 0x1p-23f - 1.0f; }
  std::uint32_t x_;
};

std::vector<float> widen(const std::vector<std::uint16_t>& h) {
  std::vector<float> f(h.size());
  std::transform(h.begin(), h.end(), f.begin(), fw::half_to_float);
  return f;
}

std::vector<std::uint16_t> narrow(const std::vector<float>& f) {
  std::vector<std::uint16_t> h(f.size());
  std::transform(f.begin(), f.end(), h.begin(), fw::float_to_half);
  return h;
}

// What a test's firmware works with: the drivers, the kernels, and DDR to put tensors in.
struct Bench {
  Bench(fw::Hal& h, const fw::BootInfo& info, SatMode m)
      : hal(h),
        boot(info),
        mode(m),
        irq(h, info.irqc.base),
        dma(h, irq, info, kTimeoutNs),
        sat(h, irq, info, kTimeoutNs),
        kernels(h, info, dma, sat, m, info.ddr.base + kScratch, kScratchBytes),
        next(info.ddr.base + kTensors) {}

  template <class T>
  std::uint64_t put(const std::vector<T>& v) {
    const std::uint64_t at = next;
    next += (v.size() * sizeof(T) + 127) / 64 * 64;  // 64-byte aligned, at least 64 bytes apart
    hal.write_block(at, v.data(), v.size() * sizeof(T));
    return at;
  }
  // Room for a result, filled with 0xFF bytes (an FP16 NaN) so that an element nobody wrote shows.
  std::uint64_t output(std::size_t bytes) { return put(std::vector<std::uint8_t>(bytes, 0xFF)); }
  template <class T>
  std::vector<T> get(std::uint64_t at, std::size_t count) {
    std::vector<T> v(count);
    hal.read_block(at, v.data(), count * sizeof(T));
    return v;
  }
  bool exact() const { return mode == SatMode::bit_accurate; }
  std::uint64_t jobs(fw::SatEngine engine) { return fw::read_sat_counters(hal, boot, engine).jobs; }

  fw::Hal& hal;
  const fw::BootInfo& boot;
  SatMode mode;
  fw::Irq irq;
  fw::DmaDriver dma;
  fw::SatDriver sat;
  fw::Kernels kernels;
  std::uint64_t next;
};

// Boots the platform with `config` in `mode` and runs `body` as its firmware.
template <class Body>
void boot(const PlatformConfig& config, SatMode mode, Body body) {
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = mode;
  VirtualPlatform vp(
      config,
      [&](fw::Hal& hal, const fw::BootInfo& info) {
        Bench bench(hal, info, firmware_mode(mode));
        body(bench);
        return 0;
      },
      options);
  const RunStats stats = vp.run();
  EXPECT_TRUE(stats.firmware_finished) << log.str();
}

void expect_ok(const fw::KernelStatus& status) { EXPECT_TRUE(status.ok) << status.problem; }

fw::ConvShape conv(std::uint32_t n, std::uint32_t hw, std::uint32_t cin, std::uint32_t cout, std::uint32_t k,
                   std::uint32_t stride, std::uint32_t pad) {
  fw::ConvShape s;
  s.n = n, s.h = s.w = hw, s.cin = cin, s.cout = cout, s.kh = s.kw = k, s.stride = stride, s.pad = pad;
  return s;
}
fw::ConvShape linear(std::uint32_t batch, std::uint32_t in, std::uint32_t out) {
  return conv(batch, 1, in, out, 1, 1, 0);
}

std::string describe(const fw::ConvShape& s) {
  std::ostringstream os;
  os << "N " << s.n << ", " << s.h << "x" << s.w << ", Cin " << s.cin << ", Cout " << s.cout << ", " << s.kh << "x"
     << s.kw << " stride " << s.stride << " pad " << s.pad;
  return os.str();
}

golden::Conv to_golden(const fw::ConvShape& s) { return {s.n, s.h, s.w, s.cin, s.cout, s.kh, s.kw, s.stride, s.pad}; }
std::size_t taps(const fw::ConvShape& s) { return std::size_t{s.kh} * s.kw; }
std::size_t input_size(const fw::ConvShape& s) { return std::size_t{s.n} * s.h * s.w * s.cin; }
std::size_t output_size(const fw::ConvShape& s) { return std::size_t{s.n} * s.oh() * s.ow() * s.cout; }
std::size_t weight_size(const fw::ConvShape& s) { return std::size_t{s.cout} * taps(s) * s.cin; }

// An FP16 result against the golden FP32 sum: bit for bit the golden's FP16 rounding, or within
// docs/engines.md's functional tolerance: K x 2^-23 x (sum |a x b|), plus one FP16 step.
::testing::AssertionResult matches(const std::vector<std::uint16_t>& got, const golden::Result& want, std::size_t k,
                                   bool exact) {
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float expected = fw::round_to_half(want.c[i]), actual = fw::half_to_float(got[i]);
    const bool ok = exact ? got[i] == fw::float_to_half(want.c[i])
                          : std::fabs(actual - expected) <=
                                k * 0x1p-23 * want.magnitude[i] + std::fabs(expected) * 0x1p-10 + 0x1p-24;
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements differ; first [" << first
                                       << "] = " << fw::half_to_float(got[first]) << " (0x" << std::hex << got[first]
                                       << "), expected " << std::dec << fw::round_to_half(want.c[first]);
}

template <class T>
::testing::AssertionResult same(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << ", expected " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure()
             << "first difference at " << i << ": 0x" << std::hex << +got[i] << ", expected 0x" << +want[i];
  return ::testing::AssertionSuccess();
}

std::vector<std::uint32_t> bits(const std::vector<float>& f) {
  std::vector<std::uint32_t> b(f.size());
  std::memcpy(b.data(), f.data(), f.size() * 4);
  return b;
}

// The dense tensor a compressed operand stands for: fp16(v) where the N:M selection along the
// rows (forward) or columns (backward) of v viewed [rows][cols] keeps v, else 0.
std::vector<float> kept(const std::vector<float>& v, std::size_t rows, std::size_t cols, bool backward, unsigned n,
                        unsigned m) {
  std::vector<float> out(v.size(), 0.0f);
  const std::size_t lines = backward ? cols : rows, length = backward ? rows : cols;
  for (std::size_t l = 0; l < lines; ++l) {
    const auto at = [&](std::size_t i) { return backward ? i * cols + l : l * cols + i; };
    std::vector<float> line(length);
    for (std::size_t i = 0; i < length; ++i) line[i] = v[at(i)];
    const std::vector<bool> mask = golden::nm_mask(line, n, m);
    for (std::size_t i = 0; i < length; ++i)
      if (mask[i]) out[at(i)] = fw::round_to_half(v[at(i)]);
  }
  return out;
}

// A weight param as the loader lays it out: master in DDR, compressed outputs where requested.
fw::model::Param weight_param(Bench& b, const fw::ConvShape& s, const std::vector<float>& master, unsigned n,
                              unsigned m, bool forward, bool backward) {
  fw::model::Param p;
  p.count = static_cast<std::uint32_t>(master.size());
  p.cout = s.cout, p.taps = static_cast<std::uint32_t>(taps(s)), p.cin = s.cin;
  p.master = b.put(master);
  if (forward) {
    const fw::NmLine line = fw::model::fwd_line(p, n, m);
    p.fwd_values = b.output(fw::model::values_bytes(fw::model::fwd_lines(p), line));
    p.fwd_indices = b.output(fw::model::index_bytes(fw::model::fwd_lines(p), line));
  }
  if (backward) {
    const fw::NmLine line = fw::model::bwd_line(p, n, m);
    p.bwd_values = b.output(fw::model::values_bytes(fw::model::bwd_lines(p), line));
    p.bwd_indices = b.output(fw::model::index_bytes(fw::model::bwd_lines(p), line));
  }
  return p;
}

// A compressed operand in DDR against the golden compression.
void expect_compressed(Bench& b, std::uint64_t values, std::uint64_t indices, const golden::NmCompressed& want,
                       const char* what) {
  EXPECT_TRUE(same(b.get<std::uint16_t>(values, want.values.size()), want.values)) << what << " values";
  EXPECT_TRUE(same(b.get<std::uint32_t>(indices, want.indices.size()), want.indices)) << what << " indices";
}

// --- Per-pass checks: random operands, the kernel, the golden --------------------------------

void check_forward_dense(Bench& b, const fw::ConvShape& s, Random& rng) {
  const auto x = rng.halves(input_size(s)), w = rng.halves(weight_size(s));
  fw::WeightOperand weight;
  weight.dense = b.put(w);
  const std::uint64_t y = b.output(output_size(s) * 2);
  expect_ok(b.kernels.conv_forward(s, b.put(x), weight, y));
  const golden::Result want = golden::conv_fwd(widen(x), widen(w), to_golden(s), {});
  EXPECT_TRUE(matches(b.get<std::uint16_t>(y, output_size(s)), want, taps(s) * s.cin, b.exact())) << describe(s);
}

// W~ from generate_masks on the FP32 master (checked against the golden compression), then the
// forward pass on it.
void check_forward_sparse(Bench& b, const fw::ConvShape& s, unsigned n, unsigned m, Random& rng) {
  const std::vector<float> master = rng.floats(weight_size(s));
  const fw::model::Param p = weight_param(b, s, master, n, m, true, false);
  expect_ok(b.kernels.generate_masks(p, n, m, true, false, false));
  const std::size_t rows = s.cout * taps(s);
  expect_compressed(b, p.fwd_values, p.fwd_indices, golden::nm_compress(master, rows, s.cin, false, n, m), "W~");

  const auto x = rng.halves(input_size(s));
  fw::WeightOperand weight;
  weight.values = p.fwd_values, weight.indices = p.fwd_indices, weight.n = n, weight.m = m;
  const std::uint64_t y = b.output(output_size(s) * 2);
  expect_ok(b.kernels.conv_forward(s, b.put(x), weight, y));
  const golden::Result want = golden::conv_fwd(widen(x), kept(master, rows, s.cin, false, n, m), to_golden(s), {});
  EXPECT_TRUE(matches(b.get<std::uint16_t>(y, output_size(s)), want, taps(s) * s.cin, b.exact()))
      << describe(s) << ", " << n << ":" << m;
}

void check_backward_data_dense(Bench& b, const fw::ConvShape& s, Random& rng) {
  const auto dy = rng.halves(output_size(s)), w = rng.halves(weight_size(s));
  fw::GradOperand grad;
  grad.dense = b.put(dy);
  fw::WeightOperand weight;
  weight.dense = b.put(w);
  const std::uint64_t dx = b.output(input_size(s) * 2);
  expect_ok(b.kernels.conv_backward_data(s, grad, weight, dx));
  const golden::Result want = golden::conv_bwd_data(widen(dy), widen(w), to_golden(s), {});
  EXPECT_TRUE(matches(b.get<std::uint16_t>(dx, input_size(s)), want, taps(s) * s.cout, b.exact())) << describe(s);
}

// W~^T from generate_masks (backward), then the data gradient on it.
void check_backward_data_sparse_weight(Bench& b, const fw::ConvShape& s, unsigned n, unsigned m, Random& rng) {
  const std::vector<float> master = rng.floats(weight_size(s));
  const fw::model::Param p = weight_param(b, s, master, n, m, false, true);
  expect_ok(b.kernels.generate_masks(p, n, m, false, true, false));
  const std::size_t cols = taps(s) * s.cin;
  expect_compressed(b, p.bwd_values, p.bwd_indices, golden::nm_compress(master, s.cout, cols, true, n, m), "W~^T");

  const auto dy = rng.halves(output_size(s));
  fw::GradOperand grad;
  grad.dense = b.put(dy);
  fw::WeightOperand weight;
  weight.values = p.bwd_values, weight.indices = p.bwd_indices, weight.n = n, weight.m = m;
  const std::uint64_t dx = b.output(input_size(s) * 2);
  expect_ok(b.kernels.conv_backward_data(s, grad, weight, dx));
  const golden::Result want =
      golden::conv_bwd_data(widen(dy), kept(master, s.cout, cols, true, n, m), to_golden(s), {});
  EXPECT_TRUE(matches(b.get<std::uint16_t>(dx, input_size(s)), want, taps(s) * s.cout, b.exact()))
      << describe(s) << ", " << n << ":" << m;
}

// SDGP: dY~ from prune_output_grad (checked against the golden compression), then the data
// gradient with the compressed dY.
void check_backward_data_sdgp(Bench& b, const fw::ConvShape& s, unsigned n, unsigned m, Random& rng) {
  const auto dy = rng.halves(output_size(s)), w = rng.halves(weight_size(s));
  const std::size_t rows = std::size_t{s.n} * s.oh() * s.ow();
  const golden::NmCompressed want_dy = golden::nm_compress(widen(dy), rows, s.cout, false, n, m);
  fw::GradOperand grad;
  grad.values = b.output(want_dy.values.size() * 2), grad.indices = b.output(want_dy.indices.size() * 4);
  grad.n = n, grad.m = m;
  expect_ok(b.kernels.prune_output_grad(s, b.put(dy), n, m, grad.values, grad.indices));
  expect_compressed(b, grad.values, grad.indices, want_dy, "dY~");

  fw::WeightOperand weight;
  weight.dense = b.put(w);
  const std::uint64_t dx = b.output(input_size(s) * 2);
  expect_ok(b.kernels.conv_backward_data(s, grad, weight, dx));
  const golden::Result want =
      golden::conv_bwd_data(kept(widen(dy), rows, s.cout, false, n, m), widen(w), to_golden(s), {});
  EXPECT_TRUE(matches(b.get<std::uint16_t>(dx, input_size(s)), want, taps(s) * s.cout, b.exact()))
      << describe(s) << ", SDGP " << n << ":" << m;
}

// Returns the kernel's dW; checks it against the golden sum over the whole batch.
std::vector<std::uint16_t> check_backward_weight(Bench& b, const fw::ConvShape& s, Random& rng,
                                                 std::vector<float>* dy_out = nullptr,
                                                 std::vector<float>* x_out = nullptr) {
  const auto dy = rng.halves(output_size(s)), x = rng.halves(input_size(s));
  const std::uint64_t dw = b.output(weight_size(s) * 2);
  expect_ok(b.kernels.conv_backward_weight(s, b.put(dy), b.put(x), dw));
  const golden::Result want = golden::conv_bwd_weight(widen(dy), widen(x), to_golden(s), {});
  const std::vector<std::uint16_t> got = b.get<std::uint16_t>(dw, weight_size(s));
  EXPECT_TRUE(matches(got, want, std::size_t{s.n} * s.oh() * s.ow(), b.exact())) << describe(s);
  if (dy_out) *dy_out = widen(dy);
  if (x_out) *x_out = widen(x);
  return got;
}

// One SGD step of a param (with or without an FP16 copy) against the golden, bit for bit.
void check_update(Bench& b, std::uint32_t count, bool fp16_copy, bool decay, Random& rng) {
  golden::SgdState state;
  state.weight = rng.floats(count);
  state.buffer = rng.floats(count);
  state.started = true;
  const std::vector<std::uint16_t> grad = rng.halves(count);
  fw::model::Param p;
  p.count = count, p.cout = count, p.taps = 1, p.cin = 1, p.decay = decay;
  p.master = b.put(state.weight), p.momentum = b.put(state.buffer), p.grad = b.put(grad);
  if (fp16_copy) p.fp16 = b.output(count * 2);
  const golden::SgdParams params{0.05f, 0.9f, 5e-4f, 1.0f / 128};
  expect_ok(b.kernels.update(p, params.lr, params.momentum, params.weight_decay, params.grad_scale));
  golden::SgdParams applied = params;
  if (!decay) applied.weight_decay = 0;
  golden::sgd_step(state, grad, applied);
  EXPECT_TRUE(same(bits(b.get<float>(p.master, count)), bits(state.weight))) << "master, " << count;
  EXPECT_TRUE(same(bits(b.get<float>(p.momentum, count)), bits(state.buffer))) << "momentum, " << count;
  if (fp16_copy) {
    EXPECT_TRUE(same(b.get<std::uint16_t>(p.fp16, count), narrow(state.weight))) << "FP16 copy";
  }
}

// Runs `body` and returns how many jobs the engine completed meanwhile.
template <class Body>
std::uint64_t jobs_of(Bench& b, fw::SatEngine engine, Body body) {
  const std::uint64_t before = b.jobs(engine);
  body();
  return b.jobs(engine) - before;
}

// A matrix view of gemm_batch as plain index arithmetic (element offsets in a flat tensor), so
// that the golden operands are gathered independently of the kernel's DMA blocks.
struct View {
  std::size_t base, outer, inner, row;  // elements
  std::size_t at(std::size_t o, std::size_t i, std::size_t r, std::size_t c) const {
    return base + o * outer + i * inner + r * row + c;
  }
  fw::MatrixBatch in(std::uint64_t addr) const { return {addr + base * 2, outer * 2, inner * 2, static_cast<std::uint32_t>(row)}; }
};

// C = op(A) op(B) per item of a [outer][inner] batch whose operands are strided views of `src`
// (stored rows x cols: A [rows][depth] or [depth][rows], B [depth][cols] or [cols][depth]), and
// C a strided view of a tensor of `c_size` elements: every item bit-exact (or within
// tolerance), and every element outside the C views untouched.
void check_gemm_batch(Bench& b, const std::vector<std::uint16_t>& src, std::size_t c_size, std::uint32_t outer,
                      std::uint32_t inner, std::uint32_t rows, std::uint32_t cols, std::uint32_t depth, View a,
                      bool a_trans, View bv, bool b_trans, View c) {
  const std::uint64_t src_addr = b.put(src), c_addr = b.output(c_size * 2);
  fw::GemmBatch g;
  g.outer = outer, g.inner = inner, g.rows = rows, g.cols = cols, g.depth = depth;
  g.a = a.in(src_addr), g.b = bv.in(src_addr), g.c = c.in(c_addr);
  g.a_trans = a_trans, g.b_trans = b_trans;
  expect_ok(b.kernels.gemm_batch(g));
  const std::vector<std::uint16_t> got = b.get<std::uint16_t>(c_addr, c_size);
  const std::vector<float> x = widen(src);
  std::vector<bool> written(c_size, false);
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < inner; ++i) {
      const auto gather = [&](const View& v, std::size_t stored_rows, std::size_t stored_cols) {
        std::vector<float> m(stored_rows * stored_cols);
        for (std::size_t r = 0; r < stored_rows; ++r)
          for (std::size_t k = 0; k < stored_cols; ++k) m[r * stored_cols + k] = x[v.at(o, i, r, k)];
        return m;
      };
      const std::vector<float> am = a_trans ? gather(a, depth, rows) : gather(a, rows, depth);
      const std::vector<float> bm = b_trans ? gather(bv, cols, depth) : gather(bv, depth, cols);
      const golden::Result want = golden::gemm(am, bm, rows, cols, depth, a_trans, b_trans, {});
      std::vector<std::uint16_t> item(std::size_t{rows} * cols);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < cols; ++k) {
          item[r * cols + k] = got[c.at(o, i, r, k)];
          written[c.at(o, i, r, k)] = true;
        }
      EXPECT_TRUE(matches(item, want, depth, b.exact())) << "item " << o << "." << i;
    }
  for (std::size_t e = 0; e < c_size; ++e)
    if (!written[e]) {
      ASSERT_EQ(got[e], 0xFFFF) << "element " << e << " outside every C view was written";
    }
}

}  // namespace

// --- Bit-exact on small SRAM: every tiling path ---------------------------------------------

// Half a 16 KiB buffer is 8 KiB. 12 images of 6x6x20 (1440 B each) make 3 image chunks of 4; the
// weights, 40 x 360 B, 2 Cout chunks of 20: 6 jobs. Stride 2: weights resident, 2 image chunks.
// The linear layer 100 -> 60: 2 Cout chunks of 30, all 24 rows in one chunk.
TEST(TrainKernels, ConvForwardIsBitExactOverImageAndCoutTiles) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(1);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_forward_dense(b, conv(12, 6, 20, 40, 3, 1, 1), rng); }), 6u);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_forward_dense(b, conv(6, 7, 20, 20, 3, 2, 1), rng); }), 2u);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_forward_dense(b, linear(24, 100, 60), rng); }), 2u);
  });
}

// The attention core's products (train_runtime.cpp) on 2 samples x 2 heads of T = 120 tokens,
// dh = 24: q, k, v are column slices of [2][120][144] rows. Half of a 16 KiB buffer is 8 KiB:
// a B of 120 x 24 (5760 B) fits; C rows of 120 (240 B) make row chunks of 34, so S = Q K^T
// and dV = P^T dO (A stored transposed: a column block) each take 4 jobs per item.
TEST(TrainKernels, GemmBatchOnStridedHeadViewsIsBitExact) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(9);
    constexpr std::uint32_t kN = 2, kHeads = 2, kT = 120, kDh = 24, kD = kHeads * kDh;
    const std::vector<std::uint16_t> qkv = rng.halves(std::size_t{kN} * kT * 3 * kD);
    const auto part = [&](std::size_t which) { return View{which * kD, std::size_t{kT} * 3 * kD, kDh, 3 * kD}; };
    const View scores{0, std::size_t{kHeads} * kT * kT, std::size_t{kT} * kT, kT};
    const View heads{0, std::size_t{kT} * kD, kDh, kD};
    const std::size_t score_size = std::size_t{kN} * kHeads * kT * kT, head_size = std::size_t{kN} * kT * kD;
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce,
                      [&] {
                        check_gemm_batch(b, qkv, score_size, kN, kHeads, kT, kT, kDh, part(0), false, part(1), true,
                                         scores);
                      }),
              kN * kHeads * 4);
    const std::vector<std::uint16_t> p = rng.halves(score_size);
    // out = P V: V comes from another tensor than P, so gather both into one source.
    std::vector<std::uint16_t> pv = p;
    pv.insert(pv.end(), qkv.begin(), qkv.end());
    View v = part(2);
    v.base += score_size;
    check_gemm_batch(b, pv, head_size, kN, kHeads, kT, kDh, kT, scores, false, v, false, heads);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce,
                      [&] {  // dV = P^T dO into the v columns of a dqkv-shaped tensor
                        std::vector<std::uint16_t> pd = p;
                        const std::vector<std::uint16_t> d_out = rng.halves(head_size);
                        pd.insert(pd.end(), d_out.begin(), d_out.end());
                        View dy = heads;
                        dy.base += score_size;
                        check_gemm_batch(b, pd, std::size_t{kN} * kT * 3 * kD, kN, kHeads, kT, kDh, kT, scores, true,
                                         dy, false, part(2));
                      }),
              kN * kHeads * 4);
  });
}

// W~ of 80 x 9 lines of Cin 20 (not a multiple of M): 16 B a line for 2:8, 14 B for 1:4. 2:8:
// room for 56 output channels, cut in whole folds of the 32 columns: Cout chunks of 32, 32 and
// 16, all 4 images in each. 1:4: room for 64, Cout chunks of 64 and 16; C (25 x 64 x 2 B an
// image) holds 2 images, so 2 image chunks. OSRE forward: 720 rows of 80 B, in chunks of 102 rows.
TEST(TrainKernels, ConvForwardSparseIsBitExactWithTheMasksOfGenerateMasks) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(2);
    for (const auto& nm : {std::pair{2u, 8u}, std::pair{1u, 4u}}) {
      const unsigned n = nm.first, m = nm.second;
      std::uint64_t stce = 0;
      const std::uint64_t osre = jobs_of(b, fw::SatEngine::osre, [&] {
        stce =
            jobs_of(b, fw::SatEngine::stce, [&] { check_forward_sparse(b, conv(4, 5, 20, 80, 3, 1, 1), n, m, rng); });
      });
      EXPECT_EQ(stce, n == 2 ? 3u : 4u) << n << ":" << m;
      EXPECT_EQ(osre, 8u) << n << ":" << m;
    }
  });
}

// Dense: Cin 40 at 360 B of weights each makes 2 Cin chunks (2-D transfers of W and dX), 6
// images of dY 2 chunks. W~^T (from OSRE backward in 8 column chunks): room for 56 input
// channels, cut in whole folds of the 32 columns: Cin chunks of 32, 32 and 16 lines per tap; dX
// of 32 channels leaves room for 3 images a tile: 2 image chunks of 2. SDGP: dY~ from OSRE
// forward in 2 row chunks, A compressed.
TEST(TrainKernels, ConvBackwardDataIsBitExactDenseSparseAndSdgp) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(3);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_backward_data_dense(b, conv(6, 6, 40, 20, 3, 1, 1), rng); }),
              4u);
    check_backward_data_dense(b, conv(4, 7, 20, 20, 3, 2, 1), rng);
    check_backward_data_dense(b, linear(16, 120, 30), rng);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce,
                      [&] { check_backward_data_sparse_weight(b, conv(4, 6, 80, 20, 3, 1, 1), 2, 8, rng); }),
              6u);
    check_backward_data_sparse_weight(b, conv(4, 7, 20, 20, 3, 2, 1), 1, 4, rng);
    EXPECT_EQ(
        jobs_of(b, fw::SatEngine::osre, [&] { check_backward_data_sdgp(b, conv(6, 6, 20, 20, 3, 1, 1), 2, 8, rng); }),
        2u);
    check_backward_data_sdgp(b, conv(4, 7, 20, 20, 3, 2, 1), 1, 4, rng);
  });
}

// 8 images of 1440 B do not fit half of SRAM B: the images go in 2 chunks of 4 whose products
// accumulate in FP32 in SRAM C (2 Cout chunks of 10, 720 B of FP32 dW each); the host rounds the
// sum once. The result must be the unsplit job's bit for bit (the golden sums the whole batch
// in K order); rounding per chunk would differ, which the test checks it would notice.
TEST(TrainKernels, ConvBackwardWeightSplitOverImagesIsBitIdenticalToOneJob) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(4);
    const fw::ConvShape s = conv(8, 6, 20, 20, 3, 1, 1);
    std::vector<float> dy, x;
    std::vector<std::uint16_t> split;
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { split = check_backward_weight(b, s, rng, &dy, &x); }), 4u);
    // The same sum taken as two jobs of 4 images rounded separately and added.
    fw::ConvShape half_batch = s;
    half_batch.n = 4;
    const std::size_t dy_half = output_size(half_batch), x_half = input_size(half_batch);
    const golden::Result first =
        golden::conv_bwd_weight(std::vector<float>(dy.begin(), dy.begin() + dy_half),
                                std::vector<float>(x.begin(), x.begin() + x_half), to_golden(half_batch), {});
    const golden::Result second =
        golden::conv_bwd_weight(std::vector<float>(dy.begin() + dy_half, dy.end()),
                                std::vector<float>(x.begin() + x_half, x.end()), to_golden(half_batch), {});
    std::size_t differ = 0;
    for (std::size_t i = 0; i < split.size(); ++i)
      differ += fw::float_to_half(fw::round_to_half(first.c[i]) + fw::round_to_half(second.c[i])) != split[i];
    EXPECT_GT(differ, 0u) << "rounding each chunk would give the same dW: the check above cannot tell";

    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_backward_weight(b, conv(8, 7, 20, 20, 3, 2, 1), rng); }), 4u);
    // Linear 60 -> 100, 32 rows: unsplit, FP16 out of the engine, 2 Cout chunks of 50.
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_backward_weight(b, linear(32, 60, 100), rng); }), 2u);
  });
}

// 3000 elements with an FP16 copy: A holds 2032 of them (gradient + copy), 2 chunks. 5000
// without (a bias: no decay): 3 chunks of B's 2048.
TEST(TrainKernels, UpdateInChunksIsBitExactSgd) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(5);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::wuve, [&] { check_update(b, 3000, true, true, rng); }), 2u);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::wuve, [&] { check_update(b, 5000, false, false, rng); }), 3u);
  });
}

// Forward and backward masks in one call (1:4, Cout and Cin 20), and the nested backward mask
// (W~^T of W (.) Mf), both in chunks; a linear weight small enough to be loaded once.
TEST(TrainKernels, GenerateMasksMatchesTheGoldenIndependentAndNested) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(6);
    for (const auto& [s, n, m, nested] :
         {std::tuple{conv(1, 1, 20, 20, 3, 1, 1), 1u, 4u, false}, std::tuple{conv(1, 1, 20, 20, 3, 1, 1), 2u, 8u, true},
          std::tuple{linear(1, 20, 12), 2u, 8u, false}}) {
      SCOPED_TRACE(describe(s) + (nested ? ", nested" : ""));
      const std::vector<float> master = rng.floats(weight_size(s));
      const fw::model::Param p = weight_param(b, s, master, n, m, true, true);
      expect_ok(b.kernels.generate_masks(p, n, m, true, true, nested));
      const std::size_t rows = s.cout * taps(s), cols = taps(s) * s.cin;
      expect_compressed(b, p.fwd_values, p.fwd_indices, golden::nm_compress(master, rows, s.cin, false, n, m), "W~");
      std::vector<float> source = master;
      if (nested) {
        const std::vector<float> mf = kept(master, rows, s.cin, false, n, m);
        for (std::size_t i = 0; i < source.size(); ++i) source[i] = mf[i] != 0 ? master[i] : 0.0f;
      }
      expect_compressed(b, p.bwd_values, p.bwd_indices, golden::nm_compress(source, s.cout, cols, true, n, m), "W~^T");
    }
    // The nested mask depends on the forward one: without it, a user error, not a crash.
    fw::model::Param p = weight_param(b, conv(1, 1, 8, 8, 1, 1, 0), rng.floats(64), 2, 8, false, true);
    const fw::KernelStatus st = b.kernels.generate_masks(p, 2, 8, false, true, true);
    EXPECT_FALSE(st.ok);
    EXPECT_NE(st.problem.find("nested"), std::string::npos) << st.problem;
  });
}

// --- Default SRAM, functional mode ------------------------------------------------------------

// The small CNN's second convolution and first linear layer at batch 16: every pass in one tile
// (weights loaded once), within the functional tolerance.
TEST(TrainKernels, DefaultSramRunsEveryPassInFunctionalMode) {
  boot(test::default_config(), SatMode::functional, [](Bench& b) {
    Random rng(7);
    const fw::ConvShape c = conv(16, 14, 16, 32, 3, 1, 1), fc = linear(16, 1568, 128);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_forward_dense(b, c, rng); }), 1u);
    check_forward_dense(b, fc, rng);
    check_forward_sparse(b, c, 2, 8, rng);
    check_forward_sparse(b, fc, 2, 8, rng);
    check_backward_data_dense(b, c, rng);
    check_backward_data_sparse_weight(b, c, 2, 8, rng);
    check_backward_data_sdgp(b, c, 2, 8, rng);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce, [&] { check_backward_weight(b, c, rng); }), 1u);
    check_backward_weight(b, fc, rng);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::wuve, [&] { check_update(b, 1568 * 128, true, true, rng); }), 1u);
  });
}

// --- Double buffering -------------------------------------------------------------------------

// 64 images of 14x14x16 -> 32 channels on 64 KiB buffers: 2 images per tile (C), 32 tiles. With
// the DMA of tile i+1 and i-1 under the STCE job of tile i, the pass takes about the engine's
// busy time plus one tile's transfers; without the overlap, at least the engine's time plus all
// the transfers, measured here on their own with the same bytes.
TEST(TrainKernels, DoubleBufferingHidesTheDmaBehindTheEngine) {
  const PlatformConfig config = with_sram(64u << 10);
  const double sat_hz = config.clocks.sat_hz;
  boot(config, SatMode::timing, [&](Bench& b) {
    const fw::ConvShape s = conv(64, 14, 16, 32, 3, 1, 1);
    fw::WeightOperand w;
    w.dense = b.output(weight_size(s) * 2);
    const std::uint64_t x = b.output(input_size(s) * 2), y = b.output(output_size(s) * 2);

    // The transfers alone: X and W into SRAM A and B, Y out of SRAM C, in slot-sized pieces.
    const std::uint64_t start_dma = b.hal.now_ps();
    const auto pieces = [&](std::uint64_t ddr, std::uint64_t bytes, std::uint64_t sram, bool in) {
      for (std::uint64_t done = 0; done < bytes; done += 32u << 10) {
        const auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>(32u << 10, bytes - done));
        const fw::DmaResult r =
            b.dma.copy(in ? fw::DmaCopy{ddr + done, sram, length} : fw::DmaCopy{sram, ddr + done, length});
        ASSERT_TRUE(r.ok) << r.describe();
      }
    };
    pieces(x, input_size(s) * 2, b.boot.sat_sram_a.base, true);
    pieces(w.dense, weight_size(s) * 2, b.boot.sat_sram_b.base, true);
    pieces(y, output_size(s) * 2, b.boot.sat_sram_c.base, false);
    const double dma_ps = static_cast<double>(b.hal.now_ps() - start_dma);

    const fw::SatCounters before = fw::read_sat_counters(b.hal, b.boot, fw::SatEngine::stce);
    const fw::KernelTime time_before = b.kernels.time();
    const std::uint64_t start = b.hal.now_ps();
    expect_ok(b.kernels.conv_forward(s, x, w, y));
    const double pass_ps = static_cast<double>(b.hal.now_ps() - start);
    const fw::SatCounters jobs = fw::read_sat_counters(b.hal, b.boot, fw::SatEngine::stce) - before;
    const double stce_ps = static_cast<double>(jobs.busy_cycles) * 1e12 / sat_hz;
    const double dma_waited = static_cast<double>(b.kernels.time().dma_ps - time_before.dma_ps);

    EXPECT_EQ(jobs.jobs, 32u);
    EXPECT_GT(dma_ps, 0.2 * stce_ps) << "the transfers must be large enough for the overlap to show";
    EXPECT_LT(pass_ps, stce_ps + 0.5 * dma_ps)
        << "pass " << pass_ps / 1e6 << " us, STCE busy " << stce_ps / 1e6 << " us, DMA alone " << dma_ps / 1e6 << " us";
    EXPECT_LT(dma_waited, 0.5 * dma_ps) << "the firmware waited " << dma_waited / 1e6 << " us for the DMA of "
                                        << dma_ps / 1e6 << " us";
  });
}

// Timing mode moves no data in the engines and skips the host's arithmetic, but runs the same
// jobs and transfers and still charges the host time of the split weight gradient and of the
// nested mask.
TEST(TrainKernels, EveryKernelRunsInTimingMode) {
  boot(with_sram(kSmallSram), SatMode::timing, [](Bench& b) {
    const fw::ConvShape s = conv(8, 6, 20, 20, 3, 1, 1);
    fw::WeightOperand w;
    w.dense = b.output(weight_size(s) * 2);
    fw::GradOperand dy;
    dy.dense = b.output(output_size(s) * 2);
    const std::uint64_t x = b.output(input_size(s) * 2);
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce,
                      [&] { expect_ok(b.kernels.conv_forward(s, x, w, b.output(output_size(s) * 2))); }),
              2u);
    expect_ok(b.kernels.conv_backward_data(s, dy, w, b.output(input_size(s) * 2)));
    EXPECT_EQ(jobs_of(b, fw::SatEngine::stce,
                      [&] { expect_ok(b.kernels.conv_backward_weight(s, dy.dense, x, b.output(weight_size(s) * 2))); }),
              4u);
    const std::uint64_t host_after_split = b.kernels.time().host_ps;
    EXPECT_GT(host_after_split, 0u);
    const fw::model::Param p = weight_param(b, s, std::vector<float>(weight_size(s)), 2, 8, true, true);
    expect_ok(b.kernels.generate_masks(p, 2, 8, true, true, true));
    EXPECT_GT(b.kernels.time().host_ps, host_after_split);
    fw::model::Param q = p;
    q.momentum = b.output(q.count * 4), q.grad = b.output(q.count * 2), q.fp16 = b.output(q.count * 2);
    expect_ok(b.kernels.update(q, 0.1f, 0.9f, 0.0f, 1.0f));
    EXPECT_GT(b.kernels.time().stce_ps, 0u);
    EXPECT_GT(b.kernels.time().osre_ps, 0u);
    EXPECT_GT(b.kernels.time().wuve_ps, 0u);
  });
}

// --- Tiles aligned to the array ---------------------------------------------------------------

namespace {

// A conv2d or linear layer of a shipped training workload, at a batch it runs.
struct ShippedLayer {
  std::string where;  // "resnet18_tinyimagenet conv2d53, N 512, 2x2, ..."
  fw::ConvShape shape;
  unsigned n, m;       // the workload's N:M
  bool training;       // false: the last evaluation batch, forward only
};

std::vector<ShippedLayer> shipped_layers() {
  std::vector<ShippedLayer> layers;
  for (const char* name :
       {"resnet18_tinyimagenet", "resnet9_cifar10", "vit_cifar100", "fashion_mnist_cnn", "fashion_mnist_mlp"}) {
    const TrainWorkload t = load_workload(test::kSource + "/workloads/" + name + ".yaml").train;
    // Evaluation runs the forward pass in batches of `batch`; the last one takes the rest.
    const TrainDataset& d = t.dataset;
    const std::uint32_t tests = d.test_samples ? std::min(d.test_samples, d.standard_test) : d.standard_test;
    const std::uint32_t rest = (t.eval_samples ? t.eval_samples : tests) % t.batch;
    for (std::size_t i = 0; i < t.layers.size(); ++i) {
      const TrainLayer& l = t.layers[i];
      if (!l.trainable()) continue;
      fw::ConvShape s;
      s.n = t.batch, s.h = l.in.h, s.w = l.in.w, s.cin = l.in.c, s.cout = l.out;
      if (l.type == "conv2d") s.kh = s.kw = l.kernel, s.stride = l.stride, s.pad = l.padding;
      const std::string layer = std::string(name) + " " + (l.name.empty() ? l.type + std::to_string(i) : l.name);
      layers.push_back({layer + ", " + describe(s), s, t.n, t.m, true});
      if (rest == 0) continue;
      s.n = rest;
      layers.push_back({layer + ", " + describe(s), s, t.n, t.m, false});
    }
  }
  return layers;
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

// Whether a pass's image chunks can be whole folds of the array's rows: the fewest images whose
// rows (`rows_per_image` each) fill whole folds must fit half of SRAM A (`a_bytes` an image)
// and half of SRAM C (`c_bytes`), all channels included. When they do not (the ViT's q, k, v
// projection: 32 images of 65 tokens x 576 outputs are 2.4 MB), the firmware keeps chunks of
// what fits and their last partial folds: only the columns can be aligned.
bool rows_can_align(const PlatformConfig& config, std::uint64_t rows_per_image, std::uint64_t a_bytes,
                    std::uint64_t c_bytes) {
  const std::uint64_t r = config.sat.array_rows, images = r / std::gcd(rows_per_image, r);
  std::uint64_t half_a = 0, half_c = 0;
  for (const AddressRange& range : config.address_map) {
    if (range.name == "sat_sram_a") half_a = range.size / 2;
    if (range.name == "sat_sram_c") half_c = range.size / 2;
  }
  return images * a_bytes <= half_a && images * c_bytes <= half_c;
}

// Runs a pass and compares the array time of its STCE jobs (KernelCounts::stce_slots: folds x
// R x C x K_eff summed over the jobs) with that of one job of the whole shape, ROWS x COLS x
// K_eff, by docs/engines.md "Timing": ceil(ROWS / R) x ceil(COLS / C) folds of K_eff cycles.
// `rows_align`: false where rows_can_align says the rows cannot be whole folds; the pass is
// then only run.
template <class Pass>
void expect_whole_folds(Bench& b, const PlatformConfig& config, const std::string& what, bool rows_align,
                        std::uint64_t rows, std::uint64_t cols, std::uint64_t k_eff, Pass pass) {
  const std::uint64_t r = config.sat.array_rows, c = config.sat.array_cols;
  const std::uint64_t before = b.kernels.counts().stce_slots;
  const fw::KernelStatus status = pass();
  ASSERT_TRUE(status.ok) << what << ": " << status.problem;
  if (!rows_align) return;
  const std::uint64_t slots = b.kernels.counts().stce_slots - before;
  const std::uint64_t whole_folds = ceil_div(rows, r) * ceil_div(cols, c);
  EXPECT_LE(slots, whole_folds * r * c * k_eff)
      << what << ": the tiles take " << static_cast<double>(slots) / static_cast<double>(r * c * k_eff)
      << " folds of " << k_eff << " cycles, one " << rows << " x " << cols << " job " << whole_folds;
}

}  // namespace

// A pass cut into tiles must take no more array time than one job of the layer's whole shape.
// The array computes a partial fold in the time of a full one, so the tiles must be whole folds
// where SRAM allows: 512 output channels cut 171 + 171 + 170 took 3 x 6 = 18 folds of the 32
// columns where one job takes 16. Every conv2d and linear layer of the shipped training
// workloads at the default platform's SRAM, every pass any scheme runs: forward (training and
// evaluation) and data gradient dense and N:M, the weight gradient dense.
TEST(TrainKernels, TilesOfTheShippedWorkloadsTakeNoMoreFoldsThanOneJob) {
  const PlatformConfig config = test::default_config();
  const std::vector<ShippedLayer> layers = shipped_layers();
  ASSERT_GT(layers.size(), 40u);
  boot(config, SatMode::timing, [&](Bench& b) {
    for (const ShippedLayer& l : layers) {
      const fw::ConvShape& s = l.shape;
      // Timing mode reads no operand values: the tensors only need room in DDR.
      std::uint64_t next = b.next;
      const auto room = [&](std::uint64_t bytes) {
        const std::uint64_t at = next;
        next += (bytes + 127) / 64 * 64;
        return at;
      };
      const std::uint64_t taps = std::uint64_t{s.kh} * s.kw, pixels = std::uint64_t{s.oh()} * s.ow();
      const std::uint64_t out_rows = s.n * pixels, in_rows = std::uint64_t{s.n} * s.h * s.w;
      const std::uint64_t x = room(input_size(s) * 2), y = room(output_size(s) * 2);
      fw::WeightOperand dense;
      dense.dense = room(weight_size(s) * 2);
      // Compressed operands: W~ (lines of Cin per output channel and tap), W~^T and dY~ (of Cout).
      const fw::NmLine cin_line{s.cin, s.cin, l.n, l.m}, cout_line{s.cout, s.cout, l.n, l.m};
      const auto compressed = [&](auto& operand, std::uint64_t lines, const fw::NmLine& line) {
        operand.values = room(fw::model::values_bytes(lines, line));
        operand.indices = room(fw::model::index_bytes(lines, line));
        operand.n = l.n, operand.m = l.m;
      };
      fw::WeightOperand w_fwd, w_bwd;
      compressed(w_fwd, std::uint64_t{s.cout} * taps, cin_line);
      compressed(w_bwd, taps * s.cin, cout_line);
      fw::GradOperand dy, dy_pruned;
      dy.dense = room(output_size(s) * 2);
      compressed(dy_pruned, out_rows, cout_line);
      const std::uint64_t k_cin = taps * ceil_div(s.cin, l.m) * l.n, k_cout = taps * ceil_div(s.cout, l.m) * l.n;
      const std::uint64_t image = std::uint64_t{s.h} * s.w * s.cin * 2, output = pixels * s.cout * 2;
      const bool ff_rows = rows_can_align(config, pixels, image, output);
      const bool bp_rows = rows_can_align(config, std::uint64_t{s.h} * s.w, output, image);
      if (l.where.rfind("resnet18", 0) == 0) {
        EXPECT_TRUE(ff_rows && bp_rows) << l.where << ": every pass of the ResNet-18 is checked";
      }

      expect_whole_folds(b, config, "FF " + l.where, ff_rows, out_rows, s.cout, taps * s.cin,
                         [&] { return b.kernels.conv_forward(s, x, dense, y); });
      expect_whole_folds(b, config, "FF N:M " + l.where, ff_rows, out_rows, s.cout, k_cin,
                         [&] { return b.kernels.conv_forward(s, x, w_fwd, y); });
      if (!l.training) continue;
      expect_whole_folds(b, config, "BP " + l.where, bp_rows, in_rows, s.cin, taps * s.cout,
                         [&] { return b.kernels.conv_backward_data(s, dy, dense, x); });
      expect_whole_folds(b, config, "BP N:M weights " + l.where, bp_rows, in_rows, s.cin, k_cout,
                         [&] { return b.kernels.conv_backward_data(s, dy, w_bwd, x); });
      expect_whole_folds(b, config, "BP N:M output gradient " + l.where, bp_rows, in_rows, s.cin, k_cout,
                         [&] { return b.kernels.conv_backward_data(s, dy_pruned, dense, x); });
      expect_whole_folds(b, config, "WU " + l.where, true, s.cout, taps * s.cin, out_rows,
                         [&] { return b.kernels.conv_backward_weight(s, dy.dense, x, dense.dense); });
    }
  });
}

// --- Problems are reported, never crash -------------------------------------------------------

TEST(TrainKernels, UntileableShapesAndEngineOrDmaFailuresAreReported) {
  boot(with_sram(kSmallSram), SatMode::bit_accurate, [](Bench& b) {
    Random rng(8);
    const auto expect_problem = [](const fw::KernelStatus& st, std::initializer_list<const char*> parts) {
      EXPECT_FALSE(st.ok);
      for (const char* part : parts) EXPECT_NE(st.problem.find(part), std::string::npos) << st.problem;
    };
    fw::WeightOperand w;
    w.dense = b.output(4096 * 2);
    expect_problem(b.kernels.conv_forward(conv(1, 28, 4096, 1, 1, 1, 0), b.output(1), w, b.output(1)),
                   {"conv_forward: one image of 28x28x4096 needs 6422528 B of SRAM A, half of the buffer is 8192 B"});
    // M = 16 is not supported by the platform: OSRE rejects the job.
    expect_problem(
        b.kernels.prune_output_grad(conv(2, 4, 8, 16, 1, 1, 0), b.output(512), 2, 16, b.output(512), b.output(512)),
        {"prune_output_grad: tile 1 of 1", "OSRE", "M_UNSUPPORTED"});
    // X beyond the end of DDR: the DMA reports a read error.
    const std::uint64_t beyond = b.boot.ddr.base + b.boot.ddr.size;
    expect_problem(b.kernels.conv_forward(conv(2, 4, 8, 8, 1, 1, 0), beyond, w, b.output(512)),
                   {"conv_forward: tile 1 of 1", "DMA", "READ_ERROR"});
    fw::GradOperand dy;
    dy.values = dy.indices = b.output(64), dy.n = 2, dy.m = 8;
    fw::WeightOperand ws;
    ws.values = ws.indices = b.output(64), ws.n = 2, ws.m = 8;
    expect_problem(b.kernels.conv_backward_data(conv(1, 2, 8, 8, 1, 1, 0), dy, ws, b.output(64)), {"both compressed"});
    fw::Kernels tiny(b.hal, b.boot, b.dma, b.sat, b.mode, b.boot.ddr.base + kScratch, 1024);
    expect_problem(tiny.conv_backward_weight(conv(8, 6, 20, 20, 3, 1, 1), b.output(8 * 36 * 40), b.output(8 * 36 * 40),
                                             b.output(7200)),
                   {"conv_backward_weight", "DDR scratch"});
    // The hardware is left idle: the next pass runs.
    check_forward_dense(b, conv(2, 4, 8, 8, 3, 1, 1), rng);
  });
}
