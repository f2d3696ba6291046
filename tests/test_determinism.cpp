// The same workload, platform and seed give the same run: two satvp processes write
// byte-identical files (report.json and training.json apart from their wall-clock fields, which
// are kept apart for this), the same final weights and snapshots, the same VCD, transaction
// log and timeline. Separate processes, so that address-space layout, allocation order or
// uninitialised memory would show as a difference.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "report/run_dir.h"
#include "satvp_command.h"

namespace fs = std::filesystem;
using cestvp::test::kSatvp;
using cestvp::test::kSource;
using cestvp::test::run_command;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// report.json keeps wall-clock figures in its "wall" object; training.json in *wall* and
// *load_seconds* fields; GTKWave's save file names the files of its run directory. Everything
// else must match.
std::string comparable(const fs::path& file, std::string text, const fs::path& run_dir = {}) {
  if (file.filename() == "trace.gtkw") return std::regex_replace(text, std::regex(run_dir.string()), "RUN");
  if (file.filename() == "report.json") return std::regex_replace(text, std::regex("\n  \"wall\": \\{[^}]*\\}"), "");
  if (file.filename() == "training.json")
    return std::regex_replace(text, std::regex("\n  \"(wall_seconds|load_seconds)\": [^\n]*"), "");
  return text;
}

// The files a run wrote; not the lock file, which names the process that held the directory.
std::set<fs::path> files_under(const fs::path& dir) {
  std::set<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != cestvp::RunDirLock::kFileName)
      files.insert(fs::relative(entry.path(), dir));
  return files;
}

void expect_identical_runs(const std::string& name, const std::string& options, bool weights) {
  const fs::path base = fs::path(CESTVP_BINARY_DIR) / "test-runs" / ("determinism-" + name);
  fs::remove_all(base);
  for (const char* run : {"a", "b"}) {
    const fs::path out = base / run;
    const cestvp::test::Command c =
        run_command(kSatvp + " run " + options + " --out " + out.string() + " --vcd " + (out / "trace.vcd").string() +
                    " --trace-log " + (out / "trace.log").string() + " --timeline " + (out / "timeline.json").string());
    ASSERT_EQ(c.exit_code, 0) << c.output;
  }
  const std::set<fs::path> files = files_under(base / "a");
  EXPECT_EQ(files, files_under(base / "b"));
  for (const char* expected : {"report.json", "trace.vcd", "trace.log", "timeline.json", "metrics.csv"})
    EXPECT_TRUE(files.count(expected)) << expected;
  EXPECT_EQ(weights, std::any_of(files.begin(), files.end(), [](const fs::path& f) {
              return f.parent_path() == "weights" && f.extension() == ".npy";
            }));
  for (const fs::path& file : files) {
    const std::string a = comparable(file, read_text(base / "a" / file), base / "a");
    const std::string b = comparable(file, read_text(base / "b" / file), base / "b");
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_TRUE(a == b) << file << " differs between the two runs";
  }
}

}  // namespace

TEST(Determinism, FunctionalTrainingRunsAreByteIdentical) {
  expect_identical_runs("functional", "--workload " + kSource +
                                          "/workloads/fashion_mnist_mlp.yaml --set dataset.name=synthetic "
                                          "--set iterations=20 --set eval_interval=10 --set eval_samples=0",
                        true);
}

TEST(Determinism, TimingModeRunsOfAResidualNetworkAreByteIdentical) {
  expect_identical_runs("timing", "--workload " + kSource + "/workloads/resnet9_cifar10.yaml --mode timing "
                                  "--set iterations=1 --set batch=16 --set eval_samples=16",
                        false);  // a timing run computes no weights
}

// The comparison above can fail: the filter drops wall-clock fields and nothing else.
TEST(Determinism, OnlyWallClockFieldsAreIgnored) {
  const std::string report = "{\n  \"a\": 1,\n  \"wall\": {\"seconds\": 0.5, \"load_seconds\": 0.1}\n}";
  EXPECT_EQ(comparable("report.json", report), "{\n  \"a\": 1,\n}");
  EXPECT_EQ(comparable("metrics.csv", report), report);
  EXPECT_EQ(comparable("trace.gtkw", "[dumpfile] \"/x/a/trace.vcd\"", "/x/a"), "[dumpfile] \"RUN/trace.vcd\"");
}
