#include "cli/cmd_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
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

std::vector<std::string> valid_schemes() {
  std::vector<std::string> names;
  for (std::uint32_t s = 0; s <= static_cast<std::uint32_t>(fw::model::Scheme::bdwp); ++s)
    names.push_back(to_string(static_cast<fw::model::Scheme>(s)));
  return names;
}

std::string join(const std::vector<std::string>& words, const char* separator) {
  std::string text;
  for (const std::string& w : words) text += (text.empty() ? "" : separator) + w;
  return text;
}

std::vector<std::string> parse_schemes(const std::string& text) {
  const std::vector<std::string> valid = valid_schemes();
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

struct Row {
  std::string scheme;
  fs::path dir;
  int exit_code = -1;
  std::optional<RunFigures> figures;
  double speedup = NAN, time_reduction_percent = NAN;  // NaN: no baseline or no figures
  bool ok() const { return run_ok(figures, exit_code); }
};

std::string fixed(double value, int digits, const char* suffix = "") {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f%s", digits, value, suffix);
  return text;
}

std::string csv_number(double value) { return std::isfinite(value) ? json_number(value) : ""; }

std::string table(const std::vector<Row>& rows) {
  std::ostringstream s;
  char line[400];
  std::snprintf(line, sizeof line, "  %-7s %-16s %12s %8s %10s %15s %15s %9s %9s %6s %6s\n", "scheme", "status", "iteration",
                "speed-up", "time saved", "GMACs/iter", "GMACs/iter", "GOPS", "GOPS", "STCE", "host");
  s << line;
  std::snprintf(line, sizeof line, "  %-7s %-16s %12s %8s %10s %15s %15s %9s %9s %6s %6s\n", "", "", "(simulated)", "", "",
                "executed", "dense-equiv.", "executed", "dense-eq.", "util", "share");
  s << line;
  for (const Row& r : rows) {
    const RunFigures f = r.figures.value_or(RunFigures{});
    const bool have = r.ok();
    std::snprintf(line, sizeof line, "  %-7s %-16s %12s %8s %10s %15s %15s %9s %9s %6s %6s\n", r.scheme.c_str(),
                  run_status(r.figures, r.exit_code).c_str(), have ? duration(f.iteration_seconds).c_str() : "-",
                  fixed(r.speedup, 2, "x").c_str(), fixed(r.time_reduction_percent, 1, "%").c_str(),
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
  s << "scheme,status,exit_code,iteration_seconds,baseline,speedup,time_reduction_percent,macs_per_iteration,"
       "dense_macs_per_iteration,gops_executed,gops_dense_equivalent,stce_utilisation,host_share,run_dir\n";
  for (const Row& r : rows) {
    const RunFigures f = r.figures.value_or(RunFigures{});
    const double nan = NAN;
    const auto number = [&](double value) { return csv_number(r.ok() ? value : nan); };
    s << r.scheme << "," << csv_field(run_status(r.figures, r.exit_code)) << "," << r.exit_code << ","
      << number(f.iteration_seconds) << "," << baseline << "," << csv_number(r.speedup) << ","
      << csv_number(r.time_reduction_percent) << "," << number(f.macs_per_iteration) << ","
      << number(f.dense_macs_per_iteration) << "," << number(f.gops_executed) << "," << number(f.gops_dense_equivalent)
      << "," << number(f.stce_utilisation) << "," << number(f.host_share) << "," << csv_field(r.dir.string()) << "\n";
  }
  return s.str();
}

std::string compare_json(const std::vector<Row>& rows, const std::string& workload, const std::string& mode,
                         const std::string& baseline) {
  std::ostringstream s;
  s << "{\n  \"workload\": " << json_string(workload) << ",\n  \"mode\": " << json_string(mode)
    << ",\n  \"baseline\": " << json_string(baseline) << ",\n  \"runs\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const RunFigures f = r.figures.value_or(RunFigures{});
    const auto number = [&](double value) { return r.ok() ? json_number(value) : "null"; };
    s << (i ? "," : "") << "\n    {\"scheme\": " << json_string(r.scheme)
      << ", \"status\": " << json_string(run_status(r.figures, r.exit_code)) << ", \"exit_code\": " << r.exit_code
      << ", \"run_dir\": " << json_string(r.dir.string()) << ", \"iteration_seconds\": " << number(f.iteration_seconds)
      << ", \"speedup\": " << json_number(r.speedup)
      << ", \"time_reduction_percent\": " << json_number(r.time_reduction_percent)
      << ", \"macs_per_iteration\": " << number(f.macs_per_iteration)
      << ", \"dense_macs_per_iteration\": " << number(f.dense_macs_per_iteration)
      << ", \"gops_executed\": " << number(f.gops_executed)
      << ", \"gops_dense_equivalent\": " << number(f.gops_dense_equivalent)
      << ", \"stce_utilisation\": " << number(f.stce_utilisation) << ", \"host_share\": " << number(f.host_share) << "}";
  }
  s << "\n  ]\n}\n";
  return s.str();
}

}  // namespace

void add_compare_options(CLI::App& cmd, CompareArgs& args) {
  add_child_run_options(cmd, args.run);
  cmd.get_option("--workload")->required();
  cmd.add_option("--schemes", args.schemes, "Comma-separated N:M schemes, one run each (" + join(valid_schemes(), ", ") + ")")
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
  if (baseline.ok() && baseline.figures->iteration_seconds > 0)
    for (Row& r : rows) {
      if (!r.ok()) continue;
      const double ratio = r.figures->iteration_seconds / baseline.figures->iteration_seconds;
      r.speedup = 1 / ratio;
      r.time_reduction_percent = 100 * (1 - ratio);
    }

  std::printf("\ncompare: %s, %s mode; speed-up and time saved per iteration over %s%s\n", workload.name.c_str(),
              mode.c_str(), schemes[base].c_str(),
              dense == schemes.end() ? " (the first scheme: dense is not in --schemes)"
              : baseline.ok()        ? ""
                                     : " (which failed: no speed-ups)");
  std::fputs(table(rows).c_str(), stdout);
  std::printf("  GMACs/iter: STCE MACs of one training iteration (evaluation left out); GOPS, STCE util and host "
              "share: over the whole run\n");
  write_text_atomically(out / "compare.csv", compare_csv(rows, schemes[base]));
  write_text_atomically(out / "compare.json", compare_json(rows, workload.name, mode, schemes[base]));
  std::printf("  results             %s, %s\n", (out / "compare.csv").c_str(), (out / "compare.json").c_str());
  plot("compare", out);
  return std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.ok(); }) ? 0 : 1;
}

}  // namespace cestvp
