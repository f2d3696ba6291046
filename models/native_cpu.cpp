#include "native_cpu.h"

#include <algorithm>
#include <cstring>

#include <tlm_utils/tlm_quantumkeeper.h>

#include "dmi_timing.h"
#include "tlm_access.h"

// LeakSanitizer's interface (<sanitizer/lsan_interface.h>), weak: null without the sanitizers.
extern "C" void __lsan_register_root_region(const void* begin, std::size_t size) __attribute__((weak));
extern "C" void __lsan_unregister_root_region(const void* begin, std::size_t size) __attribute__((weak));

namespace cestvp {

namespace {

// Largest b_transport the HAL issues where no DMI is granted.
constexpr std::size_t kBlockChunk = 4096;

}  // namespace

class NativeCpu::TlmHal final : public fw::Hal {
 public:
  explicit TlmHal(NativeCpu& cpu) : cpu_(cpu) {}

  fw::BusStatus read32(std::uint64_t addr, std::uint32_t& value) override {
    check_stop();
    ++cpu_.mmio_;
    return transact(tlm::TLM_READ_COMMAND, addr, reinterpret_cast<std::uint8_t*>(&value), 4);
  }
  fw::BusStatus write32(std::uint64_t addr, std::uint32_t value) override {
    check_stop();
    ++cpu_.mmio_;
    ++cpu_.progress_;
    return transact(tlm::TLM_WRITE_COMMAND, addr, reinterpret_cast<std::uint8_t*>(&value), 4);
  }
  fw::BusStatus read_block(std::uint64_t addr, void* dst, std::size_t bytes) override {
    check_stop();
    ++cpu_.progress_;
    return block(tlm::TLM_READ_COMMAND, addr, static_cast<std::uint8_t*>(dst), bytes);
  }
  fw::BusStatus write_block(std::uint64_t addr, const void* src, std::size_t bytes) override {
    check_stop();
    ++cpu_.progress_;
    return block(tlm::TLM_WRITE_COMMAND, addr, static_cast<std::uint8_t*>(const_cast<void*>(src)), bytes);
  }

  bool wait_for_interrupt(std::uint64_t timeout_ns) override {
    check_stop();
    qk_.sync();
    if (!cpu_.irq.read()) {
      cpu_.wait_ = {true, timeout_ns != fw::kNoTimeout, sc_core::sc_time_stamp()};
      if (timeout_ns == fw::kNoTimeout)
        sc_core::wait(cpu_.irq.posedge_event());
      else
        sc_core::wait(sc_core::sc_time(static_cast<double>(timeout_ns), sc_core::SC_NS), cpu_.irq.posedge_event());
      cpu_.wait_.waiting = false;
      check_stop();
    }
    if (!cpu_.irq.read()) return false;
    ++cpu_.progress_;
    return true;
  }

  std::uint64_t now_ps() override {
    return static_cast<std::uint64_t>(local_now() / sc_core::sc_time(1, sc_core::SC_PS));
  }

  void charge_host_time(std::uint64_t ps) override {
    check_stop();
    ++cpu_.progress_;
    qk_.inc(sc_core::sc_time(static_cast<double>(ps), sc_core::SC_PS));
    if (qk_.need_sync()) {
      computing_ = true;
      qk_.sync();
      computing_ = false;
    }
  }

  void log(fw::LogLevel level, const char* message) override { cpu_.firmware_log(level, message, local_now()); }

  void set_block_timing(bool charged) override { charge_blocks_ = charged; }

  void expect_faults(unsigned count) override { cpu_.expected_faults_ = count; }

  void phase(const char* name) override { cpu_.firmware_phase(name, local_now()); }

  sc_core::sc_time local_now() const { return sc_core::sc_time_stamp() + qk_.get_local_time(); }
  void sync() { qk_.sync(); }
  // The global quantum is set at elaboration, possibly after this keeper was made.
  void start() { qk_.reset(); }

  void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    dmi_.erase(std::remove_if(dmi_.begin(), dmi_.end(),
                              [&](const tlm::tlm_dmi& d) {
                                return d.get_start_address() <= end && start <= d.get_end_address();
                              }),
               dmi_.end());
  }

  bool computing_ = false;

 private:
  fw::BusStatus transact(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint32_t bytes) {
    const fw::BusStatus status = to_bus_status(decoupled_access(cpu_.socket, gp_, qk_, cmd, addr, data, bytes));
    if (status != fw::BusStatus::ok) log_fault(cmd == tlm::TLM_WRITE_COMMAND, addr, bytes, status);
    return status;
  }

  void log_fault(bool write, std::uint64_t addr, std::uint32_t bytes, fw::BusStatus status) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "bus error: %s of %u bytes at 0x%016llx answered %s",
                  write ? "write" : "read", bytes, static_cast<unsigned long long>(addr),
                  fw::to_string(status));
    log(fw::LogLevel::warning, msg);  // firmware decides whether it is an error (it may expect it)
  }

  const tlm::tlm_dmi* find_dmi(std::uint64_t addr, bool write) {
    for (const tlm::tlm_dmi& d : dmi_)
      if (addr >= d.get_start_address() && addr <= d.get_end_address())
        return (write ? d.is_write_allowed() : d.is_read_allowed()) ? &d : nullptr;
    tlm::tlm_generic_payload probe;
    probe.set_address(addr);
    probe.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tlm::tlm_dmi d;
    if (!cpu_.socket->get_direct_mem_ptr(probe, d)) return nullptr;
    dmi_.push_back(d);
    return (write ? d.is_write_allowed() : d.is_read_allowed()) ? &dmi_.back() : nullptr;
  }

  fw::BusStatus block(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::size_t bytes) {
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    while (bytes > 0) {
      std::size_t n;
      if (const tlm::tlm_dmi* d = find_dmi(addr, write)) {
        n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, d->get_end_address() - addr + 1));
        std::uint8_t* p = d->get_dmi_ptr() + (addr - d->get_start_address());
        write ? std::memcpy(p, data, n) : std::memcpy(data, p, n);
        if (charge_blocks_) {
          const double lines = static_cast<double>((n + kDmiLineBytes - 1) / kDmiLineBytes);
          qk_.inc((write ? d->get_write_latency() : d->get_read_latency()) * lines);
          if (qk_.need_sync()) qk_.sync();
        }
      } else {
        n = std::min(bytes, kBlockChunk);
        const fw::BusStatus s = transact(cmd, addr, data, static_cast<std::uint32_t>(n));
        if (s != fw::BusStatus::ok) return s;
      }
      cpu_.block_bytes_ += n;
      addr += n;
      data += n;
      bytes -= n;
    }
    return fw::BusStatus::ok;
  }

  // A requested stop ends the simulation here and never resumes the firmware: it stays
  // suspended in this wait while satvp writes what the run produced.
  void check_stop() {
    if (!cpu_.stop_requested()) return;
    qk_.sync();
    cpu_.stop_for_good();
  }

  NativeCpu& cpu_;
  tlm_utils::tlm_quantumkeeper qk_;
  tlm::tlm_generic_payload gp_;
  std::vector<tlm::tlm_dmi> dmi_;
  bool charge_blocks_ = true;
};

NativeCpu::NativeCpu(const sc_core::sc_module_name& name, const Params& params, Program program)
    : HostCpu(name, params), program_(std::move(program)), hal_(std::make_unique<TlmHal>(*this)) {
  SC_THREAD(run);
  set_stack_size(params.stack_bytes);
}

NativeCpu::~NativeCpu() = default;

bool NativeCpu::computing() const { return hal_->computing_; }

void NativeCpu::invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) { hal_->invalidate_dmi(start, end); }

void NativeCpu::run() {
  // LeakSanitizer looks for pointers on the threads' stacks, not on SystemC's coroutine stacks: a
  // run stopped while the firmware waits (watchdog, fault, signal) would report everything the
  // firmware still holds as leaked. Its stack is scanned as a root region until the firmware returns.
  const char* const stack = static_cast<const char*>(__builtin_frame_address(0)) - params_.stack_bytes;
  if (__lsan_register_root_region) __lsan_register_root_region(stack, params_.stack_bytes);
  hal_->start();
  const int exit_code = program_(*hal_);
  if (__lsan_unregister_root_region) __lsan_unregister_root_region(stack, params_.stack_bytes);
  hal_->sync();
  firmware_finished(exit_code);
}

}  // namespace cestvp
