// The firmware side of the SAT engines: the engine self-test booted on the platform in each
// numerics mode (drivers, shared interrupt, DMA placement, CPU reference), the counters the
// firmware reads against the model's, the FP16 conversion of the reference against Imath, the
// `engines` workload, and `satvp job` against the hand-computed cycles of docs/engines.md.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <Imath/half.h>

#include <cestvp/engine_selftest.h>
#include <cestvp/sat_driver.h>
#include <cestvp/sat_reference.h>

#include "config/config.h"
#include "config/user_error.h"
#include "loader/workload.h"
#include "satvp_command.h"
#include "vp.h"

using namespace cestvp;

namespace {

using test::Command;
using test::default_config;
using test::kSatvp;
using test::kSource;
using test::run_command;

constexpr fw::SatEngine kEngines[3] = {fw::SatEngine::stce, fw::SatEngine::osre, fw::SatEngine::wuve};

// Boots the platform in `mode`, runs the engine self-test, and has the firmware read the three
// engines' counters at the end; the model's counters are taken once the simulation stopped.
void expect_selftest_passes(SatMode mode, SatMode fw_mode, const char* compared) {
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = mode;
  fw::EngineSelftestParams params;
  params.mode = fw_mode;
  fw::SatCounters seen[3];
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       const int rc = fw::run_engine_selftest(hal, boot, params);
                       for (int e = 0; e < 3; ++e) seen[e] = fw::read_sat_counters(hal, boot, kEngines[e]);
                       return rc;
                     },
                     options);
  const RunStats stats = vp.run();
  EXPECT_TRUE(stats.firmware_finished);
  EXPECT_EQ(stats.firmware_exit_code, 0) << log.str();
  EXPECT_NE(log.str().find("engine self-test: 14 of 14 checks passed"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("FAIL"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find(compared), std::string::npos) << log.str();
  // No bus error: the bad jobs are rejected by the engines, not by the bus.
  EXPECT_EQ(stats.bus_errors, 0u);

  // The counters the firmware reads are the model's, field by field.
  for (int e = 0; e < 3; ++e) {
    std::uint64_t jobs = 0;
    const sat::JobCost model = vp.sat.counters(static_cast<Sat::Engine>(e), &jobs);
    SCOPED_TRACE(fw::to_string(kEngines[e]));
    EXPECT_EQ(seen[e].jobs, jobs);
    EXPECT_EQ(seen[e].busy_cycles, model.cycles);
    EXPECT_EQ(seen[e].stall_cycles, model.stall_cycles);
    EXPECT_EQ(seen[e].ops, model.ops);
    EXPECT_EQ(seen[e].ops_skipped, model.ops_skipped);
    EXPECT_EQ(seen[e].sram_read, model.sram_read);
    EXPECT_EQ(seen[e].sram_write, model.sram_write);
  }
  // Jobs completed: STCE 10 (dense, linear ff/bp/wu, three convolutions, two SDGP, concurrent),
  // OSRE 6 (ff, bp, conv ff, conv bwd-data, conv SDGP, concurrent), WUVE 2; the two bad jobs do
  // not count.
  EXPECT_EQ(seen[0].jobs, 10u);
  EXPECT_EQ(seen[1].jobs, 6u);
  EXPECT_EQ(seen[2].jobs, 2u);
}

// The value of `key` in satvp's table ("  cycles             505 (...)"), or -1.
long long table_value(const std::string& output, const std::string& key) {
  std::istringstream is(output);
  for (std::string line; std::getline(is, line);) {
    if (line.rfind("  " + key + " ", 0) != 0) continue;
    long long v = -1;
    if (std::sscanf(line.c_str() + key.size() + 2, "%lld", &v) == 1) return v;
  }
  return -1;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream is(s);
  while (std::getline(is, field, sep)) out.push_back(field);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(CESTVP_BINARY_DIR) + "/test-runs/" + name;
  std::filesystem::create_directories(std::string(CESTVP_BINARY_DIR) + "/test-runs");
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(SatFirmware, SelftestPassesInFunctionalMode) {
  expect_selftest_passes(SatMode::functional, SatMode::functional, "within tolerance");
}

TEST(SatFirmware, SelftestPassesBitExactInBitAccurateMode) {
  expect_selftest_passes(SatMode::bit_accurate, SatMode::bit_accurate, "bit-exact");
}

TEST(SatFirmware, SelftestPassesInTimingMode) {
  expect_selftest_passes(SatMode::timing, SatMode::timing, "no data; completion and counters checked");
}

// The FP16 conversion the firmware uses (the contract's, cestvp/fp16.h; no Imath in firmware)
// must agree with Imath's: every half, and floats across the whole range plus the edges.
TEST(SatReference, HalfConversionMatchesImath) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    Imath::half ref;
    ref.setBits(static_cast<std::uint16_t>(h));
    const float want = static_cast<float>(ref), got = fw::half_to_float(static_cast<std::uint16_t>(h));
    ASSERT_EQ(std::memcmp(&want, &got, 4), 0) << std::hex << "half 0x" << h;
  }
  const auto check = [](std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    ASSERT_EQ(fw::float_to_half(f), Imath::half(f).bits()) << std::hex << "float 0x" << bits;
  };
  for (std::uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 997) check(static_cast<std::uint32_t>(bits));
  // Around every rounding boundary of the normal and subnormal ranges, and overflow.
  for (std::uint32_t sign : {0u, 0x80000000u})
    for (std::uint32_t base = 0x33000000u; base <= 0x47800000u; base += 0x1000u)
      for (std::uint32_t d = 0; d < 3; ++d) check(sign | (base - 1 + d));
  for (std::uint32_t bits : {0x7f800000u, 0x7fc00000u, 0x7f800001u, 0xff800000u, 0x477fefffu, 0x477ff000u})
    check(bits);
}

// Compression as the spec says, on a hand-made group: top-N by magnitude, lowest index on
// ties, kept values in index order, short tail padded with (0, 0).
TEST(SatReference, NmCompressionKeepsTheLargestWithTiesToTheLowestIndex) {
  // One row of 10 FP16 values, 2:4 forward: groups {0..3}, {4..7}, tail {8, 9}.
  const float row[10] = {0.5f, -2.0f, 2.0f, 1.0f, /**/ 3.0f, 3.0f, -3.0f, 0.0f, /**/ 0.25f, -0.125f};
  std::uint16_t src[10];
  for (int i = 0; i < 10; ++i) src[i] = fw::float_to_half(row[i]);
  std::uint16_t values[6] = {};
  std::uint32_t indices[1] = {0xFFFFFFFFu};
  ASSERT_TRUE(fw::nm_compress(reinterpret_cast<const std::uint8_t*>(src), false, 1, 10, false, 2, 4,
                              reinterpret_cast<std::uint8_t*>(values), indices));
  const float want_values[6] = {-2.0f, 2.0f, 3.0f, 3.0f, 0.25f, -0.125f};
  const std::uint32_t want_index[6] = {1, 2, 0, 1, 0, 1};
  for (int e = 0; e < 6; ++e) {
    EXPECT_EQ(fw::half_to_float(values[e]), want_values[e]) << e;
    EXPECT_EQ(fw::nm_index(indices, e, 2), want_index[e]) << e;
  }
  EXPECT_EQ(indices[0] >> 12, 0u) << "pad bits of the line's last word are zero";
  // A tail shorter than N keeps what it has and pads with value 0, index 0.
  std::uint16_t v3[3] = {0xFFFF, 0xFFFF, 0xFFFF};
  std::uint32_t i3[1] = {};
  const std::uint16_t one = fw::float_to_half(1.0f);
  fw::nm_compress(reinterpret_cast<const std::uint8_t*>(&one), false, 1, 1, false, 3, 4,
                  reinterpret_cast<std::uint8_t*>(v3), i3);
  EXPECT_EQ(v3[0], one);
  EXPECT_EQ(v3[1], 0u);
  EXPECT_EQ(v3[2], 0u);
  EXPECT_EQ(i3[0], 0u);
}

// docs/engines.md: STCE skips the pad entries of a short tail group, so a pad (value 0) never
// multiplies an infinity into the sum. K = 97 with 2:8 leaves a last group of one element: one
// kept entry and one pad, both at the group's first element. With A = inf there, row 0 of C is
// 1 x inf = inf (a pad taken as 0 x inf would make it NaN). Bit-accurate: engine == reference.
TEST(SatFirmware, PadEntriesOfAShortTailContributeNothing) {
  VpOptions options;
  options.mode = SatMode::bit_accurate;
  std::vector<float> engine(32 * 32), reference(32 * 32);
  fw::SatJobResult result;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       fw::Irq irq(hal, boot.irqc.base);
                       fw::SatDriver sat(hal, irq, boot, 1'000'000);
                       fw::StceGemm g;
                       g.rows = 32, g.cols = 32, g.depth = 97, g.sparse = fw::Sparse::b, g.n = 2, g.m = 8;
                       const fw::StceShape s = fw::stce_shape(g);
                       g.a = fw::sram_address(fw::SramBuffer::a, 0);
                       g.b = fw::sram_address(fw::SramBuffer::b, 0);
                       g.b_idx = fw::sram_address(fw::SramBuffer::b, 8192);
                       g.c = fw::sram_address(fw::SramBuffer::c, 0);
                       fw::SramImage image;
                       for (unsigned r = 0; r < 32; ++r)
                         for (unsigned k = 0; k < 97; ++k)
                           image.set_f16(g.a, r * 97 + k, fw::float_to_half(r == 0 && k == 96 ? INFINITY : 1.0f));
                       std::vector<std::uint16_t> w(32 * 97, fw::float_to_half(1.0f));  // W[32][97], forward
                       // Both in buffer B, which at() may move as it grows: grow it before taking pointers.
                       image.at(g.b, s.b_bytes), image.at(g.b_idx, s.b_idx_bytes);
                       fw::nm_compress(reinterpret_cast<const std::uint8_t*>(w.data()), false, 32, 97, false, 2, 8,
                                       image.at(g.b, s.b_bytes),
                                       reinterpret_cast<std::uint32_t*>(image.at(g.b_idx, s.b_idx_bytes)));
                       hal.write_block(boot.sat_sram_a.base, image.at(g.a, s.a_bytes), s.a_bytes);
                       hal.write_block(boot.sat_sram_b.base, image.at(g.b, s.b_bytes), s.b_bytes);
                       hal.write_block(boot.sat_sram_b.base + 8192, image.at(g.b_idx, s.b_idx_bytes), s.b_idx_bytes);
                       result = sat.stce.run(g);
                       hal.read_block(boot.sat_sram_c.base, engine.data(), s.c_bytes);
                       fw::reference_stce(g, image);
                       std::memcpy(reference.data(), image.at(g.c, s.c_bytes), s.c_bytes);
                       return 0;
                     },
                     options);
  vp.run();
  ASSERT_TRUE(result.ok) << result.describe();
  EXPECT_TRUE(std::isinf(engine[0]) && engine[0] > 0) << engine[0];
  EXPECT_EQ(engine[32], 25.0f);  // 12 full groups keep 2 each, the last (one element) keeps 1
  EXPECT_EQ(std::memcmp(engine.data(), reference.data(), engine.size() * 4), 0)
      << "C[0][0] engine " << engine[0] << ", reference " << reference[0];
}

// A START while the engine is busy is reported with its cause, the running job goes on, and the
// next job's wait reports that job, not the earlier job's DONE that nobody waited for.
TEST(SatFirmware, StartWhileBusyIsReportedAndTheNextWaitIsForTheNextJob) {
  VpOptions options;
  options.mode = SatMode::timing;
  fw::SatJobResult busy, next;
  fw::SatCounters next_counters;
  bool was_busy = false;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       fw::Irq irq(hal, boot.irqc.base);
                       fw::SatDriver sat(hal, irq, boot, 1'000'000'000);
                       fw::StceGemm big;
                       big.rows = 256, big.cols = 256, big.depth = 1024;
                       big.a = fw::sram_address(fw::SramBuffer::a, 0);
                       big.b = fw::sram_address(fw::SramBuffer::b, 0);
                       big.c = fw::sram_address(fw::SramBuffer::c, 0);
                       fw::StceGemm small = big;
                       small.rows = small.cols = 32, small.depth = 32;
                       sat.stce.start(big);
                       busy = sat.stce.run(small);  // rejected: the big job is running
                       was_busy = sat.stce.busy();
                       while (sat.stce.busy()) hal.wait_for_interrupt(1000);  // its DONE: not waited for
                       const fw::SatCounters before = sat.stce.counters();
                       next = sat.stce.run(small);
                       next_counters = sat.stce.counters() - before;
                       return 0;
                     },
                     options);
  vp.run();
  EXPECT_TRUE(busy.problem.empty()) << busy.problem;
  EXPECT_FALSE(busy.ok);
  EXPECT_STREQ(busy.cause_name(), "START_WHILE_BUSY");
  EXPECT_TRUE(was_busy);
  ASSERT_TRUE(next.ok) << next.describe();
  EXPECT_EQ(next_counters.jobs, 1u);
  // 1 + one fold of 32 + 62 cycles at 180 MHz: the wait lasted at least that long.
  EXPECT_EQ(next_counters.busy_cycles, 95u);
  EXPECT_GE(static_cast<double>(next.end_ps - next.start_ps), 95 * 1e12 / 180e6);
}

TEST(SatFirmware, EnginesWorkloadLoads) {
  const Workload w = load_workload(kSource + "/workloads/engines.yaml");
  EXPECT_EQ(w.program, "engines");
  EXPECT_EQ(w.engines.n, 2u);
  EXPECT_EQ(w.engines.m, 8u);
  EXPECT_EQ(w.engines.ddr_scratch_offset, 16u << 20);
  EXPECT_NE(to_yaml(w).find("nm: \"2:8\""), std::string::npos) << to_yaml(w);
  // The bring-up workload still loads as before.
  EXPECT_EQ(load_workload(kSource + "/workloads/bringup.yaml").program, "bringup");
}

TEST(SatFirmware, WorkloadWithAnotherProgramsSectionIsRejectedWithFileAndLine) {
  const std::string path = write_temp("engines_with_bringup.yaml",
                                      "name: x\nprogram: engines\nengines:\n  ddr_scratch_offset: 16 MiB\n  seed: 1\n"
                                      "  nm: \"2:8\"\n  timeout: 1 ms\nbringup:\n  rows: 1\n");
  try {
    load_workload(path);
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("engines_with_bringup.yaml:9:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not used by program 'engines'"), std::string::npos) << e.what();
  }
  const std::string bad_nm = write_temp("engines_bad_nm.yaml",
                                        "name: x\nprogram: engines\nengines:\n  ddr_scratch_offset: 16 MiB\n  seed: 1\n"
                                        "  nm: \"9:8\"\n  timeout: 1 ms\n");
  try {
    load_workload(bad_nm);
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("engines_bad_nm.yaml:6:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("N:M"), std::string::npos) << e.what();
  }
}

// ------------------------------------------- Reliability II, class 5: bring-up and self-test

namespace {

// The default platform under a short name, so that messages do not depend on the checkout.
PlatformConfig named_default_config() {
  PlatformConfig config = default_config();
  config.source = "vcu1525.yaml";
  return config;
}

AddressRange& region(PlatformConfig& config, const std::string& name) {
  return const_cast<AddressRange&>(config.region(name));
}

std::string load_error(const std::string& path, const PlatformConfig& config, std::uint64_t host_limit) {
  try {
    load_workload(path, {}, &config, host_limit);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

struct BadSelftestFile {
  const char* name;      // in tests/data/bad_bringup
  const char* position;  // "LINE:COLUMN"
  const char* key;
  const char* message;
};

void PrintTo(const BadSelftestFile& bad, std::ostream* out) { *out << bad.name; }

const std::string kBadSelftestDir = kSource + "/tests/data/bad_bringup";

// Reliability II, class 5: bring-up and engine self-test workloads that the default platform
// (DDR of 64 GiB, M in {4, 8}) cannot run; they failed only at run time before.
const BadSelftestFile kBadSelftestFiles[] = {
    {"scratch_offset_beyond_ddr", "5:23", "bringup.ddr_scratch_offset",
     "dma-1d needs 132.5 KiB of DDR from ddr_scratch_offset 64 GiB, past the end of DDR, 64 GiB "
     "(address_map.ddr.size of vcu1525.yaml); expected ddr_scratch_offset at most 65535 MiB"},
    {"scratch_area_past_ddr", "5:23", "bringup.ddr_scratch_offset",
     "dma-1d needs 2.0 MiB of DDR from ddr_scratch_offset 65535 MiB, past the end of DDR, 64 GiB "
     "(address_map.ddr.size of vcu1525.yaml); expected ddr_scratch_offset at most 65533 MiB"},
    {"scratch_offset_unaligned", "5:23", "bringup.ddr_scratch_offset",
     "12 B is not a multiple of 8 B (the chained copy's descriptors are 8-byte aligned); expected a multiple of 8 B"},
    {"chain_larger_than_ddr", "12:16", "bringup.chain_bytes",
     "dma-chain needs 8.0 TiB of DDR from ddr_scratch_offset 16 MiB, past the end of DDR, 64 GiB "
     "(address_map.ddr.size of vcu1525.yaml); expected buffers that fit in DDR after ddr_scratch_offset"},
    {"strided_rows_larger_than_ddr", "9:15", "bringup.src_stride",
     "dma-2d needs 64.0 TiB of DDR from ddr_scratch_offset 16 MiB, past the end of DDR, 64 GiB "
     "(address_map.ddr.size of vcu1525.yaml); expected buffers that fit in DDR after ddr_scratch_offset"},
    {"engines_nm_unsupported", "7:7", "engines.nm",
     "M = 16 is not supported by the platform (sat.nm_m of vcu1525.yaml: 4, 8); expected N:M with M one of 4, 8"},
    {"engines_scratch_beyond_ddr", "5:23", "engines.ddr_scratch_offset",
     "the self-test stages up to 36 KiB from ddr_scratch_offset 64 GiB, past the end of DDR, 64 GiB "
     "(address_map.ddr.size of vcu1525.yaml); expected ddr_scratch_offset at most 65535 MiB"},
};

class BadSelftestWorkload : public testing::TestWithParam<BadSelftestFile> {};

}  // namespace

TEST_P(BadSelftestWorkload, IsRejectedByTheLoaderWithFileLineAndKey) {
  const BadSelftestFile& bad = GetParam();
  const std::string path = kBadSelftestDir + "/" + bad.name + ".yaml";
  EXPECT_EQ(load_error(path, named_default_config(), UINT64_MAX),
            path + ":" + bad.position + ": " + bad.key + ": " + bad.message);
  // Without a platform the file is valid: what is wrong is what the platform can hold.
  if (std::string(bad.name) != "scratch_offset_unaligned") {
    EXPECT_NO_THROW(load_workload(path));
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSelftestWorkload, testing::ValuesIn(kBadSelftestFiles),
                         [](const testing::TestParamInfo<BadSelftestFile>& instance) {
                           return std::string(instance.param.name);
                         });

TEST(BadSelftestCorpus, EveryFileIsChecked) {
  std::set<std::string> files, listed;
  for (const auto& entry : std::filesystem::directory_iterator(kBadSelftestDir)) files.insert(entry.path().stem().string());
  for (const BadSelftestFile& bad : kBadSelftestFiles) listed.insert(bad.name);
  EXPECT_EQ(files, listed);
}

// rows 65536 x dst_stride 512 KiB fits DDR (32 GiB of destination) but not 16 GiB of host memory.
// By hand: DDR pages 32 GiB + 64 MiB of source + 4 KiB + 256 B, rounded up to 1 MiB pages:
// 32833 MiB; SRAM models 3 x 4 MiB; the firmware's buffers: the source 64 MiB + 8 B, the
// expected and the read-back destination 2 x (32 GiB + 256 B): 64 GiB + 64 MiB + 520 B; in all
// 96 GiB + 141 MiB + 520 B.
TEST(SelftestWorkload, BringupHostMemoryIsCheckedBeforeTheRun) {
  const std::string path =
      write_temp("bringup_host_memory.yaml",
                 "name: b\nprogram: bringup\nbringup:\n  ddr_scratch_offset: 16 MiB\n  copy_bytes: 64 KiB\n"
                 "  rows: 65536\n  row_bytes: 256 B\n  src_stride: 1 KiB\n  dst_stride: 512 KiB\n"
                 "  chain_descriptors: 8\n  chain_bytes: 4 KiB\n  timeout: 100 ms\n");
  EXPECT_EQ(load_error(path, named_default_config(), std::uint64_t{16} << 30),
            path + ":9:15: bringup.dst_stride: dma-2d needs about 96.1 GiB of host memory (DDR pages 32.1 GiB, "
                   "SRAM models 12 MiB, the firmware's buffers 64.1 GiB) but 16 GiB is available (the machine's memory, or less under a cgroup or ulimit -v limit); expected "
                   "smaller bring-up buffers, or a machine with more memory");
  const std::uint64_t needed = (std::uint64_t{96} << 30) + (std::uint64_t{141} << 20) + 520;
  EXPECT_EQ(load_error(path, named_default_config(), needed), "(accepted)");
  EXPECT_NE(load_error(path, named_default_config(), needed - 1), "(accepted)");
}

TEST(SelftestWorkload, EnginesNeedTheirSramFromThePlatform) {
  PlatformConfig config = named_default_config();
  region(config, "sat_sram_c").size = 35 << 10;
  const std::string path = kSource + "/workloads/engines.yaml";
  EXPECT_EQ(load_error(path, config, UINT64_MAX),
            path + ":14:3: engines: the self-test's operands need 36 KiB of SRAM C, address_map.sat_sram_c.size of "
                   "vcu1525.yaml is 35 KiB; expected a platform with at least 32 KiB, 32 KiB and 36 KiB of SRAM A, B "
                   "and C");
  region(config, "sat_sram_c").size = 36 << 10;
  EXPECT_EQ(load_error(path, config, UINT64_MAX), "(accepted)");
}

// The firmware's own check, for a platform the loader did not see.
TEST(SatFirmware, SelftestStopsAtTheProbeWhenTheSramIsTooSmall) {
  PlatformConfig config = default_config();
  region(config, "sat_sram_a").size = 31 << 10;
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  VirtualPlatform vp(config,
                     [](fw::Hal& hal, const fw::BootInfo& boot) {
                       return fw::run_engine_selftest(hal, boot, fw::EngineSelftestParams{});
                     },
                     options);
  const RunStats stats = vp.run();
  EXPECT_EQ(stats.firmware_exit_code, 1) << log.str();
  EXPECT_NE(log.str().find("FAIL sat-probe"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("SRAM A has 31744 B, the self-test's operands need 32768 B"), std::string::npos) << log.str();
}

// The smallest SRAM the loader accepts is enough (every operand fits, bad-sram writes the last
// KiB of C), and M = 32, which the SAT supports, runs (the firmware refused it).
TEST(Satvp, EnginesSelftestRunsWithTheSmallestSramAndMOf32) {
  std::ifstream in(kSource + "/yaml/vcu1525.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"nm_m: [4, 8]", "nm_m: [4, 8, 32]"},
           {"size: 4 MiB         # [assumed] input buffer A;", "size: 32 KiB  #"},
           {"size: 4 MiB         # [assumed] input buffer B", "size: 32 KiB  #"},
           {"size: 4 MiB         # [assumed] output", "size: 36 KiB  #"}}) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
  }
  const std::string platform = write_temp("smallest_sram.yaml", text);
  const Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/engines.yaml --platform " +
                                platform + " --set engines.nm=1:32 --mode bit-accurate --out " + CESTVP_BINARY_DIR +
                                "/test-runs/satvp-engines-small");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("engine self-test: 14 of 14 checks passed (bit-accurate mode)"), std::string::npos)
      << c.output;
}

TEST(Satvp, RunsTheEnginesWorkload) {
  const Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/engines.yaml --mode timing --out " +
                                CESTVP_BINARY_DIR + "/test-runs/satvp-engines");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("engine self-test: 14 of 14 checks passed (timing mode)"), std::string::npos) << c.output;
}

// docs/engines.md's worked example: GEMM 64x64x256, B 2:8 (S = K) on the default platform:
// 4 folds of 64 + 62 = 126 cycles, plus 1: 505; 64 x 64 x 64 MACs executed, 786432 skipped.
TEST(Satvp, JobSparseGemmTakesTheWorkedExamplesCycles) {
  const Command c = run_command(kSatvp + " job --engine stce --op gemm --rows 64 --cols 64 --depth 256 --nm 2:8 "
                                         "--pass ff --mode timing");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(table_value(c.output, "cycles"), 505) << c.output;
  EXPECT_EQ(table_value(c.output, "stall cycles"), 0) << c.output;
  EXPECT_EQ(table_value(c.output, "MACs executed"), 262144) << c.output;
  EXPECT_EQ(table_value(c.output, "MACs skipped"), 786432) << c.output;
  EXPECT_NE(c.output.find("utilisation        50.7%"), std::string::npos) << c.output;  // 262144 / (505 x 1024)
}

// The same GEMM dense: per fold 256 + 62 = 318 (A 64, B 256, C 64 port cycles): 1 + 4 x 318.
TEST(Satvp, JobDenseGemmTakesTheWorkedExamplesCycles) {
  const Command c =
      run_command(kSatvp + " job --engine stce --op gemm --rows 64 --cols 64 --depth 256 --pass ff --mode timing");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(table_value(c.output, "cycles"), 1273) << c.output;
  EXPECT_EQ(table_value(c.output, "MACs executed"), 1048576) << c.output;
  EXPECT_EQ(table_value(c.output, "MACs skipped"), 0) << c.output;
}

TEST(Satvp, JobCsvIsOneHeaderAndOneRow) {
  const Command c = run_command(kSatvp + " job --rows 64 --cols 64 --depth 256 --nm 2:8 --pass ff --mode functional --csv");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  std::vector<std::string> lines = split(c.output, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  ASSERT_EQ(lines.size(), 2u) << c.output;
  const std::vector<std::string> header = split(lines[0], ','), row = split(lines[1], ',');
  ASSERT_EQ(header.size(), row.size()) << c.output;
  std::map<std::string, std::string> field;
  for (std::size_t i = 0; i < header.size(); ++i) field[header[i]] = row[i];
  EXPECT_EQ(field["engine"], "stce");
  EXPECT_EQ(field["op"], "gemm");
  EXPECT_EQ(field["pass"], "ff");
  EXPECT_EQ(field["nm"], "2:8");
  EXPECT_EQ(field["cycles"], "505");
  EXPECT_EQ(field["ops"], "262144");
  EXPECT_EQ(field["ops_skipped"], "786432");
  EXPECT_NEAR(std::stod(field["utilisation"]), 262144.0 / (505 * 1024), 1e-6);
  EXPECT_NEAR(std::stod(field["job_time_us"]), 505 / 180.0, 1e-6);
  EXPECT_GT(std::stod(field["simulated_time_us"]), std::stod(field["job_time_us"]));
  for (const char* key : {"stall_cycles", "sram_read_bytes", "sram_write_bytes", "mode", "shape"})
    EXPECT_TRUE(field.count(key)) << key;
}

TEST(Satvp, JobOnEveryEngineAndOperationRuns) {
  for (const char* args :
       {"--engine stce --op conv --batch 2 --h 8 --w 8 --cin 16 --cout 32 --kernel 3 --pad 1 --pass ff --nm 2:8",
        "--engine stce --op conv --batch 2 --h 8 --w 8 --cin 16 --cout 32 --kernel 3 --stride 2 --pass bp --nm 2:8",
        "--engine stce --op conv --batch 2 --h 8 --w 8 --cin 16 --cout 32 --kernel 3 --pad 1 --pass wu",
        "--engine stce --rows 32 --cols 48 --depth 64 --pass bp --nm 1:4",
        "--engine stce --rows 32 --cols 48 --depth 64 --pass wu",
        "--engine osre --rows 64 --cols 100 --nm 2:8 --dir bwd --src fp32", "--engine wuve --count 1000"}) {
    const Command c = run_command(kSatvp + " job " + std::string(args) + " --mode bit-accurate");
    EXPECT_EQ(c.exit_code, 0) << args << "\n" << c.output;
    EXPECT_GT(table_value(c.output, "cycles"), 0) << args << "\n" << c.output;
  }
}

TEST(Satvp, JobTooLargeForTheSramExitsTwoNamingTheSizes) {
  // A = X[2048][2048] FP16 is 8 MiB; SRAM A holds 4 MiB on the default platform.
  const Command c = run_command(kSatvp + " job --rows 2048 --cols 64 --depth 2048 --mode timing");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("satvp: error: the job needs 8388608 B"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("of SRAM A, which has 4194304 B"), std::string::npos) << c.output;
}

TEST(Satvp, JobOptionsAreChecked) {
  const struct {
    const char* args;
    const char* expect;
  } cases[] = {
      {"--rows 32 --cols 32 --depth 64 --pass wu --nm 2:8", "--nm 2:8: not allowed with --pass wu"},
      {"--rows 32 --cols 32 --depth 64 --nm 3:2", "expected N:M"},
      {"--rows 32 --cols 32 --depth 64 --nm 2:16", "M = 16 is not supported by the platform"},
      {"--rows 32 --cols 32", "a GEMM needs --rows, --cols and --depth"},
      {"--rows 32 --cols 32 --depth 64 --count 5", "--count: not used by a job of --op gemm; expected --count only "
                                                    "with --engine wuve"},
      {"--op conv --h 2 --w 2 --cin 4 --cout 4 --kernel 5", "kernel does not fit"},
  };
  for (const auto& k : cases) {
    const Command c = run_command(kSatvp + " job " + k.args + " --mode timing");
    EXPECT_EQ(c.exit_code, 2) << k.args << "\n" << c.output;
    EXPECT_NE(c.output.find(k.expect), std::string::npos) << k.args << "\n" << c.output;
  }
}

TEST(Satvp, JobHelpListsEveryOption) {
  const Command c = run_command(kSatvp + " job --help");
  EXPECT_EQ(c.exit_code, 0);
  for (const char* opt : {"--platform", "--engine", "--op", "--pass", "--rows", "--cols", "--depth", "--batch", "--h",
                          "--w", "--cin", "--cout", "--kernel", "--stride", "--pad", "--nm", "--dir", "--src", "--count",
                          "--mode", "--seed", "--csv"})
    EXPECT_NE(c.output.find(opt), std::string::npos) << opt;
}
