// Host CPU: runs the firmware natively in an SC_THREAD. Its HAL turns register and memory
// accesses into TLM transactions on its initiator socket, temporally decoupled through a
// quantum keeper; block accesses go through DMI where a target grants it. Bus errors are
// returned to the firmware and logged (the bus reports them to the platform's FaultLog).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <cestvp/hal.h>

#include "timeline.h"

namespace cestvp {

class HostCpu : public sc_core::sc_module {
 public:
  using Program = std::function<int(fw::Hal&)>;

  struct Params {
    std::size_t stack_bytes = 16u << 20;  // firmware runs natively: give it a real stack
    fw::LogLevel log_level = fw::LogLevel::info;
    std::ostream* log = nullptr;  // firmware log destination; nullptr: std::cout
    // Set (by a signal handler) to ask for a stop: the firmware is halted at its next HAL call
    // and the simulation ends there.
    const std::atomic<int>* stop_request = nullptr;
  };

  tlm_utils::simple_initiator_socket<HostCpu> socket;
  sc_core::sc_in<bool> irq;

  HostCpu(const sc_core::sc_module_name& name, const Params& params, Program program);
  ~HostCpu() override;
  SC_HAS_PROCESS(HostCpu);

  bool finished() const { return finished_; }
  int exit_code() const { return exit_code_; }
  // Register (32-bit) transactions issued and block bytes moved.
  std::uint64_t mmio_transactions() const;
  std::uint64_t block_bytes() const;
  // The firmware's step: its last fw::Hal::phase, "" before the first.
  const std::string& step() const;
  // Whether the firmware said the fault being recorded was provoked on purpose
  // (fw::Hal::expect_faults); each call uses up one announced fault.
  bool take_expected_fault();
  // Counts what moves the firmware forward (writes, block transfers, host work, phases,
  // interrupts taken), not polling reads or wait timeouts, for a no-progress watchdog.
  std::uint64_t progress() const;
  // Inside charged host work (a long host layer is progress too).
  bool computing() const;
  // Where a waiting firmware waits, for a diagnostic dump.
  struct Wait {
    bool waiting = false;
    bool timeout = false;  // with a timeout (it will wake up by itself)
    sc_core::sc_time since;
  };
  Wait interrupt_wait() const;
  // Halts the firmware at its next HAL call, for good (the simulation is ending).
  void halt();
  // The firmware's phases (fw::Hal::phase) go to the timeline's "firmware" track.
  void set_timeline(Timeline* timeline);

 private:
  class TlmHal;
  void run();
  void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end);

  Params params_;
  Program program_;
  std::unique_ptr<TlmHal> hal_;
  Timeline* timeline_ = nullptr;
  Timeline::Track phase_track_ = 0;
  bool finished_ = false;
  int exit_code_ = -1;
};

}  // namespace cestvp
