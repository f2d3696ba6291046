#include "stop_signals.h"

#include <cstring>
#include <unistd.h>

namespace cestvp {

namespace {

std::atomic<int> g_request{0};
static_assert(std::atomic<int>::is_always_lock_free, "read and written in a signal handler");
struct sigaction g_previous[2];
constexpr int kSignals[2] = {SIGINT, SIGTERM};

void on_signal(int signal) {
  int none = 0;
  if (!g_request.compare_exchange_strong(none, signal)) {
    std::signal(signal, SIG_DFL);  // the second one: no more waiting
    std::raise(signal);
    return;
  }
  static const char kNote[] = "\nsatvp: stopping: the run ends at the firmware's next step and writes what it has "
                              "(signal again to kill it)\n";
  const ssize_t ignored = write(STDERR_FILENO, kNote, sizeof kNote - 1);  // async-signal-safe, unlike stdio
  (void)ignored;
}

}  // namespace

StopSignals::StopSignals() {
  g_request = 0;
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

const std::atomic<int>* StopSignals::request() const { return &g_request; }
int StopSignals::received() const { return g_request.load(); }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
  }
  return "a signal";
}

}  // namespace cestvp
