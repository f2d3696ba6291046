// The register map is generated from yaml/regmap.yaml. These tests read the YAML independently
// of regmap-gen and check the models' tables, the firmware header and the committed document
// against it, and check that mistakes in a spec are reported as FILE:LINE errors.
#include <sys/wait.h>
#include <unistd.h>

#include <cestvp/regs.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "regmap_tables.h"

namespace {

namespace fs = std::filesystem;
namespace regs = cestvp::regs;
namespace regmap = cestvp::regmap;
using cestvp::Access;
using cestvp::BlockSpec;
using cestvp::RegSpec;

const YAML::Node& spec() {
  static const YAML::Node root = YAML::LoadFile(CESTVP_SOURCE_DIR "/yaml/regmap.yaml");
  return root;
}

YAML::Node named(const YAML::Node& list, const std::string& name) {
  for (const YAML::Node& item : list)
    if (item["name"].as<std::string>() == name) return item;
  ADD_FAILURE() << "no entry named " << name << " in yaml/regmap.yaml";
  return YAML::Node();
}

YAML::Node yaml_reg(const std::string& block, const std::string& reg) {
  return named(named(spec()["blocks"], block)["registers"], reg);
}

YAML::Node yaml_field(const std::string& block, const std::string& reg, const std::string& field) {
  return named(yaml_reg(block, reg)["fields"], field);
}

struct Bits {
  std::uint32_t shift;
  std::uint32_t mask;
};

Bits yaml_bits(const std::string& block, const std::string& reg, const std::string& field) {
  const std::string bits = yaml_field(block, reg, field)["bits"].as<std::string>();
  const std::size_t colon = bits.find(':');
  const std::uint32_t lsb = std::stoul(colon == std::string::npos ? bits : bits.substr(colon + 1));
  const std::uint32_t msb = std::stoul(bits.substr(0, colon));
  return {lsb, static_cast<std::uint32_t>(((std::uint64_t{1} << (msb - lsb + 1)) - 1) << lsb)};
}

std::uint32_t yaml_enum(const std::string& block, const std::string& reg, const std::string& field,
                        const std::string& value) {
  return yaml_field(block, reg, field)["enum"][value].as<std::uint32_t>();
}

const RegSpec& table_reg(const BlockSpec& block, const std::string& name) {
  for (std::size_t i = 0; i < block.count; ++i)
    if (block.regs[i].name == name) return block.regs[i];
  ADD_FAILURE() << "no register " << name << " in the table of block " << block.name;
  static const RegSpec missing{"", 0, Access::RW, 0, ""};
  return missing;
}

Access access_of(const std::string& text) {
  static const std::map<std::string, Access> modes{
      {"RW", Access::RW}, {"RO", Access::RO}, {"WO", Access::WO}, {"W1C", Access::W1C}};
  return modes.at(text);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RegmapTables, EveryRegisterMatchesTheYaml) {
  const std::map<std::string, const BlockSpec*> tables{
      {"dma", &regmap::dma}, {"irqc", &regmap::irqc}, {"sat", &regmap::sat}, {"host_local", &regmap::host_local}};
  ASSERT_EQ(spec()["blocks"].size(), tables.size());
  for (const YAML::Node& block : spec()["blocks"]) {
    const BlockSpec& table = *tables.at(block["name"].as<std::string>());
    EXPECT_EQ(table.name, block["name"].as<std::string>());
    ASSERT_EQ(table.count, block["registers"].size()) << table.name;
    for (std::size_t i = 0; i < table.count; ++i) {
      const YAML::Node reg = block["registers"][i];
      const RegSpec& entry = table.regs[i];
      SCOPED_TRACE(std::string(table.name) + "." + entry.name);
      EXPECT_EQ(entry.name, reg["name"].as<std::string>());
      EXPECT_EQ(entry.offset, reg["offset"].as<std::uint32_t>());
      EXPECT_EQ(entry.access, access_of(reg["access"].as<std::string>()));
      EXPECT_EQ(entry.reset, reg["reset"].as<std::uint32_t>());
      EXPECT_NE(std::string(entry.description), "");
    }
  }
}

TEST(RegsHeader, DmaConstantsMatchTheTableAndYaml) {
  EXPECT_EQ(regs::dma::SRC_LO, table_reg(regmap::dma, "SRC_LO").offset);
  EXPECT_EQ(regs::dma::CTRL, table_reg(regmap::dma, "CTRL").offset);
  EXPECT_EQ(regs::dma::START, table_reg(regmap::dma, "START").offset);
  EXPECT_EQ(regs::dma::IRQ_STATUS, table_reg(regmap::dma, "IRQ_STATUS").offset);
  EXPECT_EQ(regs::dma::DESC_DONE, table_reg(regmap::dma, "DESC_DONE").offset);
  EXPECT_EQ(regs::dma::ROWS_RESET, table_reg(regmap::dma, "ROWS").reset);
  EXPECT_EQ(regs::dma::BLOCK_BYTES, regmap::dma.regs[regmap::dma.count - 1].offset + 4);

  EXPECT_EQ(regs::dma::CTRL_MODE_SHIFT, yaml_bits("dma", "CTRL", "MODE").shift);
  EXPECT_EQ(regs::dma::CTRL_MODE_MASK, yaml_bits("dma", "CTRL", "MODE").mask);
  EXPECT_EQ(regs::dma::CTRL_IRQ_DONE_EN_MASK, yaml_bits("dma", "CTRL", "IRQ_DONE_EN").mask);
  EXPECT_EQ(regs::dma::STATUS_STATE_SHIFT, yaml_bits("dma", "STATUS", "STATE").shift);
  EXPECT_EQ(regs::dma::STATUS_STATE_MASK, yaml_bits("dma", "STATUS", "STATE").mask);
  EXPECT_EQ(regs::dma::ERROR_CODE_CAUSE_MASK, yaml_bits("dma", "ERROR_CODE", "CAUSE").mask);

  EXPECT_EQ(static_cast<std::uint32_t>(regs::dma::CtrlMode::CHAIN), yaml_enum("dma", "CTRL", "MODE", "CHAIN"));
  EXPECT_EQ(static_cast<std::uint32_t>(regs::dma::StatusState::WRITE),
            yaml_enum("dma", "STATUS", "STATE", "WRITE"));
  EXPECT_EQ(static_cast<std::uint32_t>(regs::dma::ErrorCodeCause::START_WHILE_BUSY),
            yaml_enum("dma", "ERROR_CODE", "CAUSE", "START_WHILE_BUSY"));
}

TEST(RegsHeader, IrqcConstantsMatchTheTable) {
  EXPECT_EQ(regs::irqc::RAW, table_reg(regmap::irqc, "RAW").offset);
  EXPECT_EQ(regs::irqc::ENABLE, table_reg(regmap::irqc, "ENABLE").offset);
  EXPECT_EQ(regs::irqc::PENDING, table_reg(regmap::irqc, "PENDING").offset);
  EXPECT_EQ(regs::irqc::ACK, table_reg(regmap::irqc, "ACK").offset);
  EXPECT_EQ(regs::irqc::ENABLE_RESET, table_reg(regmap::irqc, "ENABLE").reset);
  EXPECT_EQ(regs::irqc::BLOCK_BYTES, regmap::irqc.regs[regmap::irqc.count - 1].offset + 4);
}

TEST(RegsHeader, SatConstantsMatchTheTableAndYaml) {
  EXPECT_EQ(regs::sat::ID, table_reg(regmap::sat, "ID").offset);
  EXPECT_EQ(regs::sat::ID_RESET, table_reg(regmap::sat, "ID").reset);
  EXPECT_EQ(regs::sat::VERSION_RESET, table_reg(regmap::sat, "VERSION").reset);
  EXPECT_EQ(regs::sat::SCRATCH, table_reg(regmap::sat, "SCRATCH").offset);
  EXPECT_EQ(regs::sat::VERSION_MAJOR_SHIFT, yaml_bits("sat", "VERSION", "MAJOR").shift);
  EXPECT_EQ(regs::sat::VERSION_MAJOR_MASK, yaml_bits("sat", "VERSION", "MAJOR").mask);
  EXPECT_EQ(regs::sat::ARRAY_COLS_MASK, yaml_bits("sat", "ARRAY", "COLS").mask);
  EXPECT_EQ(regs::sat::BLOCK_BYTES, regmap::sat.regs[regmap::sat.count - 1].offset + 4);
}

TEST(RegsHeader, DmaDescriptorMatchesTheYaml) {
  const YAML::Node desc = named(spec()["structs"], "dma_desc");
  const auto offset = [&](const char* field) { return named(desc["fields"], field)["offset"].as<std::uint32_t>(); };
  const auto bytes = [&](const char* field) { return named(desc["fields"], field)["bytes"].as<std::uint32_t>(); };
  EXPECT_EQ(regs::dma_desc::SIZE, desc["size"].as<std::uint32_t>());
  EXPECT_EQ(regs::dma_desc::SRC, offset("SRC"));
  EXPECT_EQ(regs::dma_desc::SRC_BYTES, bytes("SRC"));
  EXPECT_EQ(regs::dma_desc::ROWS, offset("ROWS"));
  EXPECT_EQ(regs::dma_desc::NEXT, offset("NEXT"));
  EXPECT_EQ(regs::dma_desc::NEXT_BYTES, bytes("NEXT"));
}

TEST(RegmapDoc, CommittedCopyIsCurrent) {
  const std::string committed = read_text(CESTVP_SOURCE_DIR "/docs/regmap.md");
  const std::string generated = read_text(CESTVP_BINARY_DIR "/generated/docs/regmap.md");
  ASSERT_NE(generated, "");
  EXPECT_EQ(committed, generated) << "docs/regmap.md is out of date: run cmake --build build --target regmap-doc";
}

// Runs regmap-gen on a spec written to a fresh directory; gives its exit code and stderr.
class RegmapGen : public ::testing::Test {
 protected:
  fs::path dir() const {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "_" + test->name();
    std::replace(name.begin(), name.end(), '/', '_');
    return fs::temp_directory_path() / ("cestvp_regmap_" + std::to_string(::getpid()) + "_" + name);
  }

  void SetUp() override {
    fs::remove_all(dir());
    fs::create_directories(dir());
  }
  void TearDown() override { fs::remove_all(dir()); }

  fs::path spec_path() const { return dir() / "spec.yaml"; }

  int run(const std::string& yaml) {
    std::ofstream(spec_path()) << yaml;
    const std::string command = "'" CESTVP_BINARY_DIR "/tools/regmap-gen' '" + spec_path().string() + "' '" +
                                (dir() / "out").string() + "' 2> '" + (dir() / "stderr").string() + "'";
    const int status = std::system(command.c_str());
    errors = read_text(dir() / "stderr");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string errors;
};

// Lines 1-5; a test appends from line 6 on.
const std::string kValidSpec = R"(blocks:
  - name: blk
    description: Test block.
    registers:
      - {name: A, offset: 0x00, access: RW, reset: 0, description: "A."}
)";

TEST_F(RegmapGen, WritesAllOutputsForAValidSpec) {
  ASSERT_EQ(run(kValidSpec), 0) << errors;
  EXPECT_EQ(errors, "");
  for (const char* file : {"firmware/cestvp/regs.h", "models/regmap_tables.h", "models/regmap_tables.cpp",
                           "docs/regmap.md"})
    EXPECT_TRUE(fs::exists(dir() / "out" / file)) << file;
}

struct BadSpec {
  const char* name;
  std::string yaml;  // appended to kValidSpec
  int line;
  std::string says;  // part of the message
};

// Names the case in gtest's messages instead of dumping its bytes.
void PrintTo(const BadSpec& bad, std::ostream* out) { *out << bad.name; }

class RegmapGenRejects : public RegmapGen, public ::testing::WithParamInterface<BadSpec> {};

TEST_P(RegmapGenRejects, NamingFileLineAndProblem) {
  const BadSpec& bad = GetParam();
  EXPECT_EQ(run(kValidSpec + bad.yaml), 1) << "exit code 1 for a spec error, not a crash";
  EXPECT_EQ(errors.rfind(spec_path().string() + ":" + std::to_string(bad.line) + ":", 0), 0u) << errors;
  EXPECT_NE(errors.find(bad.says), std::string::npos) << errors;
}

const std::string kRegisterWithFields = R"(      - name: B
        offset: 0x04
        access: RW
        reset: 0
        description: "B."
        fields:
          - {name: X, bits: "3:0", description: "X."}
)";

INSTANTIATE_TEST_SUITE_P(
    Mistakes, RegmapGenRejects,
    ::testing::Values(
        BadSpec{"MisalignedOffset", "      - {name: B, offset: 0x06, access: RO, reset: 0, description: \"B.\"}\n",
                6, "offset 0x06 of register B is not a multiple of 4"},
        BadSpec{"DescendingOffset", "      - {name: B, offset: 0x00, access: RO, reset: 0, description: \"B.\"}\n",
                6, "offsets must be unique and ascending"},
        BadSpec{"UnknownKey", "      - {name: B, offset: 0x04, acess: RO, reset: 0, description: \"B.\"}\n", 6,
                "unknown key 'acess' in register B; allowed keys: name, offset, access"},
        BadSpec{"MissingOffset", "      - {name: B, access: RO, reset: 0, description: \"B.\"}\n", 6,
                "register B has no 'offset'"},
        BadSpec{"BadAccess", "      - {name: B, offset: 0x04, access: RX, reset: 0, description: \"B.\"}\n", 6,
                "access 'RX' of register B is not one of RW, RO, WO, W1C"},
        BadSpec{"DuplicateRegister", "      - {name: A, offset: 0x04, access: RO, reset: 0, description: \"B.\"}\n",
                6, "register A is defined twice (first at line 5)"},
        BadSpec{"OverlappingFields", kRegisterWithFields + "          - {name: Y, bits: \"4:3\", description: \"Y.\"}\n",
                13, "bits 4:3 of field B.Y overlap field X (bits 3:0)"},
        BadSpec{"DuplicateField", kRegisterWithFields + "          - {name: X, bits: \"5\", description: \"X.\"}\n", 13,
                "field B.X is defined twice"},
        BadSpec{"BitOutOfRange", kRegisterWithFields + "          - {name: Y, bits: \"32\", description: \"Y.\"}\n", 13,
                "bit numbers in 0..31"},
        BadSpec{"EnumTooWide",
                kRegisterWithFields + "          - {name: Y, bits: \"5:4\", description: \"Y.\", enum: {P: 0, Q: 4}}\n",
                13, "enum value Q = 4 does not fit in the 2-bit field B.Y"},
        BadSpec{"ResetOutsideFields", "      - {name: B, offset: 0x04, access: RO, reset: 0x1FFFFFFFF, description: \"B.\"}\n",
                6, "reset of register B is 0x1FFFFFFFF"},
        BadSpec{"StructFieldsOverlap", R"(structs:
  - name: desc
    description: "D."
    size: 8
    fields:
      - {name: P, offset: 0, bytes: 4, description: "P."}
      - {name: Q, offset: 2, bytes: 4, description: "Q."}
)",
                12, "field desc.Q (bytes 2..5) overlaps"},
        BadSpec{"YamlSyntax", "      - {name: B, offset: 0x04, access: RO, reset: 0, description: \"B.\"}}\n", 6,
                "YAML syntax error"}),
    [](const ::testing::TestParamInfo<BadSpec>& test) { return std::string(test.param.name); });

}  // namespace
