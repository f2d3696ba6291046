// satvp host-costs and the firmware's host cost probe (fw::Program::host_costs), and the platform
// files in yaml/. The expected figures come from the platform YAML as yaml-cpp reads it, not
// from load_platform_config: on the native core the probe must measure exactly what the table
// charges, kind by kind; on the RV64 core it measures instructions, which must be positive, and
// its host_cost: section must make a platform file that loads and that the native core then
// reproduces.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "satvp_command.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace cestvp;
using test::kSatvp;
using test::kSource;
using test::run_command;

namespace {

const std::string kDefault = kSource + "/yaml/vcu1525.yaml";
const std::string kScalar = kSource + "/yaml/vcu1525_scalar_host.yaml";
const std::vector<std::string> kFields = {"input", "elementwise", "pool", "softmax", "reduce", "nm_decode"};

// A row of the per-kind table: "batchnorm_backward   143.88  4 x reduce   4   16384 -> 49152  ...".
struct KindRow {
  std::string kind, field;
  double measured = 0, assumed = 0;
  unsigned multiple = 1;
};

std::vector<KindRow> kind_rows(const std::string& output) {
  static const std::regex row(R"(^(\w+) +([-0-9.e+naif]+) +(?:(\d+) x )?([a-z_]+) +([0-9.]+) +\d+ -> \d+ )");
  std::vector<KindRow> rows;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    rows.push_back({m[1], m[4], std::stod(m[2]), std::stod(m[5]), m[3].matched ? unsigned(std::stoul(m[3])) : 1u});
  }
  return rows;
}

// host_cost as yaml-cpp reads it from a platform file (numbers without units).
std::map<std::string, double> host_cost_of(const std::string& path) {
  const YAML::Node node = YAML::LoadFile(path)["host_cost"];
  std::map<std::string, double> costs;
  for (const std::string& f : kFields) costs[f] = node[f].as<double>();
  return costs;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The platform file with its host_cost: block (the key line and its indented lines) replaced.
std::string splice_host_cost(const std::string& platform, const std::string& section) {
  const std::size_t start = platform.find("\nhost_cost:");
  EXPECT_NE(start, std::string::npos);
  std::size_t end = platform.find('\n', start + 1);
  while (end != std::string::npos && platform.compare(end + 1, 2, "  ") == 0) end = platform.find('\n', end + 1);
  return platform.substr(0, start + 1) + section + platform.substr(end == std::string::npos ? platform.size() : end + 1);
}

// Every kind measured exactly what the platform's table charges it: multiple x its field.
void expect_native_reproduces(const std::string& platform) {
  const std::string out = (test::test_dir() / (fs::path(platform).stem().string() + "_native.yaml")).string();
  const test::Command c = run_command(kSatvp + " host-costs --cpu native --platform " + platform + " --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const std::map<std::string, double> table = host_cost_of(platform);
  const std::vector<KindRow> rows = kind_rows(c.output);
  ASSERT_GE(rows.size(), 25u) << c.output;
  std::set<std::string> fields;
  for (const KindRow& r : rows) {
    ASSERT_TRUE(table.count(r.field)) << r.kind << " is charged at an unknown field " << r.field;
    const double charged = r.multiple * table.at(r.field);
    EXPECT_NEAR(r.measured, charged, 0.006) << r.kind << " (" << r.multiple << " x " << r.field << ") on " << platform;
    EXPECT_NEAR(r.assumed, charged, 0.006) << r.kind;
    fields.insert(r.field);
  }
  EXPECT_EQ(fields.size(), kFields.size()) << "every host_cost field has a kind charged at it";
  const std::map<std::string, double> written = host_cost_of(out);
  for (const std::string& f : kFields) EXPECT_NEAR(written.at(f), table.at(f), 0.006) << f;
}

}  // namespace

TEST(HostCosts, NativeCoreReproducesTheAssumedTable) { expect_native_reproduces(kDefault); }

// Fractional figures too: the scalar table's.
TEST(HostCosts, NativeCoreReproducesTheScalarTable) { expect_native_reproduces(kScalar); }

TEST(HostCosts, Rv64CoreMeasuresInstructionsAndWritesAPlatformSection) {
  const std::string out = (test::test_dir() / "rv64.yaml").string();
  const test::Command c = run_command(kSatvp + " host-costs --platform " + kDefault + " --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("on the RV64 core (CPI 1, host clock 1 GHz)"), std::string::npos) << c.output;
  const std::vector<KindRow> rows = kind_rows(c.output);
  ASSERT_GE(rows.size(), 25u) << c.output;
  for (const KindRow& r : rows) {
    EXPECT_TRUE(std::isfinite(r.measured)) << r.kind;
    // A scalar core loads, converts and stores every element: at least one instruction each.
    EXPECT_GE(r.measured, 1.0) << r.kind;
  }

  const std::string section = read_text(out);
  for (const std::string& f : kFields)
    EXPECT_NE(section.find("  " + f + ": "), std::string::npos) << f << " missing:\n" << section;
  EXPECT_NE(section.find("# [measured] satvp host-costs on the RV64 core, CPI 1: "), std::string::npos) << section;
  const std::map<std::string, double> measured = host_cost_of(out);
  const std::string spliced = test::write_file("spliced.yaml", splice_host_cost(read_text(kDefault), section));
  const PlatformConfig config = load_platform_config(spliced);
  const fw::HostCosts& h = config.host_cost;
  const double loaded[] = {h.input, h.elementwise, h.pool, h.softmax, h.reduce, h.nm_decode};
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    EXPECT_GT(loaded[i], 0) << kFields[i];
    EXPECT_DOUBLE_EQ(loaded[i], measured.at(kFields[i])) << kFields[i];
  }
  // The spliced platform on the native core charges what the RV64 core measured.
  expect_native_reproduces(spliced);
}

TEST(HostCosts, RejectsAnOutputThatIsADirectory) {
  const test::Command c = run_command(kSatvp + " host-costs --cpu native --out " + test::test_dir().string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("--out " + test::test_dir().string() + ": "), std::string::npos) << c.output;
}

// Every platform file shipped in yaml/ loads (regmap.yaml is the register map, not a platform).
TEST(PlatformFiles, EveryPlatformYamlLoads) {
  std::set<std::string> platforms;
  for (const auto& entry : fs::directory_iterator(kSource + "/yaml")) {
    if (entry.path().extension() != ".yaml" || !YAML::LoadFile(entry.path().string())["clocks"]) continue;
    platforms.insert(entry.path().filename().string());
    EXPECT_NO_THROW(load_platform_config(entry.path().string())) << entry.path();
  }
  EXPECT_TRUE(platforms.count("vcu1525.yaml") && platforms.count("vcu1525_scalar_host.yaml")) << platforms.size();
}

// The scalar-host platform is the default one with another host_cost table: nothing else drifts.
TEST(PlatformFiles, ScalarHostDiffersFromTheDefaultOnlyInHostCost) {
  PlatformConfig scalar = load_platform_config(kScalar);
  const PlatformConfig base = load_platform_config(kDefault);
  EXPECT_GT(scalar.host_cost.elementwise, base.host_cost.elementwise);
  EXPECT_EQ(scalar.host.cpu, PlatformConfig::Host::Cpu::native);
  scalar.host_cost = base.host_cost;
  scalar.source = base.source;
  EXPECT_EQ(to_yaml(scalar), to_yaml(base));
}
