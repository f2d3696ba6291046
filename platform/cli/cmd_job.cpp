// satvp job: runs one engine job through the firmware's driver and reports its cycles and
// counters.
#include "cli/cmd_job.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <cestvp/engine_job.h>
#include <cestvp/sat_mode.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "config/config.h"
#include "config/user_error.h"
#include "loader/workload.h"
#include "vp.h"

#include "cli/cmd_run.h"

namespace cestvp {

namespace {

constexpr std::uint32_t kMaxGemm = 1u << 24, kMaxConv = 65535, kMaxField = 255, kMaxCount = 1u << 28;

[[noreturn]] void fail(const std::string& problem, const std::string& expected) {
  throw UserError(problem + "; expected " + expected);
}

void require(bool ok, const std::string& problem, const std::string& expected) {
  if (!ok) fail(problem, expected);
}

// An option that does not apply to the chosen engine or operation is an error, not ignored.
void check_job_options(const CLI::App& cmd, const JobArgs& a) {
  const bool stce = a.engine == "stce", osre = a.engine == "osre", wuve = a.engine == "wuve";
  const bool gemm = stce && a.op == "gemm", conv = stce && a.op == "conv";
  const std::string job = stce ? "--op " + a.op : "--engine " + a.engine;
  const struct {
    const char* option;
    bool applies;
    const char* to;
  } rules[] = {
      {"--op", stce, "--engine stce"},          {"--pass", stce, "--engine stce"},
      {"--rows", gemm || osre, "--op gemm and --engine osre"},
      {"--cols", gemm || osre, "--op gemm and --engine osre"},
      {"--depth", gemm, "--op gemm"},           {"--batch", conv, "--op conv"},
      {"--h", conv, "--op conv"},               {"--w", conv, "--op conv"},
      {"--cin", conv, "--op conv"},             {"--cout", conv, "--op conv"},
      {"--kernel", conv, "--op conv"},          {"--stride", conv, "--op conv"},
      {"--pad", conv, "--op conv"},             {"--nm", !wuve, "--engine stce and osre"},
      {"--dir", osre, "--engine osre"},         {"--src", osre, "--engine osre"},
      {"--count", wuve, "--engine wuve"},
  };
  for (const auto& r : rules)
    require(cmd.count(r.option) == 0 || r.applies, std::string(r.option) + ": not used by a job of " + job,
            std::string(r.option) + " only with " + r.to);
  require(cmd.count("--nm") == 0 || !stce || a.pass != "wu",
          "--nm " + a.nm + ": not allowed with --pass wu (a weight-gradient job has no compressed operand)",
          "--nm only with --pass ff or bp");
}

// "N:M" (parse_nm) with an M the platform supports.
void parse_job_nm(const std::string& text, const PlatformConfig& config, const std::string& platform,
                  std::uint32_t& n, std::uint32_t& m) {
  const std::string problem = parse_nm(text, n, m);
  require(problem.empty(), "--nm " + text + ": " + problem, kNmExpected);
  std::string supported;
  bool ok = false;
  for (unsigned s : config.sat.nm_m) {
    supported += (supported.empty() ? "" : ", ") + std::to_string(s);
    ok = ok || s == m;
  }
  require(ok,
          "--nm " + text + ": M = " + std::to_string(m) + " is not supported by the platform (sat.nm_m in " +
              platform + ": " + supported + ")",
          "N:M with M one of " + supported);
}

// The first of `options` that was not given (0), for "--depth is required".
const char* first_missing(std::initializer_list<std::pair<const char*, std::uint32_t>> options) {
  for (const auto& [name, value] : options)
    if (value == 0) return name;
  return nullptr;
}

// The job as the firmware program takes it, with every option checked (their ranges by the
// validators of add_job_options).
fw::EngineJobSpec job_spec(const JobArgs& a, const PlatformConfig& config) {
  fw::EngineJobSpec spec;
  spec.mode = parse_sat_mode(a.mode);
  spec.seed = a.seed;
  spec.engine = a.engine == "osre" ? fw::SatEngine::osre : a.engine == "wuve" ? fw::SatEngine::wuve : fw::SatEngine::stce;
  if (!a.nm.empty()) parse_job_nm(a.nm, config, a.platform, spec.n, spec.m);
  switch (spec.engine) {
    case fw::SatEngine::stce:
      spec.pass = a.pass == "bp" ? fw::JobPass::bp : a.pass == "wu" ? fw::JobPass::wu : fw::JobPass::ff;
      spec.conv = a.op == "conv";
      if (!spec.conv) {
        const char* missing = first_missing({{"--rows", a.rows}, {"--cols", a.cols}, {"--depth", a.depth}});
        if (missing)
          fail(std::string("job: ") + missing + " is required: a GEMM needs --rows, --cols and --depth (M, N, K)",
               "each from 1 to " + std::to_string(kMaxGemm));
        spec.rows = a.rows, spec.cols = a.cols, spec.depth = a.depth;
      } else {
        const char* missing = first_missing({{"--h", a.h}, {"--w", a.w}, {"--cin", a.cin}, {"--cout", a.cout}});
        if (missing)
          fail(std::string("job: ") + missing + " is required: a convolution needs --h, --w, --cin and --cout",
               "each from 1 to " + std::to_string(kMaxConv));
        const std::uint32_t largest = std::min(a.h, a.w) + 2 * a.pad;  // the largest kernel with an output pixel
        require(fw::conv_out(a.h, a.kernel, a.stride, a.pad) >= 1 && fw::conv_out(a.w, a.kernel, a.stride, a.pad) >= 1,
                "--kernel " + std::to_string(a.kernel) + ": the " + std::to_string(a.kernel) + "x" +
                    std::to_string(a.kernel) + " kernel does not fit the " + std::to_string(a.h) + "x" +
                    std::to_string(a.w) + " input with --pad " + std::to_string(a.pad),
                "a kernel of at most " + std::to_string(largest) + " (the input's smaller side plus twice --pad)");
        spec.batch = a.batch, spec.h = a.h, spec.w = a.w, spec.cin = a.cin, spec.cout = a.cout;
        spec.kernel = a.kernel, spec.stride = a.stride, spec.pad = a.pad;
      }
      break;
    case fw::SatEngine::osre: {
      const char* missing = first_missing({{"--rows", a.rows}, {"--cols", a.cols}});
      if (missing)
        fail(std::string("job: ") + missing + " is required: OSRE needs --rows and --cols of its source",
             "each from 1 to " + std::to_string(kMaxGemm));
      if (a.nm.empty()) parse_job_nm("2:8", config, a.platform, spec.n, spec.m);
      spec.rows = a.rows, spec.cols = a.cols, spec.backward = a.dir == "bwd", spec.src_fp32 = a.src == "fp32";
      break;
    }
    case fw::SatEngine::wuve:
      require(a.count != 0, "job: --count is required: WUVE needs --count", "--count from 1 to " + std::to_string(kMaxCount));
      spec.count = a.count;
      break;
  }
  return spec;
}

std::string job_shape(const JobArgs& a) {
  if (a.engine == "wuve") return std::to_string(a.count);
  if (a.engine == "osre" || a.op == "gemm") {
    std::string s = std::to_string(a.rows) + "x" + std::to_string(a.cols);
    return a.engine == "osre" ? s : s + "x" + std::to_string(a.depth);
  }
  return "N" + std::to_string(a.batch) + " " + std::to_string(a.h) + "x" + std::to_string(a.w) + " Cin" +
         std::to_string(a.cin) + " Cout" + std::to_string(a.cout) + " k" + std::to_string(a.kernel) + " s" +
         std::to_string(a.stride) + " p" + std::to_string(a.pad);
}

void print_job(const JobArgs& a, const fw::EngineJobSpec& spec, const fw::EngineJobPlan& plan,
               const fw::EngineJobReport& report, const RunStats& stats, const PlatformConfig& config) {
  const fw::SatCounters& c = report.counters;
  const double job_us = static_cast<double>(c.busy_cycles) / config.clocks.sat_hz * 1e6;
  const double sim_us = stats.simulated.to_seconds() * 1e6;
  const bool stce = spec.engine == fw::SatEngine::stce;
  const std::uint64_t array = std::uint64_t{report.sat.array_rows} * report.sat.array_cols;
  const double util = stce && c.busy_cycles ? static_cast<double>(c.ops) / (static_cast<double>(c.busy_cycles) * array) : 0;
  const std::string nm = spec.n ? std::to_string(spec.n) + ":" + std::to_string(spec.m) : "dense";
  if (a.csv) {
    const std::string op = stce ? a.op : spec.engine == fw::SatEngine::osre ? a.dir : "sgd";
    std::printf("engine,op,pass,mode,shape,nm,cycles,stall_cycles,utilisation,ops,ops_skipped,sram_read_bytes,"
                "sram_write_bytes,job_time_us,simulated_time_us\n");
    std::printf("%s,%s,%s,%s,%s,%s,%llu,%llu,%s,%llu,%llu,%llu,%llu,%.6f,%.6f\n", a.engine.c_str(), op.c_str(),
                stce ? a.pass.c_str() : "", a.mode.c_str(), job_shape(a).c_str(),
                spec.engine == fw::SatEngine::wuve ? "" : nm.c_str(), static_cast<unsigned long long>(c.busy_cycles),
                static_cast<unsigned long long>(c.stall_cycles), stce ? std::to_string(util).c_str() : "",
                static_cast<unsigned long long>(c.ops), static_cast<unsigned long long>(c.ops_skipped),
                static_cast<unsigned long long>(c.sram_read), static_cast<unsigned long long>(c.sram_write), job_us,
                sim_us);
    return;
  }
  const char* executed = stce ? "MACs executed" : spec.engine == fw::SatEngine::osre ? "elements ranked" : "elements updated";
  const char* skipped = stce ? "MACs skipped" : spec.engine == fw::SatEngine::osre ? "elements dropped" : "elements skipped";
  std::printf("satvp job: %s (%s mode)\n", plan.describe().c_str(), a.mode.c_str());
  std::printf("  %-18s %llu (%.3f us at %.0f MHz)\n", "cycles", static_cast<unsigned long long>(c.busy_cycles), job_us,
              config.clocks.sat_hz / 1e6);
  std::printf("  %-18s %llu\n", "stall cycles", static_cast<unsigned long long>(c.stall_cycles));
  if (stce)
    std::printf("  %-18s %.1f%% of %ux%u uMACs (MACs / (cycles x %llu))\n", "utilisation", util * 100,
                report.sat.array_rows, report.sat.array_cols, static_cast<unsigned long long>(array));
  std::printf("  %-18s %llu\n", executed, static_cast<unsigned long long>(c.ops));
  std::printf("  %-18s %llu\n", skipped, static_cast<unsigned long long>(c.ops_skipped));
  std::printf("  %-18s %llu B\n", "SRAM read", static_cast<unsigned long long>(c.sram_read));
  std::printf("  %-18s %llu B\n", "SRAM written", static_cast<unsigned long long>(c.sram_write));
  std::printf("  %-18s %.3f us (%s)\n", "simulated time", sim_us,
              spec.mode == SatMode::timing ? "whole run: SAT probe and job"
                                               : "whole run: SAT probe, operands placed by DMA, job");
}

}  // namespace

int run_job(const JobArgs& a, const CLI::App& cmd) {
  check_job_options(cmd, a);
  const PlatformConfig config = load_platform_config(a.platform);
  const fw::EngineJobSpec spec = job_spec(a, config);
  const fw::EngineJobPlan plan = fw::plan_engine_job(spec);
  require(plan.problem.empty(), "job: " + plan.problem, "a job the engine accepts (docs/engines.md)");
  const std::uint64_t sizes[3] = {config.region("sat_sram_a").size, config.region("sat_sram_b").size,
                                  config.region("sat_sram_c").size};
  const std::string fit = fw::sram_fit_problem(plan, sizes);
  require(fit.empty(), fit + " (platform " + a.platform + ")",
          "a job that fits the SAT's SRAM: smaller dimensions, or a platform with larger SRAMs");

  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = parse_sat_mode(a.mode);
  fw::EngineJobReport report;
  VirtualPlatform vp(config,
                     [&](fw::Hal& hal, const fw::BootInfo& boot) { return fw::run_engine_job(hal, boot, spec, report); },
                     options);
  const RunStats stats = vp.run();
  if (!stats.firmware_finished) {
    const char* why = stats.watchdog == Watchdog::Verdict::none ? "nothing left to simulate" : to_string(stats.watchdog);
    std::cerr << log.str() << "satvp: the job never finished (" << why << ")\n" << vp.diagnostics();
    return kExitHung;
  }
  if (stats.firmware_exit_code != 0) {
    std::cerr << log.str() << "satvp: job failed: " << report.problem << "\n";
    return stats.faults ? kExitHardwareFault : kExitFirmwareFailed;
  }
  print_job(a, spec, plan, report, stats, config);
  return 0;
}

void add_job_options(CLI::App& cmd, JobArgs& a) {
  cmd.add_option("--platform", a.platform, "Platform YAML (clocks, address map, SRAM sizes, array)")->capture_default_str();
  cmd.add_option("--engine", a.engine, "Engine that runs the job")
      ->check(one_of({"stce", "osre", "wuve"}))
      ->capture_default_str();
  cmd.add_option("--op", a.op, "STCE: gemm (C[M][N] = A[M][K] x B[K][N]) or conv (implicit im2col)")
      ->check(one_of({"gemm", "conv"}))
      ->capture_default_str();
  cmd.add_option("--pass", a.pass,
                 "STCE training pass. GEMM ff: Y = X W^T (B = W[N][K], transposed), bp: dX = dY W (B = W[K][N]), "
                 "wu: dW = dY^T X (A = dY[K][M], transposed). Conv ff: CONV_FWD, bp: CONV_BWD_DATA, wu: "
                 "CONV_BWD_WEIGHT")
      ->check(one_of({"ff", "bp", "wu"}))
      ->capture_default_str();
  cmd.add_option("--rows", a.rows, "STCE GEMM: M, the rows of A and C. OSRE: rows of the dense source")
      ->check(whole_number(1, kMaxGemm));
  cmd.add_option("--cols", a.cols, "STCE GEMM: N, the columns of B and C. OSRE: columns of the dense source")
      ->check(whole_number(1, kMaxGemm));
  cmd.add_option("--depth", a.depth, "STCE GEMM: K, the reduction length")->check(whole_number(1, kMaxGemm));
  cmd.add_option("--batch", a.batch, "STCE conv: batch size")->check(whole_number(1, kMaxConv))->capture_default_str();
  cmd.add_option("--h", a.h, "STCE conv: input height")->check(whole_number(1, kMaxConv));
  cmd.add_option("--w", a.w, "STCE conv: input width")->check(whole_number(1, kMaxConv));
  cmd.add_option("--cin", a.cin, "STCE conv: input channels")->check(whole_number(1, kMaxConv));
  cmd.add_option("--cout", a.cout, "STCE conv: output channels")->check(whole_number(1, kMaxConv));
  cmd.add_option("--kernel", a.kernel, "STCE conv: kernel height and width")
      ->check(whole_number(1, kMaxField))
      ->capture_default_str();
  cmd.add_option("--stride", a.stride, "STCE conv: stride")->check(whole_number(1, kMaxField))->capture_default_str();
  cmd.add_option("--pad", a.pad, "STCE conv: zero padding on every side")
      ->check(whole_number(0, kMaxField))
      ->capture_default_str();
  cmd.add_option("--nm", a.nm,
                 "N:M sparsity, e.g. 2:8. STCE: the weights (B) are N:M compressed for ff and bp, as OSRE forward "
                 "(ff) or backward (bp) makes them; omit for dense; not allowed with wu. OSRE: the reduction "
                 "(default 2:8). M must be in the platform's sat.nm_m");
  cmd.add_option("--dir", a.dir, "OSRE: fwd (groups along each row) or bwd (along each column)")
      ->check(one_of({"fwd", "bwd"}))
      ->capture_default_str();
  cmd.add_option("--src", a.src, "OSRE: precision of the source, fp16 or fp32 (master weights)")
      ->check(one_of({"fp16", "fp32"}))
      ->capture_default_str();
  cmd.add_option("--count", a.count, "WUVE: elements to update (momentum SGD with the FP16 copy)")
      ->check(whole_number(1, kMaxCount));
  cmd.add_option("--mode", a.mode,
                 "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data: operands are "
                 "not placed and nothing is computed; the cycles are the same)")
      ->check(one_of({kSatModeNames.begin(), kSatModeNames.end()}))
      ->capture_default_str();
  cmd.add_option("--seed", a.seed, "Seed of the random operands")
      ->check(whole_number(0, 0xFFFFFFFFu))
      ->capture_default_str();
  cmd.add_flag("--csv", a.csv, "Print one CSV header line and one row instead of the table");
}

}  // namespace cestvp
