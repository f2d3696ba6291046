// The run directory: created, locked for one run at a time, and checked before the run, with
// the trace files named on the command line (docs/reliability.md, "Outputs").
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace cestvp {

// An exclusive lock on a run directory for the lifetime of the object: an OS file lock
// (flock) on DIR/.satvp.lock, so the kernel releases it however the process ends, and a
// second run into the same directory is refused at once instead of mixing its files with the
// first's. The lock file holds the holder's pid and command line, for the message; it is left
// in place (removing it would race with the next run's lock).
class RunDirLock {
 public:
  // Creates `dir` (with its parents) and locks it. Throws UserError naming `option` (--out)
  // when the directory cannot be created or another process holds the lock.
  RunDirLock(const std::filesystem::path& dir, const std::string& option);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

  static constexpr const char* kFileName = ".satvp.lock";

 private:
  int fd_ = -1;
};

// An output a command line names: its option (--vcd) and path ("" when not given).
struct OutputOption {
  std::string option, path;
};

// Checks before a run that every output can be written: each named path is a regular file or
// does not exist (its directory is created), in a directory that takes new files; the files a
// run writes into `run_dir` (already locked, so known to take files) are not special files
// either. Throws UserError naming the option and the problem, so a bad --timeline fails in the
// first second, not after a long run.
void check_outputs(const std::vector<OutputOption>& options, const std::filesystem::path& run_dir,
                   const std::vector<std::string>& run_dir_files);

}  // namespace cestvp
