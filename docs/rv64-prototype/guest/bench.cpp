// Guest MIPS benchmarks. Each phase is marked through the sim-control device, so the host
// prints instructions (from its block hook) and wall time per phase.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simctl.h"

namespace {
volatile std::uint64_t sink;

void int_loop(std::uint64_t n) {  // LCG + xorshift: integer ALU, no memory traffic
  std::uint64_t x = 88172645463325252ull, acc = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    acc ^= x >> 17;
    acc += i;
  }
  sink = acc;
}

// Batch-norm forward, FP32, one channel of n elements: mean, variance, normalise+scale+shift.
void bn_forward(const float* x, float* y, std::size_t n, float gamma, float beta) {
  float sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const float mean = sum / n;
  float var = 0;
  for (std::size_t i = 0; i < n; ++i) { const float d = x[i] - mean; var += d * d; }
  var /= n;
  const float inv = 1.0f / std::sqrt(var + 1e-5f);
  for (std::size_t i = 0; i < n; ++i) y[i] = gamma * (x[i] - mean) * inv + beta;
}
}  // namespace

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "all";
  const bool all = std::strcmp(what, "all") == 0;
  char line[160];
  if (all || !std::strcmp(what, "int")) {
    simctl::phase("int-loop 50M");
    int_loop(50'000'000);
  }
  if (all || !std::strcmp(what, "bn")) {
    const std::size_t n = 1 << 20;
    std::vector<float> x(n), y(n);
    simctl::phase("bn-init");
    for (std::size_t i = 0; i < n; ++i) x[i] = float((i * 2654435761u) % 1000) / 100.0f;
    simctl::phase("bn-forward 1M x 5");
    for (int r = 0; r < 5; ++r) bn_forward(x.data(), y.data(), n, 1.5f, 0.25f);
    simctl::phase("bn stats only (read-only) 1M x 5");
    float acc = 0;
    for (int r = 0; r < 5; ++r) {
      float sum = 0, sq = 0;
      for (std::size_t i = 0; i < n; ++i) { sum += x[i]; sq += x[i] * x[i]; }
      acc += sum + sq;
    }
    simctl::phase("bn normalise (1 store/elem) 1M x 5");
    for (int r = 0; r < 5; ++r)
      for (std::size_t i = 0; i < n; ++i) y[i] = 1.5f * (x[i] - 0.5f) * 0.25f + acc * 1e-30f;
    simctl::phase("bn-done");
    std::snprintf(line, sizeof line, "bn y[12345]=%.6f", y[12345]);
    simctl::puts(line);
  }
  if (all || !std::strcmp(what, "mem")) {
    const std::size_t n = 16 << 20;
    std::vector<char> a(n), b(n);
    simctl::phase("memset 16MiB x 4");
    for (int r = 0; r < 4; ++r) std::memset(a.data(), r, n);
    simctl::phase("memcpy 16MiB x 4");
    for (int r = 0; r < 4; ++r) std::memcpy(b.data(), a.data(), n);
    simctl::phase("store-loop 4M words x 4");
    auto* w = reinterpret_cast<std::uint32_t*>(a.data());
    for (int r = 0; r < 4; ++r)
      for (std::size_t i = 0; i < n / 4; ++i) w[i] = std::uint32_t(i * r);
    simctl::phase("mem-done");
    sink = b[n - 1] + w[7];
  }
  if (all || !std::strcmp(what, "mmio")) {
    constexpr int kN = 1'000'000;
    simctl::phase("mmio-write 1M");
    auto* sink32 = reinterpret_cast<volatile std::uint32_t*>(simctl::kBase + simctl::SINK);  // 32-bit, like Hal::write32
    for (int i = 0; i < kN; ++i) *sink32 = i;
    simctl::phase("mmio-read 1M");
    std::uint64_t s = 0;
    for (int i = 0; i < kN; ++i) s += *sink32;
    simctl::phase("putc-bytewise 100k");
    for (int i = 0; i < 100000; ++i) simctl::putc(i % 64 == 63 ? '\n' : 'x');
    simctl::phase("mmio-done");
    sink = s;
  }
  simctl::phase("end");
  return 0;
}
