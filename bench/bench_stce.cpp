// STCE compute speed (models/sat/stce_compute.cpp), two benches:
// - square GEMMs: plain OpenBLAS SGEMM on FP32 matrices, on one thread as stce_compute runs it,
//   against stce_compute in functional mode on the same values held as FP16 (A [n][n], B [n][n],
//   FP32 C) and, on the smaller sizes, in bit-accurate mode. Prints GFLOP/s (2·n^3 flops per
//   GEMM) and the ratio functional / OpenBLAS; each figure is the best of several runs, OpenBLAS
//   and functional taking turns.
// - --cnn: the STCE jobs of one training iteration of the Fashion-MNIST CNN (batch 64, BDWP 2:8
//   on the middle layers, FP16 outputs as the training kernels write them), in functional mode:
//   wall milliseconds per job (best of several runs; MFLOP counts 2·ROWS·COLS·K, times N/M with
//   a compressed operand), the dense variants of the sparse jobs for comparison, and the
//   iteration's jobs back to back (best and median).
// Usage: bench_stce [--b-trans] [n ...]   (default sizes 256 512 1024 2048; bit-accurate up to 512)
//        bench_stce --cnn
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include <cblas.h>

#include "sat/stce_compute.h"
#include <cestvp/fp16.h>

using namespace cestvp::sat;

namespace {

constexpr std::uint32_t kBitAccurateMax = 512;

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best wall time of each function, run in turn (so that a load on the machine hits them alike)
// at least `reps` times and for at least `total` seconds.
std::vector<double> best_seconds(const std::vector<std::function<void()>>& fs, int reps, double total) {
  std::vector<double> best(fs.size(), 1e30);
  double spent = 0;
  for (int i = 0; i < reps || spent < total; ++i) {
    for (std::size_t f = 0; f < fs.size(); ++f) {
      const double s = seconds(fs[f]);
      best[f] = std::min(best[f], s);
      spent += s;
    }
  }
  return best;
}

std::vector<std::uint16_t> random_fp16(std::size_t count, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<std::uint16_t> out(count);
  for (auto& v : out) v = cestvp::fw::float_to_half(dist(gen));
  return out;
}

void bench(std::uint32_t n, bool b_trans, std::mt19937& gen) {
  const std::size_t count = std::size_t{n} * n;
  const std::vector<std::uint16_t> a16 = random_fp16(count, gen), b16 = random_fp16(count, gen);
  std::vector<float> a(count), b(count), c(count);
  for (std::size_t i = 0; i < count; ++i) a[i] = cestvp::fw::half_to_float(a16[i]), b[i] = cestvp::fw::half_to_float(b16[i]);
  std::vector<std::uint8_t> c_sram(count * 4);

  StceWork job;
  job.rows = job.cols = job.depth = job.segment = n;
  job.b_trans = b_trans;
  job.a = reinterpret_cast<const std::uint8_t*>(a16.data());
  job.b = reinterpret_cast<const std::uint8_t*>(b16.data());
  job.c = c_sram.data();

  const int i = static_cast<int>(n);
  const double flops = 2.0 * n * n * n;
  const auto blas = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b_trans ? CblasTrans : CblasNoTrans, i, i, i, 1.0f, a.data(), i, b.data(),
                i, 0.0f, c.data(), i);
  };
  const std::vector<double> t = best_seconds({blas, [&] { stce_compute(job, cestvp::SatMode::functional); }}, 5, 1.0);
  std::printf("%6u  %10.2f  %10.2f  %6.1f%%", n, flops / t[0] / 1e9, flops / t[1] / 1e9, 100 * t[0] / t[1]);
  if (n <= kBitAccurateMax) {
    const double exact = best_seconds({[&] { stce_compute(job, cestvp::SatMode::bit_accurate); }}, 1, 0.5)[0];
    std::printf("  %12.3f", flops / exact / 1e9);
  }
  std::printf("\n");
}

// ---- The CNN iteration ----

// One STCE job of the iteration; `counted` is false for the dense variants of sparse jobs.
struct CnnJob {
  const char* name;
  StceOp op;
  cestvp::fw::ConvDims shape;  // batch, h, w, cin, cout, kh, kw, stride, pad
  bool b_sparse;
  bool counted;
};

// The job's operands, held as SRAM would hold them.
struct CnnOperands {
  StceWork job;
  std::vector<std::uint16_t> a, b;
  std::vector<std::uint32_t> b_idx;
  std::vector<std::uint8_t> c;
};

// The engine's GEMM view of a convolution, as the SAT block derives it (models/sat/decode.cpp).
StceWork conv_job(const CnnJob& spec) {
  StceWork j;
  j.op = spec.op;
  j.out_fp16 = true;
  j.conv = spec.shape;
  const cestvp::fw::ConvDims& s = j.conv;
  const std::uint32_t taps = s.kh * s.kw, in_pixels = s.batch * s.h * s.w, out_pixels = s.batch * s.oh() * s.ow();
  switch (spec.op) {
    case StceOp::conv_fwd: j.rows = out_pixels, j.cols = s.cout, j.depth = taps * s.cin, j.segment = s.cin; break;
    case StceOp::conv_bwd_data: j.rows = in_pixels, j.cols = s.cin, j.depth = taps * s.cout, j.segment = s.cout; break;
    case StceOp::conv_bwd_weight:
      j.rows = s.cout, j.cols = taps * s.cin, j.depth = out_pixels, j.segment = out_pixels;
      break;
    case StceOp::gemm: break;
  }
  if (spec.b_sparse) j.b_sparse = true, j.n = 2, j.m = 8;
  return j;
}

CnnOperands make_operands(const CnnJob& spec, std::mt19937& gen) {
  CnnOperands o;
  o.job = conv_job(spec);
  const cestvp::fw::ConvDims& s = o.job.conv;
  const std::size_t taps = std::size_t{s.kh} * s.kw, weights = taps * s.cin * s.cout;
  const std::size_t x = std::size_t{s.batch} * s.h * s.w * s.cin, dy = std::size_t{s.batch} * s.oh() * s.ow() * s.cout;
  o.a = random_fp16(spec.op == StceOp::conv_fwd ? x : dy, gen);
  if (spec.b_sparse) {  // compressed lines of one segment each, random in-group indices
    const cestvp::fw::NmLine line = o.job.line();
    const std::size_t lines = weights / o.job.segment;
    o.b = random_fp16(lines * line.entries(), gen);
    o.b_idx.resize(lines * line.index_words());
    for (auto& w : o.b_idx) w = static_cast<std::uint32_t>(gen());
  } else {
    o.b = random_fp16(spec.op == StceOp::conv_bwd_weight ? x : weights, gen);
  }
  o.c.resize(std::size_t{o.job.rows} * o.job.cols * 2);
  o.job.a = reinterpret_cast<const std::uint8_t*>(o.a.data());
  o.job.b = reinterpret_cast<const std::uint8_t*>(o.b.data());
  o.job.b_idx = spec.b_sparse ? o.b_idx.data() : nullptr;
  o.job.c = o.c.data();
  return o;
}

void bench_cnn(std::mt19937& gen) {
  const cestvp::fw::ConvDims conv1{64, 28, 28, 1, 16, 3, 3, 1, 1}, conv2{64, 14, 14, 16, 32, 3, 3, 1, 1};
  const cestvp::fw::ConvDims fc1{64, 1, 1, 1568, 128, 1, 1, 1, 0}, fc2{64, 1, 1, 128, 10, 1, 1, 1, 0};
  const StceOp fwd = StceOp::conv_fwd, data = StceOp::conv_bwd_data, weight = StceOp::conv_bwd_weight;
  const CnnJob specs[] = {
      {"conv1 FF", fwd, conv1, false, true},
      {"conv2 FF W~ 2:8", fwd, conv2, true, true},
      {"conv2 FF dense", fwd, conv2, false, false},
      {"fc1 FF W~ 2:8", fwd, fc1, true, true},
      {"fc1 FF dense", fwd, fc1, false, false},
      {"fc2 FF", fwd, fc2, false, true},
      {"fc2 BP data", data, fc2, false, true},
      {"fc1 BP data W~^T 2:8", data, fc1, true, true},
      {"fc1 BP data dense", data, fc1, false, false},
      {"conv2 BP data W~^T 2:8", data, conv2, true, true},
      {"conv2 BP data dense", data, conv2, false, false},
      {"fc2 BP weight", weight, fc2, false, true},
      {"fc1 BP weight", weight, fc1, false, true},
      {"conv2 BP weight", weight, conv2, false, true},
      {"conv1 BP weight", weight, conv1, false, true},
  };
  std::vector<CnnOperands> jobs;
  for (const CnnJob& spec : specs) jobs.push_back(make_operands(spec, gen));

  std::printf("STCE jobs of one Fashion-MNIST CNN iteration (batch 64), functional mode, FP16 C; %s\n",
              OPENBLAS_VERSION);
  std::printf("%-24s  %6s  %6s  %6s  %9s  %8s\n", "job", "ROWS", "COLS", "K", "MFLOP", "best ms");
  double sum = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const StceWork& j = jobs[i].job;
    const double ms = 1e3 * best_seconds({[&] { stce_compute(j, cestvp::SatMode::functional); }}, 5, 0.3)[0];
    if (specs[i].counted) sum += ms;
    std::printf("%-24s  %6u  %6u  %6u  %9.1f  %8.3f%s\n", specs[i].name, j.rows, j.cols, j.depth,
                2e-6 * j.rows * j.cols * j.depth * (j.b_sparse ? static_cast<double>(j.n) / j.m : 1.0), ms,
                specs[i].counted ? "" : "  (not counted)");
  }
  std::vector<double> runs;
  for (double spent = 0; runs.size() < 20 || spent < 2.0; spent += runs.back()) {
    runs.push_back(seconds([&] {
      for (std::size_t i = 0; i < jobs.size(); ++i)
        if (specs[i].counted) stce_compute(jobs[i].job, cestvp::SatMode::functional);
    }));
  }
  std::sort(runs.begin(), runs.end());
  std::printf("sum of best times of the counted jobs: %.2f ms\n", sum);
  std::printf("counted jobs back to back, %zu runs: best %.2f ms, median %.2f ms\n", runs.size(), 1e3 * runs.front(),
              1e3 * runs[runs.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  bool b_trans = false, cnn = false;
  std::vector<std::uint32_t> sizes;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--b-trans") == 0)
      b_trans = true;
    else if (std::strcmp(argv[i], "--cnn") == 0)
      cnn = true;
    else
      sizes.push_back(static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  }
  std::mt19937 gen(1);
  if (cnn) {
    bench_cnn(gen);
    return 0;
  }
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  openblas_set_num_threads(1);
  std::printf("STCE GEMM, FP16 A x %s -> FP32 C;%s\n", b_trans ? "B^T (B_TRANS)" : "B", OPENBLAS_VERSION);
  std::printf("%6s  %10s  %10s  %7s  %12s\n", "n", "OpenBLAS", "functional", "ratio", "bit-accurate");
  std::printf("%6s  %10s  %10s  %7s  %12s\n", "", "GFLOP/s", "GFLOP/s", "", "GFLOP/s");
  for (const std::uint32_t n : sizes) bench(n, b_trans, gen);
  return 0;
}
