// The RV64 host core as a user meets it, through satvp: the same programs give the same results
// on both cores (bring-up, the engine self-test, training to the last bit and the same job
// sequence on the bus), a guest program that faults ends the run with a report that names the
// fault, and what satvp refuses to boot (bad ELFs, options that do not go together).
//
// The training comparison is the strongest: the firmware ELF is compiled by another compiler for
// another ISA, yet it must program the SAT and the DMA with the same registers in the same order
// (the transaction log), and the engines must return the same bits (the weights).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <cestvp/regs.h>

#include "loader/elf_loader.h"
#include "satvp_command.h"
#include "test_files.h"

namespace cestvp {
namespace {

namespace fs = std::filesystem;
using test::Command;
using test::kSatvp;
using test::kSource;
using test::run_command;
using test::test_dir;
using test::write_file;

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

const std::string kFirmwareDir = std::string(CESTVP_BINARY_DIR) + "/firmware/rv64";
const std::string kFirmwareElf = kFirmwareDir + "/cestvp-fw.elf";
const std::string kBringup = kSource + "/workloads/bringup.yaml";

// satvp's exit codes (platform/cli/cmd_run.h, docs/reliability.md).
constexpr int kExitBadInput = 2;
constexpr int kExitHardwareFault = 5;  // a fault the firmware did not provoke on purpose ended the run

// ---------------------------------------------------------------------------- running satvp

struct SatvpRun {
  Command command;
  fs::path dir;
  double seconds = 0;
};

// `satvp run` of a workload into test_dir()/name (emptied first), timed.
SatvpRun satvp_run(const std::string& name, const std::string& workload, const std::string& options) {
  SatvpRun run;
  run.dir = test_dir() / name;
  fs::remove_all(run.dir);
  const auto start = std::chrono::steady_clock::now();
  run.command = run_command(kSatvp + " run --workload " + workload + " --out " + run.dir.string() + " " + options);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

// The durations go to the test's output and to its XML result (ctest --output-junit).
void report_seconds(const std::string& what, const SatvpRun& native, const SatvpRun& rv64) {
  std::printf("[ duration ] %s: native %.2f s, rv64 %.2f s\n", what.c_str(), native.seconds, rv64.seconds);
  testing::Test::RecordProperty("native_seconds", std::to_string(native.seconds));
  testing::Test::RecordProperty("rv64_seconds", std::to_string(rv64.seconds));
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string read_first_bytes(const fs::path& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(count, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

// "" when a and b are equal, else where they first differ; a whole log would drown the failure.
std::string first_difference(const std::vector<std::string>& native, const std::vector<std::string>& rv64) {
  const std::size_t common = std::min(native.size(), rv64.size());
  for (std::size_t i = 0; i < common; ++i)
    if (native[i] != rv64[i])
      return "entry " + std::to_string(i) + ": native '" + native[i] + "', rv64 '" + rv64[i] + "'";
  if (native.size() != rv64.size())
    return "native has " + std::to_string(native.size()) + " entries, rv64 " + std::to_string(rv64.size());
  return "";
}

// ---------------------------------------------------------------------------- the firmware's checks

// The firmware's PASS and FAIL lines and its summary, without the log's time stamp. What they
// measure in time differs between the cores (each times the host by its own model), so
// "65536 B in 18.883 us (3.47 GB/s)" reads "65536 B in # us (# GB/s)"; cycle and operation
// counts, tolerances and addresses stay.
std::vector<std::string> check_lines(const std::string& output) {
  static const std::regex check(R"(fw info: ((PASS|FAIL) .*|.*checks passed.*))");
  static const std::regex measured(R"([0-9]+(\.[0-9]+)? (us|GB/s))");
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, check)) lines.push_back(std::regex_replace(m[1].str(), measured, "# $2"));
  }
  return lines;
}

// The check's name: the word after PASS.
std::vector<std::string> passed_checks(const std::vector<std::string>& lines) {
  std::vector<std::string> names;
  for (const std::string& line : lines)
    if (line.rfind("PASS ", 0) == 0) names.push_back(line.substr(5, line.find(' ', 5) - 5));
  return names;
}

void expect_same_checks(const std::string& workload, const std::vector<std::string>& expected_checks,
                        const std::string& summary) {
  const SatvpRun native = satvp_run("native", workload, "--cpu native");
  const SatvpRun rv64 = satvp_run("rv64", workload, "--cpu rv64");
  report_seconds(fs::path(workload).filename().string(), native, rv64);
  ASSERT_EQ(native.command.exit_code, 0) << native.command.output;
  ASSERT_EQ(rv64.command.exit_code, 0) << rv64.command.output;
  EXPECT_CONTAINS(rv64.command.output, "RV64 core ");  // it did run on the RV64 core
  EXPECT_EQ(native.command.output.find("RV64 core "), std::string::npos);
  const std::vector<std::string> native_lines = check_lines(native.command.output);
  const std::vector<std::string> rv64_lines = check_lines(rv64.command.output);
  EXPECT_EQ(passed_checks(native_lines), expected_checks) << native.command.output;
  EXPECT_EQ(passed_checks(rv64_lines), expected_checks) << rv64.command.output;
  ASSERT_FALSE(rv64_lines.empty());
  EXPECT_EQ(rv64_lines.back(), summary);
  EXPECT_EQ(first_difference(native_lines, rv64_lines), "");
}

TEST(Rv64SameAsNative, BringupPassesTheSameChecks) {
  expect_same_checks(kBringup,
                     {"sat-probe", "sat-registers", "dma-1d", "dma-2d", "dma-chain", "dma-sram", "dma-error"},
                     "bring-up: 7 of 7 checks passed");
}

TEST(Rv64SameAsNative, EngineSelfTestPassesTheSameChecks) {
  expect_same_checks(kSource + "/workloads/engines.yaml",
                     {"sat-probe", "gemm-dense", "linear-ff-nm", "linear-bp-nm", "linear-wu", "conv-ff-nm",
                      "conv-bwd-data-nm", "conv-bwd-weight", "gemm-sdgp-acc", "conv-bwd-data-sdgp", "wuve-sgd",
                      "concurrent", "bad-nm", "bad-sram"},
                     "engine self-test: 14 of 14 checks passed (functional mode)");
}

// The firmware's phase reaches the VCD (as text, through the phase filter) and the timeline from
// both cores alike: the RV64 core's through its simulation-control device.
TEST(Rv64SameAsNative, PhasesReachTheVcdAndTheTimeline) {
  const std::vector<std::string> checks{"sat-probe", "sat-registers", "dma-1d",   "dma-2d",
                                        "dma-chain", "dma-sram",      "dma-error"};
  for (const std::string cpu : {"native", "rv64"}) {
    const fs::path dir = test_dir() / ("phases-" + cpu);
    const SatvpRun run = satvp_run("phases-" + cpu, kBringup,
                                   "--cpu " + cpu + " --vcd " + (dir / "trace.vcd").string() + " --timeline " +
                                       (dir / "timeline.json").string());
    ASSERT_EQ(run.command.exit_code, 0) << run.command.output;
    EXPECT_CONTAINS(read_bytes(dir / "trace.vcd"), "$scope module firmware $end");
    std::string expected_filter = "0 -\n";
    for (std::size_t i = 0; i < checks.size(); ++i) expected_filter += std::to_string(i + 1) + " " + checks[i] + "\n";
    EXPECT_EQ(read_bytes(dir / "trace.firmware.phase.filter"), expected_filter) << cpu;
    const std::string timeline = read_bytes(dir / "timeline.json");
    for (const std::string& check : checks) EXPECT_CONTAINS(timeline, "\"name\": \"" + check + "\"");
  }
}

// ---------------------------------------------------------------------------- training

// A CSV file (metrics.csv, eval.csv: "a,b"; engines.csv: "a, b") by column name.
class Csv {
 public:
  explicit Csv(const fs::path& path) {
    std::ifstream in(path);
    std::string line;
    if (std::getline(in, line)) header_ = split(line);
    while (std::getline(in, line))
      if (!line.empty()) rows_.push_back(split(line));
  }
  std::size_t rows() const { return rows_.size(); }
  // The column's cells; none (and a test failure) if there is no such column.
  std::vector<std::string> column(const std::string& name) const {
    const auto at = std::find(header_.begin(), header_.end(), name);
    if (at == header_.end()) {
      ADD_FAILURE() << "no column '" << name << "'";
      return {};
    }
    std::vector<std::string> cells;
    for (const auto& row : rows_) cells.push_back(row.at(static_cast<std::size_t>(at - header_.begin())));
    return cells;
  }

 private:
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> cells;
    std::istringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) {
      const std::size_t text = cell.find_first_not_of(' ');
      cells.push_back(text == std::string::npos ? "" : cell.substr(text));
    }
    return cells;
  }
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// One line of the transaction log (sim/tracer.h): "<start> ns  <initiator> -> <target>
// R|W|-  0x<address>  <length>  <response>  <duration> ns". The log has no data values.
struct Transaction {
  std::string initiator, target, command, address, length, response;
  // What the firmware asked for, without when.
  std::string text() const { return target + ' ' + command + ' ' + address + ' ' + length + ' ' + response; }
};

std::vector<Transaction> read_trace_log(const fs::path& path) {
  std::vector<Transaction> log;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string start, ns, arrow;
    Transaction t;
    fields >> start >> ns >> t.initiator >> arrow >> t.target >> t.command >> t.address >> t.length >> t.response;
    log.push_back(t);
  }
  return log;
}

// The register writes by which the firmware programs the SAT and the DMA, in order.
std::vector<std::string> job_programming(const std::vector<Transaction>& log) {
  std::vector<std::string> writes;
  for (const Transaction& t : log)
    if (t.initiator == "cpu" && t.command == "W" && (t.target == "sat_regs" || t.target == "dma"))
      writes.push_back(t.text());
  return writes;
}

// The DMA's transfers as they reach memory: the addresses and lengths the firmware gave it.
std::vector<std::string> dma_transfers(const std::vector<Transaction>& log) {
  std::vector<std::string> transfers;
  for (const Transaction& t : log)
    if (t.initiator == "dma") transfers.push_back(t.text());
  return transfers;
}

std::size_t writes_to(const std::vector<Transaction>& log, std::uint64_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%016" PRIx64, address);
  return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const Transaction& t) {
    return t.initiator == "cpu" && t.command == "W" && t.address == text;
  }));
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Trains `workload` on both cores and compares everything that does not depend on how fast the
// host is: the weights to the bit, the loss and accuracy of every iteration and of the
// evaluation, each engine's jobs and work, and the firmware's register writes to the SAT and
// the DMA in order. Not compared: times, idle cycles and utilisation (the RV64 core's host time
// is its instruction count, the native core's the host cost table), and stall cycles (they
// depend on when the DMA and the engines overlap).
void expect_same_training(const std::string& label, const std::string& workload, unsigned iterations,
                          unsigned eval_samples, const std::vector<std::string>& weight_files) {
  const std::string options =
      "--set iterations=" + std::to_string(iterations) + " --set eval_samples=" + std::to_string(eval_samples);
  // Each log in its run's directory (satvp_run's "native" and "rv64"), which satvp locks for the run.
  const fs::path native_log = test_dir() / "native" / "trace.log", rv64_log = test_dir() / "rv64" / "trace.log";
  const SatvpRun native = satvp_run("native", workload, options + " --cpu native --trace-log " + native_log.string());
  const SatvpRun rv64 = satvp_run("rv64", workload, options + " --cpu rv64 --trace-log " + rv64_log.string());
  report_seconds(label, native, rv64);
  ASSERT_EQ(native.command.exit_code, 0) << native.command.output;
  ASSERT_EQ(rv64.command.exit_code, 0) << rv64.command.output;
  const std::string finished = "training: finished, " + std::to_string(iterations) + " of " + std::to_string(iterations);
  EXPECT_CONTAINS(native.command.output, finished);
  EXPECT_CONTAINS(rv64.command.output, finished);
  EXPECT_CONTAINS(rv64.command.output, "RV64 core ");

  // The weights, byte for byte.
  EXPECT_EQ(file_names(native.dir / "weights"), weight_files);
  EXPECT_EQ(file_names(rv64.dir / "weights"), weight_files);
  for (const std::string& name : weight_files) {
    const std::string a = read_bytes(native.dir / "weights" / name), b = read_bytes(rv64.dir / "weights" / name);
    EXPECT_GT(a.size(), 128u) << name;  // more than the .npy header
    EXPECT_TRUE(a == b) << name << " differs between the cores";
  }

  // Loss and accuracy of every iteration and of the evaluation.
  const Csv native_metrics(native.dir / "metrics.csv"), rv64_metrics(rv64.dir / "metrics.csv");
  EXPECT_EQ(native_metrics.rows(), iterations);
  for (const char* column : {"iteration", "loss", "accuracy", "lr"})
    EXPECT_EQ(first_difference(native_metrics.column(column), rv64_metrics.column(column)), "") << column;
  const Csv native_eval(native.dir / "eval.csv"), rv64_eval(rv64.dir / "eval.csv");
  ASSERT_EQ(native_eval.rows(), 1u);  // after the last iteration only: fewer than eval_interval
  EXPECT_EQ(native_eval.column("samples"), std::vector<std::string>{std::to_string(eval_samples)});
  for (const char* column : {"iteration", "samples", "loss", "accuracy"})
    EXPECT_EQ(first_difference(native_eval.column(column), rv64_eval.column(column)), "") << column;

  // Each engine's jobs and work.
  const Csv native_engines(native.dir / "engines.csv"), rv64_engines(rv64.dir / "engines.csv");
  EXPECT_EQ(native_engines.column("Engine"), (std::vector<std::string>{"STCE", "OSRE", "WUVE"}));
  for (const char* column : {"Engine", "Jobs", "Busy Cycles", "Ops", "Ops Skipped", "SRAM Read Bytes",
                             "SRAM Write Bytes"})
    EXPECT_EQ(first_difference(native_engines.column(column), rv64_engines.column(column)), "") << column;

  // The job sequence: the log has no data values, so the register writes compare by address
  // (with length and response); the DMA's own transfers then show that the values written to
  // its registers (addresses, lengths, chains) agree too.
  const std::vector<Transaction> native_trace = read_trace_log(native_log), rv64_trace = read_trace_log(rv64_log);
  const std::vector<std::string> native_writes = job_programming(native_trace);
  EXPECT_GT(native_writes.size(), 1000u);
  EXPECT_EQ(first_difference(native_writes, job_programming(rv64_trace)), "");
  const std::vector<std::string> native_transfers = dma_transfers(native_trace);
  EXPECT_GT(native_transfers.size(), 1000u);
  EXPECT_EQ(first_difference(native_transfers, dma_transfers(rv64_trace)), "");
  // And the log agrees with engines.csv: one START write per job.
  const std::uint64_t sat = test::default_config().region("sat_regs").base;
  const std::vector<std::string> jobs = rv64_engines.column("Jobs");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(std::to_string(writes_to(rv64_trace, sat + regs::sat::STCE_START)), jobs[0]);
  EXPECT_EQ(std::to_string(writes_to(rv64_trace, sat + regs::sat::OSRE_START)), jobs[1]);
  EXPECT_EQ(std::to_string(writes_to(rv64_trace, sat + regs::sat::WUVE_START)), jobs[2]);

  if (!testing::Test::HasFailure()) {  // tens of MB each; kept to look at when the test fails
    fs::remove(native_log);
    fs::remove(rv64_log);
  }
}

// The issue asks for at least 20 iterations of the MLP; 200 test samples keep the evaluation short.
TEST(Rv64SameAsNative, MlpTrainsToTheSameBits) {
  expect_same_training("fashion_mnist_mlp, 20 iterations", kSource + "/workloads/fashion_mnist_mlp.yaml", 20, 200,
                       {"1_linear.bias.npy", "1_linear.weight.npy", "3_linear.bias.npy", "3_linear.weight.npy",
                        "5_linear.bias.npy", "5_linear.weight.npy"});
}

// At least 10 iterations of the CNN; its host layers (im2col, pooling) make the RV64 run the
// longest of the suite, so the evaluation is one batch.
TEST(Rv64SameAsNative, CnnTrainsToTheSameBits) {
  expect_same_training("fashion_mnist_cnn, 10 iterations", kSource + "/workloads/fashion_mnist_cnn.yaml", 10, 64,
                       {"0_conv2d.weight.npy", "3_conv2d.weight.npy", "7_linear.bias.npy", "7_linear.weight.npy",
                        "9_linear.bias.npy", "9_linear.weight.npy"});
}

// ---------------------------------------------------------------------------- guest faults

std::string guest_fault_elf(const std::string& kind) { return kFirmwareDir + "/guest-fault-" + kind + ".elf"; }

// "pc 0x<16 hex digits> in <function>+0x<offset>", as the core names a guest address, with the
// function's address read from the ELF's symbol table.
std::string pc_in(const std::string& elf, const std::string& function, std::uint64_t offset) {
  const GuestImage image = load_guest_elf(elf);
  const std::optional<std::uint64_t> addr = image.address_of(function);
  if (!addr) {
    ADD_FAILURE() << elf << " has no function " << function;
    return "";
  }
  char text[64];
  std::snprintf(text, sizeof text, "pc 0x%016" PRIx64 " in ", *addr + offset);
  char tail[24];
  std::snprintf(tail, sizeof tail, "+0x%" PRIx64, offset);
  return text + function + tail;
}

// Boots guest-fault-<kind>.elf on the bring-up workload: the run ends with exit 5 and a
// diagnostic dump; satvp itself ends normally (a signal would show as exit code -1 here).
Command run_guest_fault(const std::string& kind) {
  const SatvpRun run = satvp_run(kind, kBringup, "--cpu rv64 --firmware " + guest_fault_elf(kind));
  std::printf("[ duration ] guest-fault-%s.elf: %.2f s\n", kind.c_str(), run.seconds);
  EXPECT_EQ(run.command.exit_code, kExitHardwareFault) << run.command.output;
  EXPECT_TRUE(fs::exists(run.dir / "diagnostic.txt"));
  return run.command;
}

// The core stopped at the fault: the program never got to report anything.
void expect_stopped_at_fault(const Command& c) {
  EXPECT_CONTAINS(c.output, "satvp: guest fault: the RV64 core stopped the firmware: ");
  EXPECT_CONTAINS(c.output, "satvp: firmware did not finish");
}

// The 32-bit `unimp` at the function's first byte.
TEST(Rv64GuestFault, IllegalInstructionNamesTheInstructionAndItsFunction) {
  const Command c = run_guest_fault("illegal");
  expect_stopped_at_fault(c);
  const std::string where = pc_in(guest_fault_elf("illegal"), "guest_faults::execute_illegal_instruction()", 0);
  EXPECT_CONTAINS(c.output, "guest fault ILLEGAL_INSTRUCTION at " + where + ": instruction 0xc0001073\n");
}

// The 16-bit `c.unimp` at the function's first byte, a `ret` (0x8082) after it.
TEST(Rv64GuestFault, IllegalCompressedInstructionNamesTheInstructionAndItsFunction) {
  const Command c = run_guest_fault("illegal-compressed");
  expect_stopped_at_fault(c);
  const std::string where =
      pc_in(guest_fault_elf("illegal-compressed"), "guest_faults::execute_illegal_compressed_instruction()", 0);
  EXPECT_CONTAINS(c.output, "guest fault ILLEGAL_INSTRUCTION at " + where + ": instruction 0x0000\n");
}

// The core names the start of the block of instructions that faulted: the function's entry.
TEST(Rv64GuestFault, UnmappedReadNamesTheAddressAndItsFunction) {
  const Command c = run_guest_fault("unmapped-read");
  expect_stopped_at_fault(c);
  const std::string where = pc_in(guest_fault_elf("unmapped-read"), "guest_faults::read_unmapped_address()", 0);
  EXPECT_CONTAINS(c.output, "guest fault UNMAPPED_READ at " + where + ": read of 4 B at 0x0000007000000000");
}

TEST(Rv64GuestFault, UnmappedWriteNamesTheAddressAndItsFunction) {
  const Command c = run_guest_fault("unmapped-write");
  expect_stopped_at_fault(c);
  const std::string where = pc_in(guest_fault_elf("unmapped-write"), "guest_faults::write_unmapped_address()", 0);
  EXPECT_CONTAINS(c.output, "guest fault UNMAPPED_WRITE at " + where + ": write of 4 B at 0x0000007000000000");
}

// `lw` at sat_regs + 1: devices take aligned accesses, so the core stops with a misaligned-load
// fault naming the address, and the device sees nothing of it.
TEST(Rv64GuestFault, MisalignedDeviceReadIsAFault) {
  const Command c = run_guest_fault("misaligned-device");
  expect_stopped_at_fault(c);
  const std::string where = pc_in(guest_fault_elf("misaligned-device"), "guest_faults::read_device_misaligned(unsigned long)", 0);
  EXPECT_CONTAINS(c.output, "guest fault LOAD_MISALIGNED at " + where + ": read of 4 B at 0x0000004000000001");
}

// abort() ends in glibc's raise: the core names the function of the system call that raised
// SIGABRT, which the ELF's symbol table must confirm.
TEST(Rv64GuestFault, AbortNamesTheFunctionThatRaisedIt) {
  const Command c = run_guest_fault("abort");
  expect_stopped_at_fault(c);
  static const std::regex report(
      R"(guest fault ABORT at pc 0x([0-9a-f]{16}) in (\S+): the firmware called abort\(\))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.output, m, report)) << c.output;
  const GuestImage image = load_guest_elf(guest_fault_elf("abort"));
  EXPECT_EQ(m[2].str(), image.function_at(std::stoull(m[1].str(), nullptr, 16)));
}

// ---------------------------------------------------------------------------- what satvp refuses

// satvp run --cpu rv64 --firmware `elf`: exit 2, one line "satvp: error: <elf>: <problem>", and
// nothing written: the ELF is checked before the run starts.
Command expect_refused(const std::string& elf, const std::string& problem) {
  const SatvpRun run = satvp_run("run", kBringup, "--cpu rv64 --firmware " + elf);
  EXPECT_EQ(run.command.exit_code, kExitBadInput) << run.command.output;
  EXPECT_CONTAINS(run.command.output, "satvp: error: " + elf + ": " + problem);
  EXPECT_FALSE(fs::exists(run.dir / "platform.yaml"));
  return run.command;
}

TEST(Rv64BadElf, MissingFile) {
  expect_refused((test_dir() / "missing.elf").string(),
                 "no such file or directory; expected a readable regular file (the RV64 firmware ELF)");
}

TEST(Rv64BadElf, Directory) {
  const fs::path dir = test_dir() / "a-directory.elf";
  fs::create_directories(dir);
  expect_refused(dir.string(), "is a directory; expected a regular file (the RV64 firmware ELF)");
}

TEST(Rv64BadElf, EmptyFile) {
  expect_refused(write_file("empty.elf", ""), "empty file (0 bytes); expected the RISC-V firmware ELF");
}

// Cut inside the program headers, and cut before the section headers (at the end of the file,
// after the segments and the debug information).
TEST(Rv64BadElf, TruncatedCopiesOfTheFirmware) {
  const std::string elf = read_bytes(kFirmwareElf);
  ASSERT_GT(elf.size(), 100000u);
  const auto u16_at = [&](std::size_t offset) {  // little-endian
    return std::to_string(static_cast<unsigned char>(elf[offset]) | static_cast<unsigned char>(elf[offset + 1]) << 8);
  };
  const std::string phnum = u16_at(56), shnum = u16_at(60);  // e_phnum, e_shnum of an ELF64 header
  expect_refused(write_file("first-100-bytes.elf", elf.substr(0, 100)),
                 "truncated at 100 bytes, short of the " + phnum + " program headers");
  const std::size_t half = elf.size() / 2;
  expect_refused(write_file("first-half.elf", elf.substr(0, half)),
                 "truncated at " + std::to_string(half) + " bytes, short of the " + shnum + " section headers");
}

// satvp itself: a real x86-64 executable. Its first 64 KiB (the headers) are enough for the
// loader to judge it, and stay under the loader's size limit in every build (the ASan build's
// satvp is larger than the 64 MiB an ELF may have).
TEST(Rv64BadElf, X86Executable) {
  expect_refused(write_file("x86-64.elf", read_first_bytes(kSatvp, 64 << 10)),
                 "an ELF for x86-64 (e_machine 62); expected RISC-V (e_machine 243, EM_RISCV)");
}

TEST(Rv64BadElf, TextFile) {
  expect_refused(write_file("notes.elf", "firmware: cestvp-fw.elf\n"),
                 "not an ELF file (starts with 66 69 72 6d 77 61 72 65..., not 7f 45 4c 46)");
}

// The guest program linked at 0x10000 instead of host RAM: its code would land in DDR.
TEST(Rv64BadElf, LinkedForAnotherHostRam) {
  const AddressRange ram = test::default_config().region("host_ram");
  char range[64];
  std::snprintf(range, sizeof range, "[0x%" PRIx64 ",0x%" PRIx64 ")", ram.base, ram.base + ram.size);
  const Command c = expect_refused(kFirmwareDir + "/guest-linked-in-ddr.elf", "PT_LOAD segment 0 [0x10000,");
  EXPECT_CONTAINS(c.output, std::string("(code) lies outside host RAM ") + range +
                                " (host.ram in the platform YAML); expected the firmware linked for host RAM");
}

TEST(Rv64Options, GdbNeedsTheRv64Core) {
  const SatvpRun run = satvp_run("run", kBringup, "--cpu native --gdb 1234");
  EXPECT_EQ(run.command.exit_code, kExitBadInput) << run.command.output;
  EXPECT_CONTAINS(run.command.output, "satvp: error: --gdb 1234: GDB debugs the firmware ELF on the RV64 core; "
                                      "expected --cpu rv64");
}

TEST(Rv64Options, TimingModeNeedsTheNativeCore) {
  const SatvpRun run = satvp_run("run", kBringup, "--cpu rv64 --mode timing");
  EXPECT_EQ(run.command.exit_code, kExitBadInput) << run.command.output;
  EXPECT_CONTAINS(run.command.output, "satvp: error: --mode timing: ");
  EXPECT_CONTAINS(run.command.output, "expected --cpu native for timing runs");
}

}  // namespace
}  // namespace cestvp
