// STCE compute speed on square GEMMs: plain OpenBLAS SGEMM on FP32 matrices, against
// stce_compute in functional mode on the same values held as FP16 (A [n][n], B [n][n], FP32 C)
// and, on the smaller sizes, in bit-accurate mode. Prints GFLOP/s (2·n^3 flops per GEMM) and
// the ratio functional / OpenBLAS; each figure is the best of several runs, OpenBLAS and
// functional taking turns.
// Usage: bench_stce [--b-trans] [n ...]   (default sizes 256 512 1024 2048; bit-accurate up to 512)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include <cblas.h>

#include "sat/fp16.h"
#include "sat/stce_compute.h"

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
  for (auto& v : out) v = float_to_fp16(dist(gen));
  return out;
}

void bench(std::uint32_t n, bool b_trans, std::mt19937& gen) {
  const std::size_t count = std::size_t{n} * n;
  const std::vector<std::uint16_t> a16 = random_fp16(count, gen), b16 = random_fp16(count, gen);
  std::vector<float> a(count), b(count), c(count);
  for (std::size_t i = 0; i < count; ++i) a[i] = fp16_to_float(a16[i]), b[i] = fp16_to_float(b16[i]);
  std::vector<std::uint8_t> c_sram(count * 4);

  StceJob job;
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
  const std::vector<double> t = best_seconds({blas, [&] { stce_compute(job, Mode::functional); }}, 5, 1.0);
  std::printf("%6u  %10.2f  %10.2f  %6.1f%%", n, flops / t[0] / 1e9, flops / t[1] / 1e9, 100 * t[0] / t[1]);
  if (n <= kBitAccurateMax) {
    const double exact = best_seconds({[&] { stce_compute(job, Mode::bit_accurate); }}, 1, 0.5)[0];
    std::printf("  %12.3f", flops / exact / 1e9);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool b_trans = false;
  std::vector<std::uint32_t> sizes;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--b-trans") == 0)
      b_trans = true;
    else
      sizes.push_back(static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  }
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  std::printf("STCE GEMM, FP16 A x %s -> FP32 C;%s\n", b_trans ? "B^T (B_TRANS)" : "B", OPENBLAS_VERSION);
  std::printf("%6s  %10s  %10s  %7s  %12s\n", "n", "OpenBLAS", "functional", "ratio", "bit-accurate");
  std::printf("%6s  %10s  %10s  %7s  %12s\n", "", "GFLOP/s", "GFLOP/s", "", "GFLOP/s");
  std::mt19937 gen(1);
  for (const std::uint32_t n : sizes) bench(n, b_trans, gen);
  return 0;
}
