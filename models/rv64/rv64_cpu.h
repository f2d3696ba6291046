// RV64 host CPU: the cross-built firmware ELF on an RV64GC core emulated by unicorn (Debian's
// libunicorn 2.0.1), in machine mode, where the native host CPU would sit (docs/firmware-
// guide.md, "Run and debug your firmware on the RV64 core").
//
// - Memory: host RAM is the core's own (the ELF, the boot block, heap and stack); DDR is plain
//   memory reached through DMI, a page mapped into the emulator when the guest first touches
//   it; every other region of the address map is a device window whose every access is a
//   b_transport with its latency. The core-local devices (regs::host_local: simulation control,
//   timer, bus-error unit) cost instruction time only.
// - Time: guest instructions x CPI x host clock period; the core runs ahead by at most the
//   global quantum and synchronises on every device access and when it sleeps in `wfi`.
// - Interrupts: unicorn 2.0.1 cannot raise an external interrupt, so the core enters the trap
//   itself, as the hardware would: at a block boundary (or on waking from `wfi`) with the line
//   (or the timer) pending, enabled in mie and mstatus.MIE set, it writes mepc, mcause and
//   mstatus and jumps to mtvec.
// - Faults: an illegal instruction, an access to an unmapped address or a fetch from one stop
//   the core; the fault log names the pc, the instruction and the function.
// - GDB: with a GdbServer, the core halts at the entry point and serves the debugger; while it
//   is halted, simulated time stands still.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <set>
#include <vector>

#include <cestvp/boot_block.h>

#include "fault_log.h"
#include "gdb_server.h"
#include "guest_image.h"
#include "guest_linux.h"
#include "host_cpu.h"

struct uc_struct;

namespace cestvp {

class Rv64Cpu final : public HostCpu, private GdbTarget {
 public:
  struct Window {
    std::string name;
    std::uint64_t base = 0, size = 0;
  };
  struct Config {
    const GuestImage* image = nullptr;  // the firmware, placed in host RAM (checked by the loader)
    Window ram;                         // host RAM: boot block, ELF, heap, stack
    std::uint64_t local_base = 0;       // the core-local devices, one 4 KiB page
    Window ddr;                         // memory, through DMI
    std::vector<Window> devices;        // register blocks and SRAM: every access on the bus
    sc_core::sc_time instruction_time;  // CPI / host clock
    fw::BootBlock boot;                 // what the boot ROM hands over (host_local is filled in)
    GdbServer* gdb = nullptr;           // halt at the entry point and serve it; nullptr: run
    FaultLog* faults = nullptr;
  };

  Rv64Cpu(const sc_core::sc_module_name& name, const Params& params, const Config& config);
  ~Rv64Cpu() override;
  SC_HAS_PROCESS(Rv64Cpu);

  // The heap the firmware's allocations come from: host RAM above the boot block and the ELF,
  // below the stack.
  static Window heap(const Window& ram, const GuestImage& image);

  bool computing() const override;
  std::uint64_t instructions() const { return instructions_; }
  // Wall time spent running guest code (not waiting in SystemC), for guest MIPS.
  double emulation_seconds() const { return emulation_seconds_; }
  std::uint64_t interrupts_taken() const { return interrupts_taken_; }

 private:
  struct DeviceWindow {
    Rv64Cpu* cpu;
    Window window;
  };
  enum class Stop { none, exit, fault, breakpoint, step, interrupted, halt };

  struct Hooks;  // unicorn's callbacks, trampolines to the members below
  friend struct Hooks;

  // DDR, the only target the core reaches through DMI, never revokes it.
  void invalidate_dmi(sc_dt::uint64, sc_dt::uint64) override {}
  void boot();
  void run();
  Stop execute(bool step);
  Stop run_emulator(std::uint64_t pc, std::size_t count);
  void sleep_in_wfi();

  struct BlockCount {
    std::uint64_t addr = ~std::uint64_t{0};
    std::uint32_t size = 0, count = 0;
    bool ends_with_csr = false;  // a CSR write may enable an interrupt: look at the next block
  };
  const BlockCount& count_block(std::uint64_t addr, std::uint32_t size);
  void block_check(std::uint64_t addr, std::uint32_t count);
  bool enter_interrupt(std::uint64_t epc);
  std::uint64_t pending_interrupts() const;  // mip bits (MEIP, MTIP) the devices assert now
  void plan_next_check();

  std::uint64_t now_ps() const;
  sc_core::sc_time local_time() const;
  void sync();
  bool map_ddr_page(std::uint64_t addr);
  std::uint64_t device_access(const Window& window, std::uint64_t offset, unsigned size, bool write,
                              std::uint64_t value);
  std::uint64_t local_read(std::uint64_t offset);
  void local_write(std::uint64_t offset, std::uint32_t value);
  std::string guest_text() const;
  void berr(std::uint64_t addr, bool write, fw::BusStatus status);  // the bus-error unit keeps the first
  void syscall();
  void guest_fault(const std::string& what, std::uint64_t address, std::uint64_t pc, const std::string& detail);
  std::string describe_pc(std::uint64_t pc) const;

  std::uint64_t reg(int id) const;
  void set_reg(int id, std::uint64_t value);

  // GdbTarget: the halted core as the debugger sees it.
  bool read_register(unsigned regno, std::uint64_t& value) override;
  bool write_register(unsigned regno, std::uint64_t value) override;
  bool read_memory(std::uint64_t addr, std::uint8_t* dst, std::size_t bytes) override;
  bool write_memory(std::uint64_t addr, const std::uint8_t* src, std::size_t bytes) override;
  bool insert_breakpoint(std::uint64_t addr) override;
  bool remove_breakpoint(std::uint64_t addr) override;
  bool debug_transport(std::uint64_t addr, std::uint8_t* data, std::size_t bytes, bool write);
  void apply_breakpoints(std::uint64_t except);

  Config config_;
  uc_struct* uc_ = nullptr;
  std::uint8_t* ram_ = nullptr;  // host memory of host RAM (mmap)
  std::unique_ptr<GuestLinux> linux_;
  std::vector<std::unique_ptr<DeviceWindow>> windows_;

  // Instruction counting: instructions per translated block, decoded once.
  static constexpr std::size_t kBlockCacheSize = 1 << 14;
  std::vector<BlockCount> block_cache_;
  std::uint64_t instructions_ = 0;
  std::uint64_t next_check_ = 0;  // instruction count at which the block hook looks around
  bool after_csr_ = false;        // the block that ran last ended with a CSR instruction
  bool debugging_ = false;

  // Time: the core is ahead of SystemC by (instructions_ - synced_instructions_) instructions.
  std::uint64_t synced_instructions_ = 0;
  double ps_per_instruction_ = 0;
  std::uint64_t quantum_instructions_ = 1;
  std::uint64_t last_device_instructions_ = 0;
  double emulation_seconds_ = 0;

  // Core-local devices.
  std::uint32_t sim_arg_lo_ = 0, sim_arg_hi_ = 0, sim_len_ = 0;
  std::uint32_t mtime_hi_latch_ = 0;
  std::uint32_t mtimecmp_lo_ = ~0u;
  std::uint64_t mtimecmp_ = ~std::uint64_t{0};
  std::uint32_t berr_cause_ = 0;
  std::uint64_t berr_addr_ = 0;
  std::uint64_t interrupts_taken_ = 0;

  Stop stop_ = Stop::none;
  int exit_status_ = 0;
  GdbStop fault_stop_;
  std::set<std::uint64_t> breakpoints_;  // GDB's
  std::set<std::uint64_t> exits_;        // the emulator's: the breakpoints in effect
  std::uint64_t next_gdb_poll_ = 0;
};

}  // namespace cestvp
