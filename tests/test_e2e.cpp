// End to end: the platform boots from the default platform YAML, the firmware runs on the host
// CPU model, and its verdict comes back out; satvp reports bad input with exit codes.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/bringup.h>
#include <cestvp/mmio.h>
#include <cestvp/regs.h>
#include <cestvp/sat_probe.h>

#include "config/config.h"
#include "loader/host_memory.h"
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

}  // namespace

TEST(EndToEnd, BringupWorkloadPassesEveryCheck) {
  const Workload workload = load_workload(kSource + "/workloads/bringup.yaml");
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) { return fw::run_bringup(hal, boot, workload.bringup); },
                     options);
  const RunStats stats = vp.run();
  EXPECT_TRUE(stats.firmware_finished);
  EXPECT_EQ(stats.firmware_exit_code, 0) << log.str();
  EXPECT_NE(log.str().find("bring-up: 7 of 7 checks passed"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("FAIL"), std::string::npos) << log.str();
  // The DMA really moved the data: 1-D 64 KiB + 2-D 64 x 256 B + chain 8 x 4 KiB + SRAM 2 x 64 KiB.
  EXPECT_EQ(vp.dma.bytes_moved(), 65536u + 64u * 256u + 8u * 4096u + 2u * 65536u);
  // Two intentional register errors from the firmware (RO write, unmapped read) and the DMA's
  // read of an unmapped address reach the bus as error responses.
  EXPECT_EQ(stats.bus_errors, 3u);
  // The platform's fault log has them, and the DMA engine's own READ_ERROR, each in its step.
  const std::vector<FaultLog::Fault> faults = vp.faults().kept();
  ASSERT_EQ(faults.size(), 4u);
  EXPECT_EQ(faults[0].what, "COMMAND_ERROR");
  EXPECT_EQ(faults[0].address, vp.boot_info().sat_regs.base + regs::sat::ID);
  EXPECT_EQ(faults[0].step, "sat-registers");
  EXPECT_EQ(faults[2].initiator, "dma");
  EXPECT_EQ(faults[3].what, "READ_ERROR");
  EXPECT_EQ(faults[3].step, "dma-error");
}

TEST(EndToEnd, BringupStopsWhenTheHardwareDoesNotMatch) {
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  VirtualPlatform vp(default_config(),
                     [](fw::Hal& hal, const fw::BootInfo& boot) {
                       fw::BootInfo wrong = boot;
                       wrong.sat_sram_c.size /= 2;
                       return fw::run_bringup(hal, wrong, fw::BringupParams{});
                     },
                     options);
  EXPECT_EQ(vp.run().firmware_exit_code, 1);
  EXPECT_NE(log.str().find("FAIL sat-probe      SRAM C size is 0x400000, expected 0x200000"), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("bring-up: stopped"), std::string::npos);
  EXPECT_EQ(log.str().find("dma-1d"), std::string::npos) << "no DMA test after a failed probe";
}

TEST(EndToEnd, FirmwareSeesBusErrorsAndTheRunRecordsThem) {
  VirtualPlatform vp(default_config(),
                     [](fw::Hal& hal, const fw::BootInfo&) {
                       std::uint32_t v = 0;
                       return hal.read32(0xFFFF'0000'0000ull, v) == fw::BusStatus::address_error ? 0 : 1;
                     },
                     VpOptions{});
  const RunStats stats = vp.run();
  EXPECT_EQ(stats.firmware_exit_code, 0);
  ASSERT_EQ(stats.faults, 1u);
  EXPECT_EQ(vp.faults().kept()[0].address, 0xFFFF'0000'0000ull);
  EXPECT_EQ(vp.faults().kept()[0].detail, "read of 4 B");
}

TEST(EndToEnd, FirmwareStopsOnSramSizeMismatch) {
  std::string problem;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       fw::BootInfo wrong = boot;
                       wrong.sat_sram_b.size *= 2;
                       const fw::SatProbe p = fw::probe_sat(hal, wrong);
                       problem = p.problem;
                       return p.ok ? 0 : 1;
                     },
                     VpOptions{});
  EXPECT_EQ(vp.run().firmware_exit_code, 1);
  EXPECT_EQ(problem, "SRAM B size is 0x400000, expected 0x800000");
}

TEST(EndToEnd, FirmwareStopsWhenNoSatAnswersAtTheAddress) {
  std::string problem;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       fw::BootInfo wrong = boot;
                       wrong.sat_regs = boot.sat_sram_a;  // SRAM reads as zeros, not 'SATV'
                       const fw::SatProbe p = fw::probe_sat(hal, wrong);
                       problem = p.problem;
                       return p.ok ? 0 : 1;
                     },
                     VpOptions{});
  EXPECT_EQ(vp.run().firmware_exit_code, 1);
  EXPECT_NE(problem.find("SAT ID register is 0x0, expected 0x53415456"), std::string::npos) << problem;
}

TEST(EndToEnd, FirmwareWaitingForAnInterruptThatNeverComesDoesNotFinish) {
  VirtualPlatform vp(default_config(),
                     [](fw::Hal& hal, const fw::BootInfo&) {
                       hal.wait_for_interrupt(fw::kNoTimeout);
                       return 0;
                     },
                     VpOptions{});
  const RunStats stats = vp.run();
  EXPECT_FALSE(stats.firmware_finished);
}

TEST(EndToEnd, WaitForInterruptTimesOutAfterTheGivenSimulatedTime) {
  std::uint64_t before = 0, after = 0;
  bool woke = true;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo&) {
                       before = hal.now_ps();
                       woke = hal.wait_for_interrupt(5000);
                       after = hal.now_ps();
                       return 0;
                     },
                     VpOptions{});
  vp.run();
  EXPECT_FALSE(woke);
  EXPECT_EQ(after - before, 5'000'000u);  // 5000 ns in ps
}

TEST(Satvp, BootsTheBringupWorkloadAndExitsZero) {
  const std::string out = std::string(CESTVP_BINARY_DIR) + "/test-runs/satvp-bringup";
  const Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " + out +
                                " --vcd " + out + "/trace.vcd --trace-log " + out + "/trace.log");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("firmware reported success"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("simulated time"), std::string::npos);
  EXPECT_NE(c.output.find("wall time"), std::string::npos);
  EXPECT_NE(c.output.find("bus transactions"), std::string::npos);
  EXPECT_NE(c.output.find("M SAT cycles per wall second"), std::string::npos);
  for (const char* file : {"/platform.yaml", "/workload.yaml", "/trace.vcd", "/trace.gtkw", "/trace.log"})
    EXPECT_TRUE(std::ifstream(out + file).good()) << file;
  // The resolved configuration written into the run directory loads again, to the same values.
  const PlatformConfig resolved = load_platform_config(out + "/platform.yaml");
  EXPECT_EQ(to_yaml(resolved).substr(to_yaml(resolved).find('\n')),
            to_yaml(default_config()).substr(to_yaml(default_config()).find('\n')));
}

// Every documented chain length (1..4096 descriptors; every power of two and the extremes),
// with the smallest buffers so that the sweep is quick. Past 64 descriptors the descriptor
// table used to lie inside the destination area, under the guard fill, and the DMA read guard
// bytes as descriptors.
TEST(Satvp, BringupPassesForEveryChainLength) {
  const std::string run = kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " +
                          CESTVP_BINARY_DIR + "/test-runs/bringup-chain --set 'bringup.copy_bytes=4 B' "
                          "--set bringup.rows=1 --set 'bringup.row_bytes=4 B' --set 'bringup.src_stride=4 B' "
                          "--set 'bringup.dst_stride=4 B' --set 'bringup.chain_bytes=4 B'";
  for (unsigned descriptors = 1; descriptors <= 4096; descriptors *= 2) {
    const Command c = run_command(run + " --set bringup.chain_descriptors=" + std::to_string(descriptors));
    EXPECT_EQ(c.exit_code, 0) << descriptors << " descriptors\n" << c.output;
    EXPECT_NE(c.output.find("bring-up: 7 of 7 checks passed"), std::string::npos) << descriptors << "\n" << c.output;
  }
  // And with blocks of the default 4 KiB, the case of the report (65 descriptors).
  const Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " +
                                CESTVP_BINARY_DIR + "/test-runs/bringup-chain --set bringup.chain_descriptors=65");
  EXPECT_EQ(c.exit_code, 0) << c.output;
}

// Timing mode moves no data: bring-up runs every check, compares no destination, says so, and
// takes the simulated time of a functional run (the same transfers, reads and host work).
TEST(Satvp, BringupInTimingModeRunsEveryCheckWithoutComparingData) {
  const std::string run = kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " +
                          CESTVP_BINARY_DIR + "/test-runs/bringup-timing";
  const Command timing = run_command(run + " --mode timing");
  EXPECT_EQ(timing.exit_code, 0) << timing.output;
  EXPECT_NE(timing.output.find("bring-up: timing mode: the DMA moves no data, its destinations are not compared"),
            std::string::npos)
      << timing.output;
  EXPECT_NE(timing.output.find("bring-up: 7 of 7 checks passed (timing mode: the data of 4 DMA checks not compared)"),
            std::string::npos)
      << timing.output;
  EXPECT_NE(timing.output.find("PASS dma-1d         65536 B in"), std::string::npos) << timing.output;
  EXPECT_NE(timing.output.find("16512 words read back, not compared"), std::string::npos) << timing.output;
  const Command functional = run_command(run + " --mode functional");
  EXPECT_EQ(functional.exit_code, 0) << functional.output;
  EXPECT_EQ(functional.output.find("not compared"), std::string::npos) << functional.output;
  const auto simulated = [](const std::string& out) {
    const std::size_t at = out.find("  simulated time");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_FALSE(simulated(timing.output).empty()) << timing.output;
  EXPECT_EQ(simulated(timing.output), simulated(functional.output));
}

// What the DMA checks need, worked out by hand from the layout of bringup.cpp for the defaults
// of workloads/bringup.yaml (64 KiB copy; 64 rows of 256 B, strides 1 KiB and 512 B; 8 blocks
// of 4 KiB; SRAM A of 4 MiB).
TEST(Bringup, NeedsFollowTheChecksLayout) {
  const fw::BringupParams p;  // the defaults are the workload's
  const std::vector<fw::BringupNeed> needs = fw::bringup_needs(p, 4u << 20);
  ASSERT_EQ(needs.size(), 5u);
  // dma-1d: source 64 KiB, 4 KiB gap, destination 64 KiB + 2 x 256 B of guards.
  EXPECT_STREQ(needs[0].check, "dma-1d");
  EXPECT_EQ(needs[0].scratch_bytes, 65536u + 4096u + 65536u + 512u);
  EXPECT_EQ(needs[0].host_bytes, 65536u + 2 * (65536u + 512u));
  // dma-2d: source 64 x 1 KiB (+8: the rows start 8 B in), destination 4 KiB after 64 x 1 KiB,
  // 64 x 512 B + 256 B.
  EXPECT_STREQ(needs[1].check, "dma-2d");
  EXPECT_EQ(needs[1].scratch_bytes, 65536u + 4096u + 32768u + 256u);
  EXPECT_EQ(needs[1].host_bytes, 65544u + 2 * 33024u);
  // dma-chain: source 32 KiB, destination 8 x (4 KiB + 64 B) 4 KiB after it, then 4 KiB and the
  // table of 8 x 48 B.
  EXPECT_STREQ(needs[2].check, "dma-chain");
  EXPECT_EQ(needs[2].scratch_bytes, 32768u + 4096u + 8u * 4160u + 4096u + 8u * 48u);
  EXPECT_EQ(needs[2].host_bytes, 32768u + 2 * 8u * 4160u + 8u * 48u);
  // dma-sram: 64 KiB there and back; SRAM A smaller than copy_bytes bounds it.
  EXPECT_STREQ(needs[3].check, "dma-sram");
  EXPECT_EQ(needs[3].scratch_bytes, 65536u + 4096u + 65536u);
  EXPECT_EQ(fw::bringup_needs(p, 16u << 10)[3].scratch_bytes, 16384u + 4096u + 16384u);
  EXPECT_STREQ(needs[4].check, "dma-error");
  EXPECT_EQ(needs[4].scratch_bytes, 256u);
  // 4096 descriptors: the table after the whole destination area (the bug put it at 2 x total
  // + 8 KiB, inside the destination as soon as 64 B x descriptors > 4 KiB).
  fw::BringupParams many;
  many.chain_descriptors = 4096;
  many.chain_bytes = 4;
  EXPECT_EQ(fw::bringup_needs(many, 4u << 20)[2].scratch_bytes, 16384u + 4096u + 4096u * 68u + 4096u + 4096u * 48u);
}

TEST(Satvp, BadPlatformFilesAreRejectedWithFileLineAndKey) {
  const struct {
    const char* file;
    const char* expect;  // part of the message
  } cases[] = {
      {"unknown_key.yaml", "unknown_key.yaml:"},
      {"overlap.yaml", "overlap"},
      {"wrong_type_string.yaml", "wrong_type_string.yaml:"},
      {"missing_key.yaml", "missing_key.yaml:"},
  };
  for (const auto& k : cases) {
    const std::string path = kSource + "/tests/data/bad_platform/" + k.file;
    ASSERT_TRUE(std::ifstream(path).good()) << path;
    const Command c = run_command(kSatvp + " run --platform " + path + " --workload " + kSource +
                                  "/workloads/bringup.yaml --out " + CESTVP_BINARY_DIR + "/test-runs/bad");
    EXPECT_EQ(c.exit_code, 2) << k.file << ": " << c.output;
    EXPECT_NE(c.output.find("satvp: error: "), std::string::npos) << c.output;
    EXPECT_NE(c.output.find(k.expect), std::string::npos) << c.output;
  }
}

// Every file of both bad-input corpora (docs/reliability.md, "Bad input"): satvp exits with 2
// and one error line that starts with the file, line and column, and nothing escapes as a crash.
// It runs in the source root, which the corpus's dataset paths are relative to.
// A run is checked against the memory the process may use, not only the machine's: 10^8
// iterations need about 4.5 GiB (the records in DDR and read back), refused under a 4 GiB
// address-space limit at once, and allowed without it (stopped at the first iteration here).
TEST(Satvp, HostMemoryLimitFollowsUlimit) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of shadow address space at start-up: under ulimit -v it
  // cannot start at all (its own message says so).
  GTEST_SKIP() << "an AddressSanitizer build cannot run under ulimit -v";
#endif
  const std::string run = kSatvp + " run --workload " + kSource + "/tests/data/bad_train/host_memory_iterations.yaml" +
                          " --out " + std::string(CESTVP_BINARY_DIR) + "/test-runs/host-memory";
  const Command limited = run_command("ulimit -v 4194304; exec " + run);
  EXPECT_EQ(limited.exit_code, 2) << limited.output;
  EXPECT_NE(limited.output.find("iterations: the run needs about 4.5 GiB of host memory"), std::string::npos)
      << limited.output;
  EXPECT_NE(limited.output.find("but 4.0 GiB is available (the machine's memory, or less under a cgroup or ulimit -v "
                                "limit)"),
            std::string::npos)
      << limited.output;
  if (host_memory_limit() < (std::uint64_t{5} << 30)) GTEST_SKIP() << "this machine is too small to run it";
  const Command unlimited = run_command(run + " --max-sim-time 1ms");
  EXPECT_EQ(unlimited.exit_code, 6) << unlimited.output;
}

TEST(Satvp, WholeBadInputCorpusExitsWith2AndOneMessage) {
  namespace fs = std::filesystem;
  const std::string out = std::string(CESTVP_BINARY_DIR) + "/test-runs/bad-input";
  std::vector<std::string> files;
  // The host_memory_* files are bad input on a machine smaller than they need: their table in
  // test_workload_train.cpp loads them for a fixed machine size; here they would depend on
  // this one's.
  for (const char* corpus : {"bad_platform", "bad_train", "bad_bringup"})
    for (const auto& entry : fs::directory_iterator(kSource + "/tests/data/" + corpus))
      if (entry.path().filename().string().rfind("host_memory_", 0) != 0) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 80u);
  const std::regex line_column("^[0-9]+:[0-9]+: ");
  for (const std::string& file : files) {
    const bool platform = file.find("/bad_platform/") != std::string::npos;
    const std::string input = platform ? "--platform " + file + " --workload " + kSource + "/workloads/bringup.yaml"
                                       : "--workload " + file;
    // A file that is not refused would run: `timeout` ends it as a failure, not the whole test.
    const Command c = run_command("cd " + kSource + " && timeout 30 " + kSatvp + " run " + input + " --out " + out);
    EXPECT_EQ(c.exit_code, 2) << file << "\n" << c.output;
    for (const char* crash : {"simulator error", "terminate", "Aborted"})
      EXPECT_EQ(c.output.find(crash), std::string::npos) << file << "\n" << c.output;
    const std::string tag = "satvp: error: ";
    std::vector<std::string> errors;
    std::istringstream lines(c.output);
    for (std::string line; std::getline(lines, line);)
      if (line.compare(0, tag.size(), tag) == 0) errors.push_back(line.substr(tag.size()));
    EXPECT_EQ(errors.size(), 1u) << file << "\n" << c.output;
    // The message is the whole output, on one line: bytes from the file are shown escaped.
    EXPECT_EQ(c.output.find('\n'), c.output.size() - 1) << file << "\n" << c.output;
    EXPECT_EQ(c.output.find('\0'), std::string::npos) << file;
    if (errors.size() != 1) continue;
    const std::string& error = errors[0];
    EXPECT_NE(error.find("; expected "), std::string::npos) << error;
    EXPECT_TRUE(error.compare(0, file.size() + 1, file + ":") == 0 &&
                std::regex_search(error.substr(file.size() + 1), line_column))
        << error;
  }
}

TEST(Satvp, MissingPlatformFileIsAUserError) {
  const Command c = run_command(kSatvp + " run --platform /nonexistent/platform.yaml --workload " + kSource +
                                "/workloads/bringup.yaml");
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.output.find("/nonexistent/platform.yaml"), std::string::npos) << c.output;
}

TEST(Satvp, UnknownOptionIsAUserError) {
  const Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --frobnicate");
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.output.find("frobnicate"), std::string::npos) << c.output;
}

TEST(Satvp, SetOverridesAWorkloadKey) {
  const std::string run = kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " +
                          CESTVP_BINARY_DIR + "/test-runs/set";
  const Command ok = run_command(run + " --set bringup.rows=8 --set bringup.chain_descriptors=2");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  std::ifstream resolved(std::string(CESTVP_BINARY_DIR) + "/test-runs/set/workload.yaml");
  const std::string text((std::istreambuf_iterator<char>(resolved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("  rows: 8\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  chain_descriptors: 2\n"), std::string::npos) << text;
  const Command typo = run_command(run + " --set bringup.rowz=8");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.output.find("--set bringup.rowz=8: bringup has no key 'rowz' (did you mean 'rows'?)"), std::string::npos)
      << typo.output;
  const Command bad = run_command(run + " --set bringup.rows=many");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--set bringup.rows=many"), std::string::npos) << bad.output;
}

TEST(Satvp, HelpListsEveryOption) {
  const Command c = run_command(kSatvp + " run --help");
  EXPECT_EQ(c.exit_code, 0);
  for (const char* opt : {"--platform", "--workload", "--out", "--vcd", "--trace-log", "--mode", "--set", "--log-level"})
    EXPECT_NE(c.output.find(opt), std::string::npos) << opt;
}
