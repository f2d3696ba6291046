#include "watchdog.h"

#include <algorithm>

namespace cestvp {

Watchdog::Watchdog(const sc_core::sc_module_name& name, const Params& params, std::function<std::uint64_t()> progress)
    : sc_module(name), params_(params), progress_(std::move(progress)) {
  if (params_.time_limit != sc_core::SC_ZERO_TIME || params_.window != sc_core::SC_ZERO_TIME) SC_THREAD(run);
}

void Watchdog::run() {
  while (verdict_ == Verdict::none) {
    sc_core::wait(next_check());
    check();
  }
}

sc_core::sc_time Watchdog::next_check() const {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (params_.window == sc_core::SC_ZERO_TIME) return params_.time_limit - now;
  if (params_.time_limit == sc_core::SC_ZERO_TIME) return params_.window;
  return std::min(params_.window, params_.time_limit - now);
}

// Every check but one at the time limit comes a whole window after the previous one.
void Watchdog::check() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (params_.stop_request && params_.stop_request->load(std::memory_order_relaxed) != 0)
    return fire(Verdict::stop_request);
  if (params_.time_limit != sc_core::SC_ZERO_TIME && now >= params_.time_limit) return fire(Verdict::time_limit);
  const std::uint64_t snapshot = progress_();
  if (snapshot == snapshot_) return fire(Verdict::no_progress);
  snapshot_ = snapshot;
  last_progress_ = now;
}

void Watchdog::fire(Verdict verdict) {
  verdict_ = verdict;
  sc_core::sc_stop();
}

const char* to_string(Watchdog::Verdict verdict) {
  switch (verdict) {
    case Watchdog::Verdict::none: return "none";
    case Watchdog::Verdict::time_limit: return "simulated-time limit reached";
    case Watchdog::Verdict::no_progress: return "no progress";
    case Watchdog::Verdict::stop_request: return "stop requested";
  }
  return "?";
}

}  // namespace cestvp
