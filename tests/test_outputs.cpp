// Outputs (Reliability II, classes 1 to 3): an output path must be a regular file or absent,
// every write is checked, and a run directory belongs to one run at a time. The special files
// (FIFOs, sockets) are made in the test's own directory; a full disk is a file size limit
// (RLIMIT_FSIZE, `ulimit -f`), which makes write() fail with EFBIG exactly where a full file
// system fails with ENOSPC, without privileges.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "output_file.h"
#include "report/run_dir.h"
#include "satvp_command.h"
#include "test_files.h"

namespace fs = std::filesystem;
using cestvp::test::kSatvp;
using cestvp::test::kSource;
using cestvp::test::run_command;

// The test's directory, emptied: special files from an earlier run would be in the way.
fs::path fresh_dir() {
  const fs::path dir = cestvp::test::test_dir();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

namespace cestvp {
namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path make_fifo(const fs::path& path) {
  EXPECT_EQ(::mkfifo(path.c_str(), 0644), 0) << path;
  return path;
}

bool is_named_pipe(const fs::path& path) { return fs::is_fifo(fs::symlink_status(path)); }

// The names in a directory that end in ".tmp": what a failed atomic write would leave.
std::vector<std::string> tmp_files(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().extension() == ".tmp") found.push_back(entry.path().string());
  return found;
}

TEST(OutputPath, RegularFilesAndAbsentPathsAreOutputsAndNothingElseIs) {
  const fs::path dir = fresh_dir();
  std::ofstream(dir / "file") << "x";
  fs::create_directories(dir / "subdir");
  make_fifo(dir / "fifo");
  fs::create_symlink(dir / "file", dir / "to_file");
  fs::create_symlink(dir / "fifo", dir / "to_fifo");
  fs::create_symlink("not_yet", dir / "dangling");
  fs::create_symlink("loop_b", dir / "loop_a");
  fs::create_symlink("loop_a", dir / "loop_b");

  EXPECT_EQ(output_path_problem((dir / "file").string()), "");
  EXPECT_EQ(output_path_problem((dir / "absent").string()), "");
  EXPECT_EQ(output_path_problem((dir / "to_file").string()), "");
  EXPECT_EQ(output_path_problem((dir / "dangling").string()), "");  // a shell would create not_yet
  EXPECT_EQ(output_path_problem((dir / "subdir").string()), "is a directory");
  EXPECT_EQ(output_path_problem((dir / "fifo").string()), "is a FIFO (named pipe)");
  EXPECT_EQ(output_path_problem((dir / "to_fifo").string()),
            "is a FIFO (named pipe) (through the symlink to " + (dir / "fifo").string() + ")");
  EXPECT_EQ(output_path_problem((dir / "loop_a").string()), "Too many levels of symbolic links");
  EXPECT_EQ(output_path_problem((dir / "file" / "below_a_file").string()),
            "its directory " + (dir / "file").string() + " is not a directory");
  EXPECT_EQ(output_path_problem((dir / "missing_dir" / "x").string()),
            "its directory " + (dir / "missing_dir").string() + ": No such file or directory");

  // A socket is neither. A socket's path must fit sun_path (108 bytes), which the test's
  // directory in a deep build tree may not: bind it in a short temporary folder.
  char short_dir[] = "/tmp/satvp-sock-XXXXXX";
  ASSERT_NE(::mkdtemp(short_dir), nullptr);
  const std::string sock_path = std::string(short_dir) + "/sock";
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(output_path_problem(sock_path), "is a socket");
  ::close(sock);
  fs::remove_all(short_dir);
  EXPECT_TRUE(tmp_files(dir).empty());
  EXPECT_FALSE(fs::exists(dir / (".satvp-probe-" + std::to_string(::getpid()))));
}

TEST(OutputPath, AtomicWriteNeverReplacesASpecialFileAndWritesThroughSymlinks) {
  const fs::path dir = fresh_dir();
  const fs::path fifo = make_fifo(dir / "out.json");
  EXPECT_EQ(test::error_of<OutputError>([&] { write_text_atomically(fifo.string(), "{}"); }),
            fifo.string() + ": is a FIFO (named pipe); not replaced");
  EXPECT_TRUE(is_named_pipe(fifo));
  fs::create_directories(dir / "d.json");
  EXPECT_EQ(test::error_of<OutputError>([&] { write_text_atomically((dir / "d.json").string(), "{}"); }),
            (dir / "d.json").string() + ": is a directory; not replaced");
  EXPECT_TRUE(fs::is_directory(dir / "d.json"));

  std::ofstream(dir / "target.txt") << "old";
  fs::create_symlink("target.txt", dir / "link.txt");
  write_text_atomically((dir / "link.txt").string(), "new");
  EXPECT_TRUE(fs::is_symlink(dir / "link.txt"));  // still a link, as after `echo new > link.txt`
  EXPECT_EQ(read_text(dir / "target.txt"), "new");
  EXPECT_TRUE(tmp_files(dir).empty());
}

// Runs `body` in a child process with a file size limit of `limit` bytes and returns its exit
// code: the limit and the ignored SIGXFSZ must not reach the test process.
template <typename Body>
int with_file_size_limit(rlim_t limit, Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &rl);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(OutputFile, AWriteThatDoesNotFitFailsNamesTheErrorAndRemovesThePartialFile) {
  const fs::path path = fresh_dir() / "trace.log";
  const int code = with_file_size_limit(100'000, [&] {
    OutputFile file(path.string());
    const std::string line(100, 'x');
    for (int i = 0; i < 2000; ++i) file.write(line);  // 200 kB through the 64 KiB buffer
    if (file.close()) return 1;                       // reported success
    if (file.error() != "write failed after 100000 bytes: File too large") return 2;
    if (fs::exists(path)) return 3;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(OutputFile, AnAtomicWriteThatDoesNotFitThrowsAndLeavesTheOldFileAndNoTmp) {
  const fs::path path = fresh_dir() / "report.json";
  std::ofstream(path) << "old";
  const int code = with_file_size_limit(1000, [&] {
    const std::string message =
        test::error_of<OutputError>([&] { write_text_atomically(path.string(), std::string(5000, 'y')); });
    return message == path.string() + ": write failed after 1000 bytes: File too large (writing " + path.string() +
                          ".tmp, removed)"
               ? 0
               : 1;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_text(path), "old");
  EXPECT_TRUE(tmp_files(path.parent_path()).empty());
}

const std::string kBringup = kSource + "/workloads/bringup.yaml";

// satvp's first line on stderr that starts with `prefix`, or "".
std::string line_with(const std::string& output, const std::string& prefix) {
  const std::size_t at = output.find(prefix);
  return at == std::string::npos ? "" : output.substr(at, output.find('\n', at) - at);
}

TEST(SatvpOutputs, EveryOutputOptionRefusesSpecialFilesBeforeTheRun) {
  const fs::path dir = fresh_dir();
  const fs::path fifo = make_fifo(dir / "fifo");
  fs::create_directories(dir / "a_dir");
  fs::create_symlink("fifo", dir / "link_to_fifo");
  std::ofstream(dir / "plain") << "x";
  struct Case {
    std::string option, path, problem;
  };
  const std::vector<Case> cases = {
      {"--vcd", fifo.string(), "is a FIFO (named pipe)"},
      {"--trace-log", fifo.string(), "is a FIFO (named pipe)"},
      {"--timeline", fifo.string(), "is a FIFO (named pipe)"},
      {"--timeline", (dir / "a_dir").string(), "is a directory"},
      {"--trace-log", (dir / "link_to_fifo").string(),
       "is a FIFO (named pipe) (through the symlink to " + fifo.string() + ")"},
      {"--timeline", (dir / "plain" / "t.json").string(),
       "cannot create its directory " + (dir / "plain").string() + " (Not a directory)"},
  };
  for (const Case& c : cases) {
    const auto start = std::chrono::steady_clock::now();
    const test::Command run = run_command(kSatvp + " run --workload " + kBringup + " --out " + (dir / "run").string() +
                                          " " + c.option + " " + c.path);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(run.exit_code, 2) << run.output;
    const std::string expected_start = "satvp: error: " + c.option + " " + c.path + ": " + c.problem;
    EXPECT_EQ(line_with(run.output, "satvp: error: ").rfind(expected_start, 0), 0u) << run.output;
    EXPECT_EQ(run.output.find("firmware"), std::string::npos) << "the run started: " << run.output;
    EXPECT_LT(seconds, 5.0) << c.option;
  }
  EXPECT_TRUE(is_named_pipe(fifo));
  EXPECT_TRUE(is_named_pipe(dir / "fifo"));
  EXPECT_TRUE(fs::is_directory(dir / "a_dir"));
  EXPECT_TRUE(tmp_files(dir).empty());
  // The VCD's save file is an output too: a FIFO where trace.gtkw would go stops the run.
  make_fifo(dir / "trace.gtkw");
  const test::Command gtkw =
      run_command(kSatvp + " run --workload " + kBringup + " --out " + (dir / "run").string() + " --vcd " +
                  (dir / "trace.vcd").string());
  EXPECT_EQ(gtkw.exit_code, 2) << gtkw.output;
  EXPECT_NE(gtkw.output.find("--vcd's GTKWave save file " + (dir / "trace.gtkw").string() + ": is a FIFO"),
            std::string::npos)
      << gtkw.output;
  EXPECT_FALSE(fs::exists(dir / "trace.vcd"));
  // Two outputs into one file would interleave.
  const test::Command same = run_command(kSatvp + " run --workload " + kBringup + " --out " + (dir / "run").string() +
                                         " --trace-log " + (dir / "x.log").string() + " --timeline " + (dir / "x.log").string());
  EXPECT_EQ(same.exit_code, 2) << same.output;
  EXPECT_NE(same.output.find("--timeline " + (dir / "x.log").string() + ": --trace-log is written to the same file"),
            std::string::npos)
      << same.output;
}

TEST(SatvpOutputs, AFullDiskIsExit4NamesTheFileAndRemovesThePartialTraces) {
  const fs::path dir = fresh_dir();
  const fs::path out = dir / "run";
  // 16 KiB: enough for the run directory's small files, not for the bring-up VCD (42 kB) and
  // log (53 kB). The shell's ulimit counts 512-byte blocks.
  const test::Command run = run_command("ulimit -f 32; exec " + kSatvp + " run --workload " + kBringup + " --out " +
                                        out.string() + " --vcd " + (dir / "t.vcd").string() + " --trace-log " +
                                        (dir / "t.log").string());
  EXPECT_EQ(run.exit_code, 4) << run.output;
  for (const char* name : {"t.vcd", "t.log"}) {
    const std::string file = (dir / name).string();
    EXPECT_EQ(line_with(run.output, "satvp: output error: " + file)
                  .rfind("satvp: output error: " + file + ": write failed after ", 0),
              0u)
        << run.output;
    EXPECT_NE(line_with(run.output, "satvp: output error: " + file)
                  .find(" bytes: File too large; the partial file was removed"),
              std::string::npos)
        << run.output;
    EXPECT_FALSE(fs::exists(file)) << file;
    EXPECT_NE(run.output.find("NOT WRITTEN         " + file), std::string::npos) << run.output;
  }
  EXPECT_FALSE(fs::exists(dir / "t.gtkw"));  // no save file for a trace that is not there
  EXPECT_TRUE(tmp_files(dir).empty());
}

TEST(SatvpOutputs, AFailedTraceOfATrainingRunIsNamedInReportJson) {
  const fs::path dir = fresh_dir();
  const fs::path out = dir / "run";
  // 512 KiB: the MLP's largest result file has 131 kB, its VCD about 1 MB.
  const test::Command run = run_command(
      "ulimit -f 1024; exec " + kSatvp + " run --workload " + kSource +
      "/workloads/fashion_mnist_mlp.yaml --set dataset.name=synthetic --set iterations=3 --set eval_samples=0 --out " +
      out.string() + " --vcd " + (dir / "t.vcd").string());
  EXPECT_EQ(run.exit_code, 4) << run.output;
  const std::string report = read_text(out / "report.json");
  const std::string vcd = (dir / "t.vcd").string();
  EXPECT_NE(report.find("\"output_errors\": [{\"file\": \"" + vcd + "\", \"error\": \"write failed after "),
            std::string::npos)
      << report;
  EXPECT_FALSE(fs::exists(vcd));
  EXPECT_TRUE(fs::exists(out / "metrics.csv"));  // the other outputs are still written
  EXPECT_TRUE(tmp_files(dir).empty());
}

TEST(SatvpOutputs, ASecondRunIntoALockedDirectoryIsRefusedAtOnceNamingTheHolder) {
  const fs::path out = fresh_dir() / "run";
  std::optional<RunDirLock> held;
  held.emplace(out, "--out");  // this test process plays the first run
  const auto start = std::chrono::steady_clock::now();
  const test::Command second = run_command(kSatvp + " run --workload " + kBringup + " --out " + out.string());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("satvp: error: --out " + out.string() + ": another run is writing to this directory (pid " +
                               std::to_string(::getpid()) + ": "),
            std::string::npos)
      << second.output;
  EXPECT_LT(seconds, 5.0);
  EXPECT_FALSE(fs::exists(out / "workload.yaml"));  // nothing of the second run was written
  held.reset();
  const test::Command third = run_command(kSatvp + " run --workload " + kBringup + " --out " + out.string());
  EXPECT_EQ(third.exit_code, 0) << third.output;
}

TEST(SatvpOutputs, ALockDiesWithItsProcess) {
  const fs::path out = fresh_dir() / "run";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = ::fork();
  if (holder == 0) {
    RunDirLock lock(out, "--out");
    [[maybe_unused]] const ssize_t n = ::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_EQ(run_command(kSatvp + " run --workload " + kBringup + " --out " + out.string()).exit_code, 2);
  ::kill(holder, SIGKILL);  // no destructor, no clean-up: the kernel drops the lock
  ::waitpid(holder, nullptr, 0);
  const test::Command after = run_command(kSatvp + " run --workload " + kBringup + " --out " + out.string());
  EXPECT_EQ(after.exit_code, 0) << after.output;
}

}  // namespace
}  // namespace cestvp
