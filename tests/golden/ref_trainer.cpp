// Independent reference trainer (see ref_trainer.h). Conventions: NHWC activations, OHWI
// weights, every tensor a flat std::vector<float> holding FP16 values where the contract says
// FP16. Each FP32 operation whose rounding matters is its own statement.
#include "ref_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include <Imath/half.h>

namespace cestvp::golden {
namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

float round16(float x, bool exact) { return exact ? x : static_cast<float>(Imath::half(x)); }

float magnitude(float x) { return std::isnan(x) ? std::numeric_limits<float>::infinity() : std::fabs(x); }

// One line of nm_mask (spec section 2): element i of group [lo, hi) is kept when fewer than n
// elements of the group rank before it, ranking by (-|v|, index).
void nm_line(const std::vector<float>& v, std::uint32_t n, std::uint32_t m, std::uint8_t* mask) {
  for (std::size_t lo = 0; lo < v.size(); lo += m) {
    const std::size_t hi = std::min<std::size_t>(lo + m, v.size());
    for (std::size_t i = lo; i < hi; ++i) {
      std::size_t before = 0;
      for (std::size_t j = lo; j < hi; ++j) {
        const float mj = magnitude(v[j]), mi = magnitude(v[i]);
        if (mj > mi || (mj == mi && j < i)) ++before;
      }
      mask[i] = before < n ? 1 : 0;
    }
  }
}

// A convolution's geometry; a linear layer is K = 1 on a 1x1 image with cin = H*W*C.
struct Geometry {
  std::uint32_t h, w, cin, oh, ow, cout, k, s, p;
};

// Y = h(S) (+ bias: h(float(h(S)) + b)), S summed from 0 in K order (kh, kw, cin), one FP32
// rounding per addition. A padded position contributes no term (the same bits as a zero term).
void conv_forward(const Geometry& g, std::uint32_t batch, const float* x, const float* wf,
                  const std::vector<float>& bias, float* y, bool exact) {
  for (std::uint32_t n = 0; n < batch; ++n)
    for (std::uint32_t oh = 0; oh < g.oh; ++oh)
      for (std::uint32_t ow = 0; ow < g.ow; ++ow)
        for (std::uint32_t co = 0; co < g.cout; ++co) {
          float acc = 0.0f;
          for (std::uint32_t kh = 0; kh < g.k; ++kh) {
            const long ih = static_cast<long>(oh) * g.s + kh - g.p;
            if (ih < 0 || ih >= static_cast<long>(g.h)) continue;
            for (std::uint32_t kw = 0; kw < g.k; ++kw) {
              const long iw = static_cast<long>(ow) * g.s + kw - g.p;
              if (iw < 0 || iw >= static_cast<long>(g.w)) continue;
              const float* xv = x + ((std::size_t{n} * g.h + ih) * g.w + iw) * g.cin;
              const float* wv = wf + ((std::size_t{co} * g.k + kh) * g.k + kw) * g.cin;
              for (std::uint32_t ci = 0; ci < g.cin; ++ci) {
                const float prod = xv[ci] * wv[ci];
                acc = acc + prod;
              }
            }
          }
          float out = round16(acc, exact);
          if (!bias.empty()) {
            const float sum = out + bias[co];
            out = round16(sum, exact);
          }
          y[((std::size_t{n} * g.oh + oh) * g.ow + ow) * g.cout + co] = out;
        }
}

// dX = h(sum over (kh, kw, cout), cout fastest, of dY[oh][ow][co] * Wb[co][kh][kw][ci]) with
// oh = (ih + p - kh) / s when exact and in range (else no term), likewise ow.
void conv_backward_data(const Geometry& g, std::uint32_t batch, const float* dy, const float* wb,
                        float* dx, bool exact) {
  for (std::uint32_t n = 0; n < batch; ++n)
    for (std::uint32_t ih = 0; ih < g.h; ++ih)
      for (std::uint32_t iw = 0; iw < g.w; ++iw)
        for (std::uint32_t ci = 0; ci < g.cin; ++ci) {
          float acc = 0.0f;
          for (std::uint32_t kh = 0; kh < g.k; ++kh) {
            const long th = static_cast<long>(ih) + g.p - kh;
            if (th < 0 || th % g.s != 0 || th / g.s >= static_cast<long>(g.oh)) continue;
            const std::size_t oh = static_cast<std::size_t>(th / g.s);
            for (std::uint32_t kw = 0; kw < g.k; ++kw) {
              const long tw = static_cast<long>(iw) + g.p - kw;
              if (tw < 0 || tw % g.s != 0 || tw / g.s >= static_cast<long>(g.ow)) continue;
              const std::size_t ow = static_cast<std::size_t>(tw / g.s);
              const float* dyv = dy + ((std::size_t{n} * g.oh + oh) * g.ow + ow) * g.cout;
              for (std::uint32_t co = 0; co < g.cout; ++co) {
                const float prod = dyv[co] * wb[((std::size_t{co} * g.k + kh) * g.k + kw) * g.cin + ci];
                acc = acc + prod;
              }
            }
          }
          dx[((std::size_t{n} * g.h + ih) * g.w + iw) * g.cin + ci] = round16(acc, exact);
        }
}

// dW = h(sum over (n, oh, ow) of dY x X); db = h(sum over (n, oh, ow) of dY).
void conv_backward_weight(const Geometry& g, std::uint32_t batch, const float* dy, const float* x,
                          std::vector<float>& dw, std::vector<float>& db, bool exact) {
  for (std::uint32_t co = 0; co < g.cout; ++co)
    for (std::uint32_t kh = 0; kh < g.k; ++kh)
      for (std::uint32_t kw = 0; kw < g.k; ++kw)
        for (std::uint32_t ci = 0; ci < g.cin; ++ci) {
          float acc = 0.0f;
          for (std::uint32_t n = 0; n < batch; ++n)
            for (std::uint32_t oh = 0; oh < g.oh; ++oh) {
              const long ih = static_cast<long>(oh) * g.s + kh - g.p;
              if (ih < 0 || ih >= static_cast<long>(g.h)) continue;
              for (std::uint32_t ow = 0; ow < g.ow; ++ow) {
                const long iw = static_cast<long>(ow) * g.s + kw - g.p;
                if (iw < 0 || iw >= static_cast<long>(g.w)) continue;
                const float prod = dy[((std::size_t{n} * g.oh + oh) * g.ow + ow) * g.cout + co] *
                                   x[((std::size_t{n} * g.h + ih) * g.w + iw) * g.cin + ci];
                acc = acc + prod;
              }
            }
          dw[((std::size_t{co} * g.k + kh) * g.k + kw) * g.cin + ci] = round16(acc, exact);
        }
  for (std::uint32_t co = 0; co < db.size(); ++co) {
    float acc = 0.0f;
    for (std::size_t pos = 0; pos < std::size_t{batch} * g.oh * g.ow; ++pos) acc = acc + dy[pos * g.cout + co];
    db[co] = round16(acc, exact);
  }
}

void softmax_rows(const std::vector<float>& logits, const std::uint8_t* labels, std::uint32_t batch,
                  std::uint32_t classes, float loss_scale, std::vector<float>* dz, bool exact,
                  float& loss_sum, std::uint32_t& correct) {
  std::vector<float> e(classes);
  if (dz) dz->assign(std::size_t{batch} * classes, 0.0f);
  for (std::uint32_t i = 0; i < batch; ++i) {
    const float* z = logits.data() + std::size_t{i} * classes;
    const std::uint32_t y = labels[i];
    if (y >= classes) throw std::invalid_argument("ref_softmax_ce: label " + std::to_string(y) + " >= classes");
    std::uint32_t arg = 0;
    for (std::uint32_t j = 1; j < classes; ++j)
      if (z[j] > z[arg]) arg = j;  // the first maximum
    const float mx = z[arg];
    float s = 0.0f;
    for (std::uint32_t j = 0; j < classes; ++j) {
      const float d = z[j] - mx;
      e[j] = std::exp(d);
      s = s + e[j];
    }
    const float zy = z[y] - mx;
    const float loss = std::log(s) - zy;
    loss_sum = loss_sum + loss;
    if (arg == y) ++correct;
    if (!dz) continue;
    for (std::uint32_t j = 0; j < classes; ++j) {
      const float p = e[j] / s;
      float d = p - (j == y ? 1.0f : 0.0f);
      d = d * loss_scale;
      d = d / static_cast<float>(batch);
      (*dz)[std::size_t{i} * classes + j] = round16(d, exact);
    }
  }
}

}  // namespace

std::vector<std::uint8_t> ref_nm_mask(const std::vector<float>& v, std::uint32_t n, std::uint32_t m) {
  if (m == 0) throw std::invalid_argument("ref_nm_mask: m = 0");
  std::vector<std::uint8_t> mask(v.size());
  nm_line(v, n, m, mask.data());
  return mask;
}

RefStep ref_softmax_ce(const std::vector<float>& logits, const std::uint8_t* labels, std::uint32_t batch,
                       std::uint32_t classes, float loss_scale, std::vector<float>* dz, bool exact_fp32) {
  if (batch == 0 || logits.size() != std::size_t{batch} * classes)
    throw std::invalid_argument("ref_softmax_ce: logits size != batch * classes");
  float loss_sum = 0.0f;
  std::uint32_t correct = 0;
  softmax_rows(logits, labels, batch, classes, loss_scale, dz, exact_fp32, loss_sum, correct);
  return {loss_sum / static_cast<float>(batch), static_cast<float>(correct) / static_cast<float>(batch)};
}

void ref_sdgp_prune(std::vector<float>& dy, std::uint32_t batch, std::uint32_t height, std::uint32_t width,
                    std::uint32_t c, std::uint32_t n, std::uint32_t m, bool rescale, bool exact_fp32) {
  const std::size_t positions = std::size_t{height} * width;
  if (dy.size() != std::size_t{batch} * positions * c) throw std::invalid_argument("ref_sdgp_prune: size");
  const std::vector<float> dense = dy;
  std::vector<float> line(c);
  std::vector<std::uint8_t> keep(c);
  for (std::size_t pos = 0; pos < std::size_t{batch} * positions; ++pos) {
    float* v = dy.data() + pos * c;
    line.assign(v, v + c);
    nm_line(line, n, m, keep.data());
    for (std::uint32_t ch = 0; ch < c; ++ch)
      if (!keep[ch]) v[ch] = 0.0f;
  }
  if (!rescale) return;
  for (std::uint32_t b = 0; b < batch; ++b)
    for (std::uint32_t ch = 0; ch < c; ++ch) {
      // r = sum_hw |dY| / (sum_hw |dY'| + 1e-4f), each sum from 0 over (oh, ow) row-major.
      float all = 0.0f, kept = 0.0f;
      for (std::size_t hw = 0; hw < positions; ++hw) {
        const std::size_t at = (b * positions + hw) * c + ch;
        all = all + std::fabs(dense[at]);
        kept = kept + std::fabs(dy[at]);
      }
      const float denominator = kept + 1e-4f;
      const float r = all / denominator;
      for (std::size_t hw = 0; hw < positions; ++hw) {
        float& v = dy[(b * positions + hw) * c + ch];
        if (v == 0.0f) continue;  // pruned (or a kept zero, which stays zero: h(0 * r) = 0)
        const float scaled = v * r;
        v = round16(scaled, exact_fp32);
      }
    }
}

namespace {

// Per (sample, head) of the attention core: S, P (FP32) of rows i over columns j.
struct Head {
  const float* qkv;  // sample n's [tokens][3 * dim]
  std::uint32_t tokens, row, dh, qo, ko, vo;  // row = 3 * dim; column offsets of q, k, v
  float q(std::uint32_t i, std::uint32_t e) const { return qkv[std::size_t{i} * row + qo + e]; }
  float k(std::uint32_t j, std::uint32_t e) const { return qkv[std::size_t{j} * row + ko + e]; }
  float v(std::uint32_t j, std::uint32_t e) const { return qkv[std::size_t{j} * row + vo + e]; }
};

void check_attention(std::size_t qkv_size, std::uint32_t batch, std::uint32_t tokens, std::uint32_t dim,
                     std::uint32_t heads) {
  if (heads == 0 || dim == 0 || dim % heads != 0) throw std::invalid_argument("ref_attention: dim % heads");
  if (qkv_size != std::size_t{batch} * tokens * 3 * dim) throw std::invalid_argument("ref_attention: qkv size");
}

// S[i][j] = h(sum_e q[i][e] * k[j][e]), e order (an STCE GEMM); P[i][j] = h(exp(x - max_j x)
// / sum_j) with x = S * scale, the first maximum, the sum in j order (as softmax_ce).
void attention_probs(const Head& hd, float scale, bool exact, std::vector<float>& S, std::vector<float>& P) {
  const std::uint32_t T = hd.tokens;
  S.assign(std::size_t{T} * T, 0.0f);
  P.assign(std::size_t{T} * T, 0.0f);
  std::vector<float> x(T);
  for (std::uint32_t i = 0; i < T; ++i) {
    for (std::uint32_t j = 0; j < T; ++j) {
      float acc = 0.0f;
      for (std::uint32_t c = 0; c < hd.dh; ++c) {
        const float prod = hd.q(i, c) * hd.k(j, c);
        acc = acc + prod;
      }
      S[std::size_t{i} * T + j] = round16(acc, exact);
      x[j] = S[std::size_t{i} * T + j] * scale;
    }
    std::uint32_t arg = 0;
    for (std::uint32_t j = 1; j < T; ++j)
      if (x[j] > x[arg]) arg = j;  // the first maximum
    const float mx = x[arg];
    float sum = 0.0f;
    for (std::uint32_t j = 0; j < T; ++j) {
      const float d = x[j] - mx;
      x[j] = std::exp(d);
      sum = sum + x[j];
    }
    for (std::uint32_t j = 0; j < T; ++j) P[std::size_t{i} * T + j] = round16(x[j] / sum, exact);
  }
}

float attention_scale(std::uint32_t dh) {
  const float r = std::sqrt(static_cast<float>(dh));  // sqrtf(dh)
  return 1.0f / r;
}

}  // namespace

void ref_attention(const std::vector<float>& qkv, std::uint32_t batch, std::uint32_t tokens, std::uint32_t dim,
                   std::uint32_t heads, std::vector<float>& out, std::vector<float>* scores,
                   std::vector<float>* probs, bool exact_fp32) {
  check_attention(qkv.size(), batch, tokens, dim, heads);
  const std::uint32_t dh = dim / heads, T = tokens;
  const float scale = attention_scale(dh);
  out.assign(std::size_t{batch} * T * dim, 0.0f);
  const std::size_t tt = std::size_t{T} * T;
  if (scores) scores->assign(std::size_t{batch} * heads * tt, 0.0f);
  if (probs) probs->assign(std::size_t{batch} * heads * tt, 0.0f);
  std::vector<float> S, P;
  for (std::uint32_t n = 0; n < batch; ++n)
    for (std::uint32_t h = 0; h < heads; ++h) {
      const Head hd{qkv.data() + std::size_t{n} * T * 3 * dim, T, 3 * dim, dh, h * dh, dim + h * dh, 2 * dim + h * dh};
      attention_probs(hd, scale, exact_fp32, S, P);
      const std::size_t at = (std::size_t{n} * heads + h) * tt;
      if (scores) std::copy(S.begin(), S.end(), scores->begin() + static_cast<std::ptrdiff_t>(at));
      if (probs) std::copy(P.begin(), P.end(), probs->begin() + static_cast<std::ptrdiff_t>(at));
      // out[n][i][h*dh + e] = h(sum_j P[i][j] * v[j][e]), j order.
      for (std::uint32_t i = 0; i < T; ++i)
        for (std::uint32_t e = 0; e < dh; ++e) {
          float acc = 0.0f;
          for (std::uint32_t j = 0; j < T; ++j) {
            const float prod = P[std::size_t{i} * T + j] * hd.v(j, e);
            acc = acc + prod;
          }
          out[(std::size_t{n} * T + i) * dim + h * dh + e] = round16(acc, exact_fp32);
        }
    }
}

void ref_attention_backward(const std::vector<float>& qkv, const std::vector<float>& dy, std::uint32_t batch,
                            std::uint32_t tokens, std::uint32_t dim, std::uint32_t heads, std::vector<float>& dqkv,
                            bool exact_fp32) {
  check_attention(qkv.size(), batch, tokens, dim, heads);
  if (dy.size() != std::size_t{batch} * tokens * dim) throw std::invalid_argument("ref_attention_backward: dy size");
  const std::uint32_t dh = dim / heads, T = tokens, row = 3 * dim;
  const float scale = attention_scale(dh);
  dqkv.assign(qkv.size(), 0.0f);
  std::vector<float> S, P, dP(std::size_t{T} * T), dS(std::size_t{T} * T), r(T);
  for (std::uint32_t n = 0; n < batch; ++n)
    for (std::uint32_t h = 0; h < heads; ++h) {
      const Head hd{qkv.data() + std::size_t{n} * T * row, T, row, dh, h * dh, dim + h * dh, 2 * dim + h * dh};
      attention_probs(hd, scale, exact_fp32, S, P);  // P recomputed
      const float* dO = dy.data() + std::size_t{n} * T * dim + h * dh;  // dO[i][e] = dO[i * dim + e]
      float* dq = dqkv.data() + std::size_t{n} * T * row + hd.qo;
      float* dk = dqkv.data() + std::size_t{n} * T * row + hd.ko;
      float* dv = dqkv.data() + std::size_t{n} * T * row + hd.vo;
      // dP[i][j] = sum_e dO[i][e] * v[j][e] (e order)
      for (std::uint32_t i = 0; i < T; ++i)
        for (std::uint32_t j = 0; j < T; ++j) {
          float acc = 0.0f;
          for (std::uint32_t e = 0; e < dh; ++e) {
            const float prod = dO[std::size_t{i} * dim + e] * hd.v(j, e);
            acc = acc + prod;
          }
          dP[std::size_t{i} * T + j] = round16(acc, exact_fp32);
        }
      // dV[j][e] = sum_i P[i][j] * dO[i][e] (i order)
      for (std::uint32_t j = 0; j < T; ++j)
        for (std::uint32_t e = 0; e < dh; ++e) {
          float acc = 0.0f;
          for (std::uint32_t i = 0; i < T; ++i) {
            const float prod = P[std::size_t{i} * T + j] * dO[std::size_t{i} * dim + e];
            acc = acc + prod;
          }
          dv[std::size_t{j} * row + e] = round16(acc, exact_fp32);
        }
      // r[i] = sum_j P[i][j] * dP[i][j] (j order); dS[i][j] = h(P[i][j] * (dP[i][j] - r[i]) * scale)
      for (std::uint32_t i = 0; i < T; ++i) {
        float acc = 0.0f;
        for (std::uint32_t j = 0; j < T; ++j) {
          const float prod = P[std::size_t{i} * T + j] * dP[std::size_t{i} * T + j];
          acc = acc + prod;
        }
        r[i] = acc;
        for (std::uint32_t j = 0; j < T; ++j) {
          const float t = dP[std::size_t{i} * T + j] - r[i];
          const float ds = P[std::size_t{i} * T + j] * t;
          dS[std::size_t{i} * T + j] = round16(ds * scale, exact_fp32);
        }
      }
      // dQ[i][e] = h(sum_j dS[i][j] * k[j][e]); dK[j][e] = h(sum_i dS[i][j] * q[i][e])
      for (std::uint32_t i = 0; i < T; ++i)
        for (std::uint32_t e = 0; e < dh; ++e) {
          float acc = 0.0f;
          for (std::uint32_t j = 0; j < T; ++j) {
            const float prod = dS[std::size_t{i} * T + j] * hd.k(j, e);
            acc = acc + prod;
          }
          dq[std::size_t{i} * row + e] = round16(acc, exact_fp32);
        }
      for (std::uint32_t j = 0; j < T; ++j)
        for (std::uint32_t e = 0; e < dh; ++e) {
          float acc = 0.0f;
          for (std::uint32_t i = 0; i < T; ++i) {
            const float prod = dS[std::size_t{i} * T + j] * hd.q(i, e);
            acc = acc + prod;
          }
          dk[std::size_t{j} * row + e] = round16(acc, exact_fp32);
        }
    }
}

struct RefTrainer::Pass {
  std::uint32_t batch = 0;
  std::vector<std::vector<float>> acts;        // acts[t]: tensor t (0: the input, l + 1: layer l's output)
  std::vector<std::vector<std::size_t>> argmax;  // maxpool layers: input index per output
  std::vector<std::vector<float>> wf, wb;      // per trainable layer: operands of this pass
  std::vector<std::vector<std::uint8_t>> mf;   // per trainable layer: forward mask (all ones if none)
  std::vector<std::vector<float>> mean, var, inv;  // batchnorm layers (training): batch statistics;
                                                   // layernorm layers: mean and inv per row
};

RefTrainer::RefTrainer(RefConfig config, std::vector<std::vector<float>> weights,
                       std::vector<std::vector<float>> biases)
    : config_(std::move(config)) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("RefTrainer: " + what); };
  const RefConfig& c = config_;
  if (c.layers.empty() || c.layers.back().kind != RefKind::softmax_ce) fail("the last layer must be softmax_ce");
  if (c.in_c == 0 || c.in_c > 4 || c.in_h == 0 || c.in_w == 0) fail("input shape (1 <= in_c <= 4)");
  if (c.scheme != RefScheme::dense && (c.n == 0 || c.m == 0 || c.n > c.m)) fail("N:M needs 1 <= N <= M");
  if (c.schedule == RefConfig::Schedule::step && c.lr_step == 0) fail("step schedule with lr_step = 0");
  if (c.schedule == RefConfig::Schedule::cosine && c.total_iterations == 0) fail("cosine with total_iterations = 0");
  if (c.loss_scale == 0.0f) fail("loss_scale = 0");
  shapes_.push_back({c.in_h, c.in_w, c.in_c});  // tensor 0: the batch
  needs_grad_.push_back(false);                 // the network input needs no gradient
  // The tensor a layer reads: "" the previous output, "input" the batch, else a named earlier layer.
  auto resolve = [&](std::size_t l, const std::string& ref, const char* field) -> std::size_t {
    if (ref.empty()) return l;
    if (ref == "input") return 0;
    for (std::size_t j = 0; j < l; ++j)
      if (c.layers[j].name == ref) return j + 1;
    fail("layer " + std::to_string(l) + ": " + field + " '" + ref + "' names no earlier layer");
    return 0;
  };
  for (std::size_t l = 0; l < c.layers.size(); ++l) {
    const RefLayer& layer = c.layers[l];
    const std::string where = "layer " + std::to_string(l);
    if (layer.name == "input") fail(where + ": the name 'input' is reserved for the batch");
    if (!layer.name.empty())
      for (std::size_t j = 0; j < l; ++j)
        if (c.layers[j].name == layer.name) fail(where + ": duplicate name '" + layer.name + "'");
    src_.push_back(resolve(l, layer.input, "input"));
    with_.push_back(npos);
    param_of_layer_.push_back(npos);
    Shape s = shapes_[src_[l]];
    bool needs = needs_grad_[src_[l]];
    switch (layer.kind) {
      case RefKind::conv2d:
      case RefKind::linear: {
        const bool conv = layer.kind == RefKind::conv2d;
        Param p;
        p.layer = l;
        p.kind = layer.kind;
        p.cout = layer.out;
        p.k = conv ? layer.kernel : 1;
        p.cin = s.c;  // linear: C of every (h, w) position (a flattened input is 1x1)
        if (layer.out == 0) fail(where + ": out = 0");
        if (conv) {
          if (layer.kernel == 0 || layer.stride == 0 || s.h + 2 * layer.pad < layer.kernel ||
              s.w + 2 * layer.pad < layer.kernel)
            fail(where + ": bad conv geometry");
          s = {(s.h + 2 * layer.pad - layer.kernel) / layer.stride + 1,
               (s.w + 2 * layer.pad - layer.kernel) / layer.stride + 1, layer.out};
        } else {
          s = {s.h, s.w, layer.out};  // a 1x1 convolution
        }
        const std::size_t i = params_.size();
        if (i >= weights.size() || i >= biases.size()) fail("fewer weight/bias tensors than trainable layers");
        if (weights[i].size() != std::size_t{p.cout} * p.k * p.k * p.cin)
          fail("weight " + std::to_string(i) + " has " + std::to_string(weights[i].size()) + " elements");
        if (biases[i].size() != (layer.bias ? p.cout : 0u)) fail("bias " + std::to_string(i) + " size");
        p.w = std::move(weights[i]);
        p.b = std::move(biases[i]);
        p.vw.assign(p.w.size(), 0.0f);
        p.vb.assign(p.b.size(), 0.0f);
        p.gw.assign(p.w.size(), 0.0f);
        p.gb.assign(p.b.size(), 0.0f);
        param_of_layer_.back() = i;
        params_.push_back(std::move(p));
        needs = true;
        break;
      }
      case RefKind::batchnorm:
      case RefKind::layernorm:
      case RefKind::embed: {
        // Vector parameters: norms gamma [C], beta [C]; embed pos [(T+1)*D], cls [D].
        const bool embed = layer.kind == RefKind::embed;
        if (embed && s.h != 1) fail(where + ": embed needs a token sequence [N][1][T][D]");
        Param p;
        p.layer = l;
        p.kind = layer.kind;
        p.bn = layer.kind == RefKind::batchnorm;
        p.cout = embed ? s.w + 1 : s.c;
        p.k = 1;
        p.cin = embed ? s.c : 1;
        const std::size_t i = params_.size();
        const std::size_t wsize = std::size_t{p.cout} * p.cin, bsize = s.c;
        if (i >= weights.size() || i >= biases.size()) fail("fewer weight/bias tensors than trainable layers");
        if (weights[i].size() != wsize)
          fail(std::string(embed ? "pos " : "gamma ") + std::to_string(i) + " has " + std::to_string(weights[i].size()) +
               " elements, not " + std::to_string(wsize));
        if (biases[i].size() != bsize)
          fail(std::string(embed ? "cls " : "beta ") + std::to_string(i) + " has " + std::to_string(biases[i].size()) +
               " elements, not " + std::to_string(bsize));
        if (embed) s = {1, s.w + 1, s.c};
        p.w = std::move(weights[i]);
        p.b = std::move(biases[i]);
        p.vw.assign(p.w.size(), 0.0f);
        p.vb.assign(p.b.size(), 0.0f);
        p.gw.assign(p.w.size(), 0.0f);
        p.gb.assign(p.b.size(), 0.0f);
        if (p.bn) {
          p.rm.assign(s.c, 0.0f);
          p.rv.assign(s.c, 1.0f);
        }
        param_of_layer_.back() = i;
        params_.push_back(std::move(p));
        needs = true;
        break;
      }
      case RefKind::add: {
        if (layer.with.empty()) fail(where + ": add without `with`");
        with_[l] = resolve(l, layer.with, "with");
        const Shape b = shapes_[with_[l]];
        if (b.h != s.h || b.w != s.w || b.c != s.c)
          fail(where + ": add of " + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) +
               " and " + std::to_string(b.h) + "x" + std::to_string(b.w) + "x" + std::to_string(b.c));
        needs = needs || needs_grad_[with_[l]];
        break;
      }
      case RefKind::maxpool:
      case RefKind::avgpool:
        if (layer.kernel == 0 || layer.stride == 0 || s.h < layer.kernel || s.w < layer.kernel)
          fail(where + ": bad pooling geometry");
        s = {(s.h - layer.kernel) / layer.stride + 1, (s.w - layer.kernel) / layer.stride + 1, s.c};
        break;
      case RefKind::flatten:
        s = {1, 1, s.h * s.w * s.c};
        break;
      case RefKind::relu:
      case RefKind::gelu:
        break;
      case RefKind::tokens:
        s = {1, s.h * s.w, s.c};
        break;
      case RefKind::attention:
        if (s.h != 1) fail(where + ": attention needs a token sequence [N][1][T][3D]");
        if (layer.heads == 0 || s.c % 3 != 0 || (s.c / 3) % layer.heads != 0)
          fail(where + ": attention needs C = 3D with D divisible by heads");
        s = {1, s.w, s.c / 3};
        break;
      case RefKind::cls_token:
        if (s.h != 1) fail(where + ": cls_token needs a token sequence [N][1][T][D]");
        s = {1, 1, s.c};
        break;
      case RefKind::softmax_ce:
        if (l + 1 != c.layers.size()) fail("softmax_ce must be the last layer");
        if (std::size_t{s.h} * s.w * s.c != c.classes) fail("the logits are not `classes` values");
        break;
    }
    shapes_.push_back(s);
    needs_grad_.push_back(needs);
  }
  if (weights.size() != params_.size() || biases.size() != params_.size())
    fail("weights/biases: one tensor per trainable layer");
}

float RefTrainer::h(float x) const { return round16(x, config_.exact_fp32); }

bool RefTrainer::has_forward_mask(const Param& p) const {
  return is_matrix(p) && config_.layers[p.layer].sparse &&
         (config_.scheme == RefScheme::srste || config_.scheme == RefScheme::bdwp);
}

bool RefTrainer::has_backward_mask(const Param& p) const {
  return is_matrix(p) && config_.layers[p.layer].sparse && config_.scheme == RefScheme::bdwp;
}

std::vector<std::uint8_t> RefTrainer::forward_mask(std::size_t i) const {
  const Param& p = params_.at(i);
  std::vector<std::uint8_t> mask(p.w.size(), 1);
  if (!has_forward_mask(p)) return mask;
  std::vector<float> line(p.cin);
  std::vector<std::uint8_t> keep(p.cin);
  for (std::size_t row = 0; row < std::size_t{p.cout} * p.k * p.k; ++row) {  // (cout, kh, kw)
    line.assign(p.w.begin() + row * p.cin, p.w.begin() + (row + 1) * p.cin);
    nm_line(line, config_.n, config_.m, keep.data());
    std::copy(keep.begin(), keep.end(), mask.begin() + row * p.cin);
  }
  return mask;
}

std::vector<std::uint8_t> RefTrainer::backward_mask(std::size_t i) const {
  const Param& p = params_.at(i);
  std::vector<std::uint8_t> mask(p.w.size(), 1);
  if (!has_backward_mask(p)) return mask;
  std::vector<std::uint8_t> mf;
  if (config_.bwd_nested) mf = forward_mask(i);
  const std::size_t column_stride = std::size_t{p.k} * p.k * p.cin;  // next cout
  std::vector<float> line(p.cout);
  std::vector<std::uint8_t> keep(p.cout);
  for (std::size_t col = 0; col < column_stride; ++col) {  // (kh, kw, cin)
    for (std::uint32_t co = 0; co < p.cout; ++co) {
      const std::size_t at = co * column_stride + col;
      line[co] = config_.bwd_nested && !mf[at] ? 0.0f : p.w[at];  // nested: W (.) Mf
    }
    nm_line(line, config_.n, config_.m, keep.data());
    for (std::uint32_t co = 0; co < p.cout; ++co) {
      const std::size_t at = co * column_stride + col;
      mask[at] = config_.bwd_nested ? static_cast<std::uint8_t>(keep[co] & mf[at]) : keep[co];
    }
  }
  return mask;
}

float RefTrainer::learning_rate(std::uint32_t t) const {
  const double lr = config_.lr;
  switch (config_.schedule) {
    case RefConfig::Schedule::constant:
      return config_.lr;
    case RefConfig::Schedule::cosine: {
      const double pi = 3.14159265358979323846;
      const double angle = pi * static_cast<double>(t) / static_cast<double>(config_.total_iterations);
      return static_cast<float>(lr * 0.5 * (1.0 + std::cos(angle)));
    }
    case RefConfig::Schedule::step: {
      const double k = static_cast<double>(t / config_.lr_step);  // floor(t / lr_step)
      return static_cast<float>(lr * std::pow(static_cast<double>(config_.lr_gamma), k));
    }
  }
  return config_.lr;
}

void RefTrainer::forward(Pass& pass, const std::uint8_t* images, std::uint32_t batch, bool training) const {
  const RefConfig& c = config_;
  pass.batch = batch;
  // Operands and masks from the current master weights (conv2d/linear).
  pass.wf.assign(params_.size(), {});
  pass.wb.assign(params_.size(), {});
  pass.mf.assign(params_.size(), {});
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Param& p = params_[i];
    pass.mf[i] = forward_mask(i);
    if (!is_matrix(p)) continue;  // norms' gamma/beta, embed's pos/cls: used in FP32, like biases
    std::vector<float> w16(p.w.size());
    for (std::size_t e = 0; e < w16.size(); ++e) w16[e] = h(p.w[e]);
    const std::vector<std::uint8_t> mb = backward_mask(i);
    pass.wf[i] = w16;
    pass.wb[i] = w16;
    for (std::size_t e = 0; e < w16.size(); ++e) {
      if (!pass.mf[i][e]) pass.wf[i][e] = 0.0f;
      // SR-STE's data gradient uses W~ = h(W) (.) Mf; BDWP's h(W) (.) Mb; the others h(W).
      if (c.scheme == RefScheme::srste && !pass.mf[i][e]) pass.wb[i][e] = 0.0f;
      if (!mb[e]) pass.wb[i][e] = 0.0f;
    }
  }
  // x = h((p / 255 - mean[c]) / std[c]).
  pass.acts.assign(c.layers.size() + 1, {});
  pass.argmax.assign(c.layers.size(), {});
  pass.mean.assign(c.layers.size(), {});
  pass.var.assign(c.layers.size(), {});
  pass.inv.assign(c.layers.size(), {});
  std::vector<float>& x = pass.acts[0];
  x.resize(std::size_t{batch} * c.in_h * c.in_w * c.in_c);
  for (std::size_t e = 0; e < x.size(); ++e) {
    const std::uint32_t ch = static_cast<std::uint32_t>(e % c.in_c);
    const float v = (static_cast<float>(images[e]) / 255.0f - c.mean[ch]) / c.stdev[ch];
    x[e] = h(v);
  }
  for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) {
    const RefLayer& layer = c.layers[l];
    const Shape in = shapes_[src_[l]], out = shapes_[l + 1];
    const std::vector<float>& xin = pass.acts[src_[l]];
    std::vector<float>& y = pass.acts[l + 1];
    y.assign(std::size_t{batch} * out.h * out.w * out.c, 0.0f);
    switch (layer.kind) {
      case RefKind::conv2d:
      case RefKind::linear: {
        const std::size_t i = param_of_layer_[l];
        const Param& p = params_[i];
        const bool conv = layer.kind == RefKind::conv2d;
        const Geometry g = conv ? Geometry{in.h, in.w, in.c, out.h, out.w, out.c, layer.kernel, layer.stride, layer.pad}
                                : Geometry{in.h, in.w, p.cin, in.h, in.w, p.cout, 1, 1, 0};
        conv_forward(g, batch, xin.data(), pass.wf[i].data(), p.b, y.data(), c.exact_fp32);
        break;
      }
      case RefKind::batchnorm: {
        // Per channel over the M = N*H*W positions in (n, h, w) order, one rounding per operation.
        const Param& p = params_[param_of_layer_[l]];
        const std::size_t channels = in.c, positions = std::size_t{batch} * in.h * in.w;
        const float mf = static_cast<float>(positions);
        const float eps = 1e-5f;
        std::vector<float>& mean = pass.mean[l];
        std::vector<float>& var = pass.var[l];
        std::vector<float>& inv = pass.inv[l];
        mean.assign(channels, 0.0f);
        var.assign(channels, 0.0f);
        inv.assign(channels, 0.0f);
        for (std::size_t ch = 0; ch < channels; ++ch) {
          float mu, rinv;
          if (training) {
            float sum = 0.0f;
            for (std::size_t pos = 0; pos < positions; ++pos) sum = sum + xin[pos * channels + ch];
            mu = sum / mf;
            float v = 0.0f;
            for (std::size_t pos = 0; pos < positions; ++pos) {
              const float d = xin[pos * channels + ch] - mu;
              const float sq = d * d;
              v = v + sq;
            }
            v = v / mf;
            const float t = v + eps;
            const float r = std::sqrt(t);
            rinv = 1.0f / r;
            mean[ch] = mu;
            var[ch] = v;
            inv[ch] = rinv;
          } else {
            mu = p.rm[ch];
            const float t = p.rv[ch] + eps;
            const float r = std::sqrt(t);
            rinv = 1.0f / r;
          }
          for (std::size_t pos = 0; pos < positions; ++pos) {
            const std::size_t at = pos * channels + ch;
            const float d = xin[at] - mu;
            const float xhat = d * rinv;
            const float prod = p.w[ch] * xhat;
            const float sum = prod + p.b[ch];
            y[at] = h(sum);
          }
        }
        break;
      }
      case RefKind::add: {
        const std::vector<float>& b = pass.acts[with_[l]];
        for (std::size_t e = 0; e < y.size(); ++e) {
          const float sum = xin[e] + b[e];
          y[e] = h(sum);
        }
        break;
      }
      case RefKind::relu:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = xin[e] > 0.0f ? xin[e] : 0.0f;
        break;
      case RefKind::maxpool:
      case RefKind::avgpool: {
        const bool max = layer.kind == RefKind::maxpool;
        if (max) pass.argmax[l].assign(y.size(), 0);
        const std::uint32_t k = layer.kernel, st = layer.stride;
        for (std::uint32_t n = 0; n < batch; ++n)
          for (std::uint32_t oh = 0; oh < out.h; ++oh)
            for (std::uint32_t ow = 0; ow < out.w; ++ow)
              for (std::uint32_t ch = 0; ch < out.c; ++ch) {
                const std::size_t o = ((std::size_t{n} * out.h + oh) * out.w + ow) * out.c + ch;
                std::size_t best = npos;
                float sum = 0.0f;
                for (std::uint32_t kh = 0; kh < k; ++kh)
                  for (std::uint32_t kw = 0; kw < k; ++kw) {
                    const std::size_t at =
                        ((std::size_t{n} * in.h + oh * st + kh) * in.w + ow * st + kw) * in.c + ch;
                    if (max) {
                      if (best == npos || xin[at] > xin[best]) best = at;  // the first maximum
                    } else {
                      sum = sum + xin[at];
                    }
                  }
                if (max) {
                  y[o] = xin[best];
                  pass.argmax[l][o] = best;
                } else {
                  const float mean = sum / static_cast<float>(k * k);
                  y[o] = h(mean);
                }
              }
        break;
      }
      case RefKind::flatten:
      case RefKind::tokens:
        y = xin;
        break;
      case RefKind::embed: {
        // y[n][0][d] = h(cls[d] + pos[0][d]); y[n][t+1][d] = h(float(x[n][t][d]) + pos[t+1][d]).
        const Param& p = params_[param_of_layer_[l]];
        const std::size_t T = in.w, D = in.c;
        for (std::uint32_t n = 0; n < batch; ++n) {
          float* yn = y.data() + std::size_t{n} * (T + 1) * D;
          const float* xn = xin.data() + std::size_t{n} * T * D;
          for (std::size_t d = 0; d < D; ++d) {
            const float sum = p.b[d] + p.w[d];
            yn[d] = h(sum);
          }
          for (std::size_t t = 0; t < T; ++t)
            for (std::size_t d = 0; d < D; ++d) {
              const float sum = xn[t * D + d] + p.w[(t + 1) * D + d];
              yn[(t + 1) * D + d] = h(sum);
            }
        }
        break;
      }
      case RefKind::layernorm: {
        // Per position (row) over its C features, c order, one rounding per operation.
        const Param& p = params_[param_of_layer_[l]];
        const std::size_t C = in.c, rows = std::size_t{batch} * in.h * in.w;
        const float cf = static_cast<float>(C);
        const float eps = 1e-5f;
        std::vector<float>& mean = pass.mean[l];
        std::vector<float>& inv = pass.inv[l];
        mean.assign(rows, 0.0f);
        inv.assign(rows, 0.0f);
        for (std::size_t r = 0; r < rows; ++r) {
          const float* xr = xin.data() + r * C;
          float sum = 0.0f;
          for (std::size_t ch = 0; ch < C; ++ch) sum = sum + xr[ch];
          const float mu = sum / cf;
          float v = 0.0f;
          for (std::size_t ch = 0; ch < C; ++ch) {
            const float d = xr[ch] - mu;
            const float sq = d * d;
            v = v + sq;
          }
          v = v / cf;
          const float t = v + eps;
          const float root = std::sqrt(t);
          const float rinv = 1.0f / root;
          mean[r] = mu;
          inv[r] = rinv;
          for (std::size_t ch = 0; ch < C; ++ch) {
            const float d = xr[ch] - mu;
            const float xhat = d * rinv;
            const float prod = p.w[ch] * xhat;
            const float out_sum = prod + p.b[ch];
            y[r * C + ch] = h(out_sum);
          }
        }
        break;
      }
      case RefKind::gelu:
        // t = x * 0.70710678f; e = erff(t); a = 1 + e; b = 0.5f * x; y = h(b * a)
        for (std::size_t e = 0; e < y.size(); ++e) {
          const float xv = xin[e];
          const float t = xv * 0.70710678f;
          const float erf_t = std::erf(t);
          const float a = 1.0f + erf_t;
          const float b = 0.5f * xv;
          const float prod = b * a;
          y[e] = h(prod);
        }
        break;
      case RefKind::attention:
        ref_attention(xin, batch, in.w, out.c, layer.heads, y, nullptr, nullptr, c.exact_fp32);
        break;
      case RefKind::cls_token:
        for (std::uint32_t n = 0; n < batch; ++n)
          std::copy(xin.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.w * in.c),
                    xin.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.w * in.c + in.c),
                    y.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.c));
        break;
      case RefKind::softmax_ce:
        break;
    }
  }
}

void RefTrainer::backward(Pass& pass, std::vector<float> dz) {
  const RefConfig& c = config_;
  const std::uint32_t batch = pass.batch;
  const std::size_t layers = c.layers.size();
  // grad[t] of tensor t, summed over its consumers in reverse layer order: the first
  // contribution as it is, each later one g = h(float(g) + float(contribution)). Only tensors
  // that depend on a parameter get one (not the input, nor what is computed from it alone).
  std::vector<std::vector<float>> grad(layers + 1);
  auto contribute = [&](std::size_t t, std::vector<float> g) {
    if (!needs_grad_[t]) return;
    if (grad[t].empty()) {
      grad[t] = std::move(g);
      return;
    }
    for (std::size_t e = 0; e < g.size(); ++e) {
      const float sum = grad[t][e] + g[e];
      grad[t][e] = h(sum);
    }
  };
  contribute(src_[layers - 1], std::move(dz));
  for (std::size_t l = layers - 1; l-- > 0;) {
    if (!needs_grad_[l + 1]) continue;  // nothing above depends on a parameter
    const RefLayer& layer = c.layers[l];
    const Shape in = shapes_[src_[l]], out = shapes_[l + 1];
    const std::vector<float>& xin = pass.acts[src_[l]];
    std::vector<float> dy = std::move(grad[l + 1]);
    if (dy.empty()) dy.assign(pass.acts[l + 1].size(), 0.0f);  // an output nothing reads
    const bool dx_needed = needs_grad_[src_[l]];
    std::vector<float> dx;
    if (dx_needed) dx.assign(xin.size(), 0.0f);
    switch (layer.kind) {
      case RefKind::conv2d:
      case RefKind::linear: {
        const std::size_t i = param_of_layer_[l];
        Param& p = params_[i];
        const bool conv = layer.kind == RefKind::conv2d;
        const Geometry g = conv ? Geometry{in.h, in.w, in.c, out.h, out.w, out.c, layer.kernel, layer.stride, layer.pad}
                                : Geometry{in.h, in.w, p.cin, in.h, in.w, p.cout, 1, 1, 0};
        conv_backward_weight(g, batch, dy.data(), xin.data(), p.gw, p.gb, c.exact_fp32);  // dense dY
        if (!dx_needed) break;  // its input is the batch (or computed from it alone): no dX
        if (c.scheme == RefScheme::sdgp && layer.sparse && conv && in.c > 3) {
          std::vector<float> pruned = dy;
          ref_sdgp_prune(pruned, batch, out.h, out.w, out.c, c.n, c.m, c.sdgp_rescale, c.exact_fp32);
          conv_backward_data(g, batch, pruned.data(), pass.wb[i].data(), dx.data(), c.exact_fp32);
        } else {
          conv_backward_data(g, batch, dy.data(), pass.wb[i].data(), dx.data(), c.exact_fp32);
        }
        break;
      }
      case RefKind::batchnorm: {
        Param& p = params_[param_of_layer_[l]];
        const std::size_t channels = in.c, positions = std::size_t{batch} * in.h * in.w;
        const float mf = static_cast<float>(positions);
        for (std::size_t ch = 0; ch < channels; ++ch) {
          const float mu = pass.mean[l][ch], rinv = pass.inv[l][ch];
          float sum_dy = 0.0f, sum_dyx = 0.0f;
          for (std::size_t pos = 0; pos < positions; ++pos) {
            const std::size_t at = pos * channels + ch;
            const float d = xin[at] - mu;
            const float xhat = d * rinv;
            const float prod = dy[at] * xhat;
            sum_dy = sum_dy + dy[at];
            sum_dyx = sum_dyx + prod;
          }
          p.gw[ch] = h(sum_dyx);  // dgamma
          p.gb[ch] = h(sum_dy);   // dbeta
          if (!dx_needed) continue;
          float k = p.w[ch] * rinv;
          k = k / mf;
          for (std::size_t pos = 0; pos < positions; ++pos) {
            const std::size_t at = pos * channels + ch;
            const float d = xin[at] - mu;
            const float xhat = d * rinv;
            float a = mf * dy[at];
            a = a - sum_dy;
            const float b = xhat * sum_dyx;
            a = a - b;
            const float v = k * a;
            dx[at] = h(v);
          }
        }
        break;
      }
      case RefKind::add:
        // Both operands receive dy unchanged: a (the input), then b (`with`).
        if (dx_needed) dx = dy;
        contribute(src_[l], std::move(dx));
        contribute(with_[l], std::move(dy));
        continue;
      case RefKind::relu:
        if (!dx_needed) break;
        for (std::size_t e = 0; e < dx.size(); ++e) dx[e] = xin[e] > 0.0f ? dy[e] : 0.0f;
        break;
      case RefKind::maxpool:
      case RefKind::avgpool: {
        if (!dx_needed) break;
        // FP32 accumulation into dx, contributions in output order (n, oh, ow, c), then h.
        const bool max = layer.kind == RefKind::maxpool;
        const std::uint32_t k = layer.kernel, st = layer.stride;
        for (std::uint32_t n = 0; n < batch; ++n)
          for (std::uint32_t oh = 0; oh < out.h; ++oh)
            for (std::uint32_t ow = 0; ow < out.w; ++ow)
              for (std::uint32_t ch = 0; ch < out.c; ++ch) {
                const std::size_t o = ((std::size_t{n} * out.h + oh) * out.w + ow) * out.c + ch;
                if (max) {
                  const std::size_t at = pass.argmax[l][o];
                  dx[at] = dx[at] + dy[o];
                  continue;
                }
                const float share = dy[o] / static_cast<float>(k * k);
                for (std::uint32_t kh = 0; kh < k; ++kh)
                  for (std::uint32_t kw = 0; kw < k; ++kw) {
                    const std::size_t at =
                        ((std::size_t{n} * in.h + oh * st + kh) * in.w + ow * st + kw) * in.c + ch;
                    dx[at] = dx[at] + share;
                  }
              }
        for (float& v : dx) v = h(v);
        break;
      }
      case RefKind::flatten:
      case RefKind::tokens:
        if (dx_needed) dx = dy;
        break;
      case RefKind::embed: {
        // dpos[t][d] = h(sum_n dy[n][t][d]); dcls[d] = h(sum_n dy[n][0][d]) (n order);
        // dx[n][t][d] = dy[n][t+1][d].
        Param& p = params_[param_of_layer_[l]];
        const std::size_t T = in.w, D = in.c;
        for (std::size_t t = 0; t <= T; ++t)
          for (std::size_t d = 0; d < D; ++d) {
            float acc = 0.0f;
            for (std::uint32_t n = 0; n < batch; ++n) acc = acc + dy[(std::size_t{n} * (T + 1) + t) * D + d];
            p.gw[t * D + d] = h(acc);
          }
        for (std::size_t d = 0; d < D; ++d) {
          float acc = 0.0f;
          for (std::uint32_t n = 0; n < batch; ++n) acc = acc + dy[std::size_t{n} * (T + 1) * D + d];
          p.gb[d] = h(acc);
        }
        if (!dx_needed) break;
        for (std::uint32_t n = 0; n < batch; ++n)
          for (std::size_t t = 0; t < T; ++t)
            for (std::size_t d = 0; d < D; ++d)
              dx[(std::size_t{n} * T + t) * D + d] = dy[(std::size_t{n} * (T + 1) + t + 1) * D + d];
        break;
      }
      case RefKind::layernorm: {
        Param& p = params_[param_of_layer_[l]];
        const std::size_t C = in.c, rows = std::size_t{batch} * in.h * in.w;
        const float cf = static_cast<float>(C);
        // dgamma[c] = h(sum over rows of dy * xhat), dbeta[c] = h(sum over rows of dy), row order.
        for (std::size_t ch = 0; ch < C; ++ch) {
          float sum_dyx = 0.0f, sum_dy = 0.0f;
          for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t at = r * C + ch;
            const float d = xin[at] - pass.mean[l][r];
            const float xhat = d * pass.inv[l][r];
            const float prod = dy[at] * xhat;
            sum_dyx = sum_dyx + prod;
            sum_dy = sum_dy + dy[at];
          }
          p.gw[ch] = h(sum_dyx);
          p.gb[ch] = h(sum_dy);
        }
        if (!dx_needed) break;
        // Per row, g = dy * gamma: sum_g, sum_gx (c order); k = inv / C;
        // a = float(C) * g; a = a - sum_g; b = xhat * sum_gx; a = a - b; dx = h(k * a).
        for (std::size_t r = 0; r < rows; ++r) {
          const float mu = pass.mean[l][r], rinv = pass.inv[l][r];
          float sum_g = 0.0f, sum_gx = 0.0f;
          for (std::size_t ch = 0; ch < C; ++ch) {
            const std::size_t at = r * C + ch;
            const float d = xin[at] - mu;
            const float xhat = d * rinv;
            const float g = dy[at] * p.w[ch];
            const float prod = g * xhat;
            sum_g = sum_g + g;
            sum_gx = sum_gx + prod;
          }
          const float k = rinv / cf;
          for (std::size_t ch = 0; ch < C; ++ch) {
            const std::size_t at = r * C + ch;
            const float d = xin[at] - mu;
            const float xhat = d * rinv;
            const float g = dy[at] * p.w[ch];
            float a = cf * g;
            a = a - sum_g;
            const float b = xhat * sum_gx;
            a = a - b;
            const float v = k * a;
            dx[at] = h(v);
          }
        }
        break;
      }
      case RefKind::gelu:
        if (!dx_needed) break;
        // cdf = 0.5f * (1 + erff(x * 0.70710678f)); q = -0.5f * x; q = q * x;
        // pdf = expf(q) * 0.39894228f; g = cdf + x * pdf; dx = h(dy * g)
        for (std::size_t e = 0; e < dx.size(); ++e) {
          const float x = xin[e];
          const float t = x * 0.70710678f;
          const float erf_t = std::erf(t);
          const float a = 1.0f + erf_t;
          const float cdf = 0.5f * a;
          float q = -0.5f * x;
          q = q * x;
          const float ex = std::exp(q);
          const float pdf = ex * 0.39894228f;
          const float xp = x * pdf;
          const float g = cdf + xp;
          const float v = dy[e] * g;
          dx[e] = h(v);
        }
        break;
      case RefKind::attention:
        if (dx_needed) ref_attention_backward(xin, dy, batch, in.w, out.c, layer.heads, dx, c.exact_fp32);
        break;
      case RefKind::cls_token:
        if (!dx_needed) break;
        // dx[n][0] = dy[n], zero for the other tokens.
        for (std::uint32_t n = 0; n < batch; ++n)
          std::copy(dy.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.c),
                    dy.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.c + in.c),
                    dx.begin() + static_cast<std::ptrdiff_t>(std::size_t{n} * in.w * in.c));
        break;
      case RefKind::softmax_ce:
        break;
    }
    if (dx_needed) contribute(src_[l], std::move(dx));
  }
}

void RefTrainer::update(std::size_t i, const std::vector<std::uint8_t>& mf, float lr_t) {
  const RefConfig& c = config_;
  Param& p = params_[i];
  // SR-STE decay folded into the FP16 gradient of the pruned weights (Mf = 0), FP32:
  //   decay = loss_scale * sparse_decay;  term = decay * W;  sum = float(dW16) + term;  dW16 = h(sum)
  const bool fold = has_forward_mask(p) && c.sparse_decay > 0.0f;
  if (fold) {
    const float decay = c.loss_scale * c.sparse_decay;
    for (std::size_t e = 0; e < p.w.size(); ++e) {
      if (mf[e]) continue;
      const float term = decay * p.w[e];
      const float sum = p.gw[e] + term;
      p.gw[e] = h(sum);
    }
  }
  // WUVE, one FP32 rounding per operation.
  const float inv_scale = 1.0f / c.loss_scale;
  auto wuve = [&](std::vector<float>& w, std::vector<float>& v, const std::vector<float>& grad, float wd) {
    for (std::size_t e = 0; e < w.size(); ++e) {
      float g = grad[e] * inv_scale;
      const float decay = wd * w[e];
      g = g + decay;
      const float kept = c.momentum * v[e];
      v[e] = kept + g;
      const float delta = lr_t * v[e];
      w[e] = w[e] - delta;
    }
  };
  wuve(p.w, p.vw, p.gw, is_matrix(p) ? c.weight_decay : 0.0f);  // gamma, pos: no weight decay
  wuve(p.b, p.vb, p.gb, 0.0f);
}

RefStep RefTrainer::step(const std::uint8_t* images, const std::uint8_t* labels, std::uint32_t batch) {
  if (batch == 0) throw std::invalid_argument("RefTrainer::step: batch = 0");
  const float lr_t = learning_rate(iteration_);
  Pass pass;
  forward(pass, images, batch, true);
  std::vector<float> dz;
  const RefStep result =
      ref_softmax_ce(pass.acts[src_.back()], labels, batch, config_.classes, config_.loss_scale, &dz,
                     config_.exact_fp32);
  backward(pass, std::move(dz));
  for (std::size_t i = 0; i < params_.size(); ++i) update(i, pass.mf[i], lr_t);
  // Batchnorm running statistics, FP32, one rounding per operation:
  //   rm = 0.9f * rm + 0.1f * mean;  u = var * float(M); u = u / float(M - 1); rv = 0.9f * rv + 0.1f * u
  for (Param& p : params_) {
    if (!p.bn) continue;
    const Shape in = shapes_[src_[p.layer]];
    const std::size_t positions = std::size_t{batch} * in.h * in.w;
    for (std::size_t ch = 0; ch < p.rm.size(); ++ch) {
      const float kept_mean = 0.9f * p.rm[ch];
      const float new_mean = 0.1f * pass.mean[p.layer][ch];
      p.rm[ch] = kept_mean + new_mean;
      float u = pass.var[p.layer][ch] * static_cast<float>(positions);
      u = u / static_cast<float>(positions - 1);
      const float kept_var = 0.9f * p.rv[ch];
      const float new_var = 0.1f * u;
      p.rv[ch] = kept_var + new_var;
    }
  }
  ++iteration_;
  return result;
}

RefStep RefTrainer::evaluate(const std::uint8_t* images, const std::uint8_t* labels, std::uint32_t count,
                             std::uint32_t batch) {
  if (count == 0 || batch == 0) throw std::invalid_argument("RefTrainer::evaluate: count or batch = 0");
  const std::size_t image_size = std::size_t{config_.in_h} * config_.in_w * config_.in_c;
  float loss_sum = 0.0f;
  std::uint32_t correct = 0;
  for (std::uint32_t start = 0; start < count; start += batch) {
    const std::uint32_t b = std::min(batch, count - start);
    Pass pass;
    forward(pass, images + start * image_size, b, false);
    softmax_rows(pass.acts[src_.back()], labels + start, b, config_.classes, config_.loss_scale,
                 nullptr, config_.exact_fp32, loss_sum, correct);
  }
  return {loss_sum / static_cast<float>(count), static_cast<float>(correct) / static_cast<float>(count)};
}

const std::vector<float>& RefTrainer::weight(std::size_t i) const { return params_.at(i).w; }
const std::vector<float>& RefTrainer::bias(std::size_t i) const { return params_.at(i).b; }
const std::vector<float>& RefTrainer::momentum(std::size_t i) const { return params_.at(i).vw; }
const std::vector<float>& RefTrainer::bias_momentum(std::size_t i) const { return params_.at(i).vb; }
const std::vector<float>& RefTrainer::weight_grad(std::size_t i) const { return params_.at(i).gw; }
const std::vector<float>& RefTrainer::bias_grad(std::size_t i) const { return params_.at(i).gb; }
const std::vector<float>& RefTrainer::running_mean(std::size_t i) const { return params_.at(i).rm; }
const std::vector<float>& RefTrainer::running_var(std::size_t i) const { return params_.at(i).rv; }

}  // namespace cestvp::golden
