// Ends a run that will not end by itself: a limit on simulated time, and a no-progress check
// that catches a firmware waiting for an interrupt that can never come or polling a register
// that will never change. Every `window` of simulated time it compares a progress snapshot
// (the platform decides what counts: writes, transfers, jobs, host work, a busy engine) with
// the last one; an unchanged snapshot means no progress. It also stops the run when a stop is
// requested (SIGINT, SIGTERM) while the firmware makes no HAL calls. Its verdict says why the
// simulation ended early; the platform then writes a diagnostic dump.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include <systemc>

namespace cestvp {

class Watchdog : public sc_core::sc_module {
 public:
  struct Params {
    sc_core::sc_time time_limit;  // SC_ZERO_TIME: no limit
    sc_core::sc_time window;      // SC_ZERO_TIME: no no-progress check
    const std::atomic<int>* stop_request = nullptr;
  };
  enum class Verdict { none, time_limit, no_progress, stop_request };

  Watchdog(const sc_core::sc_module_name& name, const Params& params, std::function<std::uint64_t()> progress);
  SC_HAS_PROCESS(Watchdog);

  Verdict verdict() const { return verdict_; }
  // Simulated time of the last progress seen (the start of the window that had none).
  sc_core::sc_time last_progress() const { return last_progress_; }

 private:
  void run();
  void check();
  void fire(Verdict verdict);
  sc_core::sc_time next_check() const;

  Params params_;
  std::function<std::uint64_t()> progress_;
  std::uint64_t snapshot_ = 0;
  sc_core::sc_time last_progress_;
  Verdict verdict_ = Verdict::none;
};

const char* to_string(Watchdog::Verdict verdict);

}  // namespace cestvp
