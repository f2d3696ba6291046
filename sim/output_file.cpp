#include "output_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cestvp {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 16;
// Linux's limit on the symlinks one path lookup follows (MAXSYMLINKS); glibc leaves
// SYMLOOP_MAX undefined.
constexpr int kMaxSymlinkHops = 40;

std::string os_error(int error) { return std::strerror(error); }

// Why the existing entry at `resolved` is not a regular file, or "" (also when it is absent).
std::string not_regular(const std::string& resolved) {
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) != 0) return errno == ENOENT || errno == ENOTDIR ? "" : os_error(errno);
  if (S_ISREG(st.st_mode)) return "";
  return std::string("is ") + file_kind(st.st_mode);
}

}  // namespace

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return S_ISREG(mode) ? "a regular file" : "not a regular file";
}

OutputError::OutputError(std::string path, std::string error)
    : std::runtime_error(path + ": " + error), path_(std::move(path)), error_(std::move(error)) {}

std::string resolve_output_path(const std::string& path) {
  // Follows the chain by hand: the last link may point at a file that does not exist yet,
  // which fs::canonical refuses.
  fs::path current = path;
  for (int hops = 0;; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(current, ec))) return current.string();
    if (hops == kMaxSymlinkHops) throw OutputError(path, os_error(ELOOP));
    const fs::path target = fs::read_symlink(current, ec);
    if (ec) throw OutputError(path, ec.message());
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
}

std::string replace_problem(const std::string& path) {
  std::string resolved;
  try {
    resolved = resolve_output_path(path);
  } catch (const OutputError& e) {
    return e.error();
  }
  if (std::string kind = not_regular(resolved); !kind.empty())
    return resolved == path ? kind : kind + " (through the symlink to " + resolved + ")";
  return "";
}

std::string output_path_problem(const std::string& path) {
  if (std::string problem = replace_problem(path); !problem.empty()) return problem;
  const std::string resolved = resolve_output_path(path);  // resolves: replace_problem found no loop
  fs::path dir = fs::path(resolved).parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "its directory " + dir.string() + ": " + os_error(errno);
  if (!S_ISDIR(st.st_mode)) return "its directory " + dir.string() + " is not a directory";
  // access() says yes to root on a read-only file system; creating a file is the real test.
  const std::string probe = (dir / (".satvp-probe-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot create files in its directory " + dir.string() + ": " + os_error(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  // Checked before opening too: O_TRUNC must not reach a device, and opening a FIFO blocks.
  if (std::string kind = not_regular(path_); !kind.empty()) throw OutputError(path_, kind + "; not replaced");
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd_ < 0) throw OutputError(path_, os_error(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw OutputError(path_, "is not a regular file; not written");
  }
}

OutputFile::~OutputFile() { close(); }

void OutputFile::fail(const std::string& what) {
  if (error_.empty()) error_ = what;
}

void OutputFile::write(std::string_view data) {
  if (buffer_.size() + data.size() < kBufferBytes) {
    buffer_.append(data);
    return;
  }
  write_through(buffer_);
  buffer_.clear();
  write_through(data);
}

void OutputFile::write_through(std::string_view data) {
  if (fd_ < 0 || !ok()) return;
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write failed after " + std::to_string(written_) + " bytes: " + os_error(errno));
    // A write that takes nothing will never take more (a file size limit reached exactly).
    if (n == 0) return fail("write failed after " + std::to_string(written_) + " bytes: nothing written");
    written_ += static_cast<std::uint64_t>(n);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool OutputFile::close() {
  if (fd_ < 0) return ok();
  write_through(buffer_);
  buffer_ = std::string();
  // Delayed allocation: some file systems report a full disk only at close.
  if (::close(fd_) != 0) fail("close failed: " + os_error(errno));
  fd_ = -1;
  if (!ok()) ::unlink(path_.c_str());
  return ok();
}

AtomicOutputFile::AtomicOutputFile(const std::string& path) : target_(resolve_output_path(path)), shown_(path) {
  if (std::string kind = not_regular(target_); !kind.empty()) throw OutputError(path, kind + "; not replaced");
  try {
    tmp_.emplace(target_ + ".tmp");
  } catch (const OutputError& e) {
    throw OutputError(path, "cannot create " + e.path() + ": " + e.error());
  }
}

AtomicOutputFile::~AtomicOutputFile() {
  if (committed_ || !tmp_) return;
  tmp_->close();
  ::unlink(tmp_->path().c_str());
}

void AtomicOutputFile::commit() {
  if (!tmp_->close()) throw OutputError(shown_, tmp_->error() + " (writing " + tmp_->path() + ", removed)");
  // The target was checked at construction; checked again, because rename() would replace a
  // FIFO or a device that appeared since.
  if (std::string kind = not_regular(target_); !kind.empty()) {
    ::unlink(tmp_->path().c_str());
    throw OutputError(shown_, kind + "; not replaced");
  }
  if (std::rename(tmp_->path().c_str(), target_.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp_->path().c_str());
    throw OutputError(shown_, "cannot rename " + tmp_->path() + " to it: " + os_error(error));
  }
  committed_ = true;
}

void write_text_atomically(const std::string& path, std::string_view text) {
  AtomicOutputFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace cestvp
