#include "config/input_file.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/units.h"
#include "config/user_error.h"
#include "output_file.h"

namespace cestvp {

namespace {

// strerror's text as the problem of a message: "no such file or directory".
std::string os_error(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace

InputFile::InputFile(const std::string& path, const std::string& what, std::uint64_t limit)
    : path_(path), what_(what), limit_(limit) {
  const std::string expected = "; expected a readable regular file (" + what + ")";
  const auto check = [&](const struct stat& st) {
    if (!S_ISREG(st.st_mode)) throw UserError(path + ": is " + file_kind(st.st_mode) + "; expected a regular file (" + what + ")");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > limit)
      throw UserError(path + ": " + std::to_string(size) + " bytes; expected at most " + format_size(limit) + " (" +
                      what + ")");
    size_ = size;
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw UserError(path + ": " + os_error(errno) + expected);
  check(st);
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw UserError(path + ": " + os_error(errno) + expected);
  try {
    if (::fstat(fd_, &st) != 0) throw UserError(path + ": " + os_error(errno) + expected);
    check(st);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read(void* dst, std::size_t bytes) {
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::read(fd_, static_cast<char*>(dst) + done, bytes - done);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw UserError(path_ + ": read error (" + os_error(errno) + "); expected a readable regular file (" + what_ + ")");
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::vector<unsigned char> InputFile::read_all() {
  std::vector<unsigned char> bytes(size_);
  const std::size_t got = read(bytes.data(), bytes.size());
  unsigned char more = 0;
  if (got != size_ || read(&more, 1) != 0)
    throw UserError(path_ + ": changed while it was read (" + std::to_string(size_) + " bytes at open, " +
                    (got != size_ ? std::to_string(got) : "more") + " read); expected a file nothing else writes");
  return bytes;
}

std::string InputFile::read_text() {
  const std::vector<unsigned char> bytes = read_all();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace cestvp
