#include "report/run_dir.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "config/user_error.h"
#include "output_file.h"

namespace fs = std::filesystem;

namespace cestvp {

namespace {

// "pid 1234: satvp run --workload ...", from the lock file of the run holding it.
std::string holder(const fs::path& lock_file) {
  std::ifstream in(lock_file);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "a process that has not yet written its pid" : line;
}

std::string this_process() {
  std::string text = "pid " + std::to_string(::getpid()) + ":";
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  for (std::string arg; std::getline(in, arg, '\0');) text += ' ' + arg;
  return text;
}

// The file a path ends at, to tell whether two outputs name the same one.
fs::path resolved(const fs::path& path, const std::string& option) {
  try {
    return fs::weakly_canonical(resolve_output_path(path.string()));
  } catch (const OutputError& e) {
    throw UserError(option + " " + path.string() + ": " + e.error() + "; expected a path that resolves to a file");
  } catch (const fs::filesystem_error& e) {
    throw UserError(option + " " + path.string() + ": " + e.code().message() + "; expected a path that resolves to a file");
  }
}

}  // namespace

RunDirLock::RunDirLock(const fs::path& dir, const std::string& option) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw UserError(option + " " + dir.string() + ": cannot create the run directory (" +
                    (ec ? ec.message() : "a file of that name exists") + "); expected a directory path");
  const fs::path lock_file = dir / kFileName;
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd_ < 0)
    throw UserError(option + " " + dir.string() + ": cannot create the lock file " + lock_file.string() + " (" +
                    std::strerror(errno) + "); expected a writable directory");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw UserError(option + " " + dir.string() + ": another run is writing to this directory (" +
                      holder(lock_file) + "); expected a run directory no other satvp run is using");
    throw UserError(option + " " + dir.string() + ": cannot lock " + lock_file.string() + " (" +
                    std::strerror(error) + "); expected a directory on a file system with file locks");
  }
  // Informational only: the lock is the flock, not the text, so a failed write is harmless.
  const std::string text = this_process() + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::write(fd_, text.data(), text.size());
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

void check_outputs(const std::vector<OutputOption>& options, const fs::path& run_dir,
                   const std::vector<std::string>& run_dir_files) {
  std::vector<std::pair<fs::path, std::string>> taken;  // resolved path, what writes it
  for (const std::string& name : run_dir_files) taken.emplace_back(resolved(run_dir / name, "run directory"), "the run's " + name);
  for (const OutputOption& o : options) {
    if (o.path.empty()) continue;
    const fs::path resolved_path = resolved(o.path, o.option);
    for (const auto& [path, writer] : taken)
      if (path == resolved_path)
        throw UserError(o.option + " " + o.path + ": " + writer + " is written to the same file; expected a file of its own");
    taken.emplace_back(resolved_path, o.option);
    const fs::path parent = fs::path(o.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec)
      throw UserError(o.option + " " + o.path + ": cannot create its directory " + parent.string() + " (" +
                      ec.message() + "); expected a path in a writable directory");
    if (const std::string problem = output_path_problem(o.path); !problem.empty())
      throw UserError(o.option + " " + o.path + ": " + problem +
                      "; expected a regular file or a path that does not exist, in a writable directory");
  }
  // The lock file showed that the run directory takes new files: only what is there is checked.
  for (const std::string& name : run_dir_files) {
    const fs::path path = run_dir / name;
    if (const std::string problem = replace_problem(path.string()); !problem.empty())
      throw UserError("run directory " + run_dir.string() + ": " + name + " " + problem +
                      "; expected a regular file or nothing there");
  }
}

}  // namespace cestvp
