// satvp compare and satvp sweep (docs/reports.md): the JSON reader they read reports with, the
// tables they write from child runs of a tiny training workload in timing mode, the commands
// they emit for Slurm, and their errors. Expected values are read from each run's report.json
// as text, not through the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/child_runs.h"
#include "report/run_output.h"
#include "satvp_command.h"
#include "test_files.h"

namespace cestvp {
namespace {

namespace fs = std::filesystem;
using test::error_of;

// ---------------------------------------------------------------------------- JSON reader

TEST(JsonReader, ReadsNestedObjectsAndArrays) {
  const JsonValue v = parse_json(R"( {"a": {"b": [1, {"c": true}, null, []], "d": {}}, "e": false, "f": "x"} )", "t");
  ASSERT_EQ(v.type(), JsonValue::Type::object);
  const std::vector<JsonValue>& b = v.at("a").at("b").items();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].number(), 1.0);
  EXPECT_TRUE(b[1].at("c").boolean());
  EXPECT_EQ(b[2].type(), JsonValue::Type::null);
  EXPECT_TRUE(b[3].items().empty());
  EXPECT_EQ(v.at("a").at("d").type(), JsonValue::Type::object);
  EXPECT_EQ(v.at("a").at("d").find("x"), nullptr);
  EXPECT_FALSE(v.at("e").boolean());
  EXPECT_EQ(v.at("f").string(), "x");
}

TEST(JsonReader, DecodesEscapes) {
  const JsonValue v = parse_json(R"(["q\"b\\s\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00"])", "t");
  EXPECT_EQ(v.items()[0].string(), "q\"b\\s/\b\f\n\r\t");
  EXPECT_EQ(v.items()[1].string(), "\xC3\xA9\xE2\x82\xAC");  // é €, UTF-8
  EXPECT_EQ(v.items()[2].string(), "\xF0\x9F\x98\x80");      // U+1F600 from a surrogate pair
}

TEST(JsonReader, ReadsNumbersWithFractionsAndExponents) {
  const JsonValue v = parse_json("[0, -0, 17, -3.25, 1e3, 2E-2, -1.5e+2, 6.02214076e23, 0.1]", "t");
  const std::vector<double> expected = {0, 0, 17, -3.25, 1000, 0.02, -150, 6.02214076e23, 0.1};
  ASSERT_EQ(v.items().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(v.items()[i].number(), expected[i]) << i;
}

TEST(JsonReader, RejectsMalformedTextWithItsPlace) {
  const auto error = [](const std::string& text) { return error_of([&] { parse_json(text, "f.json"); }); };
  EXPECT_EQ(error("{\"a\": 1,}"), "f.json:1:9: expected a key in quotes");
  EXPECT_EQ(error("[1, 2,]"), "f.json:1:7: unexpected ']'; expected a value");
  EXPECT_EQ(error("{\"a\" 1}"), "f.json:1:6: expected ':' after the key");
  EXPECT_EQ(error("{\n  \"a\": \"open"), "f.json:2:13: unterminated string");
  EXPECT_EQ(error("\"a\\qb\""), "f.json:1:4: unknown escape \\q");
  EXPECT_EQ(error("\"\\u12G4\""), "f.json:1:6: expected four hex digits after \\u");
  EXPECT_EQ(error("\"\\ud83d\""), "f.json:1:8: high surrogate without its low surrogate");
  EXPECT_EQ(error("\"tab\there\""), "f.json:1:5: control character in a string; expected it escaped");
  EXPECT_EQ(error("01"), "f.json:1:2: unexpected text after the value");
  EXPECT_EQ(error(".5"), "f.json:1:1: unexpected '.'; expected a value");
  EXPECT_EQ(error("1."), "f.json:1:3: expected a digit after the decimal point");
  EXPECT_EQ(error("1e+"), "f.json:1:4: expected a digit in the exponent");
  EXPECT_EQ(error("+1"), "f.json:1:1: unexpected '+'; expected a value");
  EXPECT_EQ(error("tru"), "f.json:1:1: unexpected 't'; expected a value");
  EXPECT_EQ(error(""), "f.json:1:1: unexpected end of the text; expected a value");
  EXPECT_EQ(error("{} {}"), "f.json:1:4: unexpected text after the value");
  EXPECT_EQ(error(std::string(300, '[')), "f.json:1:257: nesting deeper than 256 levels");
}

TEST(JsonReader, WrongTypeOrMissingKeyNamesThePath) {
  const JsonValue v = parse_json(R"({"ops": {"gops": "fast"}, "list": [1, "two"]})", "r.json");
  EXPECT_EQ(error_of([&] { v.at("ops").at("gops").number(); }), "r.json: ops.gops: found a string; expected a number");
  EXPECT_EQ(error_of([&] { v.at("ops").at("macs"); }), "r.json: ops: no key 'macs'; expected an object with it");
  EXPECT_EQ(error_of([&] { v.at("list").items()[1].number(); }), "r.json: list[1]: found a string; expected a number");
  EXPECT_EQ(error_of([&] { v.at("list").at("x"); }), "r.json: list: found an array; expected an object");
}

// ---------------------------------------------------------------------------- satvp runs

// The tiny CNN of test_files.h: a few seconds for all schemes.
std::string tiny_cnn() { return test::write_file("tiny_cnn.yaml", test::kTinyCnnWorkload); }

// A number's text in report.json after `"key": ` (the first occurrence after `after`).
std::string report_number(const std::string& report, const std::string& key, const std::string& after = "") {
  const std::size_t from = after.empty() ? 0 : report.find("\"" + after + "\"");
  const std::size_t at = report.find("\"" + key + "\": ", from);
  if (from == std::string::npos || at == std::string::npos) return "missing " + key;
  const std::size_t start = at + key.size() + 4;
  return report.substr(start, report.find_first_of(",}", start) - start);
}

// A CSV without quoted fields, as rows of column name -> field.
std::vector<std::map<std::string, std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream s(line);
    for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
    if (line.back() == ',') fields.emplace_back();
    if (header.empty()) {
      header = fields;
      continue;
    }
    EXPECT_EQ(fields.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

// The time bases of docs/paper-reproduction.md per training iteration, from report.json read
// with nlohmann's parser: STCE's busy cycles and the host's cycles in the training passes over
// the iterations done, and accelerator = iteration - host.
struct TimeBases {
  double iteration = 0, accel = 0, stce = 0, host = 0;
};
TimeBases time_bases(const std::string& report_text) {
  const nlohmann::json report = nlohmann::json::parse(report_text);
  double stce_cycles = 0, host_cycles = 0;
  for (const char* pass : {"FF", "BP", "WU", "WUVE", "OSRE"}) {
    stce_cycles += report["passes"][pass]["engines"]["STCE"]["busy_cycles"].get<double>();
    host_cycles += report["passes"][pass]["host_cycles"].get<double>();
  }
  const double per_iteration = report["sat_clock_hz"].get<double>() * report["iterations_done"].get<double>();
  TimeBases t;
  t.iteration = report["iteration_seconds"].get<double>();
  t.stce = stce_cycles / per_iteration;
  t.host = host_cycles / per_iteration;
  t.accel = t.iteration - t.host;
  EXPECT_GT(t.stce, 0);
  EXPECT_GT(t.host, 0);
  return t;
}

std::string fresh_dir(const std::string& name) {
  const fs::path dir = test::test_dir() / name;
  fs::remove_all(dir);
  return dir.string();
}

TEST(Compare, RunsEverySchemeAndTabulatesTheirReports) {
  const std::string out = fresh_dir("cmp");
  const test::Command c = test::run_command(test::kSatvp + " compare --workload " + tiny_cnn() + " --out " + out + " -j 2");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto rows = read_csv(fs::path(out) / "compare.csv");
  ASSERT_EQ(rows.size(), 4u) << c.output;
  const std::vector<std::string> schemes = {"dense", "srste", "sdgp", "bdwp"};
  std::ifstream json_file(fs::path(out) / "compare.json");
  const nlohmann::json json = nlohmann::json::parse(json_file);
  ASSERT_EQ(json["runs"].size(), 4u);
  TimeBases dense;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    SCOPED_TRACE(schemes[i]);
    EXPECT_EQ(row.at("scheme"), schemes[i]);
    EXPECT_EQ(row.at("status"), "finished");
    EXPECT_NE(c.output.find(schemes[i] + " done in "), std::string::npos) << c.output;
    const std::string report = test::read_file(fs::path(out) / schemes[i] / "report.json");
    EXPECT_NE(report.find("\"scheme\": \"" + schemes[i] + "\""), std::string::npos);
    // The same double prints as the same shortest text: the table holds the report's values.
    EXPECT_EQ(row.at("iteration_seconds"), report_number(report, "iteration_seconds"));
    EXPECT_EQ(row.at("gops_executed"), report_number(report, "gops_executed"));
    EXPECT_EQ(row.at("gops_dense_equivalent"), report_number(report, "gops_dense_equivalent"));
    EXPECT_EQ(row.at("stce_utilisation"), report_number(report, "utilisation", "STCE"));
    EXPECT_EQ(row.at("host_share"), report_number(report, "utilisation", "host"));
    // Per iteration: the run's MACs without evaluation's, over the iterations done.
    const double iterations = std::stod(report_number(report, "iterations_done"));
    const double macs = std::stod(report_number(report, "macs_executed")) - std::stod(report_number(report, "macs", "EVAL"));
    const double dense_macs = std::stod(report_number(report, "macs_dense_equivalent")) -
                              std::stod(report_number(report, "dense_macs", "EVAL"));
    EXPECT_DOUBLE_EQ(std::stod(row.at("macs_per_iteration")), macs / iterations);
    EXPECT_DOUBLE_EQ(std::stod(row.at("dense_macs_per_iteration")), dense_macs / iterations);
    EXPECT_GT(macs, 0);
    // The three time bases, each per training iteration, and the speed-up on each over dense.
    const TimeBases bases = time_bases(report);
    if (i == 0) dense = bases;
    EXPECT_NEAR(std::stod(row.at("accel_seconds")), bases.accel, 1e-12 * bases.accel);
    EXPECT_NEAR(std::stod(row.at("stce_seconds")), bases.stce, 1e-12 * bases.stce);
    EXPECT_NEAR(std::stod(row.at("host_seconds")), bases.host, 1e-12 * bases.host);
    const double speedups[3] = {dense.iteration / bases.iteration, dense.accel / bases.accel, dense.stce / bases.stce};
    EXPECT_NEAR(std::stod(row.at("iteration_speedup")), speedups[0], 1e-12);
    EXPECT_NEAR(std::stod(row.at("accel_speedup")), speedups[1], 1e-12);
    EXPECT_NEAR(std::stod(row.at("stce_speedup")), speedups[2], 1e-12);
    // compare.json holds the same numbers as the CSV.
    const nlohmann::json& run = json["runs"][i];
    EXPECT_EQ(run["scheme"], schemes[i]);
    for (const std::string key : {"iteration_seconds", "iteration_speedup", "accel_seconds", "accel_speedup",
                                  "stce_seconds", "stce_speedup", "host_seconds"})
      EXPECT_EQ(run[key].get<double>(), std::stod(row.at(key))) << key;
    // The console table shows the speed-up on each base, in that order.
    char speedup_text[3][16];
    for (int b = 0; b < 3; ++b) std::snprintf(speedup_text[b], sizeof speedup_text[b], "%.2fx", speedups[b]);
    const std::regex table_row("\\n  " + schemes[i] + " +finished +[0-9.]+ +" + speedup_text[0] + " +[0-9.]+ +" +
                               speedup_text[1] + " +[0-9.]+ +" + speedup_text[2] + " +[0-9.]+\\n");
    EXPECT_TRUE(std::regex_search(c.output, table_row)) << speedup_text[0] << " " << speedup_text[1] << " "
                                                        << speedup_text[2] << "\n" << c.output;
  }
  // tiny_cnn is no workload of the paper: nothing to hold it against.
  EXPECT_TRUE(json["paper"].is_array() && json["paper"].empty()) << json["paper"];
  EXPECT_EQ(c.output.find("paper:"), std::string::npos) << c.output;
  // Sparse schemes save more of STCE's time than of the whole iteration (the host's layers stay).
  EXPECT_GT(std::stod(rows[3].at("stce_speedup")), std::stod(rows[3].at("iteration_speedup")));
  EXPECT_EQ(rows[0].at("iteration_speedup"), "1");
  EXPECT_EQ(rows[0].at("stce_speedup"), "1");
  EXPECT_EQ(rows[0].at("baseline"), "dense");
  // Sparse training skips MACs: BDWP executes fewer than dense per iteration, for the same dense work.
  EXPECT_LT(std::stod(rows[3].at("macs_per_iteration")), std::stod(rows[0].at("macs_per_iteration")));
  EXPECT_EQ(rows[3].at("dense_macs_per_iteration"), rows[0].at("dense_macs_per_iteration"));
  EXPECT_EQ(json["baseline"], "dense");
}

TEST(Compare, WithoutDenseTheFirstSchemeIsTheBaseline) {
  const std::string out = fresh_dir("cmp");
  const test::Command c =
      test::run_command(test::kSatvp + " compare --workload " + tiny_cnn() + " --schemes bdwp,srste --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("over bdwp (the first scheme: dense is not in --schemes)"), std::string::npos) << c.output;
  const auto rows = read_csv(fs::path(out) / "compare.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("iteration_speedup"), "1");
  EXPECT_EQ(rows[0].at("accel_speedup"), "1");
  EXPECT_EQ(rows[0].at("stce_speedup"), "1");
  EXPECT_EQ(rows[1].at("baseline"), "bdwp");
}

// The paper's speed-ups go into compare.json for its own workloads in its configuration (2:8,
// batch 512, over dense), on the STCE and accelerator bases; the figures are the paper's text
// (Sec. IV: ResNet-18's training time reduced by 50.8 %), turned into speed-ups by hand.
TEST(Compare, PaperFiguresMarkThePapersWorkloadOnly) {
  const std::string resnet18 = std::string(CESTVP_SOURCE_DIR) + "/workloads/resnet18_tinyimagenet.yaml";
  const auto paper_of = [&](const std::string& args) {
    const std::string out = fresh_dir("cmp-paper");
    const test::Command c = test::run_command(test::kSatvp + " compare --workload " + resnet18 +
                                              " --set iterations=1 -j 2 --out " + out + " " + args);
    EXPECT_EQ(c.exit_code, 0) << c.output;
    std::ifstream file(fs::path(out) / "compare.json");
    return std::make_pair(nlohmann::json::parse(file)["paper"], c.output);
  };
  const auto [paper, output] = paper_of("--schemes dense,bdwp");
  ASSERT_EQ(paper.size(), 2u) << paper;
  const double resnet18_bdwp = 1 / (1 - 0.508);  // 2.0325...
  std::vector<std::string> bases;
  for (const nlohmann::json& p : paper) {
    EXPECT_EQ(p["scheme"], "bdwp");
    EXPECT_NEAR(p["speedup"].get<double>(), resnet18_bdwp, 1e-12);
    EXPECT_EQ(p["time_reduction_percent"].get<double>(), 50.8);
    EXPECT_NE(p["source"].get<std::string>().find("Sec. IV"), std::string::npos) << p;
    bases.push_back(p["base"]);
  }
  EXPECT_EQ(bases, (std::vector<std::string>{"accel", "stce"}));
  EXPECT_NE(output.find("paper: bdwp 2.03x over dense on STCE time"), std::string::npos) << output;
  // Not the paper's configuration, or not over dense: nothing to hold the runs against.
  EXPECT_TRUE(paper_of("--schemes dense,bdwp --set nm=1:8").first.empty());
  EXPECT_TRUE(paper_of("--schemes bdwp,srste").first.empty());
}

TEST(Compare, FailedRunsAreReportedWithTheirLogs) {
  const std::string out = fresh_dir("cmp");
  // A 1 us limit per engine job or DMA transfer fails the firmware of every run (exit 1).
  const test::Command c = test::run_command(test::kSatvp + " compare --workload " + tiny_cnn() +
                                            " --schemes dense,bdwp --set timeout=1us --out " + out);
  EXPECT_EQ(c.exit_code, 1) << c.output;
  for (const std::string scheme : {"dense", "bdwp"}) {
    EXPECT_NE(c.output.find("scheme=" + scheme + " FAILED (exit 1)"), std::string::npos) << c.output;
    EXPECT_NE(c.output.find("last lines of " + out + "/" + scheme + "/satvp.log:\n      | "), std::string::npos) << c.output;
  }
  const auto rows = read_csv(fs::path(out) / "compare.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].at("status"), "failed (exit 1)");
  EXPECT_EQ(rows[1].at("iteration_seconds"), "");  // the partial report's figures are no result
  for (const std::string key : {"iteration_speedup", "accel_seconds", "accel_speedup", "stce_seconds", "stce_speedup"})
    EXPECT_EQ(rows[1].at(key), "") << key;
}

TEST(Sweep, AFailedRunDoesNotStopTheOthers) {
  const std::string out = fresh_dir("sweep");
  const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + tiny_cnn() +
                                            " --param timeout=1us,1s -j 1 --out " + out);
  EXPECT_EQ(c.exit_code, 1) << c.output;
  EXPECT_NE(c.output.find("[1/2] timeout=1us FAILED (exit 1) in "), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("[2/2] timeout=1s done in "), std::string::npos) << c.output;
  const auto rows = read_csv(fs::path(out) / "sweep.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("status"), "failed (exit 1)");
  EXPECT_EQ(rows[0].at("iteration_seconds"), "");
  EXPECT_EQ(rows[1].at("status"), "finished");
  EXPECT_GT(std::stod(rows[1].at("iteration_seconds")), 0);
}

TEST(Sweep, SmallerArrayIsSlower) {
  const std::string out = fresh_dir("sweep");
  const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + tiny_cnn() +
                                            " --platform-param sat.array.rows=16,32 -j 2 --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto rows = read_csv(fs::path(out) / "sweep.csv");
  ASSERT_EQ(rows.size(), 2u) << c.output;
  EXPECT_EQ(rows[0].at("sat.array.rows"), "16");
  EXPECT_EQ(rows[1].at("sat.array.rows"), "32");
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("status"), "finished");
    const std::string report = test::read_file(fs::path(out) / row.at("run_dir") / "report.json");
    EXPECT_NE(report.find("\"array\": [" + row.at("sat.array.rows") + ", 32]"), std::string::npos) << report;
    EXPECT_EQ(row.at("iteration_seconds"), report_number(report, "iteration_seconds"));
    EXPECT_EQ(row.at("energy_j"), report_number(report, "total_j"));
  }
  EXPECT_GT(std::stod(rows[0].at("iteration_seconds")), std::stod(rows[1].at("iteration_seconds")));
}

TEST(Sweep, EmitSlurmWritesAJobArrayOfRunnableCommands) {
  const std::string out = fresh_dir("emit");
  const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + tiny_cnn() +
                                            " --param batch=8,16 --platform-param 'ddr.channel_bandwidth=9.6 GB/s,19.2 "
                                            "GB/s,38.4 GB/s' --emit slurm --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const std::string script = test::read_file(fs::path(out) / "sweep.slurm");
  EXPECT_NE(script.find("\n#SBATCH --array=0-5\n"), std::string::npos) << script;
  std::vector<std::string> commands;
  std::istringstream lines(test::read_file(fs::path(out) / "commands.txt"));
  for (std::string line; std::getline(lines, line);) commands.push_back(line);
  ASSERT_EQ(commands.size(), 6u);
  EXPECT_FALSE(fs::exists(fs::path(out) / "sweep.csv"));  // nothing ran

  // Run the last command as a Slurm task would, then collect: one finished run, five missing.
  const test::Command task = test::run_command("bash -c " + test::shell_quote(commands[5]));
  EXPECT_EQ(task.exit_code, 0) << task.output;
  const test::Command collect = test::run_command(test::kSatvp + " sweep --collect " + out);
  EXPECT_EQ(collect.exit_code, 1) << collect.output;
  const auto rows = read_csv(fs::path(out) / "sweep.csv");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[5].at("batch"), "16");
  EXPECT_EQ(rows[5].at("ddr.channel_bandwidth"), "38.4 GB/s");
  EXPECT_EQ(rows[5].at("status"), "finished");
  const std::string report = test::read_file(fs::path(out) / rows[5].at("run_dir") / "report.json");
  EXPECT_NE(report.find("\"batch\": 16,"), std::string::npos);
  EXPECT_NE(report.find("\"peak_Bps\": 1.536e+11"), std::string::npos);  // 4 channels x 38.4 GB/s
  EXPECT_EQ(rows[0].at("status"), "no report");
  EXPECT_EQ(rows[0].at("iteration_seconds"), "");
}

TEST(Sweep, EmitParallelWritesOnlyTheCommands) {
  const std::string out = fresh_dir("emit");
  const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + tiny_cnn() +
                                            " --param nm=2:8,1:8,4:8 --emit parallel --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("parallel --sshloginfile hosts -a " + out + "/commands.txt"), std::string::npos) << c.output;
  EXPECT_FALSE(fs::exists(fs::path(out) / "sweep.slurm"));
  std::istringstream lines(test::read_file(fs::path(out) / "commands.txt"));
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count)
    EXPECT_NE(line.find("'--set' 'nm="), std::string::npos) << line;
  EXPECT_EQ(count, 3u);
}

// ---------------------------------------------------------------------------- bad input

test::Command satvp(const std::string& args) { return test::run_command(test::kSatvp + " " + args); }

TEST(CompareErrors, BadSchemesExitWith2AndSayWhatIsValid) {
  const std::string w = " --workload " + tiny_cnn() + " --out " + fresh_dir("bad");
  test::Command c = satvp("compare --schemes dense,fast" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--schemes dense,fast: unknown scheme 'fast'; expected a comma-separated list of dense, "
                          "srste, sdgp, bdwp"),
            std::string::npos)
      << c.output;
  c = satvp("compare --schemes bdwp,dense,bdwp" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("'bdwp' is listed twice"), std::string::npos) << c.output;
  c = satvp("compare --set scheme=dense" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--set scheme=dense: compare sets the scheme of each run"), std::string::npos) << c.output;
  c = satvp("compare --set bach=4" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("no key 'bach' (did you mean 'batch'?)"), std::string::npos) << c.output;
}

TEST(SweepErrors, BadParametersExitWith2AndNameThem) {
  const std::string w = " --workload " + tiny_cnn() + " --out " + fresh_dir("bad");
  test::Command c = satvp("sweep --param batch" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--param batch: missing '='; expected key=value1,value2,..."), std::string::npos) << c.output;
  c = satvp("sweep --param batch=8,,16" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--param batch=8,,16: empty value"), std::string::npos) << c.output;
  c = satvp("sweep --platform-param sat.array.rowz=16,32" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--platform-param sat.array.rowz=16: sat.array has no key 'rowz' (did you mean 'rows'?)"),
            std::string::npos)
      << c.output;
  c = satvp("sweep --platform-param sat.array.rows=16,abc" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("sweep run 1 (sat.array.rows=abc): "), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("sat.array.rows: 'abc' is not an integer"), std::string::npos) << c.output;
  c = satvp("sweep --param batch=8 --set batch=16" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--param batch=8: the key is also set by --set batch=16"), std::string::npos) << c.output;
  c = satvp("sweep" + w);
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("nothing to sweep"), std::string::npos) << c.output;
  c = satvp("sweep --collect " + fresh_dir("nothing"));
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("no plan.json; expected the output directory of a satvp sweep"), std::string::npos) << c.output;
}

// The plots are drawn by the Python the build found with matplotlib, not by whatever python3
// comes first on the user's PATH: here a python3 without site-packages (as a pyenv or conda
// Python without matplotlib would be) is put first.
TEST(Compare, PlotsAreDrawnWhenABarePythonComesFirstOnPath) {
  if (std::string(CESTVP_PLOT_PYTHON) == "python3") GTEST_SKIP() << "the build found no Python with matplotlib";
  const fs::path bin = fresh_dir("bare-python");
  fs::create_directories(bin);
  const fs::path bare = bin / "python3";
  std::ofstream(bare) << "#!/bin/sh\nexec " CESTVP_PLOT_PYTHON " -S \"$@\"\n";
  fs::permissions(bare, fs::perms::owner_all);
  ASSERT_NE(test::run_command(bare.string() + " -c 'import matplotlib'").exit_code, 0) << "the bare Python has matplotlib";
  const std::string out = fresh_dir("cmp-plots");
  const test::Command c = test::run_command("PATH=" + bin.string() + ":$PATH " + test::kSatvp + " compare --workload " +
                                            tiny_cnn() + " --schemes dense,bdwp --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("plots               " + (fs::path(out) / "compare.png").string()), std::string::npos)
      << c.output;
  EXPECT_TRUE(fs::is_regular_file(fs::path(out) / "compare.png")) << c.output;
}

}  // namespace
}  // namespace cestvp
