// Fuzzes the platform models through the bus: the input is decoded into a sequence of host CPU
// accesses (register reads and writes of the SAT, DMA and interrupt controller at any offset
// with any value, 32-bit and block accesses of any size and alignment in and around every
// region and in the holes between them, DMA descriptors written to memory, waits for an
// interrupt), replayed on the real models of a VirtualPlatform with a small DDR and small SAT
// SRAMs. The models must not crash, hang or touch host memory they do not own (ASan), and DDR
// bytes that no access of the input could write must keep their values.
//
// One simulation serves the whole process: SystemC elaborates once per process, and sc_start
// cannot run a fresh platform after sc_stop. The platform's firmware is a loop that replays one
// input per turn: LLVMFuzzerTestOneInput hands it the input and resumes the kernel (sc_start);
// the firmware replays the accesses, lets the DMA and the engines finish, checks DDR, puts back
// every register's reset value and the memories' contents, and pauses the kernel (sc_pause),
// which returns to libFuzzer. Every input so starts from the same state, nothing is rebuilt.
//
// The one thing that cannot be put back is a running DMA transfer (the DMA has no abort), and a
// 2-D copy of 2^32 rows of stride 0, or a descriptor chain that loops, runs for hours. So the
// harness lets a write of START.GO through only when it can tell what the transfer does: the
// DMA idle, at most kMaxDmaBytes in all, a chain of at most kMaxChain descriptors in DDR that
// does not rewrite itself. That is also how it knows which DDR bytes the DMA may write. SAT jobs
// need no such gate: their operands live in the SRAMs, which bound their work.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <systemc>

#include <cestvp/mmio.h>
#include <cestvp/regs.h>
#include <regmap_tables.h>

#include "config/config.h"
#include "vp.h"

using namespace cestvp;

namespace {

namespace dma = regs::dma;
namespace desc = regs::dma_desc;

// The platform: yaml/vcu1525.yaml with 1 MiB of DDR and 64 KiB SRAMs, so that resetting and
// checking memory per input is cheap and an engine job stays below a second of host time.
constexpr std::uint64_t kDdrBytes = 1u << 20;
constexpr std::uint64_t kSramBytes = 64u << 10;

// Bounds of one input.
constexpr unsigned kMaxAccesses = 256;
constexpr std::uint64_t kInputPs = 2'000'000'000;  // 2 ms: no access starts later
constexpr std::uint64_t kMaxWaitNs = 100'000;      // a wait for an interrupt
constexpr std::size_t kMaxBlock = 64u << 10;       // a block access
constexpr std::uint64_t kMaxDmaBytes = 256u << 10; // a DMA transfer (a whole chain)
constexpr unsigned kMaxChain = 16;                 // descriptors of a chain
constexpr std::uint64_t kSlack = 64;               // addresses reach this far around a region
// After the input the DMA and the engines get this long to finish (a job's time grows with its
// operands, which the SRAM sizes bound to a few milliseconds), polled every kPollPs.
constexpr std::uint64_t kDrainPs = 50'000'000'000;
constexpr std::uint64_t kPollPs = 1'000'000;

// What DDR holds before each input: a byte that depends on its address, so that a write to the
// wrong place shows even when it copies DDR bytes.
const std::vector<std::uint8_t>& ddr_pattern() {
  static const std::vector<std::uint8_t> pattern = [] {
    std::vector<std::uint8_t> p(kDdrBytes);
    for (std::uint64_t i = 0; i < kDdrBytes; ++i) p[i] = static_cast<std::uint8_t>((i * 0x9E3779B1u) >> 24);
    return p;
  }();
  return pattern;
}

struct Range {
  std::uint64_t addr, bytes;
  bool overlaps(std::uint64_t a, std::uint64_t n) const {
    return n && bytes && (a >= addr ? a - addr < bytes : addr - a < n);
  }
};

// A DMA copy as the engine runs it (dma.cpp): rows of `length` bytes, addresses wrapping at 2^64.
struct DmaCopy {
  std::uint64_t src, dst;
  std::uint32_t length, rows, src_stride, dst_stride;
  std::uint64_t bytes() const { return std::uint64_t{length} * rows; }
};

// The replay of one input, from the firmware thread.
class Replay {
 public:
  Replay(fw::Hal& hal, const fw::BootInfo& boot, VirtualPlatform& vp, const std::uint8_t* data, std::size_t size)
      : hal_(hal), boot_(boot), vp_(vp), in_(data, size), dma_(hal, boot.dma.base), legit_(kDdrBytes, 0) {}

  void run() {
    fill_memories();
    const std::uint64_t start = hal_.now_ps();
    for (unsigned n = 0; n < kMaxAccesses && in_.remaining_bytes() > 0 && hal_.now_ps() - start < kInputPs; ++n)
      access();
    drain();
    check_ddr();
    reset_registers();
  }

 private:
  enum Op { reg_read, reg_write, read32, write32, read_block, write_block, write_descriptor, program, wait, kOps };

  void access() {
    std::uint32_t value = 0;
    switch (static_cast<Op>(in_.ConsumeIntegralInRange<int>(0, kOps - 1))) {
      case reg_read: hal_.read32(register_address(), value); break;
      case reg_write: {
        const std::uint64_t addr = register_address();
        value = register_value();
        write(addr, &value, 4);
        break;
      }
      case read32: hal_.read32(address(), value); break;
      case write32: {
        const std::uint64_t addr = address();
        value = register_value();
        write(addr, &value, 4);
        break;
      }
      case read_block: {
        const std::uint64_t addr = address();
        std::vector<std::uint8_t> buffer(in_.ConsumeIntegralInRange<std::size_t>(0, kMaxBlock));  // exact: ASan sees overruns
        hal_.read_block(addr, buffer.data(), buffer.size());
        break;
      }
      case write_block: {
        const std::uint64_t addr = address();
        std::vector<std::uint8_t> buffer(in_.ConsumeIntegralInRange<std::size_t>(0, kMaxBlock));
        const std::uint8_t seed = in_.ConsumeIntegral<std::uint8_t>();
        for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(seed + i * 131);
        write(addr, buffer.data(), buffer.size());
        break;
      }
      case write_descriptor: {
        const std::uint64_t addr = address();
        std::uint8_t d[desc::SIZE] = {};
        const auto store = [&](std::uint32_t offset, auto v) { std::memcpy(d + offset, &v, sizeof v); };
        store(desc::SRC, address());
        store(desc::DST, address());
        store(desc::LENGTH, in_.ConsumeIntegralInRange<std::uint32_t>(0, 4096));
        store(desc::ROWS, in_.ConsumeIntegralInRange<std::uint32_t>(0, 16));
        store(desc::SRC_STRIDE, in_.ConsumeIntegralInRange<std::uint32_t>(0, 8192));
        store(desc::DST_STRIDE, in_.ConsumeIntegralInRange<std::uint32_t>(0, 8192));
        store(desc::NEXT, in_.ConsumeBool() ? std::uint64_t{0} : address());
        write(addr, d, sizeof d);
        break;
      }
      case program: program_job(); break;
      case wait: hal_.wait_for_interrupt(in_.ConsumeIntegralInRange<std::uint64_t>(0, kMaxWaitNs)); break;
      case kOps: break;
    }
  }

  // ---- decoding ----

  // Anywhere near a region (or in the hole before or after it), or anywhere at all.
  std::uint64_t address() {
    const fw::Region regions[] = {boot_.ddr, boot_.sat_sram_a, boot_.sat_sram_b, boot_.sat_sram_c,
                                  boot_.sat_regs, boot_.dma, boot_.irqc};
    const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, std::size(regions));
    if (pick == std::size(regions)) return in_.ConsumeIntegral<std::uint64_t>();
    const fw::Region& r = regions[pick];
    return r.base - kSlack + in_.ConsumeIntegralInRange<std::uint64_t>(0, r.size + 2 * kSlack);
  }

  // Mostly a register of the SAT, DMA or interrupt controller, else any offset in its block.
  std::uint64_t register_address() {
    const struct {
      const BlockSpec& spec;
      fw::Region region;
    } blocks[] = {{regmap::sat, boot_.sat_regs}, {regmap::dma, boot_.dma}, {regmap::irqc, boot_.irqc}};
    const auto& b = blocks[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(blocks) - 1)];
    if (in_.ConsumeIntegralInRange(0, 3) != 0)
      return b.region.base + b.spec.regs[in_.ConsumeIntegralInRange<std::size_t>(0, b.spec.count - 1)].offset;
    return b.region.base + in_.ConsumeIntegralInRange<std::uint64_t>(0, b.region.size + kSlack);
  }

  // What registers hold: anything, a small count or shape, half of a bus address, an SRAM
  // address of a job.
  std::uint32_t register_value() {
    switch (in_.ConsumeIntegralInRange(0, 4)) {
      case 0: return in_.ConsumeIntegral<std::uint32_t>();
      case 1: return in_.ConsumeIntegralInRange<std::uint32_t>(0, 4096);
      case 2: return static_cast<std::uint32_t>(address());
      case 3: return static_cast<std::uint32_t>(address() >> 32);
      default:
        return fw::sram_address(static_cast<fw::SramBuffer>(in_.ConsumeIntegralInRange(0, 3)),
                                in_.ConsumeIntegralInRange<std::uint32_t>(0, kSramBytes + kSlack));
    }
  }

  // A whole job, as a driver programs one: every RW register of an engine (or of the DMA) set to
  // a value of the kind such registers hold, then START.GO. Register by register, the fuzzer
  // would seldom assemble a job that passes the checks.
  void program_job() {
    namespace sat = regs::sat;
    const struct {
      const char* prefix;  // of the unit's registers
      const BlockSpec& spec;
      std::uint64_t base;
      std::uint32_t start, go;
    } units[] = {{"STCE_", regmap::sat, boot_.sat_regs.base, sat::STCE_START, sat::STCE_START_GO_MASK},
                 {"OSRE_", regmap::sat, boot_.sat_regs.base, sat::OSRE_START, sat::OSRE_START_GO_MASK},
                 {"WUVE_", regmap::sat, boot_.sat_regs.base, sat::WUVE_START, sat::WUVE_START_GO_MASK},
                 {"", regmap::dma, boot_.dma.base, dma::START, dma::START_GO_MASK}};
    const auto& u = units[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(units) - 1)];
    for (std::size_t i = 0; i < u.spec.count; ++i) {
      const RegSpec& r = u.spec.regs[i];
      if (r.access != Access::RW || std::string(r.name).rfind(u.prefix, 0) != 0) continue;
      const std::uint32_t value = job_value();
      write(u.base + r.offset, &value, 4);
    }
    write(u.base + u.start, &u.go, 4);
  }

  // What job registers hold: shapes and counts (packed as the fields of IN_SIZE, CHANNELS,
  // KERNEL are), N:M pairs, SRAM operand addresses, bus addresses, anything.
  std::uint32_t job_value() {
    const auto small = [&](std::uint32_t max) { return in_.ConsumeIntegralInRange<std::uint32_t>(0, max); };
    switch (in_.ConsumeIntegralInRange(0, 5)) {
      case 0: return small(64);
      case 1: return small(32) | small(32) << 16;
      case 2: return small(8) | small(8) << 8 | small(8) << 16 | small(8) << 24;
      case 3: return in_.ConsumeIntegralInRange<std::uint32_t>(1, 8) | (in_.ConsumeBool() ? 8u : 4u) << 8;
      case 4:
        return fw::sram_address(static_cast<fw::SramBuffer>(small(2)), small(kSramBytes / 64 - 1) * 64);
      default: return register_value();
    }
  }

  // ---- writes and what they let the DMA do ----

  void write(std::uint64_t addr, const void* data, std::size_t bytes) {
    if (bytes == 4 && addr == boot_.dma.base + dma::START) {
      std::uint32_t value;
      std::memcpy(&value, data, 4);
      if ((value & dma::START_GO_MASK) && !predictable_dma()) return;
    }
    for (const Range& r : chains_)
      if (r.overlaps(addr, bytes)) return;  // a started chain reads its descriptors as they were
    mark(addr, bytes);
    hal_.write_block(addr, data, bytes);
  }

  // Whether a START now would run a transfer the harness can bound and predict; if so, the
  // bytes it may write are marked and its descriptors protected.
  bool predictable_dma() {
    if (dma_.read(dma::STATUS) & dma::STATUS_BUSY_MASK) return false;  // it could finish before START arrives
    const auto reg64 = [&](std::uint32_t lo, std::uint32_t hi) {
      return std::uint64_t{dma_.read(lo)} | std::uint64_t{dma_.read(hi)} << 32;
    };
    std::vector<DmaCopy> copies;
    std::vector<Range> descriptors;
    const auto mode = static_cast<dma::CtrlMode>((dma_.read(dma::CTRL) & dma::CTRL_MODE_MASK) >> dma::CTRL_MODE_SHIFT);
    if (mode != dma::CtrlMode::CHAIN) {
      copies.push_back({reg64(dma::SRC_LO, dma::SRC_HI), reg64(dma::DST_LO, dma::DST_HI), dma_.read(dma::LENGTH),
                        dma_.read(dma::ROWS), dma_.read(dma::SRC_STRIDE), dma_.read(dma::DST_STRIDE)});
    } else {
      // The engine reads the first descriptor wherever DESC points, and stops after a
      // misaligned, unreadable or zero-length one, or one whose NEXT is 0.
      for (std::uint64_t at = reg64(dma::DESC_LO, dma::DESC_HI); at % 8 == 0;) {
        if (descriptors.size() == kMaxChain) return false;
        const fw::Region srams[] = {boot_.sat_sram_a, boot_.sat_sram_b, boot_.sat_sram_c};
        for (const fw::Region& s : srams)
          if (Range{s.base, s.size}.overlaps(at, desc::SIZE)) return false;  // the engines may rewrite it
        if (at < boot_.ddr.base || at - boot_.ddr.base > kDdrBytes - desc::SIZE) break;
        std::uint8_t d[desc::SIZE];
        vp_.ddr.read(at - boot_.ddr.base, d, sizeof d);
        const auto load = [&](std::uint32_t offset, auto& v) { std::memcpy(&v, d + offset, sizeof v); };
        DmaCopy c;
        std::uint64_t next;
        load(desc::SRC, c.src), load(desc::DST, c.dst), load(desc::LENGTH, c.length), load(desc::ROWS, c.rows);
        load(desc::SRC_STRIDE, c.src_stride), load(desc::DST_STRIDE, c.dst_stride), load(desc::NEXT, next);
        copies.push_back(c);
        descriptors.push_back({at, desc::SIZE});
        if (c.bytes() == 0 || next == 0) break;
        at = next;
      }
    }
    std::uint64_t total = 0;
    for (const DmaCopy& c : copies) total += c.bytes();
    if (total > kMaxDmaBytes) return false;
    for (const DmaCopy& c : copies)
      for (std::uint32_t row = 0; row < c.rows && c.length; ++row)
        for (const Range& d : descriptors)
          if (d.overlaps(c.dst + std::uint64_t{row} * c.dst_stride, c.length)) return false;  // rewrites its chain
    for (const DmaCopy& c : copies)
      for (std::uint32_t row = 0; row < c.rows && c.length; ++row) mark(c.dst + std::uint64_t{row} * c.dst_stride, c.length);
    chains_.insert(chains_.end(), descriptors.begin(), descriptors.end());
    return true;
  }

  // DDR bytes of [addr, addr + bytes), addresses wrapping at 2^64, may change.
  void mark(std::uint64_t addr, std::uint64_t bytes) {
    const std::uint64_t wrapped = addr + bytes < addr ? addr + bytes : 0;  // the part past 2^64
    for (const Range& r : {Range{addr, bytes - wrapped}, Range{0, wrapped}}) {
      const std::uint64_t from = std::max(r.addr, boot_.ddr.base);
      const std::uint64_t end = r.bytes > UINT64_MAX - r.addr ? UINT64_MAX : r.addr + r.bytes;
      const std::uint64_t to = std::min(end, boot_.ddr.base + kDdrBytes);
      if (from < to) std::memset(legit_.data() + (from - boot_.ddr.base), 1, to - from);
    }
  }

  // ---- between inputs ----

  void fill_memories() {
    vp_.ddr.write(0, ddr_pattern().data(), kDdrBytes);
    for (Sram* s : {&vp_.sat.sram_a, &vp_.sat.sram_b, &vp_.sat.sram_c}) std::memset(s->data(), 0, s->size());
  }

  // Waits until the DMA and the three engines are idle; a transfer or job that outlasts
  // kDrainPs is a hang.
  void drain() {
    fw::Mmio sat(hal_, boot_.sat_regs.base);
    const struct {
      fw::Mmio& io;
      std::uint32_t status, busy;
      const char* name;
    } units[] = {{dma_, dma::STATUS, dma::STATUS_BUSY_MASK, "DMA"},
                 {sat, regs::sat::STCE_STATUS, regs::sat::STCE_STATUS_BUSY_MASK, "STCE"},
                 {sat, regs::sat::OSRE_STATUS, regs::sat::OSRE_STATUS_BUSY_MASK, "OSRE"},
                 {sat, regs::sat::WUVE_STATUS, regs::sat::WUVE_STATUS_BUSY_MASK, "WUVE"}};
    const std::uint64_t deadline = hal_.now_ps() + kDrainPs;
    for (const auto& u : units)
      while (u.io.read(u.status) & u.busy) {
        if (hal_.now_ps() > deadline) {
          std::fprintf(stderr, "the %s is still busy %llu us after the input's last access\n", u.name,
                       static_cast<unsigned long long>(kDrainPs / 1'000'000));
          std::abort();
        }
        hal_.charge_host_time(kPollPs);
      }
  }

  void check_ddr() {
    const std::vector<std::uint8_t>& before = ddr_pattern();
    std::vector<std::uint8_t> ddr(kDdrBytes);
    vp_.ddr.read(0, ddr.data(), ddr.size());
    constexpr std::uint64_t kPage = 4096;  // compared a page at a time: most are unchanged
    for (std::uint64_t i = 0; i < kDdrBytes; ++i)
      if (i % kPage == 0 && std::memcmp(&ddr[i], &before[i], kPage) == 0) {
        i += kPage - 1;
      } else if (!legit_[i] && ddr[i] != before[i]) {
        std::fprintf(stderr, "DDR byte 0x%llx changed from 0x%02x to 0x%02x, but no write of the input covers it\n",
                     static_cast<unsigned long long>(boot_.ddr.base + i), before[i], ddr[i]);
        std::abort();
      }
  }

  // Every register back to its reset value: RW ones written, W1C ones cleared, every pending
  // interrupt acknowledged. Read-only status (error causes, counters) carries over: the models
  // only report it.
  void reset_registers() {
    const struct {
      const BlockSpec& spec;
      std::uint64_t base;
    } blocks[] = {{regmap::sat, boot_.sat_regs.base}, {regmap::dma, boot_.dma.base}, {regmap::irqc, boot_.irqc.base}};
    for (const auto& b : blocks)
      for (std::size_t i = 0; i < b.spec.count; ++i) {
        const RegSpec& r = b.spec.regs[i];
        if (r.access == Access::RW) hal_.write32(b.base + r.offset, r.reset);
        if (r.access == Access::W1C) hal_.write32(b.base + r.offset, ~0u);
      }
    hal_.write32(boot_.irqc.base + regs::irqc::ACK, ~0u);
    hal_.wait_for_interrupt(0);  // synchronises: the interrupt lines settle before the pause
  }

  fw::Hal& hal_;
  const fw::BootInfo& boot_;
  VirtualPlatform& vp_;
  FuzzedDataProvider in_;
  fw::Mmio dma_;
  std::vector<std::uint8_t> legit_;  // per DDR byte: 1 if a write of the input may have changed it
  std::vector<Range> chains_;        // descriptors of started chains
};

// The platform and the handoff between libFuzzer and its firmware thread.
class Harness {
 public:
  Harness()
      : config_(small_platform()),
        vp_(config_, [this](fw::Hal& hal, const fw::BootInfo& boot) { return firmware(hal, boot); }, options()) {
    // Pausing and resuming is the normal course here, not news.
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  }

  void run(const std::uint8_t* data, std::size_t size) {
    data_ = data;
    size_ = size;
    replayed_ = false;
    sc_core::sc_start();  // until the firmware pauses the kernel
    if (replayed_) return;
    std::fprintf(stderr, "the simulation stopped before the input was replayed (at %s)\n",
                 sc_core::sc_time_stamp().to_string().c_str());
    std::abort();
  }

 private:
  static PlatformConfig small_platform() {
    PlatformConfig c = load_platform_config(CESTVP_SOURCE_DIR "/yaml/vcu1525.yaml");
    for (AddressRange& r : c.address_map) {
      if (r.name == "ddr") r.size = kDdrBytes;
      if (r.name.rfind("sat_sram_", 0) == 0) r.size = kSramBytes;
    }
    return c;
  }

  static VpOptions options() {
    VpOptions o;
    o.log_level = fw::LogLevel::error;  // every fuzzed bus error would be a warning line
    return o;
  }

  int firmware(fw::Hal& hal, const fw::BootInfo& boot) {
    for (;;) {
      Replay(hal, boot, vp_, data_, size_).run();
      replayed_ = true;
      sc_core::sc_pause();
      sc_core::wait(sc_core::SC_ZERO_TIME);  // runs on when the next input resumes the kernel
    }
  }

  PlatformConfig config_;
  VirtualPlatform vp_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool replayed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Never destroyed: at exit the simulation is paused, not over.
  static Harness* const harness = new Harness;
  harness->run(data, size);
  return 0;
}
