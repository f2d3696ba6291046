// Prints the bit patterns of the libm functions the firmware uses (float erf/exp/log/sqrt, double
// pow/exp/log) over deterministic inputs; build it for x86-64 and riscv64 and diff the outputs
// (scripts/compare_math.py). Same source, same flags (-O2 -ffp-contract=off).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

static std::uint32_t bits(float f) { std::uint32_t u; std::memcpy(&u, &f, 4); return u; }
static std::uint64_t bits(double d) { std::uint64_t u; std::memcpy(&u, &d, 8); return u; }

int main() {
  const int n = 100000;
  std::uint64_t s = 12345;
  auto rnd = [&] { s = s * 6364136223846793005ull + 1442695040888963407ull; return (s >> 11) * 0x1p-53; };
  for (int i = 0; i < n; ++i) {
    const float xe = float(-40.0 + 80.0 * rnd());              // exp: softmax/GELU range
    // (each rnd() in its own statement: argument evaluation order differs between the two ABIs)
    const double m1 = 0.5 + 0.5 * rnd();
    const int e1 = int(rnd() * 60) - 30;
    const float xl = float(std::ldexp(m1, e1));  // log: positive
    const float xr = float(-6.0 + 12.0 * rnd());               // erf
    const double de = -700.0 + 1400.0 * rnd();
    const double m2 = 0.5 + 0.5 * rnd();
    const int e2 = int(rnd() * 200) - 100;
    const double dl = std::ldexp(m2, e2);
    const double pb = 0.5 + rnd();
    const double pe = double(int(rnd() * 100));  // lr * pow(gamma, k)
    std::printf("M %08x %08x %08x %08x %016llx %016llx %016llx\n", bits(std::exp(xe)), bits(std::log(xl)),
                bits(std::erf(xr)), bits(std::sqrt(xl)), (unsigned long long)bits(std::exp(de)),
                (unsigned long long)bits(std::log(dl)), (unsigned long long)bits(std::pow(pb, pe)));
  }
  return 0;
}
