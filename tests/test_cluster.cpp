// satvp sweep's --emit slurm and --emit parallel against the real tools (docs/reports.md, "On a
// cluster"): a one-node Slurm cluster of the test's own, in a temporary directory (its own munged,
// slurmctld and slurmd, found by the clients through SLURM_CONF), and GNU parallel. What they
// collect must equal, byte for byte, the sweep.csv of the same sweep run by satvp itself: every
// column of sweep.csv is simulated, none is a host wall-clock time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "satvp_command.h"
#include "test_files.h"

namespace cestvp {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The sweep both tests run: 2 x 4 points of the tiny CNN of test_files.h in timing mode, a
// fraction of a second each, so that Slurm's scheduling is most of the time.
const std::string kSweepParams = " --param nm=2:8,1:8 --param batch=8,16,24,32";
constexpr int kPoints = 8;

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

// The last `count` lines of a file, for failure messages about a daemon.
std::string tail(const fs::path& file, std::size_t count = 25) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string text = "---- " + file.string() + (fs::exists(file) ? "" : " (not written)") + "\n";
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) text += lines[i] + "\n";
  return text;
}

// The program's path: on PATH, or in the sbin directories a non-root PATH often lacks (munged,
// slurmctld and slurmd live there); "" if it is not installed.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/local/sbin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
  return "";
}

// Why the test cannot run here ("" if it can): the programs it needs that are not installed.
std::string missing_programs(const std::vector<std::string>& names, const std::string& packages) {
  std::string missing;
  for (const std::string& name : names)
    if (find_program(name).empty()) missing += (missing.empty() ? "" : ", ") + name;
  return missing.empty() ? "" : missing + " not installed (apt install " + packages + ")";
}

// A fresh directory under the system's temporary directory: Unix socket paths are short (108
// bytes), too short for a deep build tree. Removed at the end, unless the test has failed: then
// its logs are worth reading.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) ADD_FAILURE() << pattern << ": mkdtemp failed: " << std::strerror(errno);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (testing::Test::HasFailure())
      std::fprintf(stderr, "kept %s\n", path.c_str());
    else
      fs::remove_all(path, ignored);
  }
};

// Runs the sweep's workload into `dir` with satvp's own scheduler; sweep.csv's text. Computed
// once per process (ctest runs each test in a process of its own, so this saves time only when
// the binary runs both tests).
const std::string& local_sweep_csv() {
  static const std::string csv = [] {
    TempDir dir("cestvp-local-sweep");
    write_text(dir.path / "tiny_cnn.yaml", test::kTinyCnnWorkload);
    const fs::path workload = dir.path / "tiny_cnn.yaml";
    const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + workload.string() + kSweepParams +
                                              " -j 2 --out " + (dir.path / "sweep").string());
    EXPECT_EQ(c.exit_code, 0) << c.output;
    return test::read_file(dir.path / "sweep" / "sweep.csv");
  }();
  return csv;
}

// The reference is worth comparing with: a header and one finished row per point, with
// iteration times that differ from point to point (a sweep whose parameters changed nothing, or
// whose figures were all empty, would make any two tables equal).
void expect_meaningful(const std::string& csv) {
  std::istringstream lines(csv);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), kPoints + 1u) << csv;
  EXPECT_EQ(rows[0].rfind("index,nm,batch,iteration_seconds,", 0), 0u) << csv;
  std::vector<std::string> iteration_times;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    EXPECT_NE(rows[r].find(",finished,"), std::string::npos) << rows[r];
    std::istringstream fields(rows[r]);
    std::string field;
    for (int i = 0; i < 4; ++i) std::getline(fields, field, ',');  // index, nm, batch, iteration_seconds
    EXPECT_FALSE(field.empty()) << rows[r];
    iteration_times.push_back(field);
  }
  for (std::size_t i = 0; i < iteration_times.size(); ++i)
    for (std::size_t j = i + 1; j < iteration_times.size(); ++j)
      EXPECT_NE(iteration_times[i], iteration_times[j]) << "rows " << i << " and " << j << "\n" << csv;
}

// Emits the sweep into `dir` for `scheduler` (slurm or parallel) and checks that it ran nothing.
void emit_sweep(const fs::path& workload, const fs::path& dir, const std::string& scheduler) {
  const test::Command c = test::run_command(test::kSatvp + " sweep --workload " + workload.string() + kSweepParams +
                                            " --emit " + scheduler + " --out " + dir.string());
  ASSERT_EQ(c.exit_code, 0) << c.output;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    ASSERT_NE(entry.path().filename(), "report.json") << "emitting ran " << entry.path();
}

// Collects the reports in `dir` and compares sweep.csv with the local sweep's.
void expect_collected_equals_local(const fs::path& dir) {
  const test::Command collect = test::run_command(test::kSatvp + " sweep --collect " + dir.string());
  EXPECT_EQ(collect.exit_code, 0) << collect.output;
  const std::string& local = local_sweep_csv();
  ASSERT_NO_FATAL_FAILURE(expect_meaningful(local));
  EXPECT_EQ(test::read_file(dir / "sweep.csv"), local) << collect.output;
}

// ---------------------------------------------------------------------------- Slurm

struct Daemon {
  std::string name;
  pid_t pid = -1;
  fs::path output;  // its stdout and stderr
};

// Starts argv[0] with stdout and stderr into `output`. A daemon gets SIGTERM when this process
// dies, so that a test killed by ctest's timeout or ^C leaves no cluster running.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& output) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ADD_FAILURE() << output << ": cannot create: " << std::strerror(errno);
    return -1;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fd);
  if (pid < 0) ADD_FAILURE() << argv[0] << ": cannot start: " << std::strerror(errno);
  return pid;
}

// Whether `pid`, a child of ours, has exited (and is reaped) within `wait`.
bool reaped_within(pid_t pid, Clock::duration wait) {
  for (const Clock::time_point end = Clock::now() + wait;; std::this_thread::sleep_for(50ms)) {
    const pid_t done = waitpid(pid, nullptr, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (Clock::now() > end) return false;
  }
}

// The processes whose parent is this one: the daemons, and (the test process being a
// subreaper) whatever they left running when they exited.
std::vector<pid_t> children() {
  std::vector<pid_t> pids;
  std::error_code ignored;  // a process may exit while the directory is read
  for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = test::read_file(entry.path() / "stat");  // "pid (comm) state ppid ..."
    const std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == getpid()) pids.push_back(std::stoi(name));
  }
  return pids;
}

std::string command_of(pid_t pid) {
  std::string cmdline = test::read_file(fs::path("/proc") / std::to_string(pid) / "cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return std::to_string(pid) + " " + cmdline;
}

// A free TCP port on the loopback interface (free when asked; the daemons take it moments later).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  if (fd >= 0) close(fd);
  return ok ? ntohs(address.sin_port) : 0;
}

std::string user_name() {
  const passwd* user = getpwuid(getuid());
  return user ? user->pw_name : std::to_string(getuid());
}

// One node, named as slurmd names this host, with at most 2 CPUs for the job array. Slurm's
// daemons, state and logs, and munged with its own key, all live in a temporary directory;
// nothing of the system's Slurm or MUNGE (/etc/slurm, /etc/munge, /run/munge) is read or touched:
// every Slurm command gets SLURM_CONF, the daemons -f, and slurm.conf names the munged socket.
class ClusterSlurm : public testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = missing_programs(
        {"munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel"}, "munge slurm-wlm");
    if (!missing.empty()) GTEST_SKIP() << missing;
    // Slurm's step daemons detach from slurmd; as a subreaper this process inherits them and
    // TearDown can see that none is left.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << std::strerror(errno);
    // munged insists that everyone may search the directories of its socket.
    fs::permissions(dir_.path, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec |
                                   fs::perms::group_read | fs::perms::others_read);
    ASSERT_NO_FATAL_FAILURE(start_munged());
    ASSERT_NO_FATAL_FAILURE(write_slurm_conf());
    for (const std::string name : {"slurmctld", "slurmd"}) {
      const fs::path output = dir_.path / (name + ".out");
      daemons_.push_back({name, spawn({find_program(name), "-D", "-f", slurm_conf().string()}, output), output});
    }
    ASSERT_NO_FATAL_FAILURE(wait_for_idle_node());
  }

  void TearDown() override {
    if (!daemons_.empty()) stop_cluster();
  }

  // The daemons' logs, for a failure message.
  std::string logs() const {
    std::string text;
    for (const char* file : {"munged.log", "munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"})
      text += tail(dir_.path / file);
    return text;
  }

  fs::path slurm_conf() const { return dir_.path / "slurm.conf"; }

  // Waits until squeue no longer lists `job` (every task of the array has ended).
  void wait_until_gone(const std::string& job, Clock::duration timeout) {
    test::Command queue;
    for (const Clock::time_point end = Clock::now() + timeout;; std::this_thread::sleep_for(250ms)) {
      queue = test::run_command(slurm("squeue", "-h -j " + job + " -o '%i %T'"));
      ASSERT_EQ(queue.exit_code, 0) << queue.output << "\n" << logs();
      if (queue.output.empty()) return;
      ASSERT_LT(Clock::now(), end) << "job " << job << " still queued:\n" << queue.output << logs();
    }
  }

  // A Slurm client's command line, pointed at this cluster; its jobs inherit SLURM_CONF.
  std::string slurm(const std::string& program, const std::string& args) const {
    return "env SLURM_CONF=" + test::shell_quote(slurm_conf().string()) + " " + find_program(program) + " " + args;
  }

  TempDir dir_{"cestvp-slurm"};

 private:
  void start_munged() {
    // A key of its own: 1024 bits, as mungekey makes by default, readable by its owner only.
    std::random_device random;
    std::string key;
    for (int i = 0; i < 128; ++i) key += static_cast<char>(random() & 0xff);
    const fs::path key_file = dir_.path / "munge.key";
    write_text(key_file, key);
    fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
    socket_ = dir_.path / "munge.socket";
    daemons_.push_back({"munged",
                        spawn({find_program("munged"), "--foreground", "--force", "--socket=" + socket_.string(),
                               "--key-file=" + key_file.string(), "--pid-file=" + (dir_.path / "munged.pid").string(),
                               "--log-file=" + (dir_.path / "munged.log").string(),
                               "--seed-file=" + (dir_.path / "munged.seed").string()},
                              dir_.path / "munged.out"),
                        dir_.path / "munged.out"});
    for (const Clock::time_point end = Clock::now() + 10s; !fs::exists(socket_); std::this_thread::sleep_for(50ms))
      ASSERT_TRUE(Clock::now() < end && waitpid(daemons_.back().pid, nullptr, WNOHANG) == 0)
          << "munged did not create " << socket_ << "\n"
          << logs();
  }

  void write_slurm_conf() {
    // The node's name and CPUs as slurmd sees this host: "NodeName=vm CPUs=2 Boards=1 ...".
    const test::Command node = test::run_command(find_program("slurmd") + " -C");
    std::smatch name, cpus;
    ASSERT_TRUE(node.exit_code == 0 && std::regex_search(node.output, name, std::regex("NodeName=(\\S+)")) &&
                std::regex_search(node.output, cpus, std::regex("CPUs=(\\d+)")))
        << "slurmd -C: " << node.output;
    node_ = name[1];
    const int node_cpus = std::min(2, std::stoi(cpus[1]));
    const int controller_port = free_port(), node_port = free_port();
    ASSERT_TRUE(controller_port && node_port && controller_port != node_port) << "no free loopback ports";
    const std::string user = user_name(), d = dir_.path.string();
    fs::create_directories(dir_.path / "state");
    write_text(slurm_conf(),
               "ClusterName=cestvp-test\n"
               "SlurmctldHost=" + node_ + "(127.0.0.1)\n"
               "SlurmctldPort=" + std::to_string(controller_port) + "\n"
               "SlurmdPort=" + std::to_string(node_port) + "\n"
               "AuthType=auth/munge\n"
               "CredType=cred/munge\n"
               "AuthInfo=socket=" + socket_.string() + "\n"
               "SlurmUser=" + user + "\n"
               "SlurmdUser=" + user + "\n"
               "StateSaveLocation=" + d + "/state\n"
               "SlurmdSpoolDir=" + d + "/spool\n"
               "SlurmctldPidFile=" + d + "/slurmctld.pid\n"
               "SlurmdPidFile=" + d + "/slurmd.pid\n"
               "SlurmctldLogFile=" + d + "/slurmctld.log\n"
               "SlurmdLogFile=" + d + "/slurmd.log\n"
               "ProctrackType=proctrack/linuxproc\n"
               "TaskPlugin=task/none\n"
               "SelectType=select/cons_tres\n"
               "SelectTypeParameters=CR_CPU\n"
               "MpiDefault=none\n"
               "JobAcctGatherType=jobacct_gather/none\n"
               "AccountingStorageType=accounting_storage/none\n"
               "JobCompType=jobcomp/none\n"
               "ReturnToService=2\n"
               // Start the next wave of tasks as soon as CPUs are free, not every 3 s.
               "SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000\n"
               "NodeName=" + node_ + " NodeAddr=127.0.0.1 CPUs=" + std::to_string(node_cpus) + " State=UNKNOWN\n"
               "PartitionName=test Default=YES Nodes=ALL MaxTime=INFINITE State=UP\n");
  }

  void wait_for_idle_node() {
    std::string state;
    for (const Clock::time_point end = Clock::now() + 30s; state != "idle\n"; std::this_thread::sleep_for(200ms)) {
      for (const Daemon& daemon : daemons_)
        ASSERT_EQ(waitpid(daemon.pid, nullptr, WNOHANG), 0) << daemon.name << " exited\n" << logs();
      ASSERT_LT(Clock::now(), end) << "node " << node_ << " not idle after 30 s; sinfo: " << state << "\n" << logs();
      state = test::run_command(slurm("sinfo", "-h -o %T")).output;
    }
  }

  // Cancels what is left, asks the daemons to stop and waits for them; kills only what would
  // not stop, and fails the test if anything had to be killed.
  void stop_cluster() {
    // Only to a running slurmctld: it exists only after slurm.conf (without which a Slurm
    // command would reach the system's cluster), and a command to none retries for seconds.
    const auto slurmctld =
        std::find_if(daemons_.begin(), daemons_.end(), [](const Daemon& d) { return d.name == "slurmctld"; });
    test::Command shutdown{0, "slurmctld not running"};
    if (slurmctld != daemons_.end() && waitpid(slurmctld->pid, nullptr, WNOHANG) == 0) {
      test::run_command(slurm("scancel", "--user=" + user_name()));
      shutdown = test::run_command(slurm("scontrol", "shutdown"));
    }
    std::string killed;
    for (auto daemon = daemons_.rbegin(); daemon != daemons_.rend(); ++daemon) {
      if (daemon->pid <= 0) continue;
      if (daemon->name == "munged") kill(daemon->pid, SIGTERM);  // slurmctld and slurmd stop on shutdown
      if (reaped_within(daemon->pid, 15s)) continue;
      killed += " " + command_of(daemon->pid);
      kill(daemon->pid, SIGKILL);
      reaped_within(daemon->pid, 5s);
    }
    // Whatever the daemons started (slurmscriptd, slurmstepd) ends with them.
    for (const Clock::time_point end = Clock::now() + 10s; !children().empty() && Clock::now() < end;
         std::this_thread::sleep_for(100ms))
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    for (const pid_t pid : children()) {
      killed += " " + command_of(pid);
      kill(pid, SIGKILL);
      reaped_within(pid, 5s);
    }
    daemons_.clear();
    EXPECT_EQ(killed, "") << "left running after scontrol shutdown (" << shutdown.output << ") and SIGTERM to munged\n"
                          << logs();
  }

  std::vector<Daemon> daemons_;
  fs::path socket_;
  std::string node_;
};

TEST_F(ClusterSlurm, SweepAsJobArrayEqualsLocalSweep) {
  const fs::path workload = dir_.path / "tiny_cnn.yaml", sweep = dir_.path / "sweep";
  write_text(workload, test::kTinyCnnWorkload);
  ASSERT_NO_FATAL_FAILURE(emit_sweep(workload, sweep, "slurm"));
  // Not sbatch --wait: it polls at 2 s, then 8 s, then 32 s.
  const test::Command submit = test::run_command(slurm("sbatch", "--parsable " + (sweep / "sweep.slurm").string()));
  ASSERT_EQ(submit.exit_code, 0) << submit.output << "\n" << logs();
  const std::string job = submit.output.substr(0, submit.output.find_first_not_of("0123456789"));  // "12[;cluster]"
  ASSERT_FALSE(job.empty()) << submit.output;
  ASSERT_NO_FATAL_FAILURE(wait_until_gone(job, 120s));
  // Slurm keeps the records of finished jobs (MinJobAge, 300 s by default): one per task.
  const std::string records = test::run_command(slurm("scontrol", "-o show job " + job)).output;
  for (int i = 0; i < kPoints; ++i) {
    const std::regex task(" ArrayTaskId=" + std::to_string(i) + " .* JobState=COMPLETED .* ExitCode=0:0 ");
    EXPECT_TRUE(std::regex_search(records, task)) << "task " << i << " did not complete with exit code 0:\n" << records;
  }
  for (int i = 0; i < kPoints; ++i)
    EXPECT_TRUE(fs::exists(sweep / ("slurm-" + std::to_string(i) + ".out"))) << "task " << i << ": no Slurm output";
  expect_collected_equals_local(sweep);
}

// ---------------------------------------------------------------------------- GNU parallel

TEST(ClusterParallel, SweepViaGnuParallelEqualsLocalSweep) {
  const std::string missing = missing_programs({"parallel", "timeout"}, "parallel");
  if (!missing.empty()) GTEST_SKIP() << missing;
  // moreutils has a `parallel` too, with other options.
  const test::Command version = test::run_command(find_program("parallel") + " --version");
  if (version.output.find("GNU parallel") == std::string::npos)
    GTEST_SKIP() << find_program("parallel") << " is not GNU parallel (apt install parallel): " << version.output;

  TempDir dir("cestvp-parallel");
  const fs::path workload = dir.path / "tiny_cnn.yaml", sweep = dir.path / "sweep";
  write_text(workload, test::kTinyCnnWorkload);
  ASSERT_NO_FATAL_FAILURE(emit_sweep(workload, sweep, "parallel"));
  // HOME: parallel keeps state in ~/.parallel; --will-cite: no citation notice to wait on.
  const test::Command run =
      test::run_command("HOME=" + test::shell_quote(dir.path.string()) + " timeout 180 " + find_program("parallel") +
                        " --will-cite -j 2 -a " + test::shell_quote((sweep / "commands.txt").string()));
  ASSERT_EQ(run.exit_code, 0) << run.output;  // the number of failed commands
  expect_collected_equals_local(sweep);
}

}  // namespace
}  // namespace cestvp
