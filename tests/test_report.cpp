// The run report (platform/report.h) of training runs booted here: its sums against the
// simulated time, its SAT counters against the SAT's own, the operation counts of one layer
// against a hand count, its files; and the scheme ordering of the paper on a mid-size network,
// through the satvp binary (one simulation per process).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/train_runtime.h>

#include "report.h"
#include "satvp_command.h"
#include "test_files.h"
#include "training.h"
#include "vp.h"
#include "workload.h"

using namespace cestvp;
namespace model = fw::model;

namespace {

// 16x16x3 images; conv 3->16 (dense: the first layer), conv 16->32 (sparse under BDWP), pool,
// linear (dense: the last layer). Batch 8, 2 iterations, one evaluation of 8 samples.
constexpr const char* kWorkload = R"(name: report
program: train
mode: timing
scheme: bdwp
nm: "2:8"
batch: 8
iterations: 2
eval_interval: 0
eval_samples: 8
seed: 3
optimizer: {lr: 0.01, momentum: 0.9, weight_decay: 0, schedule: constant}
dataset:
  name: synthetic
  synthetic: {height: 16, width: 16, channels: 3, classes: 10, train: 32, test: 8}
network:
  layers:
    - {type: conv2d, out: 16, kernel: 3, stride: 1, padding: 1, bias: false}
    - {type: relu}
    - {type: conv2d, out: 32, kernel: 3, stride: 1, padding: 1, bias: false}
    - {type: relu}
    - {type: maxpool, kernel: 2, stride: 2}
    - {type: flatten}
    - {type: linear, out: 10, bias: true}
    - {type: softmax_ce}
export: {snapshot_interval: 0, log_interval: 0}
timeout: 10 s
)";

struct Booted {
  Report report;
  PlatformCounts platform;
  std::string log;
};

Booted boot_and_report(sat::Mode mode, fw::SatMode fw_mode, const std::string& mode_name,
                       const std::string& timeline = "") {
  const PlatformConfig config = test::default_config();
  const Workload workload = load_workload(test::write_file("report.yaml", kWorkload), {}, &config);
  const fw::BootInfo boot = VirtualPlatform::make_boot_info(config);
  const TrainingImage image = build_training_image(workload.train, boot);
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = mode;
  options.timeline_path = timeline;
  fw::TrainingParams params;
  params.model_addr = image.model_addr;
  params.mode = fw_mode;
  VirtualPlatform vp(config, [&](fw::Hal& hal, const fw::BootInfo& b) { return fw::run_training(hal, b, params); },
                     options);
  write_training_image(image, ddr_writer(vp.ddr, boot.ddr.base));
  const RunStats stats = vp.run();
  const TrainingResult result = read_training_result(image, ddr_reader(vp.ddr, boot.ddr.base));
  ReportInputs in;
  in.config = &config, in.workload = &workload.train, in.image = &image, in.result = &result;
  in.platform = vp.counts();
  in.name = "report", in.mode = mode_name;
  in.simulated_seconds = stats.simulated.to_seconds();
  in.wall_seconds = stats.wall_seconds;
  return {make_report(in), in.platform, log.str()};
}

const PhaseFigures& pass(const Report& r, std::size_t layer, model::Pass p) {
  return r.rows.at(layer).pass[static_cast<std::size_t>(p)];
}

}  // namespace

// The firmware attributes every picosecond between building its kernels and writing its
// profile to one (layer, pass): the records add up to the simulated time, less the descriptor
// read and probe before and the last result write after (well under 1%).
TEST(Report, PhasesAddUpToTheSimulatedTimeAndEnginesStayWithinIt) {
  const Booted b = boot_and_report(sat::Mode::timing, fw::SatMode::timing, "timing");
  const Report& r = b.report;
  ASSERT_TRUE(r.complete) << b.log;
  EXPECT_LE(r.total.cycles, r.sat_cycles);
  EXPECT_GE(r.total.cycles, 0.99 * r.sat_cycles);
  double by_rows = 0;
  for (const Report::Layer& l : r.rows)
    for (const PhaseFigures& f : l.pass) {
      by_rows += f.cycles;
      // The firmware's host work and DMA waits are parts of its time in the phase.
      EXPECT_LE(f.host_cycles + f.dma_wait_cycles, f.cycles * (1 + 1e-12) + 1) << l.name;
      if (f.stce_slots) {
        EXPECT_LE(f.macs(), f.stce_slots) << l.name;
      }
    }
  EXPECT_NEAR(by_rows, r.total.cycles, 1e-6 * r.total.cycles);
  for (const model::EngineCounters& c : r.total.engine) {
    EXPECT_LE(static_cast<double>(c.busy_cycles), r.sat_cycles);
    EXPECT_LE(c.stall_cycles, c.busy_cycles);
  }
  EXPECT_GT(r.dma_busy_cycles, 0.0);
  EXPECT_LE(r.dma_busy_cycles, r.sat_cycles);
  EXPECT_GE(r.dma_busy_cycles + 1, r.total.dma_wait_cycles);  // the firmware only waits while it is busy
  EXPECT_GT(r.total.engine[0].jobs, 0u);
  EXPECT_GT(r.total.engine[1].jobs, 0u);
  EXPECT_GT(r.total.engine[2].jobs, 0u);
  // Every training iteration enters FF, BP, WU of the sparse conv once; evaluation once.
  EXPECT_EQ(pass(r, 2, model::Pass::forward).entries, 2u);
  EXPECT_EQ(pass(r, 2, model::Pass::backward_weight).entries, 2u);
  EXPECT_EQ(pass(r, 2, model::Pass::evaluate).entries, 1u);
  EXPECT_EQ(pass(r, 0, model::Pass::backward_data).entries, 2u);  // entered, though the first layer has no dX
  EXPECT_EQ(pass(r, 0, model::Pass::backward_data).engine[0].jobs, 0u);
}

// The report's engine counters are what the firmware read from the SAT's registers, phase by
// phase; their sums must be the SAT's own counts at the end of the run.
TEST(Report, TheFirmwaresCounterReadsSumToTheSatsCounts) {
  const Booted b = boot_and_report(sat::Mode::functional, fw::SatMode::functional, "functional");
  ASSERT_TRUE(b.report.complete) << b.log;
  for (unsigned e = 0; e < 3; ++e) {
    const model::EngineCounters &got = b.report.total.engine[e], &want = b.platform.engine[e];
    EXPECT_EQ(got.jobs, want.jobs) << e;
    EXPECT_EQ(got.busy_cycles, want.busy_cycles) << e;
    EXPECT_EQ(got.stall_cycles, want.stall_cycles) << e;
    EXPECT_EQ(got.ops, want.ops) << e;
    EXPECT_EQ(got.ops_skipped, want.ops_skipped) << e;
    EXPECT_EQ(got.sram_read, want.sram_read) << e;
    EXPECT_EQ(got.sram_write, want.sram_write) << e;
  }
  EXPECT_TRUE(b.report.counters_agree);
}

// The sparse conv 16 -> 32 (3x3, padding 1) on 8 images of 16x16, by hand:
//   FF: rows 8*16*16 = 2048, cols Cout 32, K = 9 taps * Cin 16 = 144: dense 9437184 MACs; W~
//       keeps 2 of every 8 along Cin, K_eff = 9 * 4 = 36: 2359296 executed.
//   BP: rows 2048 (dX positions), cols Cin 16, K = 9 * Cout 32 = 288: dense 9437184; W~^T keeps
//       2 of 8 along Cout, K_eff = 9 * 8 = 72: 2359296 executed.
//   WU: rows Cout 32, cols 144, K = 2048, dense: 9437184.
// per iteration (2 iterations); its evaluation is one FF of 8 images. Mapping onto 32 x 32:
// FF's 32 columns fill the array (100%); BP's 16 columns fill half of it, as do FF's 16
// columns of the first conv (Cout 16).
TEST(Report, OperationCountsOfOneLayerMatchAHandCount) {
  const Booted b = boot_and_report(sat::Mode::timing, fw::SatMode::timing, "timing");
  const Report& r = b.report;
  ASSERT_TRUE(r.complete) << b.log;
  const PhaseFigures &ff = pass(r, 2, model::Pass::forward), &bp = pass(r, 2, model::Pass::backward_data),
                     &wu = pass(r, 2, model::Pass::backward_weight), &ev = pass(r, 2, model::Pass::evaluate);
  EXPECT_EQ(ff.dense_macs(), 2u * 9437184u);
  EXPECT_EQ(ff.macs(), 2u * 2359296u);
  EXPECT_EQ(bp.dense_macs(), 2u * 9437184u);
  EXPECT_EQ(bp.macs(), 2u * 2359296u);
  EXPECT_EQ(wu.macs(), 2u * 9437184u);
  EXPECT_EQ(wu.dense_macs(), 2u * 9437184u);
  EXPECT_EQ(ev.macs(), 2359296u);
  EXPECT_DOUBLE_EQ(static_cast<double>(ff.macs()) / static_cast<double>(ff.stce_slots), 1.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(bp.macs()) / static_cast<double>(bp.stce_slots), 0.5);
  const PhaseFigures& first = pass(r, 0, model::Pass::forward);
  EXPECT_EQ(first.macs(), 2u * 2048u * 16u * 27u);  // dense: K = 9 * 3
  EXPECT_EQ(first.dense_macs(), first.macs());
  EXPECT_DOUBLE_EQ(static_cast<double>(first.macs()) / static_cast<double>(first.stce_slots), 0.5);
}

// The files: report.json is JSON (read by Python's parser), layers.csv starts with SCALE-Sim's
// COMPUTE_REPORT columns and its Total Cycles add up to the report's total.
TEST(Report, FilesParseAndLayersCsvAddsUp) {
  const Booted b = boot_and_report(sat::Mode::timing, fw::SatMode::timing, "timing");
  const std::string dir = test::test_dir().string();
  write_report(b.report, dir);
  const test::Command json = test::run_command(
      "python3 -c \"import json,sys; r=json.load(open('" + dir + "/report.json')); "
      "print(r['status'], len(r['layers']), r['counters_agree'], r['operations']['macs_executed'])\"");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_EQ(json.output, "finished 9 True " + std::to_string(b.report.total.macs()) + "\n");
  std::ifstream csv(dir + "/layers.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %", 0),
            0u);
  double cycles = 0;
  std::size_t rows = 0;
  for (std::string line; std::getline(csv, line); ++rows) cycles += std::stod(line.substr(line.find(", ") + 2));
  EXPECT_NEAR(cycles, b.report.total.cycles, static_cast<double>(rows));  // each row rounded to a cycle
}

// The timeline (--timeline): per SAT engine track, one span per job, their durations adding up
// to the engine's busy cycles; spans of one track never overlap; the firmware track's phases
// are as many as the profile's entries.
TEST(Report, TimelineHasAJobSpanPerEngineJobAndThePhases) {
  const std::string path = (test::test_dir() / "timeline.json").string();
  const Booted b = boot_and_report(sat::Mode::timing, fw::SatMode::timing, "timing", path);
  const test::Command summary = test::run_command(
      "python3 -c \"import json\n"
      "t = json.load(open('" + path + "'))['traceEvents']\n"
      "names = {e['tid']: e['args']['name'] for e in t if e['ph'] == 'M' and e['name'] == 'thread_name'}\n"
      "for tid, name in sorted(names.items()):\n"
      "  spans = sorted((float(e['ts']), float(e['dur'])) for e in t if e['ph'] == 'X' and e['tid'] == tid)\n"
      "  overlap = any(a[0] + a[1] > c[0] + 1e-6 for a, c in zip(spans, spans[1:]))\n"
      "  print(name, len(spans), round(sum(d for _, d in spans) * 1e6), int(overlap))\"");
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  std::istringstream lines(summary.output);
  std::uint64_t entries = 0;
  for (const Report::Layer& l : b.report.rows)
    for (const PhaseFigures& f : l.pass) entries += f.entries;
  const double cycle_ps = 1e12 / b.report.clock_hz;
  std::size_t tracks = 0;
  for (std::string name; lines >> name;) {
    std::uint64_t spans = 0, duration_ps = 0, overlap = 0;
    lines >> spans >> duration_ps >> overlap;
    ++tracks;
    EXPECT_EQ(overlap, 0u) << name;
    const int engine = name == "STCE" ? 0 : name == "OSRE" ? 1 : name == "WUVE" ? 2 : -1;
    if (engine >= 0) {
      const model::EngineCounters& c = b.report.total.engine[engine];
      EXPECT_EQ(spans, c.jobs) << name;
      // A span runs from START to DONE: the busy cycles plus at most a cycle to the next clock edge.
      const double busy_ps = static_cast<double>(c.busy_cycles) * cycle_ps;
      EXPECT_GE(static_cast<double>(duration_ps) + static_cast<double>(c.jobs), busy_ps) << name;
      EXPECT_LE(static_cast<double>(duration_ps), busy_ps + static_cast<double>(c.jobs) * cycle_ps) << name;
    } else if (name == "firmware") {
      EXPECT_EQ(spans, entries + 1);  // and the runtime's last phase, closed at the end of the run
    } else {
      EXPECT_EQ(name, "DMA");
      EXPECT_GT(spans, 0u);
      EXPECT_NEAR(static_cast<double>(duration_ps), b.report.dma_busy_cycles * cycle_ps, static_cast<double>(spans));
    }
  }
  EXPECT_EQ(tracks, 5u) << summary.output;
}

namespace {

// A number of report.json, found by its key (the first occurrence).
double json_field(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return NAN;
  return std::stod(json.substr(at + key.size() + 4));
}

// Per-iteration simulated time of ResNet9 (batch 128, timing mode) under `scheme`.
double iteration_seconds(const std::string& scheme, const std::string& platform = "") {
  const std::string dir = (test::test_dir() / scheme).string() + (platform.empty() ? "" : "-platform");
  const test::Command run = test::run_command(
      test::kSatvp + " run --workload " + test::kSource + "/workloads/resnet9_cifar10.yaml --set batch=128 --set " +
      "eval_samples=128 --set scheme=" + scheme + (platform.empty() ? "" : " --platform " + platform) + " --out " + dir);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::ifstream in(dir + "/report.json");
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return json_field(json, "iteration_seconds");
}

}  // namespace

// The paper's ordering on ResNet9: BDWP (W~ forward, W~^T backward) beats SR-STE (W~ forward
// only) and SDGP (pruned dY backward only), and SR-STE beats dense. SDGP's compressed operand is
// STCE's A (dY), so every kept entry needs the B operand's M candidates; with the default B port
// (64 B per cycle, sized for dense B) its data-gradient jobs are port-bound and, with the host's
// rescale, no faster than dense. With a B port as wide as A's (256 B) SDGP beats dense too
// (docs/paper-reproduction.md discusses the assumption).
TEST(Report, SchemeOrderingOnResnet9) {
  const double dense = iteration_seconds("dense"), srste = iteration_seconds("srste"),
               sdgp = iteration_seconds("sdgp"), bdwp = iteration_seconds("bdwp");
  EXPECT_LT(bdwp, srste);
  EXPECT_LT(bdwp, sdgp);
  EXPECT_LT(srste, dense);
  std::string yaml;
  {
    std::ifstream in(test::kSource + "/yaml/vcu1525.yaml");
    yaml.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  const std::size_t port_b = yaml.find("    b: 64 B");
  ASSERT_NE(port_b, std::string::npos);
  yaml.replace(port_b, 11, "    b: 256 B");
  const std::string wide = test::write_file("wide_b_port.yaml", yaml);
  EXPECT_LT(iteration_seconds("sdgp", wide), iteration_seconds("dense", wide));
}
