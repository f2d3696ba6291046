// The host cost probe. Each kind below does what the training runtime's host work for it does
// (train_runtime.cpp, the host_work call named beside it): the same DDR reads and writes, the
// same FP16 staging and conversions, the same host-layer calls, charged at the same HostCosts
// field. Only the runtime's glue that lives inside Runtime (contribute_grad's sum, the sparse
// decay loop) is restated here, a line each; everything that costs is the firmware's own code.
#include "cestvp/host_cost_probe.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cestvp/host_layers.h"
#include "cestvp/sample_order.h"
#include "cestvp/sat_reference.h"

namespace cestvp::fw {

const char* to_string(HostCostField field) {
  switch (field) {
    case HostCostField::input: return "input";
    case HostCostField::elementwise: return "elementwise";
    case HostCostField::pool: return "pool";
    case HostCostField::softmax: return "softmax";
    case HostCostField::reduce: return "reduce";
    case HostCostField::nm_decode: return "nm_decode";
  }
  return "?";
}

double cost_of(const HostCosts& costs, HostCostField field) {
  switch (field) {
    case HostCostField::input: return costs.input;
    case HostCostField::elementwise: return costs.elementwise;
    case HostCostField::pool: return costs.pool;
    case HostCostField::softmax: return costs.softmax;
    case HostCostField::reduce: return costs.reduce;
    case HostCostField::nm_decode: return costs.nm_decode;
  }
  return 0;
}

namespace {

// The synthetic tensors take the shapes of the shipped workloads where a kind's cost per
// element depends on them (per-row or per-sample overheads):
constexpr std::uint32_t kSide = 8, kChannels = 64;           // activations: 8x8x64 images, NHWC
constexpr std::size_t kImage = std::size_t{kSide} * kSide * kChannels;
constexpr std::uint32_t kPool = 2;                           // ResNet-18's 2x2, stride 2 windows
constexpr std::uint32_t kPixels = 64 * 64 * 3;               // a Tiny ImageNet sample
constexpr std::uint32_t kClasses = 200;                      // Tiny ImageNet
constexpr std::uint32_t kLogitRows = 20;                     // softmax cross-entropy rows per unit
constexpr std::uint32_t kTokens = 64, kDim = 192;            // vit_cifar100: 64 patches of 192 features
constexpr std::uint32_t kScores = kTokens + 1;               // a row of attention scores (class token too)
constexpr std::uint32_t kHeadDim = 64;
constexpr std::uint32_t kNormRows = 16;                      // layer-norm rows of kDim per unit
constexpr std::uint32_t kScoreRows = 64;                     // attention score rows per unit
constexpr std::uint32_t kN = 2, kM = 8;                      // the paper's 2:8, along Cin (weights) or C (dY)
constexpr NmLine kLine{kChannels, kChannels, kN, kM};
constexpr std::uint32_t kSamplesPerUnit = 4096;              // sample_order
constexpr float kLossScale = 128, kSparseDecay = 2e-4f;      // the workloads' loss_scale and sparse_decay

// Capacity of each scratch region, the most any kind's large run touches.
constexpr std::size_t kMaxElements = 12 * (std::size_t{kScores} * kDim);  // cls_token's 12 samples of 65x192
constexpr std::size_t kMaxLines = 12 * 64;
constexpr std::size_t kMaxSamples = 8;
constexpr std::size_t kMaxParams = std::size_t{kScores} * kDim;  // the position embeddings

constexpr std::uint64_t kAlign = 64;
std::uint64_t align_up(std::uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct Failure {
  std::string message;
};

// xorshift32: the synthetic tensors, the same on every core.
class Random {
 public:
  std::uint32_t next() {
    x_ ^= x_ << 13, x_ ^= x_ >> 17, x_ ^= x_ << 5;
    return x_;
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() >> 8) * 0x1p-24f; }

 private:
  std::uint32_t x_ = 0x9E3779B9u;
};

// A kind of host work: `work(units)` does it for `units` units, which the runtime charges as
// `elements(units)` elements of multiple x the field.
struct Kind {
  const char* name;
  const char* detail;
  HostCostField field;
  std::uint32_t multiple;
  std::uint32_t small_units, large_units;
  std::function<std::uint64_t(std::uint32_t)> elements;
  std::function<void(std::uint32_t)> work;
};

class Probe {
 public:
  Probe(Hal& hal, const BootInfo& boot, const HostCostParams& params) : hal_(hal), boot_(boot), params_(params) {}

  int run();

 private:
  void lay_out();
  void fill();
  std::vector<Kind> kinds();
  HostCostRecord measure(const Kind& kind);
  std::uint64_t timed_run(const Kind& kind, std::uint32_t units);
  void publish();

  // Data access as the runtime does it: FP16 tensors staged in one reused buffer.
  template <typename T>
  void read(std::uint64_t addr, T* dst, std::size_t count);
  template <typename T>
  void write(std::uint64_t addr, const T* src, std::size_t count);
  std::vector<float> read_f16(std::uint64_t addr, std::size_t count);
  void write_f16(std::uint64_t addr, const std::vector<float>& values);
  std::vector<float> read_f32(std::uint64_t addr, std::size_t count);

  // The kinds whose work is more than a line.
  void load_batch(std::uint32_t samples);
  void accumulate_grad(std::uint64_t grad, const std::vector<float>& dx);
  void batchnorm_forward(std::uint32_t images, bool training);
  void batchnorm_backward(std::uint32_t images);
  void sdgp_rescale(std::uint32_t images);
  void fold_sparse_decay(std::uint32_t units);
  void expand_weights(std::uint32_t units);

  Hal& hal_;
  const BootInfo& boot_;
  const HostCostParams params_;
  HostCostResult result_;
  Random rng_;
  std::vector<std::uint16_t> half_;          // the FP16 staging buffer (Runtime::half_)
  std::vector<std::uint8_t> labels_;         // the batch's labels (Runtime::batch_labels_)
  std::vector<std::uint32_t> order_;         // a sample order (Runtime::order_)

  // Scratch regions in DDR.
  std::uint64_t end_ = 0;
  std::uint64_t x_ = 0, x2_ = 0, dy_ = 0, y_ = 0, grad_ = 0, temp_ = 0;  // FP16, kMaxElements each
  std::uint64_t master_ = 0;                                         // FP32 weights, kMaxLines x Cin
  std::uint64_t gamma_ = 0, beta_ = 0, running_ = 0, bias_ = 0, pos_ = 0, cls_ = 0;  // FP32, kMaxParams
  std::uint64_t param_grad_ = 0, param_grad2_ = 0;                                    // FP16, kMaxParams
  std::uint64_t pixels_ = 0, labels_addr_ = 0;
  std::uint64_t values_ = 0, indices_ = 0;  // N:M compressed lines of kLine
};

template <typename T>
void Probe::read(std::uint64_t addr, T* dst, std::size_t count) {
  assert(addr >= params_.scratch && addr + count * sizeof(T) <= end_ && "the probe reads its own scratch only");
  const BusStatus s = hal_.read_block(addr, dst, count * sizeof(T));
  if (s != BusStatus::ok)
    throw Failure{"read of " + std::to_string(count * sizeof(T)) + " B at DDR " + std::to_string(addr) + ": " +
                  to_string(s)};
}

template <typename T>
void Probe::write(std::uint64_t addr, const T* src, std::size_t count) {
  assert(addr >= params_.scratch && addr + count * sizeof(T) <= end_ && "the probe writes its own scratch only");
  const BusStatus s = hal_.write_block(addr, src, count * sizeof(T));
  if (s != BusStatus::ok)
    throw Failure{"write of " + std::to_string(count * sizeof(T)) + " B at DDR " + std::to_string(addr) + ": " +
                  to_string(s)};
}

std::vector<float> Probe::read_f16(std::uint64_t addr, std::size_t count) {
  if (half_.size() < count) half_.resize(count);
  read(addr, half_.data(), count);
  return host::widen(half_.data(), count);
}

void Probe::write_f16(std::uint64_t addr, const std::vector<float>& values) {
  if (half_.size() < values.size()) half_.resize(values.size());
  host::narrow(values.data(), half_.data(), values.size());
  write(addr, half_.data(), values.size());
}

std::vector<float> Probe::read_f32(std::uint64_t addr, std::size_t count) {
  std::vector<float> out(count);
  read(addr, out.data(), count);
  return out;
}

void Probe::lay_out() {
  std::uint64_t at = params_.scratch;
  const auto take = [&](std::uint64_t bytes) {
    const std::uint64_t region = at;
    at = align_up(at + bytes);
    return region;
  };
  for (std::uint64_t* r : {&x_, &x2_, &dy_, &y_, &grad_, &temp_}) *r = take(kMaxElements * 2);
  master_ = take(kMaxLines * kChannels * 4);
  for (std::uint64_t* r : {&gamma_, &beta_, &running_, &bias_, &pos_, &cls_}) *r = take(kMaxParams * 4);
  for (std::uint64_t* r : {&param_grad_, &param_grad2_}) *r = take(kMaxParams * 2);
  pixels_ = take(kMaxSamples * kPixels);
  labels_addr_ = take(kMaxSamples);
  values_ = take(kMaxLines * kLine.entries() * 2);
  indices_ = take(kMaxLines * kLine.index_words() * 4);
  end_ = at;
  if (end_ - params_.scratch > params_.scratch_bytes)
    throw Failure{"the scratch area (" + std::to_string(params_.scratch_bytes) + " B) is smaller than the " +
                  std::to_string(end_ - params_.scratch) + " B the probe's tensors need"};
}

// Activations in [-2, 2) (ReLU and max pooling take both branches), gradients in [-1, 1),
// batch-norm variances positive, labels within the classes, N:M lines with distinct indices.
void Probe::fill() {
  const auto halves = [&](std::uint64_t addr, std::size_t count, float lo, float hi) {
    std::vector<std::uint16_t> v(count);
    for (std::uint16_t& h : v) h = float_to_half(rng_.uniform(lo, hi));
    write(addr, v.data(), v.size());
  };
  const auto floats = [&](std::uint64_t addr, std::size_t count, float lo, float hi) {
    std::vector<float> v(count);
    for (float& f : v) f = rng_.uniform(lo, hi);
    write(addr, v.data(), v.size());
  };
  halves(x_, kMaxElements, -2, 2);
  halves(x2_, kMaxElements, -2, 2);
  for (std::uint64_t r : {dy_, grad_, temp_}) halves(r, kMaxElements, -1, 1);
  floats(master_, kMaxLines * kChannels, -0.1f, 0.1f);
  floats(gamma_, kMaxParams, 0.5f, 1.5f);
  floats(beta_, kMaxParams, -0.5f, 0.5f);
  floats(running_, kMaxParams, 0.1f, 1);
  for (std::uint64_t r : {bias_, pos_, cls_}) floats(r, kMaxParams, -0.1f, 0.1f);
  std::vector<std::uint8_t> bytes(kMaxSamples * kPixels);
  for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(rng_.next());
  write(pixels_, bytes.data(), bytes.size());
  for (std::size_t i = 0; i < kMaxSamples; ++i) bytes[i] = static_cast<std::uint8_t>(rng_.next() % kClasses);
  write(labels_addr_, bytes.data(), kMaxSamples);
  labels_.resize(12 * kLogitRows);
  for (std::uint8_t& l : labels_) l = static_cast<std::uint8_t>(rng_.next() % kClasses);

  halves(values_, kMaxLines * kLine.entries(), -1, 1);
  std::vector<std::uint32_t> words(kMaxLines * kLine.index_words());
  for (std::size_t l = 0; l < kMaxLines; ++l)
    for (std::uint32_t g = 0; g < kLine.groups(); ++g) {
      const std::uint32_t first = rng_.next() % kM, second = (first + 1 + rng_.next() % (kM - 1)) % kM;
      const std::uint32_t entry = g * kN;
      nm_set_index(words.data() + l * kLine.index_words(), entry, kLine.index_bits(), std::min(first, second));
      nm_set_index(words.data() + l * kLine.index_words(), entry + 1, kLine.index_bits(), std::max(first, second));
    }
  write(indices_, words.data(), words.size());
  // The largest tensor any kind stages, so that no timed run grows the staging buffer.
  half_.resize(kMaxElements);
}

// ---- the kinds whose work is more than a line ----------------------------------------------

// Runtime::load_batch: one read per sample in the epoch's order, its label, normalise, write.
void Probe::load_batch(std::uint32_t count) {
  const std::vector<std::uint32_t> samples = [&] {
    std::vector<std::uint32_t> order;
    epoch_order(kMaxSamples, 1, 0, order);
    return order;
  }();
  std::vector<std::uint8_t> raw(std::size_t{kPixels} * count), labels(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    read(pixels_ + std::uint64_t{samples[i]} * kPixels, raw.data() + std::size_t{i} * kPixels, kPixels);
    read(labels_addr_ + samples[i], &labels[i], 1);
    if (labels[i] >= kClasses) throw Failure{"a synthetic label is out of range"};
  }
  static const float mean[3] = {0.4802f, 0.4481f, 0.3975f}, stdev[3] = {0.2770f, 0.2691f, 0.2821f};
  std::vector<std::uint16_t> x(raw.size());
  host::normalise(raw.data(), raw.size(), 3, mean, stdev, x.data());
  write(y_, x.data(), x.size());
}

// Runtime::contribute_grad for a tensor whose gradient another layer already wrote
// (finish_data_grad): read it, add the rounded contribution, write it back.
void Probe::accumulate_grad(std::uint64_t grad, const std::vector<float>& dx) {
  std::vector<float> g = read_f16(grad, dx.size());
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] + round_to_half(dx[i]);
  write_f16(grad, g);
}

// Runtime::batchnorm_forward.
void Probe::batchnorm_forward(std::uint32_t images, bool training) {
  const std::size_t positions = std::size_t{images} * kSide * kSide;
  const std::vector<float> x = read_f16(x_, positions * kChannels);
  std::vector<float> running = read_f32(running_, 2 * std::size_t{kChannels});
  const host::BatchStats stats = training ? host::batch_stats(x.data(), positions, kChannels)
                                          : host::running_stats(running.data(), kChannels);
  std::vector<float> y(x.size());
  host::batchnorm_forward(x.data(), positions, kChannels, stats, read_f32(gamma_, kChannels).data(),
                          read_f32(beta_, kChannels).data(), y.data());
  write_f16(y_, y);
  if (!training) return;
  host::update_running(stats, positions, running.data());
  write(running_, running.data(), running.size());
}

// Runtime::batchnorm_backward (the input's first gradient contribution).
void Probe::batchnorm_backward(std::uint32_t images) {
  const std::size_t positions = std::size_t{images} * kSide * kSide;
  const std::vector<float> x = read_f16(x_, positions * kChannels);
  const std::vector<float> dy = read_f16(dy_, x.size());
  const host::BatchStats stats = host::batch_stats(x.data(), positions, kChannels);
  std::vector<float> dx(x.size()), dgamma(kChannels), dbeta(kChannels);
  host::batchnorm_backward(x.data(), dy.data(), positions, kChannels, stats, read_f32(gamma_, kChannels).data(),
                           dx.data(), dgamma.data(), dbeta.data());
  write_f16(param_grad_, dgamma);
  write_f16(param_grad2_, dbeta);
  write_f16(grad_, dx);
}

// Runtime::matmul_backward's SDGP rescale of the pruned dY, 2:8 along the channels.
void Probe::sdgp_rescale(std::uint32_t images) {
  const host::Shape shape{images, kSide, kSide, kChannels};
  const std::size_t lines = std::size_t{images} * kSide * kSide;
  const std::vector<float> dense = read_f16(dy_, shape.elements());
  std::vector<std::uint16_t> values(lines * kLine.entries());
  std::vector<std::uint32_t> indices(lines * kLine.index_words());
  read(values_, values.data(), values.size());
  read(indices_, indices.data(), indices.size());
  host::sdgp_rescale(dense.data(), shape, {values.data(), indices.data(), lines, kLine});
  write(values_, values.data(), values.size());
}

// Runtime::fold_sparse_decay: SR-STE's decay on the pruned weights, per weight (lines of Cin).
void Probe::fold_sparse_decay(std::uint32_t units) {
  const std::size_t lines = std::size_t{units} * 64, count = lines * kChannels;
  std::vector<std::uint16_t> values(lines * kLine.entries());
  std::vector<std::uint32_t> indices(lines * kLine.index_words());
  read(values_, values.data(), values.size());
  read(indices_, indices.data(), indices.size());
  std::vector<std::uint8_t> keep(count);
  host::nm_keep_flags({values.data(), indices.data(), lines, kLine}, keep.data());
  const std::vector<float> master = read_f32(master_, count);
  std::vector<float> grad = read_f16(grad_, count);
  const float coefficient = kLossScale * kSparseDecay;
  for (std::size_t i = 0; i < count; ++i)
    if (!keep[i]) {
      const float decay = coefficient * master[i];
      grad[i] = grad[i] + decay;
    }
  write_f16(grad_, grad);
}

// Runtime::refresh_masks for SR-STE: W~ expanded into the FP16 copy, per compressed entry.
void Probe::expand_weights(std::uint32_t units) {
  const std::size_t lines = std::size_t{units} * 64;
  std::vector<std::uint16_t> values(lines * kLine.entries()), dense(lines * kChannels);
  std::vector<std::uint32_t> indices(lines * kLine.index_words());
  read(values_, values.data(), values.size());
  read(indices_, indices.data(), indices.size());
  host::nm_expand({values.data(), indices.data(), lines, kLine}, dense.data());
  write(y_, dense.data(), dense.size());
}

// ---- the table -----------------------------------------------------------------------------

std::vector<Kind> Probe::kinds() {
  using F = HostCostField;
  const auto images = [](std::uint32_t u) { return std::uint64_t{u} * kImage; };
  const auto shape = [](std::uint32_t u) { return host::Shape{u, kSide, kSide, kChannels}; };
  std::vector<Kind> k;

  k.push_back({"input_normalise", "64x64x3 samples, per pixel (load_batch)", F::input, 1, 2, 6,
               [](std::uint32_t u) { return std::uint64_t{u} * kPixels; }, [this](std::uint32_t u) { load_batch(u); }});
  k.push_back({"sample_order", "an epoch's shuffle, per training sample (draw_order)", F::elementwise, 1, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kSamplesPerUnit; },
               [this](std::uint32_t u) { epoch_order(u * kSamplesPerUnit, 1, 0, order_); }});
  k.push_back({"relu_forward", "8x8x64 images", F::elementwise, 1, 4, 12, images, [this](std::uint32_t u) {
                 std::vector<std::uint16_t> x(u * kImage);
                 read(x_, x.data(), x.size());
                 host::relu_forward(x.data(), x.data(), x.size());
                 write(y_, x.data(), x.size());
               }});
  k.push_back({"relu_backward", "8x8x64 images, first gradient", F::elementwise, 1, 4, 12, images,
               [this](std::uint32_t u) {
                 std::vector<std::uint16_t> x(u * kImage), dy(x.size());
                 read(x_, x.data(), x.size());
                 read(dy_, dy.data(), dy.size());
                 host::relu_backward(x.data(), dy.data(), dy.data(), dy.size());
                 write(grad_, dy.data(), dy.size());
               }});
  k.push_back({"add_forward", "residual add of 8x8x64 images", F::elementwise, 1, 4, 12, images,
               [this](std::uint32_t u) {
                 std::vector<float> y = read_f16(x_, u * kImage);
                 host::add(y.data(), read_f16(x2_, y.size()).data(), y.data(), y.size());
                 write_f16(y_, y);
               }});
  k.push_back({"add_backward", "8x8x64 images, charged twice (both inputs)", F::elementwise, 1, 4, 12,
               [](std::uint32_t u) { return 2 * std::uint64_t{u} * kImage; },
               [this](std::uint32_t u) {
                 const std::vector<float> dy = read_f16(dy_, u * kImage);
                 write_f16(grad_, dy);
                 write_f16(temp_, dy);
               }});
  k.push_back({"grad_accumulate", "a second gradient contribution (finish_data_grad)", F::elementwise, 1, 4, 12,
               images, [this](std::uint32_t u) { accumulate_grad(grad_, read_f16(temp_, u * kImage)); }});
  k.push_back({"bias_forward", "rows of 64 outputs", F::elementwise, 1, 4, 12, images, [this](std::uint32_t u) {
                 const std::vector<float> bias = read_f32(bias_, kChannels);
                 std::vector<float> y = read_f16(y_, u * kImage);
                 host::bias_forward(y.data(), u * kImage / kChannels, kChannels, bias.data());
                 write_f16(y_, y);
               }});
  k.push_back({"fp32_to_fp16", "a split weight gradient's FP32 sum (Kernels::fp32_to_fp16)", F::elementwise, 1, 4,
               12, images, [this](std::uint32_t u) {
                 // Kernels::fp32_to_fp16 is private; host::narrow is its loop (float_to_half per element).
                 const std::vector<float> sum = read_f32(master_, u * kImage);
                 std::vector<std::uint16_t> half(sum.size());
                 host::narrow(sum.data(), half.data(), sum.size());
                 write(y_, half.data(), half.size());
               }});
  k.push_back({"embed_forward", "samples of 64 tokens x 192, per output element", F::elementwise, 1, 1, 3,
               [](std::uint32_t u) { return std::uint64_t{u} * kScores * kDim; },
               [this](std::uint32_t u) {
                 const std::vector<float> x = read_f16(x_, std::size_t{u} * kTokens * kDim);
                 std::vector<float> y(std::size_t{u} * kScores * kDim);
                 host::embed_forward(x.data(), {u, kTokens, kDim}, read_f32(pos_, std::size_t{kScores} * kDim).data(),
                                     read_f32(cls_, kDim).data(), y.data());
                 write_f16(y_, y);
               }});
  k.push_back({"embed_backward", "samples of 64 tokens x 192, per input element", F::elementwise, 1, 1, 3,
               [](std::uint32_t u) { return std::uint64_t{u} * kTokens * kDim; },
               [this](std::uint32_t u) {
                 const std::vector<float> dy = read_f16(dy_, std::size_t{u} * kScores * kDim);
                 std::vector<float> dx(std::size_t{u} * kTokens * kDim), dpos(std::size_t{kScores} * kDim), dcls(kDim);
                 host::embed_backward(dy.data(), {u, kTokens, kDim}, dx.data(), dpos.data(), dcls.data());
                 write_f16(param_grad_, dpos);
                 write_f16(param_grad2_, dcls);
                 write_f16(grad_, dx);
               }});
  k.push_back({"cls_token_forward", "samples of 65 tokens x 192, per output element", F::elementwise, 1, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kDim; },
               [this](std::uint32_t u) {
                 std::vector<float> y(std::size_t{u} * kDim);
                 for (std::uint32_t n = 0; n < u; ++n) {
                   const std::vector<float> first = read_f16(x_ + std::uint64_t{n} * kScores * kDim * 2, kDim);
                   std::copy(first.begin(), first.end(), y.begin() + std::size_t{n} * kDim);
                 }
                 write_f16(y_, y);
               }});
  k.push_back({"cls_token_backward", "samples of 65 tokens x 192, per input element", F::elementwise, 1, 1, 3,
               [](std::uint32_t u) { return std::uint64_t{u} * kScores * kDim; },
               [this](std::uint32_t u) {
                 const std::vector<float> dy = read_f16(dy_, std::size_t{u} * kDim);
                 std::vector<float> dx(std::size_t{u} * kScores * kDim);
                 for (std::uint32_t n = 0; n < u; ++n)
                   std::copy_n(dy.begin() + std::size_t{n} * kDim, kDim, dx.begin() + std::size_t{n} * kScores * kDim);
                 write_f16(grad_, dx);
               }});

  k.push_back({"maxpool_forward", "8x8x64 images, 2x2 windows, stride 2, per input element", F::pool, 1, 4, 12, images,
               [this, shape](std::uint32_t u) {
                 const std::vector<float> x = read_f16(x_, u * kImage);
                 std::vector<float> y(host::pool_output(shape(u), kPool, kPool).elements());
                 host::maxpool_forward(x.data(), shape(u), kPool, kPool, y.data());
                 write_f16(y_, y);
               }});
  k.push_back({"maxpool_backward", "as maxpool_forward", F::pool, 1, 4, 12, images, [this, shape](std::uint32_t u) {
                 const std::vector<float> x = read_f16(x_, u * kImage);
                 std::vector<float> dx(x.size());
                 const std::vector<float> dy = read_f16(dy_, host::pool_output(shape(u), kPool, kPool).elements());
                 host::maxpool_backward(x.data(), shape(u), kPool, kPool, dy.data(), dx.data());
                 write_f16(grad_, dx);
               }});
  k.push_back({"avgpool_forward", "as maxpool_forward", F::pool, 1, 4, 12, images, [this, shape](std::uint32_t u) {
                 const std::vector<float> x = read_f16(x_, u * kImage);
                 std::vector<float> y(host::pool_output(shape(u), kPool, kPool).elements());
                 host::avgpool_forward(x.data(), shape(u), kPool, kPool, y.data());
                 write_f16(y_, y);
               }});
  k.push_back({"avgpool_backward", "as maxpool_forward", F::pool, 1, 4, 12, images, [this, shape](std::uint32_t u) {
                 // The runtime reads x for either pooling kind.
                 const std::vector<float> x = read_f16(x_, u * kImage);
                 std::vector<float> dx(x.size());
                 const std::vector<float> dy = read_f16(dy_, host::pool_output(shape(u), kPool, kPool).elements());
                 host::avgpool_backward(shape(u), kPool, kPool, dy.data(), dx.data());
                 write_f16(grad_, dx);
               }});

  k.push_back({"softmax_ce", "rows of 200 logits, with the gradient, per logit", F::softmax, 1, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kLogitRows * kClasses; },
               [this](std::uint32_t u) {
                 const std::uint32_t rows = u * kLogitRows;
                 const std::vector<float> z = read_f16(x_, std::size_t{rows} * kClasses);
                 std::vector<float> dz(z.size());
                 host::softmax_ce(z.data(), labels_.data(), rows, kClasses, kLossScale, dz.data());
                 write_f16(grad_, dz);
               }});
  const float score_scale = 1.0f / 8.0f;  // 1 / sqrt(head dimension 64)
  static_assert(kHeadDim == 64, "score_scale is 1 / sqrt(kHeadDim)");
  k.push_back({"attention_softmax", "rows of 65 scores", F::softmax, 1, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kScoreRows * kScores; },
               [this, score_scale](std::uint32_t u) {
                 std::vector<float> s = read_f16(x_, std::size_t{u} * kScoreRows * kScores);
                 host::attention_softmax(s.data(), s.size() / kScores, kScores, score_scale);
                 write_f16(y_, s);
               }});
  k.push_back({"gelu_forward", "per element", F::softmax, 1, 4, 12, images, [this](std::uint32_t u) {
                 std::vector<float> x = read_f16(x_, u * kImage);
                 host::gelu_forward(x.data(), x.data(), x.size());
                 write_f16(y_, x);
               }});
  k.push_back({"gelu_backward", "per element, first gradient", F::softmax, 1, 4, 12, images, [this](std::uint32_t u) {
                 const std::vector<float> dy = read_f16(dy_, u * kImage);
                 std::vector<float> dx(dy.size());
                 host::gelu_backward(read_f16(x_, dy.size()).data(), dy.data(), dx.data(), dx.size());
                 write_f16(grad_, dx);
               }});

  k.push_back({"batchnorm_forward", "training: batch statistics, 8x8x64 images", F::reduce, 3, 4, 12, images,
               [this](std::uint32_t u) { batchnorm_forward(u, true); }});
  k.push_back({"batchnorm_forward_eval", "evaluation: running statistics", F::reduce, 1, 4, 12, images,
               [this](std::uint32_t u) { batchnorm_forward(u, false); }});
  k.push_back({"batchnorm_backward", "8x8x64 images", F::reduce, 4, 4, 12, images,
               [this](std::uint32_t u) { batchnorm_backward(u); }});
  k.push_back({"bias_backward", "rows of 64 outputs", F::reduce, 1, 4, 12, images, [this](std::uint32_t u) {
                 const std::vector<float> dy = read_f16(dy_, u * kImage);
                 std::vector<float> db(kChannels);
                 host::bias_backward(dy.data(), u * kImage / kChannels, kChannels, db.data());
                 write_f16(param_grad_, db);
               }});
  k.push_back({"sdgp_rescale", "dY of 8x8x64 images, 2:8 along C, per dense element", F::reduce, 1, 4, 12, images,
               [this](std::uint32_t u) { sdgp_rescale(u); }});
  k.push_back({"layernorm_forward", "rows of 192 features", F::reduce, 3, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kNormRows * kDim; },
               [this](std::uint32_t u) {
                 const std::size_t rows = std::size_t{u} * kNormRows, count = rows * kDim;
                 const std::vector<float> x = read_f16(x_, count);
                 std::vector<float> y(count);
                 host::layernorm_forward(x.data(), rows, kDim, read_f32(gamma_, kDim).data(),
                                         read_f32(beta_, kDim).data(), y.data());
                 write_f16(y_, y);
               }});
  k.push_back({"layernorm_backward", "rows of 192 features, first gradient", F::reduce, 4, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kNormRows * kDim; },
               [this](std::uint32_t u) {
                 const std::size_t rows = std::size_t{u} * kNormRows, count = rows * kDim;
                 const std::vector<float> dy = read_f16(dy_, count);
                 std::vector<float> dx(count), dgamma(kDim), dbeta(kDim);
                 host::layernorm_backward(read_f16(x_, count).data(), dy.data(), rows, kDim,
                                          read_f32(gamma_, kDim).data(), dx.data(), dgamma.data(), dbeta.data());
                 write_f16(param_grad_, dgamma);
                 write_f16(param_grad2_, dbeta);
                 write_f16(grad_, dx);
               }});
  k.push_back({"attention_score_grad", "rows of 65 scores", F::reduce, 2, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * kScoreRows * kScores; },
               [this, score_scale](std::uint32_t u) {
                 std::vector<float> d = read_f16(dy_, std::size_t{u} * kScoreRows * kScores);
                 host::attention_score_grad(read_f16(x_, d.size()).data(), d.data(), d.size() / kScores, kScores,
                                            score_scale);
                 write_f16(grad_, d);
               }});

  k.push_back({"sparse_decay_fold", "2:8 weights, lines of 64, per weight", F::nm_decode, 1, 4, 12, images,
               [this](std::uint32_t u) { fold_sparse_decay(u); }});
  k.push_back({"nm_expand", "2:8 weights, lines of 64, per compressed entry (SR-STE)", F::nm_decode, 1, 4, 12,
               [](std::uint32_t u) { return std::uint64_t{u} * 64 * kLine.entries(); },
               [this](std::uint32_t u) { expand_weights(u); }});
  return k;
}

// ---- measuring -----------------------------------------------------------------------------

// As Runtime::host_work: the work with its DDR accesses uncharged, then the cost model's charge
// (nothing on the RV64 core, whose time is its instructions).
std::uint64_t Probe::timed_run(const Kind& kind, std::uint32_t units) {
  const std::uint64_t elements = kind.elements(units);
  const double cycles_per_element = cost_of(boot_.host_cost, kind.field) * kind.multiple;
  const std::uint64_t start = hal_.now_ps();
  {
    const CostedHostWork costed(hal_);
    kind.work(units);
  }
  hal_.charge_host_time(static_cast<std::uint64_t>(cycles_per_element * static_cast<double>(elements) *
                                                   static_cast<double>(boot_.host_cycle_ps)));
  return hal_.now_ps() - start;
}

// A first run at the large size takes what happens once per program (the conversion table, the
// heap growing to its size) out of the two timed runs.
HostCostRecord Probe::measure(const Kind& kind) {
  hal_.phase(kind.name);
  HostCostRecord r;
  std::snprintf(r.kind, sizeof r.kind, "%s", kind.name);
  std::snprintf(r.detail, sizeof r.detail, "%s", kind.detail);
  r.field = kind.field;
  r.multiple = kind.multiple;
  timed_run(kind, kind.large_units);
  r.small_elements = kind.elements(kind.small_units);
  r.large_elements = kind.elements(kind.large_units);
  r.small_ps = timed_run(kind, kind.small_units);
  r.large_ps = timed_run(kind, kind.large_units);
  return r;
}

void Probe::publish() {
  const BusStatus s = hal_.write_block(params_.result, &result_, sizeof result_);
  if (s != BusStatus::ok)
    throw Failure{"write of the result block at DDR " + std::to_string(params_.result) + ": " + to_string(s)};
}

int Probe::run() {
  result_.magic = HostCostResult::kMagic;
  result_.host_cycle_ps = boot_.host_cycle_ps;
  try {
    publish();
    lay_out();
    fill();
    const std::vector<Kind> table = kinds();
    assert(table.size() <= HostCostResult::kCapacity);
    for (const Kind& kind : table) {
      result_.records[result_.count++] = measure(kind);
      char line[160];
      const HostCostRecord& r = result_.records[result_.count - 1];
      std::snprintf(line, sizeof line, "host cost: %s: %llu ps for %llu elements, %llu ps for %llu", r.kind,
                    static_cast<unsigned long long>(r.small_ps), static_cast<unsigned long long>(r.small_elements),
                    static_cast<unsigned long long>(r.large_ps), static_cast<unsigned long long>(r.large_elements));
      hal_.log(LogLevel::debug, line);
    }
    result_.status = HostCostResult::finished;
    publish();
    return 0;
  } catch (const Failure& f) {
    hal_.log(LogLevel::error, ("host cost probe: " + f.message).c_str());
    result_.status = HostCostResult::failed;
    std::snprintf(result_.message, sizeof result_.message, "%s", f.message.c_str());
    hal_.write_block(params_.result, &result_, sizeof result_);  // best effort: the program is ending
    return 1;
  }
}

}  // namespace

int run_host_cost_probe(Hal& hal, const BootInfo& boot, const HostCostParams& params) {
  Probe probe(hal, boot, params);
  return probe.run();
}

}  // namespace cestvp::fw
