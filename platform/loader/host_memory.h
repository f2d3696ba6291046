// How much host memory a run may use: what the loader checks its estimate of a run against
// (training runs, bring-up), before anything large is allocated.
#pragma once
#include <cstdint>

namespace cestvp {

// All of the machine's physical memory (sysconf(_SC_PHYS_PAGES) pages), or less when a cgroup
// (memory.max) or an address-space limit (ulimit -v) gives the process less. Not a fraction of
// it: the estimates are upper bounds of the peak, and a run that needs more than the RAM can
// only end in swapping or the OOM killer, while one just below it still runs on an otherwise
// idle machine. UINT64_MAX when the system does not say.
std::uint64_t host_memory_limit();

// Where that limit comes from, for messages.
inline constexpr const char* kHostMemoryWhere = " (the machine's memory, or less under a cgroup or ulimit -v limit)";

}  // namespace cestvp
