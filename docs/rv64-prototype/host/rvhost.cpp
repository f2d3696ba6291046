// Feasibility prototype for CEST-VP issue 13: run a static riscv64-linux-gnu ELF on Debian's
// unicorn 2.0.1, with Linux syscall emulation (ecall), a sim-control MMIO device, instruction
// counting by a block hook, and external-interrupt injection.
//
//   rvhost [options] prog.elf [guest args...]
//     --count        block hook: count guest instructions (needed for IRQ_AFTER and per-phase counts)
//     --exact        also count with a per-instruction code hook and compare (validation, slow)
//     --irq=manual   inject the interrupt by hand: stop, write mepc/mcause/mstatus, pc = mtvec
//     --irq=inhook   same CSR writes, but from inside the block hook (pc write in a hook)
//     --irq=native   set mip.SEIP with uc_reg_write and let QEMU take the trap itself
//     --wfi-hook     catch wfi with per-address code hooks (addresses pre-scanned in the ELF's code)
//                    instead of the default: QEMU's wfi halts the vCPU and uc_emu_start returns
//     --mmap=enomem  answer mmap with -ENOMEM (glibc malloc then uses brk only)
//     --minimal      implement only brk, write, writev, mprotect, exit_group; all other syscalls return -ENOSYS
//     --mem-hook     UC_HOOK_MEM_READ|WRITE on the device window only: sees the guest's real access size
//                    and address before unicorn splits it (misalignment check); costs speed?
//     --strace       print every syscall
//     --slice=N      uc_emu_stop every N instructions and restart (cost of leaving the emulator)
//     --late-hook=A  after 100 M instructions (from the block hook), add a UC_HOOK_CODE at address A (a GDB breakpoint while running)
//     --late-mode=M  inhook: add it inside the block hook; stop: uc_emu_stop, add it between uc_emu_start calls
//                    (as a GDB stub does while halted); suffix -remove: uc_ctl_remove_cache(A, A+2),
//                    -tbflush: uc_ctl_flush_tlb (UC_CTL_TB_FLUSH)
//     --timeout=MS   uc_emu_start timeout
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// Host RAM region: [kRamBase, kRamBase + 512 MiB); its first 64 KiB stay unmapped (catches null
// pointers when kRamBase is 0). RVHOST_RAM_BASE moves it (e.g. above the platform's DDR).
std::uint64_t kRamBase = 0;
constexpr std::uint64_t kRamBytes = 512ull << 20;
std::uint64_t kRamMapStart, kRamSize, kMmapBase, kStackTop;  // absolute guest addresses, set in main
void set_ram_base(std::uint64_t base) {
  kRamBase = base;
  kRamMapStart = base + 0x10000;
  kRamSize = base + kRamBytes;       // end of RAM (exclusive)
  kMmapBase = base + 0x10000000;     // bump allocator for anonymous mmap; brk grows below it
  kStackTop = base + kRamBytes;      // 1 MiB of stack below it
}
constexpr std::uint64_t kSimctlBase = 0x40000000, kSimctlSize = 0x1000;
constexpr std::uint32_t kWfi = 0x10500073;

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Options {
  bool mem_hook = false, minimal = false, count = false, exact = false, strace = false, wfi_hook = false, mmap_enomem = false;
  std::string irq = "none";
  std::uint64_t slice = 0;
  std::uint64_t late_hook = 0;      // add a code hook at this address at the first PHASE write (like a GDB breakpoint)
  std::string late_mode = "inhook"; // inhook | inhook-remove | inhook-tbflush | stop | stop-remove | stop-tbflush  // stop and restart uc_emu_start every `slice` instructions (quantum cost)
  std::uint64_t timeout_ms = 0;
};

struct Host {
  Options opt;
  uc_engine* uc = nullptr;
  std::uint8_t* ram = nullptr;  // host memory of guest address kRamBase
  std::uint8_t* mem(std::uint64_t guest) const { return ram + (guest - kRamBase); }
  // Linux-process emulation
  std::uint64_t brk_start = 0, brk_cur = 0, mmap_next = 0;
  std::map<std::uint64_t, std::uint64_t> syscall_counts;
  bool exited = false;
  int exit_code = 0;
  // instruction counting
  std::uint64_t instret = 0, exact_instret = 0;
  struct BlockInfo { std::uint32_t size, insns; };
  std::unordered_map<std::uint64_t, BlockInfo> blocks;
  std::set<std::uint64_t> wfi_hooked;
  // interrupt line
  std::uint64_t irq_at = 0;   // raise the line when instret + slept reaches this (0: never)
  std::uint64_t slept = 0;    // "time" spent in wfi, in instruction units (the VP would wait() instead)
  bool line = false;
  bool inject = false;        // --irq=manual: block hook stopped emulation to take the trap
  bool late_pending = false;  // --late-mode=stop*: stopped to add the hook
  bool slice_stop = false;    // --slice: stopped at a slice boundary
  std::uint64_t next_slice = 0;
  bool kick = false;          // --irq=native: block hook stopped emulation so that QEMU sees mip.SEIP
  std::uint64_t raise_instret = 0, vector_addr = 0, last_block_insns = 0;
  std::vector<std::uint64_t> latencies;  // instructions from the line rising to the first block of the handler
  std::uint64_t irqs_taken = 0, wfi_sleeps = 0;
  // phases
  std::string phase = "start";
  Clock::time_point phase_t0 = Clock::now();
  std::uint64_t phase_i0 = 0;
  std::uint64_t mmio_accesses = 0;
  std::string console;
};

std::uint64_t reg(uc_engine* uc, int r) { std::uint64_t v = 0; uc_reg_read(uc, r, &v); return v; }
void set(uc_engine* uc, int r, std::uint64_t v) { uc_reg_write(uc, r, &v); }
void check(uc_err e, const char* what) {
  if (e != UC_ERR_OK) { std::fprintf(stderr, "%s: %s\n", what, uc_strerror(e)); std::exit(2); }
}
std::string guest_string(Host& h, std::uint64_t addr) {
  std::string s;
  for (char c; addr >= kRamMapStart && addr < kRamSize && (c = char(*h.mem(addr))) != 0 && s.size() < 4096; ++addr) s += c;
  return s;
}

// ---------------------------------------------------------------- ELF loading + Linux start-up stack
struct Loaded { std::uint64_t entry, phdr, phnum, end; };

Loaded load_elf(Host& h, const char* path) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) { std::fprintf(stderr, "%s: %s\n", path, std::strerror(errno)); std::exit(2); }
  struct stat st{};
  fstat(fd, &st);
  std::vector<std::uint8_t> f(st.st_size);
  if (read(fd, f.data(), f.size()) != st.st_size) { std::fprintf(stderr, "%s: short read\n", path); std::exit(2); }
  close(fd);
  if (f.size() < sizeof(Elf64_Ehdr) || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0) {
    std::fprintf(stderr, "%s: not an ELF file\n", path); std::exit(2);
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_RISCV || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) {
    std::fprintf(stderr, "%s: not a riscv64 executable (class %d machine %d type %d)\n", path,
                 eh.e_ident[EI_CLASS], eh.e_machine, eh.e_type);
    std::exit(2);
  }
  if ((eh.e_flags & EF_RISCV_FLOAT_ABI) != EF_RISCV_FLOAT_ABI_DOUBLE)
    std::fprintf(stderr, "%s: warning: not an lp64d ELF (e_flags 0x%x)\n", path, eh.e_flags);
  // -static-pie (ET_DYN): linked at 0, loaded at the start of host RAM; glibc relocates itself
  // (_dl_relocate_static_pie), as under Linux. ET_EXEC: loaded where linked.
  const std::uint64_t bias = eh.e_type == ET_DYN ? kRamMapStart : 0;
  Loaded l{eh.e_entry + bias, 0, eh.e_phnum, 0};
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (eh.e_phoff + (i + 1) * sizeof ph > f.size()) { std::fprintf(stderr, "%s: truncated\n", path); std::exit(2); }
    std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    ph.p_vaddr += bias;
    ph.p_paddr += bias;
    if (ph.p_type == PT_PHDR) l.phdr = ph.p_vaddr;
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_vaddr < kRamMapStart || ph.p_vaddr + ph.p_memsz > kMmapBase || ph.p_paddr < kRamMapStart ||
        ph.p_paddr + ph.p_memsz > kMmapBase || ph.p_offset + ph.p_filesz > f.size()) {
      std::fprintf(stderr, "%s: segment 0x%" PRIx64 "+0x%" PRIx64 " outside host RAM or file\n", path,
                   ph.p_vaddr, ph.p_memsz);
      std::exit(2);
    }
    // Load at the physical (load) address: equal to p_vaddr for Linux ELFs; for a bare-metal ELF
    // (picolibc) .data has its LMA in "flash" and crt0 copies it to its VMA.
    std::memcpy(h.mem(ph.p_paddr), f.data() + ph.p_offset, ph.p_filesz);
    std::memset(h.mem(ph.p_paddr + ph.p_filesz), 0, ph.p_memsz - ph.p_filesz);
    if (ph.p_offset == 0 && !l.phdr) l.phdr = ph.p_vaddr + eh.e_phoff;  // static ELFs have no PT_PHDR
    l.end = std::max<std::uint64_t>(l.end, ph.p_vaddr + ph.p_memsz);
  }
  return l;
}

// The stack a Linux kernel hands to a static binary: argc, argv[], NULL, envp[], NULL, auxv[], AT_NULL.
std::uint64_t build_stack(Host& h, const Loaded& l, const std::vector<std::string>& args) {
  std::uint64_t sp = kStackTop;
  auto push_bytes = [&](const void* p, std::size_t n) { sp -= n; std::memcpy(h.mem(sp), p, n); return sp; };
  std::vector<std::uint64_t> argv;
  for (const auto& a : args) argv.push_back(push_bytes(a.c_str(), a.size() + 1));
  const std::uint8_t random16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const std::uint64_t at_random = push_bytes(random16, 16);
  const std::uint64_t execfn = argv.empty() ? 0 : argv[0];
  // RISC-V AT_HWCAP: one bit per single-letter extension
  std::uint64_t hwcap = 0;
  for (char c : std::string("imafdc")) hwcap |= 1ull << (c - 'a');
  std::vector<std::uint64_t> v;
  v.push_back(args.size());
  for (auto a : argv) v.push_back(a);
  v.push_back(0);  // end of argv
  v.push_back(0);  // empty envp
  const std::uint64_t aux[][2] = {
      {AT_PHDR, l.phdr}, {AT_PHENT, sizeof(Elf64_Phdr)}, {AT_PHNUM, l.phnum}, {AT_PAGESZ, 4096},
      {AT_ENTRY, l.entry}, {AT_UID, 0}, {AT_EUID, 0}, {AT_GID, 0}, {AT_EGID, 0}, {AT_SECURE, 0},
      {AT_HWCAP, hwcap}, {AT_CLKTCK, 100}, {AT_RANDOM, at_random}, {AT_EXECFN, execfn}, {AT_NULL, 0}};
  for (auto& a : aux) { v.push_back(a[0]); v.push_back(a[1]); }
  sp = (sp - v.size() * 8) & ~std::uint64_t(15);
  std::memcpy(h.mem(sp), v.data(), v.size() * 8);
  return sp;
}

// ---------------------------------------------------------------- syscalls
const char* syscall_name(std::uint64_t n) {
  switch (n) {
    case 29: return "ioctl"; case 56: return "openat"; case 57: return "close"; case 63: return "read";
    case 64: return "write"; case 66: return "writev"; case 78: return "readlinkat"; case 79: return "newfstatat";
    case 80: return "fstat"; case 93: return "exit"; case 94: return "exit_group"; case 96: return "set_tid_address";
    case 99: return "set_robust_list"; case 113: return "clock_gettime"; case 131: return "tgkill";
    case 134: return "rt_sigaction"; case 135: return "rt_sigprocmask"; case 160: return "uname";
    case 172: return "getpid"; case 178: return "gettid"; case 214: return "brk"; case 215: return "munmap";
    case 216: return "mremap"; case 222: return "mmap"; case 226: return "mprotect"; case 261: return "prlimit64";
    case 278: return "getrandom"; case 293: return "rseq";
  }
  return "?";
}

void do_syscall(Host& h) {
  uc_engine* uc = h.uc;
  const std::uint64_t n = reg(uc, UC_RISCV_REG_A7);
  std::uint64_t a[6];
  for (int i = 0; i < 6; ++i) a[i] = reg(uc, UC_RISCV_REG_A0 + i);
  std::int64_t ret = -ENOSYS;
  ++h.syscall_counts[n];
  // --minimal: only brk, write and exit_group are implemented; everything else is -ENOSYS
  const bool minimal_skip = h.opt.minimal && n != 214 && n != 64 && n != 66 && n != 94 && n != 93 && n != 226;
  switch (minimal_skip ? ~0ull : n) {
    case 64:  // write(fd, buf, len): stdout/stderr to the console
      if ((a[0] == 1 || a[0] == 2) && a[1] >= kRamMapStart && a[1] + a[2] <= kRamSize) {
        std::fwrite(h.mem(a[1]), 1, a[2], stdout);
        ret = std::int64_t(a[2]);
      } else ret = -EBADF;
      break;
    case 66:  // writev(fd, iov, cnt): glibc's fatal-error messages (__libc_fatal) use it
      if (a[0] == 1 || a[0] == 2) {
        ret = 0;
        for (std::uint64_t k = 0; k < a[2]; ++k) {
          std::uint64_t base, len;
          std::memcpy(&base, h.mem(a[1] + 16 * k), 8);
          std::memcpy(&len, h.mem(a[1] + 16 * k + 8), 8);
          std::fwrite(h.mem(base), 1, len, stderr);
          ret += std::int64_t(len);
        }
      } else ret = -EBADF;
      break;
    case 94: case 93:  // exit_group, exit
      h.exited = true; h.exit_code = int(a[0]); uc_emu_stop(uc); ret = 0; break;
    case 96: ret = 1; break;           // set_tid_address -> tid 1
    case 99: ret = 0; break;           // set_robust_list
    case 293: ret = -ENOSYS; break;    // rseq: glibc copes
    case 226: ret = 0; break;          // mprotect (RELRO of the static binary): nothing to protect
    case 278:                          // getrandom (malloc's tcache key): deterministic bytes
      for (std::uint64_t i = 0; i < a[1]; ++i) *h.mem(a[0] + i) = std::uint8_t(0x5a ^ i);
      ret = std::int64_t(a[1]);
      break;
    case 214:  // brk
      if (a[0] == 0 || a[0] < h.brk_start) ret = std::int64_t(h.brk_cur);
      else if (a[0] <= kMmapBase) { h.brk_cur = a[0]; ret = std::int64_t(h.brk_cur); }
      else ret = std::int64_t(h.brk_cur);  // failure: old break
      break;
    case 222: {  // mmap(addr, len, prot, flags, fd, off): anonymous only
      const std::uint64_t len = (a[1] + 4095) & ~4095ull;
      if (h.opt.mmap_enomem || std::int64_t(a[4]) != -1) ret = -ENOMEM;
      else if (h.mmap_next + len > kStackTop - (1 << 20)) ret = -ENOMEM;
      else { ret = std::int64_t(h.mmap_next); std::memset(h.mem(h.mmap_next), 0, len); h.mmap_next += len; }
      break;
    }
    case 215: ret = 0; break;          // munmap: a bump allocator never reuses (see README)
    case 79: case 80: ret = -ENOSYS; break;  // fstat: stdio then uses full buffering
    case 29: ret = -ENOTTY; break;     // ioctl
    case 135: case 134: ret = 0; break; // signals (abort path)
    case 172: case 178: ret = 1; break;
    case 131: h.exited = true; h.exit_code = 134; uc_emu_stop(uc); ret = 0; break;  // tgkill(SIGABRT)
    case 113: ret = -ENOSYS; break;
    default: break;
  }
  if (h.opt.strace)
    std::fprintf(stderr, "[syscall] %3" PRIu64 " %-16s (0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ") = %" PRId64 "\n",
                 n, syscall_name(n), a[0], a[1], a[2], ret);
  set(uc, UC_RISCV_REG_A0, std::uint64_t(ret));
}

std::uint32_t first_intno = ~0u;
std::uint64_t first_intr_pc = 0;

void on_intr(uc_engine* uc, std::uint32_t intno, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  const std::uint64_t pc = reg(uc, UC_RISCV_REG_PC);
  if (first_intno == ~0u) { first_intno = intno; first_intr_pc = pc; }
  std::uint32_t insn = 0, prev = 0;
  if (pc >= kRamMapStart && pc < kRamSize - 4) std::memcpy(&insn, h.mem(pc), 4);
  if (pc >= kRamMapStart + 4 && pc < kRamSize) std::memcpy(&prev, h.mem(pc - 4), 4);
  // unicorn 2.0.1 reports every ecall as intno 8 (QEMU's RISCV_EXCP_U_ECALL, before the
  // privilege adjustment), with pc already past the ecall.
  if (intno == 8 && prev == 0x00000073) {
    do_syscall(h);
    return;
  }
  std::fprintf(stderr, "guest fault: exception %u at pc 0x%" PRIx64 " insn 0x%08x\n", intno, pc, insn);
  h.exited = true; h.exit_code = 5; uc_emu_stop(uc);
}

// ---------------------------------------------------------------- instruction counting + interrupts
void take_trap_by_hand(Host& h, std::uint64_t epc) {
  uc_engine* uc = h.uc;
  const std::uint64_t mstatus = reg(uc, UC_RISCV_REG_MSTATUS);
  const std::uint64_t mie_bit = (mstatus >> 3) & 1;
  std::uint64_t ms = mstatus & ~((1ull << 3) | (1ull << 7) | (3ull << 11));
  ms |= (mie_bit << 7) | (3ull << 11);  // MPIE = MIE, MIE = 0, MPP = M
  set(uc, UC_RISCV_REG_MEPC, epc);
  set(uc, UC_RISCV_REG_MCAUSE, 0x800000000000000Bull);
  set(uc, UC_RISCV_REG_MSTATUS, ms);
  const std::uint64_t mtvec = reg(uc, UC_RISCV_REG_MTVEC);
  const std::uint64_t target = (mtvec & 3) == 1 ? (mtvec & ~3ull) + 4 * 11 : (mtvec & ~3ull);
  set(uc, UC_RISCV_REG_PC, target);
  ++h.irqs_taken;
}

bool irq_enabled(Host& h) {
  const int bit = h.opt.irq == "native" ? 9 : 11;
  return ((reg(h.uc, UC_RISCV_REG_MSTATUS) >> 3) & 1) && ((reg(h.uc, UC_RISCV_REG_MIE) >> bit) & 1);
}

void raise_line(Host& h) {
  h.line = true;
  h.irq_at = 0;
  h.raise_instret = h.instret;  // latency is measured in executed instructions
  h.vector_addr = reg(h.uc, UC_RISCV_REG_MTVEC) & ~3ull;
  if (h.opt.irq == "native") {  // SEIP is software-writable in mip from M-mode; MEIP is not
    set(h.uc, UC_RISCV_REG_MIP, reg(h.uc, UC_RISCV_REG_MIP) | (1ull << 9));
  }
}

// The core sleeps in wfi: in the VP, wait() on the interrupt controller's line (simulated time
// advances, instructions do not). Here: jump to the instruction count at which the line rises.
bool sleep_until_irq(Host& h) {
  ++h.wfi_sleeps;
  if (!h.line && h.irq_at) { if (h.irq_at > h.instret + h.slept) h.slept = h.irq_at - h.instret; raise_line(h); }
  if (!h.line) { std::fprintf(stderr, "wfi with no interrupt coming: deadlock\n"); h.exited = true; h.exit_code = 4; return false; }
  return true;
}

// --wfi-hook: runs before the wfi executes.
void on_wfi(uc_engine* uc, std::uint64_t addr, std::uint32_t, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  if (!sleep_until_irq(h)) { uc_emu_stop(uc); return; }
  if (h.opt.irq == "native") return;  // mip.SEIP is set: QEMU's wfi falls through and QEMU takes the trap
  if (irq_enabled(h)) take_trap_by_hand(h, addr + 4);  // wfi completes, then the trap: mepc = next insn
  else set(uc, UC_RISCV_REG_PC, addr + 4);            // wake without trap (MIE = 0): skip the wfi
}

std::uint64_t last_block = 0;
std::uint64_t late_hook_hits = 0;
void on_late_hook(uc_engine*, std::uint64_t, std::uint32_t, void*) { ++late_hook_hits; }
void add_late_hook(Host& h) {
  uc_hook hh;
  uc_hook_add(h.uc, &hh, UC_HOOK_CODE, reinterpret_cast<void*>(on_late_hook), &h, h.opt.late_hook, h.opt.late_hook);
  const std::string& m = h.opt.late_mode;
  if (m.find("-remove") != std::string::npos) uc_ctl_remove_cache(h.uc, h.opt.late_hook, h.opt.late_hook + 2);
  if (m.find("-tbflush") != std::string::npos) uc_ctl_flush_tlb(h.uc);
  h.opt.late_hook = 0;
}
void on_block(uc_engine* uc, std::uint64_t addr, std::uint32_t size, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  // Front cache: direct-mapped on the block address (most lookups); the map holds everything.
  struct Slot { std::uint64_t addr; std::uint32_t size, insns; };
  static Slot cache[1 << 16];
  Slot& slot = cache[(addr >> 1) & 0xffff];
  if (slot.addr == addr && slot.size == size) {
    h.instret += slot.insns;
    last_block = addr;
    h.last_block_insns = slot.insns;
    if (!(h.vector_addr | h.opt.slice | h.irq_at | h.opt.late_hook) && !h.line) return;  // nothing else to do: the fast path
    h.instret -= slot.insns;  // fall through to the full path, which adds it again
  }
  auto it = h.blocks.find(addr);
  if (it == h.blocks.end() || it->second.size != size) {
    std::uint32_t n = 0;
    for (std::uint32_t off = 0; off < size;) {
      std::uint32_t insn = 0;
      uc_mem_read(uc, addr + off, &insn, std::min<std::uint32_t>(4, size - off));
      const bool compressed = (insn & 3) != 3;
      off += compressed ? 2 : 4;
      ++n;
    }
    it = h.blocks.insert_or_assign(addr, Host::BlockInfo{size, n}).first;
  }
  slot = Slot{addr, size, it->second.insns};
  h.instret += it->second.insns;
  last_block = addr;
  h.last_block_insns = it->second.insns;
  if (h.vector_addr && addr == h.vector_addr) {
    h.latencies.push_back(h.instret - it->second.insns - h.raise_instret);
    h.vector_addr = 0;
  }
  if (h.opt.late_hook && !h.late_pending && h.instret >= 100'000'000) {  // the hot loop's blocks are translated already
    if (h.opt.late_mode.rfind("stop", 0) == 0) { h.late_pending = true; uc_emu_stop(uc); }
    else add_late_hook(h);
  }
  if (h.opt.slice && h.instret >= h.next_slice) {
    h.next_slice = h.instret + h.opt.slice;
    h.slice_stop = true;
    uc_emu_stop(uc);
  }
  if (h.irq_at && h.instret + h.slept >= h.irq_at) {
    raise_line(h);
    h.raise_instret = h.instret - it->second.insns;  // the line rose before this block ran
    // QEMU does not notice a mip change made from a hook until it leaves its chained TBs:
    // stop, so that it checks interrupt_request when it resumes.
    if (h.opt.irq == "native") { h.kick = true; uc_emu_stop(uc); }
  }
  if (h.line && h.opt.irq != "native" && !h.inject && irq_enabled(h)) {
    if (h.opt.irq == "inhook") {  // PC write from a hook: unicorn abandons this block and restarts at mtvec
      take_trap_by_hand(h, addr);
      h.instret -= it->second.insns;  // the block did not run
    } else { h.inject = true; uc_emu_stop(uc); }
  }
}

// --mem-hook: the guest's access as issued (an 8-byte store arrives here once, with size 8).
std::uint64_t misaligned_device_accesses = 0;
std::uint64_t device_hook_calls = 0;
void on_device_access(uc_engine*, uc_mem_type, std::uint64_t addr, int size, std::int64_t, void*) {
  ++device_hook_calls;
  if (addr & (size - 1)) {
    if (misaligned_device_accesses++ < 3) std::fprintf(stderr, "[mem-hook] misaligned %d-byte device access at 0x%" PRIx64 "\n", size, addr);
  }
}

// Unmapped access: the address, and the pc unicorn reports at that moment.
bool on_unmapped(uc_engine* uc, uc_mem_type type, std::uint64_t addr, int size, std::int64_t, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  const std::uint64_t pc = reg(uc, UC_RISCV_REG_PC);
  std::fprintf(stderr, "guest fault: %s of %d bytes at 0x%" PRIx64 ", pc 0x%" PRIx64 "\n",
               type == UC_MEM_WRITE_UNMAPPED ? "write" : type == UC_MEM_FETCH_UNMAPPED ? "fetch" : "read", size, addr, pc);
  h.exit_code = 5;
  return false;  // uc_emu_start returns UC_ERR_*_UNMAPPED
}

void on_code_exact(uc_engine*, std::uint64_t, std::uint32_t, void* ud) { ++static_cast<Host*>(ud)->exact_instret; }

// ---------------------------------------------------------------- sim-control device
void end_phase(Host& h, const std::string& next) {
  const auto now = Clock::now();
  const double dt = secs(h.phase_t0, now);
  const std::uint64_t di = h.instret - h.phase_i0;
  if (h.opt.count)
    std::printf("[phase] %-26s %12" PRIu64 " insns %8.3f s %9.1f MIPS\n", h.phase.c_str(), di, dt, di / dt / 1e6);
  else
    std::printf("[phase] %-26s %8.3f s\n", h.phase.c_str(), dt);
  h.phase = next; h.phase_t0 = Clock::now(); h.phase_i0 = h.instret;
}

std::uint64_t simctl_read(uc_engine*, std::uint64_t off, unsigned size, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  ++h.mmio_accesses;
  if (h.opt.strace) std::fprintf(stderr, "[mmio] read  off 0x%" PRIx64 " size %u\n", off, size);
  if (off == 0x2c) return h.instret >> 32;
  if (off == 0x28) return h.instret;
  return 0;
}

void simctl_write(uc_engine* uc, std::uint64_t off, unsigned size, std::uint64_t v, void* ud) {
  Host& h = *static_cast<Host*>(ud);
  ++h.mmio_accesses;
  if (h.opt.strace) std::fprintf(stderr, "[mmio] write off 0x%" PRIx64 " size %u value 0x%" PRIx64 "\n", off, size, v);
  // unicorn 2.0.1 delivers a 64-bit store as two 4-byte writes, low half first. The 64-bit
  // registers latch the low half and act when the high half arrives.
  static std::uint64_t low_half = 0;
  if (off == 0x10 || off == 0x18 || off == 0x38) { low_half = v & 0xffffffffu; return; }
  if (off == 0x14 || off == 0x1c || off == 0x3c) { v = low_half | (v << 32); off -= 4; }
  switch (off) {
    case 0x00: h.console += char(v); if (char(v) == '\n') { std::fputs(h.console.c_str(), stdout); h.console.clear(); } break;
    case 0x08: h.exited = true; h.exit_code = int(v); uc_emu_stop(uc); break;
    case 0x10: end_phase(h, guest_string(h, v)); break;
    case 0x18: h.irq_at = h.instret + h.slept + v; break;
    case 0x20:
      h.line = false;
      if (h.opt.irq == "native") set(uc, UC_RISCV_REG_MIP, reg(uc, UC_RISCV_REG_MIP) & ~(1ull << 9));
      break;
    case 0x30: break;
    case 0x38: std::printf("[guest] %s\n", guest_string(h, v).c_str()); break;
    default:
      if (off & 4) break;  // high half of a 64-bit store: unicorn 2.0.1 splits 8-byte MMIO accesses into two 4-byte ones
      std::fprintf(stderr, "simctl: write of %u bytes to unknown offset 0x%" PRIx64 "\n", size, off);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Host h;
  int i = 1;
  for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; ++i) {
    const std::string a = argv[i];
    if (a == "--count") h.opt.count = true;
    else if (a == "--exact") h.opt.count = h.opt.exact = true;
    else if (a == "--strace") h.opt.strace = true;
    else if (a == "--wfi-hook") h.opt.wfi_hook = true;
    else if (a == "--minimal") h.opt.minimal = true;
    else if (a == "--mem-hook") h.opt.mem_hook = true;
    else if (a == "--mmap=enomem") h.opt.mmap_enomem = true;
    else if (a.rfind("--irq=", 0) == 0) { h.opt.irq = a.substr(6); h.opt.count = true; }
    else if (a.rfind("--late-hook=", 0) == 0) { h.opt.late_hook = std::strtoull(a.c_str() + 12, nullptr, 0); h.opt.count = true; }
    else if (a.rfind("--late-mode=", 0) == 0) h.opt.late_mode = a.substr(12);
    else if (a.rfind("--slice=", 0) == 0) { h.opt.slice = std::strtoull(a.c_str() + 8, nullptr, 10); h.opt.count = true; }
    else if (a.rfind("--timeout=", 0) == 0) h.opt.timeout_ms = std::strtoull(a.c_str() + 10, nullptr, 10);
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  if (i >= argc) { std::fprintf(stderr, "usage: rvhost [options] prog.elf [args]\n"); return 2; }
  std::vector<std::string> args(argv + i, argv + argc);

  check(uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &h.uc), "uc_open");
  set_ram_base(std::getenv("RVHOST_RAM_BASE") ? std::strtoull(std::getenv("RVHOST_RAM_BASE"), nullptr, 0) : 0);
  h.mmap_next = kMmapBase;
  h.ram = static_cast<std::uint8_t*>(mmap(nullptr, kRamBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  check(uc_mem_map_ptr(h.uc, kRamMapStart, kRamSize - kRamMapStart, UC_PROT_ALL, h.mem(kRamMapStart)), "uc_mem_map_ptr");
  check(uc_mmio_map(h.uc, kSimctlBase, kSimctlSize, simctl_read, &h, simctl_write, &h), "uc_mmio_map");

  const Loaded l = load_elf(h, args[0].c_str());
  h.brk_start = h.brk_cur = (l.end + 4095) & ~4095ull;
  const std::uint64_t sp = build_stack(h, l, args);
  set(h.uc, UC_RISCV_REG_SP, sp);
  set(h.uc, UC_RISCV_REG_A0, 0);  // rtld_fini = NULL (the kernel passes 0 in a0)

  std::printf("[host] reset state: mstatus=0x%" PRIx64 " misa=0x%" PRIx64 " mtvec=0x%" PRIx64 " mie=0x%" PRIx64 "\n",
              reg(h.uc, UC_RISCV_REG_MSTATUS), reg(h.uc, UC_RISCV_REG_MISA), reg(h.uc, UC_RISCV_REG_MTVEC),
              reg(h.uc, UC_RISCV_REG_MIE));
  // Probe: can the host set MEIP in mip? (QEMU 5.0 only lets software write SSIP/STIP/SEIP.)
  set(h.uc, UC_RISCV_REG_MIP, 1ull << 11);
  std::printf("[host] after writing mip=MEIP: mip=0x%" PRIx64 "\n", reg(h.uc, UC_RISCV_REG_MIP));
  set(h.uc, UC_RISCV_REG_MIP, 0);
  // unicorn resets mstatus to 0: FS = Off, so the first FP instruction (glibc's setjmp/fsd in start-up)
  // is an illegal-instruction exception. A boot ROM (or the Linux kernel) turns the FPU on: FS = Initial.
  // RVHOST_FS=0 reproduces the failure.
  const char* fs = std::getenv("RVHOST_FS");
  set(h.uc, UC_RISCV_REG_MSTATUS, reg(h.uc, UC_RISCV_REG_MSTATUS) | ((fs ? std::strtoull(fs, nullptr, 0) : 1) << 13));
  std::printf("[host] mstatus.FS set: mstatus=0x%" PRIx64 "\n", reg(h.uc, UC_RISCV_REG_MSTATUS));

  if (h.opt.wfi_hook) {  // every 2-byte-aligned wfi encoding in the loaded image; data false positives never fire
    for (std::uint64_t a = kRamMapStart; a + 4 <= l.end; a += 2) {
      std::uint32_t w;
      std::memcpy(&w, h.mem(a), 4);
      if (w != kWfi) continue;
      uc_hook hh;
      check(uc_hook_add(h.uc, &hh, UC_HOOK_CODE, reinterpret_cast<void*>(on_wfi), &h, a, a), "hook wfi");
      h.wfi_hooked.insert(a);
    }
    std::printf("[host] %zu wfi code hooks\n", h.wfi_hooked.size());
  }
  uc_hook hi, hb, hc;
  check(uc_hook_add(h.uc, &hi, UC_HOOK_INTR, reinterpret_cast<void*>(on_intr), &h, 1, 0), "hook intr");
  if (h.opt.mem_hook) {
    uc_hook hm;
    check(uc_hook_add(h.uc, &hm, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, reinterpret_cast<void*>(on_device_access), &h,
                      kSimctlBase, kSimctlBase + kSimctlSize - 1), "hook mem");
  }
  uc_hook hu;
  check(uc_hook_add(h.uc, &hu, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(on_unmapped), &h, 1, 0), "hook unmapped");
  if (h.opt.count) check(uc_hook_add(h.uc, &hb, UC_HOOK_BLOCK, reinterpret_cast<void*>(on_block), &h, 1, 0), "hook block");
  if (h.opt.exact) check(uc_hook_add(h.uc, &hc, UC_HOOK_CODE, reinterpret_cast<void*>(on_code_exact), &h, 1, 0), "hook code");

  const auto t0 = Clock::now();
  std::uint64_t pc = l.entry;
  std::uint64_t starts = 0;
  for (;;) {
    ++starts;
    const uc_err e = uc_emu_start(h.uc, pc, 0, h.opt.timeout_ms * 1000, 0);
    pc = reg(h.uc, UC_RISCV_REG_PC);
    if (e != UC_ERR_OK) {
      std::fprintf(stderr, "uc_emu_start: %s at pc 0x%" PRIx64 "\n", uc_strerror(e), pc);
      h.exit_code = 5;
      break;
    }
    if (h.exited) break;
    // uc_emu_stop from a block hook: depending on the hooks present, the block either did not run
    // (pc == its address; seen with only a block hook) or ran to its end. Correct the count.
    // Whatever made uc_emu_start return (uc_emu_stop from a hook, a halting wfi), the block hook of
    // the next block may already have run: if pc is that block's address, it did not execute.
    if (pc == last_block && last_block != 0) {
      h.instret -= h.last_block_insns;
    }
    last_block = 0;
    if (h.late_pending) { h.late_pending = false; add_late_hook(h); continue; }
    if (h.kick) { h.kick = false; continue; }
    if (h.slice_stop && !h.inject) { h.slice_stop = false; continue; }
    h.slice_stop = false;
    if (h.inject) {  // --irq=manual: the block hook stopped emulation to take the interrupt
      if (starts < 4) std::printf("[host] stopped for irq: hook saw block 0x%" PRIx64 ", pc now 0x%" PRIx64 "\n", last_block, pc);
      h.inject = false;
      take_trap_by_hand(h, pc);
      pc = reg(h.uc, UC_RISCV_REG_PC);
      continue;
    }
    std::uint32_t prev = 0;
    if (pc >= kRamMapStart + 4 && pc < kRamSize) std::memcpy(&prev, h.mem(pc - 4), 4);
    if (prev == kWfi) {  // unicorn 2.0.1: wfi with nothing pending halts the vCPU, uc_emu_start returns, pc = wfi + 4
      if (starts < 4) std::printf("[host] uc_emu_start returned after wfi, pc 0x%" PRIx64 "\n", pc);
      if (!sleep_until_irq(h)) break;
      if (h.opt.irq != "native" && irq_enabled(h)) { take_trap_by_hand(h, pc); pc = reg(h.uc, UC_RISCV_REG_PC); }
      continue;  // native: mip.SEIP is now set, QEMU takes the trap when it resumes
    }
    std::fprintf(stderr, "uc_emu_start returned at pc 0x%" PRIx64 " without exit (timeout?)\n", pc);
    h.exit_code = 6;
    break;
  }
  const double wall = secs(t0, Clock::now());
  if (!h.console.empty()) std::fputs(h.console.c_str(), stdout);
  std::fflush(stdout);
  end_phase(h, "");
  std::printf("[host] first exception seen by UC_HOOK_INTR: intno %u at pc 0x%" PRIx64 "\n", first_intno, first_intr_pc);
  std::printf("[host] syscalls:");
  for (auto& [n, c] : h.syscall_counts) std::printf(" %s(%" PRIu64 ")x%" PRIu64, syscall_name(n), n, c);
  std::printf("\n[host] exit %d, wall %.3f s, uc_emu_start calls %" PRIu64 ", mmio accesses %" PRIu64
              ", irqs injected by hand %" PRIu64 ", wfi hook hits %" PRIu64 ", brk used %" PRIu64 " KiB, mmap used %" PRIu64 " KiB\n",
              h.exit_code, wall, starts, h.mmio_accesses, h.irqs_taken, h.wfi_sleeps,
              (h.brk_cur - h.brk_start) >> 10, (h.mmap_next - kMmapBase) >> 10);
  if (h.opt.count)
    std::printf("[host] instructions (block hook) %" PRIu64 ", %zu distinct blocks, %.1f MIPS\n", h.instret, h.blocks.size(), h.instret / wall / 1e6);
  if (!h.latencies.empty()) {
    std::printf("[host] interrupt latency (instructions from line rise to first handler block):");
    for (auto v : h.latencies) std::printf(" %" PRIu64, v);
    std::printf("\n");
  }
  if (late_hook_hits || h.opt.late_mode != "inhook") std::printf("[host] late code hook hits %" PRIu64 "\n", late_hook_hits);
  if (h.opt.mem_hook) std::printf("[host] device mem-hook calls %" PRIu64 ", misaligned %" PRIu64 "\n", device_hook_calls, misaligned_device_accesses);
  if (h.opt.exact) std::printf("[host] instructions (code hook) %" PRIu64 "\n", h.exact_instret);
  uc_close(h.uc);
  return h.exit_code;
}
