#include <cestvp/engine_selftest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <cestvp/check_harness.h>
#include <cestvp/dma_driver.h>
#include <cestvp/irq.h>
#include <cestvp/regs.h>
#include <cestvp/sat_driver.h>
#include <cestvp/sat_probe.h>
#include <cestvp/sat_reference.h>

#include "engine_operands.h"

namespace cestvp::fw {

namespace {

// Host cycles the firmware spends per multiply-accumulate of the reference loops [assumed]
// (per word it generates or compares: kHostCyclesPerWord).
constexpr std::uint64_t kHostCyclesPerMac = 2;

unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

// OSRE's counters: elements read, and of those dropped.
std::uint64_t osre_ops(const OsreJob& j) { return std::uint64_t{j.lines()} * j.line().length; }
std::uint64_t osre_dropped(const OsreJob& j) {
  const NmLine l = j.line();
  const std::uint64_t kept = std::uint64_t{l.length / j.m} * j.n + std::min(j.n, l.length % j.m);
  return osre_ops(j) - j.lines() * kept;
}

class Selftest {
 public:
  Selftest(Hal& hal, const BootInfo& boot, const EngineSelftestParams& params)
      : hal_(hal), boot_(boot), params_(params), irq_(hal, boot.irqc.base), dma_(hal, irq_, boot, params.timeout_ns),
        checks_(hal, 16), rng_(params.seed) {}

  int run();

 private:
  std::string check_probe();
  std::string check_gemm_dense();
  std::string check_linear_ff();
  std::string check_linear_bp();
  std::string check_linear_wu();
  std::string check_conv_ff();
  std::string check_conv_bwd_data();
  std::string check_conv_bwd_weight();
  std::string check_gemm_sdgp();
  std::string check_conv_bwd_data_sdgp();
  std::string check_wuve();
  std::string check_concurrent();
  std::string check_bad_nm();
  std::string check_bad_sram();

  // A new check: empty SRAM buffers, the next random stream.
  void reset(std::uint32_t stream);
  std::uint32_t alloc(SramBuffer buffer, std::uint64_t bytes);
  bool data() const { return params_.mode != SatMode::timing; }
  std::uint64_t staging() const { return boot_.ddr.base + params_.ddr_scratch_offset; }
  // Image bytes -> DDR -> DMA -> SRAM, and back.
  std::string upload(std::uint32_t addr, std::uint64_t bytes);
  std::string download(std::uint32_t addr, std::uint64_t bytes, std::vector<std::uint8_t>& out);
  void charge(std::uint64_t cycles) { hal_.charge_host_time(cycles * boot_.host_cycle_ps); }

  template <class Driver, class Job>
  SatJobResult run_job(Driver& driver, const Job& job, SatCounters& delta);
  std::string expect_done(const char* what, const SatJobResult& r, const SatCounters& delta, std::uint64_t ops,
                          std::uint64_t skipped);
  std::string expect_error(const SatJobResult& r, const SatCounters& delta, std::uint32_t cause);

  // Runs the job and checks completion, counters and (with data) its result.
  template <class Job>
  std::string stce(const char* what, const Job& job);
  std::string osre(const char* what, const OsreJob& job);
  std::string wuve(const char* what, const WuveJob& job);
  // Result checks against the image after the reference ran.
  template <class Job>
  std::string check_stce_result(const char* what, const Job& job);
  std::string check_osre_result(const char* what, const OsreJob& job);
  std::string check_wuve_result(const char* what, const WuveJob& job);
  std::string compare_exact(const char* what, std::uint32_t addr, std::uint64_t bytes);
  std::string compare_c(const char* what, std::uint32_t addr, const StceShape& shape, bool out_fp16,
                        const std::vector<double>& bound);
  void note_job(const char* what, const SatCounters& delta);

  Hal& hal_;
  const BootInfo& boot_;
  const EngineSelftestParams& params_;
  Irq irq_;
  DmaDriver dma_;
  CheckHarness checks_;  // the self-test's lines pad the check names to 16 columns
  std::optional<SatDriver> sat_;  // once the probe found the SAT this firmware was built for
  SatInfo info_;
  SramImage image_;
  TensorRandom rng_;
  std::uint64_t top_[3] = {};
};

int Selftest::run() {
  checks_.say(LogLevel::info,
              "engine self-test: %s mode (%s), N:M %u:%u, SAT registers at 0x%llx, DDR staging at 0x%llx",
              to_string(params_.mode),
              params_.mode == SatMode::bit_accurate ? "results compared bit for bit"
              : params_.mode == SatMode::functional ? "results compared within the functional tolerance"
                                                    : "no data; completion and counters checked",
              params_.n, params_.m, ull(boot_.sat_regs.base), ull(staging()));
  if (!checks_.run("sat-probe", [this] { return check_probe(); })) {
    checks_.say(LogLevel::error, "engine self-test: stopped: this firmware does not match the hardware it runs on");
    return 1;
  }
  sat_.emplace(hal_, irq_, boot_, params_.timeout_ns);
  checks_.run("gemm-dense", [this] { return check_gemm_dense(); });
  checks_.run("linear-ff-nm", [this] { return check_linear_ff(); });
  checks_.run("linear-bp-nm", [this] { return check_linear_bp(); });
  checks_.run("linear-wu", [this] { return check_linear_wu(); });
  checks_.run("conv-ff-nm", [this] { return check_conv_ff(); });
  checks_.run("conv-bwd-data-nm", [this] { return check_conv_bwd_data(); });
  checks_.run("conv-bwd-weight", [this] { return check_conv_bwd_weight(); });
  checks_.run("gemm-sdgp-acc", [this] { return check_gemm_sdgp(); });
  checks_.run("conv-bwd-data-sdgp", [this] { return check_conv_bwd_data_sdgp(); });
  checks_.run("wuve-sgd", [this] { return check_wuve(); });
  checks_.run("concurrent", [this] { return check_concurrent(); });
  checks_.run("bad-nm", [this] { return check_bad_nm(); });
  checks_.run("bad-sram", [this] { return check_bad_sram(); });
  checks_.summary("engine self-test: %u of %u checks passed (%s mode)", checks_.passed(), checks_.total(),
                  to_string(params_.mode));
  return checks_.exit_code();
}

// --- Placement and transfers ----------------------------------------------------------------

void Selftest::reset(std::uint32_t stream) {
  std::fill(std::begin(top_), std::end(top_), 0);
  rng_ = TensorRandom(params_.seed * 0x9E3779B1u + stream);
}

std::uint32_t Selftest::alloc(SramBuffer buffer, std::uint64_t bytes) {
  std::uint64_t& top = top_[static_cast<unsigned>(buffer)];
  const std::uint64_t offset = next_operand_offset(top);
  top = offset + bytes;
  return sram_address(buffer, static_cast<std::uint32_t>(offset));
}

std::string Selftest::upload(std::uint32_t addr, std::uint64_t bytes) {
  if (!data()) return {};
  const StagedUpload up = upload_to_sram(hal_, dma_, boot_, staging(), image_, addr, bytes);
  if (!up.staging_written) return "writing the DDR staging area failed (see the bus error above)";
  return up.dma.ok ? std::string() : "DMA to SRAM: " + up.dma.describe();
}

std::string Selftest::download(std::uint32_t addr, std::uint64_t bytes, std::vector<std::uint8_t>& out) {
  const DmaResult r = dma_.copy({sram_bus_address(boot_, addr), staging(), static_cast<std::uint32_t>(bytes), 1, 0, 0});
  if (!r.ok) return "DMA from SRAM: " + r.describe();
  out.resize(bytes);
  if (hal_.read_block(staging(), out.data(), bytes) != BusStatus::ok)
    return "reading the DDR staging area failed (see the bus error above)";
  return {};
}

// --- Job checks -----------------------------------------------------------------------------

template <class Driver, class Job>
SatJobResult Selftest::run_job(Driver& driver, const Job& job, SatCounters& delta) {
  const SatCounters before = driver.counters();
  const SatJobResult r = driver.run(job);
  delta = driver.counters() - before;
  return r;
}

std::string Selftest::expect_done(const char* what, const SatJobResult& r, const SatCounters& d, std::uint64_t ops,
                                  std::uint64_t skipped) {
  char buf[320];
  const auto fail = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, what, args...);
    return std::string(buf);
  };
  if (!r.problem.empty()) return fail("%s: driver: %s", r.problem.c_str());
  if (!r.ok) return fail("%s: the engine reported %s", r.cause_name());
  if (d.jobs != 1) return fail("%s: JOBS grew by %llu, expected 1", ull(d.jobs));
  if (d.ops != ops) return fail("%s: OPS counted %llu, expected %llu", ull(d.ops), ull(ops));
  if (d.ops_skipped != skipped) return fail("%s: OPS_SKIPPED counted %llu, expected %llu", ull(d.ops_skipped), ull(skipped));
  if (d.busy_cycles == 0 || d.stall_cycles > d.busy_cycles)
    return fail("%s: BUSY_CYCLES %llu with STALL_CYCLES %llu", ull(d.busy_cycles), ull(d.stall_cycles));
  if (d.sram_read == 0 || d.sram_write == 0)
    return fail("%s: SRAM_READ %llu and SRAM_WRITE %llu bytes, expected both above 0", ull(d.sram_read), ull(d.sram_write));
  // The interrupt cannot come before the engine's busy time has passed.
  const double busy_ps = static_cast<double>(d.busy_cycles) * 1e9 / info_.clock_khz;
  if (static_cast<double>(r.end_ps - r.start_ps) + 1.0 < busy_ps)
    return fail("%s: completion seen %.3f us after START, before its %llu busy cycles (%.3f us) passed",
                (r.end_ps - r.start_ps) / 1e6, ull(d.busy_cycles), busy_ps / 1e6);
  return {};
}

std::string Selftest::expect_error(const SatJobResult& r, const SatCounters& d, std::uint32_t cause) {
  char buf[256];
  if (!r.problem.empty()) return "driver: " + r.problem;
  if (r.ok) return std::string("the engine accepted the job; expected ") + sat_cause_name(cause);
  if (r.cause != cause) {
    std::snprintf(buf, sizeof buf, "the engine reported %s, expected %s", r.cause_name(), sat_cause_name(cause));
    return buf;
  }
  if (d.jobs != 0 || d.busy_cycles != 1 || d.ops != 0 || d.sram_read != 0 || d.sram_write != 0) {
    std::snprintf(buf, sizeof buf,
                  "a rejected job counted JOBS +%llu, BUSY_CYCLES +%llu, OPS +%llu, SRAM +%llu/+%llu B; expected 0, 1, 0, 0/0",
                  ull(d.jobs), ull(d.busy_cycles), ull(d.ops), ull(d.sram_read), ull(d.sram_write));
    return buf;
  }
  return {};
}

void Selftest::note_job(const char* what, const SatCounters& d) {
  checks_.note("%s %llu cycles (%llu stall), %llu ops (%llu skipped)", what, ull(d.busy_cycles),
               ull(d.stall_cycles), ull(d.ops), ull(d.ops_skipped));
}

std::string Selftest::compare_exact(const char* what, std::uint32_t addr, std::uint64_t bytes) {
  std::vector<std::uint8_t> actual;
  if (std::string p = download(addr, bytes, actual); !p.empty()) return p;
  charge(bytes / 4 * kHostCyclesPerWord);
  const std::uint8_t* expected = image_.at(addr, bytes);
  std::uint64_t bad = 0, first = 0;
  for (std::uint64_t i = 0; i < bytes; ++i)
    if (actual[i] != expected[i] && bad++ == 0) first = i;
  if (bad == 0) return {};
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %llu of %llu bytes differ; first at SRAM 0x%08llx: 0x%02x, expected 0x%02x", what,
                ull(bad), ull(bytes), ull(addr + first), actual[first], expected[first]);
  return buf;
}

std::string Selftest::compare_c(const char* what, std::uint32_t addr, const StceShape& s, bool out_fp16,
                                const std::vector<double>& bound) {
  if (params_.mode == SatMode::bit_accurate) return compare_exact(what, addr, s.c_bytes);
  std::vector<std::uint8_t> actual;
  if (std::string p = download(addr, s.c_bytes, actual); !p.empty()) return p;
  const std::uint64_t elements = std::uint64_t{s.rows} * s.cols;
  charge(elements * kHostCyclesPerWord);
  const std::uint8_t* expected = image_.at(addr, s.c_bytes);
  const auto value = [out_fp16](const std::uint8_t* p, std::uint64_t i) {
    if (out_fp16) {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      return half_to_float(h);
    }
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  };
  std::uint64_t bad = 0, first = 0;
  double worst = 0;  // largest error as a fraction of its bound
  for (std::uint64_t i = 0; i < elements; ++i) {
    const double got = value(actual.data(), i), want = value(expected, i);
    // An FP16 C rounds both sides once more: allow one FP16 step of the value on top.
    const double tolerance = bound[i] + (out_fp16 ? std::fabs(want) * 0x1p-10 + 0x1p-24 : 0.0);
    const double error = std::fabs(got - want);
    if (!(error <= tolerance) && bad++ == 0) first = i;
    if (tolerance > 0) worst = std::max(worst, error / tolerance);
  }
  if (bad != 0) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s: %llu of %llu elements outside the functional tolerance; first C[%llu][%llu] = %.9g, "
                  "expected %.9g +- %.3g", what, ull(bad), ull(elements), ull(first / s.cols), ull(first % s.cols),
                  value(actual.data(), first), value(expected, first), bound[first]);
    return buf;
  }
  checks_.note("%s within tolerance (largest error %.0f%% of its bound)", what, worst * 100);
  return {};
}

template <class Job>
std::string Selftest::check_stce_result(const char* what, const Job& job) {
  const StceShape shape = stce_shape(job);
  std::vector<double> bound;
  reference_stce(job, image_, &bound);
  charge(shape.macs * kHostCyclesPerMac);
  return compare_c(what, job.c, shape, job.out_fp16, bound);
}

std::string Selftest::check_osre_result(const char* what, const OsreJob& job) {
  reference_osre(job, image_);
  charge(osre_ops(job) * kHostCyclesPerWord);
  std::string p = compare_exact(what, job.values, job.values_bytes());
  return p.empty() ? compare_exact(what, job.indices, job.index_bytes()) : p;
}

std::string Selftest::check_wuve_result(const char* what, const WuveJob& job) {
  reference_wuve(job, image_);
  charge(std::uint64_t{job.count} * 5 * kHostCyclesPerWord);
  std::string p = compare_exact(what, job.weight, std::uint64_t{job.count} * 4);
  if (p.empty()) p = compare_exact(what, job.velocity, std::uint64_t{job.count} * 4);
  if (p.empty() && job.write_fp16) p = compare_exact(what, job.out, std::uint64_t{job.count} * 2);
  return p;
}

template <class Job>
std::string Selftest::stce(const char* what, const Job& job) {
  const StceShape shape = stce_shape(job);
  SatCounters d;
  const SatJobResult r = run_job(sat_->stce, job, d);
  if (std::string p = expect_done(what, r, d, shape.macs, shape.macs_dense - shape.macs); !p.empty()) return p;
  note_job(what, d);
  if (!data()) return {};
  std::string p = check_stce_result(what, job);
  if (p.empty() && params_.mode == SatMode::bit_accurate) checks_.note("%s bit-exact", what);
  return p;
}

std::string Selftest::osre(const char* what, const OsreJob& job) {
  SatCounters d;
  const SatJobResult r = run_job(sat_->osre, job, d);
  if (std::string p = expect_done(what, r, d, osre_ops(job), osre_dropped(job)); !p.empty()) return p;
  note_job(what, d);
  return data() ? check_osre_result(what, job) : std::string();
}

std::string Selftest::wuve(const char* what, const WuveJob& job) {
  SatCounters d;
  const SatJobResult r = run_job(sat_->wuve, job, d);
  if (std::string p = expect_done(what, r, d, job.count, 0); !p.empty()) return p;
  note_job(what, d);
  return data() ? check_wuve_result(what, job) : std::string();
}

// --- The checks -----------------------------------------------------------------------------

std::string Selftest::check_probe() {
  const SatProbe p = probe_sat(hal_, boot_);
  if (!p.ok) return p.problem;
  info_ = p.info;
  const std::uint32_t n = params_.n, m = params_.m;
  if (n == 0 || n > m || m > 32 || !(info_.nm_m_mask & m)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "the self-test's N:M %u:%u is not supported by this SAT (NM_SUPPORT 0x%x)", n, m,
                  info_.nm_m_mask);
    return buf;
  }
  const std::uint64_t sram[3] = {info_.sram_a_bytes, info_.sram_b_bytes, info_.sram_c_bytes};
  for (unsigned b = 0; b < 3; ++b) {
    if (sram[b] >= kSelftestSramBytes[b]) continue;
    char buf[160];
    std::snprintf(buf, sizeof buf, "SRAM %c has %llu B, the self-test's operands need %llu B", "ABC"[b], ull(sram[b]),
                  ull(kSelftestSramBytes[b]));
    return buf;
  }
  checks_.note("SAT v%u.%u, %ux%u uMACs, %.3f MHz", info_.version_major, info_.version_minor, info_.array_rows,
               info_.array_cols, info_.clock_khz / 1000.0);
  return {};
}

// C[64][64] = A[64][256] x B[256][64], dense, FP32 out.
std::string Selftest::check_gemm_dense() {
  reset(1);
  StceGemm g;
  g.rows = 64, g.cols = 64, g.depth = 256;
  g.a = alloc(SramBuffer::a, 64 * 256 * 2);
  g.b = alloc(SramBuffer::b, 256 * 64 * 2);
  g.c = alloc(SramBuffer::c, 64 * 64 * 4);
  if (data()) {
    fill_half(image_, g.a, 64 * 256, rng_);
    fill_half(image_, g.b, 256 * 64, rng_);
    charge((64 * 256 + 256 * 64) / 2 * kHostCyclesPerWord);
  }
  for (const std::string& p : {upload(g.a, 64 * 256 * 2), upload(g.b, 256 * 64 * 2)})
    if (!p.empty()) return p;
  return stce("STCE GEMM 64x64x256", g);
}

namespace linear {
constexpr std::uint32_t kBatch = 32, kIn = 100, kOut = 60;  // 100 and 60: short last groups for M = 8
}

// Linear FF: OSRE forward of the FP32 master weights W[out][in] gives W~; STCE computes
// Y = X W~^T with B compressed.
std::string Selftest::check_linear_ff() {
  using namespace linear;
  reset(2);
  OsreJob o;
  o.src_fp32 = true, o.n = params_.n, o.m = params_.m, o.rows = kOut, o.cols = kIn;
  o.src = alloc(SramBuffer::c, o.src_bytes());
  o.values = alloc(SramBuffer::b, o.values_bytes());
  o.indices = alloc(SramBuffer::b, o.index_bytes());
  StceGemm g;
  g.rows = kBatch, g.cols = kOut, g.depth = kIn;
  g.a = alloc(SramBuffer::a, kBatch * kIn * 2);
  g.sparse = Sparse::b, g.n = o.n, g.m = o.m, g.b = o.values, g.b_idx = o.indices;
  g.c = alloc(SramBuffer::c, kBatch * kOut * 4);
  if (data()) {
    fill_float(image_, o.src, kOut * kIn, rng_);
    fill_half(image_, g.a, kBatch * kIn, rng_);
  }
  for (const std::string& p : {upload(o.src, o.src_bytes()), upload(g.a, kBatch * kIn * 2)})
    if (!p.empty()) return p;
  if (std::string p = osre("OSRE fwd W~", o); !p.empty()) return p;
  return stce("STCE Y=XW~^T", g);
}

// Linear BP: OSRE backward of W[out][in] gives W~^T (lines = in); STCE computes dX = dY W~.
std::string Selftest::check_linear_bp() {
  using namespace linear;
  reset(3);
  OsreJob o;
  o.backward = true, o.src_fp32 = true, o.n = params_.n, o.m = params_.m, o.rows = kOut, o.cols = kIn;
  o.src = alloc(SramBuffer::c, o.src_bytes());
  o.values = alloc(SramBuffer::b, o.values_bytes());
  o.indices = alloc(SramBuffer::b, o.index_bytes());
  StceGemm g;
  g.rows = kBatch, g.cols = kIn, g.depth = kOut;
  g.a = alloc(SramBuffer::a, kBatch * kOut * 2);
  g.sparse = Sparse::b, g.n = o.n, g.m = o.m, g.b = o.values, g.b_idx = o.indices;
  g.c = alloc(SramBuffer::c, kBatch * kIn * 4);
  if (data()) {
    fill_float(image_, o.src, kOut * kIn, rng_);
    fill_half(image_, g.a, kBatch * kOut, rng_);
  }
  for (const std::string& p : {upload(o.src, o.src_bytes()), upload(g.a, kBatch * kOut * 2)})
    if (!p.empty()) return p;
  if (std::string p = osre("OSRE bwd W~^T", o); !p.empty()) return p;
  return stce("STCE dX=dYW~", g);
}

// Linear WU: dW[out][in] = dY^T X, dY read transposed (A_TRANS), dense.
std::string Selftest::check_linear_wu() {
  using namespace linear;
  reset(4);
  StceGemm g;
  g.rows = kOut, g.cols = kIn, g.depth = kBatch, g.a_trans = true;
  g.a = alloc(SramBuffer::a, kBatch * kOut * 2);
  g.b = alloc(SramBuffer::b, kBatch * kIn * 2);
  g.c = alloc(SramBuffer::c, kOut * kIn * 4);
  if (data()) {
    fill_half(image_, g.a, kBatch * kOut, rng_);
    fill_half(image_, g.b, kBatch * kIn, rng_);
  }
  for (const std::string& p : {upload(g.a, kBatch * kOut * 2), upload(g.b, kBatch * kIn * 2)})
    if (!p.empty()) return p;
  return stce("STCE dW=dY^TX", g);
}

namespace conv {
constexpr std::uint32_t kBatch = 2, kH = 8, kW = 8, kCin = 12, kCout = 24, kK = 3;  // Cin 12: short groups
}

// Conv FF, 3x3 stride 1 pad 1: OSRE forward of W viewed [Cout·KH·KW][Cin] (FP16) gives W~;
// STCE CONV_FWD with B compressed, FP16 output.
std::string Selftest::check_conv_ff() {
  using namespace conv;
  reset(5);
  StceConv c;
  c.op = ConvOp::fwd, c.batch = kBatch, c.h = kH, c.w = kW, c.cin = kCin, c.cout = kCout, c.kh = kK, c.kw = kK;
  c.stride = 1, c.pad = 1, c.out_fp16 = true;
  OsreJob o;
  o.n = params_.n, o.m = params_.m, o.rows = kCout * kK * kK, o.cols = kCin;
  o.src = alloc(SramBuffer::c, o.src_bytes());
  o.values = alloc(SramBuffer::b, o.values_bytes());
  o.indices = alloc(SramBuffer::b, o.index_bytes());
  c.sparse = Sparse::b, c.n = o.n, c.m = o.m, c.b = o.values, c.b_idx = o.indices;
  const std::uint64_t x = std::uint64_t{kBatch} * kH * kW * kCin;
  c.a = alloc(SramBuffer::a, x * 2);
  c.c = alloc(SramBuffer::c, stce_shape(c).c_bytes);
  if (data()) {
    fill_half(image_, o.src, std::uint64_t{o.rows} * o.cols, rng_, true);
    fill_half(image_, c.a, x, rng_);
  }
  for (const std::string& p : {upload(o.src, o.src_bytes()), upload(c.a, x * 2)})
    if (!p.empty()) return p;
  if (std::string p = osre("OSRE fwd W~", o); !p.empty()) return p;
  return stce("STCE CONV_FWD 3x3/1", c);
}

// Conv BWD_DATA, 3x3 stride 2 pad 1 (stride gaps): OSRE backward of W viewed [Cout][KH·KW·Cin]
// gives W~^T; STCE CONV_BWD_DATA computes dX from dY.
std::string Selftest::check_conv_bwd_data() {
  using namespace conv;
  reset(6);
  StceConv c;
  c.op = ConvOp::bwd_data, c.batch = kBatch, c.h = kH, c.w = kW, c.cin = kCin, c.cout = kCout, c.kh = kK, c.kw = kK;
  c.stride = 2, c.pad = 1;
  OsreJob o;
  o.backward = true, o.n = params_.n, o.m = params_.m, o.rows = kCout, o.cols = kK * kK * kCin;
  o.src = alloc(SramBuffer::c, o.src_bytes());
  o.values = alloc(SramBuffer::b, o.values_bytes());
  o.indices = alloc(SramBuffer::b, o.index_bytes());
  c.sparse = Sparse::b, c.n = o.n, c.m = o.m, c.b = o.values, c.b_idx = o.indices;
  const std::uint64_t dy = std::uint64_t{kBatch} * c.oh() * c.ow() * kCout;
  c.a = alloc(SramBuffer::a, dy * 2);
  c.c = alloc(SramBuffer::c, stce_shape(c).c_bytes);
  if (data()) {
    fill_half(image_, o.src, std::uint64_t{o.rows} * o.cols, rng_, true);
    fill_half(image_, c.a, dy, rng_);
  }
  for (const std::string& p : {upload(o.src, o.src_bytes()), upload(c.a, dy * 2)})
    if (!p.empty()) return p;
  if (std::string p = osre("OSRE bwd W~^T", o); !p.empty()) return p;
  return stce("STCE CONV_BWD_DATA 3x3/2", c);
}

// Conv BWD_WEIGHT, 3x3 stride 1 pad 1: dW from dY and X, dense (no compressed operand allowed).
std::string Selftest::check_conv_bwd_weight() {
  using namespace conv;
  reset(7);
  StceConv c;
  c.op = ConvOp::bwd_weight, c.batch = kBatch, c.h = kH, c.w = kW, c.cin = kCin, c.cout = kCout, c.kh = kK;
  c.kw = kK, c.stride = 1, c.pad = 1;
  const std::uint64_t dy = std::uint64_t{kBatch} * c.oh() * c.ow() * kCout, x = std::uint64_t{kBatch} * kH * kW * kCin;
  c.a = alloc(SramBuffer::a, dy * 2);
  c.b = alloc(SramBuffer::b, x * 2);
  c.c = alloc(SramBuffer::c, stce_shape(c).c_bytes);
  if (data()) {
    fill_half(image_, c.a, dy, rng_);
    fill_half(image_, c.b, x, rng_);
  }
  for (const std::string& p : {upload(c.a, dy * 2), upload(c.b, x * 2)})
    if (!p.empty()) return p;
  return stce("STCE CONV_BWD_WEIGHT 3x3/1", c);
}

// SDGP-style GEMM: A compressed along K in segments of 32 (the CPU compresses A viewed
// [rows·K/32][32], one line per segment), accumulated into an FP16 C.
std::string Selftest::check_gemm_sdgp() {
  reset(12);
  StceGemm g;
  g.rows = 40, g.cols = 48, g.depth = 96, g.segment = 32, g.sparse = Sparse::a, g.n = params_.n, g.m = params_.m;
  g.accumulate = true, g.out_fp16 = true;
  const StceShape s = stce_shape(g);
  g.a = alloc(SramBuffer::a, s.a_bytes);
  g.a_idx = alloc(SramBuffer::a, s.a_idx_bytes);
  g.b = alloc(SramBuffer::b, s.b_bytes);
  g.c = alloc(SramBuffer::c, s.c_bytes);
  if (data()) {
    std::vector<std::uint8_t> dense(std::uint64_t{g.rows} * g.depth * 2);
    for (std::uint64_t i = 0; i < dense.size(); i += 2) {
      const std::uint16_t h = float_to_half(rng_.grid());
      std::memcpy(&dense[i], &h, 2);
    }
    // Both in buffer A, which at() may move as it grows: grow it first, then take the pointers.
    image_.at(g.a, s.a_bytes), image_.at(g.a_idx, s.a_idx_bytes);
    nm_compress(dense.data(), false, g.rows * (g.depth / g.segment), g.segment, false, g.n, g.m,
                image_.at(g.a, s.a_bytes), reinterpret_cast<std::uint32_t*>(image_.at(g.a_idx, s.a_idx_bytes)));
    fill_half(image_, g.b, std::uint64_t{g.depth} * g.cols, rng_);
    fill_half(image_, g.c, std::uint64_t{g.rows} * g.cols, rng_);
  }
  for (const std::string& p : {upload(g.a, s.a_bytes), upload(g.a_idx, s.a_idx_bytes), upload(g.b, s.b_bytes),
                               upload(g.c, s.c_bytes)})
    if (!p.empty()) return p;
  return stce("STCE GEMM A 2:8/32 C+=", g);
}

// SDGP conv BP: dY pruned along Cout by OSRE forward of dY viewed [N·OH·OW][Cout]; STCE
// CONV_BWD_DATA with A compressed, stride 2 (input pixels with no dY line read zeros).
std::string Selftest::check_conv_bwd_data_sdgp() {
  using namespace conv;
  reset(13);
  StceConv c;
  c.op = ConvOp::bwd_data, c.batch = kBatch, c.h = kH, c.w = kW, c.cin = kCin, c.cout = kCout, c.kh = kK, c.kw = kK;
  c.stride = 2, c.pad = 1;
  OsreJob o;
  o.n = params_.n, o.m = params_.m, o.rows = kBatch * c.oh() * c.ow(), o.cols = kCout;
  o.src = alloc(SramBuffer::c, o.src_bytes());
  o.values = alloc(SramBuffer::a, o.values_bytes());
  o.indices = alloc(SramBuffer::a, o.index_bytes());
  c.sparse = Sparse::a, c.n = o.n, c.m = o.m, c.a = o.values, c.a_idx = o.indices;
  const std::uint64_t w = std::uint64_t{kCout} * kK * kK * kCin;
  c.b = alloc(SramBuffer::b, w * 2);
  c.c = alloc(SramBuffer::c, stce_shape(c).c_bytes);
  if (data()) {
    fill_half(image_, o.src, std::uint64_t{o.rows} * o.cols, rng_, true);
    fill_half(image_, c.b, w, rng_);
  }
  for (const std::string& p : {upload(o.src, o.src_bytes()), upload(c.b, w * 2)})
    if (!p.empty()) return p;
  if (std::string p = osre("OSRE fwd dY~", o); !p.empty()) return p;
  return stce("STCE CONV_BWD_DATA 3x3/2 A~", c);
}

WuveJob sgd(std::uint32_t count) {
  WuveJob w;
  w.lr = 0.05f, w.momentum = 0.9f, w.weight_decay = 1e-3f, w.grad_scale = 0.5f, w.count = count, w.write_fp16 = true;
  return w;
}

// WUVE: momentum SGD on 1000 elements (not a multiple of the lanes), with the FP16 copy.
std::string Selftest::check_wuve() {
  reset(8);
  WuveJob w = sgd(1000);
  w.grad = alloc(SramBuffer::a, w.count * 2);
  w.out = alloc(SramBuffer::a, w.count * 2);
  w.weight = alloc(SramBuffer::b, w.count * 4);
  w.velocity = alloc(SramBuffer::c, w.count * 4);
  if (data()) {
    fill_half(image_, w.grad, w.count, rng_);
    fill_float(image_, w.weight, w.count, rng_);
    fill_float(image_, w.velocity, w.count, rng_);
  }
  for (const std::string& p : {upload(w.grad, w.count * 2), upload(w.weight, w.count * 4), upload(w.velocity, w.count * 4)})
    if (!p.empty()) return p;
  return wuve("WUVE SGD 1000", w);
}

// The three engines at once: one interrupt line, events kept per engine, waited for in the
// opposite order of completion (WUVE, then OSRE, then STCE finish).
std::string Selftest::check_concurrent() {
  reset(9);
  StceGemm g;
  g.rows = 64, g.cols = 64, g.depth = 128;
  g.a = alloc(SramBuffer::a, 64 * 128 * 2);
  g.b = alloc(SramBuffer::b, 128 * 64 * 2);
  g.c = alloc(SramBuffer::c, 64 * 64 * 4);
  OsreJob o;
  o.n = params_.n, o.m = params_.m, o.rows = 64, o.cols = 64;
  o.src = alloc(SramBuffer::a, o.src_bytes());
  o.values = alloc(SramBuffer::b, o.values_bytes());
  o.indices = alloc(SramBuffer::b, o.index_bytes());
  WuveJob w = sgd(512);
  w.grad = alloc(SramBuffer::a, w.count * 2);
  w.out = alloc(SramBuffer::a, w.count * 2);
  w.weight = alloc(SramBuffer::b, w.count * 4);
  w.velocity = alloc(SramBuffer::c, w.count * 4);
  if (data()) {
    fill_half(image_, g.a, 64 * 128, rng_);
    fill_half(image_, g.b, 128 * 64, rng_);
    fill_half(image_, o.src, 64 * 64, rng_, true);
    fill_half(image_, w.grad, w.count, rng_);
    fill_float(image_, w.weight, w.count, rng_);
    fill_float(image_, w.velocity, w.count, rng_);
  }
  // Everything placed: the used part of each buffer in one transfer.
  for (unsigned b = 0; b < 3; ++b)
    if (std::string p = upload(sram_address(static_cast<SramBuffer>(b), 0), top_[b]); !p.empty()) return p;

  const SatCounters before[3] = {sat_->stce.counters(), sat_->osre.counters(), sat_->wuve.counters()};
  sat_->stce.start(g);
  sat_->osre.start(o);
  sat_->wuve.start(w);
  const SatJobResult rs = sat_->stce.wait(), ro = sat_->osre.wait(), rw = sat_->wuve.wait();
  const SatCounters ds = sat_->stce.counters() - before[0], dos = sat_->osre.counters() - before[1],
                    dw = sat_->wuve.counters() - before[2];
  const StceShape shape = stce_shape(g);
  for (const std::string& p : {expect_done("STCE", rs, ds, shape.macs, 0),
                               expect_done("OSRE", ro, dos, osre_ops(o), osre_dropped(o)),
                               expect_done("WUVE", rw, dw, w.count, 0)})
    if (!p.empty()) return p;
  // Run one after the other, the jobs would take the sum of their busy times at least.
  const double serial_ps = static_cast<double>(ds.busy_cycles + dos.busy_cycles + dw.busy_cycles) * 1e9 / info_.clock_khz;
  const std::uint64_t elapsed_ps = rw.end_ps - rs.start_ps;
  if (static_cast<double>(elapsed_ps) >= serial_ps) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "the jobs did not overlap: %.3f us from the first START to the last completion, "
                  "their busy times add up to %.3f us", elapsed_ps / 1e6, serial_ps / 1e6);
    return buf;
  }
  note_job("STCE", ds);
  note_job("OSRE", dos);
  note_job("WUVE", dw);
  checks_.note("all done %.3f us after the first START", elapsed_ps / 1e6);
  if (!data()) return {};
  for (const std::string& p : {check_stce_result("STCE", g), check_osre_result("OSRE", o), check_wuve_result("WUVE", w)})
    if (!p.empty()) return p;
  return {};
}

// A job with N > M is rejected with BAD_NM, in one cycle, writing nothing.
std::string Selftest::check_bad_nm() {
  reset(10);
  StceGemm g;
  g.rows = 32, g.cols = 32, g.depth = 64, g.sparse = Sparse::b, g.n = params_.m + 1, g.m = params_.m;
  const StceShape s = stce_shape(g);
  g.a = alloc(SramBuffer::a, s.a_bytes);
  g.b = alloc(SramBuffer::b, s.b_bytes);
  g.b_idx = alloc(SramBuffer::b, s.b_idx_bytes);
  g.c = alloc(SramBuffer::c, s.c_bytes);
  if (data()) std::memset(image_.at(g.c, s.c_bytes), kGuardByte, s.c_bytes);
  if (std::string p = upload(g.c, s.c_bytes); !p.empty()) return p;
  checks_.say(LogLevel::info, "bad-nm: an STCE job with N:M %u:%u, BAD_NM is expected", g.n, g.m);
  SatCounters d;
  const SatJobResult r = run_job(sat_->stce, g, d);
  if (std::string p = expect_error(r, d, static_cast<std::uint32_t>(regs::sat::StceErrorCause::BAD_NM)); !p.empty())
    return p;
  checks_.note("%u:%u rejected with %s in %llu cycle", g.n, g.m, r.cause_name(), ull(d.busy_cycles));
  if (!data()) return {};
  std::string p = compare_exact("C (must be untouched)", g.c, s.c_bytes);
  if (p.empty()) checks_.note("C untouched");
  return p;
}

// An output running past the end of SRAM C is rejected with OUT_OF_SRAM, writing nothing.
std::string Selftest::check_bad_sram() {
  reset(11);
  StceGemm g;
  g.rows = 32, g.cols = 32, g.depth = 64;
  const StceShape s = stce_shape(g);
  const std::uint64_t inside = 1024;  // the output's first 1 KiB is inside SRAM C, the rest beyond
  g.a = alloc(SramBuffer::a, s.a_bytes);
  g.b = alloc(SramBuffer::b, s.b_bytes);
  g.c = sram_address(SramBuffer::c, static_cast<std::uint32_t>(boot_.sat_sram_c.size - inside));
  if (data()) std::memset(image_.at(g.c, inside), kGuardByte, inside);
  if (std::string p = upload(g.c, inside); !p.empty()) return p;
  checks_.say(LogLevel::info, "bad-sram: an STCE output of %llu B at SRAM C offset 0x%llx, OUT_OF_SRAM is expected",
              ull(s.c_bytes), ull(boot_.sat_sram_c.size - inside));
  SatCounters d;
  const SatJobResult r = run_job(sat_->stce, g, d);
  if (std::string p = expect_error(r, d, static_cast<std::uint32_t>(regs::sat::StceErrorCause::OUT_OF_SRAM));
      !p.empty())
    return p;
  checks_.note("C past the end of SRAM C rejected with %s in %llu cycle", r.cause_name(), ull(d.busy_cycles));
  if (!data()) return {};
  std::string p = compare_exact("the end of SRAM C (must be untouched)", g.c, inside);
  if (p.empty()) checks_.note("SRAM untouched");
  return p;
}

}  // namespace

int run_engine_selftest(Hal& hal, const BootInfo& boot, const EngineSelftestParams& params) {
  return Selftest(hal, boot, params).run();
}

}  // namespace cestvp::fw
