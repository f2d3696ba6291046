// STCE numerics. Both modes read the operands through one abstraction, Operand: A's lines are
// the rows of C and B's lines its columns, each a vector over K. C is computed a tile at a time:
// the tile's A and B lines are widened to FP32 (the implicit im2col never exists in full), then
// summed in the uMAC's order (bit-accurate) or multiplied by OpenBLAS SGEMM (functional).
//
// Functional mode is what trains networks on the VP, so the tiles are built for speed
// (docs/performance.md): a dense tile keeps the layout of its tensor, [lines][K] or [K][lines]
// (SGEMM's transpose flags take either), so that it is widened from contiguous runs and never
// transposed; an implicit im2col is copied in runs of channels from a widened copy of its source
// tensor (KH·KW uses of each element, one conversion); a compressed operand is expanded to
// [lines][K] for SGEMM, or kept as its entries for the uMAC order; SGEMM writes an FP32 C in
// place.
#include "sat/stce_compute.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include <cblas.h>

#include <cestvp/fp16.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace cestvp::sat {
namespace {

using std::int32_t;
using std::int64_t;
using std::size_t;
using std::uint16_t;
using std::uint32_t;

enum class Side { a, b };

constexpr int64_t kNoLine = -1;

// ---- FP16 conversion ----
//
// The contract's conversion (cestvp/fp16.h, Imath's results bit for bit), on long runs: the
// operands and an FP16 C are millions of values per training step. Where the CPU has F16C (x86
// since 2012; not in the x86-64 baseline this builds for, hence the run-time check) eight values
// take one instruction; the portable loops take the rest (tails, blocks holding a NaN).

void widen_portable(const std::uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = fw::load_half(src + 2 * i);
}

void narrow_portable(const float* src, size_t n, std::uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = fw::float_to_half(src[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

#if defined(__x86_64__)
// F16C rounds and handles subnormals and infinities as IEEE 754 does, as cestvp/fp16.h does,
// but it quiets signalling NaNs; a block of eight holding a NaN goes through the portable code.
__attribute__((target("avx,f16c"))) void widen_f16c(const std::uint8_t* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0)
      widen_portable(src + 2 * i, 8, dst + i);
    else
      _mm256_storeu_ps(dst + i, v);
  }
  widen_portable(src + 2 * i, n - i, dst + i);
}

__attribute__((target("avx,f16c"))) void narrow_f16c(const float* src, size_t n, std::uint8_t* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0)
      narrow_portable(src + i, 8, dst + 2 * i);
    else
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i),
                       _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  narrow_portable(src + i, n - i, dst + 2 * i);
}

// CPUID leaf 1 for F16C: Clang 14's __builtin_cpu_supports does not know "f16c".
bool has_f16c() {
  static const bool has = __builtin_cpu_supports("avx") && [] {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  }();
  return has;
}
#endif

void widen_run(const std::uint8_t* src, size_t n, float* dst) {
#if defined(__x86_64__)
  if (has_f16c()) return widen_f16c(src, n, dst);
#endif
  widen_portable(src, n, dst);
}

void narrow_run(const float* src, size_t n, std::uint8_t* dst) {
#if defined(__x86_64__)
  if (has_f16c()) return narrow_f16c(src, n, dst);
#endif
  narrow_portable(src, n, dst);
}

// `rows` runs of `n` FP16 values, `step` values apart, into rows `ld` floats apart.
void widen_rows(const std::uint8_t* src, size_t step, uint32_t rows, uint32_t n, float* dst, size_t ld) {
  for (uint32_t r = 0; r < rows; ++r) widen_run(src + 2 * r * step, n, dst + r * ld);
}

// ---- Operands ----

// The pixel of dY, (n·OH + oh)·OW + ow, that input pixel `in` of CONV_BWD_DATA reads at tap
// (kh, kw): oh = (ih + PAD − kh) / STRIDE when the division is exact and in range (likewise ow);
// kNoLine otherwise.
// `out_h` and `out_w` are s.oh() and s.ow(), computed once by the caller.
int64_t bwd_source(const fw::ConvDims& s, uint32_t out_h, uint32_t out_w, uint32_t in, uint32_t tap) {
  const uint32_t n = in / (s.h * s.w), ih = in / s.w % s.h, iw = in % s.w;
  const int64_t th = int64_t{ih} + s.pad - tap / s.kw, tw = int64_t{iw} + s.pad - tap % s.kw;
  if (th < 0 || tw < 0 || th % s.stride != 0 || tw % s.stride != 0) return kNoLine;
  const int64_t oh = th / s.stride, ow = tw / s.stride;
  if (oh >= out_h || ow >= out_w) return kNoLine;
  return (int64_t{n} * out_h + oh) * out_w + ow;
}

// Copies n floats. Runs of channels are short: inline copies beat calls to memcpy.
void copy_floats(const float* src, uint32_t n, float* dst) {
  for (uint32_t i = 0; i < n; ++i) dst[i] = src[i];
}

// The implicit im2col a convolution reads: the matrix [pixels][KH·KW·C] (K order kh, kw,
// channel) whose row p holds, per kernel tap, the C channels of the source pixel the tap reads
// from pixel p, or zeros where it reads none (padding; for CONV_BWD_DATA also the stride gaps).
// Pixels p = (n, y, x) span a grid of grid_h x grid_w per image; the source is
// [N][src_h][src_w][C], read from a window of whole images widened to FP32.
class Im2col {
 public:
  enum class Taps {
    forward,  // CONV_FWD's and CONV_BWD_WEIGHT's X at the output pixels: y·STRIDE + kh − PAD
    backward  // CONV_BWD_DATA's dY at the input pixels: (y + PAD − kh) / STRIDE when exact
  };

  // The window holds up to `budget` floats (at least one image); `window` is its storage.
  Im2col(const fw::ConvDims& s, Taps taps, const std::uint8_t* data, size_t budget, std::vector<float>& window)
      : data_(data), window_(window), kh_(s.kh), kw_(s.kw), images_(s.batch) {
    const bool fwd = taps == Taps::forward;
    channels_ = fwd ? s.cin : s.cout;
    grid_w_ = fwd ? s.ow() : s.w, src_w_ = fwd ? s.w : s.ow();
    const uint32_t grid_h = fwd ? s.oh() : s.h, src_h = fwd ? s.h : s.oh();
    per_image_ = grid_h * grid_w_;
    image_floats_ = size_t{src_h} * src_w_ * channels_;
    const auto source = [&](uint32_t y, uint32_t k, uint32_t src_size) -> int32_t {
      const int64_t t = fwd ? int64_t{y} * s.stride + k - s.pad : int64_t{y} + s.pad - k;
      const int64_t at = fwd ? t : t / s.stride;
      if (t < 0 || (!fwd && t % s.stride != 0) || at >= src_size) return -1;
      return static_cast<int32_t>(at);
    };
    const auto table = [&](uint32_t grid, uint32_t kernel, uint32_t src_size) {
      std::vector<int32_t> out(size_t{grid} * kernel);
      for (uint32_t y = 0; y < grid; ++y)
        for (uint32_t k = 0; k < kernel; ++k) out[size_t{y} * kernel + k] = source(y, k, src_size);
      return out;
    };
    src_y_ = table(grid_h, s.kh, src_h);
    src_x_ = table(grid_w_, s.kw, src_w_);
    window_images_ = static_cast<uint32_t>(std::clamp<size_t>(budget / image_floats_, 1, images_));
    window_.resize(window_images_ * image_floats_);
  }

  // The orientation copy() writes: rows of (tap, channel) along the pixels when there are
  // fewer than 4 channels (a first layer: runs of channels too short to copy well), else rows
  // of pixels.
  bool by_tap() const { return channels_ < 4; }

  // Pixels [p0, p0 + pixels), columns [lo, hi): element (p, k) to out[(p − p0)·ld + k − lo],
  // or by_tap() to out[(k − lo)·ld + p − p0]. An image row (n, y) at a time, tap by tap, so
  // that the taps' tables are read once per row.
  void copy(uint32_t p0, uint32_t pixels, uint32_t lo, uint32_t hi, float* out, size_t ld) {
    const uint32_t c = channels_;
    for (uint32_t p = p0, end = p0 + pixels; p < end;) {
      const uint32_t n = p / per_image_, y = p % per_image_ / grid_w_, x0 = p % grid_w_;
      const uint32_t len = std::min(grid_w_ - x0, end - p);
      const float* image = widened(n);
      for (uint32_t tap = lo / c; tap * c < hi; ++tap) {
        const uint32_t first = std::max(lo, tap * c), width = std::min(hi, tap * c + c) - first;
        const int32_t sy = src_y_[y * kh_ + tap / kw_];
        const int32_t* sx = &src_x_[size_t{x0} * kw_ + tap % kw_];  // pixel i's at sx[i·KW]
        // Channel `first` of source row sy (any row when there is none: never read).
        const float* src = image + size_t(std::max(sy, 0)) * src_w_ * c + (first - tap * c);
        if (by_tap()) {
          for (uint32_t k = 0; k < width; ++k) {
            float* dst = out + size_t{first - lo + k} * ld + (p - p0);
            for (uint32_t i = 0; i < len; ++i) {
              const int32_t x = sx[i * kw_];
              dst[i] = sy < 0 || x < 0 ? 0.0f : src[size_t(x) * c + k];
            }
          }
        } else {
          for (uint32_t i = 0; i < len; ++i) {
            float* dst = out + size_t{p - p0 + i} * ld + (first - lo);
            const int32_t x = sx[i * kw_];
            if (sy < 0 || x < 0)
              std::fill(dst, dst + width, 0.0f);
            else
              copy_floats(src + size_t(x) * c, width, dst);
          }
        }
      }
      p += len;
    }
  }

 private:
  // Image n of the source, widening the window that starts there if it does not hold it.
  const float* widened(uint32_t n) {
    if (n < window_first_ || n >= window_first_ + window_count_) {
      window_first_ = n, window_count_ = std::min(window_images_, images_ - n);
      widen_run(data_ + 2 * n * image_floats_, window_count_ * image_floats_, window_.data());
    }
    return window_.data() + (n - window_first_) * image_floats_;
  }

  const std::uint8_t* data_;
  std::vector<float>& window_;
  uint32_t channels_ = 0, grid_w_ = 0, src_w_ = 0, kh_ = 0, kw_ = 0, images_ = 0, per_image_ = 0;
  size_t image_floats_ = 0;
  std::vector<int32_t> src_y_, src_x_;  // [grid_h][KH], [grid_w][KW]: source row / column, −1 for none
  uint32_t window_images_ = 0, window_first_ = 0, window_count_ = 0;
};

// FP32 lines [first, first + count) of an operand: dense over K, element (i, k) at
// values[i·ld + k], or at values[k·ld + i] when K-major; or the entries of compressed lines
// (line i at values[i·ld]) with their K positions.
struct Tile {
  uint32_t count = 0, width = 0;
  size_t ld = 0;
  bool k_major = false;
  std::vector<float> values;
  std::vector<uint32_t> positions;  // compressed only, else empty
  std::vector<uint32_t> entries;    // compressed only: entries of each line, at most width

  bool dense() const { return positions.empty(); }
  const float* line(uint32_t i) const { return values.data() + i * ld; }  // not K-major
  const uint32_t* position(uint32_t i) const { return positions.data() + i * ld; }
};

// A line pitch that is not a multiple of 256 bytes: with one, the lines of a tile fall into a
// few cache sets, and SGEMM's packing, which reads several lines at once, evicts itself.
size_t pitch_for(uint32_t width) { return width % 64 == 0 ? size_t{width} + 16 : width; }

// The tile [lines][K]: the uMAC order walks each line along K. A K-major tile is transposed
// into `scratch` (a pass over the tile, against a product that reads it once per line of the
// other side).
const Tile& line_major(const Tile& t, Tile& scratch) {
  if (!t.k_major) return t;
  scratch.count = t.count, scratch.width = t.width, scratch.k_major = false;
  scratch.ld = pitch_for(t.width);
  scratch.values.resize(t.count * scratch.ld);
  scratch.positions.clear(), scratch.entries.clear();
  for (uint32_t k = 0; k < t.width; ++k)
    for (uint32_t i = 0; i < t.count; ++i) scratch.values[i * scratch.ld + k] = t.values[k * t.ld + i];
  return scratch;
}

// Entries of a compressed line other than pad entries (which STCE skips).
uint32_t kept_entries(const fw::NmLine& line) {
  return line.length / line.m * line.n + std::min(line.n, line.length % line.m);
}

// Scratch that stays allocated per thread between jobs (see kStceTileFloats).
struct Scratch {
  Tile a, b, a_lines, b_lines;  // the tiles, and K-major ones transposed for the uMAC order
  std::vector<float> c;
  std::vector<float> window;  // of the one operand read as an implicit im2col (Im2col)
};

// One side of the product as the engine reads it: line i (a row of C for A, a column for B)
// over K.
class Operand {
 public:
  Operand(const StceWork& job, Side side, size_t budget, std::vector<float>& window)
      : job_(job),
        side_(side),
        data_(side == Side::a ? job.a : job.b),
        idx_(side == Side::a ? (job.a_sparse ? job.a_idx : nullptr) : (job.b_sparse ? job.b_idx : nullptr)),
        piece_(job.line()),
        runs_(job.segments()),
        out_h_(job.conv.oh()),
        out_w_(job.conv.ow()) {
    const bool a = side == Side::a;
    if ((job.op == StceOp::conv_fwd && a) || (job.op == StceOp::conv_bwd_weight && !a))
      im2col_.emplace(job.conv, Im2col::Taps::forward, data_, budget, window);
    if (job.op == StceOp::conv_bwd_data && a && !compressed())
      im2col_.emplace(job.conv, Im2col::Taps::backward, data_, budget, window);
    // The layout of dense tiles: the tensor's own (GEMM: A [K][ROWS] with A_TRANS, B [K][COLS]
    // without B_TRANS; W [Cout][K] for CONV_FWD, read along Cout for CONV_BWD_DATA; dY [K][Cout]
    // for CONV_BWD_WEIGHT), the im2col's (Im2col::by_tap), [lines][K] when expanded.
    switch (job.op) {
      case StceOp::gemm: k_major_ = a ? job.a_trans : !job.b_trans; break;
      case StceOp::conv_fwd: k_major_ = a && im2col_->by_tap(); break;
      case StceOp::conv_bwd_data: k_major_ = a ? im2col_ && im2col_->by_tap() : true; break;
      case StceOp::conv_bwd_weight: k_major_ = a || !im2col_->by_tap(); break;
    }
    k_major_ = k_major_ && !compressed();
  }

  bool compressed() const { return idx_ != nullptr; }

  // Lines [first, first + count) over K [k0, k1), dense (a compressed line expanded, its
  // dropped elements zero). With a compressed operand, k0 and k1 fall on segment boundaries.
  void dense(uint32_t first, uint32_t count, uint32_t k0, uint32_t k1, Tile& out) {
    const uint32_t depth = job_.depth, width = k1 - k0;
    out.count = count, out.width = width, out.k_major = k_major_;
    out.ld = pitch_for(k_major_ ? count : width);
    out.values.resize((k_major_ ? width : count) * out.ld);
    out.positions.clear(), out.entries.clear();
    float* values = out.values.data();
    if (compressed()) {
      for (uint32_t i = 0; i < count; ++i) {
        float* line = values + i * out.ld;
        std::fill(line, line + width, 0.0f);
        // Adding, so that entries sharing a position (only in a malformed operand) both count,
        // as they do in bit-accurate mode.
        for_each_entry(first + i, k0, k1, [line](uint32_t, float v, uint32_t k) { line[k] += v; });
      }
      return;
    }
    const fw::ConvDims& s = job_.conv;
    const uint32_t lines = side_ == Side::a ? job_.rows : job_.cols;
    switch (job_.op) {
      case StceOp::gemm:  // [K][lines] or [lines][K]
        if (k_major_) return widen_rows(data_ + 2 * (size_t{k0} * lines + first), lines, width, count, values, out.ld);
        return widen_rows(data_ + 2 * (size_t{first} * depth + k0), depth, count, width, values, out.ld);
      case StceOp::conv_fwd:  // A: X as im2col; B: W [Cout][K]
        if (side_ == Side::a) return im2col_->copy(first, count, k0, k1, values, out.ld);
        return widen_rows(data_ + 2 * (size_t{first} * depth + k0), depth, count, width, values, out.ld);
      case StceOp::conv_bwd_data:  // A: dY as im2col; B: W [Cout][KH·KW][Cin], K = (kh, kw, cout)
        if (side_ == Side::a) return im2col_->copy(first, count, k0, k1, values, out.ld);
        for (uint32_t k = k0; k < k1; ++k) {
          const size_t tap = k / s.cout, channel = k % s.cout;
          widen_run(data_ + 2 * ((channel * s.kh * s.kw + tap) * s.cin + first), count, values + (k - k0) * out.ld);
        }
        return;
      case StceOp::conv_bwd_weight:  // A: dY [K][Cout]; B: X as im2col [K][KH·KW·Cin]
        if (side_ == Side::a)
          return widen_rows(data_ + 2 * (size_t{k0} * s.cout + first), s.cout, width, count, values, out.ld);
        return im2col_->copy(k0, width, first, first + count, values, out.ld);
    }
  }

  // Lines [first, first + count) of a compressed operand over the segments of K [k0, k1), as
  // their entries in stored order.
  void entries(uint32_t first, uint32_t count, uint32_t k0, uint32_t k1, Tile& out) const {
    assert(compressed());
    out.count = count, out.width = (k1 - k0) / piece_.length * kept_entries(piece_), out.k_major = false;
    out.ld = pitch_for(out.width);
    out.values.resize(count * out.ld);
    out.positions.resize(out.values.size());
    out.entries.resize(count);
    for (uint32_t i = 0; i < count; ++i) {
      float* values = out.values.data() + i * out.ld;
      uint32_t* positions = out.positions.data() + i * out.ld;
      out.entries[i] = for_each_entry(first + i, k0, k1, [&](uint32_t e, float v, uint32_t k) {
        values[e] = v;
        positions[e] = k;
      });
    }
  }

 private:
  // Calls visit(slot, value, K position − k0) for the entries of line i in the segments of K
  // [k0, k1), segment after segment (each one compressed line), in stored order, skipping pad
  // entries (the tail of a short last group); returns the number visited. A segment with no
  // compressed line (dY~ at a padding position or a stride gap of CONV_BWD_DATA) has no entries.
  template <class Visit>
  uint32_t for_each_entry(uint32_t i, uint32_t k0, uint32_t k1, Visit&& visit) const {
    const fw::NmLine& p = piece_;
    const uint32_t n = p.n, m = p.m, groups = p.groups(), per_line = p.entries(), bits = p.index_bits();
    const uint32_t tail_kept = std::min(n, p.length - (groups - 1) * m);
    assert(k0 % p.length == 0 && k1 % p.length == 0);
    uint32_t slot = 0;
    for (uint32_t j = k0 / p.length; j < k1 / p.length; ++j) {
      const int64_t line = compressed_line(i, j);
      if (line == kNoLine) continue;
      const std::uint8_t* values = data_ + 2 * line * per_line;
      const uint32_t* indices = idx_ + line * p.index_words();
      for (uint32_t g = 0; g < groups; ++g) {
        const uint32_t kept = g + 1 < groups ? n : tail_kept;
        for (uint32_t e = g * n; e < g * n + kept; ++e) {
          const uint32_t k = g * m + fw::nm_index(indices, e, bits);
          if (k >= p.length) continue;  // an index past a short tail group: malformed, contributes nothing
          visit(slot++, fw::load_half(values + 2 * e), j * p.length + k - k0);
        }
      }
    }
    return slot;
  }

  // The compressed line holding segment j of line i, in the line orders of docs/engines.md
  // "Compressed operands".
  int64_t compressed_line(uint32_t i, uint32_t j) const {
    const fw::ConvDims& s = job_.conv;
    switch (job_.op) {
      case StceOp::gemm:      // [ROWS or COLS][K / S]
      case StceOp::conv_fwd:  // W~: [Cout][KH][KW]
        return int64_t{i} * runs_ + j;
      case StceOp::conv_bwd_data:  // dY~: [N·OH·OW]; W~^T: [KH][KW][Cin]
        return side_ == Side::a ? bwd_source(s, out_h_, out_w_, i, j) : int64_t{j} * s.cin + i;
      case StceOp::conv_bwd_weight: break;
    }
    assert(false && "CONV_BWD_WEIGHT has no compressed operand");
    return kNoLine;
  }

  const StceWork& job_;
  Side side_;
  const std::uint8_t* data_;
  const uint32_t* idx_;
  fw::NmLine piece_;  // one compressed line: one segment
  uint32_t runs_;     // segments per line
  uint32_t out_h_, out_w_;  // a convolution's output size (per line of dY~ in CONV_BWD_DATA)
  bool k_major_ = false;
  std::optional<Im2col> im2col_;
};

// ---- Products ----

constexpr uint32_t kLanes = 4;

// Adds the products term(lane, k), k = 0 .. steps − 1 in this order, to each of `lanes`
// accumulators. The lanes are different outputs: interleaving them hides the latency of the
// FP32 addition without changing any one output's order.
template <class Term>
void accumulate(float* acc, uint32_t lanes, uint32_t steps, const Term& term) {
  float sum[kLanes];
  std::copy(acc, acc + lanes, sum);
  if (lanes == kLanes) {
    for (uint32_t k = 0; k < steps; ++k)
#pragma GCC unroll 4
      for (uint32_t q = 0; q < kLanes; ++q) sum[q] = sum[q] + term(q, k);
  } else {
    for (uint32_t q = 0; q < lanes; ++q)
      for (uint32_t k = 0; k < steps; ++k) sum[q] = sum[q] + term(q, k);
  }
  std::copy(sum, sum + lanes, acc);
}

// The uMAC order: each accumulator of the C tile continues over K in increasing order, or over
// the compressed operand's entries, which are stored in that order; an entry multiplies the
// dense operand's element at its K position (the product commutes exactly, so which side is
// compressed does not matter).
void multiply_ordered(const Tile& a, const Tile& b, float* c) {
  assert(!a.k_major && !b.k_major);
  for (uint32_t r = 0; r < a.count; ++r) {
    const float* row = a.line(r);
    const uint32_t* row_at = a.dense() ? nullptr : a.position(r);
    for (uint32_t col = 0; col < b.count; col += kLanes) {
      const uint32_t lanes = std::min(kLanes, b.count - col);
      const float* cols[kLanes];
      const uint32_t* cols_at[kLanes];
      for (uint32_t q = 0; q < lanes; ++q) {
        cols[q] = b.line(col + q);
        cols_at[q] = b.dense() ? nullptr : b.position(col + q);
      }
      float* acc = c + size_t{r} * b.count + col;
      if (row_at) {
        accumulate(acc, lanes, a.entries[r], [&](uint32_t q, uint32_t k) { return row[k] * cols[q][row_at[k]]; });
      } else if (!b.dense()) {
        // Every column has all its lines (only dY~ lacks some), so all lanes have the same count.
        assert(std::all_of(&b.entries[col], &b.entries[col] + lanes, [&](uint32_t e) { return e == b.entries[col]; }));
        accumulate(acc, lanes, b.entries[col], [&](uint32_t q, uint32_t k) { return row[cols_at[q][k]] * cols[q][k]; });
      } else {
        accumulate(acc, lanes, a.width, [&](uint32_t q, uint32_t k) { return row[k] * cols[q][k]; });
      }
    }
  }
}

// The C tile at (r0, c0) of nr x nc elements, as FP32 accumulators nc floats apart: C with
// ACCUMULATE, else zero.
void load_c(const StceWork& job, uint32_t r0, uint32_t c0, uint32_t nr, uint32_t nc, float* acc) {
  const size_t bytes = job.out_fp16 ? 2 : 4;
  for (uint32_t r = 0; r < nr; ++r) {
    const std::uint8_t* row = job.c + (size_t{r0 + r} * job.cols + c0) * bytes;
    float* out = acc + size_t{r} * nc;
    if (!job.accumulate)
      std::fill(out, out + nc, 0.0f);
    else if (job.out_fp16)
      widen_run(row, nc, out);
    else
      std::memcpy(out, row, 4 * size_t{nc});
  }
}

void store_c(const StceWork& job, uint32_t r0, uint32_t c0, uint32_t nr, uint32_t nc, const float* acc) {
  const size_t bytes = job.out_fp16 ? 2 : 4;
  for (uint32_t r = 0; r < nr; ++r) {
    std::uint8_t* row = job.c + (size_t{r0 + r} * job.cols + c0) * bytes;
    const float* in = acc + size_t{r} * nc;
    if (job.out_fp16)
      narrow_run(in, nc, row);
    else
      std::memcpy(row, in, 4 * size_t{nc});
  }
}

// SGEMM on one thread, set once. The simulator runs STCE jobs one at a time from its one
// SystemC thread, and the machines the VP runs on have few cores, shared with other processes:
// with OpenBLAS's threads, a training step's skinny GEMMs (16 to 1568 columns) ran no faster
// and OpenBLAS spent about 40% of its time in sched_yield (docs/performance.md).
void use_one_blas_thread() { [[maybe_unused]] static const bool once = (openblas_set_num_threads(1), true); }

// C (+)= A tile x B tile, C `ldc` floats from row to row; SGEMM reads C only with `add`.
void multiply_blas(const Tile& a, const Tile& b, bool add, float* c, size_t ldc) {
  const auto i = [](size_t v) { return static_cast<blasint>(v); };
  cblas_sgemm(CblasRowMajor, a.k_major ? CblasTrans : CblasNoTrans, b.k_major ? CblasNoTrans : CblasTrans, i(a.count),
              i(b.count), i(a.width), 1.0f, a.values.data(), i(a.ld), b.values.data(), i(b.ld), add ? 1.0f : 0.0f, c,
              i(ldc));
}

// Tile sizes: lines of C and a chunk of K.
struct Tiling {
  uint32_t cols, rows, depth;
};

uint32_t clamp_lines(size_t budget, size_t per_line, uint32_t lines) {
  return static_cast<uint32_t>(std::clamp<size_t>(budget / per_line, 1, lines));
}

// Floats of A and B tile that functional mode keeps in the L2 cache (half of 512 KiB).
constexpr size_t kCacheFloats = std::size_t{1} << 16;

// Columns first, B lines of K floats each; then rows, bounded by both A lines and the C tile.
// Functional mode also cuts a long K (N·OH·OW of CONV_BWD_WEIGHT) and a tall C (N·OH·OW rows
// of the other convolutions) into pieces whose tiles stay in the L2 cache from being built to
// being packed by SGEMM, provided that each piece spans several times the lines of the other
// side (SGEMM packs it anew for every piece) or, for K, of the C tile (read and written anew).
// A chunk of K holds whole segments, the lines of a compressed operand.
Tiling tiling(const StceWork& job, bool ordered, size_t tile_floats) {
  Tiling t;
  t.cols = clamp_lines(tile_floats, job.depth, job.cols);
  t.rows = clamp_lines(tile_floats, std::max(job.depth, t.cols), job.rows);
  t.depth = job.depth;
  if (ordered) return t;
  const size_t budget = std::min(tile_floats, kCacheFloats), factor = 8;
  const size_t depth = std::max(budget / (size_t{t.rows} + t.cols), factor * std::min(t.rows, t.cols));
  const size_t segment = job.a_sparse || job.b_sparse ? job.segment : 1;
  t.depth = clamp_lines((depth + segment - 1) / segment * segment, 1, job.depth);
  t.rows = std::min(t.rows, clamp_lines(std::max(budget / (size_t{t.depth} + t.cols), factor * t.cols), 1, job.rows));
  return t;
}

}  // namespace

void stce_compute(const StceWork& job, SatMode mode, size_t tile_floats) {
  if (mode == SatMode::timing) return;
  assert(!(job.a_sparse && job.b_sparse));
  const bool ordered = mode == SatMode::bit_accurate;
  if (!ordered) use_one_blas_thread();
  thread_local Scratch scratch;  // see kStceTileFloats
  Operand a(job, Side::a, tile_floats, scratch.window), b(job, Side::b, tile_floats, scratch.window);
  const Tiling t = tiling(job, ordered, tile_floats);
  // Functional mode has SGEMM update an FP32 C in place (C is 4-byte aligned: the SAT rejects a
  // misaligned one); other C tiles are FP32 accumulators in scratch.
  const bool in_place = !ordered && !job.out_fp16;
  for (uint32_t c0 = 0, nc = 0; c0 < job.cols; c0 += nc) {
    nc = std::min(t.cols, job.cols - c0);
    for (uint32_t r0 = 0, nr = 0; r0 < job.rows; r0 += nr) {
      nr = std::min(t.rows, job.rows - r0);
      float* c = nullptr;
      if (in_place) {
        c = reinterpret_cast<float*>(job.c) + size_t{r0} * job.cols + c0;
      } else {
        scratch.c.resize(size_t{nr} * nc);
        c = scratch.c.data();
        if (ordered || job.accumulate) load_c(job, r0, c0, nr, nc, c);
      }
      for (uint32_t k0 = 0, nk = 0; k0 < job.depth; k0 += nk) {
        nk = std::min(t.depth, job.depth - k0);
        // B's tile serves all rows unless K is cut.
        if (r0 == 0 || t.depth < job.depth) {
          if (ordered && b.compressed())
            b.entries(c0, nc, k0, k0 + nk, scratch.b);
          else
            b.dense(c0, nc, k0, k0 + nk, scratch.b);
        }
        if (ordered && a.compressed())
          a.entries(r0, nr, k0, k0 + nk, scratch.a);
        else
          a.dense(r0, nr, k0, k0 + nk, scratch.a);
        if (ordered)
          multiply_ordered(line_major(scratch.a, scratch.a_lines), line_major(scratch.b, scratch.b_lines), c);
        else
          multiply_blas(scratch.a, scratch.b, job.accumulate || k0 > 0, c, in_place ? job.cols : nc);
      }
      if (!in_place) store_c(job, r0, c0, nr, nc, c);
    }
  }
}

}  // namespace cestvp::sat
