// WUVE: momentum SGD in FP32, one rounding per operation in the contract's order (the library is
// built with -ffp-contract=off, so no multiply-add is fused).
#include "sat/wuve.h"

#include <cstddef>

#include <cestvp/fp16.h>

#include "sat/sram_traffic.h"

namespace cestvp::sat {

void wuve_compute(const WuveWork& job) {
  for (std::size_t i = 0; i < job.count; ++i) {
    float g = fw::load_half(job.grad + 2 * i) * job.grad_scale;
    g = g + job.weight_decay * job.weight[i];
    job.velocity[i] = job.momentum * job.velocity[i] + g;
    job.weight[i] = job.weight[i] - job.lr * job.velocity[i];
    if (job.write_fp16) fw::store_half(job.out + 2 * i, job.weight[i]);
  }
}

JobCost wuve_cost(const WuveWork& job, const TimingParams& t) {
  const std::uint64_t n = job.count;
  SramTraffic traffic;
  traffic.read(job.grad_buffer, 2 * n);
  traffic.read(job.weight_buffer, 4 * n);
  traffic.write(job.weight_buffer, 4 * n);
  traffic.read(job.momentum_buffer, 4 * n);
  traffic.write(job.momentum_buffer, 4 * n);
  if (job.write_fp16) traffic.write(job.out_buffer, 2 * n);
  JobCost cost = traffic.cost((n + t.wuve_lanes - 1) / t.wuve_lanes + t.wuve_pipeline, t);
  cost.ops = n;
  return cost;
}

}  // namespace cestvp::sat
