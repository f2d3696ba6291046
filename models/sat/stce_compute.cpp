// STCE numerics. Both modes read the operands through one abstraction, Operand: A's lines are
// the rows of C and B's lines its columns, each a vector over K. A line is read in runs (a row
// of a dense GEMM operand, a segment of a compressed one, the channels of one kernel tap, one
// row of the implicit im2col): a dense run is a strided FP16 read with padding, a compressed run
// is one line of the N:M compressed operand. C is computed a tile at a time: the tile's A and B
// lines are gathered into FP32 buffers (the implicit im2col never exists in full), then summed
// in the uMAC's order (bit-accurate) or multiplied by OpenBLAS (functional).
#include "sat/stce_compute.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <vector>

#include <cblas.h>

#include "sat/fp16.h"

namespace cestvp::sat {
namespace {

using std::int64_t;
using std::size_t;
using std::uint32_t;

enum class Side { a, b };

constexpr int64_t kNoLine = -1;

// A run of a dense line: its element j, lo <= j < hi, is tensor element base + j * stride; the
// others are padding and read as zero. The default run is all padding.
struct Run {
  int64_t base = 0, stride = 1;
  uint32_t lo = 0, hi = 0;
};

// The pixel of X, (n·H + ih)·W + iw, that output pixel `out` of CONV_FWD reads at tap (kh, kw);
// kNoLine in the padding.
int64_t fwd_source(const ConvShape& s, uint32_t out, uint32_t tap) {
  const uint32_t n = out / (s.oh * s.ow), oh = out / s.ow % s.oh, ow = out % s.ow;
  const int64_t ih = int64_t{oh} * s.stride + tap / s.kw - s.pad;
  const int64_t iw = int64_t{ow} * s.stride + tap % s.kw - s.pad;
  if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) return kNoLine;
  return (int64_t{n} * s.h + ih) * s.w + iw;
}

// The pixel of dY, (n·OH + oh)·OW + ow, that input pixel `in` of CONV_BWD_DATA reads at tap
// (kh, kw): oh = (ih + PAD − kh) / STRIDE when the division is exact and in range (likewise ow);
// kNoLine otherwise.
int64_t bwd_source(const ConvShape& s, uint32_t in, uint32_t tap) {
  const uint32_t n = in / (s.h * s.w), ih = in / s.w % s.h, iw = in % s.w;
  const int64_t th = int64_t{ih} + s.pad - tap / s.kw, tw = int64_t{iw} + s.pad - tap % s.kw;
  if (th < 0 || tw < 0 || th % s.stride != 0 || tw % s.stride != 0) return kNoLine;
  const int64_t oh = th / s.stride, ow = tw / s.stride;
  if (oh >= s.oh || ow >= s.ow) return kNoLine;
  return (int64_t{n} * s.oh + oh) * s.ow + ow;
}

// CONV_BWD_WEIGHT's B line `col` = (kh, kw, cin) of the implicit im2col of X, run (n, oh): the
// elements X[n][ih][iw][cin] along ow, with iw = ow·STRIDE + kw − PAD.
Run im2col_run(const ConvShape& s, uint32_t col, uint32_t run) {
  const uint32_t cin = col % s.cin, tap = col / s.cin, n = run / s.oh, oh = run % s.oh;
  const int64_t ih = int64_t{oh} * s.stride + tap / s.kw - s.pad;
  if (ih < 0 || ih >= s.h) return {};
  const int64_t iw0 = int64_t{tap % s.kw} - s.pad, stride = s.stride;  // iw at ow = 0
  const int64_t lo = iw0 >= 0 ? 0 : (-iw0 + stride - 1) / stride;
  const int64_t hi = iw0 >= s.w ? 0 : (s.w - 1 - iw0) / stride + 1;
  const auto clamp = [&](int64_t ow) { return static_cast<uint32_t>(std::min<int64_t>(ow, s.ow)); };
  return {((int64_t{n} * s.h + ih) * s.w + iw0) * s.cin + cin, stride * s.cin, clamp(lo), clamp(std::max(lo, hi))};
}

// The run length of an operand's lines: one segment for a compressed operand and for a
// convolution's compressible operands (a run is one compressed line), a whole line of a dense
// GEMM operand or of dY^T, one ow row of CONV_BWD_WEIGHT's im2col.
uint32_t run_length(const StceJob& job, Side side, bool compressed) {
  switch (job.op) {
    case StceOp::gemm: return compressed ? job.segment : job.depth;
    case StceOp::conv_fwd: return job.conv.cin;
    case StceOp::conv_bwd_data: return job.conv.cout;
    case StceOp::conv_bwd_weight: return side == Side::a ? job.depth : job.conv.ow;
  }
  assert(false && "bad op");
  return job.depth;
}

// FP32 lines [first, first + count) of an operand: dense over K, or the entries of compressed
// lines with their K positions.
struct Lines {
  uint32_t count = 0, width = 0;
  uint32_t pitch = 0;  // floats from one line to the next, at least width
  std::vector<float> values;
  std::vector<uint32_t> positions;  // compressed only, else empty
  std::vector<uint32_t> entries;    // compressed only: entries of each line, at most width

  bool dense() const { return positions.empty(); }
  const float* value(uint32_t i) const { return values.data() + size_t{i} * pitch; }
  const uint32_t* position(uint32_t i) const { return positions.data() + size_t{i} * pitch; }
};

// A line pitch for `width` floats that is not a multiple of 256 bytes: with one, the lines of a
// tile fall into a few cache sets, and writing a block of lines K-step by K-step (see
// Operand::read_dense) would evict itself.
uint32_t pitch_for(uint32_t width) { return width % 64 == 0 ? width + 16 : width; }

// Entries of a compressed line other than pad entries (which STCE skips).
uint32_t kept_entries(const fw::NmLine& line) {
  return line.length / line.m * line.n + std::min(line.n, line.length % line.m);
}

// One side of the product as the engine reads it: line i (a row of C for A, a column for B)
// over K.
class Operand {
 public:
  Operand(const StceJob& job, Side side)
      : job_(job),
        side_(side),
        data_(side == Side::a ? job.a : job.b),
        idx_(side == Side::a ? (job.a_sparse ? job.a_idx : nullptr) : (job.b_sparse ? job.b_idx : nullptr)),
        run_length_(run_length(job, side, compressed())),
        runs_(job.depth / run_length_) {
    assert(job.depth % run_length_ == 0);
    if (compressed()) piece_ = job.line();
    assert(!compressed() || piece_.length == run_length_);
  }

  bool compressed() const { return idx_ != nullptr; }

  // Lines [first, first + count), as compressed entries when `entries` (a compressed operand
  // only), else dense (a compressed line expanded, its dropped elements zero).
  void gather(uint32_t first, uint32_t count, bool entries, Lines& out) const {
    assert(!entries || compressed());
    out.count = count;
    out.width = entries ? runs_ * kept_entries(piece_) : job_.depth;
    out.pitch = pitch_for(out.width);
    out.values.resize(size_t{count} * out.pitch);
    out.positions.resize(entries ? out.values.size() : 0);
    out.entries.resize(entries ? count : 0);
    if (!compressed()) return read_dense(first, count, out.pitch, out.values.data());
    for (uint32_t i = 0; i < count; ++i) {
      float* values = out.values.data() + size_t{i} * out.pitch;
      if (entries) {
        uint32_t* positions = out.positions.data() + size_t{i} * out.pitch;
        out.entries[i] = for_each_entry(first + i, [&](uint32_t e, float v, uint32_t k) {
          values[e] = v;
          positions[e] = k;
        });
      } else {
        std::fill(values, values + out.width, 0.0f);
        // Adding, so that entries sharing a position (only in a malformed operand) both count,
        // as they do in bit-accurate mode.
        for_each_entry(first + i, [&](uint32_t, float v, uint32_t k) { values[k] += v; });
      }
    }
  }

 private:
  // Dense lines [first, first + count) into out, `pitch` floats apart, in blocks of lines. Runs along
  // contiguous memory are read line after line. Strided runs (columns of B [K][COLS], channels of
  // W read along Cout) are read with K outer inside the block: the block's lines are neighbours
  // in memory, so each K step reads one short contiguous stretch instead of one element per page.
  void read_dense(uint32_t first, uint32_t count, size_t pitch, float* out) const {
    constexpr uint32_t kBlock = 32;
    Run runs[kBlock];
    const auto element = [this](const Run& r, uint32_t k) {
      return k - r.lo < r.hi - r.lo ? load_fp16(data_ + 2 * (r.base + k * r.stride)) : 0.0f;  // lo <= k < hi
    };
    for (uint32_t b0 = 0; b0 < count; b0 += kBlock) {
      const uint32_t lines = std::min(kBlock, count - b0);
      for (uint32_t j = 0; j < runs_; ++j) {
        for (uint32_t l = 0; l < lines; ++l) runs[l] = run(first + b0 + l, j);
        float* block = out + b0 * pitch + size_t{j} * run_length_;
        if (std::all_of(runs, runs + lines, [](const Run& r) { return r.stride == 1; })) {
          for (uint32_t l = 0; l < lines; ++l)
            for (uint32_t k = 0; k < run_length_; ++k) block[l * pitch + k] = element(runs[l], k);
        } else {
          for (uint32_t k = 0; k < run_length_; ++k)
            for (uint32_t l = 0; l < lines; ++l) block[l * pitch + k] = element(runs[l], k);
        }
      }
    }
  }

  // Calls visit(slot, value, K position) for the entries of line i, run after run (each run one
  // compressed line), in stored order, skipping pad entries (the tail of a short last group);
  // returns the number visited. A run with no compressed line (dY~ at a padding position or a
  // stride gap of CONV_BWD_DATA) has no entries.
  template <class Visit>
  uint32_t for_each_entry(uint32_t i, Visit&& visit) const {
    const fw::NmLine& p = piece_;
    const uint32_t per_line = p.entries(), bits = p.index_bits(), tail = p.length - (p.groups() - 1) * p.m;
    uint32_t slot = 0;
    for (uint32_t j = 0; j < runs_; ++j) {
      const int64_t line = compressed_line(i, j);
      if (line == kNoLine) continue;
      const std::uint8_t* values = data_ + 2 * line * per_line;
      const uint32_t* indices = idx_ + line * p.index_words();
      for (uint32_t e = 0; e < per_line; ++e) {
        if (e / p.n == p.groups() - 1 && e % p.n >= std::min(p.n, tail)) continue;  // pad entry
        const uint32_t k = p.position(e, fw::nm_index(indices, e, bits));
        if (k >= run_length_) continue;  // an index past a short tail group: malformed, contributes nothing
        visit(slot++, load_fp16(values + 2 * e), j * run_length_ + k);
      }
    }
    return slot;
  }

  // Run j of dense line i.
  Run run(uint32_t i, uint32_t j) const {
    const ConvShape& s = job_.conv;
    const uint32_t len = run_length_;
    const auto contiguous = [len](int64_t line) { return line == kNoLine ? Run{} : Run{line * len, 1, 0, len}; };
    switch (job_.op) {
      case StceOp::gemm: {
        // A is [ROWS][K] unless A_TRANS; B is [COLS][K] only with B_TRANS.
        const bool line_major = side_ == Side::a ? !job_.a_trans : job_.b_trans;
        return line_major ? contiguous(i) : Run{i, side_ == Side::a ? job_.rows : job_.cols, 0, len};
      }
      case StceOp::conv_fwd: return contiguous(side_ == Side::a ? fwd_source(s, i, j) : int64_t{i} * s.kh * s.kw + j);
      case StceOp::conv_bwd_data:  // B: W[cout][kh][kw][cin] along cout
        return side_ == Side::a ? contiguous(bwd_source(s, i, j))
                                : Run{int64_t{j} * s.cin + i, int64_t{s.kh} * s.kw * s.cin, 0, len};
      case StceOp::conv_bwd_weight:  // A: dY [K][Cout] read along K
        return side_ == Side::a ? Run{i, s.cout, 0, len} : im2col_run(s, i, j);
    }
    assert(false && "bad op");
    return {};
  }

  // The compressed line holding run j of line i, in the line orders of docs/engines.md
  // "Compressed operands".
  int64_t compressed_line(uint32_t i, uint32_t j) const {
    const ConvShape& s = job_.conv;
    switch (job_.op) {
      case StceOp::gemm:      // [ROWS or COLS][K / S]
      case StceOp::conv_fwd:  // W~: [Cout][KH][KW]
        return int64_t{i} * runs_ + j;
      case StceOp::conv_bwd_data:  // dY~: [N·OH·OW]; W~^T: [KH][KW][Cin]
        return side_ == Side::a ? bwd_source(s, i, j) : int64_t{j} * s.cin + i;
      case StceOp::conv_bwd_weight: break;
    }
    assert(false && "CONV_BWD_WEIGHT has no compressed operand");
    return kNoLine;
  }

  const StceJob& job_;
  Side side_;
  const std::uint8_t* data_;
  const uint32_t* idx_;
  uint32_t run_length_, runs_;
  fw::NmLine piece_{};  // one compressed line, the length of a run
};

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
void multiply_ordered(const Lines& a, const Lines& b, float* c) {
  for (uint32_t r = 0; r < a.count; ++r) {
    const float* row = a.value(r);
    const uint32_t* row_at = a.dense() ? nullptr : a.position(r);
    for (uint32_t col = 0; col < b.count; col += kLanes) {
      const uint32_t lanes = std::min(kLanes, b.count - col);
      const float* cols[kLanes];
      const uint32_t* cols_at[kLanes];
      for (uint32_t q = 0; q < lanes; ++q) {
        cols[q] = b.value(col + q);
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

// C tile += A tile x B tile^T, both dense [lines][K].
void multiply_blas(const Lines& a, const Lines& b, float* c) {
  const auto i = [](uint32_t v) { return static_cast<blasint>(v); };
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i(a.count), i(b.count), i(a.width), 1.0f, a.values.data(),
              i(a.pitch), b.values.data(), i(b.pitch), 1.0f, c, i(b.count));
}

// The C tile at (r0, c0) of nr x nc elements, as FP32 accumulators: zero, or C with ACCUMULATE.
void load_c(const StceJob& job, uint32_t r0, uint32_t c0, uint32_t nr, uint32_t nc, std::vector<float>& acc) {
  acc.assign(size_t{nr} * nc, 0.0f);
  if (!job.accumulate) return;
  const size_t bytes = job.out_fp16 ? 2 : 4;
  for (uint32_t r = 0; r < nr; ++r) {
    const std::uint8_t* row = job.c + (size_t{r0 + r} * job.cols + c0) * bytes;
    float* out = acc.data() + size_t{r} * nc;
    if (!job.out_fp16)
      std::memcpy(out, row, 4 * size_t{nc});
    else
      for (uint32_t c = 0; c < nc; ++c) out[c] = load_fp16(row + 2 * c);
  }
}

void store_c(const StceJob& job, uint32_t r0, uint32_t c0, uint32_t nr, uint32_t nc, const std::vector<float>& acc) {
  const size_t bytes = job.out_fp16 ? 2 : 4;
  for (uint32_t r = 0; r < nr; ++r) {
    std::uint8_t* row = job.c + (size_t{r0 + r} * job.cols + c0) * bytes;
    const float* in = acc.data() + size_t{r} * nc;
    if (!job.out_fp16)
      std::memcpy(row, in, 4 * size_t{nc});
    else
      for (uint32_t c = 0; c < nc; ++c) store_fp16(row + 2 * c, in[c]);
  }
}

uint32_t clamp_lines(size_t budget, size_t per_line, uint32_t lines) {
  return static_cast<uint32_t>(std::clamp<size_t>(budget / per_line, 1, lines));
}

}  // namespace

void stce_compute(const StceJob& job, Mode mode, size_t tile_floats) {
  if (mode == Mode::timing) return;
  assert(!(job.a_sparse && job.b_sparse));
  const Operand a(job, Side::a), b(job, Side::b);
  const bool ordered = mode == Mode::bit_accurate;
  // Columns first: B lines of K floats each; then rows, bounded by both A lines and the C tile.
  const uint32_t tile_cols = clamp_lines(tile_floats, job.depth, job.cols);
  const uint32_t tile_rows = clamp_lines(tile_floats, std::max(job.depth, tile_cols), job.rows);
  // Reused across jobs (see kStceTileFloats).
  thread_local Lines at, bt;
  thread_local std::vector<float> acc;
  for (uint32_t c0 = 0, nc = 0; c0 < job.cols; c0 += nc) {
    nc = std::min(tile_cols, job.cols - c0);
    b.gather(c0, nc, ordered && b.compressed(), bt);
    for (uint32_t r0 = 0, nr = 0; r0 < job.rows; r0 += nr) {
      nr = std::min(tile_rows, job.rows - r0);
      a.gather(r0, nr, ordered && a.compressed(), at);
      load_c(job, r0, c0, nr, nc, acc);
      if (ordered)
        multiply_ordered(at, bt, acc.data());
      else
        multiply_blas(at, bt, acc.data());
      store_c(job, r0, c0, nr, nc, acc);
    }
  }
}

}  // namespace cestvp::sat
