#include <cestvp/bringup.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <cestvp/check_harness.h>
#include <cestvp/dma_driver.h>
#include <cestvp/irq.h>
#include <cestvp/mmio.h>
#include <cestvp/regs.h>
#include <cestvp/sat_probe.h>

namespace cestvp::fw {

namespace {

constexpr std::uint64_t kGap = 4096;        // between the areas of a check: an overrun lands in no other area
constexpr std::uint64_t kGuard = 256;       // dma-1d: guard bytes before and after the destination
constexpr std::uint64_t kChainGuard = 64;   // dma-chain: guard bytes after each destination block
constexpr std::uint64_t kErrorBytes = 256;  // dma-error: the copy that must fail

// Where a DMA check places its buffers, in bytes from the start of the scratch area.
struct Layout {
  std::uint64_t src = 0, src_bytes = 0;      // the pattern
  std::uint64_t dst = 0, dst_bytes = 0;      // the destination with its guard bytes
  std::uint64_t table = 0, table_bytes = 0;  // dma-chain: the descriptors
  std::uint64_t end() const { return std::max({src + src_bytes, dst + dst_bytes, table + table_bytes}); }
  // The firmware's copies: the pattern, the expected destination, the destination read back.
  std::uint64_t host_bytes() const { return src_bytes + 2 * dst_bytes + table_bytes; }
};

Layout layout_1d(const BringupParams& p) {
  const std::uint64_t n = p.copy_bytes;
  return {0, n, n + kGap, n + 2 * kGuard};
}

// The source rows start 8 bytes into their area and the destination rows 64 bytes in, so that
// the guards before the first row are checked too.
Layout layout_2d(const BringupParams& p) {
  const std::uint64_t src_area = std::uint64_t{p.rows} * p.src_stride;
  return {0, src_area + 8, src_area + kGap, std::uint64_t{p.rows} * p.dst_stride + 256};
}

// The descriptor table goes after the whole destination area, whose blocks are chain_bytes +
// kChainGuard apart: it must not lie under the guard fill, whatever the number of descriptors.
Layout layout_chain(const BringupParams& p) {
  const std::uint64_t total = std::uint64_t{p.chain_descriptors} * p.chain_bytes;
  Layout l{0, total, total + kGap, p.chain_descriptors * (p.chain_bytes + kChainGuard)};
  l.table = (l.dst + l.dst_bytes + kGap + kBringupScratchAlign - 1) / kBringupScratchAlign * kBringupScratchAlign;
  l.table_bytes = std::uint64_t{p.chain_descriptors} * regs::dma_desc::SIZE;
  return l;
}

// copy_bytes, or the whole of SRAM A if it is smaller.
Layout layout_sram(const BringupParams& p, std::uint64_t sram_a_bytes) {
  const std::uint64_t n = std::min<std::uint64_t>(p.copy_bytes, sram_a_bytes);
  return {0, n, n + kGap, n};
}

class Bringup {
 public:
  Bringup(Hal& hal, const BootInfo& boot, const BringupParams& params)
      : hal_(hal), boot_(boot), params_(params), irq_(hal, boot.irqc.base),
        dma_(hal, irq_, boot, params.timeout_ns), checks_(hal, 14) {}

  int run();

 private:
  // Runs the check in the harness, unless a DMA transfer that timed out is still running.
  bool step(const char* name, const CheckHarness::Check& check);  // true if the check passed

  std::string check_probe();
  std::string check_registers();
  std::string check_dma_1d();
  std::string check_dma_2d();
  std::string check_dma_chain();
  std::string check_dma_sram();
  std::string check_dma_error();

  // Fills the layout's source with a pattern and its destination with guard bytes, runs
  // `transfer`, then checks that the destination holds exactly what `copies` say (a plain
  // host-side copy loop) and guards elsewhere.
  std::string verify(const Layout& layout, const std::vector<DmaCopy>& copies,
                     const std::function<DmaResult()>& transfer, std::uint32_t seed);
  std::string compare(std::uint64_t dst, const std::vector<std::uint8_t>& expected);
  // Timing mode moves no data: the destinations are read back (the same bus traffic and host
  // time as a functional run) but not compared.
  bool data() const { return params_.mode != SatMode::timing; }
  std::uint64_t scratch(std::uint64_t offset) const { return boot_.ddr.base + params_.ddr_scratch_offset + offset; }
  std::optional<std::uint64_t> unmapped_address() const;
  void charge_words(std::uint64_t words) { hal_.charge_host_time(words * kHostCyclesPerWord * boot_.host_cycle_ps); }

  Hal& hal_;
  const BootInfo& boot_;
  const BringupParams& params_;
  Irq irq_;
  DmaDriver dma_;
  CheckHarness checks_;  // bring-up's lines pad the check names to 14 columns
  unsigned not_compared_ = 0;
  std::string busy_after_;  // the check whose transfer timed out and may still be running
};

bool Bringup::step(const char* name, const CheckHarness::Check& check) {
  return checks_.run(name, [&]() -> std::string {
    // A transfer that timed out may still be running, and the DMA has no abort: a new one would
    // be refused (START_WHILE_BUSY) and blamed on this check.
    const bool blocked = !busy_after_.empty() && dma_.busy();
    if (!blocked) busy_after_.clear();
    std::string problem =
        blocked ? "not run: the DMA is still busy with the transfer that timed out in " + busy_after_ : check();
    if (!problem.empty() && busy_after_.empty() && dma_.busy()) busy_after_ = name;
    hal_.expect_faults(0);  // what a check announced and did not happen must not cover a later fault
    return problem;
  });
}

int Bringup::run() {
  checks_.say(LogLevel::info, "bring-up: SAT registers at 0x%llx, DMA at 0x%llx, DDR scratch at 0x%llx",
              static_cast<unsigned long long>(boot_.sat_regs.base), static_cast<unsigned long long>(boot_.dma.base),
              static_cast<unsigned long long>(scratch(0)));
  if (!data())
    checks_.say(LogLevel::info, "bring-up: timing mode: the DMA moves no data, its destinations are not compared");
  if (!step("sat-probe", [this] { return check_probe(); })) {
    checks_.say(LogLevel::error, "bring-up: stopped: this firmware does not match the hardware it runs on");
    return 1;
  }
  step("sat-registers", [this] { return check_registers(); });
  step("dma-1d", [this] { return check_dma_1d(); });
  step("dma-2d", [this] { return check_dma_2d(); });
  step("dma-chain", [this] { return check_dma_chain(); });
  step("dma-sram", [this] { return check_dma_sram(); });
  step("dma-error", [this] { return check_dma_error(); });
  if (data())
    checks_.summary("bring-up: %u of %u checks passed", checks_.passed(), checks_.total());
  else
    checks_.summary("bring-up: %u of %u checks passed (timing mode: the data of %u DMA checks not compared)",
                    checks_.passed(), checks_.total(), not_compared_);
  return checks_.exit_code();
}

std::string Bringup::check_probe() {
  const SatProbe p = probe_sat(hal_, boot_);
  if (!p.ok) return p.problem;
  std::string ms;
  for (unsigned k = 0; k < 32; ++k)
    if (p.info.nm_m_mask & (1u << k)) ms += (ms.empty() ? "" : ",") + std::to_string(1u << k);
  checks_.note("SAT v%u.%u, %ux%u uMACs, M in {%s}, SRAM A/B/C %llu/%llu/%llu KiB, %.3f MHz",
               p.info.version_major, p.info.version_minor, p.info.array_rows, p.info.array_cols, ms.c_str(),
               static_cast<unsigned long long>(p.info.sram_a_bytes >> 10),
               static_cast<unsigned long long>(p.info.sram_b_bytes >> 10),
               static_cast<unsigned long long>(p.info.sram_c_bytes >> 10), p.info.clock_khz / 1000.0);
  return {};
}

std::string Bringup::check_registers() {
  namespace r = regs::sat;
  Mmio io(hal_, boot_.sat_regs.base);
  for (std::uint32_t v : {0xA5A5F00Du, 0x5A5A0FF0u}) {
    io.write(r::SCRATCH, v);
    if (const std::uint32_t got = io.read(r::SCRATCH); got != v) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "SCRATCH reads 0x%08x after writing 0x%08x", got, v);
      return buf;
    }
  }
  if (io.faulted()) return "SCRATCH access failed: " + io.fault();
  // The rules of the register layer, seen from firmware: these two must fail, visibly.
  checks_.say(LogLevel::info, "sat-registers: the next two bus errors are expected");
  hal_.expect_faults(2);
  if (const BusStatus s = hal_.write32(boot_.sat_regs.base + r::ID, 0); s != BusStatus::command_error)
    return std::string("write to read-only ID answered ") + to_string(s) + ", expected COMMAND_ERROR";
  std::uint32_t unused = 0;
  if (const BusStatus s = hal_.read32(boot_.sat_regs.base + r::BLOCK_BYTES, unused); s != BusStatus::address_error)
    return std::string("read of an unmapped SAT register answered ") + to_string(s) + ", expected ADDRESS_ERROR";
  if (io.read(r::ID) != r::ID_RESET) return "a write to the read-only ID register changed it";
  checks_.note("SCRATCH holds values; RO write and unmapped read are rejected");
  return {};
}

std::string Bringup::compare(std::uint64_t dst, const std::vector<std::uint8_t>& expected) {
  std::vector<std::uint8_t> actual(expected.size());
  if (const BusStatus s = hal_.read_block(dst, actual.data(), actual.size()); s != BusStatus::ok)
    return std::string("reading back the destination failed: ") + to_string(s);
  const std::size_t words = expected.size() / 4;
  charge_words(words);
  if (!data()) {
    ++not_compared_;
    return {};
  }
  std::size_t bad = 0, first = 0;
  for (std::size_t w = 0; w < words; ++w) {
    if (std::memcmp(&expected[w * 4], &actual[w * 4], 4) != 0 && bad++ == 0) first = w;
  }
  if (bad == 0) return {};
  std::uint32_t e, a;
  std::memcpy(&e, &expected[first * 4], 4);
  std::memcpy(&a, &actual[first * 4], 4);
  char buf[200];
  std::snprintf(buf, sizeof buf, "%zu of %zu words wrong; first at 0x%016llx: 0x%08x, expected 0x%08x", bad, words,
                static_cast<unsigned long long>(dst + first * 4), a, e);
  return buf;
}

std::string Bringup::verify(const Layout& layout, const std::vector<DmaCopy>& copies,
                            const std::function<DmaResult()>& transfer, std::uint32_t seed) {
  const std::uint64_t src = scratch(layout.src), src_bytes = layout.src_bytes;
  const std::uint64_t dst = scratch(layout.dst), dst_bytes = layout.dst_bytes;
  std::vector<std::uint8_t> source(src_bytes), expected(dst_bytes, kGuardByte);
  std::uint32_t x = seed;
  for (std::size_t i = 0; i + 4 <= source.size(); i += 4) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;  // xorshift32
    std::memcpy(&source[i], &x, 4);
  }
  charge_words(src_bytes / 4 + dst_bytes / 4);
  if (hal_.write_block(src, source.data(), source.size()) != BusStatus::ok ||
      hal_.write_block(dst, expected.data(), expected.size()) != BusStatus::ok)
    return "preparing the buffers failed (see the bus error above)";
  for (const DmaCopy& c : copies)
    for (std::uint32_t row = 0; row < c.rows; ++row)
      std::memcpy(&expected[c.dst - dst + std::uint64_t{row} * c.dst_stride],
                  &source[c.src - src + std::uint64_t{row} * c.src_stride], c.length);

  const std::uint64_t t0 = hal_.now_ps();
  const DmaResult result = transfer();
  const std::uint64_t ps = hal_.now_ps() - t0;
  if (!result.ok) return "DMA " + result.describe();
  std::uint64_t bytes = 0;
  for (const DmaCopy& c : copies) bytes += std::uint64_t{c.length} * c.rows;
  if (result.bytes != bytes)
    return "DMA reports " + std::to_string(result.bytes) + " bytes done, expected " + std::to_string(bytes);
  checks_.note("%llu B in %.3f us (%.2f GB/s), %llu words %s", static_cast<unsigned long long>(bytes), ps / 1e6,
               ps ? bytes * 1e3 / ps : 0.0, static_cast<unsigned long long>(dst_bytes / 4),
               data() ? "verified" : "read back, not compared");
  return compare(dst, expected);
}

std::string Bringup::check_dma_1d() {
  const Layout l = layout_1d(params_);
  const DmaCopy c{scratch(l.src), scratch(l.dst) + kGuard, params_.copy_bytes, 1, 0, 0};
  return verify(l, {c}, [&] { return dma_.copy(c); }, 0x1234567u);
}

std::string Bringup::check_dma_2d() {
  const auto& p = params_;
  const Layout l = layout_2d(p);
  const DmaCopy c{scratch(l.src) + 8, scratch(l.dst) + 64, p.row_bytes, p.rows, p.src_stride, p.dst_stride};
  return verify(l, {c}, [&] { return dma_.copy(c); }, 0xBEEF01u);
}

std::string Bringup::check_dma_chain() {
  const auto& p = params_;
  const Layout l = layout_chain(p);
  const std::uint64_t src = scratch(l.src), dst = scratch(l.dst), descs = scratch(l.table);
  // Scatter: descriptor i copies source block i to destination block (n-1-i) with a gap.
  std::vector<DmaCopy> copies;
  const std::uint64_t slot = p.chain_bytes + kChainGuard;
  for (std::uint32_t i = 0; i < p.chain_descriptors; ++i)
    copies.push_back({src + i * std::uint64_t{p.chain_bytes}, dst + (p.chain_descriptors - 1 - i) * slot,
                      p.chain_bytes, 1, 0, 0});
  std::vector<std::uint8_t> table(l.table_bytes);
  for (std::size_t i = 0; i < copies.size(); ++i) {
    const std::uint64_t next = i + 1 < copies.size() ? descs + (i + 1) * regs::dma_desc::SIZE : 0;
    DmaDriver::encode(copies[i], next, &table[i * regs::dma_desc::SIZE]);
  }
  if (hal_.write_block(descs, table.data(), table.size()) != BusStatus::ok) return "writing the descriptors failed";
  return verify(l, copies, [&] { return dma_.run_chain(descs); }, 0xC4A1Bu);
}

std::string Bringup::check_dma_sram() {
  const Layout l = layout_sram(params_, boot_.sat_sram_a.size);
  const auto n = static_cast<std::uint32_t>(l.src_bytes);
  const std::uint64_t src = scratch(l.src), back = scratch(l.dst);
  const std::uint64_t sram = boot_.sat_sram_a.base;
  const DmaCopy in{src, sram, n, 1, 0, 0};
  const DmaCopy out{sram, back, n, 1, 0, 0};
  // The round trip is one logical copy src -> back; SRAM A is checked through it.
  const DmaCopy net{src, back, n, 1, 0, 0};
  return verify(l, {net}, [&] {
    DmaResult r = dma_.copy(in);
    if (!r.ok) return r;
    return dma_.copy(out);
  }, 0x5AA5u);
}

// kErrorBytes that no region maps, 4 KiB clear of the regions around them: above every region,
// or where the address space ends there, in the lowest hole that is large enough.
std::optional<std::uint64_t> Bringup::unmapped_address() const {
  constexpr std::uint64_t kClear = 0x1000, kHole = 2 * kClear + kErrorBytes;
  std::vector<Region> regions = {boot_.ddr,        boot_.sat_regs, boot_.sat_sram_a, boot_.sat_sram_b,
                                 boot_.sat_sram_c, boot_.dma,      boot_.irqc};
  std::sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) { return a.base < b.base; });
  const std::uint64_t top = regions.back().base + regions.back().size;
  if (UINT64_MAX - top >= kHole) return top + kClear;
  std::uint64_t from = 0;
  for (const Region& r : regions) {
    if (r.base - from >= kHole) return from + kClear;
    from = r.base + r.size;
  }
  return std::nullopt;
}

std::string Bringup::check_dma_error() {
  const std::optional<std::uint64_t> unmapped = unmapped_address();
  if (!unmapped) return "no unmapped address to copy from: the regions leave no hole of 8.25 KiB";
  const std::uint64_t bad = *unmapped;
  const DmaCopy c{bad, scratch(0), kErrorBytes, 1, 0, 0};
  checks_.say(LogLevel::info, "dma-error: copying from unmapped 0x%llx, a READ_ERROR is expected",
              static_cast<unsigned long long>(bad));
  hal_.expect_faults(2);  // the DMA's read answered ADDRESS_ERROR, and the DMA's READ_ERROR
  const DmaResult r = dma_.copy(c);
  if (!r.problem.empty()) return r.problem;
  if (r.ok) return "the DMA reported success reading an unmapped address";
  if (r.error_code != static_cast<std::uint32_t>(regs::dma::ErrorCodeCause::READ_ERROR) || r.error_addr != bad)
    return "expected READ_ERROR at the unmapped address, got " + r.describe();
  checks_.note("unmapped source reported as %s", r.describe().c_str());
  return {};
}

}  // namespace

std::vector<BringupNeed> bringup_needs(const BringupParams& params, std::uint64_t sram_a_bytes) {
  std::vector<BringupNeed> needs;
  const auto add = [&needs](const char* check, const Layout& l) { needs.push_back({check, l.end(), l.host_bytes()}); };
  add("dma-1d", layout_1d(params));
  add("dma-2d", layout_2d(params));
  add("dma-chain", layout_chain(params));
  add("dma-sram", layout_sram(params, sram_a_bytes));
  needs.push_back({"dma-error", kErrorBytes, 0});
  return needs;
}

int run_bringup(Hal& hal, const BootInfo& boot, const BringupParams& params) {
  return Bringup(hal, boot, params).run();
}

}  // namespace cestvp::fw
