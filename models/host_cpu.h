// The host CPU's place in the platform: a TLM initiator on the bus with one interrupt input,
// running the firmware. Two implementations (the platform YAML's host.cpu): NativeCpu runs the
// firmware as host code through a TLM HAL, Rv64Cpu runs the cross-built firmware ELF on an
// emulated RV64GC core. What the platform asks of either (step, progress, faults provoked on
// purpose, halting, the phase track) lives here, once.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <cestvp/hal.h>

#include "timeline.h"

namespace cestvp {

class HostCpu : public sc_core::sc_module {
 public:
  struct Params {
    std::size_t stack_bytes = 16u << 20;  // the firmware's (or the emulator's) thread stack
    fw::LogLevel log_level = fw::LogLevel::info;
    std::ostream* log = nullptr;  // firmware log destination; nullptr: std::cout
    // Set (by a signal handler) to ask for a stop: the firmware is halted at its next HAL call
    // (native) or block of instructions (RV64) and the simulation ends there.
    const std::atomic<int>* stop_request = nullptr;
  };

  tlm_utils::simple_initiator_socket<HostCpu> socket;
  sc_core::sc_in<bool> irq;

  bool finished() const { return finished_; }
  // The person debugging the firmware ended the run (GDB's kill).
  bool killed_by_debugger() const { return killed_by_debugger_; }
  int exit_code() const { return exit_code_; }
  // Register (32-bit) transactions issued and block bytes moved.
  std::uint64_t mmio_transactions() const { return mmio_; }
  std::uint64_t block_bytes() const { return block_bytes_; }
  // The firmware's step: its last fw::Hal::phase, "" before the first.
  const std::string& step() const { return step_; }
  // Whether the firmware said the fault being recorded was provoked on purpose
  // (fw::Hal::expect_faults); each call uses up one announced fault.
  bool take_expected_fault();
  // Counts what moves the firmware forward (writes, block transfers, host work, phases,
  // interrupts taken), not polling reads or wait timeouts, for a no-progress watchdog.
  std::uint64_t progress() const { return progress_; }
  // Inside host work (a long host layer is progress too).
  virtual bool computing() const = 0;
  // Where a waiting firmware waits, for a diagnostic dump.
  struct Wait {
    bool waiting = false;
    bool timeout = false;  // with a timeout (it will wake up by itself)
    sc_core::sc_time since;
  };
  Wait interrupt_wait() const { return wait_; }
  // Halts the firmware at its next chance, for good (the simulation is ending).
  void halt() { halt_ = true; }
  // The firmware's phases go to the timeline's "firmware" track and to `on_phase` (the VCD).
  void set_timeline(Timeline* timeline);
  void set_phase_listener(std::function<void(const std::string&, const sc_core::sc_time&)> on_phase) {
    on_phase_ = std::move(on_phase);
  }

 protected:
  HostCpu(const sc_core::sc_module_name& name, const Params& params);

  // A target revoked DMI to [start, end].
  virtual void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) = 0;

  // A requested stop (signal, halt()) is pending.
  bool stop_requested() const {
    return halt_ || (params_.stop_request && params_.stop_request->load(std::memory_order_relaxed) != 0);
  }
  // Ends the simulation here and never resumes the firmware: the thread stays suspended while
  // satvp writes what the run produced.
  [[noreturn]] void stop_for_good();
  // The firmware's services that do not touch hardware, at simulated time `now`.
  void firmware_log(fw::LogLevel level, const std::string& message, const sc_core::sc_time& now) const;
  void firmware_phase(const std::string& name, const sc_core::sc_time& now);
  void flush_log() const;  // before the simulator blocks on something outside it
  void firmware_finished(int exit_code);

  Params params_;
  bool killed_by_debugger_ = false;
  std::uint64_t mmio_ = 0;
  std::uint64_t block_bytes_ = 0;
  std::uint64_t progress_ = 0;
  unsigned expected_faults_ = 0;
  Wait wait_;

 private:
  std::string step_;
  Timeline* timeline_ = nullptr;
  Timeline::Track phase_track_ = 0;
  std::function<void(const std::string&, const sc_core::sc_time&)> on_phase_;
  sc_core::sc_event never_;
  bool halt_ = false;
  bool finished_ = false;
  int exit_code_ = -1;
};

// TLM response to the firmware's view of a bus access.
fw::BusStatus to_bus_status(tlm::tlm_response_status status);

}  // namespace cestvp
