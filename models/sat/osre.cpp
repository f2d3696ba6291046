// OSRE: per group of M, a top-N selection on integer magnitude keys; the kept elements go out in
// index order as FP16 values and a packed index stream, line after line (docs/engines.md).
#include "sat/osre.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <cestvp/fp16.h>

#include "sat/sram_traffic.h"

namespace cestvp::sat {
namespace {

constexpr std::uint32_t kMaxM = 32;  // the platform's largest group size

// Source formats. With the sign bit cleared the bit pattern orders like |x|; NaNs lie above
// +inf and are clamped to it, because the spec ranks |NaN| as +inf (a tie with +inf).
struct Fp32 {
  using Bits = std::uint32_t;
  static constexpr Bits kMagnitude = 0x7fffffff, kInfinity = 0x7f800000;
  static std::uint16_t to_fp16(Bits bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return fw::float_to_half(value);
  }
};
struct Fp16 {
  using Bits = std::uint16_t;
  static constexpr Bits kMagnitude = 0x7fff, kInfinity = 0x7c00;
  static std::uint16_t to_fp16(Bits bits) { return bits; }
};

// Appends one line's entries: FP16 values, and b-bit indices packed LSB first into 32-bit words
// (the pad bits of the line's last word are written as zero).
class LineWriter {
 public:
  LineWriter(std::uint8_t* values, std::uint32_t* words, std::uint32_t bits)
      : values_(values), words_(words), bits_(bits) {}

  void put(std::uint16_t value, std::uint32_t index) {
    std::memcpy(values_, &value, sizeof value);
    values_ += sizeof value;
    pending_ |= std::uint64_t{index} << filled_;
    filled_ += bits_;
    if (filled_ >= 32) {
      *words_++ = static_cast<std::uint32_t>(pending_);
      pending_ >>= 32;
      filled_ -= 32;
    }
  }
  void finish() {
    if (filled_ > 0) *words_ = static_cast<std::uint32_t>(pending_);
  }

 private:
  std::uint8_t* values_;
  std::uint32_t* words_;
  std::uint32_t bits_;
  std::uint64_t pending_ = 0;
  std::uint32_t filled_ = 0;  // bits in pending_, below 32 between entries
};

// Bit j set for the n largest keys of a group, ties to the lowest index: an insertion sort that
// holds only the current top n, by key descending then index ascending.
std::uint32_t select_top_n(const std::uint32_t* keys, std::uint32_t len, std::uint32_t n) {
  std::uint32_t top[kMaxM];
  std::uint32_t count = 0;
  for (std::uint32_t j = 0; j < len; ++j) {
    if (count == n && keys[j] <= keys[top[n - 1]]) continue;  // a later index loses a tie
    std::uint32_t pos = count < n ? count++ : n - 1;
    for (; pos > 0 && keys[top[pos - 1]] < keys[j]; --pos) top[pos] = top[pos - 1];
    top[pos] = j;
  }
  std::uint32_t kept = 0;
  for (std::uint32_t k = 0; k < count; ++k) kept |= 1u << top[k];
  return kept;
}

// Where line l's elements sit in the row-major source, in elements.
struct LineView {
  std::size_t first, step;
};
LineView line_view(const OsreWork& job, std::uint32_t l) {
  return job.backward ? LineView{l, job.cols} : LineView{std::size_t{l} * job.cols, 1};
}

// Compresses one group of len <= M elements starting at element `lo` of the line. Returns false
// if it holds a NaN.
template <class F>
bool compress_group(const OsreWork& job, LineView view, std::uint32_t lo, std::uint32_t len,
                    LineWriter& out) {
  using Bits = typename F::Bits;
  Bits group[kMaxM];
  std::uint32_t keys[kMaxM];
  bool nan = false;
  for (std::uint32_t j = 0; j < len; ++j) {
    std::memcpy(&group[j], job.src + (view.first + (lo + j) * view.step) * sizeof(Bits), sizeof(Bits));
    const Bits magnitude = group[j] & F::kMagnitude;
    nan = nan || magnitude > F::kInfinity;
    keys[j] = std::min(magnitude, F::kInfinity);
  }
  const std::uint32_t kept = select_top_n(keys, len, job.n);
  for (std::uint32_t j = 0; j < len; ++j)
    if (kept >> j & 1u) out.put(F::to_fp16(group[j]), j);
  for (std::uint32_t pad = std::min(job.n, len); pad < job.n; ++pad) out.put(0, 0);  // short tail
  return !nan;
}

template <class F>
bool compress_line(const OsreWork& job, std::uint32_t l) {
  const fw::NmLine line = job.line();
  LineWriter out(job.values + std::size_t{l} * line.entries() * 2,
                 job.indices + std::size_t{l} * line.index_words(), line.index_bits());
  const LineView view = line_view(job, l);
  bool ok = true;
  for (std::uint32_t lo = 0; lo < line.length; lo += job.m)
    ok = compress_group<F>(job, view, lo, std::min(job.m, line.length - lo), out) && ok;
  out.finish();
  return ok;
}

template <class F>
bool compress(const OsreWork& job) {
  bool ok = true;
  for (std::uint32_t l = 0; l < job.lines(); ++l) ok = compress_line<F>(job, l) && ok;
  return ok;
}

// Elements a line keeps: N per full group, min(N, len) in a short tail group.
std::uint64_t kept_per_line(const fw::NmLine& line) {
  return std::uint64_t{line.length / line.m} * line.n + std::min(line.n, line.length % line.m);
}

}  // namespace

bool osre_compute(const OsreWork& job) {
  return job.src_fp32 ? compress<Fp32>(job) : compress<Fp16>(job);
}

JobCost osre_cost(const OsreWork& job, const TimingParams& t) {
  const fw::NmLine line = job.line();
  const std::uint64_t lines = job.lines();
  // Each lane's sorter takes M cycles per group, a short tail group included.
  const std::uint64_t groups = lines * line.groups();
  const std::uint64_t compute = (groups + t.osre_lanes - 1) / t.osre_lanes * job.m + t.osre_pipeline;
  SramTraffic traffic;
  traffic.read(job.src_buffer, lines * line.length * (job.src_fp32 ? 4 : 2));
  traffic.write(job.val_buffer, lines * line.entries() * 2);
  traffic.write(job.idx_buffer, lines * line.index_words() * 4);
  JobCost cost = traffic.cost(compute, t);
  cost.ops = lines * line.length;
  cost.ops_skipped = cost.ops - lines * kept_per_line(line);
  return cost;
}

}  // namespace cestvp::sat
