// The register map is generated from yaml/regmap.yaml. These tests read the YAML independently
// of regmap-gen (expanding group instances with their own small reader) and check the models'
// tables, the firmware header, its field accessors and the committed document against it, and
// check that mistakes in a spec are reported as FILE:LINE errors.
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
#include <type_traits>
#include <vector>

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
    if (item["name"] && item["name"].as<std::string>() == name) return item;
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

Bits yaml_bits_of(const YAML::Node& reg, const std::string& field) {
  const std::string bits = named(reg["fields"], field)["bits"].as<std::string>();
  const std::size_t colon = bits.find(':');
  const std::uint32_t lsb = std::stoul(colon == std::string::npos ? bits : bits.substr(colon + 1));
  const std::uint32_t msb = std::stoul(bits.substr(0, colon));
  return {lsb, static_cast<std::uint32_t>(((std::uint64_t{1} << (msb - lsb + 1)) - 1) << lsb)};
}

Bits yaml_bits(const std::string& block, const std::string& reg, const std::string& field) {
  return yaml_bits_of(yaml_reg(block, reg), field);
}

std::uint32_t yaml_enum(const std::string& block, const std::string& reg, const std::string& field,
                        const std::string& value) {
  return yaml_field(block, reg, field)["enum"][value].as<std::uint32_t>();
}

// Descriptions are compared as regmap-gen prints them: runs of white space folded to one space.
std::string folded(const std::string& text) {
  std::istringstream words(text);
  std::string word, out;
  while (words >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

// A register as the block's list has it once group instances are expanded.
struct FlatReg {
  std::string name;
  std::uint32_t offset;
  std::string access;
  std::uint32_t reset;
  std::string description;
};

// {instance} and the instance's vars, filled into a group register's description.
std::string filled(std::string text, const YAML::Node& instance) {
  std::map<std::string, std::string> values{{"instance", instance["instance"].as<std::string>()}};
  if (instance["vars"])
    for (const auto& var : instance["vars"]) values[var.first.as<std::string>()] = var.second.as<std::string>();
  for (const auto& [name, value] : values)
    for (std::size_t at = text.find("{" + name + "}"); at != std::string::npos; at = text.find("{" + name + "}"))
      text.replace(at, name.size() + 2, value);
  return text;
}

// The block's registers in list order; an instance {instance: X, of: g, base: b} stands for the
// registers of group g, named X_<name>, at b + their offset.
std::vector<FlatReg> flat_registers(const YAML::Node& block) {
  std::vector<FlatReg> out;
  for (const YAML::Node& item : block["registers"]) {
    if (!item["instance"]) {
      out.push_back({item["name"].as<std::string>(), item["offset"].as<std::uint32_t>(),
                     item["access"].as<std::string>(), item["reset"].as<std::uint32_t>(),
                     folded(item["description"].as<std::string>())});
      continue;
    }
    const std::string prefix = item["instance"].as<std::string>() + "_";
    const std::uint32_t base = item["base"].as<std::uint32_t>();
    for (const YAML::Node& reg : named(block["groups"], item["of"].as<std::string>())["registers"])
      out.push_back({prefix + reg["name"].as<std::string>(), base + reg["offset"].as<std::uint32_t>(),
                     reg["access"].as<std::string>(), reg["reset"].as<std::uint32_t>(),
                     folded(filled(reg["description"].as<std::string>(), item))});
  }
  return out;
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
    const std::vector<FlatReg> registers = flat_registers(block);
    ASSERT_EQ(table.count, registers.size()) << table.name;
    for (std::size_t i = 0; i < table.count; ++i) {
      const FlatReg& reg = registers[i];
      const RegSpec& entry = table.regs[i];
      SCOPED_TRACE(std::string(table.name) + "." + entry.name);
      EXPECT_EQ(entry.name, reg.name);
      EXPECT_EQ(entry.offset, reg.offset);
      EXPECT_EQ(entry.access, access_of(reg.access));
      EXPECT_EQ(entry.reset, reg.reset);
      EXPECT_EQ(entry.description, reg.description);
      EXPECT_EQ(std::string(entry.description).find('{'), std::string::npos) << "a placeholder was not filled in";
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

// The engines' common registers are written once, as group `engine`; each engine is an instance
// at its base. Every instance register sits at base + group offset, in the table and the header.
TEST(RegmapGroups, EngineInstancesSitAtBasePlusGroupOffset) {
  const YAML::Node sat = named(spec()["blocks"], "sat");
  const YAML::Node group = named(sat["groups"], "engine");
  const std::map<std::string, std::uint32_t> header_bases{
      {"STCE", regs::sat::STCE_BASE}, {"OSRE", regs::sat::OSRE_BASE}, {"WUVE", regs::sat::WUVE_BASE}};
  std::map<std::string, std::uint32_t> yaml_bases;
  for (const YAML::Node& item : sat["registers"])
    if (item["instance"]) {
      EXPECT_EQ(item["of"].as<std::string>(), "engine");
      yaml_bases[item["instance"].as<std::string>()] = item["base"].as<std::uint32_t>();
    }
  EXPECT_EQ(yaml_bases, header_bases);
  EXPECT_EQ(yaml_bases, (std::map<std::string, std::uint32_t>{{"STCE", 0x100}, {"OSRE", 0x200}, {"WUVE", 0x300}}))
      << "the engines' register windows moved";
  ASSERT_EQ(group["registers"].size(), 16u);
  for (const auto& [instance, base] : yaml_bases)
    for (const YAML::Node& reg : group["registers"]) {
      const std::string name = instance + "_" + reg["name"].as<std::string>();
      EXPECT_EQ(table_reg(regmap::sat, name).offset, base + reg["offset"].as<std::uint32_t>()) << name;
    }

  // The group's offsets in the header, and an instance register by name equals base + offset.
  const auto group_offset = [&](const char* reg) { return named(group["registers"], reg)["offset"].as<std::uint32_t>(); };
  namespace e = regs::sat::engine;
  EXPECT_EQ(e::START, group_offset("START"));
  EXPECT_EQ(e::STATUS, group_offset("STATUS"));
  EXPECT_EQ(e::ERROR, group_offset("ERROR"));
  EXPECT_EQ(e::JOBS, group_offset("JOBS"));
  EXPECT_EQ(e::BUSY_CYCLES_LO, group_offset("BUSY_CYCLES_LO"));
  EXPECT_EQ(e::STALL_CYCLES_LO, group_offset("STALL_CYCLES_LO"));
  EXPECT_EQ(e::OPS_LO, group_offset("OPS_LO"));
  EXPECT_EQ(e::OPS_SKIPPED_LO, group_offset("OPS_SKIPPED_LO"));
  EXPECT_EQ(e::SRAM_READ_LO, group_offset("SRAM_READ_LO"));
  EXPECT_EQ(e::SRAM_WRITE_HI, group_offset("SRAM_WRITE_HI"));
  EXPECT_EQ(e::BYTES, group_offset("SRAM_WRITE_HI") + 4);
  EXPECT_EQ(regs::sat::STCE_START, regs::sat::STCE_BASE + e::START);
  EXPECT_EQ(regs::sat::STCE_STATUS, regs::sat::STCE_BASE + e::STATUS);
  EXPECT_EQ(regs::sat::OSRE_ERROR, regs::sat::OSRE_BASE + e::ERROR);
  EXPECT_EQ(regs::sat::OSRE_OPS_HI, regs::sat::OSRE_BASE + e::OPS_HI);
  EXPECT_EQ(regs::sat::WUVE_JOBS, regs::sat::WUVE_BASE + e::JOBS);
  EXPECT_EQ(regs::sat::WUVE_SRAM_WRITE_LO, regs::sat::WUVE_BASE + e::SRAM_WRITE_LO);
  EXPECT_EQ(regs::sat::STCE_ERROR_CAUSE_MASK, yaml_bits_of(named(group["registers"], "ERROR"), "CAUSE").mask);
  EXPECT_EQ(regs::sat::WUVE_STATUS_BUSY_MASK, e::STATUS_BUSY_MASK);

  // One error-cause type for every engine, printed by name through the block's to_string.
  EXPECT_TRUE((std::is_same_v<regs::sat::StceErrorCause, e::ErrorCause>));
  EXPECT_TRUE((std::is_same_v<regs::sat::WuveErrorCause, e::ErrorCause>));
  EXPECT_TRUE((std::is_same_v<regs::sat::OsreError, e::Error>));
  EXPECT_STREQ(regs::sat::to_string(regs::sat::OsreErrorCause::BAD_NM), "BAD_NM");
  EXPECT_EQ(static_cast<std::uint32_t>(e::ErrorCause::NAN_INPUT),
            named(group["registers"], "ERROR")["fields"][0]["enum"]["NAN_INPUT"].as<std::uint32_t>());
}

// The field accessors put and take each field at the bits the YAML gives it.
TEST(FieldAccessors, ReadAndBuildWordsAtTheYamlBits) {
  namespace s = regs::sat;
  const Bits kh = yaml_bits("sat", "STCE_KERNEL", "KH"), kw = yaml_bits("sat", "STCE_KERNEL", "KW");
  const Bits stride = yaml_bits("sat", "STCE_KERNEL", "STRIDE"), pad = yaml_bits("sat", "STCE_KERNEL", "PAD");
  constexpr s::StceKernel built = s::StceKernel{}.with_kh(3).with_kw(5).with_stride(2).with_pad(1);
  EXPECT_EQ(built.value, (3u << kh.shift) | (5u << kw.shift) | (2u << stride.shift) | (1u << pad.shift));
  const std::uint32_t word = 0xA1B2C3D4;
  EXPECT_EQ(s::StceKernel{word}.kh(), (word & kh.mask) >> kh.shift);
  EXPECT_EQ(s::StceKernel{word}.kw(), (word & kw.mask) >> kw.shift);
  EXPECT_EQ(s::StceKernel{word}.stride(), (word & stride.mask) >> stride.shift);
  EXPECT_EQ(s::StceKernel{word}.pad(), (word & pad.mask) >> pad.shift);

  // with_<field> keeps the other fields and drops what does not fit, as the hardware would.
  const Bits n = yaml_bits("sat", "STCE_NM", "N");
  EXPECT_EQ(s::StceNm{0xFFFFFFFF}.with_n(0).value, 0xFFFFFFFF & ~n.mask);
  EXPECT_EQ(s::StceNm{}.with_n(0x1FF).value, n.mask);

  // One-bit fields are bools, enum fields their enum.
  const Bits b_sparse = yaml_bits("sat", "STCE_OP", "B_SPARSE");
  EXPECT_EQ(s::StceOp{}.with_b_sparse(true).value, b_sparse.mask);
  EXPECT_TRUE(s::StceOp{b_sparse.mask}.b_sparse());
  EXPECT_FALSE(s::StceOp{~b_sparse.mask}.b_sparse());
  EXPECT_EQ(s::StceOp{}.with_op(s::StceOpOp::CONV_BWD_DATA).value,
            yaml_enum("sat", "STCE_OP", "OP", "CONV_BWD_DATA") << yaml_bits("sat", "STCE_OP", "OP").shift);
  const Bits mode = yaml_bits("dma", "CTRL", "MODE");
  EXPECT_EQ(regs::dma::Ctrl{1u << mode.shift}.mode(), regs::dma::CtrlMode::CHAIN);
  EXPECT_TRUE((std::is_same_v<decltype(regs::dma::Ctrl{}.mode()), regs::dma::CtrlMode>));
  EXPECT_EQ(s::StceError{0x1F00 | 4}.cause(), s::StceErrorCause::BAD_NM) << "CAUSE is bits 7:0 only";
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

// A group written once, placed twice: the instances' registers are named and placed by them and
// their texts filled in; the header has the group's namespace and each instance's base.
TEST_F(RegmapGen, PlacesEachGroupInstanceAtItsBase) {
  ASSERT_EQ(run(kValidSpec + R"(      - {instance: P, of: unit, base: 0x10, vars: {what: "Pears"}}
      - {name: B, offset: 0x1C, access: RW, reset: 0, description: "B."}
      - {instance: Q, of: unit, base: 0x20, vars: {what: "Quinces"}}
    groups:
      - name: unit
        description: "A unit."
        registers:
          - {name: GO, offset: 0x0, access: WO, reset: 0, description: "Starts {instance}."}
          - {name: COUNT, offset: 0x8, access: RO, reset: 0x5, description: "{what} counted."}
)"),
            0)
      << errors;
  const std::string table = read_text(dir() / "out" / "models" / "regmap_tables.cpp");
  EXPECT_NE(table.find(R"({"A", 0x00, Access::RW, 0x0, "A."},
    {"P_GO", 0x10, Access::WO, 0x0, "Starts P."},
    {"P_COUNT", 0x18, Access::RO, 0x5, "Pears counted."},
    {"B", 0x1C, Access::RW, 0x0, "B."},
    {"Q_GO", 0x20, Access::WO, 0x0, "Starts Q."},
    {"Q_COUNT", 0x28, Access::RO, 0x5, "Quinces counted."},
)"),
            std::string::npos)
      << table;
  const std::string header = read_text(dir() / "out" / "firmware" / "cestvp" / "regs.h");
  for (const char* line : {"namespace unit {", "inline constexpr std::uint32_t COUNT = 0x08;",
                           "inline constexpr std::uint32_t BYTES = 0xC;", "inline constexpr std::uint32_t Q_BASE = 0x20;",
                           "inline constexpr std::uint32_t Q_COUNT = 0x28;"})
    EXPECT_NE(header.find(line), std::string::npos) << line << " missing in\n" << header;
  const std::string doc = read_text(dir() / "out" / "docs" / "regmap.md");
  EXPECT_NE(doc.find("| P | 0x10 | Pears |"), std::string::npos) << doc;
  EXPECT_NE(doc.find("| +0x08 | COUNT | RO | 0x5 | {what} counted. |"), std::string::npos) << doc;
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

// A group for the instances above: starts at line 7 when one instance line precedes it.
const std::string kGroup = R"(    groups:
      - name: unit
        description: "A unit."
        registers:
          - {name: GO, offset: 0x0, access: WO, reset: 0, description: "Starts {instance}."}
          - {name: COUNT, offset: 0x8, access: RO, reset: 0, description: "{what} counted."}
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
        BadSpec{"UnknownGroup", "      - {instance: P, of: unit, base: 0x10}\n", 6,
                "instance P is of group 'unit', which block blk does not define (it has no groups)"},
        BadSpec{"InstanceBelowPreviousRegister", "      - {instance: P, of: unit, base: 0x0, vars: {what: W}}\n" + kGroup, 6,
                "instance P puts P_GO at 0x00, not above the previous register (A at 0x00)"},
        BadSpec{"InstanceMissesAVar", "      - {instance: P, of: unit, base: 0x10}\n" + kGroup, 6,
                "instance P does not set var 'what', which the descriptions of group unit use as {what}"},
        BadSpec{"InstanceSetsAnUnusedVar",
                "      - {instance: P, of: unit, base: 0x10, vars: {what: W, whom: X}}\n" + kGroup, 6,
                "var 'whom' of instance P is not used by group unit (it uses {instance, what})"},
        BadSpec{"GroupWithoutInstance", kGroup, 7, "group unit of block blk has no instance"},
        BadSpec{"PlaceholderOutsideAGroup",
                "      - {name: B, offset: 0x04, access: RO, reset: 0, description: \"{instance} B.\"}\n", 6,
                "only the registers of a group have placeholders"},
        BadSpec{"FieldAccessorIsAKeyword", kRegisterWithFields + "          - {name: DEFAULT, bits: \"4\", description: \"D.\"}\n",
                13, "its accessor default() would be a C++ keyword"},
        BadSpec{"YamlSyntax", "      - {name: B, offset: 0x04, access: RO, reset: 0, description: \"B.\"}}\n", 6,
                "YAML syntax error"}),
    [](const ::testing::TestParamInfo<BadSpec>& test) { return std::string(test.param.name); });

}  // namespace
