#include "sat/stce_timing.h"

#include <algorithm>
#include <array>

namespace cestvp::sat {

namespace {

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

// Bytes of one row (A) or column (B) of an operand along K, as the engine streams it.
std::uint64_t line_bytes(const StceWork& job, bool sparse) {
  if (!sparse) return std::uint64_t{job.depth} * 2;
  const fw::NmLine line = job.line();
  return std::uint64_t{job.segments()} * (std::uint64_t{line.entries()} * 2 + std::uint64_t{line.index_words()} * 4);
}

// The values and indices of a compressed operand may sit in different buffers.
void add_operand(std::array<std::uint64_t, 3>& bytes, const StceWork& job, bool sparse, std::uint64_t lines,
                 unsigned values_buffer, unsigned index_buffer) {
  if (!sparse) {
    bytes[values_buffer] += lines * line_bytes(job, false);
    return;
  }
  const fw::NmLine line = job.line();
  bytes[values_buffer] += lines * job.segments() * line.entries() * 2;
  bytes[index_buffer] += lines * job.segments() * line.index_words() * 4;
}

}  // namespace

JobCost stce_cost(const StceWork& job, const TimingParams& t) {
  const std::uint64_t R = t.array_rows, C = t.array_cols, K = job.depth;
  const bool sparse = job.a_sparse || job.b_sparse;
  const std::uint64_t k_eff = sparse ? std::uint64_t{job.segments()} * job.line().entries() : K;
  const std::uint64_t compute = k_eff + R + C - 2;
  const std::uint64_t out_elem = job.out_fp16 ? 2 : 4;

  JobCost cost;
  cost.cycles = 1;  // job set-up
  // Folds come in at most four sizes: full or partial in rows, full or partial in columns.
  const std::uint64_t row_tiles[2][2] = {{R, job.rows / R}, {job.rows % R, job.rows % R ? 1u : 0u}};
  const std::uint64_t col_tiles[2][2] = {{C, job.cols / C}, {job.cols % C, job.cols % C ? 1u : 0u}};
  for (const auto& [r, row_count] : row_tiles) {
    for (const auto& [c, col_count] : col_tiles) {
      const std::uint64_t folds = row_count * col_count;
      if (folds == 0) continue;
      std::array<std::uint64_t, 3> bytes{};
      add_operand(bytes, job, job.a_sparse, r, job.a_buffer, job.a_idx_buffer);
      add_operand(bytes, job, job.b_sparse, c, job.b_buffer, job.b_idx_buffer);
      const std::uint64_t c_bytes = r * c * out_elem;
      bytes[job.c_buffer] += job.accumulate ? 2 * c_bytes : c_bytes;
      std::uint64_t fold = compute;
      for (unsigned i = 0; i < 3; ++i) fold = std::max(fold, ceil_div(bytes[i], t.port_bytes[i]));
      cost.cycles += fold * folds;
      cost.stall_cycles += (fold - compute) * folds;
      cost.sram_read += (bytes[0] + bytes[1] + bytes[2] - c_bytes) * folds;
      cost.sram_write += c_bytes * folds;
    }
  }
  cost.ops = std::uint64_t{job.rows} * job.cols * k_eff;
  cost.ops_skipped = std::uint64_t{job.rows} * job.cols * (K - k_eff);
  return cost;
}

}  // namespace cestvp::sat
