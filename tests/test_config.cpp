// Platform configuration: units, the YAML reader, the default platform, the bad-file corpus
// (tests/data/bad_platform) and the to_yaml round trip. Every expected number and message here
// is written by hand from the file it refers to.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <tuple>
#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/units.h"
#include "config/user_error.h"
#include "config/yaml_reader.h"
#include "test_files.h"

namespace cestvp {
namespace {

using cestvp::test::error_of;
using cestvp::test::write_file;

namespace fs = std::filesystem;

const std::string kSourceDir = CESTVP_SOURCE_DIR;
const std::string kDefaultPlatform = kSourceDir + "/yaml/vcu1525.yaml";
const std::string kBadDir = kSourceDir + "/tests/data/bad_platform";

std::string load_error(const std::string& path) {
  return error_of([&path] { load_platform_config(path); });
}

template <typename Parse>
std::string value_error(Parse parse, const std::string& text) {
  try {
    parse(text);
  } catch (const ValueError& error) {
    return error.what();
  }
  ADD_FAILURE() << "'" << text << "' was accepted";
  return "";
}

// ---------------------------------------------------------------------------------- units

TEST(Units, ParsesFrequencies) {
  EXPECT_EQ(parse_quantity(Quantity::frequency, "180 MHz"), 180e6);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "1 GHz"), 1e9);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "250 kHz"), 250e3);
  EXPECT_EQ(parse_quantity(Quantity::energy, "20 pJ"), 20e-12);
  EXPECT_EQ(parse_quantity(Quantity::energy, "1.5 nJ"), 1.5e-9);
  EXPECT_EQ(parse_quantity(Quantity::power, "17.94 W"), 17.94);
  EXPECT_EQ(parse_quantity(Quantity::power, "250 mW"), 0.25);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "100 Hz"), 100.0);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "180MHz"), 180e6);  // the space is optional
  EXPECT_EQ(parse_quantity(Quantity::frequency, "0.5 Hz"), 0.5);
}

TEST(Units, ParsesTimes) {
  EXPECT_EQ(parse_quantity(Quantity::time, "8 ns"), 8e-9);
  EXPECT_EQ(parse_quantity(Quantity::time, "1 us"), 1e-6);
  EXPECT_EQ(parse_quantity(Quantity::time, "80 ns"), 80e-9);
  EXPECT_EQ(parse_quantity(Quantity::time, "1.5 ms"), 1.5e-3);
  EXPECT_EQ(parse_quantity(Quantity::time, "10 ps"), 10e-12);
  EXPECT_EQ(parse_quantity(Quantity::time, "1 s"), 1.0);
  EXPECT_EQ(parse_quantity(Quantity::time, "0 s"), 0.0);
}

TEST(Units, ParsesBandwidthsExactly) {
  // One rounding of the exact decimal, as the compiler does for the literal.
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "19.2 GB/s"), 19.2e9);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "19.2 GB/s"), 19200000000.0);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "800 MB/s"), 800e6);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "1 GiB/s"), 1073741824.0);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "1.5 KiB/s"), 1536.0);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "0.1 kB/s"), 100.0);
}

TEST(Units, ParsesSizes) {
  EXPECT_EQ(parse_size("64 GiB"), 68719476736u);  // 64 * 2^30 = 2^36
  EXPECT_EQ(parse_size("4 MiB"), 4194304u);
  EXPECT_EQ(parse_size("256 B"), 256u);
  EXPECT_EQ(parse_size("1 KiB"), 1024u);
  EXPECT_EQ(parse_size("1 kB"), 1000u);
  EXPECT_EQ(parse_size("2 TB"), 2000000000000u);
  EXPECT_EQ(parse_size("16777215 TiB"), 18446742974197923840u);  // (2^24 - 1) * 2^40
  EXPECT_EQ(parse_size("18446744073709551615 B"), std::numeric_limits<std::uint64_t>::max());
}

TEST(Units, ParsesUnsignedIntegers) {
  EXPECT_EQ(parse_unsigned("4096"), 4096u);
  EXPECT_EQ(parse_unsigned("0"), 0u);
  EXPECT_EQ(parse_unsigned("0x4000000000"), 274877906944u);  // 2^38
  EXPECT_EQ(parse_unsigned("0X1f"), 31u);
  EXPECT_EQ(parse_unsigned("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(Units, RejectsBadQuantities) {
  const auto frequency = [](const std::string& text) {
    return value_error([](const std::string& t) { return parse_quantity(Quantity::frequency, t); },
                       text);
  };
  EXPECT_EQ(frequency("180"), "'180' has no unit");
  EXPECT_EQ(frequency("180 MHZ"), "'180 MHZ' has unknown unit 'MHZ'");
  EXPECT_EQ(frequency("180 ns"), "'180 ns' has unknown unit 'ns'");
  EXPECT_EQ(frequency("-1 MHz"), "'-1 MHz' is negative");
  EXPECT_EQ(frequency("nan MHz"), "'nan MHz' does not start with a number");
  EXPECT_EQ(frequency("inf Hz"), "'inf Hz' does not start with a number");
  EXPECT_EQ(frequency("+1 Hz"), "'+1 Hz' does not start with a number");
  EXPECT_EQ(frequency(".5 Hz"), "'.5 Hz' does not start with a number");
  EXPECT_EQ(frequency(""), "'' does not start with a number");
  EXPECT_EQ(frequency("1. MHz"), "'1. MHz' has no digits after the decimal point");
  EXPECT_EQ(frequency("1e9 eV"), "'1e9 eV' has unknown unit 'eV'");
  EXPECT_EQ(frequency("1e Hz"), "'1e Hz' has unknown unit 'e Hz'");  // an exponent needs digits
  EXPECT_EQ(frequency("1e400 Hz"), "'1e400 Hz' is too large or too small to represent");
  EXPECT_EQ(frequency("1e-400 Hz"), "'1e-400 Hz' is too large or too small to represent");
  const std::string huge = "1" + std::string(400, '0') + " Hz";
  EXPECT_EQ(frequency(huge), "'" + huge + "' is too large or too small to represent");
}

TEST(Units, RejectsBadSizesAndIntegers) {
  EXPECT_EQ(value_error(parse_size, "4096"), "'4096' has no unit");
  EXPECT_EQ(value_error(parse_size, "4 kb"), "'4 kb' has unknown unit 'kb'");
  EXPECT_EQ(value_error(parse_size, "1.5 KiB"), "'1.5 KiB' is not a whole number of KiB");
  EXPECT_EQ(value_error(parse_size, "16777216 TiB"), "'16777216 TiB' does not fit in 64 bits");
  EXPECT_EQ(value_error(parse_size, "18446744073709551616 B"),
            "'18446744073709551616 B' does not fit in 64 bits");
  EXPECT_EQ(value_error(parse_unsigned, "-1"), "'-1' is negative");
  EXPECT_EQ(value_error(parse_unsigned, "18446744073709551616"),
            "'18446744073709551616' does not fit in 64 bits");
  for (const char* text : {"abc", "4.0", "0x", "1e3", "+4", "", "4 B", "0xg"}) {
    EXPECT_EQ(value_error(parse_unsigned, text), "'" + std::string(text) + "' is not an integer");
  }
}

TEST(Units, FormatsWithTheLargestFittingUnit) {
  EXPECT_EQ(format_quantity(Quantity::frequency, 180e6), "180 MHz");
  EXPECT_EQ(format_quantity(Quantity::frequency, 1e9), "1 GHz");
  EXPECT_EQ(format_quantity(Quantity::frequency, 250e3), "250 kHz");
  EXPECT_EQ(format_quantity(Quantity::frequency, 18e9), "18 GHz");
  EXPECT_EQ(format_quantity(Quantity::frequency, 0.5), "0.5 Hz");
  EXPECT_EQ(format_quantity(Quantity::frequency, 0), "0 Hz");
  EXPECT_EQ(format_quantity(Quantity::time, 8e-9), "8 ns");
  EXPECT_EQ(format_quantity(Quantity::time, 1e-6), "1 us");
  EXPECT_EQ(format_quantity(Quantity::time, 1.5e-3), "1.5 ms");
  EXPECT_EQ(format_quantity(Quantity::time, 10e-12), "10 ps");
  EXPECT_EQ(format_quantity(Quantity::time, 2.5e-13), "0.25 ps");
  EXPECT_EQ(format_quantity(Quantity::time, 1), "1 s");
  EXPECT_EQ(format_quantity(Quantity::time, 20), "20 s");
  EXPECT_EQ(format_quantity(Quantity::time, 0), "0 s");
  EXPECT_EQ(format_quantity(Quantity::bandwidth, 19.2e9), "19.2 GB/s");
  EXPECT_EQ(format_quantity(Quantity::bandwidth, 800e6), "800 MB/s");
  EXPECT_EQ(format_quantity(Quantity::bandwidth, 1073741824.0), "1.073741824 GB/s");
  EXPECT_EQ(format_quantity(Quantity::bandwidth, 12e12), "12 TB/s");
  EXPECT_EQ(format_size(std::uint64_t{64} << 30), "64 GiB");
  EXPECT_EQ(format_size(4194304), "4 MiB");
  EXPECT_EQ(format_size(256), "256 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1000), "1 kB");
  EXPECT_EQ(format_size(2048000), "2000 KiB");  // 2048 kB too; the larger unit wins
  EXPECT_EQ(format_size(1536), "1536 B");
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(std::uint64_t{1} << 63), "8388608 TiB");
}

TEST(Units, FormattedValuesReadBackExactly) {
  std::mt19937_64 random(1);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-50, 50);
  for (Quantity quantity : {Quantity::frequency, Quantity::time, Quantity::bandwidth}) {
    for (int i = 0; i < 2000; ++i) {
      const double value = std::ldexp(mantissa(random), exponent(random));
      const std::string text = format_quantity(quantity, value);
      ASSERT_EQ(parse_quantity(quantity, text), value) << text;
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t bytes = random() >> (i % 64) << (i % 50);
    ASSERT_EQ(parse_size(format_size(bytes)), bytes) << bytes;
  }
}

// ---------------------------------------------------------------------------- YAML reader

TEST(YamlReader, ReadsStringsListsAndPositions) {
  const std::string path = write_file("workload.yaml", "name: resnet18\nlayers:\n  - conv1\n  - fc\n");
  YamlMap root = load_yaml(path).map();
  const YamlValue name = root.get("name");
  const YamlValue layers = root.get("layers");
  root.finish();
  EXPECT_EQ(name.string(), "resnet18");
  const std::vector<YamlValue> items = layers.list();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].string(), "fc");
  EXPECT_EQ(items[1].path(), "layers[1]");
  EXPECT_EQ(items[1].line(), 4);
  EXPECT_EQ(error_of([&] { items[0].map(); }),
            path + ":3:5: layers[0]: found 'conv1'; expected a mapping");
}

TEST(YamlReader, ReportsWrongKindsAndKeys) {
  const std::string path = write_file("kinds.yaml", "items: {a: 1}\n");
  YamlMap root = load_yaml(path).map();
  EXPECT_EQ(error_of([&] { root.get("items").list(); }),
            path + ":1:8: items: found a mapping; expected a list");
  EXPECT_EQ(error_of([&] { root.get("name").string(); }),
            path + ":1:1: name: missing key; expected a string");
  const std::string list_key = write_file("list_key.yaml", "? [a, b]\n: 1\n");
  EXPECT_EQ(error_of([&] { load_yaml(list_key).map(); }),
            list_key + ":1:3: found a list as a key; expected a plain name");
  const std::string list_root = write_file("list_root.yaml", "- 1\n");
  EXPECT_EQ(error_of([&] { load_yaml(list_root).map(); }),
            list_root + ":1:1: found a list; expected a mapping");
}

TEST(YamlReader, RejectsFilesThatCannotBeRead) {
  const std::string missing = kBadDir + "/does_not_exist.yaml";
  EXPECT_EQ(load_error(missing), missing + ": no such file or directory; expected a readable regular file (a YAML file)");
  EXPECT_EQ(load_error(kBadDir), kBadDir + ": is a directory; expected a regular file (a YAML file)");
}

// ----------------------------------------------------------------------- default platform

TEST(PlatformConfig, DefaultPlatformHasThePaperAndAssumedValues) {
  const PlatformConfig config = load_platform_config(kDefaultPlatform);
  EXPECT_EQ(config.source, kDefaultPlatform);
  EXPECT_EQ(config.clocks.sat_hz, 180e6);
  EXPECT_EQ(config.clocks.peripheral_hz, 250e6);
  EXPECT_EQ(config.clocks.host_hz, 1e9);
  EXPECT_EQ(config.bus.hop_latency_s, 8e-9);
  EXPECT_EQ(config.ddr.channels, 4u);
  EXPECT_EQ(config.ddr.channel_bandwidth_Bps, 19.2e9);
  EXPECT_EQ(config.ddr.latency_s, 80e-9);
  EXPECT_EQ(config.ddr.interleave_bytes, 4096u);
  EXPECT_EQ(config.dma.burst_bytes, 1024u);
  EXPECT_EQ(config.sat.array_rows, 32u);
  EXPECT_EQ(config.sat.array_cols, 32u);
  EXPECT_EQ(config.sat.nm_m, (std::vector<unsigned>{4, 8}));
  EXPECT_EQ(config.sat.sram_port_bytes[0], 256u);
  EXPECT_EQ(config.sat.sram_port_bytes[1], 64u);
  EXPECT_EQ(config.sat.sram_port_bytes[2], 64u);
  EXPECT_EQ(config.sat.osre_lanes, 32u);
  EXPECT_EQ(config.sat.osre_pipeline, 4u);
  EXPECT_EQ(config.sat.wuve_lanes, 32u);
  EXPECT_EQ(config.sat.wuve_pipeline, 8u);
  EXPECT_EQ(config.tlm.quantum_s, 1e-6);
  EXPECT_EQ(config.interrupts.dma, 0u);
  EXPECT_EQ(config.interrupts.sat, 1u);

  const std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t>> expected{
      {"ddr", 0x0000000000, 68719476736},  // 64 GiB
      {"sat_regs", 0x4000000000, 65536},   // 64 KiB
      {"sat_sram_a", 0x4001000000, 4194304},  // 4 MiB
      {"sat_sram_b", 0x4002000000, 4194304},
      {"sat_sram_c", 0x4003000000, 4194304},
      {"dma", 0x4010000000, 4096},
      {"irqc", 0x4010001000, 4096},
      {"host_ram", 0x4100000000, 268435456},  // 256 MiB
      {"host_local", 0x4020000000, 4096}};
  ASSERT_EQ(config.address_map.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& [name, base, size] = expected[i];
    EXPECT_EQ(config.address_map[i].name, name);
    EXPECT_EQ(config.address_map[i].base, base) << name;
    EXPECT_EQ(config.address_map[i].size, size) << name;
    EXPECT_EQ(&config.region(name), &config.address_map[i]);
  }
}

// Every key of the default platform is required and every mapping closed: removing any key,
// or adding one, is reported with the key's full path.
TEST(PlatformConfig, EveryKeyIsRequiredAndNoOtherIsAllowed) {
  const YAML::Node original = YAML::LoadFile(kDefaultPlatform);
  std::vector<std::pair<std::vector<std::string>, YAML::Node>> mappings{{{}, original}};
  int keys = 0;
  for (std::size_t m = 0; m < mappings.size(); ++m) {
    const std::vector<std::string> parent = mappings[m].first;
    const YAML::Node mapping = mappings[m].second;  // a handle: push_back below may move the vector
    std::string prefix;
    for (const std::string& key : parent) prefix += key + ".";
    // Navigates a fresh copy of the document to this mapping.
    const auto edit = [&parent, &original](auto change) {
      YAML::Node copy = YAML::Clone(original);
      YAML::Node node = copy;
      for (const std::string& key : parent) node.reset(node[key]);
      change(node);
      YAML::Emitter out;
      out << copy;
      return std::string(out.c_str()) + "\n";
    };
    for (const auto& entry : mapping) {
      const std::string key = entry.first.Scalar();
      ++keys;
      if (entry.second.IsMap()) {
        std::vector<std::string> child = parent;
        child.push_back(key);
        mappings.push_back({child, entry.second});
      }
      const std::string path = write_file(
          "missing.yaml", edit([&key](YAML::Node& node) { node.remove(key); }));
      EXPECT_NE(load_error(path).find(": " + prefix + key + ": missing key; expected "),
                std::string::npos)
          << load_error(path);
    }
    const std::string path =
        write_file("extra.yaml", edit([](YAML::Node& node) { node["bogus_key"] = 1; }));
    EXPECT_NE(load_error(path).find(": " + prefix + "bogus_key: unknown key"), std::string::npos)
        << load_error(path);
  }
  // 11 sections with 3+1+4+1+5+1+9+2+2+6+4 keys; sat.array 2, sat.sram_port 3, sat.osre 2,
  // sat.wuve 2; 9 regions x 2.
  EXPECT_EQ(keys, 76);
}

// ---------------------------------------------------------------------- bad-file corpus

struct BadFile {
  const char* name;      // in tests/data/bad_platform
  const char* position;  // "LINE:COLUMN", 1-based
  const char* key;       // key path the message names; empty for whole-file errors
  const char* message;   // the rest of the message
};

// Names the case in test output (and CTest test names) instead of dumping its bytes.
void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.name; }

#define TIME_UNITS " with a unit (ps, ns, us, ms, s)"
#define FREQUENCY_UNITS " with a unit (Hz, kHz, MHz, GHz)"
#define SIZE_UNITS " with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
#define BANDWIDTH_UNITS " with a unit (B/s, kB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s)"

const BadFile kBadFiles[] = {
    {"unknown_key", "2:10", "clocks.sta",
     "unknown key (did you mean 'sat'?); expected one of sat, peripheral, host"},
    {"unknown_section", "2:1", "clock",
     "unknown key (did you mean 'clocks'?); expected one of clocks, bus, ddr, dma, sat, tlm, "
     "address_map, interrupts, host, host_cost, energy"},
    {"unknown_region", "18:3", "address_map.uart",
     "unknown key; expected one of ddr, sat_regs, sat_sram_a, sat_sram_b, sat_sram_c, dma, irqc, host_ram, host_local"},
    {"wrong_type_string", "4:17", "ddr.channels",
     "'four' is not an integer; expected an integer from 1 to 64"},
    {"wrong_type_map", "3:20", "bus.hop_latency",
     "found a mapping; expected a time from 0 s to 1 ms" TIME_UNITS},
    {"missing_key", "5:3", "ddr.latency", "missing key; expected a time from 0 s to 1 ms" TIME_UNITS},
    {"missing_region", "9:3", "address_map.irqc", "missing key; expected a mapping"},
    {"null_value", "5:3", "clocks.host",
     "no value; expected a frequency from 1 kHz to 10 GHz" FREQUENCY_UNITS},
    {"missing_unit", "7:16", "tlm.quantum",
     "'1' has no unit; expected a time from 1 ps to 1 s" TIME_UNITS},
    {"size_without_unit", "5:14", "dma.burst",
     "'1024' has no unit; expected a whole size from 4 B to 1 MiB" SIZE_UNITS},
    {"unknown_unit", "2:15", "clocks.sat",
     "'180 Mhz' has unknown unit 'Mhz'; expected a frequency from 1 kHz to 10 GHz" FREQUENCY_UNITS},
    {"negative_value", "4:59", "ddr.latency",
     "'-80 ns' is negative; expected a time from 0 s to 1 ms" TIME_UNITS},
    {"out_of_range", "4:17", "ddr.channels",
     "'65' is out of range; expected an integer from 1 to 64"},
    {"out_of_range_clock", "2:36", "clocks.peripheral",
     "'250 GHz' is out of range; expected a frequency from 1 kHz to 10 GHz" FREQUENCY_UNITS},
    {"region_too_small", "14:35", "address_map.dma.size",
     "'1 KiB' is out of range; expected a whole size of at least 4 KiB" SIZE_UNITS},
    {"overlap", "12:15", "address_map.sat_sram_b",
     "[0x4001200000, 0x4001600000) overlaps address_map.sat_sram_a [0x4001000000, 0x4001400000) "
     "at line 11; expected address ranges that do not overlap"},
    {"address_overflow", "15:42", "address_map.irqc.size",
     "base 0xfffffffffffff000 + 8 KiB goes past the 64-bit address space; expected base + size "
     "at most 2^64 - 1"},
    {"syntax_error", "7:13", "tlm", "illegal map value; expected valid YAML syntax"},
    {"empty", "1:1", "", "no value; expected a mapping"},
    {"duplicate_key", "7:22", "tlm.quantum", "duplicate key; expected each key at most once"},
    {"interleave_not_power_of_two", "4:78", "ddr.interleave",
     "3 KiB is not a power of two; expected a power of two"},
    {"sram_port_not_power_of_two", "6:75", "sat.sram_port.b",
     "48 B is not a power of two; expected a power of two"},
    {"nm_m_not_power_of_two", "6:46", "sat.nm_m[1]",
     "6 is not a power of two; expected a power of two"},
    {"nm_m_duplicate", "6:46", "sat.nm_m[1]",
     "8 is listed twice (also as sat.nm_m[0] at line 6); expected distinct group sizes"},
    {"burst_not_multiple_of_4", "5:14", "dma.burst",
     "1022 B is not a multiple of 4 B; expected a multiple of 4 B"},
    {"duplicate_interrupt", "18:27", "interrupts.sat",
     "interrupt line 0 is also used by interrupts.dma at line 18; expected distinct interrupt "
     "lines"},
    // Absurd clocks, bandwidths and times.
    {"clock_zero", "2:15", "clocks.sat",
     "'0 Hz' is out of range; expected a frequency from 1 kHz to 10 GHz" FREQUENCY_UNITS},
    {"clock_too_slow", "2:15", "clocks.sat",
     "'180 Hz' is out of range; expected a frequency from 1 kHz to 10 GHz" FREQUENCY_UNITS},
    {"ddr_bandwidth_zero", "4:39", "ddr.channel_bandwidth",
     "'0 GB/s' is out of range; expected a bandwidth from 1 MB/s to 10 TB/s" BANDWIDTH_UNITS},
    {"ddr_bandwidth_absurd", "4:39", "ddr.channel_bandwidth",
     "'1000 TB/s' is out of range; expected a bandwidth from 1 MB/s to 10 TB/s" BANDWIDTH_UNITS},
    {"quantum_zero", "7:16", "tlm.quantum",
     "'0 s' is out of range; expected a time from 1 ps to 1 s" TIME_UNITS},
    {"quantum_too_long", "7:16", "tlm.quantum",
     "'10 s' is out of range; expected a time from 1 ps to 1 s" TIME_UNITS},
    {"hop_latency_absurd", "3:20", "bus.hop_latency",
     "'8 s' is out of range; expected a time from 0 s to 1 ms" TIME_UNITS},
    {"ddr_latency_absurd", "4:59", "ddr.latency",
     "'80 ms' is out of range; expected a time from 0 s to 1 ms" TIME_UNITS},
    // Zero or absurd sizes and counts.
    {"ddr_channels_zero", "4:17", "ddr.channels", "'0' is out of range; expected an integer from 1 to 64"},
    {"interleave_too_small", "4:78", "ddr.interleave",
     "'32 B' is out of range; expected a whole size from 64 B to 1 GiB" SIZE_UNITS},
    {"burst_zero", "5:14", "dma.burst", "'0 B' is out of range; expected a whole size from 4 B to 1 MiB" SIZE_UNITS},
    {"array_rows_zero", "6:21", "sat.array.rows", "'0' is out of range; expected an integer from 1 to 1024"},
    {"array_cols_absurd", "6:31", "sat.array.cols", "'4096' is out of range; expected an integer from 1 to 1024"},
    {"sram_port_too_wide", "6:65", "sat.sram_port.a",
     "'8 KiB' is out of range; expected a whole size from 1 B to 4 KiB" SIZE_UNITS},
    {"osre_lanes_zero", "6:105", "sat.osre.lanes", "'0' is out of range; expected an integer from 1 to 1024"},
    {"wuve_pipeline_absurd", "6:151", "sat.wuve.pipeline",
     "'5000' is out of range; expected an integer from 0 to 1000"},
    {"sram_size_zero", "11:42", "address_map.sat_sram_a.size",
     "'0 B' is out of range; expected a whole size from 1 KiB to 256 MiB" SIZE_UNITS},
    {"interrupt_out_of_range", "18:27", "interrupts.sat", "'32' is out of range; expected an integer from 0 to 31"},
    {"energy_negative", "21:15", "energy.mac",
     "'-20 pJ' is negative; expected an energy from 0 J to 1 uJ with a unit (fJ, pJ, nJ, uJ, mJ, J)"},
    // Unsupported M: M = 0, M above 32, none at all.
    {"nm_m_zero", "6:43", "sat.nm_m[0]", "'0' is out of range; expected an integer from 2 to 32"},
    {"nm_m_too_large", "6:46", "sat.nm_m[1]", "'64' is out of range; expected an integer from 2 to 32"},
    {"nm_m_empty", "6:42", "sat.nm_m", "the list is empty; expected at least one group size M"},
    // Overlapping address ranges.
    {"overlap_ddr", "10:13", "address_map.sat_regs",
     "[0x800000000, 0x800010000) overlaps address_map.ddr [0x0, 0x1000000000) at line 9; expected address "
     "ranges that do not overlap"},
    {"overlap_same_base", "15:9", "address_map.irqc",
     "[0x4010000000, 0x4010001000) overlaps address_map.dma [0x4010000000, 0x4010001000) at line 14; "
     "expected address ranges that do not overlap"},
    // Wrong types, unknown and missing keys.
    {"nm_m_not_a_list", "6:42", "sat.nm_m", "found '8'; expected a list"},
    {"clocks_is_a_list", "2:9", "clocks", "found a list; expected a mapping"},
    {"base_not_an_integer", "14:15", "address_map.dma.base", "'0x40100000zz' is not an integer; expected an integer"},
    {"host_cost_not_a_number", "20:57", "host_cost.softmax",
     "'fast' is not a number; expected a number from 0 to 1e+06"},
    {"misspelt_nested_key", "4:7", "ddr.chanels",
     "unknown key (did you mean 'channels'?); expected one of channels, channel_bandwidth, latency, interleave"},
    {"missing_section", "2:1", "tlm", "missing key; expected a mapping"},
    {"duplicate_section", "6:1", "ddr", "duplicate key; expected each key at most once"},
    // YAML syntax.
    {"tab_indentation", "12:1", "address_map.sat_sram_b",
     "a tab in the indentation; expected spaces (YAML does not allow tabs for indentation)"},
    {"unclosed_flow_mapping", "4:6", "ddr", "this '{' is never closed; expected a '}' to end the mapping"},
    // Reliability II, class 5: what failed only at run time. SRAM sizes the SAT cannot report
    // (SRAM_x_KIB) or address (28-bit offsets), a DDR beyond what its model takes, a region off
    // its page (DMA descriptors in DDR lost their alignment).
    {"sram_size_not_whole_kib", "12:42", "address_map.sat_sram_b.size",
     "1536 B is not a whole number of KiB (the SAT reports its SRAM sizes in KiB); expected a multiple of 1 KiB"},
    {"sram_size_too_large", "13:42", "address_map.sat_sram_c.size",
     "'512 MiB' is out of range; expected a whole size from 1 KiB to 256 MiB" SIZE_UNITS},
    {"ddr_size_too_large", "9:35", "address_map.ddr.size",
     "'32 TiB' is out of range; expected a whole size from 1 B to 16 TiB" SIZE_UNITS},
    {"base_not_page_aligned", "14:15", "address_map.dma.base",
     "0x4010000800 is not a multiple of 4 KiB (0x1000); expected a base on a 4 KiB page"},
    // Reliability II, class 7: every error has one form. A control character shown escaped,
    // a second document, a number with an exponent (a number with a unit).
    {"control_character_in_comment", "5:24", "dma",
     "control character \\x1b in the text; expected printable text (YAML allows tab, line feed and carriage return)"},
    {"second_document", "22:1", "",
     "a second YAML document starts here; expected one document per file (a satvp file is one mapping)"},
    {"latency_with_exponent", "4:59", "ddr.latency", "'1e30 s' is out of range; expected a time from 0 s to 1 ms" TIME_UNITS},
};

class BadPlatform : public testing::TestWithParam<BadFile> {};

TEST_P(BadPlatform, IsRejectedWithFileLineAndKey) {
  const BadFile& bad = GetParam();
  const std::string path = kBadDir + "/" + bad.name + ".yaml";
  const std::string key = *bad.key ? std::string(bad.key) + ": " : "";
  EXPECT_EQ(load_error(path), path + ":" + bad.position + ": " + key + bad.message);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadPlatform, testing::ValuesIn(kBadFiles),
                         [](const testing::TestParamInfo<BadFile>& instance) {
                           return std::string(instance.param.name);
                         });

// The corpus and the table above list the same files, so that a bad file nobody checks
// cannot pass for a reason other than the one its comment gives.
TEST(BadPlatformCorpus, EveryFileIsChecked) {
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(kBadDir)) files.insert(entry.path().stem().string());
  std::set<std::string> checked;
  for (const BadFile& bad : kBadFiles) checked.insert(bad.name);
  EXPECT_EQ(files, checked);
}

// --------------------------------------------------------------------------- round trip

void expect_same(const PlatformConfig& a, const PlatformConfig& b) {
  EXPECT_EQ(a.clocks.sat_hz, b.clocks.sat_hz);
  EXPECT_EQ(a.clocks.peripheral_hz, b.clocks.peripheral_hz);
  EXPECT_EQ(a.clocks.host_hz, b.clocks.host_hz);
  EXPECT_EQ(a.bus.hop_latency_s, b.bus.hop_latency_s);
  EXPECT_EQ(a.ddr.channels, b.ddr.channels);
  EXPECT_EQ(a.ddr.channel_bandwidth_Bps, b.ddr.channel_bandwidth_Bps);
  EXPECT_EQ(a.ddr.latency_s, b.ddr.latency_s);
  EXPECT_EQ(a.ddr.interleave_bytes, b.ddr.interleave_bytes);
  EXPECT_EQ(a.dma.burst_bytes, b.dma.burst_bytes);
  EXPECT_EQ(a.sat.array_rows, b.sat.array_rows);
  EXPECT_EQ(a.sat.array_cols, b.sat.array_cols);
  EXPECT_EQ(a.sat.nm_m, b.sat.nm_m);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.sat.sram_port_bytes[i], b.sat.sram_port_bytes[i]);
  EXPECT_EQ(a.sat.osre_lanes, b.sat.osre_lanes);
  EXPECT_EQ(a.sat.osre_pipeline, b.sat.osre_pipeline);
  EXPECT_EQ(a.sat.wuve_lanes, b.sat.wuve_lanes);
  EXPECT_EQ(a.sat.wuve_pipeline, b.sat.wuve_pipeline);
  EXPECT_EQ(a.tlm.quantum_s, b.tlm.quantum_s);
  ASSERT_EQ(a.address_map.size(), b.address_map.size());
  for (std::size_t i = 0; i < a.address_map.size(); ++i) {
    EXPECT_EQ(a.address_map[i].name, b.address_map[i].name);
    EXPECT_EQ(a.address_map[i].base, b.address_map[i].base);
    EXPECT_EQ(a.address_map[i].size, b.address_map[i].size);
  }
  EXPECT_EQ(a.interrupts.dma, b.interrupts.dma);
  EXPECT_EQ(a.interrupts.sat, b.interrupts.sat);
  EXPECT_EQ(a.host.cpu, b.host.cpu);
  EXPECT_EQ(a.host.cpi, b.host.cpi);
  EXPECT_EQ(a.host_cost.input, b.host_cost.input);
  EXPECT_EQ(a.host_cost.elementwise, b.host_cost.elementwise);
  EXPECT_EQ(a.host_cost.pool, b.host_cost.pool);
  EXPECT_EQ(a.host_cost.softmax, b.host_cost.softmax);
  EXPECT_EQ(a.host_cost.reduce, b.host_cost.reduce);
  EXPECT_EQ(a.host_cost.nm_decode, b.host_cost.nm_decode);
  EXPECT_EQ(a.energy.mac_j, b.energy.mac_j);
  EXPECT_EQ(a.energy.sram_byte_j, b.energy.sram_byte_j);
  EXPECT_EQ(a.energy.ddr_byte_j, b.energy.ddr_byte_j);
  EXPECT_EQ(a.energy.static_w, b.energy.static_w);
}

TEST(PlatformConfig, ResolvedDumpOfTheDefaultPlatform) {
  const PlatformConfig config = load_platform_config(kDefaultPlatform);
  EXPECT_EQ(to_yaml(config),
            "# Resolved platform configuration, read from " + kDefaultPlatform + "\n"
            "clocks:\n"
            "  sat: 180 MHz\n"
            "  peripheral: 250 MHz\n"
            "  host: 1 GHz\n"
            "bus:\n"
            "  hop_latency: 8 ns\n"
            "ddr:\n"
            "  channels: 4\n"
            "  channel_bandwidth: 19.2 GB/s\n"
            "  latency: 80 ns\n"
            "  interleave: 4 KiB\n"
            "dma:\n"
            "  burst: 1 KiB\n"
            "sat:\n"
            "  array: {rows: 32, cols: 32}\n"
            "  nm_m: [4, 8]\n"
            "  sram_port: {a: 256 B, b: 64 B, c: 64 B}\n"
            "  osre: {lanes: 32, pipeline: 4}\n"
            "  wuve: {lanes: 32, pipeline: 8}\n"
            "tlm:\n"
            "  quantum: 1 us\n"
            "address_map:\n"
            "  ddr: {base: 0x0, size: 64 GiB}\n"
            "  sat_regs: {base: 0x4000000000, size: 64 KiB}\n"
            "  sat_sram_a: {base: 0x4001000000, size: 4 MiB}\n"
            "  sat_sram_b: {base: 0x4002000000, size: 4 MiB}\n"
            "  sat_sram_c: {base: 0x4003000000, size: 4 MiB}\n"
            "  dma: {base: 0x4010000000, size: 4 KiB}\n"
            "  irqc: {base: 0x4010001000, size: 4 KiB}\n"
            "  host_ram: {base: 0x4100000000, size: 256 MiB}\n"
            "  host_local: {base: 0x4020000000, size: 4 KiB}\n"
            "interrupts:\n"
            "  dma: 0\n"
            "  sat: 1\n"
            "host:\n"
            "  cpu: native\n"
            "  cpi: 1\n"
            "host_cost: {input: 4, elementwise: 1, pool: 1, softmax: 20, reduce: 1, nm_decode: 4}\n"
            "energy: {mac: 20 pJ, sram_byte: 2.5 pJ, ddr_byte: 160 pJ, static: 3 W}\n");
}

TEST(PlatformConfig, ResolvedDumpLoadsBackToTheSameValues) {
  const PlatformConfig original = load_platform_config(kDefaultPlatform);
  const std::string dumped = write_file("default.yaml", to_yaml(original));
  expect_same(load_platform_config(dumped), original);

  // Values without a short decimal form must survive too.
  PlatformConfig odd = original;
  odd.clocks.sat_hz = 1e9 / 3;
  odd.clocks.host_hz = 2.5e9;
  odd.bus.hop_latency_s = 1e-8 / 3;
  odd.ddr.channel_bandwidth_Bps = 1073741824.0;  // 1 GiB/s
  odd.ddr.latency_s = 0;
  odd.dma.burst_bytes = 1020;
  odd.sat.nm_m = {32, 2, 16};
  odd.tlm.quantum_s = 1.5e-3;
  odd.address_map[0].size = 1000000;
  odd.address_map[0].base = 0xffffffffff000000;  // near the top of the address space
  odd.interrupts = {31, 7};
  odd.host = {PlatformConfig::Host::Cpu::rv64, 2.5};
  const std::string odd_text = to_yaml(odd);
  const PlatformConfig reloaded = load_platform_config(write_file("odd.yaml", odd_text));
  expect_same(reloaded, odd);
  EXPECT_NE(odd_text.find("  sat: 333.3333333333333 MHz\n"), std::string::npos) << odd_text;
}

}  // namespace
}  // namespace cestvp
