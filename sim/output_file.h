// Files a run writes, with every write checked (docs/reliability.md, "Outputs").
//
// Three promises to the user: an output never replaces anything but a regular file (a device,
// a FIFO, a directory or a socket at the path is left alone: a symlink to a regular file is
// written through, as a shell does); a write that fails or comes up short (a full disk, a file
// size limit) is never reported as success, and the partial file does not stay behind under
// the output's name; a file written atomically is whole or absent, whenever the process dies.
//
// SystemC-free: the trace writers in models/ and the report writers in platform/ share it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace cestvp {

// "a FIFO (named pipe)", "a directory", ...: what a stat() mode says a file is, for messages
// about paths that must be regular files (outputs here, inputs in platform/config/input_file.h).
const char* file_kind(mode_t mode);

// An output that could not be written, for the run's summary and report.
struct OutputFailure {
  std::string path, error;
};

// An output could not be written: the OS refused a create, a write, a close or a rename. The
// message names the file and the OS error. Not a UserError: the path was checked before the
// run (check_output_path), so what failed later is the machine (satvp exits 4).
class OutputError : public std::runtime_error {
 public:
  OutputError(std::string path, std::string error);
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
};

// The file an output path names: itself, or what a chain of symlinks ends at (which may not
// exist yet). Throws OutputError for a symlink loop or a chain longer than the OS allows.
std::string resolve_output_path(const std::string& path);

// Why the file at `path` must not be replaced, or "" when it is a regular file (directly or
// through symlinks) or does not exist.
std::string replace_problem(const std::string& path);

// Why `path` cannot be an output, or "" when it can: it is a regular file (directly or through
// symlinks) or does not exist, and its directory exists and takes new files (checked by
// creating and removing a probe file, which also catches read-only file systems).
std::string output_path_problem(const std::string& path);

// A file written front to back (a VCD, a transaction log): created or truncated at once,
// written in place so that a viewer can follow it. Every write is checked; after the first
// failure the file takes no more data and error() says what happened. close() removes a
// failed file, so that no cut-off trace is left to be mistaken for a whole one.
class OutputFile {
 public:
  // Throws OutputError if the file cannot be created or is not a regular file.
  explicit OutputFile(std::string path);
  ~OutputFile();  // close()
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Buffered: a transaction log writes one short line per bus transaction.
  void write(std::string_view data);
  // Writes what is buffered; returns ok(). Idempotent.
  bool close();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // "" while ok
  const std::string& path() const { return path_; }
  std::uint64_t bytes_written() const { return written_; }

 private:
  void fail(const std::string& what);
  void write_through(std::string_view data);

  std::string path_;
  int fd_ = -1;
  std::string buffer_;
  std::uint64_t written_ = 0;
  std::string error_;
};

// A file that appears whole or not at all: written to NAME.tmp next to its target, then
// renamed over it on commit(). Destroyed without commit() (an exception, a failed write), it
// removes NAME.tmp.
class AtomicOutputFile {
 public:
  // Throws OutputError if something other than a regular file is at the path, or NAME.tmp
  // cannot be created.
  explicit AtomicOutputFile(const std::string& path);
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  void write(std::string_view data) { tmp_->write(data); }
  // Closes NAME.tmp and renames it over the target. Throws OutputError naming the target.
  void commit();

 private:
  std::string target_;  // the output path, symlinks resolved
  std::string shown_;   // the output path as the caller gave it, for messages
  std::optional<OutputFile> tmp_;  // engaged once created
  bool committed_ = false;
};

// AtomicOutputFile in one call. Throws OutputError naming the file.
void write_text_atomically(const std::string& path, std::string_view text);

}  // namespace cestvp
