// Independent reference trainer: what one training iteration computes on the VP
// (docs/training.md), written as plain loops from that contract, the N:M rules of
// nm-training-spec.md sections 2-6 and the uMAC summation order of docs/engines.md "Numerics".
// It shares no code with firmware/ or models/ (it includes nothing from them), so that a VP
// run checked against it is checked against a second reading of the documents.
//
// Every FP32 operation whose order matters is one statement; the target is built with
// -ffp-contract=off. h(x) below is FP16 round-to-nearest-even (Imath::half).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cestvp::golden {

enum class RefScheme { dense, srste, sdgp, bdwp };
enum class RefKind {
  conv2d, linear, relu, maxpool, avgpool, flatten, softmax_ce, add, batchnorm,
  // docs/training.md "Transformers": a token sequence is [N][1][T][D].
  tokens, embed, layernorm, gelu, attention, cls_token
};

// docs/training.md "Residual networks": a layer reads the previous layer's output unless
// `input` names another tensor; a tensor read by several layers sums their gradients (the first
// contribution in reverse layer order as it is, each later one g = h(float(g) + float(c))).
struct RefLayer {
  RefKind kind;
  std::uint32_t out = 0;                          // conv2d: Cout; linear: out features (a linear
                                                  // acts on C at every (h, w): a 1x1 convolution)
  std::uint32_t kernel = 1, stride = 1, pad = 0;  // conv2d (square); maxpool/avgpool (no pad)
  bool bias = false;                              // conv2d/linear
  bool sparse = false;  // conv2d/linear: the scheme applies (final: the caller has applied the
                        // first/last-layer rules; SDGP's "conv with Cin > 3 only" is applied here);
                        // ignored on the other kinds (batchnorm, embed, layernorm: never sparse)
  std::string name{};   // empty: unnamed; unique, and not "input"
  std::string input{};  // empty: the previous layer's output (layer 0: the batch); "input": the
                        // batch; else the name of an earlier layer whose output this layer reads
  std::string with{};   // add: the other operand (same rules as `input`; the same shape)
  std::uint32_t heads = 0;  // attention: the number of heads (D = C / 3 divisible by it)
};

struct RefConfig {
  std::uint32_t in_h = 1, in_w = 1, in_c = 1, classes = 1;
  std::vector<RefLayer> layers;  // the last one is softmax_ce
  RefScheme scheme = RefScheme::dense;
  std::uint32_t n = 2, m = 8;
  bool bwd_nested = false;  // BDWP: Mb = nm_mask_cols(W (.) Mf) (.) Mf instead of nm_mask_cols(W)
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0, sparse_decay = 0, loss_scale = 1;
  enum class Schedule { constant, cosine, step } schedule = Schedule::constant;
  std::uint32_t total_iterations = 1, lr_step = 0;
  float lr_gamma = 0.1f;
  bool sdgp_rescale = true;
  float mean[4] = {0, 0, 0, 0}, stdev[4] = {1, 1, 1, 1};
  // Tests only (finite-difference gradient checks): h(x) = x everywhere, no FP16 rounding.
  bool exact_fp32 = false;
};

struct RefStep {
  float loss;      // mean over the samples
  float accuracy;  // fraction of samples whose first maximum logit is the label
};

class RefTrainer {
 public:
  // weights[i] / biases[i] of the i-th trainable layer (conv2d, linear, batchnorm, embed,
  // layernorm) in layer order: conv2d/linear W OHWI FP32 ([Cout][K][K][Cin]; linear [out][in],
  // in = C of its input: a flattened input has C = H*W*C, any other input is read per (h, w)
  // position), bias FP32 (empty if none); batchnorm and layernorm gamma [C] and beta [C]; embed
  // pos [(T+1)*D] and cls [D] (none of them empty; none has weight decay or a mask).
  // Throws std::invalid_argument on a malformed configuration or wrong tensor sizes.
  RefTrainer(RefConfig config, std::vector<std::vector<float>> weights,
             std::vector<std::vector<float>> biases);

  // One training iteration (its index t = the number of steps done so far) on `batch` uint8
  // NHWC images and their labels.
  RefStep step(const std::uint8_t* images, const std::uint8_t* labels, std::uint32_t batch);
  // Forward only with the scheme's forward operands; loss = sum of the per-sample losses in
  // sample order / count, over `count` samples in batches of `batch` (the last may be smaller).
  // Batchnorm layers use their running statistics.
  RefStep evaluate(const std::uint8_t* images, const std::uint8_t* labels, std::uint32_t count,
                   std::uint32_t batch);

  std::size_t trainable_count() const { return params_.size(); }
  const std::vector<float>& weight(std::size_t i) const;    // FP32 master (norms: gamma; embed: pos)
  const std::vector<float>& bias(std::size_t i) const;      // (norms: beta; embed: cls)
  const std::vector<float>& momentum(std::size_t i) const;  // of the weight
  const std::vector<float>& bias_momentum(std::size_t i) const;
  // The FP16 gradients (as floats) WUVE read in the last step: dW after the SR-STE fold, db
  // (batchnorm, layernorm: dgamma, dbeta; embed: dpos, dcls).
  const std::vector<float>& weight_grad(std::size_t i) const;
  const std::vector<float>& bias_grad(std::size_t i) const;
  // Masks (1 = kept) of trainable layer i from the CURRENT master weights (what the next step
  // uses), OHWI like the weight; all ones for a dense layer or a scheme without that mask.
  // Mf: groups along Cin per (cout, kh, kw); Mb: groups along Cout per (kh, kw, cin).
  std::vector<std::uint8_t> forward_mask(std::size_t i) const;
  std::vector<std::uint8_t> backward_mask(std::size_t i) const;
  // Batchnorm running statistics (FP32, per channel) of trainable layer i; empty for the others.
  const std::vector<float>& running_mean(std::size_t i) const;
  const std::vector<float>& running_var(std::size_t i) const;
  // lr_t of iteration t (0-based), computed in double and narrowed to float.
  float learning_rate(std::uint32_t t) const;
  std::uint32_t iterations_done() const { return iteration_; }

 private:
  struct Shape {
    std::uint32_t h, w, c;
  };
  struct Param {
    std::size_t layer;                 // index in config_.layers
    RefKind kind = RefKind::conv2d;    // conv2d, linear, batchnorm, embed or layernorm
    bool bn = false;                   // batchnorm: w = gamma, b = beta ([cout] = [C])
    std::uint32_t cout, k, cin;        // weight shape [cout][k][k][cin] (batchnorm: [C][1][1][1])
    std::vector<float> w, b, vw, vb;   // masters and momenta
    std::vector<float> gw, gb;         // last step's FP16 gradients
    std::vector<float> rm, rv;         // batchnorm running mean and variance
  };
  struct Pass;  // one forward pass: operands, masks, activations, maxpool argmaxes, BN stats

  float h(float x) const;
  static bool is_matrix(const Param& p) { return p.kind == RefKind::conv2d || p.kind == RefKind::linear; }
  bool has_forward_mask(const Param& p) const;
  bool has_backward_mask(const Param& p) const;
  void forward(Pass& pass, const std::uint8_t* images, std::uint32_t batch, bool training) const;
  void backward(Pass& pass, std::vector<float> dz);
  void update(std::size_t i, const std::vector<std::uint8_t>& mf, float lr_t);

  // Tensors: 0 = the input batch, l + 1 = the output of layer l.
  RefConfig config_;
  std::vector<Shape> shapes_;               // shapes_[t]: shape of tensor t
  std::vector<std::size_t> src_, with_;     // per layer: the tensor it reads; add: the other one
  std::vector<bool> needs_grad_;            // per tensor: depends on a parameter
  std::vector<std::size_t> param_of_layer_;  // trainable index of layer l, or npos
  std::vector<Param> params_;
  std::uint32_t iteration_ = 0;
};

// The primitives the trainer uses, exposed for the hand-computed tests.

// nm-training-spec.md section 2: groups of m aligned at 0 (the last may be short), in each the
// first min(n, len) indices ordered by (-|v|, index); |NaN| ranks as +inf.
std::vector<std::uint8_t> ref_nm_mask(const std::vector<float>& v, std::uint32_t n,
                                      std::uint32_t m);

// softmax cross-entropy of docs/training.md on [batch][classes] FP16 logits; dz (if not null)
// gets the [batch][classes] logits' gradient h((p - [j == y]) * loss_scale / batch).
RefStep ref_softmax_ce(const std::vector<float>& logits, const std::uint8_t* labels,
                       std::uint32_t batch, std::uint32_t classes, float loss_scale,
                       std::vector<float>* dz, bool exact_fp32 = false);

// SDGP's dY pruning of docs/training.md on an NHWC [batch][h][w][c] FP16 gradient, in place:
// N:M along C per (n, oh, ow), then with `rescale` each kept value of (n, c) becomes
// h(v * r), r = sum_hw |dY| / (sum_hw |dY'| + 1e-4).
void ref_sdgp_prune(std::vector<float>& dy, std::uint32_t batch, std::uint32_t h,
                    std::uint32_t w, std::uint32_t c, std::uint32_t n, std::uint32_t m,
                    bool rescale, bool exact_fp32 = false);

// The attention core of docs/training.md "Transformers" on a [batch][tokens][3 * dim] FP16 qkv
// tensor (q, k, v of head hd at columns hd*dh, dim + hd*dh, 2*dim + hd*dh; dh = dim / heads):
// out [batch][tokens][dim] FP16. scores / probs (if not null) get S (unscaled) and P, both
// FP16 values, [batch][heads][tokens][tokens].
void ref_attention(const std::vector<float>& qkv, std::uint32_t batch, std::uint32_t tokens,
                   std::uint32_t dim, std::uint32_t heads, std::vector<float>& out,
                   std::vector<float>* scores = nullptr, std::vector<float>* probs = nullptr,
                   bool exact_fp32 = false);
// Its backward: dqkv [batch][tokens][3 * dim] FP16 from dy [batch][tokens][dim] (P recomputed).
void ref_attention_backward(const std::vector<float>& qkv, const std::vector<float>& dy,
                            std::uint32_t batch, std::uint32_t tokens, std::uint32_t dim,
                            std::uint32_t heads, std::vector<float>& dqkv, bool exact_fp32 = false);

}  // namespace cestvp::golden
