// How DMI latencies are read on this platform. tlm_dmi carries one read and one write latency
// but no bandwidth, so targets state the latency per line of kDmiLineBytes: an initiator that
// moves `bytes` through a DMI pointer charges ceil(bytes / kDmiLineBytes) x latency. For the
// host CPU this models a streaming copy whose first-access latency is hidden by prefetching
// [assumed].
#pragma once
#include <cstdint>

namespace cestvp {

inline constexpr std::uint64_t kDmiLineBytes = 64;

}  // namespace cestvp
