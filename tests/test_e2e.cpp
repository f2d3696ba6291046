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

#include "config.h"
#include "satvp_command.h"
#include "vp.h"
#include "workload.h"

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
TEST(Satvp, WholeBadInputCorpusExitsWith2AndOneMessage) {
  namespace fs = std::filesystem;
  const std::string out = std::string(CESTVP_BINARY_DIR) + "/test-runs/bad-input";
  std::vector<std::string> files;
  for (const char* corpus : {"bad_platform", "bad_train"})
    for (const auto& entry : fs::directory_iterator(kSource + "/tests/data/" + corpus))
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 80u);
  const std::regex line_column("^[0-9]+:[0-9]+: ");
  for (const std::string& file : files) {
    const bool platform = file.find("/bad_platform/") != std::string::npos;
    const std::string input = platform ? "--platform " + file + " --workload " + kSource + "/workloads/bringup.yaml"
                                       : "--workload " + file;
    const Command c = run_command("cd " + kSource + " && " + kSatvp + " run " + input + " --out " + out);
    EXPECT_EQ(c.exit_code, 2) << file << "\n" << c.output;
    for (const char* crash : {"simulator error", "terminate", "Aborted"})
      EXPECT_EQ(c.output.find(crash), std::string::npos) << file << "\n" << c.output;
    const std::string tag = "satvp: error: ";
    std::vector<std::string> errors;
    std::istringstream lines(c.output);
    for (std::string line; std::getline(lines, line);)
      if (line.compare(0, tag.size(), tag) == 0) errors.push_back(line.substr(tag.size()));
    EXPECT_EQ(errors.size(), 1u) << file << "\n" << c.output;
    if (errors.size() != 1) continue;
    const std::string& error = errors[0];
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
