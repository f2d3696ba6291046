// Timing-only runs (mode: timing) take the time of a run that moves and computes the data,
// without moving any: the DMA's bursts keep their transactions, times and byte counts but leave
// memory alone (chained descriptors are still read); the loader lays out the same image without
// samples or initial values; a whole run takes the accelerator and DMA time of a functional run
// and allocates no DDR page for tensors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/regs.h>
#include <cestvp/train_runtime.h>

#include "bus.h"
#include "ddr.h"
#include "dma.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "report/training_results.h"
#include "satvp_command.h"
#include "sram.h"
#include "test_files.h"
#include "tlm_initiator.h"
#include "vp.h"

using namespace cestvp;
using cestvp::test::ns;
using cestvp::test::TlmInitiator;
namespace fs = std::filesystem;
namespace r = cestvp::regs::dma;
namespace desc = cestvp::regs::dma_desc;

namespace {

// ------------------------------------------------------------------------------------ DMA

// DDR at 0 (2 channels of 1 GB/s, 256-byte interleave, 50 ns), a 64 KiB SRAM (8-byte port,
// 1 ns cycle), the DMA's registers, one bus (10 ns hop): test_dma's platform with a DDR.
constexpr std::uint64_t kDdrSize = 64 << 20, kSram = 0x10000000, kSramSize = 0x10000, kRegs = 0x20000000;
constexpr std::uint64_t kChain = 0x0, kSource = Ddr::kPageBytes, kCopy = 2 * Ddr::kPageBytes,
                        kDrained = 3 * Ddr::kPageBytes;

struct Bench : sc_core::sc_module {
  Bus bus{"bus", {ns(10)}};
  Ddr ddr{"ddr", {kDdrSize, 2, 1e9, ns(50), 256}};
  Sram sram{"sram", {kSramSize, 8, ns(1)}};
  Dma dma;
  sc_core::sc_signal<bool> irq{"irq"};
  TlmInitiator cpu;
  // Per transfer: when its interrupt rose, BYTES_DONE, DESC_DONE.
  std::vector<sc_core::sc_time> done_at;
  std::vector<std::uint32_t> bytes, descriptors;

  Bench(const sc_core::sc_module_name& name, bool timing_only)
      : sc_module(name), dma("dma", {1024, ns(4), timing_only}), cpu("cpu", [this](TlmInitiator& c) { program(c); }) {
    bus.map_target(ddr.socket, 0, kDdrSize, "ddr");
    bus.map_target(sram.socket, kSram, kSramSize, "sram");
    bus.map_target(dma.regs_socket, kRegs, 0x1000, "dma");
    bus.connect_initiator(cpu.socket, "cpu");
    bus.connect_initiator(dma.data_socket, "dma");
    dma.irq.bind(irq);
    std::vector<std::uint8_t> pattern(8192);
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::uint8_t>(i * 7 + 3);
    ddr.write(kSource, pattern.data(), pattern.size());
    // A chain: 2 rows of 1500 bytes DDR -> SRAM (rows 2000 bytes apart in DDR), then 3000
    // bytes SRAM -> DDR.
    std::uint8_t chain[2 * desc::SIZE] = {};
    const auto put = [&](int i, std::uint64_t src, std::uint64_t dst, std::uint32_t length, std::uint32_t rows,
                         std::uint32_t src_stride, std::uint32_t dst_stride, std::uint64_t next) {
      std::uint8_t* d = chain + i * desc::SIZE;
      std::memcpy(d + desc::SRC, &src, 8);
      std::memcpy(d + desc::DST, &dst, 8);
      std::memcpy(d + desc::LENGTH, &length, 4);
      std::memcpy(d + desc::ROWS, &rows, 4);
      std::memcpy(d + desc::SRC_STRIDE, &src_stride, 4);
      std::memcpy(d + desc::DST_STRIDE, &dst_stride, 4);
      std::memcpy(d + desc::NEXT, &next, 8);
    };
    put(0, kSource, kSram, 1500, 2, 2000, 1500, kChain + desc::SIZE);
    put(1, kSram, kDrained, 3000, 1, 0, 0, 0);
    ddr.write(kChain, chain, sizeof chain);
  }

  void set(TlmInitiator& c, std::uint32_t offset, std::uint64_t value) { c.write32(kRegs + offset, static_cast<std::uint32_t>(value)); }
  std::uint32_t get(TlmInitiator& c, std::uint32_t offset) {
    std::uint32_t v = 0;
    c.read32(kRegs + offset, v);
    return v;
  }
  void run_and_record(TlmInitiator& c, std::uint32_t ctrl) {
    set(c, r::CTRL, ctrl | r::CTRL_IRQ_DONE_EN_MASK | r::CTRL_IRQ_ERROR_EN_MASK);
    set(c, r::START, r::START_GO_MASK);
    sc_core::wait(irq.posedge_event());
    done_at.push_back(sc_core::sc_time_stamp());
    bytes.push_back(get(c, r::BYTES_DONE_LO));
    descriptors.push_back(get(c, r::DESC_DONE));
    set(c, r::IRQ_STATUS, r::IRQ_STATUS_DONE_MASK | r::IRQ_STATUS_ERROR_MASK);
  }
  // A direct DDR -> DDR copy of 3000 bytes (two full bursts and a short one), then the chain.
  void program(TlmInitiator& c) {
    set(c, r::SRC_LO, kSource);
    set(c, r::DST_LO, kCopy);
    set(c, r::LENGTH, 3000);
    set(c, r::ROWS, 1);
    run_and_record(c, static_cast<std::uint32_t>(r::CtrlMode::DIRECT) << r::CTRL_MODE_SHIFT);
    set(c, r::DESC_LO, kChain);
    run_and_record(c, static_cast<std::uint32_t>(r::CtrlMode::CHAIN) << r::CTRL_MODE_SHIFT);
  }
};

}  // namespace

TEST(TimingMode, DmaBurstsTakeTheirTimeButMoveNoData) {
  Bench data("data", false), timing("timing", true);
  sc_core::sc_start();

  ASSERT_EQ(data.done_at.size(), 2u);
  ASSERT_EQ(timing.done_at.size(), 2u);
  EXPECT_EQ(timing.done_at, data.done_at);
  EXPECT_EQ(timing.bytes, (std::vector<std::uint32_t>{3000, 6000}));
  EXPECT_EQ(timing.bytes, data.bytes);
  EXPECT_EQ(timing.descriptors, (std::vector<std::uint32_t>{0, 2}));  // the chain was read and followed
  EXPECT_EQ(timing.dma.bytes_moved(), data.dma.bytes_moved());
  EXPECT_EQ(timing.ddr.bytes_read(), data.ddr.bytes_read());
  EXPECT_EQ(timing.ddr.bytes_written(), data.ddr.bytes_written());
  EXPECT_EQ(timing.sram.bytes_read(), data.sram.bytes_read());
  EXPECT_EQ(timing.sram.bytes_written(), data.sram.bytes_written());

  // The data bench moved the bytes; the timing bench left the destinations as they were.
  std::vector<std::uint8_t> source(3500), copy(3000), drained(3000);
  data.ddr.read(kSource, source.data(), source.size());
  data.ddr.read(kCopy, copy.data(), copy.size());
  data.ddr.read(kDrained, drained.data(), drained.size());
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), source.begin()));
  EXPECT_EQ(std::memcmp(drained.data(), source.data(), 1500), 0);
  EXPECT_EQ(std::memcmp(drained.data() + 1500, source.data() + 2000, 1500), 0);
  EXPECT_EQ(data.ddr.pages_allocated(), 4u);  // chain, source, copy, drained
  EXPECT_EQ(timing.ddr.pages_allocated(), 2u);  // chain and source, written by the bench
  EXPECT_TRUE(std::all_of(timing.sram.data(), timing.sram.data() + kSramSize, [](std::uint8_t b) { return b == 0; }));
}

// ---------------------------------------------------------------------------------- loader

namespace {

// A residual network with batch norm and a BDWP 2:8 block, on 16x16x3 synthetic images.
const std::string kResidual = R"(name: residual
program: train
mode: functional
scheme: bdwp
nm: "2:8"
batch: 32
iterations: 3
eval_samples: 48
seed: 5
loss_scale: 128
optimizer: {lr: 0.05, momentum: 0.9, weight_decay: 5e-4, schedule: cosine}
dataset:
  name: synthetic
  mean: [0.5, 0.5, 0.5]
  std: [0.25, 0.25, 0.25]
  synthetic: {height: 16, width: 16, channels: 3, classes: 10, train: 128, test: 48}
network:
  layers:
    - {type: conv2d, out: 16, kernel: 3, padding: 1}
    - {type: batchnorm}
    - {type: relu, name: block_in}
    - {type: conv2d, out: 16, kernel: 3, padding: 1}
    - {type: batchnorm}
    - {type: relu}
    - {type: conv2d, out: 16, kernel: 3, padding: 1}
    - {type: batchnorm}
    - {type: add, with: block_in}
    - {type: relu}
    - {type: maxpool, kernel: 2, stride: 2}
    - {type: conv2d, out: 24, kernel: 3, stride: 2, padding: 1}
    - {type: relu}
    - {type: avgpool, kernel: 4, stride: 4}
    - {type: flatten}
    - {type: linear, out: 10, bias: true}
    - {type: softmax_ce}
export: {snapshot_interval: 1}
)";

// A pre-norm transformer block (2 heads, a GELU MLP, sparse token-wise linears) on 8x8x3
// images cut into 2x2 patches.
const std::string kTransformer = R"(name: transformer
program: train
mode: functional
scheme: bdwp
nm: "2:8"
batch: 16
iterations: 2
eval_samples: 16
seed: 3
loss_scale: 128
optimizer: {lr: 0.05, momentum: 0.9, weight_decay: 5e-4, schedule: cosine}
dataset:
  name: synthetic
  mean: [0.5, 0.5, 0.5]
  std: [0.25, 0.25, 0.25]
  synthetic: {height: 8, width: 8, channels: 3, classes: 10, train: 64, test: 16}
network:
  layers:
    - {type: conv2d, out: 16, kernel: 2, stride: 2, bias: true}
    - {type: tokens}
    - {type: embed, name: x0}
    - {type: layernorm}
    - {type: linear, out: 48, bias: true}
    - {type: attention, heads: 2}
    - {type: linear, out: 16, bias: true}
    - {type: add, with: x0, name: x1}
    - {type: layernorm}
    - {type: linear, out: 32, bias: true}
    - {type: gelu}
    - {type: linear, out: 16, bias: true}
    - {type: add, with: x1}
    - {type: layernorm}
    - {type: cls_token}
    - {type: linear, out: 10, bias: true}
    - {type: softmax_ce}
)";

Workload load(const std::string& text, std::vector<std::string> sets) {
  static const PlatformConfig config = test::default_config();
  return load_workload(test::write_file("workload.yaml", text), parse_overrides(sets), &config);
}

fw::BootInfo boot() { return VirtualPlatform::make_boot_info(test::default_config()); }

bool in_area(const TrainingImage& image, const std::string& prefix, std::uint64_t addr) {
  for (const MemoryArea& a : image.areas)
    if (a.name.compare(0, prefix.size(), prefix) == 0 && addr >= a.addr && addr < a.addr + a.bytes) return true;
  return false;
}

}  // namespace

TEST(TimingMode, ImageHasTheSameLayoutWithoutSamplesOrInitialValues) {
  const TrainingImage full = build_training_image(load(kResidual, {}).train, boot());
  const TrainingImage timing = build_training_image(load(kResidual, {"mode=timing"}).train, boot());
  ASSERT_EQ(timing.areas.size(), full.areas.size());
  for (std::size_t i = 0; i < full.areas.size(); ++i) {
    EXPECT_EQ(timing.areas[i].name, full.areas[i].name);
    EXPECT_EQ(timing.areas[i].addr, full.areas[i].addr) << full.areas[i].name;
    EXPECT_EQ(timing.areas[i].bytes, full.areas[i].bytes) << full.areas[i].name;
  }
  EXPECT_EQ(std::memcmp(&timing.header, &full.header, sizeof full.header), 0);
  EXPECT_EQ(std::memcmp(timing.tensors.data(), full.tensors.data(), full.tensors.size() * sizeof full.tensors[0]), 0);
  EXPECT_EQ(std::memcmp(timing.params.data(), full.params.data(), full.params.size() * sizeof full.params[0]), 0);
  EXPECT_FALSE(full.train_images.empty());
  EXPECT_TRUE(timing.train_images.empty() && timing.train_labels.empty() && timing.test_images.empty() &&
              timing.test_labels.empty());
  for (const std::vector<float>& values : timing.initial) EXPECT_TRUE(values.empty());

  // Written: the header, the tables, the sample order and the result header; nothing of the
  // params or the dataset.
  std::uint64_t written = 0;
  write_training_image(timing, [&](std::uint64_t addr, const void*, std::uint64_t bytes) {
    if (bytes == 0) return;
    written += bytes;
    for (const char* area : {"param", "train", "test", "tensor"}) EXPECT_FALSE(in_area(timing, area, addr)) << addr;
  });
  EXPECT_LT(written, 64u << 10);
}

// --------------------------------------------------------------------------------- platform

// A timing run of the residual network at batch 256 on the platform: DDR pages only where the
// loader and the firmware write (the descriptor, the result area, DMA descriptors in the
// scratch), none for tensors, params, samples or a sample order; the SAT's buffers untouched.
TEST(TimingMode, TimingRunAllocatesNoDdrPagesForData) {
  const Workload workload = load(kResidual, {"mode=timing", "batch=256", "dataset.synthetic.train=512"});
  const PlatformConfig config = test::default_config();
  const fw::BootInfo b = VirtualPlatform::make_boot_info(config);
  const TrainingImage image = build_training_image(workload.train, b);
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = SatMode::timing;
  fw::TrainingParams params;
  params.model_addr = image.model_addr;
  params.mode = SatMode::timing;
  VirtualPlatform vp(config, [&](fw::Hal& hal, const fw::BootInfo& boot_info) { return fw::run_training(hal, boot_info, params); },
                     options);
  write_training_image(image, ddr_writer(vp.ddr, b.ddr.base));
  const RunStats stats = vp.run();
  ASSERT_TRUE(stats.firmware_finished) << log.str();
  ASSERT_EQ(stats.firmware_exit_code, 0) << log.str();
  EXPECT_EQ(read_training_result(image, ddr_reader(vp.ddr, b.ddr.base)).iterations.size(), 3u);

  std::set<std::uint64_t> control_pages;  // pages holding any byte of a control area
  for (const MemoryArea& a : image.areas)
    if (a.name.rfind("tables", 0) == 0 || a.name == "scratch" || a.name == "result")
      for (std::uint64_t p = (a.addr - b.ddr.base) / Ddr::kPageBytes; p <= (a.addr - b.ddr.base + a.bytes - 1) / Ddr::kPageBytes; ++p)
        control_pages.insert(p);
  const std::uint64_t image_pages = (image.bytes() + Ddr::kPageBytes - 1) / Ddr::kPageBytes;
  EXPECT_GT(image_pages, 4 * control_pages.size());  // else the check below says little
  EXPECT_LE(vp.ddr.pages_allocated(), control_pages.size());
  // The loader's host-memory estimate counts at least the DDR pages the run wrote.
  const std::uint64_t sram = b.sat_sram_a.size + b.sat_sram_b.size + b.sat_sram_c.size;
  EXPECT_GE(estimate_host_memory(image, workload.train, b).memories - sram, vp.ddr.pages_allocated() * Ddr::kPageBytes);
  EXPECT_GT(vp.dma.bytes_moved(), image.bytes());  // the bursts were issued and timed all the same
  EXPECT_GT(vp.ddr.bytes_written(), 0u);
  for (Sram* s : {&vp.sat.sram_a, &vp.sat.sram_b, &vp.sat.sram_c})
    EXPECT_TRUE(std::all_of(s->data(), s->data() + s->size(), [](std::uint8_t v) { return v == 0; })) << s->name();
}

namespace {

// What a satvp run reports of its timing: training.json's simulated time and per-unit times
// (as picoseconds), the iterations done and the summary's bus transaction count.
struct RunTiming {
  long long simulated_ps = 0, stce_ps = 0, osre_ps = 0, wuve_ps = 0, dma_ps = 0, host_ps = 0;
  std::string iterations_done, bus_transactions;
};

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The number after `key` in `text` (the text up to the next ',', '}' or line end).
std::string after(const std::string& text, const std::string& key) {
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return text.substr(start, text.find_first_of(",}\n", start) - start);
}

long long ps(const std::string& us) { return std::llround(std::stod(us) * 1e6); }

// metrics.csv's sim_time_us column (the last): when each iteration ended. Loss and accuracy are
// zero in a timing run.
std::vector<std::string> iteration_ends(const fs::path& metrics) {
  std::istringstream lines(file_text(metrics));
  std::vector<std::string> ends;
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) ends.push_back(line.substr(line.rfind(',') + 1));
  return ends;
}

RunTiming run_satvp(const std::string& workload, const std::string& mode) {
  const fs::path out = test::test_dir() / mode;
  fs::remove_all(out);
  const test::Command c = test::run_command(test::kSatvp + " run --workload " + test::write_file("workload.yaml", workload) +
                                            " --set mode=" + mode + " --out " + out.string());
  EXPECT_EQ(c.exit_code, 0) << c.output;
  const std::string json = file_text(out / "training.json");
  RunTiming t;
  t.simulated_ps = ps(after(json, "\"simulated_time_us\": "));
  t.stce_ps = ps(after(json, "\"stce\": "));
  t.osre_ps = ps(after(json, "\"osre\": "));
  t.wuve_ps = ps(after(json, "\"wuve\": "));
  t.dma_ps = ps(after(json, "\"dma\": "));
  t.host_ps = ps(after(json, "\"host\": "));
  t.iterations_done = after(json, "\"iterations_done\": ");
  t.bus_transactions = after(c.output, "bus transactions    ");
  return t;
}

// Everything takes the same time in both modes, to the picosecond: the engines, the DMA, and
// the host's own work, which the cost model times alone (its data accesses cost nothing extra
// in a functional run, and a timing run skips them); so every iteration ends at the same time.
void expect_same_timing(const std::string& workload) {
  const RunTiming functional = run_satvp(workload, "functional");
  const RunTiming timing = run_satvp(workload, "timing");
  EXPECT_EQ(timing.simulated_ps, functional.simulated_ps);
  EXPECT_EQ(timing.host_ps, functional.host_ps);
  const std::vector<std::string> ends = iteration_ends(test::test_dir() / "timing" / "metrics.csv");
  EXPECT_FALSE(ends.empty());
  EXPECT_EQ(ends, iteration_ends(test::test_dir() / "functional" / "metrics.csv"));
  EXPECT_FALSE(timing.iterations_done.empty());
  EXPECT_EQ(timing.iterations_done, functional.iterations_done);
  EXPECT_GT(timing.stce_ps, 0);
  EXPECT_EQ(timing.stce_ps, functional.stce_ps);
  EXPECT_EQ(timing.osre_ps, functional.osre_ps);
  EXPECT_EQ(timing.wuve_ps, functional.wuve_ps);
  EXPECT_GT(timing.dma_ps, 0);
  EXPECT_EQ(timing.dma_ps, functional.dma_ps);
  EXPECT_EQ(timing.simulated_ps - timing.host_ps, functional.simulated_ps - functional.host_ps);
  EXPECT_FALSE(timing.bus_transactions.empty());
  EXPECT_EQ(timing.bus_transactions, functional.bus_transactions);
}

}  // namespace

TEST(TimingMode, ResidualNetworkTakesTheTimeOfAFunctionalRun) { expect_same_timing(kResidual); }

TEST(TimingMode, TransformerTakesTheTimeOfAFunctionalRun) { expect_same_timing(kTransformer); }
