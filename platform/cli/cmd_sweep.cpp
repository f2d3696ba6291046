#include "cli/cmd_sweep.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "cli/cli.h"
#include "config/config.h"
#include "config/user_error.h"
#include "config/yaml_override.h"
#include "config/yaml_reader.h"
#include "loader/workload.h"
#include "report/run_dir.h"
#include "report/run_output.h"

namespace fs = std::filesystem;

namespace cestvp {

namespace {

constexpr const char* kPlan = "plan.json";  // the sweep's parameters and run directories, for --collect

struct Param {
  std::string key;
  std::vector<std::string> values;
  bool platform = false;  // a platform YAML key, else a workload key
  std::string spec;       // as given: "batch=16,32"
  std::string option() const { return platform ? "--platform-param" : "--param"; }
};

// "key=v1,v2,..."; commas inside [] or {} belong to a YAML value: "sat.nm_m=[4, 8],[8]".
Param parse_param(const std::string& spec, bool platform) {
  Param p{{}, {}, platform, spec};
  const auto fail = [&](const std::string& problem) {
    throw UserError(p.option() + " " + spec + ": " + problem + "; expected key=value1,value2,...");
  };
  const std::size_t equals = spec.find('=');
  if (equals == std::string::npos) fail("missing '='");
  p.key = spec.substr(0, equals);
  if (p.key.empty()) fail("empty key");
  std::string value;
  int depth = 0;
  for (std::size_t i = equals + 1; i <= spec.size(); ++i) {
    const char c = i < spec.size() ? spec[i] : ',';
    if (c == ',' && depth == 0) {
      if (value.empty()) fail("empty value");
      p.values.push_back(value);
      value.clear();
      continue;
    }
    depth += (c == '[' || c == '{') - (c == ']' || c == '}');
    value += c;
  }
  return p;
}

std::vector<Param> parse_params(const SweepArgs& args) {
  std::vector<Param> params;
  for (const std::string& spec : args.params) params.push_back(parse_param(spec, false));
  for (const std::string& spec : args.platform_params) params.push_back(parse_param(spec, true));
  if (params.empty()) throw UserError("sweep: nothing to sweep; expected --param key=v1,v2 or --platform-param key=v1,v2");
  const std::vector<Override> sets = parse_overrides(args.run.sets);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    // Any overlap: each run's --set and --param values are applied in one order, where a
    // mapping set after a key inside it would replace that key.
    const auto check = [&p](const std::string& key, const std::string& origin, const std::string& expected) {
      if (!within(p.key, key) && !within(key, p.key)) return;
      const std::string what = key == p.key            ? "the key"
                               : within(p.key, key) ? "its mapping " + key
                                                    : "the key " + key + " inside it";
      throw UserError(p.option() + " " + p.spec + ": " + what + " is also " + origin + "; expected " + expected);
    };
    for (std::size_t j = 0; j < i; ++j)
      if (params[j].platform == p.platform)
        check(params[j].key, "swept by " + params[j].option() + " " + params[j].spec, "one list of values per key");
    if (!p.platform)
      for (const Override& o : sets) check(o.path, "set by " + o.origin(), "either --param or --set for a key");
  }
  return params;
}

// One point of the sweep: the value index of each parameter.
struct Point {
  std::vector<std::size_t> choice;
  std::string label(const std::vector<Param>& params) const {
    std::string text;
    for (std::size_t i = 0; i < params.size(); ++i)
      text += (i ? " " : "") + params[i].key + "=" + params[i].values[choice[i]];
    return text;
  }
};

// The cartesian product; the last parameter varies fastest, as nested loops in option order.
std::vector<Point> product(const std::vector<Param>& params) {
  std::vector<Point> points(1, Point{std::vector<std::size_t>(params.size(), 0)});
  for (std::size_t i = params.size(); i-- > 0;) {
    std::vector<Point> next;
    for (std::size_t v = 0; v < params[i].values.size(); ++v)
      for (Point p : points) {
        p.choice[i] = v;
        next.push_back(p);
      }
    points = std::move(next);
  }
  return points;
}

// "03-sat.array.rows=16_ddr.channel_bandwidth=12.8_GB_s": sortable, readable, no shell trouble.
std::string run_dir_name(std::size_t index, std::size_t count, const std::string& label) {
  const int width = static_cast<int>(std::to_string(count - 1).size());
  char number[24];
  std::snprintf(number, sizeof number, "%0*zu-", width, index);
  std::string name = number;
  for (const char c : label) name += std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._=+-", c) ? c : '_';
  return name;
}

// The platform YAML of one point, from the base file with the point's platform keys replaced.
std::string platform_yaml(const std::string& base, const std::vector<Override>& overrides) {
  YAML::Node root = YAML::LoadFile(base);
  apply_overrides(root, overrides, base);
  YAML::Emitter out;
  out << root;
  std::string text = "# Written by satvp sweep: " + base;
  for (const Override& o : overrides) text += ", " + o.argument();
  return text + "\n" + out.c_str() + "\n";
}

struct Plan {
  std::string workload;
  std::vector<Param> params;  // values unused when read back
  std::vector<std::string> dirs;                  // per run, relative to the sweep directory
  std::vector<std::vector<std::string>> values;   // per run, one per parameter
};

std::string plan_json(const Plan& plan) {
  std::ostringstream s;
  s << "{\n  \"workload\": " << json_string(plan.workload) << ",\n  \"params\": [";
  for (std::size_t i = 0; i < plan.params.size(); ++i)
    s << (i ? ", " : "") << "{\"key\": " << json_string(plan.params[i].key)
      << ", \"platform\": " << (plan.params[i].platform ? "true" : "false") << "}";
  s << "],\n  \"runs\": [";
  for (std::size_t r = 0; r < plan.dirs.size(); ++r) {
    s << (r ? "," : "") << "\n    {\"dir\": " << json_string(plan.dirs[r]) << ", \"values\": [";
    for (std::size_t i = 0; i < plan.values[r].size(); ++i) s << (i ? ", " : "") << json_string(plan.values[r][i]);
    s << "]}";
  }
  s << "\n  ]\n}\n";
  return s.str();
}

Plan read_plan(const fs::path& dir) {
  const fs::path file = dir / kPlan;
  if (!fs::exists(file))
    throw UserError(dir.string() + ": no " + kPlan + "; expected the output directory of a satvp sweep");
  const JsonValue json = read_json_file(file);
  Plan plan;
  plan.workload = json.at("workload").string();
  for (const JsonValue& p : json.at("params").items())
    plan.params.push_back({p.at("key").string(), {}, p.at("platform").boolean(), {}});
  for (const JsonValue& r : json.at("runs").items()) {
    plan.dirs.push_back(r.at("dir").string());
    plan.values.emplace_back();
    for (const JsonValue& v : r.at("values").items()) plan.values.back().push_back(v.string());
  }
  return plan;
}

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// One line of commands.txt: the child's command with its output into its satvp.log.
std::string command_line(const std::string& binary, const RunRequest& request) {
  std::string line = shell_quote(binary);
  for (const std::string& arg : request.args()) line += " " + shell_quote(arg);
  return line + " > " + shell_quote(child_log(request).string()) + " 2>&1";
}

std::string slurm_script(const fs::path& dir, std::size_t count) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by satvp sweep: one array task per line of commands.txt. Submit with\n"
    << "#   sbatch " << (dir / "sweep.slurm").string() << "\n"
    << "# and when every task has finished, collect the reports with\n"
    << "#   satvp sweep --collect " << dir.string() << "\n"
    << "#SBATCH --job-name=satvp-sweep\n"
    << "#SBATCH --array=0-" << count - 1 << "\n"
    << "#SBATCH --cpus-per-task=1\n"  // a satvp run is one thread
    << "#SBATCH --output=" << (dir / "slurm-%a.out").string() << "\n"
    << "set -euo pipefail\n"
    << "line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " << shell_quote((dir / "commands.txt").string()) << ")\n"
    << "exec bash -c \"$line\"\n";
  return s.str();
}

std::string csv_number(const std::optional<RunFigures>& f, double RunFigures::*field) {
  return f ? json_number((*f).*field) : "";
}

// sweep.csv and a console table from the run directories; exit codes when the runs were ours.
// Returns whether every run has a report of a finished run.
bool collect(const fs::path& dir, const std::optional<std::vector<ChildOutcome>>& outcomes) {
  const Plan plan = read_plan(dir);
  std::ostringstream csv;
  csv << "index";
  for (const Param& p : plan.params) csv << "," << csv_field(p.key);
  csv << ",iteration_seconds,simulated_seconds,gops_executed,gops_dense_equivalent,stce_utilisation,energy_j,watts,"
         "status,run_dir\n";
  int width = 3;  // of the run column
  for (const std::string& d : plan.dirs) width = std::max(width, static_cast<int>(d.size()));
  std::printf("\nsweep: %s, %zu runs\n  %-*s %12s %11s %9s %8s  %s\n", plan.workload.c_str(), plan.dirs.size(), width,
              "run", "iteration", "GOPS", "energy", "power", "status");
  bool all_ok = true;
  for (std::size_t r = 0; r < plan.dirs.size(); ++r) {
    const std::optional<RunFigures> report = read_run_figures(dir / plan.dirs[r]);
    const std::optional<int> exit_code = outcomes ? std::optional<int>((*outcomes)[r].exit_code) : std::nullopt;
    const std::string status = run_status(report, exit_code);
    const bool ok = run_ok(report, exit_code);
    const std::optional<RunFigures> f = ok ? report : std::nullopt;  // figures worth tabulating
    all_ok = all_ok && ok;
    csv << r;
    for (const std::string& v : plan.values[r]) csv << "," << csv_field(v);
    csv << "," << csv_number(f, &RunFigures::iteration_seconds) << "," << csv_number(f, &RunFigures::simulated_seconds)
        << "," << csv_number(f, &RunFigures::gops_executed) << "," << csv_number(f, &RunFigures::gops_dense_equivalent)
        << "," << csv_number(f, &RunFigures::stce_utilisation) << "," << csv_number(f, &RunFigures::energy_j) << ","
        << csv_number(f, &RunFigures::watts) << "," << csv_field(status) << "," << csv_field(plan.dirs[r]) << "\n";
    char gops[32] = "-", energy[32] = "-", watts[32] = "-";
    if (f) {
      std::snprintf(gops, sizeof gops, "%.2f", f->gops_dense_equivalent);
      std::snprintf(energy, sizeof energy, "%.3f J", f->energy_j);
      std::snprintf(watts, sizeof watts, "%.2f W", f->watts);
    }
    std::printf("  %-*s %12s %11s %9s %8s  %s\n", width, plan.dirs[r].c_str(), f ? duration(f->iteration_seconds).c_str() : "-",
                gops, energy, watts, status.c_str());
  }
  std::printf("  iteration: simulated time per training iteration; GOPS: dense-equivalent, over the run\n");
  write_text_atomically(dir / "sweep.csv", csv.str());
  std::printf("  results             %s\n", (dir / "sweep.csv").c_str());
  plot("sweep", dir);
  return all_ok;
}

}  // namespace

void add_sweep_options(CLI::App& cmd, SweepArgs& args) {
  add_child_run_options(cmd, args.run);
  cmd.add_option("--param", args.params,
                 "Workload key and its values, e.g. --param nm=2:8,1:8 --param batch=64,128 (repeatable; each run "
                 "gets --set key=value)");
  cmd.add_option("--platform-param", args.platform_params,
                 "Platform YAML key and its values, e.g. --platform-param sat.array.rows=16,32 or "
                 "--platform-param 'ddr.channel_bandwidth=12.8 GB/s,19.2 GB/s' (repeatable; each run gets a copy of "
                 "the platform YAML with the value)");
  cmd.add_option("--out", args.run.out, "Output directory (default: runs/<workload name>-sweep); one subdirectory per run");
  cmd.add_option("--emit", args.emit,
                 "Do not run: write commands.txt (one satvp run per line) and, for slurm, sweep.slurm (a job array); "
                 "collect the reports afterwards with --collect")
      ->check(one_of({"slurm", "parallel"}));
  cmd.add_option("--collect", args.collect,
                 "Do not run: gather the report.json files of an emitted sweep in DIR (default: --out's, or the "
                 "sweep's default) into sweep.csv")
      ->expected(0, 1);
}

int run_sweep(const SweepArgs& args, const CLI::App& cmd) {
  const bool collecting = cmd.count("--collect") > 0;
  if (collecting && !args.collect.empty()) return collect(args.collect, std::nullopt) ? 0 : 1;
  if (args.run.workload.empty())
    throw UserError("sweep: --workload is required; expected --workload FILE (a training workload YAML), or --collect DIR");

  const std::string base_platform = fs::absolute(args.run.platform).string();
  const PlatformConfig base_config = load_platform_config(base_platform);
  const std::vector<Override> sets = parse_overrides(args.run.sets);
  const Workload base = load_workload(args.run.workload, sets, &base_config);
  if (base.program != "train")
    load_yaml(args.run.workload, sets).map().get("program").fail(
        "sweep runs training workloads, not " + base.program, "program: train");
  const fs::path out = fs::absolute(args.run.out.empty() ? fs::path("runs") / (base.name + "-sweep") : fs::path(args.run.out));
  const RunDirLock lock(out, args.run.out.empty() ? "sweep directory" : "--out");
  if (collecting) return collect(out, std::nullopt) ? 0 : 1;

  const std::vector<Param> params = parse_params(args);
  const std::vector<Point> points = product(params);
  Plan plan{base.name, params, {}, {}};
  std::vector<ChildRun> runs;
  std::vector<std::vector<Override>> platform_overrides(points.size());  // per run
  // Per run: --set and the run's --param values, each named as the user wrote it in errors.
  std::vector<std::vector<Override>> workload_overrides(points.size(), parse_overrides(args.run.sets));
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string label = points[i].label(params);
    const std::string name = run_dir_name(i, points.size(), label);
    RunRequest r{fs::absolute(args.run.workload).string(), base_platform, args.run.mode, args.run.sets, out / name};
    plan.values.emplace_back();
    for (std::size_t p = 0; p < params.size(); ++p) {
      const std::string value = params[p].values[points[i].choice[p]];
      const Override o{params[p].key, value, params[p].option()};
      if (params[p].platform) {
        platform_overrides[i].push_back(o);
      } else {
        workload_overrides[i].push_back(o);
        r.sets.push_back(o.argument());
      }
      plan.values.back().push_back(value);
    }
    if (!platform_overrides[i].empty()) r.platform = (r.out / "platform.sweep.yaml").string();
    plan.dirs.push_back(name);
    runs.push_back({label, r});
  }
  prepare_run_dirs(runs);
  // Every run's platform and workload are checked here, so that bad input stops the command
  // before any child starts.
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRequest& r = runs[i].request;
    try {
      if (!platform_overrides[i].empty())
        write_text_atomically(r.platform, platform_yaml(base_platform, platform_overrides[i]));
      const PlatformConfig config = load_platform_config(r.platform);
      load_workload(r.workload, workload_overrides[i], &config);
    } catch (const UserError& error) {
      throw UserError("sweep run " + std::to_string(i) + " (" + runs[i].label + "): " + error.what());
    }
  }
  write_text_atomically(out / kPlan, plan_json(plan));

  if (!args.emit.empty()) {
    std::string commands;
    for (const ChildRun& run : runs) commands += command_line(satvp_binary(), run.request) + "\n";
    write_text_atomically(out / "commands.txt", commands);
    std::printf("sweep: %zu runs written to %s\n", runs.size(), (out / "commands.txt").c_str());
    if (args.emit == "slurm") {
      write_text_atomically(out / "sweep.slurm", slurm_script(out, runs.size()));
      std::printf("  submit              sbatch %s\n", (out / "sweep.slurm").c_str());
    } else {
      std::printf("  run                 parallel --sshloginfile hosts -a %s  (or parallel -j N -a ... on one machine)\n",
                  (out / "commands.txt").c_str());
    }
    std::printf("  then collect        %s sweep --collect %s\n", satvp_binary().c_str(), out.c_str());
    return 0;
  }

  std::printf("sweep: %s, %zu runs into %s\n", base.name.c_str(), runs.size(), out.c_str());
  std::fflush(stdout);
  const std::vector<ChildOutcome> outcomes = run_children(satvp_binary(), runs, args.run.jobs);
  return collect(out, outcomes) ? 0 : 1;
}

}  // namespace cestvp
