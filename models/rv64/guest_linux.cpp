#include "guest_linux.h"

#include <elf.h>

#include <cerrno>
#include <cstring>

namespace cestvp {

namespace {

// riscv64 Linux system call numbers (asm-generic/unistd.h).
enum : std::uint64_t {
  kWrite = 64,
  kWritev = 66,
  kExit = 93,
  kExitGroup = 94,
  kSetTidAddress = 96,
  kSetRobustList = 99,
  kRtSigaction = 134,
  kRtSigprocmask = 135,
  kTgkill = 131,
  kGetpid = 172,
  kGettid = 178,
  kBrk = 214,
  kMunmap = 215,
  kMmap = 222,
  kMprotect = 226,
};

// Calls glibc makes on its way that it copes without (readlinkat of /proc/self/exe, prlimit64,
// getrandom, clock_gettime, newfstatat of stdout, rseq): -ENOSYS, and not worth a warning.
bool known_optional(std::uint64_t n) {
  return n == 78 || n == 79 || n == 80 || n == 113 || n == 261 || n == 278 || n == 293 || n == 29;
}

}  // namespace

GuestLinux::GuestLinux(const Memory& memory, std::uint64_t heap_start, std::uint64_t heap_limit)
    : memory_(memory), heap_start_(heap_start), heap_limit_(heap_limit), brk_(heap_start) {}

std::uint64_t GuestLinux::build_stack(std::uint64_t stack_top, const GuestImage& image,
                                      const std::vector<std::string>& args) {
  std::uint64_t sp = stack_top;
  const auto push = [&](const void* bytes, std::size_t n) {
    sp -= n;
    std::memcpy(memory_.at(sp), bytes, n);
    return sp;
  };
  std::vector<std::uint64_t> argv;
  for (const std::string& a : args) argv.push_back(push(a.c_str(), a.size() + 1));
  // AT_RANDOM seeds glibc's stack protector and pointer guard: fixed, so that runs repeat.
  const std::uint8_t random16[16] = {0x43, 0x45, 0x53, 0x54, 0x2d, 0x56, 0x50, 0x00,
                                     0x72, 0x76, 0x36, 0x34, 0x00, 0x00, 0x00, 0x01};
  const std::uint64_t at_random = push(random16, sizeof random16);
  std::uint64_t hwcap = 0;  // one bit per single-letter extension
  for (const char c : std::string("imafdc")) hwcap |= 1ull << (c - 'a');

  std::vector<std::uint64_t> words{args.size()};
  words.insert(words.end(), argv.begin(), argv.end());
  words.push_back(0);  // end of argv
  words.push_back(0);  // empty environment
  const std::uint64_t aux[][2] = {{AT_PHDR, image.phdr_addr},
                                  {AT_PHENT, image.phentsize},
                                  {AT_PHNUM, image.phnum},
                                  {AT_PAGESZ, 4096},
                                  {AT_ENTRY, image.entry},
                                  {AT_UID, 0},
                                  {AT_EUID, 0},
                                  {AT_GID, 0},
                                  {AT_EGID, 0},
                                  {AT_SECURE, 0},
                                  {AT_HWCAP, hwcap},
                                  {AT_CLKTCK, 100},
                                  {AT_RANDOM, at_random},
                                  {AT_EXECFN, argv.empty() ? 0 : argv[0]},
                                  {AT_NULL, 0}};
  for (const auto& pair : aux) words.insert(words.end(), {pair[0], pair[1]});
  sp = (sp - words.size() * 8) & ~std::uint64_t{15};
  std::memcpy(memory_.at(sp), words.data(), words.size() * 8);
  return sp;
}

std::int64_t GuestLinux::write(std::uint64_t fd, std::uint64_t buf, std::uint64_t len, std::string& out) const {
  if (fd != 1 && fd != 2) return -EBADF;
  if (!memory_.contains(buf, len)) return -EFAULT;
  out.append(reinterpret_cast<const char*>(memory_.at(buf)), len);
  return static_cast<std::int64_t>(len);
}

std::int64_t GuestLinux::writev(std::uint64_t fd, std::uint64_t iov, std::uint64_t count, std::string& out) const {
  if (count > 1024 || !memory_.contains(iov, count * 16)) return -EFAULT;
  std::int64_t total = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t base, len;
    std::memcpy(&base, memory_.at(iov + 16 * i), 8);
    std::memcpy(&len, memory_.at(iov + 16 * i + 8), 8);
    const std::int64_t n = write(fd, base, len, out);
    if (n < 0) return n;
    total += n;
  }
  return total;
}

GuestLinux::Call GuestLinux::syscall(std::uint64_t number, const std::uint64_t a[6]) {
  Call call;
  switch (number) {
    case kWrite: call.result = write(a[0], a[1], a[2], call.output); break;
    case kWritev: call.result = writev(a[0], a[1], a[2], call.output); break;
    case kExit:
    case kExitGroup:
      call.exit = true;
      call.status = static_cast<int>(a[0] & 0xFF);
      break;
    case kTgkill:  // abort(): raise(SIGABRT) on itself
      call.abort = true;
      call.status = 128 + static_cast<int>(a[2]);
      break;
    case kBrk:
      // One heap in host RAM. A failed request returns the old break, as Linux does.
      if (a[0] >= heap_start_ && a[0] <= heap_limit_) brk_ = a[0];
      call.result = static_cast<std::int64_t>(brk_);
      break;
    case kMmap:  // glibc's malloc falls back to brk; no second allocator to leak address space
      call.result = -ENOMEM;
      break;
    case kMunmap:
    case kMprotect:  // RELRO of a static program: nothing to protect in host RAM
    case kSetRobustList:
    case kRtSigaction:
    case kRtSigprocmask:
      call.result = 0;
      break;
    case kSetTidAddress:
    case kGetpid:
    case kGettid:
      call.result = 1;
      break;
    default:
      call.result = -ENOSYS;
      call.unknown = !known_optional(number);
      break;
  }
  return call;
}

}  // namespace cestvp
