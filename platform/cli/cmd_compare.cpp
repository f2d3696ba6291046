#include "cli/cmd_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <optional>
#include <sstream>

#include "config/config.h"
#include "config/user_error.h"
#include "config/yaml_reader.h"
#include "loader/workload.h"
#include "report/run_dir.h"
#include "report/run_output.h"

namespace fs = std::filesystem;

namespace cestvp {

namespace {

std::vector<std::string> parse_schemes(const std::string& text) {
  const std::vector<std::string> valid = scheme_names();
  std::vector<std::string> schemes;
  std::stringstream in(text);
  for (std::string s; std::getline(in, s, ',');) {
    const auto fail = [&](const std::string& problem) {
      throw UserError("--schemes " + text + ": " + problem + "; expected a comma-separated list of " + join(valid, ", "));
    };
    if (std::find(valid.begin(), valid.end(), s) == valid.end()) fail("unknown scheme '" + s + "'");
    if (std::find(schemes.begin(), schemes.end(), s) != schemes.end()) fail("'" + s + "' is listed twice");
    schemes.push_back(s);
  }
  if (schemes.empty() || text.back() == ',')
    throw UserError("--schemes " + text + ": an empty scheme name; expected a comma-separated list of " + join(valid, ", "));
  return schemes;
}

// The time bases of docs/paper-reproduction.md, widest first: the whole training iteration,
// the accelerator's part of it (the iteration minus the host's layers), STCE's busy time.
enum class Base { iteration, accel, stce };
constexpr Base kBases[] = {Base::iteration, Base::accel, Base::stce};
constexpr std::size_t kBaseCount = std::size(kBases);
// The prefix of its columns in compare.csv and compare.json ("stce" -> stce_seconds, stce_speedup).
const char* base_key(Base base) {
  constexpr const char* keys[kBaseCount] = {"iteration", "accel", "stce"};
  return keys[static_cast<std::size_t>(base)];
}

double seconds_on(const RunFigures& f, Base base) {
  switch (base) {
    case Base::iteration: return f.iteration_seconds;
    case Base::accel: return f.iteration_seconds - f.host_seconds;
    case Base::stce: return f.stce_seconds;
  }
  return NAN;
}

// ---- the paper's figures ---------------------------------------------------------------------

// A speed-up over dense the CEST paper gives for one of its workloads on SAT.
struct PaperFigure {
  const char* workload;  // the `name` of its workloads/*.yaml
  const char* scheme;
  Base base;
  double time_reduction_percent;  // as the paper states it
  const char* source;
};

// The paper measured training time on SAT to a validation accuracy and does not say what it
// timed (docs/paper-reproduction.md). The whole iteration adds the host CPU's layers, which the
// paper never mentions and sparsity does not shorten, so each figure is listed on the two bases
// it can be compared with. For SR-STE and SDGP the paper gives only an average over both
// workloads ("CEST faster by 35.7 %"): no figure per workload, no entry.
constexpr const char* kResnet18Source =
    "CEST paper, Sec. IV 'Sparse Training Efficiency of CEST': time to 62.0 % validation accuracy on SAT, "
    "BDWP vs dense, reduced by 50.8 % (base not stated)";
constexpr const char* kVitSource =
    "CEST paper, Sec. IV 'Sparse Training Efficiency of CEST': time to 59.5 % validation accuracy on SAT, "
    "BDWP vs dense, reduced by 48.4 % (base not stated)";
constexpr PaperFigure kPaperFigures[] = {
    {"resnet18_tinyimagenet", "bdwp", Base::accel, 50.8, kResnet18Source},
    {"resnet18_tinyimagenet", "bdwp", Base::stce, 50.8, kResnet18Source},
    {"vit_cifar100", "bdwp", Base::accel, 48.4, kVitSource},
    {"vit_cifar100", "bdwp", Base::stce, 48.4, kVitSource},
};

// The paper's figures that this comparison can be held against: its workload in the paper's
// configuration (2:8 at batch 512, as on SAT in the paper), with dense as the baseline.
std::vector<PaperFigure> paper_figures_for(const Workload& workload, const std::string& baseline,
                                           const std::vector<std::string>& schemes) {
  std::vector<PaperFigure> figures;
  const TrainWorkload& t = workload.train;
  if (baseline != "dense" || t.n != 2 || t.m != 8 || t.batch != 512) return figures;
  for (const PaperFigure& p : kPaperFigures)
    if (workload.name == p.workload && std::find(schemes.begin(), schemes.end(), p.scheme) != schemes.end())
      figures.push_back(p);
  return figures;
}

double speedup_of(const PaperFigure& p) { return 1 / (1 - p.time_reduction_percent / 100); }

// ---- the tables ------------------------------------------------------------------------------

struct Row {
  std::string scheme;
  fs::path dir;
  int exit_code = -1;
  std::optional<RunFigures> figures;
  double speedup[kBaseCount] = {NAN, NAN, NAN};  // over the baseline per Base; NaN: no baseline or no figures
  bool ok() const { return run_ok(figures, exit_code); }
};

std::string fixed(double value, int digits, const char* suffix = "") {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f%s", digits, value, suffix);
  return text;
}

std::string csv_number(double value) { return std::isfinite(value) ? json_number(value) : ""; }

// The unit that shows these durations with at most three digits before the point, as the
// table's heading names it: one unit for the whole table, so that the columns line up.
struct TimeUnit {
  const char* name;
  double per_second;
};
TimeUnit time_unit(const std::vector<Row>& rows) {
  double largest = 0;
  for (const Row& r : rows)
    if (r.ok()) largest = std::max(largest, r.figures->iteration_seconds);
  if (largest >= 1) return {"s", 1};
  if (largest >= 1e-3) return {"ms", 1e3};
  return {"us", 1e6};
}

std::string centred(const std::string& text, std::size_t width) {
  const std::size_t left = text.size() < width ? (width - text.size()) / 2 : 0;
  return std::string(left, ' ') + text + std::string(width > text.size() + left ? width - text.size() - left : 0, ' ');
}

// Two tables of at most 100 columns: the time bases, then the work done.
std::string table(const std::vector<Row>& rows, const TimeUnit& unit) {
  std::ostringstream s;
  char line[400];
  // Each base is a 20-character pair of columns, " %9s %9s".
  std::string headings = "  " + std::string(24, ' ');
  for (const char* heading : {"whole iteration", "accelerator", "STCE"}) headings += " " + centred(heading, 19);
  s << headings.substr(0, headings.find_last_not_of(' ') + 1) << "\n";
  std::snprintf(line, sizeof line, "  %-7s %-16s", "scheme", "status");
  s << line;
  for (std::size_t b = 0; b < kBaseCount; ++b) {
    std::snprintf(line, sizeof line, " %9s %9s", "time", "speed-up");
    s << line;
  }
  std::snprintf(line, sizeof line, " %9s\n", "host");
  s << line;
  for (const Row& r : rows) {
    const RunFigures f = r.figures.value_or(RunFigures{});
    const auto time = [&](double seconds) { return r.ok() ? fixed(seconds * unit.per_second, 3) : "-"; };
    std::snprintf(line, sizeof line, "  %-7s %-16s", r.scheme.c_str(), run_status(r.figures, r.exit_code).c_str());
    s << line;
    for (const Base b : kBases) {
      std::snprintf(line, sizeof line, " %9s %9s", time(seconds_on(f, b)).c_str(),
                    fixed(r.speedup[static_cast<std::size_t>(b)], 2, "x").c_str());
      s << line;
    }
    std::snprintf(line, sizeof line, " %9s\n", time(f.host_seconds).c_str());
    s << line;
  }
  s << "\n";
  std::snprintf(line, sizeof line, "  %-7s %15s %15s %9s %9s %6s %6s\n", "scheme", "GMACs/iter", "GMACs/iter", "GOPS",
                "GOPS", "STCE", "host");
  s << line;
  std::snprintf(line, sizeof line, "  %-7s %15s %15s %9s %9s %6s %6s\n", "", "executed", "dense-equiv.", "executed",
                "dense-eq.", "util", "share");
  s << line;
  for (const Row& r : rows) {
    const RunFigures f = r.figures.value_or(RunFigures{});
    const bool have = r.ok();
    std::snprintf(line, sizeof line, "  %-7s %15s %15s %9s %9s %6s %6s\n", r.scheme.c_str(),
                  have ? fixed(f.macs_per_iteration / 1e9, 3).c_str() : "-",
                  have ? fixed(f.dense_macs_per_iteration / 1e9, 3).c_str() : "-",
                  have ? fixed(f.gops_executed, 2).c_str() : "-", have ? fixed(f.gops_dense_equivalent, 2).c_str() : "-",
                  have ? fixed(100 * f.stce_utilisation, 1, "%").c_str() : "-",
                  have ? fixed(100 * f.host_share, 1, "%").c_str() : "-");
    s << line;
  }
  return s.str();
}

std::string compare_csv(const std::vector<Row>& rows, const std::string& baseline) {
  std::ostringstream s;
  s << "scheme,status,exit_code,baseline";
  for (const Base b : kBases) s << "," << base_key(b) << "_seconds," << base_key(b) << "_speedup";
  s << ",host_seconds,macs_per_iteration,dense_macs_per_iteration,gops_executed,gops_dense_equivalent,"
       "stce_utilisation,host_share,run_dir\n";
  for (const Row& r : rows) {
    const RunFigures f = r.figures.value_or(RunFigures{});
    const double nan = NAN;
    const auto number = [&](double value) { return csv_number(r.ok() ? value : nan); };
    s << r.scheme << "," << csv_field(run_status(r.figures, r.exit_code)) << "," << r.exit_code << "," << baseline;
    for (const Base b : kBases)
      s << "," << number(seconds_on(f, b)) << "," << csv_number(r.speedup[static_cast<std::size_t>(b)]);
    s << "," << number(f.host_seconds) << "," << number(f.macs_per_iteration) << ","
      << number(f.dense_macs_per_iteration) << "," << number(f.gops_executed) << "," << number(f.gops_dense_equivalent)
      << "," << number(f.stce_utilisation) << "," << number(f.host_share) << "," << csv_field(r.dir.string()) << "\n";
  }
  return s.str();
}

std::string compare_json(const std::vector<Row>& rows, const std::string& workload, const std::string& mode,
                         const std::string& baseline, const std::vector<PaperFigure>& paper) {
  std::ostringstream s;
  s << "{\n  \"workload\": " << json_string(workload) << ",\n  \"mode\": " << json_string(mode)
    << ",\n  \"baseline\": " << json_string(baseline) << ",\n  \"runs\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const RunFigures f = r.figures.value_or(RunFigures{});
    const auto number = [&](double value) { return r.ok() ? json_number(value) : "null"; };
    s << (i ? "," : "") << "\n    {\"scheme\": " << json_string(r.scheme)
      << ", \"status\": " << json_string(run_status(r.figures, r.exit_code)) << ", \"exit_code\": " << r.exit_code
      << ", \"run_dir\": " << json_string(r.dir.string());
    for (const Base b : kBases)
      s << ", \"" << base_key(b) << "_seconds\": " << number(seconds_on(f, b)) << ", \"" << base_key(b)
        << "_speedup\": " << json_number(r.speedup[static_cast<std::size_t>(b)]);
    s << ", \"host_seconds\": " << number(f.host_seconds) << ", \"macs_per_iteration\": " << number(f.macs_per_iteration)
      << ", \"dense_macs_per_iteration\": " << number(f.dense_macs_per_iteration)
      << ", \"gops_executed\": " << number(f.gops_executed)
      << ", \"gops_dense_equivalent\": " << number(f.gops_dense_equivalent)
      << ", \"stce_utilisation\": " << number(f.stce_utilisation) << ", \"host_share\": " << number(f.host_share) << "}";
  }
  s << "\n  ],\n  \"paper\": [";
  for (std::size_t i = 0; i < paper.size(); ++i)
    s << (i ? "," : "") << "\n    {\"scheme\": " << json_string(paper[i].scheme) << ", \"base\": "
      << json_string(base_key(paper[i].base)) << ", \"speedup\": " << json_number(speedup_of(paper[i]))
      << ", \"time_reduction_percent\": " << json_number(paper[i].time_reduction_percent)
      << ", \"source\": " << json_string(paper[i].source) << "}";
  s << (paper.empty() ? "" : "\n  ") << "]\n}\n";
  return s.str();
}

}  // namespace

void add_compare_options(CLI::App& cmd, CompareArgs& args) {
  add_child_run_options(cmd, args.run);
  cmd.get_option("--workload")->required();
  cmd.add_option("--schemes", args.schemes, "Comma-separated N:M schemes, one run each (" + join(scheme_names(), ", ") + ")")
      ->capture_default_str();
  cmd.add_option("--out", args.run.out, "Output directory (default: runs/<workload name>-compare); one subdirectory per scheme");
}

int run_compare(const CompareArgs& args) {
  const std::vector<std::string> schemes = parse_schemes(args.schemes);
  const std::vector<Override> sets = parse_overrides(args.run.sets);
  for (const Override& o : sets)
    if (within(o.path, "scheme"))
      throw UserError(o.origin() + ": compare sets the scheme of each run; expected the schemes in --schemes");

  // Every run's workload is checked here, so that bad input stops the command before any child.
  const PlatformConfig config = load_platform_config(args.run.platform);
  Workload workload = load_workload(args.run.workload, sets, &config);
  YamlMap root = load_yaml(args.run.workload, sets).map();
  if (workload.program != "train")
    root.get("program").fail("compare runs training workloads, not " + workload.program, "program: train");
  // Each run replaces the scheme (--set scheme=...), which needs the key in the file.
  const YamlValue scheme_key = root.get("scheme");
  if (!scheme_key.exists())
    scheme_key.fail("missing key; compare replaces it in each run with one of --schemes",
                    "a scheme key in the workload (scheme: dense, as when it is left out)");
  for (const std::string& scheme : schemes) {
    std::vector<Override> overrides = sets;
    overrides.push_back({"scheme", scheme, "--schemes"});
    workload = load_workload(args.run.workload, overrides, &config);
  }
  const std::string mode = args.run.mode.empty() ? workload.train.mode : args.run.mode;
  const fs::path out = args.run.out.empty() ? fs::path("runs") / (workload.name + "-compare") : fs::path(args.run.out);
  const RunDirLock lock(out, args.run.out.empty() ? "compare directory" : "--out");

  std::vector<ChildRun> runs;
  for (const std::string& scheme : schemes) {
    RunRequest r{args.run.workload, args.run.platform, args.run.mode, args.run.sets, out / scheme};
    r.sets.push_back("scheme=" + scheme);
    runs.push_back({"scheme=" + scheme, r});
  }
  prepare_run_dirs(runs);
  std::printf("compare: %s in %s mode, %zu schemes, into %s\n", workload.name.c_str(), mode.c_str(), schemes.size(),
              out.c_str());
  std::fflush(stdout);
  const std::vector<ChildOutcome> outcomes = run_children(satvp_binary(), runs, args.run.jobs);

  std::vector<Row> rows;
  for (std::size_t i = 0; i < runs.size(); ++i)
    rows.push_back({schemes[i], runs[i].request.out, outcomes[i].exit_code, read_run_figures(runs[i].request.out)});
  const auto dense = std::find(schemes.begin(), schemes.end(), "dense");
  const std::size_t base = dense == schemes.end() ? 0 : static_cast<std::size_t>(dense - schemes.begin());
  const Row& baseline = rows[base];
  if (baseline.ok())
    for (Row& r : rows) {
      if (!r.ok()) continue;
      for (const Base b : kBases) {
        const double base_seconds = seconds_on(*baseline.figures, b), seconds = seconds_on(*r.figures, b);
        if (base_seconds > 0 && seconds > 0) r.speedup[static_cast<std::size_t>(b)] = base_seconds / seconds;
      }
    }
  const std::vector<PaperFigure> paper = paper_figures_for(workload, schemes[base], schemes);

  const TimeUnit unit = time_unit(rows);
  std::printf("\ncompare: %s, %s mode; time per training iteration (%s), speed-up over %s%s\n",
              workload.name.c_str(), mode.c_str(), unit.name, schemes[base].c_str(),
              dense == schemes.end() ? " (the first scheme: dense is not in --schemes)"
              : baseline.ok()        ? ""
                                     : " (which failed: no speed-ups)");
  std::fputs(table(rows, unit).c_str(), stdout);
  std::printf("  accelerator: the whole iteration minus the host's layers (host); STCE: its busy time\n"
              "  GMACs/iter: STCE MACs of one training iteration (evaluation left out);\n"
              "  GOPS, STCE util and host share: over the whole run\n");
  if (std::find(schemes.begin(), schemes.end(), "sdgp") != schemes.end())
    std::printf("  sdgp: about dense's speed is expected: its pruned dY needs every candidate weight, and SRAM B's\n"
                "        port (sat.sram_port.b, 64 B) is sized for BDWP's compressed weights (docs/paper-reproduction.md)\n");
  for (const PaperFigure& p : paper)
    std::printf("  paper: %s %.2fx over dense on %s time (Sec. IV: %.1f%% less; source in compare.json)\n",
                p.scheme, speedup_of(p), p.base == Base::stce ? "STCE" : "accelerator", p.time_reduction_percent);
  write_text_atomically(out / "compare.csv", compare_csv(rows, schemes[base]));
  write_text_atomically(out / "compare.json", compare_json(rows, workload.name, mode, schemes[base], paper));
  std::printf("  results             %s, %s\n", (out / "compare.csv").c_str(), (out / "compare.json").c_str());
  plot("compare", out);
  return std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.ok(); }) ? 0 : 1;
}

}  // namespace cestvp
