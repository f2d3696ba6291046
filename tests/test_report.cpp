// The run report (platform/report/report.h) of training runs booted here: its sums against the
// simulated time, its SAT counters against the SAT's own, the operation counts of one layer
// against a hand count, its files; and the scheme ordering of the paper on a mid-size network,
// through the satvp binary (one simulation per process).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/train_runtime.h>

#include "loader/training_image.h"
#include "loader/workload.h"
#include "report/report.h"
#include "report/training_results.h"
#include "satvp_command.h"
#include "test_files.h"
#include "vp.h"

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
  // The raw inputs of the report, for recounting its derived figures.
  PlatformConfig config;
  TrainingResult result;
  double simulated_seconds = 0;
};

Booted boot_and_report(SatMode mode, SatMode fw_mode, const std::string& mode_name,
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
  return {make_report(in), in.platform, log.str(), config, result, in.simulated_seconds};
}

const PhaseFigures& pass(const Report& r, std::size_t layer, model::Pass p) {
  return r.rows.at(layer).pass[static_cast<std::size_t>(p)];
}

}  // namespace

// The firmware attributes every picosecond between building its kernels and writing its
// profile to one (layer, pass): the records add up to the simulated time, less the descriptor
// read and probe before and the last result write after (well under 1%).
TEST(Report, PhasesAddUpToTheSimulatedTimeAndEnginesStayWithinIt) {
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
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
  const Booted b = boot_and_report(SatMode::functional, SatMode::functional, "functional");
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
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
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
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
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
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing", path);
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

// ---- the derived figures, recounted from the raw counters -----------------------------------
// Reliability II, class 8. Every figure the report derives (utilisation, idle cycles, GOPS,
// bandwidth, the energy terms, per-pass and per-layer util and mapping efficiency) is recounted
// here with the definitions of docs/reports.md from what the run counted: the firmware's
// profile records (integers, summed here), the SAT's and DDR's own counters, the simulated time
// and the platform's clock, array and energy section; then compared with report.json,
// layers.csv, engines.csv and the console table. Nothing below calls report.cpp's arithmetic.

namespace {

// Sums of profile records, kept in integers (picoseconds, counts).
struct Raw {
  std::uint64_t entries = 0, time_ps = 0, host_ps = 0, dma_wait_ps = 0, dma_bytes = 0, slots = 0;
  model::EngineCounters engine[3];
  void add(const model::ProfileRecord& r) {
    entries += r.entries, time_ps += r.time_ps, host_ps += r.host_ps, dma_wait_ps += r.dma_wait_ps;
    dma_bytes += r.dma_bytes, slots += r.stce_slots;
    for (unsigned e = 0; e < 3; ++e) {
      model::EngineCounters& a = engine[e];
      const model::EngineCounters& b = r.engine[e];
      a.jobs += b.jobs, a.busy_cycles += b.busy_cycles, a.stall_cycles += b.stall_cycles, a.ops += b.ops;
      a.ops_skipped += b.ops_skipped, a.sram_read += b.sram_read, a.sram_write += b.sram_write;
    }
  }
};

// The run in the units of the definitions.
struct Recount {
  double clock_hz, seconds, sat_cycles, array;  // array: R x C MAC slots per cycle
  std::vector<std::vector<Raw>> rows;            // [layer or runtime][pass]
  Raw pass_total[model::kPassCount], total;

  explicit Recount(const Booted& b)
      : clock_hz(b.config.clocks.sat_hz),
        seconds(b.simulated_seconds),
        sat_cycles(b.simulated_seconds * b.config.clocks.sat_hz),
        array(static_cast<double>(b.config.sat.array_rows) * b.config.sat.array_cols) {
    const std::size_t count = b.result.profile.size() / model::kPassCount;
    for (std::size_t row = 0; row < count; ++row) {
      rows.emplace_back(model::kPassCount);
      for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
        const model::ProfileRecord& r = b.result.profile[row * model::kPassCount + p];
        rows.back()[p].add(r);
        pass_total[p].add(r);
        total.add(r);
      }
    }
  }
  double cycles(std::uint64_t ps) const { return static_cast<double>(ps) * clock_hz / 1e12; }
};

double quotient(double part, double whole) { return whole > 0 ? part / whole : 0; }

// report.json flattened by Python's parser: "engines.STCE.utilisation" -> value.
std::map<std::string, double> json_numbers(const std::string& path) {
  const std::string script = test::write_file("flatten.py",
                                              "import json, sys\n"
                                              "def walk(path, v):\n"
                                              "    if isinstance(v, dict):\n"
                                              "        for k, x in v.items(): walk(path + [k], x)\n"
                                              "    elif isinstance(v, list):\n"
                                              "        for i, x in enumerate(v): walk(path + [str(i)], x)\n"
                                              "    elif isinstance(v, (int, float)) and not isinstance(v, bool):\n"
                                              "        print('.'.join(path), repr(v))\n"
                                              "walk([], json.load(open(sys.argv[1])))\n");
  const test::Command flat = test::run_command("python3 " + script + " " + path);
  EXPECT_EQ(flat.exit_code, 0) << flat.output;
  std::map<std::string, double> numbers;
  std::istringstream lines(flat.output);
  std::string key, value;
  while (lines >> key >> value) numbers[key] = std::stod(value);
  return numbers;
}

// Equal up to the rounding of a different order of the same double operations.
void expect_figure(const std::map<std::string, double>& json, const std::string& key, double want) {
  const auto it = json.find(key);
  ASSERT_NE(it, json.end()) << key << " missing from report.json";
  EXPECT_NEAR(it->second, want, 1e-12 * std::fabs(want)) << key;
}

void expect_phase(const std::map<std::string, double>& json, const std::string& at, const Raw& x, const Recount& n) {
  const double cycles = n.cycles(x.time_ps), macs = static_cast<double>(x.engine[0].ops);
  expect_figure(json, at + ".entries", static_cast<double>(x.entries));
  expect_figure(json, at + ".cycles", cycles);
  expect_figure(json, at + ".stall_cycles", static_cast<double>(x.engine[0].stall_cycles) + n.cycles(x.dma_wait_ps));
  expect_figure(json, at + ".host_cycles", n.cycles(x.host_ps));
  expect_figure(json, at + ".dma_wait_cycles", n.cycles(x.dma_wait_ps));
  expect_figure(json, at + ".dma_bytes", static_cast<double>(x.dma_bytes));
  expect_figure(json, at + ".macs", macs);
  expect_figure(json, at + ".dense_macs", macs + static_cast<double>(x.engine[0].ops_skipped));
  expect_figure(json, at + ".stce_slots", static_cast<double>(x.slots));
  expect_figure(json, at + ".overall_util", quotient(macs, cycles * n.array));
  expect_figure(json, at + ".mapping_efficiency", quotient(macs, static_cast<double>(x.slots)));
  const char* names[3] = {"STCE", "OSRE", "WUVE"};
  for (unsigned e = 0; e < 3; ++e) {
    const std::string engine = at + ".engines." + names[e] + ".";
    expect_figure(json, engine + "busy_cycles", static_cast<double>(x.engine[e].busy_cycles));
    expect_figure(json, engine + "stall_cycles", static_cast<double>(x.engine[e].stall_cycles));
    expect_figure(json, engine + "ops", static_cast<double>(x.engine[e].ops));
    expect_figure(json, engine + "sram_read", static_cast<double>(x.engine[e].sram_read));
  }
}

// A CSV of report.cpp's form ("a, b, c"), split into cells.
std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    rows.emplace_back();
    for (std::size_t at = 0;;) {
      const std::size_t comma = line.find(", ", at);
      rows.back().push_back(line.substr(at, comma - at));
      if (comma == std::string::npos) break;
      at = comma + 2;
    }
  }
  return rows;
}

// A printed figure: within half a unit of its last printed digit of the recount.
void expect_printed(const std::string& cell, double want, double half_unit, const std::string& what) {
  EXPECT_NEAR(std::stod(cell), want, half_unit * (1 + 1e-9)) << what << ": " << cell;
}

}  // namespace

TEST(Report, JsonFiguresMatchARecountFromTheCounters) {
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
  ASSERT_TRUE(b.report.complete) << b.log;
  const Recount n(b);
  const std::string dir = test::test_dir().string();
  write_report(b.report, dir);
  const std::map<std::string, double> json = json_numbers(dir + "/report.json");
  ASSERT_EQ(n.rows.size(), b.result.profile.size() / model::kPassCount);
  ASSERT_GT(n.rows.size(), 1u);

  expect_figure(json, "simulated_seconds", n.seconds);
  expect_figure(json, "sat_cycles", n.sat_cycles);
  const auto& its = b.result.iterations;
  ASSERT_EQ(its.size(), 2u);
  expect_figure(json, "iteration_seconds", static_cast<double>(its[1].end_ps - its[0].end_ps) / 1e12);

  // Engines: the SAT's own counters at the end of the run, against the run's cycles.
  const char* names[3] = {"STCE", "OSRE", "WUVE"};
  for (unsigned e = 0; e < 3; ++e) {
    const double busy = static_cast<double>(b.platform.engine[e].busy_cycles);
    ASSERT_GT(busy, 0.0) << names[e];
    const std::string at = std::string("engines.") + names[e] + ".";
    expect_figure(json, at + "counters.busy_cycles", busy);
    expect_figure(json, at + "idle_cycles", n.sat_cycles - busy);
    expect_figure(json, at + "utilisation", busy / n.sat_cycles);
  }
  const double dma_busy = n.cycles(b.platform.dma_busy_ps);
  expect_figure(json, "engines.DMA.bytes", static_cast<double>(n.total.dma_bytes));
  expect_figure(json, "engines.DMA.busy_cycles", dma_busy);
  expect_figure(json, "engines.DMA.wait_cycles", n.cycles(n.total.dma_wait_ps));
  expect_figure(json, "engines.DMA.idle_cycles", n.sat_cycles - dma_busy);
  expect_figure(json, "engines.DMA.utilisation", dma_busy / n.sat_cycles);
  const double host = n.cycles(n.total.host_ps);
  expect_figure(json, "engines.host.busy_cycles", host);
  expect_figure(json, "engines.host.idle_cycles", n.sat_cycles - host);
  expect_figure(json, "engines.host.utilisation", host / n.sat_cycles);
  expect_figure(json, "accelerator_seconds", static_cast<double>(n.total.time_ps - n.total.host_ps) / 1e12);
  expect_figure(json, "host_seconds", static_cast<double>(n.total.host_ps) / 1e12);

  // Operations: 1 MAC = 2 operations, over the simulated seconds.
  const double macs = static_cast<double>(b.platform.engine[0].ops);
  const double dense = macs + static_cast<double>(b.platform.engine[0].ops_skipped);
  ASSERT_GT(dense, macs);  // BDWP skips some
  expect_figure(json, "operations.macs_executed", macs);
  expect_figure(json, "operations.macs_dense_equivalent", dense);
  const double gops = 2 * macs / n.seconds / 1e9, gops_dense = 2 * dense / n.seconds / 1e9;
  expect_figure(json, "operations.gops_executed", gops);
  expect_figure(json, "operations.gops_dense_equivalent", gops_dense);

  // DDR and energy, with the platform's energy section.
  const double ddr_bytes = static_cast<double>(b.platform.ddr_read + b.platform.ddr_written);
  expect_figure(json, "ddr.bytes_read", static_cast<double>(b.platform.ddr_read));
  expect_figure(json, "ddr.bandwidth_Bps", ddr_bytes / n.seconds);
  expect_figure(json, "ddr.peak_Bps", b.config.ddr.channels * b.config.ddr.channel_bandwidth_Bps);
  const PlatformConfig::Energy& e = b.config.energy;
  ASSERT_GT(e.mac_j, 0.0);
  ASSERT_GT(e.sram_byte_j, 0.0);
  ASSERT_GT(e.ddr_byte_j, 0.0);
  ASSERT_GT(e.static_w, 0.0);
  double engine_sram = 0;
  for (const model::EngineCounters& c : b.platform.engine) engine_sram += static_cast<double>(c.sram_read + c.sram_write);
  ASSERT_GT(n.total.dma_bytes, 0u);
  const double mac_j = macs * e.mac_j, sram_j = (engine_sram + static_cast<double>(n.total.dma_bytes)) * e.sram_byte_j,
               ddr_j = ddr_bytes * e.ddr_byte_j, static_j = n.seconds * e.static_w;
  const double total_j = mac_j + sram_j + ddr_j + static_j, watts = total_j / n.seconds;
  expect_figure(json, "energy.mac_j", mac_j);
  expect_figure(json, "energy.sram_j", sram_j);
  expect_figure(json, "energy.ddr_j", ddr_j);
  expect_figure(json, "energy.static_j", static_j);
  expect_figure(json, "energy.total_j", total_j);
  expect_figure(json, "energy.watts", watts);
  expect_figure(json, "energy.gops_per_watt_dense_equivalent", gops_dense / watts);

  // Per pass, the whole run, and every (layer, pass) the run entered.
  for (std::uint32_t p = 0; p < model::kPassCount; ++p)
    expect_phase(json, std::string("passes.") + model::pass_name(static_cast<model::Pass>(p)), n.pass_total[p], n);
  expect_phase(json, "total", n.total, n);
  std::size_t phases = 0;
  for (std::size_t row = 0; row < n.rows.size(); ++row)
    for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
      const std::string at = "layers." + std::to_string(row) + ".passes." + model::pass_name(static_cast<model::Pass>(p));
      if (n.rows[row][p].entries == 0) {
        EXPECT_EQ(json.count(at + ".entries"), 0u) << at;
        continue;
      }
      expect_phase(json, at, n.rows[row][p], n);
      ++phases;
    }
  EXPECT_GT(phases, 20u);
}

TEST(Report, CsvFiguresMatchARecountFromTheCounters) {
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
  ASSERT_TRUE(b.report.complete) << b.log;
  const Recount n(b);
  const std::string dir = test::test_dir().string();
  write_report(b.report, dir);

  // layers.csv: a row per (layer, pass) entered, in that order; cycles printed whole,
  // percentages with 4 decimals.
  const std::vector<std::vector<std::string>> layers = csv_rows(dir + "/layers.csv");
  std::size_t line = 1;
  for (std::size_t row = 0; row < n.rows.size(); ++row)
    for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
      const Raw& x = n.rows[row][p];
      if (x.entries == 0) continue;
      ASSERT_LT(line, layers.size());
      const std::vector<std::string>& cells = layers[line++];
      ASSERT_EQ(cells.size(), 17u);
      const std::string what = "layer " + std::to_string(row) + " " + model::pass_name(static_cast<model::Pass>(p));
      EXPECT_EQ(cells[0], std::to_string(row)) << what;
      EXPECT_EQ(cells[8], model::pass_name(static_cast<model::Pass>(p))) << what;
      const double cycles = n.cycles(x.time_ps), macs = static_cast<double>(x.engine[0].ops);
      const double busy = static_cast<double>(x.engine[0].busy_cycles);
      expect_printed(cells[1], cycles, 0.5, what + " Total Cycles");
      expect_printed(cells[2], static_cast<double>(x.engine[0].stall_cycles) + n.cycles(x.dma_wait_ps), 0.5,
                     what + " Stall Cycles");
      expect_printed(cells[3], 100 * quotient(macs, cycles * n.array), 0.00005, what + " Overall Util %");
      expect_printed(cells[4], 100 * quotient(macs, static_cast<double>(x.slots)), 0.00005, what + " Mapping Efficiency %");
      expect_printed(cells[5], 100 * quotient(macs, busy * n.array), 0.00005, what + " Compute Util %");
      EXPECT_EQ(cells[10], std::to_string(x.entries)) << what;
      EXPECT_EQ(cells[11], std::to_string(x.engine[0].busy_cycles)) << what;
      EXPECT_EQ(cells[12], std::to_string(x.engine[0].ops)) << what;
      EXPECT_EQ(cells[13], std::to_string(x.engine[0].ops + x.engine[0].ops_skipped)) << what;
      expect_printed(cells[14], n.cycles(x.host_ps), 0.5, what + " Host Cycles");
      expect_printed(cells[15], n.cycles(x.dma_wait_ps), 0.5, what + " DMA Wait Cycles");
      EXPECT_EQ(cells[16], std::to_string(x.dma_bytes)) << what;
    }
  EXPECT_EQ(line, layers.size());
  EXPECT_GT(line, 20u);

  // engines.csv: the SAT's own counters, idle = run cycles - busy, utilisation busy / run cycles.
  const std::vector<std::vector<std::string>> engines = csv_rows(dir + "/engines.csv");
  ASSERT_EQ(engines.size(), 4u);
  const char* names[3] = {"STCE", "OSRE", "WUVE"};
  for (unsigned e = 0; e < 3; ++e) {
    const std::vector<std::string>& cells = engines[e + 1];
    ASSERT_EQ(cells.size(), 10u);
    EXPECT_EQ(cells[0], names[e]);
    const model::EngineCounters& c = b.platform.engine[e];
    const double busy = static_cast<double>(c.busy_cycles);
    EXPECT_EQ(cells[1], std::to_string(c.jobs)) << names[e];
    EXPECT_EQ(cells[2], std::to_string(c.busy_cycles)) << names[e];
    EXPECT_EQ(cells[3], std::to_string(c.stall_cycles)) << names[e];
    expect_printed(cells[4], n.sat_cycles - busy, 0.5, std::string(names[e]) + " Idle Cycles");
    expect_printed(cells[5], 100 * busy / n.sat_cycles, 0.00005, std::string(names[e]) + " Utilisation %");
    EXPECT_EQ(cells[6], std::to_string(c.ops)) << names[e];
    EXPECT_EQ(cells[7], std::to_string(c.ops_skipped)) << names[e];
    EXPECT_EQ(cells[8], std::to_string(c.sram_read)) << names[e];
    EXPECT_EQ(cells[9], std::to_string(c.sram_write)) << names[e];
  }
}

// The console table prints the same figures rounded: utilisation to 0.1%, GOPS to 0.01, DDR to
// 1 MB and 0.01 GB/s, energy to 1 mJ and 0.01 W.
TEST(Report, ConsoleFiguresMatchARecountFromTheCounters) {
  const Booted b = boot_and_report(SatMode::timing, SatMode::timing, "timing");
  ASSERT_TRUE(b.report.complete) << b.log;
  const Recount n(b);
  const std::string table = report_table(b.report);
  const auto line_of = [&](const std::string& label) {
    const std::size_t at = table.find("\n  " + label);
    EXPECT_NE(at, std::string::npos) << label << "\n" << table;
    return at == std::string::npos ? std::string() : table.substr(at + 3, table.find('\n', at + 1) - at - 3);
  };
  const char* names[3] = {"STCE", "OSRE", "WUVE"};
  for (unsigned e = 0; e < 3; ++e) {
    const double busy = static_cast<double>(b.platform.engine[e].busy_cycles);
    double printed_busy = 0, idle = 0, util = 0;
    unsigned long long stall = 0;
    ASSERT_EQ(std::sscanf(line_of(names[e]).c_str() + 4, "%lf %llu %lf %lf%%", &printed_busy, &stall, &idle, &util), 4)
        << table;
    EXPECT_EQ(printed_busy, busy) << names[e];
    EXPECT_NEAR(idle, n.sat_cycles - busy, 0.5 * (1 + 1e-9)) << names[e];
    EXPECT_NEAR(util, 100 * busy / n.sat_cycles, 0.05 * (1 + 1e-9)) << names[e];
  }
  const double macs = static_cast<double>(b.platform.engine[0].ops);
  const double dense = macs + static_cast<double>(b.platform.engine[0].ops_skipped);
  double gops = 0, gops_dense = 0;
  ASSERT_EQ(std::sscanf(line_of("throughput").c_str(), "throughput %lf GOPS executed, %lf GOPS dense-equivalent", &gops,
                        &gops_dense),
            2)
      << table;
  EXPECT_NEAR(gops, 2 * macs / n.seconds / 1e9, 0.005 * (1 + 1e-9));
  EXPECT_NEAR(gops_dense, 2 * dense / n.seconds / 1e9, 0.005 * (1 + 1e-9));
  double read_gb = 0, written_gb = 0, bandwidth = 0, peak = 0;
  ASSERT_EQ(std::sscanf(line_of("DDR").c_str(), "DDR %lf GB read, %lf GB written, %lf GB/s of %lf GB/s peak", &read_gb,
                        &written_gb, &bandwidth, &peak),
            4)
      << table;
  const double ddr_bytes = static_cast<double>(b.platform.ddr_read + b.platform.ddr_written);
  EXPECT_NEAR(read_gb, static_cast<double>(b.platform.ddr_read) / 1e9, 0.0005 * (1 + 1e-9));
  EXPECT_NEAR(bandwidth, ddr_bytes / n.seconds / 1e9, 0.005 * (1 + 1e-9));
  const PlatformConfig::Energy& e = b.config.energy;
  double engine_sram = 0;
  for (const model::EngineCounters& c : b.platform.engine) engine_sram += static_cast<double>(c.sram_read + c.sram_write);
  const double total_j = macs * e.mac_j + (engine_sram + static_cast<double>(n.total.dma_bytes)) * e.sram_byte_j +
                         ddr_bytes * e.ddr_byte_j + n.seconds * e.static_w;
  double joules = 0, watts = 0;
  ASSERT_EQ(std::sscanf(line_of("energy").c_str(), "energy %lf J (MACs %*f, SRAM %*f, DDR %*f, static %*f): %lf W", &joules,
                        &watts),
            2)
      << table;
  EXPECT_NEAR(joules, total_j, 0.0005 * (1 + 1e-9));
  EXPECT_NEAR(watts, total_j / n.seconds, 0.005 * (1 + 1e-9));
}
