// Faults a broken firmware causes, as the platform reports them (FaultLog), and the watchdog
// that ends runs which would never end: each test boots the whole platform with a small
// firmware that makes one mistake on purpose, then checks what the platform says against what
// the firmware itself saw (its bus status, the engine's ERROR register) and the address map.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <cestvp/regs.h>

#include "satvp_command.h"
#include "vp.h"

using namespace cestvp;

namespace {

namespace rd = regs::dma;
namespace rs = regs::sat;

using test::default_config;

struct Booted {
  std::ostringstream log;
  VpOptions options;
  Booted() { options.log = &log; }
};

std::uint64_t unmapped(const fw::BootInfo& boot) { return boot.dma.base + boot.dma.size + 0x100000; }

// A DMA copy of `bytes` from src to dst, started, with its completion interrupt enabled.
void start_copy(fw::Hal& hal, const fw::BootInfo& boot, std::uint64_t src, std::uint64_t dst, std::uint32_t bytes) {
  const std::uint64_t d = boot.dma.base;
  hal.write32(d + rd::SRC_LO, static_cast<std::uint32_t>(src));
  hal.write32(d + rd::SRC_HI, static_cast<std::uint32_t>(src >> 32));
  hal.write32(d + rd::DST_LO, static_cast<std::uint32_t>(dst));
  hal.write32(d + rd::DST_HI, static_cast<std::uint32_t>(dst >> 32));
  hal.write32(d + rd::LENGTH, bytes);
  hal.write32(d + rd::ROWS, 1);
  hal.write32(d + rd::CTRL, rd::CTRL_IRQ_DONE_EN_MASK | rd::CTRL_IRQ_ERROR_EN_MASK);
  hal.write32(boot.irqc.base + regs::irqc::ENABLE, 1u << boot.irq_dma);
  hal.write32(d + rd::START, rd::START_GO_MASK);
}

}  // namespace

TEST(Faults, UnmappedAccessNamesInitiatorAddressAndFirmwareStep) {
  Booted b;
  std::uint64_t addr = 0;
  fw::BusStatus seen{};
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       hal.phase("probe the hole");
                       addr = unmapped(boot);
                       std::uint32_t v = 0;
                       seen = hal.read32(addr, v);
                       return 1;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_EQ(seen, fw::BusStatus::address_error);
  EXPECT_EQ(s.faults, 1u);
  const FaultLog::Fault f = vp.faults().kept().at(0);
  EXPECT_EQ(f.source, "bus");
  EXPECT_EQ(f.what, "ADDRESS_ERROR");
  EXPECT_EQ(f.initiator, "cpu");
  EXPECT_EQ(f.address, addr);
  EXPECT_EQ(f.place, "unmapped");
  EXPECT_EQ(f.detail, "read of 4 B");
  EXPECT_EQ(f.step, "probe the hole");
  const std::string line = FaultLog::describe(f);
  EXPECT_NE(line.find("firmware step: probe the hole"), std::string::npos) << line;
}

// A fault the firmware announces (Hal::expect_faults) is marked provoked on purpose and does
// not count among the faults that can explain a failure; the announcement covers exactly the
// number of faults it names.
TEST(Faults, AnnouncedFaultsAreKeptApartFromTheOthers) {
  Booted b;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       std::uint32_t v = 0;
                       hal.expect_faults(2);
                       hal.read32(unmapped(boot), v);  // announced
                       hal.read32(unmapped(boot), v);  // announced
                       hal.read32(unmapped(boot), v);  // one more than announced
                       hal.expect_faults(1);
                       hal.expect_faults(0);           // withdrawn before it happened
                       hal.read32(unmapped(boot), v);
                       return 1;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_EQ(s.faults, 4u);
  EXPECT_EQ(s.unexpected_faults, 2u);
  const std::vector<FaultLog::Fault> kept = vp.faults().kept();
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_TRUE(kept[0].expected);
  EXPECT_TRUE(kept[1].expected);
  EXPECT_FALSE(kept[2].expected);
  EXPECT_FALSE(kept[3].expected);
  EXPECT_NE(FaultLog::describe(kept[0]).find("(provoked on purpose by the firmware)"), std::string::npos);
  EXPECT_EQ(FaultLog::describe(kept[2]).find("provoked"), std::string::npos);
}

TEST(Faults, MisalignedAndReadOnlyRegisterAccessesNameTheRegister) {
  Booted b;
  fw::BusStatus misaligned{}, read_only{};
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       std::uint32_t v = 0;
                       misaligned = hal.read32(boot.sat_regs.base + rs::STCE_START + 2, v);
                       read_only = hal.write32(boot.sat_regs.base + rs::ID, 1);
                       return 0;
                     },
                     b.options);
  vp.run();
  EXPECT_EQ(misaligned, fw::BusStatus::address_error);
  EXPECT_EQ(read_only, fw::BusStatus::command_error);
  const auto kept = vp.faults().kept();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].place, "sat_regs.STCE_START + 2 (misaligned)");
  EXPECT_EQ(kept[1].place, "sat_regs.ID");
  EXPECT_EQ(kept[1].what, "COMMAND_ERROR");
  EXPECT_EQ(kept[1].detail, "write of 4 B");
}

// A job with no shape: the engine's ERROR register and the fault agree on the cause.
TEST(Faults, EngineErrorNamesEngineCauseAndStartRegister) {
  Booted b;
  std::uint32_t error_register = 0;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       hal.phase("layer 0 FF");
                       hal.write32(boot.sat_regs.base + rs::IRQ_ENABLE, rs::IRQ_STATUS_STCE_ERROR_MASK);
                       hal.write32(boot.irqc.base + regs::irqc::ENABLE, 1u << boot.irq_sat);
                       hal.write32(boot.sat_regs.base + rs::STCE_START, rs::STCE_START_GO_MASK);
                       hal.wait_for_interrupt(fw::kNoTimeout);
                       hal.read32(boot.sat_regs.base + rs::STCE_ERROR, error_register);
                       return 1;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_TRUE(s.firmware_finished);
  ASSERT_EQ(s.faults, 1u);
  ASSERT_NE(error_register, 0u);
  const FaultLog::Fault f = vp.faults().kept().at(0);
  EXPECT_EQ(f.source, "sat.stce");
  EXPECT_EQ(f.what, rs::to_string(static_cast<rs::StceErrorCause>(error_register)));
  EXPECT_EQ(f.place, "sat_regs.STCE_START");
  EXPECT_EQ(f.address, vp.boot_info().sat_regs.base + rs::STCE_START);
  EXPECT_EQ(f.step, "layer 0 FF");
}

TEST(Faults, DmaErrorNamesTheFailingAddressOnTheBusAndInTheEngine) {
  Booted b;
  std::uint32_t code = 0, addr_lo = 0;
  std::uint64_t bad = 0;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       bad = unmapped(boot);
                       start_copy(hal, boot, bad, boot.ddr.base, 1024);
                       hal.wait_for_interrupt(fw::kNoTimeout);
                       hal.read32(boot.dma.base + rd::ERROR_CODE, code);
                       hal.read32(boot.dma.base + rd::ERROR_ADDR_LO, addr_lo);
                       return 1;
                     },
                     b.options);
  vp.run();
  EXPECT_EQ(code, static_cast<std::uint32_t>(rd::ErrorCodeCause::READ_ERROR));
  EXPECT_EQ(addr_lo, static_cast<std::uint32_t>(bad));
  const auto kept = vp.faults().kept();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].source, "bus");
  EXPECT_EQ(kept[0].initiator, "dma");
  EXPECT_EQ(kept[0].address, bad);
  EXPECT_EQ(kept[1].source, "dma");
  EXPECT_EQ(kept[1].what, "READ_ERROR");
  EXPECT_EQ(kept[1].address, bad);
  EXPECT_EQ(kept[1].place, "unmapped");
  // The diagnostic dump shows the DMA's error registers as the firmware read them.
  char expected[64];
  std::snprintf(expected, sizeof expected, "ERROR_CODE=0x%x", code);
  EXPECT_NE(vp.diagnostics().find(expected), std::string::npos) << vp.diagnostics();
}

TEST(Faults, DmaStartWhileBusyIsReportedAndTheTransferGoesOn) {
  Booted b;
  std::uint32_t code = 0;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       start_copy(hal, boot, boot.ddr.base, boot.ddr.base + (1 << 20), 64 << 10);
                       hal.write32(boot.dma.base + rd::START, rd::START_GO_MASK);
                       hal.read32(boot.dma.base + rd::ERROR_CODE, code);
                       return 0;
                     },
                     b.options);
  vp.run();
  EXPECT_EQ(code, static_cast<std::uint32_t>(rd::ErrorCodeCause::START_WHILE_BUSY));
  ASSERT_EQ(vp.faults().count(), 1u);
  const FaultLog::Fault f = vp.faults().kept().at(0);
  EXPECT_EQ(f.source, "dma");
  EXPECT_EQ(f.what, "START_WHILE_BUSY");
  EXPECT_EQ(f.place, "dma.START");
}

TEST(Faults, StopOnFaultEndsTheRunAtTheFirstFault) {
  Booted b;
  b.options.stop_on_fault = true;
  bool went_on = false;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       std::uint32_t v = 0;
                       hal.read32(unmapped(boot), v);
                       hal.charge_host_time(1'000'000);  // the stop takes effect at the next wait
                       went_on = true;
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_FALSE(s.firmware_finished);
  EXPECT_FALSE(went_on);
  EXPECT_EQ(s.faults, 1u);
}

// ------------------------------------------------------------------------------ watchdog

TEST(Watchdog, EndsAWaitForAnInterruptThatCannotCome) {
  Booted b;
  b.options.no_progress = sc_core::sc_time(1, sc_core::SC_MS);
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo&) {
                       hal.phase("wait for STCE");
                       hal.wait_for_interrupt(fw::kNoTimeout);  // nothing was started or enabled
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_FALSE(s.firmware_finished);
  EXPECT_EQ(s.watchdog, Watchdog::Verdict::no_progress);
  EXPECT_EQ(s.simulated, sc_core::sc_time(2, sc_core::SC_MS));  // a window with progress (the phase), one without
  const std::string dump = vp.diagnostics();
  EXPECT_NE(dump.find("firmware: waiting for an interrupt since 0.000 us, with no timeout; step: wait for STCE"),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("the wait cannot end"), std::string::npos) << dump;
}

TEST(Watchdog, CatchesAFirmwarePollingARegisterThatNeverChanges) {
  Booted b;
  b.options.no_progress = sc_core::sc_time(100, sc_core::SC_US);
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       std::uint32_t status = 0;
                       do hal.read32(boot.sat_regs.base + rs::STCE_STATUS, status);  // never started
                       while ((status & rs::STCE_STATUS_BUSY_MASK) == 0);
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_FALSE(s.firmware_finished);
  EXPECT_EQ(s.watchdog, Watchdog::Verdict::no_progress);
  EXPECT_LE(s.simulated, sc_core::sc_time(201, sc_core::SC_US));
  // The dump's last transactions are the polling reads.
  EXPECT_NE(vp.diagnostics().find("sat_regs.STCE_STATUS"), std::string::npos);
}

TEST(Watchdog, LongHostWorkAndBusyEnginesAreProgress) {
  Booted b;
  b.options.no_progress = sc_core::sc_time(1, sc_core::SC_MS);
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo& boot) {
                       hal.charge_host_time(5'000'000'000);  // 5 ms of host work in one piece
                       start_copy(hal, boot, boot.ddr.base, boot.ddr.base + (8 << 20), 4 << 20);
                       hal.wait_for_interrupt(fw::kNoTimeout);  // a 4 MiB copy: about a millisecond
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_TRUE(s.firmware_finished);
  EXPECT_EQ(s.watchdog, Watchdog::Verdict::none);
  EXPECT_GT(s.simulated, sc_core::sc_time(5, sc_core::SC_MS));
}

TEST(Watchdog, SimulatedTimeLimitEndsARunThatKeepsWorking) {
  Booted b;
  b.options.time_limit = sc_core::sc_time(3, sc_core::SC_MS);
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo&) {
                       for (;;) hal.charge_host_time(10'000'000);  // 10 us at a time, forever
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_FALSE(s.firmware_finished);
  EXPECT_EQ(s.watchdog, Watchdog::Verdict::time_limit);
  EXPECT_EQ(s.simulated, sc_core::sc_time(3, sc_core::SC_MS));
}

TEST(Watchdog, StopRequestHaltsTheFirmwareAtItsNextHalCall) {
  Booted b;
  std::atomic<int> stop{0};
  b.options.stop_request = &stop;
  int calls = 0;
  VirtualPlatform vp(default_config(),
                     [&](fw::Hal& hal, const fw::BootInfo&) {
                       for (;; ++calls) {
                         if (calls == 100) stop = 2;  // what the SIGINT handler does
                         hal.charge_host_time(1000);
                       }
                       return 0;
                     },
                     b.options);
  const RunStats s = vp.run();
  EXPECT_FALSE(s.firmware_finished);
  EXPECT_EQ(calls, 100);
  EXPECT_EQ(s.simulated, sc_core::sc_time(100, sc_core::SC_NS));
}

// ------------------------------------------------------------------------- satvp's exit codes

namespace {

using test::kSatvp;
using test::kSource;
using test::run_command;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::string kRuns = std::string(CESTVP_BINARY_DIR) + "/test-runs/";

}  // namespace

TEST(SatvpExit, TimeLimitExits6WithADiagnosticDump) {
  const std::string out = kRuns + "time-limit";
  const test::Command c = run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " + out +
                                      " --max-sim-time 100us");
  EXPECT_EQ(c.exit_code, 6) << c.output;
  EXPECT_NE(c.output.find("satvp: watchdog: the simulated-time limit of 100 us was reached"), std::string::npos)
      << c.output;
  const std::string dump = read_text(out + "/diagnostic.txt");
  EXPECT_NE(dump.find("diagnostic dump at 100.000 us simulated"), std::string::npos) << dump;
  EXPECT_NE(dump.find("last bus transactions"), std::string::npos) << dump;
}

// Bring-up's first fault is one it provokes on purpose (a write to the read-only ID register).
TEST(SatvpExit, StopOnFaultExits5AndNamesTheFault) {
  const std::string out = kRuns + "stop-on-fault";
  const test::Command c =
      run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --out " + out + " --stop-on-fault");
  EXPECT_EQ(c.exit_code, 5) << c.output;
  EXPECT_NE(c.output.find("satvp: hardware fault: the run stopped at the first fault (--stop-on-fault): "), std::string::npos)
      << c.output;
  EXPECT_NE(c.output.find("bus: COMMAND_ERROR, cpu write of 4 B at 0x4000000000 (sat_regs.ID); firmware step: "
                          "sat-registers"),
            std::string::npos)
      << c.output;
}

TEST(SatvpExit, BadWatchdogOptionIsABadInput) {
  const test::Command c =
      run_command(kSatvp + " run --workload " + kSource + "/workloads/bringup.yaml --watchdog 5 --out " + kRuns + "bad");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("satvp: error: --watchdog 5: "), std::string::npos) << c.output;
}

// A long training run is interrupted once it is under way: it stops at the firmware's next
// step, exits 130, and leaves a partial report, the iterations done and a VCD that GTKWave's
// converter reads to the end.
TEST(SatvpExit, SigintStopsATrainingRunWithAPartialReportAndACompleteVcd) {
  const std::string out = kRuns + "sigint";
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  const std::string run = kSatvp + " run --workload " + kSource +
                          "/workloads/fashion_mnist_mlp.yaml --set dataset.name=synthetic --set iterations=20000 "
                          "--set eval_samples=0 --set export.log_interval=10 --out " + out + " --vcd " + out +
                          "/trace.vcd";
  const test::Command c = run_command("(" + run + " > " + out + "/console.txt 2>&1 & pid=$!; " +
                                      "for i in $(seq 300); do grep -q 'iteration *10/' " + out +
                                      "/console.txt && break; sleep 0.1; done; kill -INT $pid; wait $pid; "
                                      "echo exit=$?)");
  EXPECT_NE(c.output.find("exit=130"), std::string::npos) << c.output << read_text(out + "/console.txt");
  const std::string console = read_text(out + "/console.txt");
  EXPECT_NE(console.find("satvp: stopped by SIGINT at "), std::string::npos) << console;
  const std::string report = read_text(out + "/report.json");
  EXPECT_NE(report.find("\"partial\": true"), std::string::npos) << report;
  EXPECT_NE(report.find("\"stopped_by\": \"SIGINT\""), std::string::npos) << report;
  EXPECT_NE(read_text(out + "/metrics.csv").find("\n9,"), std::string::npos);  // iterations 0..9 at least
  const test::Command fst = run_command("vcd2fst " + out + "/trace.vcd " + out + "/trace.fst");
  EXPECT_EQ(fst.exit_code, 0) << fst.output;
  // The VCD reaches past the end of the last iteration the firmware recorded (times in ps).
  const std::string vcd = read_text(out + "/trace.vcd");
  ASSERT_NE(vcd.find("$timescale 1ps $end"), std::string::npos);
  const double vcd_end_us = std::stod(vcd.substr(vcd.rfind("\n#") + 2)) / 1e6;
  const std::string metrics = read_text(out + "/metrics.csv");
  const std::string last_row = metrics.substr(metrics.rfind('\n', metrics.size() - 2) + 1);
  EXPECT_GE(vcd_end_us, std::stod(last_row.substr(last_row.rfind(',') + 1))) << last_row;
}

// Bring-up provokes four faults on purpose. When it fails for another reason (here a DMA
// timeout), the exit code and the message must not blame them: exit 1, not 5. The checks after
// the timeout are not run while the DMA is still busy, instead of failing on START_WHILE_BUSY.
TEST(SatvpExit, BringupFailureIsNotBlamedOnTheFaultsItProvokes) {
  const test::Command c = run_command(kSatvp + " run --workload " + kSource +
                                      "/workloads/bringup.yaml --set 'bringup.timeout=5 us' --out " + kRuns +
                                      "bringup-timeout");
  EXPECT_EQ(c.exit_code, 1) << c.output;
  EXPECT_EQ(c.output.find("hardware fault"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("FAIL dma-1d         DMA driver: no DMA interrupt within the timeout"), std::string::npos)
      << c.output;
  EXPECT_NE(c.output.find("FAIL dma-2d         not run: the DMA is still busy with the transfer that timed out in "
                          "dma-1d"),
            std::string::npos)
      << c.output;
  EXPECT_EQ(c.output.find("START_WHILE_BUSY"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("faults              2 (bus, engine and DMA errors; 2 provoked on purpose by the firmware)"),
            std::string::npos)
      << c.output;
}
