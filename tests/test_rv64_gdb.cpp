// GDB against the firmware ELF on the RV64 core, as a person debugs it: satvp run --gdb halts at
// the entry point, gdb-multiarch (Debian's, with the ELF's symbols) breaks on a firmware function,
// looks at the stack, registers, memory and a device register, steps, and lets the run finish;
// Ctrl-C to gdb stops the running core. Expected values come from outside the core: the platform
// YAML (addresses), the register specification (the SAT's ID) and the ELF's symbol table (nm).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "satvp_command.h"

extern char** environ;

using namespace cestvp::test;
namespace fs = std::filesystem;

namespace {

const std::string kElf = std::string(CESTVP_BINARY_DIR) + "/firmware/rv64/cestvp-fw.elf";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A program started in the background with its output in a file, SIGINT at its default (a test
// runner may have it ignored), killed if the test ends before it.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const fs::path& output) : output_(output) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    if (posix_spawn(&pid_, args[0], &files, &attr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
  }
  ~Background() {
    if (pid_ > 0 && !done_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  void signal(int sig) const { kill(pid_, sig); }
  // Exit code, or -1 if it did not end within `limit` (it is killed then).
  int wait(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    done_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const { return read_text(output_); }

 private:
  fs::path output_;
  pid_t pid_ = -1;
  bool done_ = false;
};

// satvp run --gdb 0 (a free port) on the RV64 core; the port is read from its log.
struct DebuggedRun {
  fs::path dir;
  Background satvp;
  std::string port;

  DebuggedRun(const std::string& workload, const fs::path& scratch)
      : dir(scratch),
        satvp({kSatvp, "run", "--workload", kSource + "/workloads/" + workload, "--cpu", "rv64", "--gdb", "0", "--out",
               (scratch / "run").string()},
              scratch / "satvp.out") {
    const std::regex waiting(R"(waiting for GDB on 127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 200 && port.empty(); ++i) {
      std::smatch m;
      const std::string out = satvp.output();
      if (std::regex_search(out, m, waiting)) port = m[1];
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
};

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cestvp_gdb_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_script(const fs::path& dir, const std::string& port, const std::string& commands) {
  const fs::path script = dir / "session.gdb";
  std::ofstream(script) << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:" << port << "\n" << commands;
  return script.string();
}

// The ELF's own symbol table, read by binutils: the address GDB must stop at.
std::string symbol_address(const std::string& demangled) {
  const Command nm = run_command("riscv64-linux-gnu-nm -C " + kElf);
  std::istringstream lines(nm.output);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > 19 && line.compare(19, std::string::npos, demangled) == 0) return line.substr(0, 16);
  return "";
}

bool have_gdb() { return run_command("command -v gdb-multiarch").exit_code == 0; }

}  // namespace

TEST(Rv64Gdb, BreaksOnAFirmwareFunctionInspectsStepsAndFinishes) {
  if (!have_gdb()) GTEST_SKIP() << "gdb-multiarch is not installed (scripts/install-deps.sh installs it)";
  const fs::path dir = scratch_dir("session");
  DebuggedRun run("bringup.yaml", dir);
  ASSERT_TRUE(run.satvp.started());
  ASSERT_FALSE(run.port.empty()) << run.satvp.output();
  const std::string script = write_script(dir, run.port,
                                          "break cestvp::fw::Irq::wait\n"
                                          "continue\n"
                                          "bt 3\n"
                                          "info registers pc\n"
                                          "print/x $a1\n"
                                          "set var $t3 = 0x1234abcd\n"
                                          "print/x $t3\n"
                                          "x/1wx 0x4000000000\n"
                                          "next\n"
                                          "stepi\n"
                                          "delete\n"
                                          "continue\n");
  const Command gdb = run_command("timeout -k 5 120 gdb-multiarch -batch -x " + script + " " + kElf);
  const std::string& out = gdb.output;
  // The breakpoint at a named function, at the address the symbol table gives it.
  const std::string wait_addr = symbol_address("cestvp::fw::Irq::wait(unsigned int, unsigned long)");
  ASSERT_FALSE(wait_addr.empty());
  EXPECT_NE(out.find("Breakpoint 1, cestvp::fw::Irq::wait"), std::string::npos) << out;
  EXPECT_NE(out.find("pc             0x" + wait_addr.substr(wait_addr.find_first_not_of('0'))), std::string::npos) << out;
  // A backtrace through the DMA driver (the first interrupt bring-up waits for is the DMA's).
  EXPECT_NE(out.find("#1 "), std::string::npos) << out;
  EXPECT_NE(out.find("cestvp::fw::DmaDriver::wait"), std::string::npos) << out;
  // a1 holds the line Irq::wait waits for: the DMA's, interrupts.dma = 0 in the platform YAML.
  EXPECT_NE(out.find("$1 = 0x0"), std::string::npos) << out;
  // A register written from GDB reads back.
  EXPECT_NE(out.find("$2 = 0x1234abcd"), std::string::npos) << out;
  // The SAT's ID register through debug transport: 'SATV', regmap.yaml's reset value.
  EXPECT_NE(out.find("0x4000000000:\t0x53415456"), std::string::npos) << out;
  // next and stepi stay in the function.
  EXPECT_NE(out.find("\n20\t"), std::string::npos) << out;
  // The run finishes after continue: GDB sees the exit, satvp the passed bring-up.
  EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
  EXPECT_EQ(run.satvp.wait(std::chrono::seconds(60)), 0);
  EXPECT_NE(run.satvp.output().find("bring-up: 7 of 7 checks passed"), std::string::npos) << run.satvp.output();
  fs::remove_all(dir);
}

TEST(Rv64Gdb, CtrlCStopsTheRunningCoreWithoutSideEffects) {
  if (!have_gdb()) GTEST_SKIP() << "gdb-multiarch is not installed (scripts/install-deps.sh installs it)";
  const fs::path dir = scratch_dir("ctrlc");
  DebuggedRun run("engines.yaml", dir);  // seconds of guest code: long enough to interrupt
  ASSERT_TRUE(run.satvp.started());
  ASSERT_FALSE(run.port.empty()) << run.satvp.output();
  const std::string script = write_script(dir, run.port,
                                          "continue\n"
                                          "bt 1\n"
                                          "x/1wx 0x4000000000\n"
                                          "x/1wx 0x4000000000\n"
                                          "kill\n");
  Background gdb({"/usr/bin/gdb-multiarch", "-batch", "-x", script, kElf}, dir / "gdb.out");
  ASSERT_TRUE(gdb.started());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  gdb.signal(SIGINT);  // what Ctrl-C in GDB's terminal sends it
  EXPECT_EQ(gdb.wait(std::chrono::seconds(60)), 0) << gdb.output();
  const std::string out = gdb.output();
  EXPECT_NE(out.find("Program received signal SIGINT"), std::string::npos) << out;
  EXPECT_NE(out.find("#0 "), std::string::npos) << out;
  // Reading a device register twice gives the same value: debug reads have no side effect.
  const std::string id = "0x4000000000:\t0x53415456";
  const std::size_t first = out.find(id);
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find(id, first + 1), std::string::npos) << out;
  EXPECT_NE(out.find("killed"), std::string::npos) << out;
  // The run ends (the firmware did not finish) instead of hanging.
  const int code = run.satvp.wait(std::chrono::seconds(30));
  EXPECT_NE(code, -1) << run.satvp.output();
  EXPECT_EQ(code, 130) << run.satvp.output();  // stopped by the person at the debugger, as by Ctrl-C
  EXPECT_NE(run.satvp.output().find("stopped by GDB (kill)"), std::string::npos) << run.satvp.output();
  fs::remove_all(dir);
}
