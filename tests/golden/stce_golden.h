// Golden model of the STCE (docs/engines.md "STCE"), written from the math with plain loops and
// independent of models/sat/stce_compute.cpp:
// - the N:M selection of nm-training-spec.md section 2 (top N by magnitude, lowest index wins),
//   the compressed form it produces and its expansion back to a dense tensor;
// - GEMM and the three convolution passes on dense FP32 tensors holding FP16 values, each output
//   summed in increasing K order with one FP32 rounding per addition (the uMAC order).
// The golden sums every K position, a dropped element as a zero product, where the engine sums
// only the kept entries (it skips pad entries and the missing dY~ lines of CONV_BWD_DATA). Both
// give the same bits for finite operands: adding a ±0 product leaves an accumulator unchanged
// unless the accumulator is −0, which a sum that starts at +0 never is (x + (−x) is +0).
// Products of FP16 values are exact in FP32, so contraction into FMA would not change them either.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <vector>

#include <cestvp/fp16.h>

namespace cestvp::golden {

// ---- N:M selection and compressed form ----

// Keep flags of one line of magnitudes (one segment: groups of m from index 0): per group the n
// largest, ties to the lowest index; a short last group keeps min(n, len).
inline std::vector<bool> nm_keep(const std::vector<float>& magnitude, std::uint32_t n, std::uint32_t m) {
  std::vector<bool> keep(magnitude.size(), false);
  for (std::size_t lo = 0; lo < magnitude.size(); lo += m) {
    std::vector<std::size_t> order(std::min<std::size_t>(m, magnitude.size() - lo));
    std::iota(order.begin(), order.end(), lo);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return magnitude[x] > magnitude[y]; });
    for (std::size_t i = 0; i < std::min<std::size_t>(n, order.size()); ++i) keep[order[i]] = true;
  }
  return keep;
}

inline std::uint32_t nm_bits(std::uint32_t m) {  // ceil(log2 m), at least 1
  std::uint32_t bits = 1;
  while ((1u << bits) < m) ++bits;
  return bits;
}

// The lines of a compressed operand in a dense tensor: element j of line l is
// data[at(l, j)]; each line is one segment.
struct LineView {
  std::size_t lines, length;
  std::function<std::size_t(std::size_t, std::size_t)> at;
};

struct Compressed {
  std::vector<std::uint16_t> values;   // FP16 bits, lines x groups x n
  std::vector<std::uint32_t> indices;  // each line's bit stream padded to 32 bits
};

// Compresses FP16 data line by line: per group the kept values in ascending index order, a short
// last group padded to n entries with value 0, index 0; indices packed LSB first.
inline Compressed nm_compress(const std::vector<std::uint16_t>& data, const LineView& view, std::uint32_t n,
                              std::uint32_t m) {
  Compressed out;
  const std::uint32_t bits = nm_bits(m);
  for (std::size_t l = 0; l < view.lines; ++l) {
    std::vector<float> magnitude(view.length);
    for (std::size_t j = 0; j < view.length; ++j) {
      const float v = fw::half_to_float(data[view.at(l, j)]);
      magnitude[j] = std::isnan(v) ? INFINITY : std::fabs(v);  // |NaN| counts as +inf
    }
    const std::vector<bool> keep = nm_keep(magnitude, n, m);
    std::vector<bool> stream;
    for (std::size_t lo = 0; lo < view.length; lo += m) {
      std::uint32_t kept = 0;
      for (std::size_t j = lo; j < std::min<std::size_t>(lo + m, view.length); ++j) {
        if (!keep[j]) continue;
        out.values.push_back(data[view.at(l, j)]);
        for (std::uint32_t b = 0; b < bits; ++b) stream.push_back(((j - lo) >> b) & 1u);
        ++kept;
      }
      for (; kept < n; ++kept) {
        out.values.push_back(0);
        for (std::uint32_t b = 0; b < bits; ++b) stream.push_back(false);
      }
    }
    std::vector<std::uint32_t> words((stream.size() + 31) / 32, 0);
    for (std::size_t i = 0; i < stream.size(); ++i) words[i / 32] |= std::uint32_t{stream[i]} << (i % 32);
    out.indices.insert(out.indices.end(), words.begin(), words.end());
  }
  return out;
}

// The dense tensor (`size` elements, zero where nothing was kept) a compressed operand stands
// for: entry (value, index) of group g of line l is element g·M + index of the line; pad
// entries (beyond min(n, len) in a short last group) stand for nothing.
inline std::vector<std::uint16_t> nm_expand(const Compressed& in, const LineView& view, std::uint32_t n,
                                            std::uint32_t m, std::size_t size) {
  std::vector<std::uint16_t> dense(size, 0);
  const std::uint32_t bits = nm_bits(m);
  const std::size_t groups = (view.length + m - 1) / m, words = (groups * n * bits + 31) / 32;
  std::size_t value = 0;
  for (std::size_t l = 0; l < view.lines; ++l) {
    std::size_t bit = l * words * 32;
    for (std::size_t lo = 0; lo < view.length; lo += m) {
      const std::size_t len = std::min<std::size_t>(m, view.length - lo);
      for (std::uint32_t slot = 0; slot < n; ++slot, ++value) {
        std::size_t index = 0;
        for (std::uint32_t b = 0; b < bits; ++b, ++bit)
          index |= std::size_t{(in.indices[bit / 32] >> (bit % 32)) & 1u} << b;
        if (slot < std::min<std::size_t>(n, len)) dense[view.at(l, lo + index)] = in.values[value];
      }
    }
  }
  return dense;
}

// ---- Products ----

// FP32 accumulators of C and, per element, |C| + sum |a·b| (the scale of the functional tolerance).
struct Result {
  std::vector<float> c;
  std::vector<double> magnitude;
};

// One output element: starts at `start` (0, or C with ACCUMULATE), then takes products in order.
struct Acc {
  float sum;
  double magnitude;
  explicit Acc(float start) : sum(start), magnitude(std::fabs(start)) {}
  void add(float a, float b) {
    sum = sum + a * b;
    magnitude += std::fabs(double{a} * b);
  }
};

inline float start_of(const std::vector<float>& c0, std::size_t i) { return c0.empty() ? 0.0f : c0[i]; }

inline void put(Result& r, std::size_t i, const Acc& acc) {
  r.c[i] = acc.sum;
  r.magnitude[i] = acc.magnitude;
}

// C[rows][cols] = c0 + A x B; A is [rows][depth] ([depth][rows] with a_trans), B [depth][cols]
// ([cols][depth] with b_trans). An empty c0 means no ACCUMULATE.
inline Result gemm(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows, std::size_t cols,
                   std::size_t depth, bool a_trans, bool b_trans, const std::vector<float>& c0) {
  Result r{std::vector<float>(rows * cols), std::vector<double>(rows * cols)};
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      Acc acc(start_of(c0, i * cols + j));
      for (std::size_t k = 0; k < depth; ++k)
        acc.add(a_trans ? a[k * rows + i] : a[i * depth + k], b_trans ? b[j * depth + k] : b[k * cols + j]);
      put(r, i * cols + j, acc);
    }
  }
  return r;
}

// Convolution shape; activations NHWC, weights [Cout][KH][KW][Cin].
struct Conv {
  std::size_t batch, h, w, cin, cout, kh, kw, stride, pad;
  std::size_t oh() const { return (h + 2 * pad - kh) / stride + 1; }
  std::size_t ow() const { return (w + 2 * pad - kw) / stride + 1; }
  // Index of [n][y][x][c] in an NHWC tensor of height `ht`, width `wd`, `ch` channels.
  static std::size_t nhwc(std::size_t n, std::size_t y, std::size_t x, std::size_t c, std::size_t ht, std::size_t wd,
                          std::size_t ch) {
    return ((n * ht + y) * wd + x) * ch + c;
  }
  std::size_t weight(std::size_t co, std::size_t y, std::size_t x, std::size_t ci) const {
    return ((co * kh + y) * kw + x) * cin + ci;
  }
  // Input coordinate read by output coordinate `o` at kernel offset `k`; false in the padding.
  bool input(std::size_t o, std::size_t k, std::size_t size, std::size_t& i) const {
    const long long v = static_cast<long long>(o * stride + k) - static_cast<long long>(pad);
    i = static_cast<std::size_t>(v);
    return v >= 0 && v < static_cast<long long>(size);
  }
};

// Y[n][oh][ow][cout] = c0 + sum over (kh, kw, cin) of X[n][ih][iw][cin] · W[cout][kh][kw][cin].
inline Result conv_fwd(const std::vector<float>& x, const std::vector<float>& wt, const Conv& s,
                       const std::vector<float>& c0) {
  const std::size_t oh = s.oh(), ow = s.ow(), size = s.batch * oh * ow * s.cout;
  Result r{std::vector<float>(size), std::vector<double>(size)};
  for (std::size_t n = 0; n < s.batch; ++n)
    for (std::size_t y = 0; y < oh; ++y)
      for (std::size_t xo = 0; xo < ow; ++xo)
        for (std::size_t co = 0; co < s.cout; ++co) {
          const std::size_t out = Conv::nhwc(n, y, xo, co, oh, ow, s.cout);
          Acc acc(start_of(c0, out));
          for (std::size_t ky = 0; ky < s.kh; ++ky)
            for (std::size_t kx = 0; kx < s.kw; ++kx)
              for (std::size_t ci = 0; ci < s.cin; ++ci) {
                std::size_t iy = 0, ix = 0;
                const bool inside = s.input(y, ky, s.h, iy) && s.input(xo, kx, s.w, ix);
                acc.add(inside ? x[Conv::nhwc(n, iy, ix, ci, s.h, s.w, s.cin)] : 0.0f, wt[s.weight(co, ky, kx, ci)]);
              }
          put(r, out, acc);
        }
  return r;
}

// dX[n][ih][iw][cin] = c0 + sum over (kh, kw, cout) of dY[n][oh][ow][cout] · W[cout][kh][kw][cin],
// oh = (ih + PAD − kh) / STRIDE where exact and in range (likewise ow), else the term is zero.
inline Result conv_bwd_data(const std::vector<float>& dy, const std::vector<float>& wt, const Conv& s,
                            const std::vector<float>& c0) {
  const std::size_t oh = s.oh(), ow = s.ow(), size = s.batch * s.h * s.w * s.cin;
  Result r{std::vector<float>(size), std::vector<double>(size)};
  const auto source = [&s](std::size_t i, std::size_t k, std::size_t outs, std::size_t& o) {
    const long long t = static_cast<long long>(i + s.pad) - static_cast<long long>(k);
    o = static_cast<std::size_t>(t) / s.stride;
    return t >= 0 && t % static_cast<long long>(s.stride) == 0 && o < outs;
  };
  for (std::size_t n = 0; n < s.batch; ++n)
    for (std::size_t iy = 0; iy < s.h; ++iy)
      for (std::size_t ix = 0; ix < s.w; ++ix)
        for (std::size_t ci = 0; ci < s.cin; ++ci) {
          const std::size_t out = Conv::nhwc(n, iy, ix, ci, s.h, s.w, s.cin);
          Acc acc(start_of(c0, out));
          for (std::size_t ky = 0; ky < s.kh; ++ky)
            for (std::size_t kx = 0; kx < s.kw; ++kx)
              for (std::size_t co = 0; co < s.cout; ++co) {
                std::size_t y = 0, xo = 0;
                const bool hit = source(iy, ky, oh, y) && source(ix, kx, ow, xo);
                acc.add(hit ? dy[Conv::nhwc(n, y, xo, co, oh, ow, s.cout)] : 0.0f, wt[s.weight(co, ky, kx, ci)]);
              }
          put(r, out, acc);
        }
  return r;
}

// dW[cout][kh][kw][cin] = c0 + sum over (n, oh, ow) of dY[n][oh][ow][cout] · X[n][ih][iw][cin].
inline Result conv_bwd_weight(const std::vector<float>& dy, const std::vector<float>& x, const Conv& s,
                              const std::vector<float>& c0) {
  const std::size_t oh = s.oh(), ow = s.ow(), size = s.cout * s.kh * s.kw * s.cin;
  Result r{std::vector<float>(size), std::vector<double>(size)};
  for (std::size_t co = 0; co < s.cout; ++co)
    for (std::size_t ky = 0; ky < s.kh; ++ky)
      for (std::size_t kx = 0; kx < s.kw; ++kx)
        for (std::size_t ci = 0; ci < s.cin; ++ci) {
          const std::size_t out = s.weight(co, ky, kx, ci);
          Acc acc(start_of(c0, out));
          for (std::size_t n = 0; n < s.batch; ++n)
            for (std::size_t y = 0; y < oh; ++y)
              for (std::size_t xo = 0; xo < ow; ++xo) {
                std::size_t iy = 0, ix = 0;
                const bool inside = s.input(y, ky, s.h, iy) && s.input(xo, kx, s.w, ix);
                acc.add(dy[Conv::nhwc(n, y, xo, co, oh, ow, s.cout)],
                        inside ? x[Conv::nhwc(n, iy, ix, ci, s.h, s.w, s.cin)] : 0.0f);
              }
          put(r, out, acc);
        }
  return r;
}

// C as the engine stores it: FP32, or rounded to FP16 (overflow to infinity), little-endian.
inline std::vector<std::uint8_t> to_bytes(const std::vector<float>& c, bool fp16) {
  std::vector<std::uint8_t> out(c.size() * (fp16 ? 2 : 4));
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (fp16)
      fw::store_half(out.data() + 2 * i, c[i]);
    else
      std::memcpy(out.data() + 4 * i, &c[i], 4);
  }
  return out;
}

}  // namespace cestvp::golden
