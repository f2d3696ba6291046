// Host layers (firmware layer 4): the parts of a training step the SAT does not run, computed
// by the host CPU on tensors it copied out of DDR. Plain functions on host arrays, NHWC, FP32
// inside, following docs/training.md's rounding points: the callers round outputs to FP16.
// They own no memory and touch no hardware, so the runtime can charge their cost separately.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <cestvp/sat_abi.h>

namespace cestvp::fw::host {

struct Shape {  // NHWC
  std::uint32_t n = 0, h = 0, w = 0, c = 0;
  std::size_t elements() const { return std::size_t{n} * h * w * c; }
};

// FP16 <-> FP32 for whole arrays.
// The FP32 values of `count` FP16 values, built in one pass (no zero fill first).
std::vector<float> widen(const std::uint16_t* half, std::size_t count);
void narrow(const float* in, std::uint16_t* half, std::size_t count);

// x = h((p / 255 - mean[c]) / stdev[c]) for `count` pixels of `channels` interleaved channels.
void normalise(const std::uint8_t* pixels, std::size_t count, std::uint32_t channels, const float* mean,
               const float* stdev, std::uint16_t* out);

// ReLU on FP16 bits: it only keeps or zeroes values, so it needs no conversion (x > 0 keeps x,
// anything else, NaN included, gives +0).
void relu_forward(const std::uint16_t* x, std::uint16_t* y, std::size_t count);
// dx = x > 0 ? dy : +0
void relu_backward(const std::uint16_t* x, const std::uint16_t* dy, std::uint16_t* dx, std::size_t count);

// Pooling windows of k x k with stride s, no padding; `in` is the input shape.
Shape pool_output(const Shape& in, std::uint32_t k, std::uint32_t s);
void maxpool_forward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, float* y);
// dy goes to each window's first maximum of x (window order kh, kw), summed where windows meet.
void maxpool_backward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, const float* dy, float* dx);
void avgpool_forward(const float* x, const Shape& in, std::uint32_t k, std::uint32_t s, float* y);
void avgpool_backward(const Shape& in, std::uint32_t k, std::uint32_t s, const float* dy, float* dx);

// y[r][c] = h(y[r][c] + bias[c]) over `rows` rows of `channels` (y holds FP16-valued floats).
void bias_forward(float* y, std::size_t rows, std::uint32_t channels, const float* bias);
// db[c] = sum over rows of dy[r][c], FP32 in row order.
void bias_backward(const float* dy, std::size_t rows, std::uint32_t channels, float* db);

// y = a + b (the caller rounds).
void add(const float* a, const float* b, float* y, std::size_t count);

// Batch normalisation per channel of `positions` rows of `channels` (docs/training.md, every
// FP32 operation in the order written there).
struct BatchStats {
  std::vector<float> mean, var, inv;  // per channel; inv = 1 / sqrt(var + eps)
};
inline constexpr float kBatchNormEps = 1e-5f;
inline constexpr float kBatchNormMomentum = 0.1f;
BatchStats batch_stats(const float* x, std::size_t positions, std::uint32_t channels);
// The statistics evaluation uses: the running mean and variance (running[0..C) and [C..2C)).
BatchStats running_stats(const float* running, std::uint32_t channels);
// running = 0.9 running + 0.1 batch (the variance unbiased).
void update_running(const BatchStats& batch, std::size_t positions, float* running);
// y = gamma * xhat + beta, xhat = (x - mean) * inv (the caller rounds y).
void batchnorm_forward(const float* x, std::size_t positions, std::uint32_t channels, const BatchStats& stats,
                       const float* gamma, const float* beta, float* y);
// dx (the caller rounds), dgamma = sum dy * xhat, dbeta = sum dy.
void batchnorm_backward(const float* x, const float* dy, std::size_t positions, std::uint32_t channels,
                        const BatchStats& stats, const float* gamma, float* dx, float* dgamma, float* dbeta);

// Layer norm over the `channels` features of each of `rows` rows; gamma, beta per feature.
inline constexpr float kLayerNormEps = 1e-5f;
void layernorm_forward(const float* x, std::size_t rows, std::uint32_t channels, const float* gamma,
                       const float* beta, float* y);
// dx (the caller rounds); dgamma, dbeta summed over the rows in row order.
void layernorm_backward(const float* x, const float* dy, std::size_t rows, std::uint32_t channels, const float* gamma,
                        float* dx, float* dgamma, float* dbeta);

// GELU, the erf form.
void gelu_forward(const float* x, float* y, std::size_t count);
void gelu_backward(const float* x, const float* dy, float* dx, std::size_t count);

// A token sequence batch: n samples of t tokens of d features.
struct Tokens {
  std::uint32_t n = 0, t = 0, d = 0;
};
// The host's part of the attention core; its products run on STCE (docs/training.md).
// Row by row of `t` scores: in place, S -> P = softmax(S * scale) (the caller rounds).
void attention_softmax(float* s, std::size_t rows, std::uint32_t t, float scale);
// In place, dP -> dS = P (.) (dP - sum_j P dP) * scale (the caller rounds).
void attention_score_grad(const float* p, float* dp, std::size_t rows, std::uint32_t t, float scale);

// x [n][t][d] -> y [n][t+1][d]: class token first, position embeddings pos [t+1][d] added.
void embed_forward(const float* x, const Tokens& shape, const float* pos, const float* cls, float* y);
void embed_backward(const float* dy, const Tokens& shape, float* dx, float* dpos, float* dcls);

struct LossResult {
  double loss_sum = 0;       // sum over the batch of each sample's loss
  std::uint32_t correct = 0;
};
// Softmax cross-entropy of `rows` logits vectors; with dlogits, also
// dz = (p - onehot) * scale / rows (FP32; the caller rounds). docs/training.md "Loss".
LossResult softmax_ce(const float* logits, const std::uint8_t* labels, std::uint32_t rows, std::uint32_t classes,
                      float scale, float* dlogits);

// A compressed N:M operand of `lines` lines (docs/engines.md): FP16 values and packed indices.
struct NmTensor {
  std::uint16_t* values = nullptr;
  const std::uint32_t* indices = nullptr;
  std::size_t lines = 0;
  NmLine line{};
};
// The dense line-major tensor the compressed one stands for (pruned elements 0), FP16 bits.
void nm_expand(const NmTensor& t, std::uint16_t* dense);
// keep[i] = 1 where the compressed tensor keeps element i of its line-major dense form.
void nm_keep_flags(const NmTensor& t, std::uint8_t* keep);

// SDGP's magnitude rescale (docs/training.md): dy dense FP16-valued [n][h][w][c], its pruned
// form along c per position (t.values rescaled in place, rounded to FP16).
void sdgp_rescale(const float* dy, const Shape& shape, const NmTensor& t);

}  // namespace cestvp::fw::host
