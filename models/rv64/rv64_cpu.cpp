#include "rv64_cpu.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <stdexcept>

#include <unicorn/unicorn.h>

#include <cestvp/regs.h>

#include "tlm_access.h"

namespace cestvp {

namespace {

namespace r = regs::host_local;

constexpr std::uint32_t kWfi = 0x10500073;
constexpr std::uint32_t kEcall = 0x00000073;
constexpr std::uint64_t kMstatusMie = 1u << 3;
constexpr std::uint64_t kMstatusMpie = 1u << 7;
constexpr std::uint64_t kMstatusMpp = 3u << 11;
constexpr std::uint64_t kMstatusFsInitial = 1u << 13;  // Linux starts a program with the FPU on
constexpr std::uint64_t kMipMtip = 1u << 7;
constexpr std::uint64_t kMipMeip = 1u << 11;
constexpr std::uint64_t kCauseInterrupt = 1ull << 63;
constexpr std::uint64_t kLocalWindowBytes = 4096;
constexpr std::uint64_t kStackBytes = 1 << 20;
constexpr std::uint32_t kMaxTextBytes = 4096;
// unicorn reports an ecall as QEMU's user-mode ecall exception, whatever the privilege.
constexpr std::uint32_t kIntnoEcall = 8;
// How often a running core looks for GDB's Ctrl-C, and how long a core sleeping in wfi under a
// debugger sleeps before it looks.
constexpr std::uint64_t kGdbPollInstructions = 1 << 16;
const sc_core::sc_time kGdbPollSleep(1, sc_core::SC_MS);
// A core that has not touched a device for this long is computing (the watchdog's "busy").
constexpr std::uint64_t kComputingInstructions = 100'000;

void check(uc_err err, const char* what) {
  if (err != UC_ERR_OK) throw std::runtime_error(std::string("RV64 core: ") + what + ": " + uc_strerror(err));
}

std::uint64_t to_ps(const sc_core::sc_time& t) {
  return static_cast<std::uint64_t>(t / sc_core::sc_time(1, sc_core::SC_PS) + 0.5);
}

// The RISC-V trap cause of a synchronous exception, as a fault-log entry names it.
const char* exception_name(std::uint32_t cause) {
  switch (cause) {
    case 0: return "INSTRUCTION_MISALIGNED";
    case 1: return "INSTRUCTION_ACCESS_FAULT";
    case 2: return "ILLEGAL_INSTRUCTION";
    case 3: return "BREAKPOINT";
    case 4: return "LOAD_MISALIGNED";
    case 5: return "LOAD_ACCESS_FAULT";
    case 6: return "STORE_MISALIGNED";
    case 7: return "STORE_ACCESS_FAULT";
    default: return "EXCEPTION";
  }
}

}  // namespace

struct Rv64Cpu::Hooks {
  static void block(uc_engine*, std::uint64_t addr, std::uint32_t size, void* self) {
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    const BlockCount& b = cpu.count_block(addr, size);
    cpu.instructions_ += b.count;
    if (cpu.instructions_ >= cpu.next_check_ || cpu.after_csr_) cpu.block_check(addr, b.count);
    cpu.after_csr_ = b.ends_with_csr;
  }
  static void exception(uc_engine*, std::uint32_t intno, void* self) {
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    const std::uint64_t pc = cpu.reg(UC_RISCV_REG_PC);
    std::uint32_t previous = 0;
    if (intno == kIntnoEcall && cpu.read_memory(pc - 4, reinterpret_cast<std::uint8_t*>(&previous), 4) &&
        previous == kEcall) {
      cpu.syscall();
      return;
    }
    // unicorn 2.0.1 reports pc + 4 whatever the instruction's length (measured for `unimp` and
    // for `.word 0`, whose first halfword is a 2-byte illegal instruction); the length is in the
    // instruction's low bits.
    const std::uint64_t at = pc - 4;
    std::uint32_t insn = 0;
    cpu.read_memory(at, reinterpret_cast<std::uint8_t*>(&insn), 4);
    const bool compressed = (insn & 3) != 3;
    if (compressed) insn &= 0xFFFF;
    char detail[96];
    std::snprintf(detail, sizeof detail, "instruction 0x%0*" PRIx32, compressed ? 4 : 8, insn);
    cpu.guest_fault(exception_name(intno), at, at, detail);
  }
  static bool unmapped(uc_engine*, uc_mem_type type, std::uint64_t addr, int size, std::int64_t, void* self) {
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    if (type != UC_MEM_FETCH_UNMAPPED && cpu.map_ddr_page(addr)) return true;
    const char* what = type == UC_MEM_WRITE_UNMAPPED ? "UNMAPPED_WRITE"
                       : type == UC_MEM_FETCH_UNMAPPED ? "UNMAPPED_FETCH"
                                                       : "UNMAPPED_READ";
    char detail[160];
    std::snprintf(detail, sizeof detail, "%s of %d B at 0x%016" PRIx64 " (pc: start of the block of instructions)",
                  type == UC_MEM_WRITE_UNMAPPED ? "write" : type == UC_MEM_FETCH_UNMAPPED ? "fetch" : "read", size,
                  addr);
    cpu.guest_fault(what, addr, cpu.reg(UC_RISCV_REG_PC), detail);
    return false;
  }
  // Sees a device access as the instruction made it: unicorn splits a misaligned one into
  // aligned accesses before the window's callbacks see them.
  static void device_alignment(uc_engine*, uc_mem_type type, std::uint64_t addr, int size, std::int64_t, void* self) {
    if (size <= 0 || addr % static_cast<unsigned>(size) == 0) return;
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    const bool write = type == UC_MEM_WRITE;
    char detail[160];
    std::snprintf(detail, sizeof detail,
                  "%s of %d B at 0x%016" PRIx64 " (devices take aligned accesses; pc: start of the block of instructions)",
                  write ? "write" : "read", size, addr);
    cpu.guest_fault(write ? "STORE_MISALIGNED" : "LOAD_MISALIGNED", addr, cpu.reg(UC_RISCV_REG_PC), detail);
  }
  static std::uint64_t device_read(uc_engine*, std::uint64_t offset, unsigned size, void* window) {
    auto& w = *static_cast<DeviceWindow*>(window);
    return w.cpu->device_access(w.window, offset, size, false, 0);
  }
  static void device_write(uc_engine*, std::uint64_t offset, unsigned size, std::uint64_t value, void* window) {
    auto& w = *static_cast<DeviceWindow*>(window);
    w.cpu->device_access(w.window, offset, size, true, value);
  }
  static std::uint64_t local_read(uc_engine*, std::uint64_t offset, unsigned size, void* self) {
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    if (size == 4) return cpu.local_read(offset);
    cpu.berr(offset + cpu.config_.local_base, false, fw::BusStatus::burst_error);
    return ~std::uint64_t{0};
  }
  static void local_write(uc_engine*, std::uint64_t offset, unsigned size, std::uint64_t value, void* self) {
    auto& cpu = *static_cast<Rv64Cpu*>(self);
    if (size == 4)
      cpu.local_write(offset, static_cast<std::uint32_t>(value));
    else
      cpu.berr(offset + cpu.config_.local_base, true, fw::BusStatus::burst_error);
  }
};

Rv64Cpu::Rv64Cpu(const sc_core::sc_module_name& name, const Params& params, const Config& config)
    : HostCpu(name, params), config_(config), block_cache_(kBlockCacheSize) {
  assert(config_.image && config_.ram.size >= fw::kBootBlockBytes + kStackBytes);
  config_.boot.host_local = config_.local_base;
  ps_per_instruction_ = config_.instruction_time / sc_core::sc_time(1, sc_core::SC_PS);
  quantum_instructions_ = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(tlm::tlm_global_quantum::instance().get() / config_.instruction_time));

  check(uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &uc_), "open");
  void* ram = mmap(nullptr, config_.ram.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ram == MAP_FAILED) throw std::bad_alloc();
  ram_ = static_cast<std::uint8_t*>(ram);
  check(uc_mem_map_ptr(uc_, config_.ram.base, config_.ram.size, UC_PROT_ALL, ram_), "map host RAM");
  check(uc_mmio_map(uc_, config_.local_base, kLocalWindowBytes, Hooks::local_read, this, Hooks::local_write, this),
        "map the core-local devices");
  for (const Window& w : config_.devices) {
    windows_.push_back(std::make_unique<DeviceWindow>(DeviceWindow{this, w}));
    check(uc_mmio_map(uc_, w.base, w.size, Hooks::device_read, windows_.back().get(), Hooks::device_write,
                      windows_.back().get()),
          "map a device window");
    uc_hook alignment;  // about 10 % of guest speed (measured on the Fashion-MNIST MLP)
    check(uc_hook_add(uc_, &alignment, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, reinterpret_cast<void*>(Hooks::device_alignment),
                      this, w.base, w.base + w.size - 1),
          "device alignment hook");
  }
  uc_hook hook;
  check(uc_hook_add(uc_, &hook, UC_HOOK_BLOCK, reinterpret_cast<void*>(Hooks::block), this, 1, 0), "block hook");
  check(uc_hook_add(uc_, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(Hooks::exception), this, 1, 0), "exception hook");
  check(uc_hook_add(uc_, &hook, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(Hooks::unmapped), this, 1, 0),
        "unmapped-memory hook");
  // Breakpoints are the emulator's exits; with none set it runs until a hook stops it.
  check(uc_ctl_exits_enable(uc_), "enable exits");
  boot();
  SC_THREAD(run);
  set_stack_size(params.stack_bytes);
}

Rv64Cpu::~Rv64Cpu() {
  if (uc_) uc_close(uc_);
  if (ram_) munmap(ram_, config_.ram.size);
}

// What a boot ROM and a Linux loader would leave: segments in place, the boot block at the
// start of host RAM, a start-up stack at its top with argv[1] = the block's address, the FPU on.
void Rv64Cpu::boot() {
  const GuestImage& image = *config_.image;
  for (const GuestSegment& s : image.segments) {
    std::uint8_t* at = ram_ + (s.addr - config_.ram.base);
    std::memcpy(at, s.bytes.data(), s.bytes.size());
    std::memset(at + s.bytes.size(), 0, s.mem_bytes - s.bytes.size());
  }
  std::memcpy(ram_, &config_.boot, sizeof config_.boot);
  const std::uint64_t ram_end = config_.ram.base + config_.ram.size;
  const Window h = heap(config_.ram, image);
  linux_ = std::make_unique<GuestLinux>(GuestLinux::Memory{ram_, config_.ram.base, config_.ram.size}, h.base,
                                        h.base + h.size);
  char block[24];
  std::snprintf(block, sizeof block, "0x%" PRIx64, config_.ram.base);
  set_reg(UC_RISCV_REG_SP, linux_->build_stack(ram_end, image, {"cestvp-fw", block}));
  set_reg(UC_RISCV_REG_PC, image.entry);
  set_reg(UC_RISCV_REG_MSTATUS, kMstatusFsInitial);
}

Rv64Cpu::Window Rv64Cpu::heap(const Window& ram, const GuestImage& image) {
  const std::uint64_t start = (std::max(image.highest(), ram.base + fw::kBootBlockBytes) + 4095) & ~4095ull;
  const std::uint64_t end = ram.base + ram.size - kStackBytes;
  return {"heap", start, end > start ? end - start : 0};
}

std::uint64_t Rv64Cpu::reg(int id) const {
  std::uint64_t value = 0;
  uc_reg_read(uc_, id, &value);
  return value;
}

void Rv64Cpu::set_reg(int id, std::uint64_t value) { uc_reg_write(uc_, id, &value); }

bool Rv64Cpu::computing() const { return instructions_ - last_device_instructions_ > kComputingInstructions; }

// --- Running ---------------------------------------------------------------------------------

void Rv64Cpu::run() {
  GdbStop stop = GdbStop::trap();
  debugging_ = config_.gdb != nullptr;
  if (debugging_) {
    firmware_log(fw::LogLevel::info,
                 "halted at the entry point; waiting for GDB on " + config_.gdb->endpoint() + " (target remote " +
                     config_.gdb->endpoint() + ")",
                 sc_core::sc_time_stamp());
    flush_log();
    if (!config_.gdb->accept([this] { return stop_requested(); })) stop_for_good();
  }
  for (;;) {
    bool step = false;
    if (debugging_) {
      switch (config_.gdb->serve(*this, stop)) {
        case GdbServer::Resume::cont: break;
        case GdbServer::Resume::step: step = true; break;
        case GdbServer::Resume::detach:
          debugging_ = false;
          breakpoints_.clear();
          apply_breakpoints(~std::uint64_t{0});
          break;
        case GdbServer::Resume::kill:
          firmware_log(fw::LogLevel::info, "GDB killed the program", sc_core::sc_time_stamp() + local_time());
          killed_by_debugger_ = true;
          stop_for_good();
      }
    }
    switch (execute(step)) {
      case Stop::exit:
        sync();
        if (debugging_) config_.gdb->report_exit(exit_status_);
        firmware_finished(exit_status_);
        return;
      case Stop::fault:
        sync();
        if (debugging_) config_.gdb->serve(*this, fault_stop_);  // look at the state it left, then end
        stop_for_good();
      case Stop::halt:
        sync();
        stop_for_good();
      case Stop::interrupted: stop = GdbStop::interrupt(); break;
      case Stop::breakpoint:
      case Stop::step:
      case Stop::none: stop = GdbStop::trap(); break;
    }
  }
}

Rv64Cpu::Stop Rv64Cpu::run_emulator(std::uint64_t pc, std::size_t count) {
  stop_ = Stop::none;
  const auto start = std::chrono::steady_clock::now();
  const uc_err err = uc_emu_start(uc_, pc, 0, 0, count);
  emulation_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stop_ == Stop::none && err != UC_ERR_OK) {
    const std::uint64_t at = reg(UC_RISCV_REG_PC);
    guest_fault(err == UC_ERR_INSN_INVALID ? "ILLEGAL_INSTRUCTION" : "EMULATOR_ERROR", at, at, uc_strerror(err));
  }
  return stop_;
}

// Runs until something needs the caller: the end, a fault, a breakpoint, a step done, GDB's
// Ctrl-C or a stop request. Sleeps in wfi on the way.
Rv64Cpu::Stop Rv64Cpu::execute(bool step) {
  std::uint64_t pc = reg(UC_RISCV_REG_PC);
  if (step || breakpoints_.count(pc)) {
    // One instruction with the breakpoint at pc lifted. The block hook counts whole blocks, so
    // the count is set by hand.
    const std::uint64_t before = instructions_;
    apply_breakpoints(pc);
    const Stop stop = run_emulator(pc, 1);
    apply_breakpoints(~std::uint64_t{0});
    if (stop != Stop::none) return stop;
    instructions_ = before + 1;
    if (step) return Stop::step;
    pc = reg(UC_RISCV_REG_PC);
  }
  for (;;) {
    const Stop stop = run_emulator(pc, 0);
    if (stop != Stop::none) return stop;
    pc = reg(UC_RISCV_REG_PC);
    if (breakpoints_.count(pc)) return Stop::breakpoint;
    std::uint32_t previous = 0;
    if (read_memory(pc - 4, reinterpret_cast<std::uint8_t*>(&previous), 4) && previous == kWfi) {
      sleep_in_wfi();
      if (stop_ != Stop::none) return stop_;
      pc = reg(UC_RISCV_REG_PC);
    }
  }
}

// wfi: unicorn returns at once with pc after it. The core sleeps in SystemC until an interrupt
// enabled in mie is pending (mstatus.MIE need not be set, as the ISA says), then takes it if
// mstatus.MIE allows, else goes on after the wfi.
void Rv64Cpu::sleep_in_wfi() {
  sync();
  for (;;) {
    if (pending_interrupts() & reg(UC_RISCV_REG_MIE)) break;
    if (stop_requested()) {
      stop_ = Stop::halt;
      return;
    }
    const bool timer = mtimecmp_ != ~std::uint64_t{0};
    wait_ = {true, timer, sc_core::sc_time_stamp()};
    sc_core::sc_time sleep = sc_core::SC_ZERO_TIME;
    if (timer) sleep = sc_core::sc_time(static_cast<double>(mtimecmp_ - now_ps()), sc_core::SC_PS);
    if (debugging_ && (!timer || sleep > kGdbPollSleep)) sleep = kGdbPollSleep;
    if (sleep == sc_core::SC_ZERO_TIME && !timer)
      sc_core::wait(irq.posedge_event());
    else
      sc_core::wait(sleep, irq.posedge_event());
    wait_.waiting = false;
    synced_instructions_ = instructions_;
    if (debugging_ && config_.gdb->interrupt_requested()) {
      stop_ = Stop::interrupted;
      return;
    }
  }
  ++progress_;
  enter_interrupt(reg(UC_RISCV_REG_PC));
  next_check_ = 0;
}

const Rv64Cpu::BlockCount& Rv64Cpu::count_block(std::uint64_t addr, std::uint32_t size) {
  BlockCount& entry = block_cache_[(addr >> 1) & (kBlockCacheSize - 1)];
  if (entry.addr == addr && entry.size == size) return entry;
  entry = {addr, size, 0, false};
  // Instructions are 2 or 4 bytes (the C extension); the low two bits of the first halfword say.
  std::uint32_t offset = 0, last = 0;
  while (offset < size) {
    std::uint16_t half = 0;
    if (!read_memory(addr + offset, reinterpret_cast<std::uint8_t*>(&half), 2)) break;
    last = offset;
    offset += (half & 3) == 3 ? 4 : 2;
    ++entry.count;
  }
  std::uint32_t insn = 0;
  if (entry.count && read_memory(addr + last, reinterpret_cast<std::uint8_t*>(&insn), 4))
    entry.ends_with_csr = (insn & 0x7F) == 0x73 && ((insn >> 12) & 7) != 0;
  return entry;
}

// The block at addr is about to run (its instructions are counted already).
void Rv64Cpu::block_check(std::uint64_t addr, std::uint32_t count) {
  if (stop_requested()) {
    instructions_ -= count;  // stopped before it
    stop_ = Stop::halt;
    uc_emu_stop(uc_);
    return;
  }
  if (debugging_ && instructions_ >= next_gdb_poll_) {
    next_gdb_poll_ = instructions_ + kGdbPollInstructions;
    if (config_.gdb->interrupt_requested()) {
      instructions_ -= count;
      stop_ = Stop::interrupted;
      uc_emu_stop(uc_);
      return;
    }
  }
  if (instructions_ - synced_instructions_ >= quantum_instructions_) sync();
  if (pending_interrupts() && enter_interrupt(addr)) instructions_ -= count;  // the block did not run
  plan_next_check();
}

// The devices' lines change only while the core yields to SystemC, the timer at a known
// instruction count, and mie/mstatus only by CSR instructions (which end their block): between
// those the block hook has nothing to look at.
void Rv64Cpu::plan_next_check() {
  std::uint64_t next = synced_instructions_ + quantum_instructions_;
  if (debugging_) next = std::min(next, next_gdb_poll_);
  if (mtimecmp_ != ~std::uint64_t{0}) {
    const std::uint64_t now = now_ps();
    const std::uint64_t due =
        mtimecmp_ <= now ? instructions_
                         : instructions_ + static_cast<std::uint64_t>(static_cast<double>(mtimecmp_ - now) / ps_per_instruction_) + 1;
    next = std::min(next, due);
  }
  next_check_ = next;
}

std::uint64_t Rv64Cpu::pending_interrupts() const {
  std::uint64_t mip = 0;
  if (irq.read()) mip |= kMipMeip;
  if (mtimecmp_ != ~std::uint64_t{0} && now_ps() >= mtimecmp_) mip |= kMipMtip;
  return mip;
}

// Enters the machine-mode trap of the highest-priority pending, enabled interrupt as the
// hardware would (mepc, mcause, mstatus.MPIE/MIE/MPP, pc = mtvec); unicorn 2.0.1 cannot be told
// to raise an external interrupt itself.
bool Rv64Cpu::enter_interrupt(std::uint64_t epc) {
  const std::uint64_t mstatus = reg(UC_RISCV_REG_MSTATUS);
  if (!(mstatus & kMstatusMie)) return false;
  const std::uint64_t enabled = pending_interrupts() & reg(UC_RISCV_REG_MIE);
  if (!enabled) return false;
  const std::uint64_t cause = (enabled & kMipMeip) ? 11 : 7;  // external before timer (privileged spec)
  set_reg(UC_RISCV_REG_MEPC, epc);
  set_reg(UC_RISCV_REG_MCAUSE, kCauseInterrupt | cause);
  set_reg(UC_RISCV_REG_MSTATUS, (mstatus & ~(kMstatusMie | kMstatusMpie | kMstatusMpp)) | kMstatusMpie | kMstatusMpp);
  const std::uint64_t mtvec = reg(UC_RISCV_REG_MTVEC);
  set_reg(UC_RISCV_REG_PC, (mtvec & ~3ull) + ((mtvec & 3) == 1 ? 4 * cause : 0));
  ++interrupts_taken_;
  ++progress_;
  return true;
}

// --- Time --------------------------------------------------------------------------------------

sc_core::sc_time Rv64Cpu::local_time() const {
  return sc_core::sc_time(static_cast<double>(instructions_ - synced_instructions_) * ps_per_instruction_,
                          sc_core::SC_PS);
}

std::uint64_t Rv64Cpu::now_ps() const { return to_ps(sc_core::sc_time_stamp() + local_time()); }

void Rv64Cpu::sync() {
  const sc_core::sc_time ahead = local_time();
  synced_instructions_ = instructions_;
  if (ahead > sc_core::SC_ZERO_TIME) sc_core::wait(ahead);
  next_check_ = 0;  // lines may have changed meanwhile
}

// --- Memory and devices ------------------------------------------------------------------------

bool Rv64Cpu::map_ddr_page(std::uint64_t addr) {
  if (addr < config_.ddr.base || addr - config_.ddr.base >= config_.ddr.size) return false;
  tlm::tlm_generic_payload probe;
  probe.set_address(addr);
  probe.set_command(tlm::TLM_WRITE_COMMAND);
  tlm::tlm_dmi dmi;
  if (!socket->get_direct_mem_ptr(probe, dmi) || !dmi.is_read_write_allowed()) return false;
  const std::uint64_t start = dmi.get_start_address(), bytes = dmi.get_end_address() - start + 1;
  if (start % 4096 || bytes % 4096 || reinterpret_cast<std::uintptr_t>(dmi.get_dmi_ptr()) % 4096) return false;
  return uc_mem_map_ptr(uc_, start, bytes, UC_PROT_ALL, dmi.get_dmi_ptr()) == UC_ERR_OK;
}

// Every device access is a b_transport at the core's local time, and the core synchronises
// with its answer.
std::uint64_t Rv64Cpu::device_access(const Window& window, std::uint64_t offset, unsigned size, bool write,
                                     std::uint64_t value) {
  const std::uint64_t addr = window.base + offset;
  if (stop_ == Stop::fault) return ~std::uint64_t{0};  // the pieces of a misaligned access go nowhere
  ++mmio_;
  if (write) ++progress_;
  last_device_instructions_ = instructions_;
  std::uint8_t data[8] = {};
  std::memcpy(data, &value, std::min<unsigned>(size, 8));
  tlm::tlm_generic_payload gp;
  prepare_access(gp, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, addr, data, size);
  sc_core::sc_time delay = local_time();
  synced_instructions_ = instructions_;
  socket->b_transport(gp, delay);
  if (delay > sc_core::SC_ZERO_TIME) sc_core::wait(delay);
  next_check_ = 0;
  if (!gp.is_response_ok()) {
    berr(addr, write, to_bus_status(gp.get_response_status()));
    return ~std::uint64_t{0};
  }
  std::uint64_t result = 0;
  std::memcpy(&result, data, std::min<unsigned>(size, 8));
  return result;
}

void Rv64Cpu::berr(std::uint64_t addr, bool write, fw::BusStatus status) {
  if (berr_cause_ != 0) return;  // the first failure since the last clear is kept
  berr_cause_ = r::BerrCause{}.with_cause(static_cast<r::BerrCauseCause>(status)).with_write(write).value;
  berr_addr_ = addr;
}

std::uint64_t Rv64Cpu::local_read(std::uint64_t offset) {
  switch (offset) {
    case r::SIM_ID: return r::SIM_ID_RESET;
    case r::SIM_ARG_LO: return sim_arg_lo_;
    case r::SIM_ARG_HI: return sim_arg_hi_;
    case r::SIM_LEN: return sim_len_;
    case r::MTIME_LO: {
      const std::uint64_t now = now_ps();
      mtime_hi_latch_ = static_cast<std::uint32_t>(now >> 32);
      return static_cast<std::uint32_t>(now);
    }
    case r::MTIME_HI: return mtime_hi_latch_;
    case r::MTIMECMP_LO: return mtimecmp_lo_;
    case r::MTIMECMP_HI: return static_cast<std::uint32_t>(mtimecmp_ >> 32);
    case r::BERR_CAUSE: return berr_cause_;
    case r::BERR_ADDR_LO: return static_cast<std::uint32_t>(berr_addr_);
    case r::BERR_ADDR_HI: return static_cast<std::uint32_t>(berr_addr_ >> 32);
    case r::SIM_LOG:
    case r::SIM_PHASE:
    case r::SIM_EXPECT_FAULTS:
    case r::SIM_EXIT: berr(config_.local_base + offset, false, fw::BusStatus::command_error); break;
    default: berr(config_.local_base + offset, false, fw::BusStatus::address_error); break;
  }
  return 0xFFFFFFFFu;
}

void Rv64Cpu::local_write(std::uint64_t offset, std::uint32_t value) {
  const auto now = [this] { return sc_core::sc_time_stamp() + local_time(); };
  switch (offset) {
    case r::SIM_ARG_LO: sim_arg_lo_ = value; break;
    case r::SIM_ARG_HI: sim_arg_hi_ = value; break;
    case r::SIM_LEN: sim_len_ = value; break;
    case r::SIM_LOG:
      firmware_log(static_cast<fw::LogLevel>(r::SimLog{value}.level()), guest_text(), now());
      break;
    case r::SIM_PHASE: firmware_phase(guest_text(), now()); break;
    case r::SIM_EXPECT_FAULTS: expected_faults_ = value; break;
    case r::SIM_EXIT:
      exit_status_ = static_cast<int>(value);
      stop_ = Stop::exit;
      uc_emu_stop(uc_);
      break;
    case r::MTIMECMP_LO: mtimecmp_lo_ = value; break;
    case r::MTIMECMP_HI:
      mtimecmp_ = (std::uint64_t{value} << 32) | mtimecmp_lo_;
      next_check_ = 0;  // it may be due already
      break;
    case r::BERR_CAUSE:
      if (value == 0) berr_cause_ = 0, berr_addr_ = 0;
      break;
    case r::SIM_ID:
    case r::MTIME_LO:
    case r::MTIME_HI:
    case r::BERR_ADDR_LO:
    case r::BERR_ADDR_HI: berr(config_.local_base + offset, true, fw::BusStatus::command_error); break;
    default: berr(config_.local_base + offset, true, fw::BusStatus::address_error); break;
  }
}

// The text at SIM_ARG / SIM_LEN, for the log and the phase.
std::string Rv64Cpu::guest_text() const {
  const std::uint64_t addr = (std::uint64_t{sim_arg_hi_} << 32) | sim_arg_lo_;
  std::string text(std::min(sim_len_, kMaxTextBytes), '\0');
  auto& self = const_cast<Rv64Cpu&>(*this);
  if (!self.read_memory(addr, reinterpret_cast<std::uint8_t*>(text.data()), text.size()))
    return "(text at an unreadable address)";
  return text;
}

// --- The program's system calls and faults -------------------------------------------------------

void Rv64Cpu::syscall() {
  std::uint64_t args[6];
  for (int i = 0; i < 6; ++i) args[i] = reg(UC_RISCV_REG_A0 + i);
  const std::uint64_t number = reg(UC_RISCV_REG_A7);
  const GuestLinux::Call call = linux_->syscall(number, args);
  const sc_core::sc_time now = sc_core::sc_time_stamp() + local_time();
  if (!call.output.empty()) firmware_log(fw::LogLevel::warning, "the program wrote: " + call.output, now);
  if (call.unknown)
    firmware_log(fw::LogLevel::warning,
                 "system call " + std::to_string(number) + " is not emulated; answered -ENOSYS", now);
  if (call.exit) {
    exit_status_ = call.status;
    stop_ = Stop::exit;
    uc_emu_stop(uc_);
  } else if (call.abort) {
    const std::uint64_t pc = reg(UC_RISCV_REG_PC) - 4;
    guest_fault("ABORT", pc, pc,
                "the firmware called abort() (an uncaught exception or a failed check; run with --gdb and `bt` to "
                "see from where)");
  }
  set_reg(UC_RISCV_REG_A0, static_cast<std::uint64_t>(call.result));
}

std::string Rv64Cpu::describe_pc(std::uint64_t pc) const {
  char text[48];
  std::snprintf(text, sizeof text, "pc 0x%016" PRIx64, pc);
  const std::string function = config_.image->function_at(pc);
  return function.empty() ? std::string(text) : std::string(text) + " in " + function;
}

void Rv64Cpu::guest_fault(const std::string& what, std::uint64_t address, std::uint64_t pc, const std::string& detail) {
  const std::string where = describe_pc(pc) + ": " + detail;
  if (config_.faults) config_.faults->record("cpu", what, "cpu", address, where, sc_core::sc_time_stamp() + local_time());
  firmware_log(fw::LogLevel::error, "guest fault " + what + " at " + where, sc_core::sc_time_stamp() + local_time());
  fault_stop_ = GdbStop::fault(what == "ABORT"                 ? GdbStop::kSigAbrt
                               : what == "ILLEGAL_INSTRUCTION" ? GdbStop::kSigIll
                                                               : GdbStop::kSigSegv);
  stop_ = Stop::fault;
  uc_emu_stop(uc_);
}

// --- GDB ---------------------------------------------------------------------------------------

bool Rv64Cpu::read_register(unsigned regno, std::uint64_t& value) {
  if (regno <= 31)
    value = reg(UC_RISCV_REG_X0 + static_cast<int>(regno));
  else if (regno == 32)
    value = reg(UC_RISCV_REG_PC);
  else if (regno <= 64)
    value = reg(UC_RISCV_REG_F0 + static_cast<int>(regno - 33));
  else if (regno >= 66 && regno <= 68)
    value = reg(UC_RISCV_REG_FFLAGS + static_cast<int>(regno - 66));
  else
    return false;
  return true;
}

bool Rv64Cpu::write_register(unsigned regno, std::uint64_t value) {
  if (regno == 0) return true;  // x0 stays zero
  if (regno <= 31)
    set_reg(UC_RISCV_REG_X0 + static_cast<int>(regno), value);
  else if (regno == 32)
    set_reg(UC_RISCV_REG_PC, value);
  else if (regno <= 64)
    set_reg(UC_RISCV_REG_F0 + static_cast<int>(regno - 33), value);
  else if (regno >= 66 && regno <= 68)
    set_reg(UC_RISCV_REG_FFLAGS + static_cast<int>(regno - 66), value);
  else
    return false;
  return true;
}

// Host RAM directly; everything else through the bus's debug transport (no side effects, no
// time: a device register reads as it is).
bool Rv64Cpu::read_memory(std::uint64_t addr, std::uint8_t* dst, std::size_t bytes) {
  const GuestLinux::Memory ram{ram_, config_.ram.base, config_.ram.size};
  if (ram.contains(addr, bytes)) {
    std::memcpy(dst, ram.at(addr), bytes);
    return true;
  }
  return debug_transport(addr, dst, bytes, false);
}

bool Rv64Cpu::write_memory(std::uint64_t addr, const std::uint8_t* src, std::size_t bytes) {
  const GuestLinux::Memory ram{ram_, config_.ram.base, config_.ram.size};
  if (ram.contains(addr, bytes)) {
    std::memcpy(ram.at(addr), src, bytes);
    uc_ctl_remove_cache(uc_, addr, addr + bytes);  // it may be code
    return true;
  }
  return debug_transport(addr, const_cast<std::uint8_t*>(src), bytes, true);
}

bool Rv64Cpu::debug_transport(std::uint64_t addr, std::uint8_t* data, std::size_t bytes, bool write) {
  tlm::tlm_generic_payload gp;
  gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  gp.set_address(addr);
  gp.set_data_ptr(data);
  gp.set_data_length(static_cast<unsigned>(bytes));
  return socket->transport_dbg(gp) == bytes;
}

bool Rv64Cpu::insert_breakpoint(std::uint64_t addr) {
  breakpoints_.insert(addr);
  apply_breakpoints(~std::uint64_t{0});
  return true;
}

bool Rv64Cpu::remove_breakpoint(std::uint64_t addr) {
  if (!breakpoints_.erase(addr)) return false;
  apply_breakpoints(~std::uint64_t{0});
  return true;
}

// The emulator's exits are the breakpoints (but `except`). Translated code embeds them, so the
// blocks at every address that changed are dropped (a full flush would touch all of unicorn's
// 1 GiB code buffer). Only ever called between runs: unicorn 2.0.1 crashes when its cache is
// changed from inside a hook.
void Rv64Cpu::apply_breakpoints(std::uint64_t except) {
  std::set<std::uint64_t> exits = breakpoints_;
  exits.erase(except);
  if (exits == exits_) return;
  for (const std::set<std::uint64_t>* changed : {&exits, &exits_})
    for (const std::uint64_t addr : *changed)
      if (!exits.count(addr) || !exits_.count(addr)) uc_ctl_remove_cache(uc_, addr, addr + 2);
  exits_ = exits;
  std::vector<std::uint64_t> list(exits.begin(), exits.end());
  uc_ctl_set_exits(uc_, list.data(), list.size());
}

}  // namespace cestvp
