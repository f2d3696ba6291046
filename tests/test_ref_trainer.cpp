// The reference trainer (tests/golden/ref_trainer.*) checked against hand-computed values, the
// spec's N:M test vectors, finite differences and a small training run. Expected values are
// derived in the comments from docs/training.md, never captured from the trainer's output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Imath/half.h>
#include <gtest/gtest.h>

#include "golden/ref_trainer.h"

namespace {

using cestvp::golden::ref_nm_mask;
using cestvp::golden::ref_sdgp_prune;
using cestvp::golden::ref_softmax_ce;
using cestvp::golden::RefConfig;
using cestvp::golden::RefKind;
using cestvp::golden::RefLayer;
using cestvp::golden::RefScheme;
using cestvp::golden::RefStep;
using cestvp::golden::RefTrainer;
using Mask = std::vector<std::uint8_t>;

RefLayer conv(std::uint32_t out, std::uint32_t kernel, std::uint32_t stride, std::uint32_t pad, bool bias = false,
              bool sparse = false) {
  RefLayer l{RefKind::conv2d};
  l.out = out;
  l.kernel = kernel;
  l.stride = stride;
  l.pad = pad;
  l.bias = bias;
  l.sparse = sparse;
  return l;
}

RefLayer linear(std::uint32_t out, bool bias = false, bool sparse = false) {
  RefLayer l{RefKind::linear};
  l.out = out;
  l.bias = bias;
  l.sparse = sparse;
  return l;
}

RefLayer pool(RefKind kind, std::uint32_t kernel, std::uint32_t stride) {
  RefLayer l{kind};
  l.kernel = kernel;
  l.stride = stride;
  return l;
}

RefLayer layer(RefKind kind) { return RefLayer{kind}; }

RefLayer batchnorm() { return RefLayer{RefKind::batchnorm}; }

RefLayer add(const std::string& with) {
  RefLayer l{RefKind::add};
  l.with = with;
  return l;
}

// `l` named `name` (may be empty), reading `input` (empty: the previous layer's output).
RefLayer named(RefLayer l, const std::string& name, const std::string& input = "") {
  l.name = name;
  l.input = input;
  return l;
}

// A small deterministic generator (SplitMix64) for weights and data.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

// Along a random unit direction d of weight (or bias) tensor i: the derivative of `loss` by
// central differences of step eps, and the analytic one, grad . d.
template <class Loss>
std::pair<double, double> directional_derivative(const std::vector<std::vector<float>>& w,
                                                 const std::vector<std::vector<float>>& b, bool is_bias,
                                                 std::size_t i, const std::vector<float>& grad, double eps, Rng& rng,
                                                 Loss loss) {
  std::vector<double> d(grad.size());
  double norm = 0, analytic = 0;
  for (double& v : d) {
    v = rng.normal();
    norm += v * v;
  }
  for (std::size_t e = 0; e < d.size(); ++e) {
    d[e] /= std::sqrt(norm);
    analytic += d[e] * grad[e];
  }
  const auto moved = [&](double sign) {
    std::vector<std::vector<float>> wv = w, bv = b;
    std::vector<float>& v = is_bias ? bv[i] : wv[i];
    for (std::size_t e = 0; e < v.size(); ++e) v[e] = static_cast<float>(v[e] + sign * eps * d[e]);
    return loss(wv, bv);
  };
  return {(moved(1) - moved(-1)) / (2 * eps), analytic};
}

std::vector<float> he_normal(Rng& rng, std::size_t count, std::size_t fan_in) {
  std::vector<float> w(count);
  const double stdev = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (float& v : w) v = static_cast<float>(rng.normal() * stdev);
  return w;
}

// ---------------------------------------------------------------------------------------------
// N:M selection: the spec's test vectors (nm-training-spec.md section 6).

TEST(RefNmMask, SpecTestVectors) {
  // 2:8 [0.5,-2,0.5,0.5,1,-1,0,0]: |-2| first, then 1 and -1 tie at magnitude 1: index 4 wins.
  EXPECT_EQ(ref_nm_mask({0.5f, -2, 0.5f, 0.5f, 1, -1, 0, 0}, 2, 8), (Mask{0, 1, 0, 0, 1, 0, 0, 0}));
  // 16 equal values, two groups of 8: the lowest two indices of each group, {0, 1, 8, 9}.
  Mask equal(16, 0);
  equal[0] = equal[1] = equal[8] = equal[9] = 1;
  EXPECT_EQ(ref_nm_mask(std::vector<float>(16, 0.75f), 2, 8), equal);
  // Short tail L = 10: the tail group {8, 9} has length 2 and keeps min(2, 2) = 2, even the 0.
  EXPECT_EQ(ref_nm_mask({1, 2, 3, 4, 5, 6, 7, 8, 3, 0}, 2, 8), (Mask{0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));
  // A tail of length 1 under 2:4 keeps its one element; NaN ranks as +inf (kept).
  EXPECT_EQ(ref_nm_mask({1, NAN, -3, 2, -0.5f}, 2, 4), (Mask{0, 1, 1, 0, 1}));
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy, by hand: 2 samples, 3 classes, loss_scale 8, B = 2.
//   sample 0: z = [3, 3, -200], y = 2: m = 3, exp(-203) underflows to 0 in FP32, s = 2,
//             loss = log 2 + 203 = 203.6931472, p = [0.5, 0.5, 0]
//             dz = h((p - [j == y]) * 8 / 2) = [2, 2, -4]
//   sample 1: z = [0, 0, 0], y = 0: s = 3, loss = log 3 = 1.0986123, p = float(1/3) = 0.33333334
//             dz_0 = h((0.33333334 - 1) * 8 / 2) = h(-2.6666665): FP16 step in [2, 4) is 2^-9,
//                    2.6666665 / 2^-9 = 1365.33 -> 1365 * 2^-9 = 2.666015625
//             dz_1 = dz_2 = h(1.3333334): step 2^-10 in [1, 2), 1365.33 -> 1.3330078125
//   mean loss = (203.6931472 + 1.0986123) / 2 = 102.3958797; argmax (first maximum) = [0, 0]:
//   sample 0 wrong (tie 3, 3 goes to class 0), sample 1 right: accuracy 0.5.

TEST(RefSoftmaxCe, HandComputedTwoSamplesThreeClasses) {
  const std::vector<float> logits{3, 3, -200, 0, 0, 0};
  const std::uint8_t labels[] = {2, 0};
  std::vector<float> dz;
  const RefStep r = ref_softmax_ce(logits, labels, 2, 3, 8.0f, &dz);
  EXPECT_NEAR(r.loss, 102.3958797f, 2e-5f);
  EXPECT_EQ(r.accuracy, 0.5f);
  EXPECT_EQ(dz, (std::vector<float>{2, 2, -4, -2.666015625f, 1.3330078125f, 1.3330078125f}));
}

TEST(RefSoftmaxCe, TrainerFeedsPixelsThroughTheInputTransform) {
  // No trainable layer: the logits are the inputs x = h((p / 255 - mean) / std). Channels 0, 1
  // with std 1/3: p = 255 -> 1 / 0.33333334 = 2.9999999 -> h = 3; p = 0 -> 0. Channel 2 with
  // std -0.005: p = 255 -> -200.000003 -> h = -200; p = 0 -> -0. The same case as above.
  RefConfig c;
  c.in_c = 3;
  c.classes = 3;
  c.layers = {layer(RefKind::softmax_ce)};
  c.stdev[0] = c.stdev[1] = 1.0f / 3.0f;
  c.stdev[2] = -0.005f;
  RefTrainer t(c, {}, {});
  const std::uint8_t images[] = {255, 255, 255, 0, 0, 0};
  const std::uint8_t labels[] = {2, 0};
  const RefStep r = t.evaluate(images, labels, 2, 2);
  EXPECT_NEAR(r.loss, 102.3958797f, 2e-5f);
  EXPECT_EQ(r.accuracy, 0.5f);
  // In batches of 1 the loss is still the mean over both samples.
  EXPECT_NEAR(t.evaluate(images, labels, 2, 1).loss, 102.3958797f, 2e-5f);

  // The input is rounded to FP16: p = 255 with mean -2^-12 gives 1 + 2^-12 -> h = 1, equal to
  // channel 0's 1: loss log 2 exactly (unrounded, log(1 + e^-2^-12) + 2^-12 differs).
  RefConfig two;
  two.in_c = 2;
  two.classes = 2;
  two.layers = {layer(RefKind::softmax_ce)};
  two.mean[1] = -0x1p-12f;
  RefTrainer rounded(two, {}, {});
  const std::uint8_t pixels[] = {255, 255}, label = 1;
  EXPECT_EQ(rounded.evaluate(pixels, &label, 1, 1).loss, std::log(2.0f));
}

// ---------------------------------------------------------------------------------------------
// A linear layer (3 -> 2, bias) by hand, B = 2, loss_scale 3, every FP16 rounding point visible.
//
// Inputs: mean = [0, 0.75, 0], std = [1, 0.5, 3]. Sample A p = [255, 0, 255]:
//   x = [1, (0 - 0.75) / 0.5 = -1.5, h(1 / 3) = 0.333251953125]; sample B p = [0, 255, 0]:
//   x = [0, (1 - 0.75) / 0.5 = 0.5, 0].
// Weights (FP32 master) and their FP16 operands h(W):
//   W00 = 1 + 2^-13           -> 1 (below half a step, 2^-11)
//   W01 = 0.25 + 2^-12        -> exact (step 2^-12 in [0.25, 0.5))
//   W10 = 1.5 - 2^-10 + 2^-13 -> 1.5 - 2^-10
//   W11 = 0.5 - 2^-14         -> 0.5
//   W02 = W12 = 0
// Bias b0 = 0.625 + 15 * 2^-14, b1 = 0.5 + 2^-10.
// Sample A, row 0: S = 1 - 1.5 * (0.25 + 2^-12) = 0.625 - 3 * 2^-13; FP16 step in [0.5, 1) is
//   4 * 2^-13, so h(S) = 0.625 - 2^-11. h(S) + b0 = 1.25 + 2^-11 - 2^-14: below the tie
//   (1.25 + 2^-11) -> z = 1.25. (Without the rounding of S: S + b0 = 1.25 + 2^-11 + 2^-14 ->
//   1.25 + 2^-10: the double rounding is visible.)
// Sample A, row 1: S = 1.5 - 2^-10 - 0.75 = 0.75 - 2^-10, + b1 = 1.25 -> z = 1.25.
// Sample B, row 0: S = 0.5 * (0.25 + 2^-12) = 0.125 + 2^-13 (exact), + b0 = 0.75 + 2^-10 + 2^-14
//   -> 0.75 + 2^-10 (step 2^-11). Row 1: S = 0.25, + b1 = 0.75 + 2^-10.
// So both samples have equal logits: p = [0.5, 0.5], loss = log 2 each, mean log 2; with labels
// [0, 0] the first maximum (class 0) is right for both: accuracy 1. Any wrong rounding point
// makes the two logits of a sample differ by 2^-10 and the loss differ from log 2.
// dz = h((0.5 - [j == 0]) * 3 / 2) = [-0.75, 0.75] for both samples.
// dW[o][i] = h(dz_A[o] x_A[i] + dz_B[o] x_B[i]):
//   dW00 = -0.75, dW01 = h(1.125 - 0.375) = 0.75, dW02 = h(-0.75 * 0.333251953125) =
//   h(-0.24993896484375): that is 2047.5 steps of 2^-13, a tie -> even (2048) = -0.25;
//   row 1 the negatives: 0.75, -0.75, 0.25. db = [-1.5, 1.5].
TEST(RefTrainerLinear, HandComputedForwardBackwardUpdate) {
  RefConfig c;
  c.in_c = 3;
  c.classes = 2;
  c.layers = {linear(2, true), layer(RefKind::softmax_ce)};
  c.mean[1] = 0.75f;
  c.stdev[1] = 0.5f;
  c.stdev[2] = 3.0f;
  c.loss_scale = 3.0f;
  c.lr = 0.5f;
  c.momentum = 0.9f;
  c.weight_decay = 0.01f;
  const std::vector<float> w{1.0f + 0x1p-13f, 0.25f + 0x1p-12f, 0.0f, 1.5f - 0x1p-10f + 0x1p-13f, 0.5f - 0x1p-14f, 0.0f};
  const std::vector<float> b{0.625f + 15 * 0x1p-14f, 0.5f + 0x1p-10f};
  RefTrainer t(c, {w}, {b});
  const std::uint8_t images[] = {255, 0, 255, 0, 255, 0};
  const std::uint8_t labels[] = {0, 0};
  const RefStep r = t.step(images, labels, 2);
  EXPECT_EQ(r.loss, std::log(2.0f));
  EXPECT_EQ(r.accuracy, 1.0f);
  const std::vector<float> dw{-0.75f, 0.75f, -0.25f, 0.75f, -0.75f, 0.25f};
  const std::vector<float> db{-1.5f, 1.5f};
  EXPECT_EQ(t.weight_grad(0), dw);
  EXPECT_EQ(t.bias_grad(0), db);
  // WUVE, one rounding per operation: g = dW * float(1/3); g += 0.01 * W; v = 0.9 * 0 + g;
  // W -= 0.5 * v. (Biases: no weight decay.)
  const float inv = 1.0f / 3.0f;
  for (std::size_t e = 0; e < w.size(); ++e) {
    float g = dw[e] * inv;
    const float decay = 0.01f * w[e];
    g = g + decay;
    const float delta = 0.5f * g;
    EXPECT_EQ(t.momentum(0)[e], g) << e;
    EXPECT_EQ(t.weight(0)[e], w[e] - delta) << e;
  }
  for (std::size_t e = 0; e < b.size(); ++e) {
    const float g = db[e] * inv;
    const float delta = 0.5f * g;
    EXPECT_EQ(t.bias(0)[e], b[e] - delta) << e;
  }
}

// ---------------------------------------------------------------------------------------------
// The uMAC order: the sum starts at 0 and adds the products in increasing K (cin) order, one
// FP32 rounding each. A 1x1 conv on x = [2^-12, 2^-12, 1.5] (pixels 0, 0, 255; mean -2^-12,
// -2^-12, -0.5):
//   row 0, w = [2^-12, 2^-12, 683/1024]: 2^-24 + 2^-24 = 2^-23, + 1.5 * 683/1024 = 1 + 2^-11
//     gives 1 + 2^-11 + 2^-23 (exact in FP32), just above the FP16 tie -> h = 1 + 2^-10.
//     (In decreasing order, 1 + 2^-11 + 2^-24 rounds back to 1 + 2^-11 twice, and h gives 1.)
//   row 1, w = [0, 0, 171/256]: 1.5 * 171/256 = 1 + 2^-9, bias -2^-10 -> 1 + 2^-10.
// Equal logits: loss log 2 exactly.
TEST(RefTrainerConv, ProductsAddedInIncreasingKOrder) {
  RefConfig c;
  c.in_c = 3;
  c.classes = 2;
  c.layers = {conv(2, 1, 1, 0, true), layer(RefKind::flatten), layer(RefKind::softmax_ce)};
  c.mean[0] = c.mean[1] = -0x1p-12f;
  c.mean[2] = -0.5f;
  RefTrainer t(c, {{0x1p-12f, 0x1p-12f, 683.0f / 1024, 0, 0, 171.0f / 256}}, {{0, -0x1p-10f}});
  const std::uint8_t image[] = {0, 0, 255}, label = 1;
  EXPECT_EQ(t.evaluate(image, &label, 1, 1).loss, std::log(2.0f));
}

// ---------------------------------------------------------------------------------------------
// Maxpool: the argmax is the first maximum in window order (kh, then kw). A 1x1 conv [1, 1] on a
// 2x2x2 image makes Y = x0 + x1 per position; the window's gradient goes to one position, whose
// X decides which weight gets it: dW = [dY x0, dY x1] there.
// Then maxpool 2 -> linear [[1], [-1]] -> logits [1, -1], label 0: p0 = 1 / (1 + e^-2) =
// 0.8807971, dz = [h(-0.1192029), h(0.1192029)] = [-0.11920166, 0.11920166] (step 2^-16 in
// [2^-4, 2^-3)), dY(pool) = h(-0.11920166 - 0.11920166) = -0.23840332.
TEST(RefTrainerMaxpool, FirstMaximumInWindowOrderGetsTheGradient) {
  RefConfig c;
  c.in_h = c.in_w = 2;
  c.in_c = 2;
  c.classes = 2;
  c.layers = {conv(1, 1, 1, 0), pool(RefKind::maxpool, 2, 2), layer(RefKind::flatten), linear(2),
              layer(RefKind::softmax_ce)};
  c.lr = 0;
  const std::uint8_t label = 0;
  {  // positions (0,0) = (1, 0) and (0,1) = (0, 1) tie at Y = 1: (0,0) wins, dW = [dY, 0]
    RefTrainer t(c, {{1, 1}, {1, -1}}, {{}, {}});
    const std::uint8_t image[] = {255, 0, 0, 255, 0, 0, 0, 0};
    t.step(image, &label, 1);
    EXPECT_NEAR(t.weight_grad(0)[0], -0.23840332f, 1e-7f);
    EXPECT_EQ(t.weight_grad(0)[1], 0.0f);
  }
  {  // (0,1) = (0, 1) and (1,0) = (1, 0) tie: (0,1) comes first in (kh, kw) order, dW = [0, dY]
    RefTrainer t(c, {{1, 1}, {1, -1}}, {{}, {}});
    const std::uint8_t image[] = {0, 0, 0, 255, 255, 0, 0, 0};
    t.step(image, &label, 1);
    EXPECT_EQ(t.weight_grad(0)[0], 0.0f);
    EXPECT_NEAR(t.weight_grad(0)[1], -0.23840332f, 1e-7f);
  }
}

// ---------------------------------------------------------------------------------------------
// SDGP's dY pruning and rescale by hand: 1:2 along C = 4, one sample, 1x2 positions.
//   pos 0: [2^-6, -2, 0.5, 0.25] -> groups {2^-6, -2} keep -2, {0.5, 0.25} keep 0.5
//   pos 1: [2^-5, -2^-5, -1, 1]  -> ties: the lowest index, 2^-5 and -1
//   dY' = [0, -2, 0.5, 0], [2^-5, 0, -1, 0]
// Rescale r = sum|dY| / (sum|dY'| + 1e-4) per channel (FP32):
//   c0: 0.046875 / 0.03135 = 1.4952152; kept 2^-5 * r = 0.0467255 -> h: step 2^-15 in
//       [2^-5, 2^-4), 1531.1 steps -> 0.046722412109375 (exact r = 1.5 would give 0.046875)
//   c1: 2.03125 / 2.0001 = 1.0155742; -2 * r = -2.0311484 -> h (step 2^-9) = -2.03125
//   c2: 1.5 / 1.5001 = 0.9999333; 0.5 r -> 0.5, -1 * r -> -1 (within half a step)
//   c3: nothing kept.
TEST(RefSdgp, PruneAndRescaleHandExample) {
  const std::vector<float> dy{0x1p-6f, -2, 0.5f, 0.25f, 0x1p-5f, -0x1p-5f, -1, 1};
  std::vector<float> plain = dy;
  ref_sdgp_prune(plain, 1, 1, 2, 4, 1, 2, false);
  EXPECT_EQ(plain, (std::vector<float>{0, -2, 0.5f, 0, 0x1p-5f, 0, -1, 0}));
  std::vector<float> rescaled = dy;
  ref_sdgp_prune(rescaled, 1, 1, 2, 4, 1, 2, true);
  EXPECT_EQ(rescaled, (std::vector<float>{0, -2.03125f, 0.5f, 0, 0.046722412109375f, 0, -1, 0}));
}

// ---------------------------------------------------------------------------------------------
// BDWP masks by hand: a linear layer W[4 out][2 in], 1:2.
//   W = [[3, 1], [2, 4], [6, 5], [0.5, 0.25]]
//   Mf (per row, groups along in): [[1,0], [0,1], [1,0], [1,0]]
//   Mb independent (per column, groups of 2 along out): column 0 [3, 2 | 6, 0.5] -> rows 0, 2;
//     column 1 [1, 4 | 5, 0.25] -> rows 1, 2: [[1,0], [0,1], [1,1], [0,0]]
//   Mb nested = nm_mask_cols(W (.) Mf) (.) Mf: column 0 [3, 0 | 6, 0.5] -> rows 0, 2; column 1
//     [0, 4 | 0, 0] -> rows 1 and (tie) 2, and (2, 1) is pruned by Mf: [[1,0], [0,1], [1,0], [0,0]]
TEST(RefTrainerMasks, BdwpIndependentAndNestedByHand) {
  RefConfig c;
  c.in_c = 2;
  c.classes = 4;
  c.layers = {linear(4, false, true), layer(RefKind::softmax_ce)};
  c.scheme = RefScheme::bdwp;
  c.n = 1;
  c.m = 2;
  const std::vector<float> w{3, 1, 2, 4, 6, 5, 0.5f, 0.25f};
  RefTrainer independent(c, {w}, {{}});
  EXPECT_EQ(independent.forward_mask(0), (Mask{1, 0, 0, 1, 1, 0, 1, 0}));
  EXPECT_EQ(independent.backward_mask(0), (Mask{1, 0, 0, 1, 1, 1, 0, 0}));
  c.bwd_nested = true;
  RefTrainer nested(c, {w}, {{}});
  EXPECT_EQ(nested.backward_mask(0), (Mask{1, 0, 0, 1, 1, 0, 0, 0}));
  // Other schemes: SR-STE has only Mf; SDGP and dense have no weight masks.
  c.scheme = RefScheme::srste;
  RefTrainer srste(c, {w}, {{}});
  EXPECT_EQ(srste.forward_mask(0), (Mask{1, 0, 0, 1, 1, 0, 1, 0}));
  EXPECT_EQ(srste.backward_mask(0), Mask(8, 1));
  c.scheme = RefScheme::sdgp;
  RefTrainer sdgp(c, {w}, {{}});
  EXPECT_EQ(sdgp.forward_mask(0), Mask(8, 1));
}

// ---------------------------------------------------------------------------------------------
// Which weight operand the data gradient uses, by hand: x = 1 -> linear 1 -> 4 (W0 = ones, dense)
// -> linear 4 -> 2 (sparse, 1:2) -> softmax, label 0, loss_scale 2, B = 1.
//   W1 = [[4, 1, 2, 3], [1, 2, 5, 3.5]]
//   Mf (groups along in: {0,1}, {2,3}): [[1,0,0,1], [0,1,1,0]] -> z = [4 + 3, 2 + 5] = [7, 7]
//   (dense: [10, 11.5]; SDGP uses the dense W1 forward)
//   Mb (one group of 2 along out per column): [[1,0,0,0], [0,1,1,1]]
// With equal logits dz = h((0.5 - [j == 0]) * 2) = [-1, 1]; dX = h(dz . W1b column) and
// dW0 = h(dX * 1):
//   BDWP (W1 (.) Mb):   [-4, 2, 5, 3.5]
//   SR-STE (W1 (.) Mf): [-4, 2, 5, -3]
// SDGP keeps linear layers dense: z = [10, 11.5], p1 = 1 / (1 + e^-1.5) = 0.8175745, so
// dz = [h((p0 - 1) * 2), h(p1 * 2)] = [-h(1.635149), h(1.635149)] = [-1.634765625, 1.634765625]
// (step 2^-10), dW0 = h(dz0 W1[0][i] + dz1 W1[1][i]) with the dense W1 = 1.634765625 * [-3, 1, 3, 0.5]
// -> h: [-4.904296875 -> -4.90625 (step 2^-8), 1.634765625, 4.90625, 0.8173828125].
TEST(RefTrainerOperands, DataGradientUsesTheSchemesWeightOperand) {
  RefConfig c;
  c.classes = 2;
  c.layers = {linear(4), linear(2, false, true), layer(RefKind::softmax_ce)};
  c.n = 1;
  c.m = 2;
  c.loss_scale = 2.0f;
  const std::vector<std::vector<float>> w{{1, 1, 1, 1}, {4, 1, 2, 3, 1, 2, 5, 3.5f}};
  const std::uint8_t image = 255, label = 0;
  c.scheme = RefScheme::bdwp;
  RefTrainer bdwp(c, w, {{}, {}});
  EXPECT_EQ(bdwp.step(&image, &label, 1).loss, std::log(2.0f));
  EXPECT_EQ(bdwp.weight_grad(0), (std::vector<float>{-4, 2, 5, 3.5f}));
  c.scheme = RefScheme::srste;
  RefTrainer srste(c, w, {{}, {}});
  EXPECT_EQ(srste.step(&image, &label, 1).loss, std::log(2.0f));
  EXPECT_EQ(srste.weight_grad(0), (std::vector<float>{-4, 2, 5, -3}));
  c.scheme = RefScheme::sdgp;
  RefTrainer sdgp(c, w, {{}, {}});
  sdgp.step(&image, &label, 1);
  EXPECT_EQ(sdgp.weight_grad(0), (std::vector<float>{-4.90625f, 1.634765625f, 4.90625f, 0.8173828125f}));
}

// ---------------------------------------------------------------------------------------------
// SR-STE: forward and data gradient use h(W) (.) Mf, so up to the decay fold a step equals a
// dense step on the pre-masked weights; the fold changes only the pruned weights' gradient:
// dW = h(float(dW) + (loss_scale * sparse_decay) * W).

TEST(RefTrainerSrste, MaskedOperandsAndDecayFold) {
  Rng rng{7};
  RefConfig c;
  c.in_h = c.in_w = 2;
  c.in_c = 4;
  c.classes = 3;
  c.layers = {conv(8, 1, 1, 0), layer(RefKind::relu), conv(8, 1, 1, 0, false, true), layer(RefKind::flatten),
              linear(3, true), layer(RefKind::softmax_ce)};
  c.n = 2;
  c.m = 4;
  c.loss_scale = 4.0f;
  const std::vector<std::vector<float>> w{he_normal(rng, 32, 4), he_normal(rng, 64, 8), he_normal(rng, 96, 32)};
  const std::vector<std::vector<float>> b{{}, {}, {0.1f, -0.2f, 0.05f}};
  std::vector<std::uint8_t> images(4 * 16), labels{0, 1, 2, 1};
  for (auto& p : images) p = static_cast<std::uint8_t>(rng.next() & 0xFF);

  c.scheme = RefScheme::srste;
  RefTrainer srste(c, w, b);
  const Mask mf = srste.forward_mask(1);
  ASSERT_EQ(std::count(mf.begin(), mf.end(), 0), 32);
  c.sparse_decay = 0.5f;
  RefTrainer decayed(c, w, b);
  c.scheme = RefScheme::dense;
  c.sparse_decay = 0;
  std::vector<std::vector<float>> masked = w;
  for (std::size_t e = 0; e < mf.size(); ++e)
    if (!mf[e]) masked[1][e] = 0.0f;
  RefTrainer dense(c, masked, b);

  const RefStep rs = srste.step(images.data(), labels.data(), 4);
  decayed.step(images.data(), labels.data(), 4);
  const RefStep rd = dense.step(images.data(), labels.data(), 4);
  EXPECT_EQ(rs.loss, rd.loss);
  EXPECT_EQ(srste.weight_grad(0), dense.weight_grad(0));  // dX through h(W) (.) Mf
  EXPECT_EQ(srste.weight_grad(1), dense.weight_grad(1));  // dense dW: the pruned ones too
  EXPECT_EQ(srste.weight_grad(2), dense.weight_grad(2));
  int changed = 0;
  for (std::size_t e = 0; e < mf.size(); ++e) {
    if (mf[e]) {
      EXPECT_EQ(decayed.weight_grad(1)[e], srste.weight_grad(1)[e]) << e;
      continue;
    }
    const float term = 2.0f * w[1][e];  // loss_scale * sparse_decay = 4 * 0.5
    const float sum = srste.weight_grad(1)[e] + term;
    const float expected = static_cast<float>(Imath::half(sum));
    EXPECT_EQ(decayed.weight_grad(1)[e], expected) << e;
    changed += decayed.weight_grad(1)[e] != srste.weight_grad(1)[e];
  }
  EXPECT_GT(changed, 16);
  EXPECT_EQ(decayed.weight_grad(0), srste.weight_grad(0));  // dense layers: no fold
}

// ---------------------------------------------------------------------------------------------
// lr_t in double, narrowed to float: cosine lr * 0.5 * (1 + cos(pi t / T)); step lr * g^floor(t / s).

TEST(RefTrainerSchedule, CosineAndStepByHand) {
  RefConfig c;
  c.classes = 1;
  c.layers = {layer(RefKind::softmax_ce)};
  c.lr = 0.1f;
  c.schedule = RefConfig::Schedule::cosine;
  c.total_iterations = 4;
  RefTrainer cosine(c, {}, {});
  EXPECT_EQ(cosine.learning_rate(0), 0.1f);
  EXPECT_EQ(cosine.learning_rate(1), static_cast<float>(0.0853553390593273762));  // 0.05 (1 + sqrt(1/2))
  EXPECT_EQ(cosine.learning_rate(2), 0.05f);
  EXPECT_EQ(cosine.learning_rate(4), 0.0f);
  c.schedule = RefConfig::Schedule::step;
  c.lr_step = 2;
  c.lr_gamma = 0.5f;
  RefTrainer step(c, {}, {});
  EXPECT_EQ(step.learning_rate(1), 0.1f);
  EXPECT_EQ(step.learning_rate(2), 0.05f);
  EXPECT_EQ(step.learning_rate(5), 0.025f);
}

// ---------------------------------------------------------------------------------------------
// Finite differences: with exact_fp32 (no FP16 rounding) the backward pass must be the gradient
// of the mean loss. The network covers conv with stride 2 and padding, overlapping maxpool,
// avgpool, relu, flatten, linear and biases; every path reaches the first conv's dW.

TEST(RefTrainerGradient, MatchesFiniteDifferences) {
  RefConfig c;
  c.in_h = c.in_w = 6;
  c.in_c = 2;
  c.classes = 3;
  c.layers = {conv(3, 3, 1, 1, true),       layer(RefKind::relu),   pool(RefKind::maxpool, 2, 1),
              conv(4, 3, 2, 1),             layer(RefKind::relu),   pool(RefKind::avgpool, 2, 1),
              layer(RefKind::flatten),      linear(3, true),        layer(RefKind::softmax_ce)};
  c.exact_fp32 = true;
  c.lr = 0;
  c.momentum = 0;
  c.mean[0] = c.mean[1] = 0.5f;
  c.stdev[0] = c.stdev[1] = 0.5f;
  Rng rng{42};
  std::vector<std::vector<float>> w{he_normal(rng, 3 * 9 * 2, 18), he_normal(rng, 4 * 9 * 3, 27),
                                    he_normal(rng, 3 * 16, 16)};
  std::vector<std::vector<float>> b{{0.05f, -0.1f, 0.02f}, {}, {0.1f, 0.0f, -0.1f}};
  const std::uint32_t batch = 3;
  std::vector<std::uint8_t> images(batch * 36 * 2), labels{0, 2, 1};
  for (auto& p : images) p = static_cast<std::uint8_t>(rng.next() & 0xFF);

  RefTrainer at(c, w, b);
  at.step(images.data(), labels.data(), batch);
  auto loss = [&](const std::vector<std::vector<float>>& wv, const std::vector<std::vector<float>>& bv) {
    RefTrainer t(c, wv, bv);
    return static_cast<double>(t.evaluate(images.data(), labels.data(), batch, batch).loss);
  };
  const double eps = 1e-3;
  for (std::size_t tensor = 0; tensor < 5; ++tensor) {  // 3 weights, then the 2 biases
    const bool is_bias = tensor >= 3;
    const std::size_t i = is_bias ? (tensor == 3 ? 0 : 2) : tensor;
    const std::vector<float>& grad = is_bias ? at.bias_grad(i) : at.weight_grad(i);
    for (int trial = 0; trial < 3; ++trial) {
      const auto [numeric, analytic] = directional_derivative(w, b, is_bias, i, grad, eps, rng, loss);
      EXPECT_NEAR(numeric, analytic, 0.01 * std::fabs(analytic) + 1e-4)
          << "tensor " << tensor << " trial " << trial;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny CNN on a separable synthetic set: class k brightens quadrant k of an 8x8x4 image.
// conv 3x3 (dense, first) -> relu -> conv 3x3 (sparse: BDWP/SR-STE masks, SDGP prunes its dY
// since Cin = 8 > 3) -> relu -> maxpool 2 -> flatten -> linear (sparse) -> softmax_ce.

struct Data {
  std::vector<std::uint8_t> images, labels;
};

Data quadrants(std::uint32_t count, std::uint64_t seed) {
  Rng rng{seed};
  Data d;
  d.images.resize(std::size_t{count} * 8 * 8 * 4);
  d.labels.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t k = static_cast<std::uint32_t>(rng.next() % 4);
    d.labels[i] = static_cast<std::uint8_t>(k);
    for (std::uint32_t y = 0; y < 8; ++y)
      for (std::uint32_t x = 0; x < 8; ++x)
        for (std::uint32_t ch = 0; ch < 4; ++ch) {
          const bool bright = (y / 4) * 2 + x / 4 == k;
          const std::uint32_t p = static_cast<std::uint32_t>(rng.next() % 128) + (bright ? 48 : 0);
          d.images[((std::size_t{i} * 8 + y) * 8 + x) * 4 + ch] = static_cast<std::uint8_t>(p);
        }
  }
  return d;
}

RefConfig tiny_cnn(RefScheme scheme) {
  RefConfig c;
  c.in_h = c.in_w = 8;
  c.in_c = 4;
  c.classes = 4;
  c.layers = {conv(8, 3, 1, 1, true),        layer(RefKind::relu),    conv(16, 3, 1, 1, true, true),
              layer(RefKind::relu),          pool(RefKind::maxpool, 2, 2), layer(RefKind::flatten),
              linear(4, true, true),         layer(RefKind::softmax_ce)};
  c.scheme = scheme;
  c.n = 2;
  c.m = 8;
  c.lr = 0.005f;
  c.momentum = 0.9f;
  c.weight_decay = 1e-4f;
  c.loss_scale = 64.0f;
  for (int ch = 0; ch < 4; ++ch) {
    c.mean[ch] = 0.3f;
    c.stdev[ch] = 0.3f;
  }
  return c;
}

RefTrainer tiny_cnn_trainer(RefScheme scheme) {
  Rng rng{2024};
  std::vector<std::vector<float>> w{he_normal(rng, 8 * 9 * 4, 36), he_normal(rng, 16 * 9 * 8, 72),
                                    he_normal(rng, 4 * 256, 256)};
  return RefTrainer(tiny_cnn(scheme), w,
                    {std::vector<float>(8, 0.0f), std::vector<float>(16, 0.0f), std::vector<float>(4, 0.0f)});
}

class RefTrainerTinyCnn : public ::testing::TestWithParam<RefScheme> {};

TEST_P(RefTrainerTinyCnn, LossDecreases) {
  const Data train = quadrants(64, 1), test = quadrants(32, 2);
  RefTrainer t = tiny_cnn_trainer(GetParam());
  const RefStep before = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  std::vector<float> losses;
  for (std::uint32_t it = 0; it < 48; ++it) {
    const std::uint32_t first = (it % 4) * 16;
    losses.push_back(t.step(train.images.data() + first * 256, train.labels.data() + first, 16).loss);
  }
  const RefStep after = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  float early = 0, late = 0;
  for (int k = 0; k < 4; ++k) {
    early += losses[k];
    late += losses[losses.size() - 1 - k];
  }
  EXPECT_LT(late, 0.3f * early);
  EXPECT_LT(after.loss, 0.3f * before.loss);
  EXPECT_GE(after.accuracy, 0.9f);
  EXPECT_EQ(t.iterations_done(), 48u);
}

std::string scheme_name(const ::testing::TestParamInfo<RefScheme>& param) {
  switch (param.param) {
    case RefScheme::dense: return "dense";
    case RefScheme::srste: return "srste";
    case RefScheme::sdgp: return "sdgp";
    case RefScheme::bdwp: return "bdwp";
  }
  return "unknown";
}

INSTANTIATE_TEST_SUITE_P(Schemes, RefTrainerTinyCnn,
                         ::testing::Values(RefScheme::dense, RefScheme::bdwp, RefScheme::srste, RefScheme::sdgp),
                         scheme_name);

// After a BDWP step the masks come from the updated master: Mf keeps min(N, len) per group along
// Cin of every (cout, kh, kw), Mb per group along Cout of every (kh, kw, cin), and in every group
// no pruned magnitude exceeds a kept one.
TEST(RefTrainerTinyCnnMasks, BdwpMasksAfterAStep) {
  const Data train = quadrants(16, 1);
  RefTrainer t = tiny_cnn_trainer(RefScheme::bdwp);
  const std::vector<float> initial = t.weight(1);
  t.step(train.images.data(), train.labels.data(), 16);
  ASSERT_NE(t.weight(1), initial);
  struct Shape {
    std::size_t cout, taps, cin;  // taps = K * K
  };
  EXPECT_EQ(t.forward_mask(0), Mask(t.weight(0).size(), 1));  // the dense first layer
  EXPECT_EQ(t.backward_mask(0), Mask(t.weight(0).size(), 1));
  const Shape shapes[] = {{0, 0, 0}, {16, 9, 8}, {4, 1, 256}};
  for (std::size_t i = 1; i < 3; ++i) {
    const Shape s = shapes[i];
    const std::vector<float>& w = t.weight(i);
    const Mask mf = t.forward_mask(i), mb = t.backward_mask(i);
    ASSERT_EQ(mf.size(), w.size());
    ASSERT_EQ(mb.size(), w.size());
    // check one group: elements at[0..len) of mask
    auto check = [&](const Mask& mask, const std::vector<std::size_t>& at) {
      std::size_t kept = 0;
      float min_kept = INFINITY, max_pruned = 0;
      for (std::size_t e : at) {
        if (mask[e]) {
          ++kept;
          min_kept = std::min(min_kept, std::fabs(w[e]));
        } else {
          max_pruned = std::max(max_pruned, std::fabs(w[e]));
        }
      }
      EXPECT_EQ(kept, std::min<std::size_t>(2, at.size()));
      EXPECT_GE(min_kept, max_pruned);
    };
    for (std::size_t row = 0; row < s.cout * s.taps; ++row)
      for (std::size_t lo = 0; lo < s.cin; lo += 8) {
        std::vector<std::size_t> at;
        for (std::size_t ci = lo; ci < std::min(lo + 8, s.cin); ++ci) at.push_back(row * s.cin + ci);
        check(mf, at);
      }
    for (std::size_t col = 0; col < s.taps * s.cin; ++col)
      for (std::size_t lo = 0; lo < s.cout; lo += 8) {
        std::vector<std::size_t> at;
        for (std::size_t co = lo; co < std::min(lo + 8, s.cout); ++co) at.push_back(co * s.taps * s.cin + col);
        check(mb, at);
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Residual networks (docs/training.md "Residual networks"): named inputs, add, batchnorm, and
// the gradient sum of a tensor read by several layers.

// Batchnorm forward by hand: 2 samples of 1x1x2, BN reads the batch (M = 2 per channel).
//   channel 0: mean -0.5, std 0.5: p = 255 -> 3, p = 0 -> 1. mean = 2, d = +-1, var = 1 (biased).
//     t = 1 + 1e-5f = 1.0000100136, r = sqrt(t) = 1.0000050068, inv = 1 / r = 0x1.ffff58p-1
//     (0.99999499), xhat = +-inv. gamma 1.5, beta 0.25: 1.5 xhat + 0.25 = 1.7499925, -1.2499925
//     -> y = h = [1.75, -1.25] (step 2^-10 in [1, 2)).
//   channel 1: mean 0.5, std 128: p = 255 -> 2^-8, p = 0 -> -2^-8. mean = 0, var = 2^-16.
//     xhat = 2^-8 / sqrt(2^-16 + 1e-5) = 1 / sqrt(1.65536) = 0.77723753 (FP32: 0x1.8df214p-1;
//     without eps it would be 1). gamma 1, beta 0: y = h(0.77723753) = 1592 * 2^-11 = 0.77734375
//     (1591.78 steps).
//   Logits: sample A [1.75, 0.77734375], sample B [-1.25, -0.77734375].
// Running statistics after the step (the unbiased variance u = var * M / (M - 1)):
//   running_mean = 0.9 * 0 + 0.1 * mean = [0.1f * 2 = 0.2f, 0]
//   running_var ch 0: u = 2, 0.9f + 0.1f * 2 = 0.89999998 + 0.2 = 1.09999998 -> 1.1f (biased: 1.0)
//   running_var ch 1: u = 2^-15, 0.9f = 0x1.cccccc p-1, + 0.1f * 2^-15 = 51.2 ulps (2^-24)
//     -> 0x1.cccd32p-1 (biased, 25.6 ulps: 0x1.cccd00p-1)
// The backward pass: dbeta = h(dy_A + dy_B), dgamma = h(dy_A xhat_A + dy_B xhat_B) (FP32 sums in
// position order), dy the logits' gradient; BN reads the batch, so it computes no dx.
// Evaluation with the running statistics (lr = 0: gamma, beta unchanged):
//   ch 0: inv = 1 / sqrt(1.1 + 1e-5) = 0.95345831; A: (3 - 0.2) inv = 2.6696832, * 1.5 + 0.25 =
//         4.2545247 -> h (step 2^-8) = 1089 * 2^-8 = 4.25390625; B: 0.8 inv = 0.76276666,
//         1.3941500 -> h (step 2^-10, 1427.6) = 1.39453125
//   ch 1: inv = 1 / sqrt(0.9000030 + 1e-5) = 1.0540849; A: 2^-8 inv = 0.0041175191 -> h (step
//         2^-18, 1079.38) = 1079 * 2^-18 = 0.004116058349609375; B: the negative.
TEST(RefTrainerBatchnorm, ForwardRunningStatsAndParameterGradientsByHand) {
  RefConfig c;
  c.in_c = 2;
  c.classes = 2;
  c.layers = {batchnorm(), layer(RefKind::softmax_ce)};
  c.mean[0] = -0.5f;
  c.stdev[0] = 0.5f;
  c.mean[1] = 0.5f;
  c.stdev[1] = 128.0f;
  c.loss_scale = 4.0f;
  c.lr = 0;
  const std::vector<float> gamma{1.5f, 1.0f}, beta{0.25f, 0.0f};
  RefTrainer t(c, {gamma}, {beta});
  EXPECT_EQ(t.running_mean(0), (std::vector<float>{0, 0}));
  EXPECT_EQ(t.running_var(0), (std::vector<float>{1, 1}));
  const std::uint8_t images[] = {255, 255, 0, 0};
  const std::uint8_t labels[] = {1, 0};
  const std::vector<float> logits{1.75f, 0.77734375f, -1.25f, -0.77734375f};
  std::vector<float> dz;
  const RefStep expected = ref_softmax_ce(logits, labels, 2, 2, 4.0f, &dz);
  const RefStep r = t.step(images, labels, 2);
  EXPECT_EQ(r.loss, expected.loss);
  EXPECT_EQ(r.accuracy, 0.0f);  // A: 1.75 > 0.777 (label 1); B: -0.777 > -1.25 (label 0)
  EXPECT_EQ(t.running_mean(0), (std::vector<float>{0.2f, 0.0f}));
  EXPECT_EQ(t.running_var(0), (std::vector<float>{1.1f, 0x1.cccd32p-1f}));
  const float xhat[2] = {0x1.ffff58p-1f, 0x1.8df214p-1f};  // sample A; sample B: the negatives
  std::vector<float> dgamma(2), dbeta(2);
  for (int ch = 0; ch < 2; ++ch) {
    const float a = dz[ch] * xhat[ch], b = dz[2 + ch] * -xhat[ch];
    const float sum_dyx = a + b, sum_dy = dz[ch] + dz[2 + ch];
    dgamma[ch] = static_cast<float>(Imath::half(sum_dyx));
    dbeta[ch] = static_cast<float>(Imath::half(sum_dy));
  }
  EXPECT_EQ(t.weight_grad(0), dgamma);
  EXPECT_EQ(t.bias_grad(0), dbeta);
  EXPECT_NE(dgamma[1], static_cast<float>(Imath::half(dz[1] - dz[3])));  // xhat != +-1 is visible
  EXPECT_EQ(t.weight(0), gamma);  // lr = 0
  const std::vector<float> eval_logits{4.25390625f, 0.004116058349609375f, 1.39453125f, -0.004116058349609375f};
  EXPECT_EQ(t.evaluate(images, labels, 2, 2).loss, ref_softmax_ce(eval_logits, labels, 2, 2, 1.0f, nullptr).loss);

  // gamma and beta: WUVE without weight decay, g = dgamma * (1 / 4), W -= 0.5 g.
  c.lr = 0.5f;
  c.weight_decay = 0.1f;
  RefTrainer u(c, {gamma}, {beta});
  u.step(images, labels, 2);
  for (int ch = 0; ch < 2; ++ch) {
    const float g = dgamma[ch] * 0.25f, gb = dbeta[ch] * 0.25f;
    const float dg = 0.5f * g, db = 0.5f * gb;
    EXPECT_EQ(u.weight(0)[ch], gamma[ch] - dg) << ch;
    EXPECT_EQ(u.bias(0)[ch], beta[ch] - db) << ch;
  }
}

// A tensor read by several layers sums their gradients in reverse layer order: the first
// contribution as it is, each later one g = h(float(g) + float(c)). x = 1 (1x1x1, B = 1):
//   L0 linear 1 -> 2 "a", W0 = [[1], [1]]: a = [1, 1]
//   L1 linear 2 -> 2 "b1" reads a, W1 = [[0.5, 0], [0.5 - 2^-11, 2^-11]]: y1 = [0.5, 0.5]
//   L2 linear 2 -> 2 reads a, W2 = W1: y2 = [0.5, 0.5]
//   L3 add(L2, with b1) = [1, 1];  L4 add(L3, with a) = [2, 2];  L5 softmax_ce, label 0
// Equal logits: loss log 2, dz = h((0.5 - [j == 0]) * 2 / 1) = [-1, 1].
// Backward, reverse layer order: L4 gives a its first contribution dz = [-1, 1] (as it is) and
// L3 dz; L3 passes dz to L2's output and to b1. L2: dX = h(W2^T dz) = [-2^-11, 2^-11] added to
// a: h(-1 - 2^-11) = -1, h(1 + 2^-11) = 1 (ties to even). L1 the same: a's gradient stays
// [-1, 1], and dW0 = h(g * x) = [-1, 1]. (Contributions in the other order, or summed in FP32
// before one rounding, give [-1 - 2^-10, 1 + 2^-10].) L0 reads the batch: no dX.
// dW1 = dW2 = h(dz x a) = [[-1, -1], [1, 1]].
TEST(RefTrainerResidual, GradientOfATensorReadSeveralTimesByHand) {
  RefConfig c;
  c.classes = 2;
  c.layers = {named(linear(2), "a"),          named(linear(2), "b1", "a"), named(linear(2), "", "a"),
              add("b1"),                      add("a"),                    layer(RefKind::softmax_ce)};
  c.loss_scale = 2.0f;
  c.lr = 0;
  const std::vector<float> w1{0.5f, 0, 0.5f - 0x1p-11f, 0x1p-11f};
  RefTrainer t(c, {{1, 1}, w1, w1}, {{}, {}, {}});
  const std::uint8_t image = 255, label = 0;
  EXPECT_EQ(t.step(&image, &label, 1).loss, std::log(2.0f));
  EXPECT_EQ(t.weight_grad(0), (std::vector<float>{-1, 1}));
  EXPECT_EQ(t.weight_grad(1), (std::vector<float>{-1, -1, 1, 1}));
  EXPECT_EQ(t.weight_grad(2), (std::vector<float>{-1, -1, 1, 1}));
  EXPECT_TRUE(t.running_mean(0).empty());
  EXPECT_TRUE(t.running_var(1).empty());

  // Without the add reading a (L4 adds b1 again: logits [1.5, 1.5], still equal), b1 is read
  // twice: L4's dz first, then L3's: h(dz + dz) = [-2, 2]; L1's dX = h(W1^T [-2, 2]) =
  // [-2^-10, 2^-10]. a gets L2's [-2^-11, 2^-11] first, then L1's: h(-2^-11 - 2^-10) =
  // -3 * 2^-11 (exact), so dW0 = [-3 * 2^-11, 3 * 2^-11]; dW1 = h([-2, 2] x a).
  c.layers[4] = add("b1");
  RefTrainer no_skip(c, {{1, 1}, w1, w1}, {{}, {}, {}});
  EXPECT_EQ(no_skip.step(&image, &label, 1).loss, std::log(2.0f));
  EXPECT_EQ(no_skip.weight_grad(0), (std::vector<float>{-3 * 0x1p-11f, 3 * 0x1p-11f}));
  EXPECT_EQ(no_skip.weight_grad(1), (std::vector<float>{-2, -2, 2, 2}));
  EXPECT_EQ(no_skip.weight_grad(2), (std::vector<float>{-1, -1, 1, 1}));
}

TEST(RefTrainerResidual, MalformedGraphsThrow) {
  auto make = [](std::vector<RefLayer> layers, std::vector<std::vector<float>> w, std::vector<std::vector<float>> b) {
    RefConfig c;
    c.in_c = 2;
    c.classes = 2;
    c.layers = std::move(layers);
    c.layers.push_back(layer(RefKind::softmax_ce));
    RefTrainer t(c, std::move(w), std::move(b));
  };
  const std::vector<float> w22{1, 0, 0, 1};
  EXPECT_NO_THROW(make({named(linear(2), "a"), linear(2), add("a")}, {w22, w22}, {{}, {}}));
  EXPECT_NO_THROW(make({linear(2), add("input")}, {w22}, {{}}));
  // add of [1][1][3] and [1][1][2]
  EXPECT_THROW(make({named(linear(3), "a"), linear(2), add("a")}, {{1, 0, 0, 1, 0, 0}, {1, 0, 0, 0, 1, 0}}, {{}, {}}),
               std::invalid_argument);
  EXPECT_THROW(make({linear(2), add("nowhere")}, {w22}, {{}}), std::invalid_argument);
  EXPECT_THROW(make({linear(2), layer(RefKind::add)}, {w22}, {{}}), std::invalid_argument);  // no `with`
  EXPECT_THROW(make({named(linear(2), "", "later"), named(linear(2), "later")}, {w22, w22}, {{}, {}}),
               std::invalid_argument);  // not an earlier layer
  EXPECT_THROW(make({named(linear(2), "a"), named(linear(2), "a")}, {w22, w22}, {{}, {}}), std::invalid_argument);
  EXPECT_THROW(make({named(linear(2), "input")}, {w22}, {{}}), std::invalid_argument);
  EXPECT_THROW(make({batchnorm()}, {{1, 1}}, {{}}), std::invalid_argument);         // beta never empty
  EXPECT_THROW(make({batchnorm()}, {{1, 1, 1}}, {{0, 0}}), std::invalid_argument);  // gamma [C]
  EXPECT_NO_THROW(make({batchnorm()}, {{1, 1}}, {{0, 0}}));
}

// Global average pooling (kernel = H = W = 3): one output per channel, h(sum / 9).
//   x = 3x3x1, eight pixels 255 (x = 1) and the centre 0; conv 1x1 1 -> 2, W = [1, 0.5]:
//   Y = [x, 0.5 x]; pool: [h(8 / 9), h(4 / 9)] = [1820 * 2^-11, 1820 * 2^-12] =
//   [0.888671875, 0.4443359375]. Backward: every position of channel c gets h(dz_c / 9) (one
//   window), dW[c] = h(sum over positions of h(dz_c / 9) * x) = h(8 h(dz_c / 9)).
TEST(RefTrainerAvgpool, GlobalAveragePoolingByHand) {
  RefConfig c;
  c.in_h = c.in_w = 3;
  c.classes = 2;
  c.layers = {conv(2, 1, 1, 0), pool(RefKind::avgpool, 3, 1), layer(RefKind::flatten), layer(RefKind::softmax_ce)};
  c.loss_scale = 8.0f;
  c.lr = 0;
  RefTrainer t(c, {{1, 0.5f}}, {{}});
  const std::uint8_t image[] = {255, 255, 255, 255, 0, 255, 255, 255, 255}, label = 1;
  std::vector<float> dz;
  const RefStep expected = ref_softmax_ce({0.888671875f, 0.4443359375f}, &label, 1, 2, 8.0f, &dz);
  EXPECT_EQ(t.evaluate(image, &label, 1, 1).loss, expected.loss);
  EXPECT_EQ(t.step(image, &label, 1).loss, expected.loss);
  for (int ch = 0; ch < 2; ++ch) {
    const float share = dz[ch] / 9.0f;
    const float dy = static_cast<float>(Imath::half(share));
    const float sum = 8.0f * dy;  // exact: eight equal FP16 terms
    EXPECT_EQ(t.weight_grad(0)[ch], static_cast<float>(Imath::half(sum))) << ch;
  }
}

// A plain chain is unchanged by the graph machinery: the tiny CNN with every layer named and
// reading its predecessor by name trains bit for bit like the unnamed one.
TEST(RefTrainerResidual, NamedChainEqualsUnnamedChain) {
  const Data train = quadrants(32, 1);
  RefTrainer plain = tiny_cnn_trainer(RefScheme::bdwp);
  RefConfig c = tiny_cnn(RefScheme::bdwp);
  for (std::size_t l = 0; l < c.layers.size(); ++l)
    c.layers[l] = named(c.layers[l], "l" + std::to_string(l), l == 0 ? "input" : "l" + std::to_string(l - 1));
  Rng rng{2024};
  RefTrainer graph(c, {he_normal(rng, 8 * 9 * 4, 36), he_normal(rng, 16 * 9 * 8, 72), he_normal(rng, 4 * 256, 256)},
                   {std::vector<float>(8, 0.0f), std::vector<float>(16, 0.0f), std::vector<float>(4, 0.0f)});
  for (std::uint32_t it = 0; it < 3; ++it) {
    const std::uint32_t first = (it % 2) * 16;
    const RefStep a = plain.step(train.images.data() + first * 256, train.labels.data() + first, 16);
    const RefStep b = graph.step(train.images.data() + first * 256, train.labels.data() + first, 16);
    EXPECT_EQ(a.loss, b.loss);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(plain.weight(i), graph.weight(i)) << i;
    EXPECT_EQ(plain.weight_grad(i), graph.weight_grad(i)) << i;
    EXPECT_EQ(plain.bias(i), graph.bias(i)) << i;
  }
}

// Finite differences through a residual block with batchnorm (exact_fp32, training-mode
// statistics: the loss is step()'s with lr = 0). x0 is read three times (a conv, an add, a 1x1
// shortcut conv), x1 once; global average pooling before the classifier.
TEST(RefTrainerGradient, ResidualBlockWithBatchnormMatchesFiniteDifferences) {
  RefConfig c;
  c.in_h = c.in_w = 6;
  c.in_c = 2;
  c.classes = 3;
  c.layers = {conv(4, 3, 1, 1, true),                    batchnorm(),
              named(layer(RefKind::relu), "x0"),         conv(4, 3, 1, 1),
              batchnorm(),                               layer(RefKind::relu),
              conv(4, 3, 1, 1),                          batchnorm(),
              add("x0"),                                 named(layer(RefKind::relu), "x1"),
              named(conv(4, 1, 1, 0, true), "", "x0"),   add("x1"),
              pool(RefKind::avgpool, 6, 1),              layer(RefKind::flatten),
              linear(3, true),                           layer(RefKind::softmax_ce)};
  c.exact_fp32 = true;
  c.lr = 0;
  c.momentum = 0;
  c.mean[0] = c.mean[1] = 0.5f;
  c.stdev[0] = c.stdev[1] = 0.5f;
  Rng rng{99};
  auto around = [&](float centre, float spread, std::size_t n) {
    std::vector<float> v(n);
    for (float& e : v) e = centre + spread * static_cast<float>(rng.normal());
    return v;
  };
  std::vector<std::vector<float>> w{he_normal(rng, 4 * 9 * 2, 18), around(1, 0.2f, 4), he_normal(rng, 4 * 9 * 4, 36),
                                    around(1, 0.2f, 4),            he_normal(rng, 4 * 9 * 4, 36), around(1, 0.2f, 4),
                                    he_normal(rng, 4 * 4, 4),      he_normal(rng, 3 * 4, 4)};
  std::vector<std::vector<float>> b{around(0, 0.1f, 4), around(0, 0.1f, 4), {}, around(0, 0.1f, 4), {},
                                    around(0, 0.1f, 4), around(0, 0.1f, 4), around(0, 0.1f, 3)};
  const std::uint32_t batch = 4;
  std::vector<std::uint8_t> images(batch * 36 * 2), labels{0, 2, 1, 1};
  for (auto& p : images) p = static_cast<std::uint8_t>(rng.next() & 0xFF);

  RefTrainer at(c, w, b);
  at.step(images.data(), labels.data(), batch);
  ASSERT_EQ(at.trainable_count(), w.size());
  auto loss = [&](const std::vector<std::vector<float>>& wv, const std::vector<std::vector<float>>& bv) {
    RefTrainer t(c, wv, bv);
    return static_cast<double>(t.step(images.data(), labels.data(), batch).loss);
  };
  // The loss is an FP32 mean (one ulp of it moves the difference quotient by ~1.2e-4 at this
  // eps) and relu kinks sit near 0 after batchnorm: the tolerance scales with |grad|, not with
  // the projection on a random direction (a wrong term errs by O(|grad|)).
  const double eps = 5e-4;
  int checked = 0;
  for (std::size_t tensor = 0; tensor < 2 * w.size(); ++tensor) {  // the weights, then the biases
    const bool is_bias = tensor >= w.size();
    const std::size_t i = tensor % w.size();
    if (is_bias && b[i].empty()) continue;
    const std::vector<float>& grad = is_bias ? at.bias_grad(i) : at.weight_grad(i);
    double grad_norm = 0;
    for (float g : grad) grad_norm += static_cast<double>(g) * g;
    grad_norm = std::sqrt(grad_norm);
    for (int trial = 0; trial < 3; ++trial) {
      const auto [numeric, analytic] = directional_derivative(w, b, is_bias, i, grad, eps, rng, loss);
      EXPECT_NEAR(numeric, analytic, 0.01 * grad_norm + 3e-4) << "tensor " << tensor << " trial " << trial;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 14);
}

// A tiny ResNet on a texture set where global pooling suffices: class 0 horizontal stripes,
// 1 vertical stripes, 2 a checkerboard, 3 flat (random phase and noise), 8x8x3.
//   conv 3x3 (dense, first) -> bn -> relu "b0" -> conv 3x3 (sparse) -> bn -> relu -> conv 3x3
//   (sparse) -> bn -> add(b0) -> relu -> avgpool 8 (global) -> flatten -> linear (dense, last)

Data textures(std::uint32_t count, std::uint64_t seed) {
  Rng rng{seed};
  Data d;
  d.images.resize(std::size_t{count} * 8 * 8 * 3);
  d.labels.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t k = static_cast<std::uint32_t>(rng.next() % 4), phase = static_cast<std::uint32_t>(rng.next() % 2);
    d.labels[i] = static_cast<std::uint8_t>(k);
    for (std::uint32_t y = 0; y < 8; ++y)
      for (std::uint32_t x = 0; x < 8; ++x) {
        const std::uint32_t on = k == 0 ? (y + phase) % 2 : k == 1 ? (x + phase) % 2 : k == 2 ? (x + y + phase) % 2 : 1;
        const std::uint32_t base = k == 3 ? 96 : on ? 160 : 32;
        for (std::uint32_t ch = 0; ch < 3; ++ch)
          d.images[((std::size_t{i} * 8 + y) * 8 + x) * 3 + ch] =
              static_cast<std::uint8_t>(base + static_cast<std::uint32_t>(rng.next() % 64));
      }
  }
  return d;
}

RefTrainer tiny_resnet(RefScheme scheme) {
  RefConfig c;
  c.in_h = c.in_w = 8;
  c.in_c = 3;
  c.classes = 4;
  c.layers = {conv(8, 3, 1, 1),
              batchnorm(),
              named(layer(RefKind::relu), "b0"),
              conv(8, 3, 1, 1, false, true),
              batchnorm(),
              layer(RefKind::relu),
              conv(8, 3, 1, 1, false, true),
              batchnorm(),
              add("b0"),
              layer(RefKind::relu),
              pool(RefKind::avgpool, 8, 1),
              layer(RefKind::flatten),
              linear(4, true),
              layer(RefKind::softmax_ce)};
  c.scheme = scheme;
  c.n = 2;
  c.m = 8;
  c.lr = 0.05f;
  c.momentum = 0.9f;
  c.weight_decay = 1e-4f;
  c.loss_scale = 64.0f;
  for (int ch = 0; ch < 3; ++ch) {
    c.mean[ch] = 0.4f;
    c.stdev[ch] = 0.25f;
  }
  Rng rng{77};
  const std::vector<float> ones(8, 1.0f), zeros(8, 0.0f);
  return RefTrainer(c,
                    {he_normal(rng, 8 * 9 * 3, 27), ones, he_normal(rng, 8 * 9 * 8, 72), ones,
                     he_normal(rng, 8 * 9 * 8, 72), ones, he_normal(rng, 4 * 8, 8)},
                    {{}, zeros, {}, zeros, {}, zeros, std::vector<float>(4, 0.0f)});
}

class RefTrainerTinyResnet : public ::testing::TestWithParam<RefScheme> {};

TEST_P(RefTrainerTinyResnet, LossDecreases) {
  const Data train = textures(64, 11), test = textures(32, 12);
  RefTrainer t = tiny_resnet(GetParam());
  const RefStep before = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  std::vector<float> losses;
  for (std::uint32_t it = 0; it < 48; ++it) {
    const std::uint32_t first = (it % 4) * 16;
    losses.push_back(t.step(train.images.data() + first * 192, train.labels.data() + first, 16).loss);
  }
  const RefStep after = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  float early = 0, late = 0;
  for (int k = 0; k < 4; ++k) {
    early += losses[k];
    late += losses[losses.size() - 1 - k];
  }
  EXPECT_LT(late, 0.3f * early);
  EXPECT_LT(after.loss, 0.3f * before.loss);
  EXPECT_GE(after.accuracy, 0.9f);
  // The running statistics moved away from (0, 1); the sparse convs are masked 2:8.
  EXPECT_NE(t.running_mean(1), std::vector<float>(8, 0.0f));
  EXPECT_NE(t.running_var(3), std::vector<float>(8, 1.0f));
  const Mask mf = t.forward_mask(2);
  const std::size_t kept = static_cast<std::size_t>(std::count(mf.begin(), mf.end(), 1));
  EXPECT_EQ(kept, GetParam() == RefScheme::dense ? mf.size() : mf.size() / 4);
}

INSTANTIATE_TEST_SUITE_P(Schemes, RefTrainerTinyResnet, ::testing::Values(RefScheme::dense, RefScheme::bdwp),
                         scheme_name);

}  // namespace

// ---------------------------------------------------------------------------------------------
// Transformers (docs/training.md "Transformers: tokens, layer norm, GELU, attention").

namespace vit {

RefLayer attention(std::uint32_t heads) {
  RefLayer l{RefKind::attention};
  l.heads = heads;
  return l;
}

}  // namespace vit

// Layer norm on one row of C = 4 features, behind an identity linear 4 -> 4 (so that it gets a
// dx, visible in the linear's dW). Pixels [0, 255, 255, 255] with mean [0, 0, -1, -4], std 1:
// x = [0, 1, 2, 5]. gamma = [1, 0.5, 2, 1], beta = [0, 0.25, 0, -0.5].
//   mean = 8 / 4 = 2, d = [-2, -1, 0, 3], var = 14 / 4 = 3.5 (exact), t = 3.5 + 1e-5f,
//   inv = 1 / sqrtf(t) = 0x1.11acd4p-1 (0.5345217; 1 / sqrt(3.5) = 0.5345225),
//   xhat = d * inv = [-0x1.11acd4p+0, -0x1.11acd4p-1, 0, 0x1.9a833ep+0]
//        = [-1.0690434, -0.5345217, 0, 1.6035651]
//   gamma xhat + beta = [-1.0690434, -0.0172608, 0, 1.1035651]
//   y = h(.) = [-1095 * 2^-10, -1131 * 2^-16, 0, 1130 * 2^-10]
//            = [-1.0693359375, -0.0172576904296875, 0, 1.103515625] (1094.70, 1131.2, 1130.05 steps)
// Label 0, loss_scale 4, B = 1: p = [0.0642660, 0.1840318, 0.1872353, 0.5644670],
//   dz = dy = h(4 (p - [j == 0])) = [-3.7421875, 0.736328125, 0.7490234375, 2.2578125].
// dbeta = h(dy) = dy; dgamma = h(dy xhat) = h([4.0005608, -0.3935834, 0, 3.6205492])
//   = [4, -0.3935546875, 0, 3.62109375] (steps 2^-8, 2^-13, 2^-9).
// dx: g = dy gamma = [-3.7421875, 0.3681640625, 1.498046875, 2.2578125], sum_g = 0.3818359375,
//   sum_gx = 7.4243183, k = inv / 4 = 0.13363042; dx = h(k (4 g - sum_g - xhat sum_gx))
//   = h([-0.9906915, 0.6760737, 0.7497137, -0.4350958])
//   = [-2029 * 2^-11, 1385 * 2^-11, 1535 * 2^-11, -1782 * 2^-12]
//   = [-0.99072265625, 0.67626953125, 0.74951171875, -0.43505859375]
//   (the double-precision formula gives the same FP32 sums to 1e-7.) The linear's dW[o][i] =
//   h(dx[o] x[i]): column 1 (x = 1) is dx, column 2 (x = 2) is 2 dx, column 0 zero.
TEST(RefTrainerLayernorm, ForwardBackwardOneRowByHand) {
  RefConfig c;
  c.in_c = 4;
  c.classes = 4;
  c.layers = {linear(4), layer(RefKind::layernorm), layer(RefKind::softmax_ce)};
  c.mean[2] = -1.0f;
  c.mean[3] = -4.0f;
  c.loss_scale = 4.0f;
  c.lr = 0.5f;
  c.momentum = 0.9f;
  c.weight_decay = 0.1f;
  const std::vector<float> identity{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  const std::vector<float> gamma{1, 0.5f, 2, 1}, beta{0, 0.25f, 0, -0.5f};
  RefTrainer t(c, {identity, gamma}, {{}, beta});
  EXPECT_EQ(t.trainable_count(), 2u);
  const std::uint8_t image[] = {0, 255, 255, 255}, label = 0;
  const std::vector<float> logits{-1.0693359375f, -0.0172576904296875f, 0.0f, 1.103515625f};
  std::vector<float> dz;
  const RefStep expected = ref_softmax_ce(logits, &label, 1, 4, 4.0f, &dz);
  EXPECT_EQ(dz, (std::vector<float>{-3.7421875f, 0.736328125f, 0.7490234375f, 2.2578125f}));
  EXPECT_EQ(t.step(image, &label, 1).loss, expected.loss);
  EXPECT_EQ(t.weight_grad(1), (std::vector<float>{4.0f, -0.3935546875f, 0.0f, 3.62109375f}));  // dgamma
  EXPECT_EQ(t.bias_grad(1), dz);                                                              // dbeta
  const std::vector<float> dx{-0.99072265625f, 0.67626953125f, 0.74951171875f, -0.43505859375f};
  for (std::size_t o = 0; o < 4; ++o) {
    EXPECT_EQ(t.weight_grad(0)[o * 4 + 0], 0.0f) << o;
    EXPECT_EQ(t.weight_grad(0)[o * 4 + 1], dx[o]) << o;
    EXPECT_EQ(t.weight_grad(0)[o * 4 + 2], 2.0f * dx[o]) << o;
  }
  // gamma and beta: WUVE without weight decay (g = dgamma / 4; W -= 0.5 g); never masked.
  for (std::size_t ch = 0; ch < 4; ++ch) {
    const float g = t.weight_grad(1)[ch] * 0.25f, gb = dz[ch] * 0.25f;
    const float dg = 0.5f * g, db = 0.5f * gb;
    EXPECT_EQ(t.weight(1)[ch], gamma[ch] - dg) << ch;
    EXPECT_EQ(t.bias(1)[ch], beta[ch] - db) << ch;
  }
  EXPECT_TRUE(t.running_mean(1).empty());
  EXPECT_EQ(t.forward_mask(1), Mask(4, 1));
}

// GELU (erf form) at x = [0, 0.5, 1, -1, 2, -3]: x = 1 (one pixel 255) through a linear 1 -> 6
// with W = those points (FP16-exact), then gelu, as the 6 logits. gelu(x) = x Phi(x):
//   0 -> 0; 0.5 -> 0.3457312 -> 1416 * 2^-12 = 0.345703125 (1416.12 steps)
//   1 -> 0.8413447 -> 1723 * 2^-11 = 0.84130859375 (1723.07)
//   -1 -> -0.1586553 -> -1300 * 2^-13 = -0.15869140625 (1299.70)
//   2 -> 1.9544997 -> 2001 * 2^-10 = 1.9541015625 (2001.41)
//   -3 -> -0.0040496886 -> -1062 * 2^-18 = -0.00405120849609375 (1061.60)
// Backward: dW[k] = h(dx[k] * 1) = dx[k] = h(dz[k] g(x_k)), g = Phi(x) + x phi(x):
//   g = [0.5, 0.8674951, 1.0833155, -0.0833155, 1.0852318, -0.0119456].
TEST(RefTrainerGelu, ForwardAndDerivativeAtPoints) {
  RefConfig c;
  c.classes = 6;
  c.layers = {linear(6), layer(RefKind::gelu), layer(RefKind::softmax_ce)};
  c.loss_scale = 16.0f;
  c.lr = 0;
  const std::vector<float> xs{0, 0.5f, 1, -1, 2, -3};
  RefTrainer t(c, {xs}, {{}});
  const std::uint8_t image = 255, label = 2;
  const std::vector<float> logits{0.0f, 0.345703125f, 0.84130859375f, -0.15869140625f, 1.9541015625f,
                                  -0.00405120849609375f};
  std::vector<float> dz;
  const RefStep expected = ref_softmax_ce(logits, &label, 1, 6, 16.0f, &dz);
  EXPECT_EQ(t.step(&image, &label, 1).loss, expected.loss);
  const double derivative[] = {0.5, 0.8674951246561629, 1.0833154705876864, -0.08331547058768629,
                               1.085231801078197, -0.011945647204183918};
  for (std::size_t k = 0; k < 6; ++k) {
    const double want = dz[k] * derivative[k];
    EXPECT_NEAR(t.weight_grad(0)[k], want, 2e-3 * std::fabs(want) + 1e-6) << k;
  }
  // At x = 0: g = 0.5 + 0 exactly, so dx = h(dz / 2) = dz / 2.
  EXPECT_EQ(t.weight_grad(0)[0], 0.5f * dz[0]);
}

// Attention, 1 head, T = 2, dh = 2 (D = 2), one sample: qkv rows [q | k | v]
//   token 0: q = [1, 1],     k = [1, 0],  v = [2, 0]
//   token 1: q = [0.5, -0.5], k = [0, -1], v = [0, 4]
// S = h(q k^T) = [[1, -1], [0.5, 0.5]]; scale = 1 / sqrtf(2) = 0x1.6a09e6p-1.
// Row 0: x = [scale, -scale], e = [1, exp(-2 scale) = 0.2431167], sum 1.2431167,
// P = [h(0.8044297), h(0.1955703)] = [1647 * 2^-11, 1602 * 2^-13]; row 1: P = [0.5, 0.5].
// out = h(P v): token 0 [h(2 P00), h(4 P01)] = [1647 * 2^-10, 1602 * 2^-11]
//   = [1.6083984375, 0.7822265625]; token 1 [h(1), h(2)] = [1, 2].
TEST(RefAttention, OneHeadTwoTokensByHand) {
  const std::vector<float> qkv{1, 1, 1, 0, 2, 0, 0.5f, -0.5f, 0, -1, 0, 4};
  std::vector<float> out, S, P;
  cestvp::golden::ref_attention(qkv, 1, 2, 2, 1, out, &S, &P);
  EXPECT_EQ(S, (std::vector<float>{1, -1, 0.5f, 0.5f}));
  EXPECT_EQ(P, (std::vector<float>{1647 * 0x1p-11f, 1602 * 0x1p-13f, 0.5f, 0.5f}));
  EXPECT_EQ(out, (std::vector<float>{1.6083984375f, 0.7822265625f, 1, 2}));
}

// The same through the trainer, qkv from a linear on tokens (not flattened: a 1x1 convolution,
// [1][1][2][2] -> [1][1][2][6]): one-hot tokens x0 = [1, 0], x1 = [0, 1] (pixels 255/0) make
// qkv[t][o] = W[o][t], and dW[o][t] = h(dqkv[t][o] * 1) = dqkv[t][o].
// Logits out (flattened) with label 3, loss_scale 1: dz = dO = [0.288818359375, 0.12646484375,
// 0.1572265625, -0.57275390625] (h of p - [j == 3], p = softmax of the logits above).
// dV[j][e] = h(P[0][j] dO[0][e] + P[1][j] dO[1][e]), P of the test above (FP16):
//   dV[0] = h([0.2322675 + 0.0786133, 0.1017029 - 0.2863770]) = h([0.3108808, -0.1846720])
//         = [1273 * 2^-12, -1513 * 2^-13] = [0.310791015625, -0.1846923828125]
//   dV[1] = h([0.0564803 + 0.0786133, 0.0247310 - 0.2863770]) = h([0.1350936, -0.2616459])
//         = [1107 * 2^-13, -1072 * 2^-12] = [0.1351318359375, -0.26171875]
TEST(RefAttention, TrainerLinearOnTokensAndDvByHand) {
  RefConfig c;
  c.in_w = 2;
  c.in_c = 2;
  c.classes = 4;
  c.layers = {linear(6), vit::attention(1), layer(RefKind::flatten), layer(RefKind::softmax_ce)};
  c.lr = 0;
  // W[o][t] = qkv[t][o]
  const std::vector<float> w{1, 0.5f, 1, -0.5f, 1, 0, 0, -1, 2, 0, 0, 4};
  RefTrainer t(c, {w}, {{}});
  const std::uint8_t image[] = {255, 0, 0, 255}, label = 3;
  const std::vector<float> logits{1.6083984375f, 0.7822265625f, 1, 2};
  std::vector<float> dz;
  const RefStep expected = ref_softmax_ce(logits, &label, 1, 4, 1.0f, &dz);
  EXPECT_EQ(dz, (std::vector<float>{0.288818359375f, 0.12646484375f, 0.1572265625f, -0.57275390625f}));
  EXPECT_EQ(t.step(image, &label, 1).loss, expected.loss);
  const std::vector<float>& dw = t.weight_grad(0);
  ASSERT_EQ(dw.size(), 12u);
  EXPECT_EQ(dw[4 * 2 + 0], 0.310791015625f);    // dV[0][0]
  EXPECT_EQ(dw[5 * 2 + 0], -0.1846923828125f);  // dV[0][1]
  EXPECT_EQ(dw[4 * 2 + 1], 0.1351318359375f);   // dV[1][0]
  EXPECT_EQ(dw[5 * 2 + 1], -0.26171875f);       // dV[1][1]
  // The whole dqkv equals the primitive's backward on the same qkv and dO.
  std::vector<float> qkv(12), dqkv;
  for (std::size_t tok = 0; tok < 2; ++tok)
    for (std::size_t o = 0; o < 6; ++o) qkv[tok * 6 + o] = w[o * 2 + tok];
  cestvp::golden::ref_attention_backward(qkv, dz, 1, 2, 2, 1, dqkv);
  for (std::size_t tok = 0; tok < 2; ++tok)
    for (std::size_t o = 0; o < 6; ++o) EXPECT_EQ(dw[o * 2 + tok], dqkv[tok * 6 + o]) << tok << " " << o;
  EXPECT_NE(dqkv[0], 0.0f);  // dQ of token 0 is not trivially zero
}

// A pre-norm transformer: patch conv -> tokens -> embed "x0" -> [layernorm -> linear 3D ->
// attention -> linear D -> add(x0) "x1"] -> [layernorm -> linear 2D -> gelu -> linear D ->
// add(x1)] -> layernorm -> cls_token -> linear classes -> softmax_ce.
std::vector<RefLayer> vit_layers(std::uint32_t patch, std::uint32_t dim, std::uint32_t heads, std::uint32_t classes,
                                 bool sparse) {
  return {conv(dim, patch, patch, 0, true),
          layer(RefKind::tokens),
          named(layer(RefKind::embed), "x0"),
          layer(RefKind::layernorm),
          linear(3 * dim, true, sparse),
          vit::attention(heads),
          linear(dim, true, sparse),
          named(add("x0"), "x1"),
          layer(RefKind::layernorm),
          linear(2 * dim, true, sparse),
          layer(RefKind::gelu),
          linear(dim, true, sparse),
          add("x1"),
          layer(RefKind::layernorm),
          layer(RefKind::cls_token),
          linear(classes, true),
          layer(RefKind::softmax_ce)};
}

// Its parameters (patch conv on in_c channels, T = (side / patch)^2 tokens).
void vit_params(Rng& rng, std::uint32_t in_c, std::uint32_t patch, std::uint32_t tokens, std::uint32_t dim,
                std::uint32_t classes, float spread, std::vector<std::vector<float>>& w,
                std::vector<std::vector<float>>& b) {
  auto around = [&](float centre, float s, std::size_t n) {
    std::vector<float> v(n);
    for (float& e : v) e = centre + s * static_cast<float>(rng.normal());
    return v;
  };
  const std::uint32_t pk = patch * patch * in_c;
  w = {he_normal(rng, std::size_t{dim} * pk, pk),     around(0, 0.02f + spread, (tokens + 1) * dim),
       around(1, spread, dim),                        he_normal(rng, 3 * dim * dim, dim),
       he_normal(rng, dim * dim, dim),                around(1, spread, dim),
       he_normal(rng, 2 * dim * dim, dim),            he_normal(rng, 2 * dim * dim, 2 * dim),
       around(1, spread, dim),                        he_normal(rng, classes * dim, dim)};
  b = {around(0, spread, dim),     around(0, spread, dim), around(0, spread, dim), around(0, spread, 3 * dim),
       around(0, spread, dim),     around(0, spread, dim), around(0, spread, 2 * dim), around(0, spread, dim),
       around(0, spread, dim),     around(0, spread, classes)};
}

// Finite differences (exact_fp32) through embed, layernorm, token-wise linear, 2-head attention,
// gelu, the residual adds and cls_token: every parameter tensor of the small ViT.
TEST(RefTrainerGradient, TransformerBlockMatchesFiniteDifferences) {
  RefConfig c;
  c.in_h = c.in_w = 4;
  c.in_c = 2;
  c.classes = 3;
  c.layers = vit_layers(2, 4, 2, 3, false);
  c.exact_fp32 = true;
  c.lr = 0;
  c.momentum = 0;
  c.mean[0] = c.mean[1] = 0.5f;
  c.stdev[0] = c.stdev[1] = 0.5f;
  Rng rng{314};
  std::vector<std::vector<float>> w, b;
  vit_params(rng, 2, 2, 4, 4, 3, 0.3f, w, b);
  const std::uint32_t batch = 3;
  std::vector<std::uint8_t> images(batch * 16 * 2), labels{0, 2, 1};
  for (auto& p : images) p = static_cast<std::uint8_t>(rng.next() & 0xFF);

  RefTrainer at(c, w, b);
  ASSERT_EQ(at.trainable_count(), w.size());
  at.step(images.data(), labels.data(), batch);
  auto loss = [&](const std::vector<std::vector<float>>& wv, const std::vector<std::vector<float>>& bv) {
    RefTrainer t(c, wv, bv);
    return static_cast<double>(t.evaluate(images.data(), labels.data(), batch, batch).loss);
  };
  const double eps = 1e-3;
  int checked = 0;
  for (std::size_t tensor = 0; tensor < 2 * w.size(); ++tensor) {  // the weights, then the biases
    const bool is_bias = tensor >= w.size();
    const std::size_t i = tensor % w.size();
    const std::vector<float>& grad = is_bias ? at.bias_grad(i) : at.weight_grad(i);
    double grad_norm = 0;
    for (float g : grad) grad_norm += static_cast<double>(g) * g;
    grad_norm = std::sqrt(grad_norm);
    EXPECT_GT(grad_norm, 1e-4) << "tensor " << tensor;  // every parameter reaches the loss
    for (int trial = 0; trial < 3; ++trial) {
      const auto [numeric, analytic] = directional_derivative(w, b, is_bias, i, grad, eps, rng, loss);
      EXPECT_NEAR(numeric, analytic, 0.01 * grad_norm + 2e-4) << "tensor " << tensor << " trial " << trial;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 20);
}

// A tiny ViT on the texture set (8x8x3, patch conv kernel = stride = 4: T = 4 tokens, D = 16,
// 2 heads): the loss decreases, dense and BDWP 2:8 (the block's four linear layers sparse).
class RefTrainerTinyVit : public ::testing::TestWithParam<RefScheme> {};

TEST_P(RefTrainerTinyVit, LossDecreases) {
  const Data train = textures(64, 21), test = textures(32, 22);
  RefConfig c;
  c.in_h = c.in_w = 8;
  c.in_c = 3;
  c.classes = 4;
  c.layers = vit_layers(4, 16, 2, 4, true);
  c.scheme = GetParam();
  c.n = 2;
  c.m = 8;
  c.lr = 0.02f;
  c.momentum = 0.9f;
  c.weight_decay = 1e-4f;
  c.loss_scale = 64.0f;
  for (int ch = 0; ch < 3; ++ch) {
    c.mean[ch] = 0.4f;
    c.stdev[ch] = 0.25f;
  }
  Rng rng{5};
  std::vector<std::vector<float>> w, b;
  vit_params(rng, 3, 4, 4, 16, 4, 0.0f, w, b);
  RefTrainer t(c, w, b);
  const RefStep before = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  std::vector<float> losses;
  for (std::uint32_t it = 0; it < 60; ++it) {
    const std::uint32_t first = (it % 4) * 16;
    losses.push_back(t.step(train.images.data() + first * 192, train.labels.data() + first, 16).loss);
  }
  const RefStep after = t.evaluate(test.images.data(), test.labels.data(), 32, 16);
  float early = 0, late = 0;
  for (int k = 0; k < 4; ++k) {
    early += losses[k];
    late += losses[losses.size() - 1 - k];
  }
  EXPECT_LT(late, 0.3f * early);
  EXPECT_LT(after.loss, 0.3f * before.loss);
  EXPECT_GE(after.accuracy, 0.8f);  // dense reaches 1.0, BDWP 2:8 about 0.9
  // Embed and layer norm parameters moved and are never masked; the block's linears are 2:8.
  EXPECT_NE(t.weight(1), w[1]);
  EXPECT_NE(t.bias(2), b[2]);
  EXPECT_EQ(t.forward_mask(1), Mask(w[1].size(), 1));
  const Mask mf = t.forward_mask(3);
  const std::size_t kept = static_cast<std::size_t>(std::count(mf.begin(), mf.end(), 1));
  EXPECT_EQ(kept, GetParam() == RefScheme::dense ? mf.size() : mf.size() / 4);
  EXPECT_EQ(t.forward_mask(9), Mask(w[9].size(), 1));  // the dense classifier
}

INSTANTIATE_TEST_SUITE_P(Schemes, RefTrainerTinyVit, ::testing::Values(RefScheme::dense, RefScheme::bdwp),
                         scheme_name);
