// SIGINT and SIGTERM during a run ask for a clean stop instead of killing the process: the
// firmware is halted at its next HAL call (or the watchdog's next check), the simulation ends,
// and satvp closes the VCD and writes the partial report and everything else the run produced.
// A second signal kills the process the default way, for a run that does not stop.
//
//   StopSignals signals;                 // handlers installed for this scope
//   options.stop_request = signals.request();
//   ... run ...
//   if (signals.received()) return 128 + signals.received();
#pragma once
#include <atomic>
#include <csignal>

namespace cestvp {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();  // restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  const std::atomic<int>* request() const;
  int received() const;  // the signal number, 0 if none came
};

const char* signal_name(int signal);  // "SIGINT"

}  // namespace cestvp
