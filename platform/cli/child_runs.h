// What `satvp compare` and `satvp sweep` share. SystemC elaborates and simulates once per
// process, so each configuration is a child `satvp run` (this binary again) in its own run
// directory; the parent reads back the child's report.json.
//
//   const std::vector<ChildOutcome> outcomes = run_children(runs, options.jobs);
//   const RunFigures f = read_run_figures(runs[0].request.out);  // from report.json
//
// Also a JSON reader (nlohmann's parser), for report.json and the sweep's plan.json (files we write).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cestvp {

// ---- JSON ----------------------------------------------------------------------------------

// A JSON value with the place it came from ("report.json: operations.gops_executed"), so that
// a missing key or a value of the wrong type is reported where it is.
class JsonValue {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Type type() const { return type_; }
  // Each throws UserError naming the value's place unless the value is of that type.
  bool boolean() const;
  double number() const;
  const std::string& string() const;
  const std::vector<JsonValue>& items() const;  // of an array
  // Of an object: the member, or nullptr / UserError when the key is absent.
  const JsonValue* find(const std::string& key) const;
  const JsonValue& at(const std::string& key) const;

 private:
  friend class JsonBuilder;
  [[noreturn]] void fail(const std::string& expected) const;

  Type type_ = Type::null;
  bool boolean_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;  // array elements, or object values in file order
  std::vector<std::string> keys_;  // object keys, one per item
  std::string where_;              // "report.json: operations.gops_executed"
};

// Parses a whole JSON document (RFC 8259) with nlohmann's parser. UserError
// "source:line:column: problem" on any syntax error or trailing text.
JsonValue parse_json(const std::string& text, const std::string& source);
JsonValue read_json_file(const std::filesystem::path& path);

// ---- child runs ----------------------------------------------------------------------------

// Options compare and sweep take for their children, as `satvp run` takes them.
struct ChildRunOptions {
  std::string workload;
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string mode;               // "": the workload's
  std::vector<std::string> sets;  // --set key=value, for every child
  std::string out;                // "": runs/<workload name>-<command>
  unsigned jobs = 0;              // children at a time; 0: one per core
};
void add_child_run_options(CLI::App& cmd, ChildRunOptions& options);

// One `satvp run` of a child: its arguments after the binary.
struct RunRequest {
  std::string workload, platform, mode;  // mode "": the workload's
  std::vector<std::string> sets;
  std::filesystem::path out;
  std::vector<std::string> args() const;  // run --workload W --platform P --out D [--mode M] --set ...
};

struct ChildRun {
  std::string label;  // what progress lines call it: "scheme=bdwp"
  RunRequest request;
};

struct ChildOutcome {
  int exit_code = -1;  // 128 + N: killed by signal N
  double wall_seconds = 0;
};

// The path of the running satvp binary (/proc/self/exe), for children and generated commands.
std::string satvp_binary();
// The child's console output: <run directory>/satvp.log.
std::filesystem::path child_log(const RunRequest& request);

// Removes report.json from each run directory (creating the directory), so that a child that
// fails early leaves no stale numbers behind.
void prepare_run_dirs(const std::vector<ChildRun>& runs);

// Runs `binary` with each child's arguments, at most `jobs` at a time, each with stdout and
// stderr into its satvp.log. Prints a line as each finishes ("[3/8] scheme=bdwp done in 4.2 s");
// a failed child's line gives its exit code and the last lines of its log. Every child runs,
// whatever the others do; one that cannot be started counts as exit 127, as in a shell.
std::vector<ChildOutcome> run_children(const std::string& binary, const std::vector<ChildRun>& runs, unsigned jobs);

// The figures compare and sweep tabulate, from a run directory's report.json.
struct RunFigures {
  std::string status;  // the firmware's: "finished", "failed", ...
  double iteration_seconds = 0, simulated_seconds = 0;
  // The narrower time bases of docs/paper-reproduction.md, per training iteration: the host
  // work of the training passes (FF, BP, WU, WUVE, OSRE) over the iterations done; accelerator
  // = iteration - host; STCE = its busy cycles in the training passes over the iterations done.
  double host_seconds = 0, stce_seconds = 0;
  // Per training iteration: the run's STCE MACs without evaluation, over the iterations done.
  double macs_per_iteration = 0, dense_macs_per_iteration = 0;
  double gops_executed = 0, gops_dense_equivalent = 0;  // over the run, as report.json
  double stce_utilisation = 0, host_share = 0;          // fractions of the run's SAT cycles
  double energy_j = 0, watts = 0;
};
// nullopt when the directory has no report.json; UserError when it is malformed.
std::optional<RunFigures> read_run_figures(const std::filesystem::path& dir);

// What a child's row says: the report's status, "no report", and a non-zero exit code:
// "failed (exit 1)". exit_code: nullopt when the run was not ours (--collect).
std::string run_status(const std::optional<RunFigures>& figures, std::optional<int> exit_code);
// Whether a run's figures are worth tabulating: it finished and exited 0. A failed run's report
// holds partial figures (an iteration time of 0), which would pass for results.
bool run_ok(const std::optional<RunFigures>& figures, std::optional<int> exit_code);

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text);

// Runs scripts/plot.py KIND DIR, which writes DIR's PNGs; says on stdout what came of it
// (matplotlib missing: how to install it). Never fails the command: the CSV is the result.
void plot(const std::string& kind, const std::filesystem::path& dir);

}  // namespace cestvp
