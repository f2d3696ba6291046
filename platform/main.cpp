// satvp: boots the CEST-VP virtual platform. Reads top to bottom: options, configuration,
// platform, run, report. `satvp run` runs a workload's firmware program; `satvp job` runs one
// engine job through the firmware's driver and reports its cycles and counters. Exit codes: 0
// the firmware reported success; 1 the firmware reported failure; 2 bad input (options, YAML);
// 3 the firmware never finished (e.g. it waits for an interrupt that cannot come); 4 a
// simulator error.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "config.h"
#include "user_error.h"
#include "vp.h"
#include "workload.h"

namespace fs = std::filesystem;
using namespace cestvp;

namespace {

struct RunArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string workload;
  std::string out;
  std::string vcd;
  std::string trace_log;
  std::string log_level = "info";
  std::string mode = "functional";
};

fw::LogLevel parse_log_level(const std::string& s) {
  if (s == "error") return fw::LogLevel::error;
  if (s == "warning") return fw::LogLevel::warning;
  if (s == "debug") return fw::LogLevel::debug;
  return fw::LogLevel::info;
}

void create_parent_dir(const std::string& file) {
  const fs::path parent = fs::path(file).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw UserError("cannot create directory " + parent.string() + " for " + file + ": " + ec.message());
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream os(path);
  os << text;
  if (!os) throw UserError("cannot write " + path.string());
}

fs::path prepare_out_dir(const RunArgs& args, const Workload& workload) {
  const fs::path dir = args.out.empty() ? fs::path("runs") / workload.name : fs::path(args.out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("cannot create run directory " + dir.string() + ": " + ec.message());
  return dir;
}

fw::SatMode parse_fw_mode(const std::string& s) {
  return s == "bit-accurate" ? fw::SatMode::bit_accurate : s == "timing" ? fw::SatMode::timing : fw::SatMode::functional;
}

sat::Mode parse_mode(const std::string& s) {
  return s == "bit-accurate" ? sat::Mode::bit_accurate : s == "timing" ? sat::Mode::timing : sat::Mode::functional;
}

// The workload's program; the engine self-test is told the run's mode, to know what to compare.
VirtualPlatform::Firmware firmware_for(const Workload& workload, fw::SatMode mode) {
  if (workload.program == "engines") {
    fw::EngineSelftestParams params = workload.engines;
    params.mode = mode;
    return [params](fw::Hal& hal, const fw::BootInfo& boot) { return fw::run_engine_selftest(hal, boot, params); };
  }
  return [params = workload.bringup](fw::Hal& hal, const fw::BootInfo& boot) {
    return fw::run_bringup(hal, boot, params);
  };
}

void print_summary(const RunStats& s, const VirtualPlatform& vp, const PlatformConfig& config, const fs::path& dir) {
  std::printf("\nsatvp: firmware %s\n",
              !s.firmware_finished ? "did not finish (simulation ran out of events)"
              : s.firmware_exit_code == 0 ? "reported success (exit 0)"
                                          : ("reported failure (exit " + std::to_string(s.firmware_exit_code) + ")").c_str());
  std::printf("  simulated time      %.3f us (%.0f SAT cycles at %.0f MHz)\n", s.simulated.to_seconds() * 1e6,
              s.sat_cycles, config.clocks.sat_hz / 1e6);
  std::printf("  wall time           %.3f s\n", s.wall_seconds);
  std::printf("  bus transactions    %llu (%llu answered with an error)\n",
              static_cast<unsigned long long>(s.bus_transactions), static_cast<unsigned long long>(s.bus_errors));
  std::printf("  simulation speed    %.3f M SAT cycles per wall second\n", s.sat_cycles_per_wall_second() / 1e6);
  const auto& faults = vp.cpu.bus_faults();
  if (!faults.empty()) {
    std::printf("  firmware bus errors %zu (first: %s of %u B at 0x%016llx -> %s at %.3f us)\n", faults.size(),
                faults[0].write ? "write" : "read", faults[0].bytes, static_cast<unsigned long long>(faults[0].addr),
                fw::to_string(faults[0].status), faults[0].at.to_seconds() * 1e6);
  }
  std::printf("  run directory       %s\n", dir.string().c_str());
}

int run(const RunArgs& args) {
  const PlatformConfig config = load_platform_config(args.platform);
  const Workload workload = load_workload(args.workload);
  const fs::path dir = prepare_out_dir(args, workload);
  write_file(dir / "platform.yaml", to_yaml(config));
  write_file(dir / "workload.yaml", to_yaml(workload));

  for (const std::string& file : {args.vcd, args.trace_log})
    if (!file.empty()) create_parent_dir(file);
  VpOptions options;
  options.vcd_path = args.vcd;
  options.trace_log_path = args.trace_log;
  options.log_level = parse_log_level(args.log_level);
  options.mode = parse_mode(args.mode);
  VirtualPlatform vp(config, firmware_for(workload, parse_fw_mode(args.mode)), options);
  const RunStats stats = vp.run();

  print_summary(stats, vp, config, dir);
  if (!args.vcd.empty()) std::printf("  VCD                 %s (open: gtkwave %s %s)\n", args.vcd.c_str(),
                                     args.vcd.c_str(), fs::path(args.vcd).replace_extension(".gtkw").c_str());
  if (!args.trace_log.empty()) std::printf("  transaction log     %s\n", args.trace_log.c_str());
  if (!stats.firmware_finished) return 3;
  return stats.firmware_exit_code == 0 ? 0 : 1;
}

// --- satvp job ------------------------------------------------------------------------------

struct JobArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string engine = "stce";
  std::string op = "gemm";
  std::string pass = "ff";
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t batch = 1, h = 0, w = 0, cin = 0, cout = 0, kernel = 3, stride = 1, pad = 0;
  std::string nm;  // empty: dense (STCE), 2:8 (OSRE)
  std::string dir = "fwd";
  std::string src = "fp16";
  std::uint32_t count = 0;
  std::string mode = "functional";
  std::uint32_t seed = 1;
  bool csv = false;
};

void require(bool ok, const std::string& problem) {
  if (!ok) throw UserError(problem);
}

// An option that does not apply to the chosen engine or operation is an error, not ignored.
void check_job_options(const CLI::App& cmd, const JobArgs& a) {
  const bool stce = a.engine == "stce", osre = a.engine == "osre", wuve = a.engine == "wuve";
  const bool gemm = stce && a.op == "gemm", conv = stce && a.op == "conv";
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
    require(cmd.count(r.option) == 0 || r.applies, std::string(r.option) + " applies to " + r.to + " only");
}

// "N:M" with N, M in 1..255 and N <= M; M must be one the platform supports.
void parse_nm(const std::string& text, const PlatformConfig& config, const std::string& platform, std::uint32_t& n,
              std::uint32_t& m) {
  const std::size_t colon = text.find(':');
  const auto number = [](const std::string& t) -> std::uint32_t {
    if (t.empty() || t.size() > 3 || t.find_first_not_of("0123456789") != std::string::npos) return 0;
    return static_cast<std::uint32_t>(std::stoul(t));
  };
  if (colon != std::string::npos) n = number(text.substr(0, colon)), m = number(text.substr(colon + 1));
  require(colon != std::string::npos && n >= 1 && m >= 1 && n <= m && m <= 255,
          "--nm " + text + ": expected N:M with 1 <= N <= M, e.g. 2:8");
  std::string supported;
  bool ok = false;
  for (unsigned s : config.sat.nm_m) {
    supported += (supported.empty() ? "" : ", ") + std::to_string(s);
    ok = ok || s == m;
  }
  require(ok, "--nm " + text + ": M = " + std::to_string(m) + " is not supported by the platform (sat.nm_m in " +
                  platform + ": " + supported + ")");
}

// The job as the firmware program takes it, with every option checked.
fw::EngineJobSpec job_spec(const JobArgs& a, const PlatformConfig& config) {
  constexpr std::uint32_t kMaxGemm = 1u << 24, kMaxConv = 65535, kMaxField = 255;
  const auto in = [](std::uint32_t v, std::uint32_t lo, std::uint32_t hi) { return v >= lo && v <= hi; };
  fw::EngineJobSpec spec;
  spec.mode = parse_fw_mode(a.mode);
  spec.seed = a.seed;
  spec.engine = a.engine == "osre" ? fw::SatEngine::osre : a.engine == "wuve" ? fw::SatEngine::wuve : fw::SatEngine::stce;
  if (!a.nm.empty()) parse_nm(a.nm, config, a.platform, spec.n, spec.m);
  switch (spec.engine) {
    case fw::SatEngine::stce:
      spec.pass = a.pass == "bp" ? fw::JobPass::bp : a.pass == "wu" ? fw::JobPass::wu : fw::JobPass::ff;
      spec.conv = a.op == "conv";
      if (!spec.conv) {
        require(in(a.rows, 1, kMaxGemm) && in(a.cols, 1, kMaxGemm) && in(a.depth, 1, kMaxGemm),
                "a GEMM needs --rows, --cols and --depth (M, N, K), each 1.." + std::to_string(kMaxGemm));
        spec.rows = a.rows, spec.cols = a.cols, spec.depth = a.depth;
      } else {
        require(in(a.batch, 1, kMaxConv) && in(a.h, 1, kMaxConv) && in(a.w, 1, kMaxConv) && in(a.cin, 1, kMaxConv) &&
                    in(a.cout, 1, kMaxConv),
                "a convolution needs --h, --w, --cin and --cout (and --batch), each 1..65535");
        require(in(a.kernel, 1, kMaxField) && in(a.stride, 1, kMaxField) && a.pad <= kMaxField,
                "--kernel and --stride must be 1..255, --pad 0..255");
        require(fw::conv_out(a.h, a.kernel, a.stride, a.pad) >= 1 && fw::conv_out(a.w, a.kernel, a.stride, a.pad) >= 1,
                "the " + std::to_string(a.kernel) + "x" + std::to_string(a.kernel) + " kernel does not fit the " +
                    std::to_string(a.h) + "x" + std::to_string(a.w) + " input with --pad " + std::to_string(a.pad));
        spec.batch = a.batch, spec.h = a.h, spec.w = a.w, spec.cin = a.cin, spec.cout = a.cout;
        spec.kernel = a.kernel, spec.stride = a.stride, spec.pad = a.pad;
      }
      break;
    case fw::SatEngine::osre:
      require(in(a.rows, 1, kMaxGemm) && in(a.cols, 1, kMaxGemm),
              "OSRE needs --rows and --cols of its source, each 1.." + std::to_string(kMaxGemm));
      if (a.nm.empty()) parse_nm("2:8", config, a.platform, spec.n, spec.m);
      spec.rows = a.rows, spec.cols = a.cols, spec.backward = a.dir == "bwd", spec.src_fp32 = a.src == "fp32";
      break;
    case fw::SatEngine::wuve:
      require(in(a.count, 1, 1u << 28), "WUVE needs --count, 1.." + std::to_string(1u << 28));
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
              spec.mode == fw::SatMode::timing ? "whole run: SAT probe and job"
                                               : "whole run: SAT probe, operands placed by DMA, job");
}

int run_job(const JobArgs& a, const CLI::App& cmd) {
  check_job_options(cmd, a);
  const PlatformConfig config = load_platform_config(a.platform);
  const fw::EngineJobSpec spec = job_spec(a, config);
  const fw::EngineJobPlan plan = fw::plan_engine_job(spec);
  require(plan.problem.empty(), plan.problem);
  const std::uint64_t sizes[3] = {config.region("sat_sram_a").size, config.region("sat_sram_b").size,
                                  config.region("sat_sram_c").size};
  const std::string fit = fw::sram_fit_problem(plan, sizes);
  require(fit.empty(), fit + " (platform " + a.platform + ")");

  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = parse_mode(a.mode);
  fw::EngineJobReport report;
  VirtualPlatform vp(config,
                     [&](fw::Hal& hal, const fw::BootInfo& boot) { return fw::run_engine_job(hal, boot, spec, report); },
                     options);
  const RunStats stats = vp.run();
  if (!stats.firmware_finished) {
    std::cerr << log.str() << "satvp: the job never finished (the simulation ran out of events)\n";
    return 3;
  }
  if (stats.firmware_exit_code != 0) {
    std::cerr << log.str() << "satvp: job failed: " << report.problem << "\n";
    return 1;
  }
  print_job(a, spec, plan, report, stats, config);
  return 0;
}

void add_job_options(CLI::App& cmd, JobArgs& a) {
  cmd.add_option("--platform", a.platform, "Platform YAML (clocks, address map, SRAM sizes, array)")->capture_default_str();
  cmd.add_option("--engine", a.engine, "Engine that runs the job")
      ->check(CLI::IsMember({"stce", "osre", "wuve"}))
      ->capture_default_str();
  cmd.add_option("--op", a.op, "STCE: gemm (C[M][N] = A[M][K] x B[K][N]) or conv (implicit im2col)")
      ->check(CLI::IsMember({"gemm", "conv"}))
      ->capture_default_str();
  cmd.add_option("--pass", a.pass,
                 "STCE training pass. GEMM ff: Y = X W^T (B = W[N][K], transposed), bp: dX = dY W (B = W[K][N]), "
                 "wu: dW = dY^T X (A = dY[K][M], transposed). Conv ff: CONV_FWD, bp: CONV_BWD_DATA, wu: "
                 "CONV_BWD_WEIGHT")
      ->check(CLI::IsMember({"ff", "bp", "wu"}))
      ->capture_default_str();
  cmd.add_option("--rows", a.rows, "STCE GEMM: M, the rows of A and C. OSRE: rows of the dense source");
  cmd.add_option("--cols", a.cols, "STCE GEMM: N, the columns of B and C. OSRE: columns of the dense source");
  cmd.add_option("--depth", a.depth, "STCE GEMM: K, the reduction length");
  cmd.add_option("--batch", a.batch, "STCE conv: batch size")->capture_default_str();
  cmd.add_option("--h", a.h, "STCE conv: input height");
  cmd.add_option("--w", a.w, "STCE conv: input width");
  cmd.add_option("--cin", a.cin, "STCE conv: input channels");
  cmd.add_option("--cout", a.cout, "STCE conv: output channels");
  cmd.add_option("--kernel", a.kernel, "STCE conv: kernel height and width")->capture_default_str();
  cmd.add_option("--stride", a.stride, "STCE conv: stride")->capture_default_str();
  cmd.add_option("--pad", a.pad, "STCE conv: zero padding on every side")->capture_default_str();
  cmd.add_option("--nm", a.nm,
                 "N:M sparsity, e.g. 2:8. STCE: the weights (B) are N:M compressed for ff and bp, as OSRE forward "
                 "(ff) or backward (bp) makes them; omit for dense; not allowed with wu. OSRE: the reduction "
                 "(default 2:8). M must be in the platform's sat.nm_m");
  cmd.add_option("--dir", a.dir, "OSRE: fwd (groups along each row) or bwd (along each column)")
      ->check(CLI::IsMember({"fwd", "bwd"}))
      ->capture_default_str();
  cmd.add_option("--src", a.src, "OSRE: precision of the source, fp16 or fp32 (master weights)")
      ->check(CLI::IsMember({"fp16", "fp32"}))
      ->capture_default_str();
  cmd.add_option("--count", a.count, "WUVE: elements to update (momentum SGD with the FP16 copy)");
  cmd.add_option("--mode", a.mode,
                 "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data: operands are "
                 "not placed and nothing is computed; the cycles are the same)")
      ->check(CLI::IsMember({"functional", "bit-accurate", "timing"}))
      ->capture_default_str();
  cmd.add_option("--seed", a.seed, "Seed of the random operands")->capture_default_str();
  cmd.add_flag("--csv", a.csv, "Print one CSV header line and one row instead of the table");
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  CLI::App app{"CEST-VP: virtual platform of the SAT N:M sparse training accelerator"};
  app.require_subcommand(1);
  RunArgs args;
  CLI::App* run_cmd = app.add_subcommand("run", "Boot the platform and run a workload's firmware");
  run_cmd->add_option("--platform", args.platform, "Platform YAML (clocks, address map, DDR, DMA, SAT)")
      ->capture_default_str();
  run_cmd->add_option("--workload", args.workload, "Workload YAML (what the firmware runs)")
      ->required();
  run_cmd->add_option("--out", args.out, "Run directory (default: runs/<workload name>)");
  run_cmd->add_option("--vcd", args.vcd, "Write a VCD of bus transactions, interrupts and DMA state, and a .gtkw beside it");
  run_cmd->add_option("--trace-log", args.trace_log, "Write one line per bus transaction to this file");
  run_cmd->add_option("--mode", args.mode, "SAT engine numerics: functional (fast), bit-accurate (uMAC order), timing (no data)")
      ->check(CLI::IsMember({"functional", "bit-accurate", "timing"}))
      ->capture_default_str();
  run_cmd->add_option("--log-level", args.log_level, "Firmware log level")
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->capture_default_str();
  JobArgs job_args;
  CLI::App* job_cmd = app.add_subcommand(
      "job",
      "Run one engine job through the firmware's driver on the platform and print its cycles, stall cycles, "
      "utilisation, operations executed and skipped, SRAM bytes and simulated time. Operands are placed by the "
      "firmware: STCE A, B, C in SRAM A, B, C; OSRE source in A, values and indices in B; WUVE gradients and FP16 "
      "copy in A, weights in B, velocity in C. Exit 2 if the job does not fit the SRAM");
  add_job_options(*job_cmd, job_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a "parse error" that succeeds
  }

  try {
    if (job_cmd->parsed()) return run_job(job_args, *job_cmd);
    return run(args);
  } catch (const UserError& e) {
    std::cerr << "satvp: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "satvp: simulator error: " << e.what() << "\n";
    return 4;
  }
}

// libsystemc prints its banner before sc_main unless told not to; our summary says what ran.
int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
