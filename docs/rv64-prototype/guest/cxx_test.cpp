// Everything the CEST-VP firmware uses from the C++ library (see firmware/src): vector, string,
// function, optional, algorithm, cmath (sqrt, exp, log, erf, pow), snprintf/vsnprintf with %f/%g/%llu/%zu,
// new/delete, exceptions (throw/catch of a class type), function-local statics (__cxa_guard), virtual calls.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "simctl.h"

namespace {
struct Problem { std::string message; };
[[noreturn]] void fail(std::string m) { throw Problem{std::move(m)}; }

struct Hal { virtual ~Hal() = default; virtual std::uint32_t read32(std::uint64_t a) = 0; };
struct MmioHal final : Hal {
  std::uint32_t read32(std::uint64_t a) override { return *reinterpret_cast<volatile std::uint32_t*>(a); }
};

const std::vector<float>& table() {
  static const std::vector<float> values = [] {
    std::vector<float> v(64);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::erf(static_cast<float>(i) / 16.0f);
    return v;
  }();
  return values;
}

void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void logf(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  simctl::puts(buf);
}
}  // namespace

int main(int argc, char** argv) {
  logf("argc=%d argv[0]=%s", argc, argc > 0 ? argv[0] : "(none)");
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("layer " + std::to_string(i));
  std::sort(names.begin(), names.end());
  using Check = std::function<std::string()>;
  std::vector<std::pair<std::string, Check>> checks = {
      {"strings", [&] { return names.front() == "layer 0" ? std::string() : "bad sort"; }},
      {"math", [] {
         const double v = std::sqrt(2.0) * std::exp(1.0) * std::log(3.0) * std::pow(1.5, 2.5);
         char b[64];
         std::snprintf(b, sizeof b, "%.17g", v);
         return std::string(b) == "11.63809987696022" ? std::string() : std::string("math gives ") + b; }},
      {"erf-static", [] { return std::fabs(table()[16] - 0.8427007794f) < 1e-6f ? std::string() : "erf"; }},
      {"exceptions", [] {
         try { fail("thrown"); } catch (const Problem& p) { return p.message == "thrown" ? std::string() : "msg"; }
         return std::string("not caught"); }},
      {"new/delete", [] {
         auto* big = new std::vector<double>(1 << 20, 1.0);  // 8 MiB: goes to mmap, not brk
         double s = 0; for (double x : *big) s += x;
         delete big;
         std::optional<int> o = 3;
         return (s == double(1 << 20) && *o == 3) ? std::string() : "sum"; }},
      {"virtual", [] { MmioHal h; Hal& hal = h; return hal.read32(simctl::kBase + simctl::SINK) == 0 ? std::string() : "mmio"; }},
  };
  int failed = 0;
  for (auto& [name, check] : checks) {
    const std::string problem = check();
    logf("check %-10s %s", name.c_str(), problem.empty() ? "PASS" : problem.c_str());
    failed += !problem.empty();
  }
  logf("float %%f: %.3f, %%g: %g, %%llu: %llu, %%zu: %zu", 3.14159, 1e-7, 18446744073709551615ull, sizeof(long));
  std::printf("printf through the write syscall: %d checks, %d failed\n", int(checks.size()), failed);
  std::fflush(stdout);
  return failed;  // exit through glibc's exit -> exit_group
}
