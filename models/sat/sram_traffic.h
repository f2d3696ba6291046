// The SRAM side of an engine job whose compute overlaps its transfers (OSRE, WUVE in
// docs/engines.md): each buffer serves all the job's operands in it through its one port.
#pragma once
#include <algorithm>
#include <cstdint>

#include "sat/jobs.h"

namespace cestvp::sat {

class SramTraffic {
 public:
  void read(unsigned buffer, std::uint64_t bytes) {
    per_buffer_[buffer] += bytes;
    read_ += bytes;
  }
  void write(unsigned buffer, std::uint64_t bytes) {
    per_buffer_[buffer] += bytes;
    written_ += bytes;
  }

  // Busy cycles = 1 (set-up) + max(compute, slowest port); the rest of the cost is the caller's.
  JobCost cost(std::uint64_t compute, const TimingParams& t) const {
    std::uint64_t port = 0;
    for (unsigned b = 0; b < 3; ++b)
      port = std::max(port, (per_buffer_[b] + t.port_bytes[b] - 1) / t.port_bytes[b]);
    JobCost c;
    c.cycles = 1 + std::max(compute, port);
    c.stall_cycles = c.cycles - 1 - compute;
    c.sram_read = read_;
    c.sram_write = written_;
    return c;
  }

 private:
  std::uint64_t per_buffer_[3] = {};
  std::uint64_t read_ = 0, written_ = 0;
};

}  // namespace cestvp::sat
