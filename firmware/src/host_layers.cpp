#include "cestvp/host_layers.h"

#include <cmath>
#include <iterator>
#include <limits>

#include "cestvp/portable_math.h"
#include "cestvp/sat_reference.h"

namespace cestvp::fw::host {

namespace {

// Entry e of a line is a pad when it is past the min(N, len) kept entries of a short tail group.
bool is_pad(const NmLine& line, std::uint32_t entry) {
  const std::uint32_t group = entry / line.n % line.groups_per_segment();
  const std::uint32_t len = std::min(line.m, line.segment - group * line.m);
  return entry % line.n >= std::min(line.n, len);
}

// Calls f(entry, position in the line) for every kept (non-pad) entry of line l.
template <typename F>
void for_each_kept(const NmTensor& t, std::size_t l, F f) {
  const std::uint32_t entries = t.line.entries(), bits = t.line.index_bits();
  const std::uint32_t* words = t.indices + l * t.line.index_words();
  for (std::uint32_t e = 0; e < entries; ++e)
    if (!is_pad(t.line, e)) f(l * entries + e, t.line.position(e, nm_index(words, e, bits)));
}

}  // namespace

namespace {

// Widening is most of the host layers' conversion work: a table of all 65536 values makes it a
// load per element, and an iterator over it lets a vector be built without zero-filling it
// first.
class WidenIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = float;
  using difference_type = std::ptrdiff_t;
  using pointer = const float*;
  using reference = float;

  explicit WidenIterator(const std::uint16_t* at) : at_(at) {}
  float operator*() const { return table()[*at_]; }
  WidenIterator& operator++() { return ++at_, *this; }
  WidenIterator operator++(int) { return WidenIterator(at_++); }
  bool operator==(const WidenIterator& other) const { return at_ == other.at_; }
  bool operator!=(const WidenIterator& other) const { return at_ != other.at_; }

 private:
  static const float* table() {
    static const std::vector<float> values = [] {
      std::vector<float> t(65536);
      for (std::uint32_t h = 0; h < t.size(); ++h) t[h] = half_to_float(static_cast<std::uint16_t>(h));
      return t;
    }();
    return values.data();
  }
  const std::uint16_t* at_;
};

}  // namespace

std::vector<float> widen(const std::uint16_t* half, std::size_t count) {
  return std::vector<float>(WidenIterator(half), WidenIterator(half + count));
}

void narrow(const float* in, std::uint16_t* half, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) half[i] = float_to_half(in[i]);
}

void normalise(const std::uint8_t* pixels, std::size_t count, std::uint32_t channels, const float* mean,
               const float* stdev, std::uint16_t* out) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t c = static_cast<std::uint32_t>(i % channels);
    out[i] = float_to_half((static_cast<float>(pixels[i]) / 255.0f - mean[c]) / stdev[c]);
  }
}

namespace {

// x > 0 for FP16 bits: sign clear, not zero, not NaN (+infinity is 0x7c00).
bool positive(std::uint16_t h) { return (h & 0x8000u) == 0 && h != 0 && h <= 0x7c00u; }

}  // namespace

void relu_forward(const std::uint16_t* x, std::uint16_t* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = positive(x[i]) ? x[i] : 0;
}

void relu_backward(const std::uint16_t* x, const std::uint16_t* dy, std::uint16_t* dx, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dx[i] = positive(x[i]) ? dy[i] : 0;
}

Shape pool_output(const Shape& in, std::uint32_t k, std::uint32_t s) {
  return {in.n, conv_out(in.h, k, s, 0), conv_out(in.w, k, s, 0), in.c};
}

// Max pooling runs window position by window position with the channels innermost (they are
// contiguous in NHWC), which keeps each output's scan in window order (kh, then kw).
template <typename F>
void for_each_window_position(const Shape& in, std::uint32_t k, std::uint32_t s, F f) {
  const Shape out = pool_output(in, k, s);
  for (std::uint32_t n = 0; n < out.n; ++n)
    for (std::uint32_t oh = 0; oh < out.h; ++oh)
      for (std::uint32_t ow = 0; ow < out.w; ++ow) {
        const std::size_t o = ((std::size_t{n} * out.h + oh) * out.w + ow) * in.c;
        for (std::uint32_t kh = 0; kh < k; ++kh)
          for (std::uint32_t kw = 0; kw < k; ++kw)
            f(o, ((std::size_t{n} * in.h + oh * s + kh) * in.w + ow * s + kw) * in.c, kh == 0 && kw == 0);
      }
}

void maxpool_forward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, float* y) {
  for_each_window_position(in, k, s, [&](std::size_t o, std::size_t i, bool first) {
    for (std::uint32_t c = 0; c < in.c; ++c) {
      const float best = first ? -std::numeric_limits<float>::infinity() : y[o + c];
      y[o + c] = best < x[i + c] ? x[i + c] : best;
    }
  });
}

void maxpool_backward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, const float* dy, float* dx) {
  std::fill(dx, dx + in.elements(), 0.0f);
  std::vector<std::size_t> arg(in.c);
  const std::size_t last = std::size_t{k} * k;
  std::size_t seen = 0;
  for_each_window_position(in, k, s, [&](std::size_t o, std::size_t i, bool first) {
    for (std::uint32_t c = 0; c < in.c; ++c)
      if (first || x[i + c] > x[arg[c]]) arg[c] = i + c;
    if (++seen % last != 0) return;  // the window's last position: its maxima are known
    for (std::uint32_t c = 0; c < in.c; ++c) dx[arg[c]] += dy[o + c];
  });
}

void avgpool_forward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, float* y) {
  const float area = static_cast<float>(k * k);
  const std::size_t last = std::size_t{k} * k;
  std::size_t seen = 0;
  for_each_window_position(in, k, s, [&](std::size_t o, std::size_t i, bool first) {
    for (std::uint32_t c = 0; c < in.c; ++c) y[o + c] = (first ? 0.0f : y[o + c]) + x[i + c];
    if (++seen % last != 0) return;
    for (std::uint32_t c = 0; c < in.c; ++c) y[o + c] = y[o + c] / area;
  });
}

void avgpool_backward(const Shape& in, std::uint32_t k, std::uint32_t s, const float* dy, float* dx) {
  std::fill(dx, dx + in.elements(), 0.0f);
  const float area = static_cast<float>(k * k);
  for_each_window_position(in, k, s, [&](std::size_t o, std::size_t i, bool) {
    for (std::uint32_t c = 0; c < in.c; ++c) {
      const float share = dy[o + c] / area;
      dx[i + c] += share;
    }
  });
}

void bias_forward(float* y, std::size_t rows, std::uint32_t channels, const float* bias) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::uint32_t c = 0; c < channels; ++c) {
      float& v = y[r * channels + c];
      v = round_to_half(v + bias[c]);
    }
}

void bias_backward(const float* dy, std::size_t rows, std::uint32_t channels, float* db) {
  std::fill(db, db + channels, 0.0f);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::uint32_t c = 0; c < channels; ++c) db[c] += dy[r * channels + c];
}

void add(const float* a, const float* b, float* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

BatchStats batch_stats(const float* x, std::size_t positions, std::uint32_t channels) {
  BatchStats s{std::vector<float>(channels), std::vector<float>(channels), std::vector<float>(channels)};
  const float count = static_cast<float>(positions);
  for (std::size_t p = 0; p < positions; ++p)
    for (std::uint32_t c = 0; c < channels; ++c) s.mean[c] += x[p * channels + c];
  for (std::uint32_t c = 0; c < channels; ++c) s.mean[c] = s.mean[c] / count;
  for (std::size_t p = 0; p < positions; ++p)
    for (std::uint32_t c = 0; c < channels; ++c) {
      const float d = x[p * channels + c] - s.mean[c];
      const float sq = d * d;
      s.var[c] += sq;
    }
  for (std::uint32_t c = 0; c < channels; ++c) {
    s.var[c] = s.var[c] / count;
    const float t = s.var[c] + kBatchNormEps;
    s.inv[c] = 1.0f / std::sqrt(t);
  }
  return s;
}

BatchStats running_stats(const float* running, std::uint32_t channels) {
  BatchStats s{std::vector<float>(running, running + channels), std::vector<float>(running + channels, running + 2 * channels),
               std::vector<float>(channels)};
  for (std::uint32_t c = 0; c < channels; ++c) {
    const float t = s.var[c] + kBatchNormEps;
    s.inv[c] = 1.0f / std::sqrt(t);
  }
  return s;
}

void update_running(const BatchStats& batch, std::size_t positions, float* running) {
  const std::uint32_t channels = static_cast<std::uint32_t>(batch.mean.size());
  const float keep = 1.0f - kBatchNormMomentum;
  for (std::uint32_t c = 0; c < channels; ++c) {
    float unbiased = batch.var[c] * static_cast<float>(positions);
    unbiased = unbiased / static_cast<float>(positions - 1);
    const float old_mean = keep * running[c], new_mean = kBatchNormMomentum * batch.mean[c];
    running[c] = old_mean + new_mean;
    const float old_var = keep * running[channels + c], new_var = kBatchNormMomentum * unbiased;
    running[channels + c] = old_var + new_var;
  }
}

void batchnorm_forward(const float* x, std::size_t positions, std::uint32_t channels, const BatchStats& stats,
                       const float* gamma, const float* beta, float* y) {
  for (std::size_t p = 0; p < positions; ++p)
    for (std::uint32_t c = 0; c < channels; ++c) {
      const std::size_t i = p * channels + c;
      const float xhat = (x[i] - stats.mean[c]) * stats.inv[c];
      const float scaled = gamma[c] * xhat;
      y[i] = scaled + beta[c];
    }
}

void batchnorm_backward(const float* x, const float* dy, std::size_t positions, std::uint32_t channels,
                        const BatchStats& stats, const float* gamma, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> sum_dy(channels), sum_dyx(channels);
  const auto xhat = [&](std::size_t i, std::uint32_t c) { return (x[i] - stats.mean[c]) * stats.inv[c]; };
  for (std::size_t p = 0; p < positions; ++p)
    for (std::uint32_t c = 0; c < channels; ++c) {
      const std::size_t i = p * channels + c;
      sum_dy[c] += dy[i];
      const float product = dy[i] * xhat(i, c);
      sum_dyx[c] += product;
    }
  const float count = static_cast<float>(positions);
  for (std::uint32_t c = 0; c < channels; ++c) dgamma[c] = sum_dyx[c], dbeta[c] = sum_dy[c];
  for (std::size_t p = 0; p < positions; ++p)
    for (std::uint32_t c = 0; c < channels; ++c) {
      const std::size_t i = p * channels + c;
      const float k = (gamma[c] * stats.inv[c]) / count;
      float a = count * dy[i];
      a = a - sum_dy[c];
      const float b = xhat(i, c) * sum_dyx[c];
      a = a - b;
      dx[i] = k * a;
    }
}

namespace {

// Mean and 1 / sqrt(var + eps) of one row (docs/training.md, layernorm).
struct RowStats {
  float mean = 0, inv = 0;
};
RowStats row_stats(const float* x, std::uint32_t channels) {
  const float count = static_cast<float>(channels);
  float sum = 0, var = 0;
  for (std::uint32_t c = 0; c < channels; ++c) sum += x[c];
  const float mean = sum / count;
  for (std::uint32_t c = 0; c < channels; ++c) {
    const float d = x[c] - mean;
    const float sq = d * d;
    var += sq;
  }
  var = var / count;
  const float t = var + kLayerNormEps;
  return {mean, 1.0f / std::sqrt(t)};
}

constexpr float kInvSqrt2 = 0.70710678f;
constexpr float kInvSqrt2Pi = 0.39894228f;

}  // namespace

void layernorm_forward(const float* x, std::size_t rows, std::uint32_t channels, const float* gamma,
                       const float* beta, float* y) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * channels;
    const RowStats s = row_stats(row, channels);
    for (std::uint32_t c = 0; c < channels; ++c) {
      const float xhat = (row[c] - s.mean) * s.inv;
      const float scaled = gamma[c] * xhat;
      y[r * channels + c] = scaled + beta[c];
    }
  }
}

void layernorm_backward(const float* x, const float* dy, std::size_t rows, std::uint32_t channels, const float* gamma,
                        float* dx, float* dgamma, float* dbeta) {
  std::fill(dgamma, dgamma + channels, 0.0f);
  std::fill(dbeta, dbeta + channels, 0.0f);
  std::vector<float> g(channels), xhat(channels);
  const float count = static_cast<float>(channels);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * channels;
    const float* drow = dy + r * channels;
    const RowStats s = row_stats(row, channels);
    float sum_g = 0, sum_gx = 0;
    for (std::uint32_t c = 0; c < channels; ++c) {
      xhat[c] = (row[c] - s.mean) * s.inv;
      g[c] = drow[c] * gamma[c];
      sum_g += g[c];
      const float product = g[c] * xhat[c];
      sum_gx += product;
      const float dxhat = drow[c] * xhat[c];
      dgamma[c] += dxhat;
      dbeta[c] += drow[c];
    }
    const float k = s.inv / count;
    for (std::uint32_t c = 0; c < channels; ++c) {
      float a = count * g[c];
      a = a - sum_g;
      const float b = xhat[c] * sum_gx;
      a = a - b;
      dx[r * channels + c] = k * a;
    }
  }
}

void gelu_forward(const float* x, float* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const float t = x[i] * kInvSqrt2;
    const float a = 1.0f + erf_f32(t);
    const float b = 0.5f * x[i];
    y[i] = b * a;
  }
}

void gelu_backward(const float* x, const float* dy, float* dx, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const float u = x[i] * kInvSqrt2;
    const float s = 1.0f + erf_f32(u);
    const float cdf = 0.5f * s;
    float q = -0.5f * x[i];
    q = q * x[i];
    const float pdf = std::exp(q) * kInvSqrt2Pi;
    const float slope = x[i] * pdf;
    const float g = cdf + slope;
    dx[i] = dy[i] * g;
  }
}

void attention_softmax(float* s, std::size_t rows, std::uint32_t t, float scale) {
  for (std::size_t i = 0; i < rows; ++i) {
    float* row = s + i * t;
    for (std::uint32_t j = 0; j < t; ++j) row[j] = row[j] * scale;
    std::uint32_t arg = 0;
    for (std::uint32_t j = 1; j < t; ++j)
      if (row[j] > row[arg]) arg = j;
    const float top = row[arg];
    float sum = 0;
    for (std::uint32_t j = 0; j < t; ++j) {
      row[j] = std::exp(row[j] - top);
      sum += row[j];
    }
    for (std::uint32_t j = 0; j < t; ++j) row[j] = row[j] / sum;
  }
}

void attention_score_grad(const float* p, float* dp, std::size_t rows, std::uint32_t t, float scale) {
  for (std::size_t i = 0; i < rows; ++i) {
    const float* prob = p + i * t;
    float* grad = dp + i * t;
    float r = 0;
    for (std::uint32_t j = 0; j < t; ++j) {
      const float product = prob[j] * grad[j];
      r += product;
    }
    for (std::uint32_t j = 0; j < t; ++j) {
      const float centred = grad[j] - r;
      const float ds = prob[j] * centred;
      grad[j] = ds * scale;
    }
  }
}

void embed_forward(const float* x, const Tokens& shape, const float* pos, const float* cls, float* y) {
  const std::size_t d = shape.d;
  for (std::uint32_t n = 0; n < shape.n; ++n) {
    float* out = y + std::size_t{n} * (shape.t + 1) * d;
    for (std::size_t e = 0; e < d; ++e) out[e] = cls[e] + pos[e];
    for (std::size_t i = 0; i < std::size_t{shape.t} * d; ++i) out[d + i] = x[std::size_t{n} * shape.t * d + i] + pos[d + i];
  }
}

void embed_backward(const float* dy, const Tokens& shape, float* dx, float* dpos, float* dcls) {
  const std::size_t d = shape.d, rows = std::size_t{shape.t + 1} * d;
  std::fill(dpos, dpos + rows, 0.0f);
  for (std::uint32_t n = 0; n < shape.n; ++n) {
    const float* g = dy + std::size_t{n} * rows;
    for (std::size_t i = 0; i < rows; ++i) dpos[i] += g[i];
    std::copy(g + d, g + rows, dx + std::size_t{n} * shape.t * d);
  }
  std::copy(dpos, dpos + d, dcls);
}

LossResult softmax_ce(const float* logits, const std::uint8_t* labels, std::uint32_t rows, std::uint32_t classes,
                      float scale, float* dlogits) {
  LossResult result;
  std::vector<float> e(classes);
  for (std::uint32_t r = 0; r < rows; ++r) {
    const float* z = logits + std::size_t{r} * classes;
    std::uint32_t arg = 0;
    for (std::uint32_t j = 1; j < classes; ++j)
      if (z[j] > z[arg]) arg = j;
    const float top = z[arg];
    float sum = 0;
    for (std::uint32_t j = 0; j < classes; ++j) {
      e[j] = std::exp(z[j] - top);
      sum += e[j];
    }
    result.loss_sum += std::log(sum) - (z[labels[r]] - top);
    result.correct += arg == labels[r];
    if (!dlogits) continue;
    for (std::uint32_t j = 0; j < classes; ++j) {
      const float p = e[j] / sum;
      dlogits[std::size_t{r} * classes + j] = (p - (j == labels[r] ? 1.0f : 0.0f)) * scale / static_cast<float>(rows);
    }
  }
  return result;
}

void nm_expand(const NmTensor& t, std::uint16_t* dense) {
  std::fill(dense, dense + t.lines * t.line.length, std::uint16_t{0});
  for (std::size_t l = 0; l < t.lines; ++l)
    for_each_kept(t, l, [&](std::size_t entry, std::uint32_t pos) { dense[l * t.line.length + pos] = t.values[entry]; });
}

void nm_keep_flags(const NmTensor& t, std::uint8_t* keep) {
  std::fill(keep, keep + t.lines * t.line.length, std::uint8_t{0});
  for (std::size_t l = 0; l < t.lines; ++l)
    for_each_kept(t, l, [&](std::size_t, std::uint32_t pos) { keep[l * t.line.length + pos] = 1; });
}

void sdgp_rescale(const float* dy, const Shape& shape, const NmTensor& t) {
  const std::size_t positions = std::size_t{shape.h} * shape.w;
  std::vector<float> dense_sum(shape.c), kept_sum(shape.c);
  for (std::uint32_t n = 0; n < shape.n; ++n) {
    std::fill(dense_sum.begin(), dense_sum.end(), 0.0f);
    std::fill(kept_sum.begin(), kept_sum.end(), 0.0f);
    const std::size_t first = std::size_t{n} * positions;
    for (std::size_t p = first; p < first + positions; ++p) {
      for (std::uint32_t c = 0; c < shape.c; ++c) dense_sum[c] += std::fabs(dy[p * shape.c + c]);
      for_each_kept(t, p, [&](std::size_t entry, std::uint32_t c) { kept_sum[c] += std::fabs(half_to_float(t.values[entry])); });
    }
    for (std::size_t p = first; p < first + positions; ++p)
      for_each_kept(t, p, [&](std::size_t entry, std::uint32_t c) {
        const float ratio = dense_sum[c] / (kept_sum[c] + 1e-4f);
        t.values[entry] = float_to_half(half_to_float(t.values[entry]) * ratio);
      });
  }
}

}  // namespace cestvp::fw::host
