// The training runtime: docs/training.md says what each step computes; this file says in which
// order the firmware asks the SAT (through the kernels) and the host layers to compute it.
#include "cestvp/train_runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cestvp/descriptor.h"
#include "cestvp/dma_driver.h"
#include "cestvp/host_layers.h"
#include "cestvp/irq.h"
#include "cestvp/model.h"
#include "cestvp/sample_order.h"
#include "cestvp/sat_driver.h"
#include "cestvp/sat_probe.h"
#include "cestvp/sat_reference.h"
#include "cestvp/train_kernels.h"

namespace cestvp::fw {

namespace {

using namespace model;

constexpr std::uint64_t align4k(std::uint64_t bytes) { return (bytes + 4095) & ~std::uint64_t{4095}; }

enum class ResultStatus : std::uint32_t { running = 0, finished = 1, failed = 2 };

// A step that cannot go on: its message ends the run (written to the result area).
struct Failure {
  std::string message;
};

class Runtime {
 public:
  Runtime(Hal& hal, const BootInfo& boot, const TrainingParams& params)
      : hal_(hal), boot_(boot), params_(params), timing_(params.mode == SatMode::timing) {}

  int run();

 private:
  void read_descriptor();
  void start();
  void allocate_scratch();

  void train_iteration(std::uint32_t t);
  void evaluate(std::uint32_t after);
  host::LossResult forward(std::uint32_t batch, bool training);
  void backward(std::uint32_t batch);
  void update(std::uint32_t t);
  void refresh_masks(const Layer& layer);
  void snapshot(std::uint32_t after);

  void forward_layer(const Layer& layer, std::uint32_t batch, bool training);
  void backward_layer(const Layer& layer, std::uint32_t batch);
  void matmul_forward(const Layer& layer, const ConvShape& s);
  void matmul_backward(const Layer& layer, const ConvShape& s);
  void batchnorm_forward(const Layer& layer, std::uint32_t batch, bool training);
  void batchnorm_backward(const Layer& layer, std::uint32_t batch);
  // A gradient contribution to tensor t (FP32 values, rounded here): stored if it is the first
  // of this backward pass, else added (docs/training.md "several consumers"). Host work.
  void contribute_grad(std::uint32_t t, const std::vector<float>& dx);
  void transformer_forward(const Layer& layer, std::uint32_t batch);
  void transformer_backward(const Layer& layer, std::uint32_t batch);
  void attention_forward(const Layer& layer, std::uint32_t batch);
  void attention_backward(const Layer& layer, std::uint32_t batch);
  // Where a kernel writes tensor t's data gradient: its gradient, or scratch when other layers
  // contribute to it too; finish_data_grad then adds the `count` values written there.
  std::uint64_t data_grad_target(std::uint32_t t) const { return accumulates(t) ? grad_temp_ : tensors_[t].grad_addr; }
  void finish_data_grad(std::uint32_t t, std::size_t count);
  bool is_view(const Layer& l) const {
    const LayerKind kind = static_cast<LayerKind>(l.kind);
    return kind == LayerKind::flatten || kind == LayerKind::tokens;
  }
  bool accumulates(std::uint32_t t) const { return consumers_[t] > 1; }
  host::LossResult loss(const Layer& layer, std::uint32_t batch, bool training);
  // Samples samples[first, first + count) into the input tensor and batch_labels_ (host work).
  void load_batch(const std::vector<std::uint32_t>& samples, std::size_t first, std::uint64_t images,
                  std::uint64_t labels, std::uint32_t count);
  void draw_order(std::uint32_t epoch);
  void fold_sparse_decay(const Param& p);

  // Scheme questions about a layer.
  bool sparse(const Layer& l) const { return (l.flags & kLayerSparse) != 0 && scheme_ != Scheme::dense; }
  bool masked(const Layer& l) const { return sparse(l) && (scheme_ == Scheme::srste || scheme_ == Scheme::bdwp); }
  bool sdgp_pruned(const Layer& l, const ConvShape& s) const {
    return sparse(l) && scheme_ == Scheme::sdgp && static_cast<LayerKind>(l.kind) == LayerKind::conv2d && s.cin > 3;
  }
  ConvShape conv_shape(const Layer& layer, std::uint32_t batch) const;
  float lr_at(std::uint32_t t) const;

  // Host data access: tensors cross DDR as FP16 (FP32 for parameters).
  std::vector<float> read_f16(std::uint64_t addr, std::size_t count);
  void write_f16(std::uint64_t addr, const std::vector<float>& values);
  std::vector<float> read_f32(std::uint64_t addr, std::size_t count);
  template <typename T>
  void read(std::uint64_t addr, T* dst, std::size_t count);
  template <typename T>
  void write(std::uint64_t addr, const T* src, std::size_t count);
  // Runs host work (skipped in timing mode) and charges its modelled cost.
  template <typename F>
  void host_work(double cycles_per_element, std::size_t elements, F work);
  void check(const KernelStatus& status, const char* what, const Layer& layer);
  [[noreturn]] void fail(const std::string& message) { throw Failure{message}; }

  void write_result_header();
  void finish(ResultStatus status, const std::string& message);

  // The per-layer profile (model::ProfileRecord): enter() closes the phase the runtime was in
  // and opens (row, pass); row is a layer's index, or runtime_row() for the runtime itself.
  void enter(std::uint32_t row, Pass pass);
  void enter(const Layer& l, Pass pass) { enter(static_cast<std::uint32_t>(&l - layers_.data()), pass); }
  std::uint32_t runtime_row() const { return static_cast<std::uint32_t>(layers_.size()); }
  void write_profile();

  Hal& hal_;
  const BootInfo& boot_;
  const TrainingParams params_;
  const bool timing_;

  Header h_;
  std::vector<Tensor> tensors_;
  std::vector<Param> params_table_;
  std::vector<Layer> layers_;
  Scheme scheme_ = Scheme::dense;

  Irq irq_{hal_, boot_.irqc.base};
  DmaDriver dma_{hal_, irq_, boot_, params_.timeout_ns};
  SatDriver sat_{hal_, irq_, boot_, params_.timeout_ns};
  Kernels* kernels_ = nullptr;
  std::uint64_t kernel_scratch_bytes_ = 0, dy_values_ = 0, dy_indices_ = 0, grad_temp_ = 0;
  std::vector<std::uint32_t> consumers_;  // per tensor: layers whose backward pass contributes to its gradient
  std::vector<bool> grad_written_;        // per tensor, in the current backward pass

  std::vector<std::uint8_t> batch_labels_;
  std::vector<std::uint32_t> order_;  // the current epoch's sample order; empty in timing mode
  std::vector<std::uint16_t> half_;  // staging of FP16 tensors between DDR and the host layers
  ResultHeader result_;
  std::uint64_t host_ps_ = 0;
  std::uint32_t snapshots_done_ = 0;

  // Where the current phase started: time and the kernels' and engines' counts then.
  struct ProfileMark {
    std::uint64_t at_ps = 0, host_ps = 0, dma_wait_ps = 0;
    KernelCounts counts;
    EngineCounters engine[3];
  };
  std::vector<ProfileRecord> profile_;  // [rows][kPassCount]
  std::uint32_t phase_ = 0;             // index into profile_ of the current phase
  ProfileMark mark_;
};

// ---- data access -------------------------------------------------------------------------------

template <typename T>
void Runtime::read(std::uint64_t addr, T* dst, std::size_t count) {
  const BusStatus s = hal_.read_block(addr, dst, count * sizeof(T));
  if (s != BusStatus::ok) fail("read of " + std::to_string(count * sizeof(T)) + " B at DDR " + std::to_string(addr) + ": " + to_string(s));
}

template <typename T>
void Runtime::write(std::uint64_t addr, const T* src, std::size_t count) {
  const BusStatus s = hal_.write_block(addr, src, count * sizeof(T));
  if (s != BusStatus::ok) fail("write of " + std::to_string(count * sizeof(T)) + " B at DDR " + std::to_string(addr) + ": " + to_string(s));
}

std::vector<float> Runtime::read_f16(std::uint64_t addr, std::size_t count) {
  if (half_.size() < count) half_.resize(count);
  read(addr, half_.data(), count);
  return host::widen(half_.data(), count);
}

void Runtime::write_f16(std::uint64_t addr, const std::vector<float>& values) {
  if (half_.size() < values.size()) half_.resize(values.size());
  host::narrow(values.data(), half_.data(), values.size());
  write(addr, half_.data(), values.size());
}

std::vector<float> Runtime::read_f32(std::uint64_t addr, std::size_t count) {
  std::vector<float> out(count);
  read(addr, out.data(), count);
  return out;
}

template <typename F>
void Runtime::host_work(double cycles_per_element, std::size_t elements, F work) {
  const std::uint64_t start = hal_.now_ps();
  if (!timing_) {
    const CostedHostWork costed(hal_);
    work();
  }
  hal_.charge_host_time(static_cast<std::uint64_t>(cycles_per_element * static_cast<double>(elements) *
                                                   static_cast<double>(boot_.host_cycle_ps)));
  host_ps_ += hal_.now_ps() - start;
}

void Runtime::check(const KernelStatus& status, const char* what, const Layer& layer) {
  if (!status.ok)
    fail(std::string(what) + " of layer " + std::to_string(&layer - layers_.data()) + " (" +
         to_string(static_cast<LayerKind>(layer.kind)) + "): " + status.problem);
}

// ---- set-up ------------------------------------------------------------------------------------

void Runtime::read_descriptor() {
  Descriptor d;
  const std::string problem = model::read_descriptor(hal_, params_.model_addr, boot_.ddr, d);
  if (!problem.empty()) fail(problem);
  h_ = d.header;
  tensors_ = std::move(d.tensors);
  params_table_ = std::move(d.params);
  layers_ = std::move(d.layers);
  consumers_ = std::move(d.consumers);
  result_ = d.result;
  scheme_ = static_cast<Scheme>(h_.scheme);
}

// Scratch: the kernels' part first, then SDGP's pruned output gradient (values, indices).
void Runtime::allocate_scratch() {
  std::uint64_t weight = 0, values = 0, indices = 0;
  for (const Layer& l : layers_) {
    if (l.weight == kNone) continue;
    weight = std::max<std::uint64_t>(weight, params_table_[l.weight].count);
    const ConvShape s = conv_shape(l, h_.batch);
    if (!sdgp_pruned(l, s)) continue;
    const std::uint64_t lines = std::uint64_t{s.n} * s.oh() * s.ow();
    const NmLine line{s.cout, s.cout, h_.n, h_.m};
    values = std::max(values, values_bytes(lines, line));
    indices = std::max(indices, index_bytes(lines, line));
  }
  std::uint64_t temp = 0;  // a data gradient waiting to be added to another contribution
  for (std::uint32_t t = 0; t < tensors_.size(); ++t)
    if (accumulates(t)) temp = std::max(temp, tensors_[t].elements() * 2);
  kernel_scratch_bytes_ = align4k(Kernels::scratch_bytes(weight));
  dy_values_ = h_.scratch + kernel_scratch_bytes_;
  dy_indices_ = dy_values_ + align4k(values);
  grad_temp_ = dy_indices_ + align4k(indices);
  if (grad_temp_ + align4k(temp) > h_.scratch + h_.scratch_bytes)
    fail("the descriptor's scratch area (" + std::to_string(h_.scratch_bytes) + " B) is too small");
}

// The loader placed the record arrays and wrote their addresses and capacities (checked with
// the descriptor).
void Runtime::start() {
  result_.magic = kMagic;
  result_.status = static_cast<std::uint32_t>(ResultStatus::running);
  result_.iterations_done = result_.evals_done = 0;
  write_result_header();
}

// ---- one iteration -----------------------------------------------------------------------------

ConvShape Runtime::conv_shape(const Layer& l, std::uint32_t batch) const {
  const Tensor& in = tensors_[l.in];
  const Param& w = params_table_[l.weight];
  ConvShape s;
  s.n = batch, s.h = in.h, s.w = in.w, s.cin = in.c, s.cout = w.cout;
  if (static_cast<LayerKind>(l.kind) == LayerKind::conv2d) s.kh = l.a, s.kw = l.b, s.stride = l.c, s.pad = l.d;
  return s;
}

float Runtime::lr_at(std::uint32_t t) const {
  const double lr = h_.lr;
  switch (static_cast<LrSchedule>(h_.lr_schedule)) {
    case LrSchedule::cosine: return static_cast<float>(lr * 0.5 * (1 + std::cos(M_PI * t / h_.iterations)));
    case LrSchedule::step: return static_cast<float>(lr * std::pow(h_.lr_gamma, h_.lr_step ? t / h_.lr_step : 0));
    case LrSchedule::constant: break;
  }
  return h_.lr;
}

void Runtime::load_batch(const std::vector<std::uint32_t>& order, std::size_t first, std::uint64_t images,
                         std::uint64_t labels, std::uint32_t count) {
  const Tensor& input = tensors_[h_.input_tensor];
  const std::size_t pixels = std::size_t{h_.image_h} * h_.image_w * h_.image_c;
  batch_labels_.resize(count);
  host_work(boot_.host_cost.input, pixels * count, [&] {
    std::vector<std::uint8_t> raw(pixels * count);
    const std::uint32_t* samples = order.data() + first;
    for (std::uint32_t i = 0; i < count; ++i) {
      read(images + std::uint64_t{samples[i]} * pixels, raw.data() + i * pixels, pixels);
      read(labels + samples[i], &batch_labels_[i], 1);
      if (batch_labels_[i] >= h_.classes)
        fail("sample " + std::to_string(samples[i]) + " has label " + std::to_string(batch_labels_[i]) +
             ", not one of the " + std::to_string(h_.classes) + " classes");
    }
    std::vector<std::uint16_t> x(raw.size());
    host::normalise(raw.data(), raw.size(), h_.image_c, h_.mean, h_.stdev, x.data());
    write(input.addr, x.data(), x.size());
  });
}

host::LossResult Runtime::forward(std::uint32_t batch, bool training) {
  host::LossResult result;
  for (const Layer& l : layers_) {
    enter(l, training ? Pass::forward : Pass::evaluate);
    if (static_cast<LayerKind>(l.kind) == LayerKind::softmax_ce) result = loss(l, batch, training);
    else forward_layer(l, batch, training);
  }
  return result;
}

void Runtime::backward(std::uint32_t batch) {
  grad_written_.assign(tensors_.size(), false);
  for (auto l = layers_.rbegin(); l != layers_.rend(); ++l) {
    if (static_cast<LayerKind>(l->kind) == LayerKind::softmax_ce) continue;
    enter(*l, Pass::backward_data);
    backward_layer(*l, batch);
  }
}

// Host work: one draw and one swap per sample, charged as an elementwise operation each. Timing
// mode reads no sample, so it charges the time without drawing (order_ stays empty).
void Runtime::draw_order(std::uint32_t epoch) {
  host_work(boot_.host_cost.elementwise, h_.train_count,
            [&] { epoch_order(h_.train_count, h_.order_seed, epoch, order_); });
}

void Runtime::train_iteration(std::uint32_t t) {
  enter(runtime_row(), Pass::forward);
  const std::uint32_t batches = h_.train_count / h_.batch;  // per epoch (the descriptor has at least one)
  const std::uint32_t step = t % batches;
  if (step == 0) draw_order(t / batches);
  load_batch(order_, std::size_t{step} * h_.batch, h_.train_images, h_.train_labels, h_.batch);
  const host::LossResult loss = forward(h_.batch, true);
  backward(h_.batch);
  update(t);
  enter(runtime_row(), Pass::other);

  IterationRecord record;
  record.iteration = t;
  record.loss = static_cast<float>(loss.loss_sum / h_.batch);
  record.accuracy = static_cast<float>(loss.correct) / static_cast<float>(h_.batch);
  record.lr = lr_at(t);
  record.end_ps = hal_.now_ps();
  write(result_.iteration_records + std::uint64_t{t} * sizeof(IterationRecord), &record, 1);
  result_.iterations_done = t + 1;
  write_result_header();
  if (params_.log_interval && (t + 1) % params_.log_interval == 0) {
    char line[160];
    std::snprintf(line, sizeof line, "iteration %u/%u: loss %.4f, batch accuracy %.3f, lr %.5g", t + 1,
                  h_.iterations, record.loss, record.accuracy, record.lr);
    hal_.log(LogLevel::debug, line);
  }
}

void Runtime::evaluate(std::uint32_t after) {
  if (result_.evals_done >= result_.eval_capacity) fail("the result area has no room for another evaluation");
  const std::uint32_t total = h_.eval_samples ? std::min(h_.eval_samples, h_.test_count) : h_.test_count;
  double loss_sum = 0;
  std::uint32_t correct = 0;
  std::vector<std::uint32_t> samples(h_.batch);
  for (std::uint32_t first = 0; first < total; first += h_.batch) {
    const std::uint32_t count = std::min(h_.batch, total - first);
    for (std::uint32_t i = 0; i < count; ++i) samples[i] = first + i;
    enter(runtime_row(), Pass::evaluate);
    load_batch(samples, 0, h_.test_images, h_.test_labels, count);
    const host::LossResult r = forward(count, false);
    loss_sum += r.loss_sum;
    correct += r.correct;
  }
  enter(runtime_row(), Pass::other);
  EvalRecord record;
  record.iteration = after;
  record.samples = total;
  record.loss = total ? static_cast<float>(loss_sum / total) : 0;
  record.accuracy = total ? static_cast<float>(correct) / static_cast<float>(total) : 0;
  record.end_ps = hal_.now_ps();
  write(result_.eval_records + std::uint64_t{result_.evals_done} * sizeof(EvalRecord), &record, 1);
  ++result_.evals_done;
  write_result_header();
  char line[160];
  std::snprintf(line, sizeof line, "evaluation after %u iterations: test loss %.4f, accuracy %.4f (%u samples)", after,
                record.loss, record.accuracy, total);
  hal_.log(LogLevel::debug, line);
}

// ---- layers ------------------------------------------------------------------------------------

void Runtime::forward_layer(const Layer& l, std::uint32_t batch, bool training) {
  const Tensor& in = tensors_[l.in];
  const host::Shape shape{batch, in.h, in.w, in.c};
  switch (static_cast<LayerKind>(l.kind)) {
    case LayerKind::conv2d:
    case LayerKind::linear: return matmul_forward(l, conv_shape(l, batch));
    case LayerKind::flatten:
    case LayerKind::tokens: return;  // a view: same bytes
    case LayerKind::embed:
    case LayerKind::layernorm:
    case LayerKind::gelu:
    case LayerKind::cls_token: return transformer_forward(l, batch);
    case LayerKind::attention: return attention_forward(l, batch);
    case LayerKind::relu:
      return host_work(boot_.host_cost.elementwise, shape.elements(), [&] {
        std::vector<std::uint16_t> x(shape.elements());
        read(in.addr, x.data(), x.size());
        host::relu_forward(x.data(), x.data(), x.size());
        write(tensors_[l.out].addr, x.data(), x.size());
      });
    case LayerKind::maxpool:
    case LayerKind::avgpool: {
      const bool max = static_cast<LayerKind>(l.kind) == LayerKind::maxpool;
      return host_work(boot_.host_cost.pool, shape.elements(), [&] {
        const std::vector<float> x = read_f16(in.addr, shape.elements());
        std::vector<float> y(host::pool_output(shape, l.a, l.c).elements());
        if (max) host::maxpool_forward(x.data(), shape, l.a, l.c, y.data());
        else host::avgpool_forward(x.data(), shape, l.a, l.c, y.data());
        write_f16(tensors_[l.out].addr, y);
      });
    }
    case LayerKind::batchnorm: return batchnorm_forward(l, batch, training);
    case LayerKind::add:
      return host_work(boot_.host_cost.elementwise, shape.elements(), [&] {
        std::vector<float> y = read_f16(in.addr, shape.elements());
        host::add(y.data(), read_f16(tensors_[l.in2].addr, y.size()).data(), y.data(), y.size());
        write_f16(tensors_[l.out].addr, y);
      });
    case LayerKind::softmax_ce: break;
  }
}

void Runtime::batchnorm_forward(const Layer& l, std::uint32_t batch, bool training) {
  const Tensor& in = tensors_[l.in];
  const std::size_t positions = std::size_t{batch} * in.h * in.w;
  const Param& state = params_table_[l.a];
  host_work(boot_.host_cost.reduce * (training ? 3 : 1), positions * in.c, [&] {
    const std::vector<float> x = read_f16(in.addr, positions * in.c);
    std::vector<float> running = read_f32(state.master, 2 * std::size_t{in.c});
    const host::BatchStats stats = training ? host::batch_stats(x.data(), positions, in.c)
                                            : host::running_stats(running.data(), in.c);
    std::vector<float> y(x.size());
    host::batchnorm_forward(x.data(), positions, in.c, stats, read_f32(params_table_[l.weight].master, in.c).data(),
                            read_f32(params_table_[l.bias].master, in.c).data(), y.data());
    write_f16(tensors_[l.out].addr, y);
    if (!training) return;
    host::update_running(stats, positions, running.data());
    write(state.master, running.data(), running.size());
  });
}

void Runtime::batchnorm_backward(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  const std::size_t positions = std::size_t{batch} * in.h * in.w;
  host_work(boot_.host_cost.reduce * 4, positions * in.c, [&] {
    const std::vector<float> x = read_f16(in.addr, positions * in.c);
    const std::vector<float> dy = read_f16(tensors_[l.out].grad_addr, x.size());
    const host::BatchStats stats = host::batch_stats(x.data(), positions, in.c);
    std::vector<float> dx(x.size()), dgamma(in.c), dbeta(in.c);
    host::batchnorm_backward(x.data(), dy.data(), positions, in.c, stats,
                             read_f32(params_table_[l.weight].master, in.c).data(), dx.data(), dgamma.data(), dbeta.data());
    write_f16(params_table_[l.weight].grad, dgamma);
    write_f16(params_table_[l.bias].grad, dbeta);
    if (in.grad_addr) contribute_grad(l.in, dx);
  });
}

void Runtime::transformer_forward(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  const Tensor& out = tensors_[l.out];
  const std::size_t rows = std::size_t{batch} * in.h * in.w, count = rows * in.c;
  const host::Tokens tokens{batch, in.w, in.c};
  switch (static_cast<LayerKind>(l.kind)) {
    case LayerKind::embed:
      return host_work(boot_.host_cost.elementwise, std::size_t{batch} * out.w * out.c, [&] {
        const std::vector<float> x = read_f16(in.addr, count);
        std::vector<float> y(std::size_t{batch} * out.w * out.c);
        host::embed_forward(x.data(), tokens, read_f32(params_table_[l.weight].master, std::size_t{out.w} * out.c).data(),
                            read_f32(params_table_[l.bias].master, out.c).data(), y.data());
        write_f16(out.addr, y);
      });
    case LayerKind::layernorm:
      return host_work(boot_.host_cost.reduce * 3, count, [&] {
        const std::vector<float> x = read_f16(in.addr, count);
        std::vector<float> y(count);
        host::layernorm_forward(x.data(), rows, in.c, read_f32(params_table_[l.weight].master, in.c).data(),
                                read_f32(params_table_[l.bias].master, in.c).data(), y.data());
        write_f16(out.addr, y);
      });
    case LayerKind::gelu:
      return host_work(boot_.host_cost.softmax, count, [&] {
        std::vector<float> x = read_f16(in.addr, count);
        host::gelu_forward(x.data(), x.data(), count);
        write_f16(out.addr, x);
      });
    case LayerKind::cls_token:
      return host_work(boot_.host_cost.elementwise, std::size_t{batch} * in.c, [&] {
        std::vector<float> y(std::size_t{batch} * in.c);
        for (std::uint32_t n = 0; n < batch; ++n) {
          const std::vector<float> first = read_f16(in.addr + std::uint64_t{n} * in.w * in.c * 2, in.c);
          std::copy(first.begin(), first.end(), y.begin() + std::size_t{n} * in.c);
        }
        write_f16(out.addr, y);
      });
    default: break;
  }
}

void Runtime::transformer_backward(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  const Tensor& out = tensors_[l.out];
  const std::size_t rows = std::size_t{batch} * in.h * in.w, count = rows * in.c;
  const std::size_t out_count = std::size_t{batch} * out.h * out.w * out.c;
  const LayerKind kind = static_cast<LayerKind>(l.kind);
  const double cost = kind == LayerKind::gelu        ? boot_.host_cost.softmax
                      : kind == LayerKind::layernorm ? 4 * boot_.host_cost.reduce
                                                     : boot_.host_cost.elementwise;
  host_work(cost, count, [&] {
    const std::vector<float> dy = read_f16(out.grad_addr, out_count);
    std::vector<float> dx(count);
    switch (kind) {
      case LayerKind::embed: {
        std::vector<float> dpos(std::size_t{out.w} * out.c), dcls(out.c);
        host::embed_backward(dy.data(), {batch, in.w, in.c}, dx.data(), dpos.data(), dcls.data());
        write_f16(params_table_[l.weight].grad, dpos);
        write_f16(params_table_[l.bias].grad, dcls);
        break;
      }
      case LayerKind::layernorm: {
        std::vector<float> dgamma(in.c), dbeta(in.c);
        host::layernorm_backward(read_f16(in.addr, count).data(), dy.data(), rows, in.c,
                                 read_f32(params_table_[l.weight].master, in.c).data(), dx.data(), dgamma.data(),
                                 dbeta.data());
        write_f16(params_table_[l.weight].grad, dgamma);
        write_f16(params_table_[l.bias].grad, dbeta);
        break;
      }
      case LayerKind::gelu: host::gelu_backward(read_f16(in.addr, count).data(), dy.data(), dx.data(), count); break;
      case LayerKind::cls_token:
        for (std::uint32_t n = 0; n < batch; ++n)
          std::copy_n(dy.begin() + std::size_t{n} * in.c, in.c, dx.begin() + std::size_t{n} * in.w * in.c);
        break;
      default: break;
    }
    if (in.grad_addr) contribute_grad(l.in, dx);
  });
}

namespace {

// The attention core as STCE GEMMs over (sample, head): q, k and v of a head are dh-column
// slices of the [N][T][3D] rows, its output and output gradient slices of [N][T][D] rows, and
// its scores [T][T] a block of the layer's [N][heads][T][T] probabilities tensor.
struct AttentionGemms {
  std::uint32_t batch, tokens, dim, heads;
  std::uint32_t dh() const { return dim / heads; }
  MatrixBatch qkv(std::uint64_t addr, std::uint32_t part) const {  // 0 q, 1 k, 2 v
    return {addr + std::uint64_t{part} * dim * 2, std::uint64_t{tokens} * 3 * dim * 2, std::uint64_t{dh()} * 2, 3 * dim};
  }
  MatrixBatch head(std::uint64_t addr) const {
    return {addr, std::uint64_t{tokens} * dim * 2, std::uint64_t{dh()} * 2, dim};
  }
  MatrixBatch scores(std::uint64_t addr) const {
    const std::uint64_t square = std::uint64_t{tokens} * tokens * 2;
    return {addr, heads * square, square, tokens};
  }
  // C [rows][cols] = op(A) x op(B) over depth, for every (sample, head).
  GemmBatch product(std::uint32_t rows, std::uint32_t cols, std::uint32_t depth, MatrixBatch a, MatrixBatch b,
                    MatrixBatch c, bool a_trans, bool b_trans) const {
    GemmBatch g;
    g.outer = batch, g.inner = heads, g.rows = rows, g.cols = cols, g.depth = depth;
    g.a = a, g.b = b, g.c = c, g.a_trans = a_trans, g.b_trans = b_trans;
    return g;
  }
  std::size_t score_count() const { return std::size_t{batch} * heads * tokens * tokens; }
  float scale() const { return 1.0f / std::sqrt(static_cast<float>(dh())); }
};

}  // namespace

// S = Q K^T (STCE), P = softmax(S * scale) (host), out = P V (STCE); P stays in the layer's
// probabilities tensor for the backward pass.
void Runtime::attention_forward(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  const Tensor& probs = tensors_[l.b];
  const AttentionGemms g{batch, in.w, in.c / 3, l.a};
  const std::uint32_t t = g.tokens, dh = g.dh();
  check(kernels_->gemm_batch(
            g.product(t, t, dh, g.qkv(in.addr, 0), g.qkv(in.addr, 1), g.scores(probs.addr), false, true)),
        "attention scores", l);
  host_work(boot_.host_cost.softmax, g.score_count(), [&] {
    std::vector<float> s = read_f16(probs.addr, g.score_count());
    host::attention_softmax(s.data(), s.size() / t, t, g.scale());
    write_f16(probs.addr, s);
  });
  check(kernels_->gemm_batch(g.product(t, dh, t, g.scores(probs.addr), g.qkv(in.addr, 2),
                                       g.head(tensors_[l.out].addr), false, false)),
        "attention output", l);
}

// dP = dO V^T, dV = P^T dO (STCE); dS = P (.) (dP - rowsum(P (.) dP)) * scale (host, in place
// of dP); dQ = dS K, dK = dS^T Q (STCE).
void Runtime::attention_backward(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  if (in.grad_addr == 0) return;
  const Tensor& probs = tensors_[l.b];
  const AttentionGemms g{batch, in.w, in.c / 3, l.a};
  const std::uint32_t t = g.tokens, dh = g.dh();
  const std::uint64_t dy = tensors_[l.out].grad_addr, dx = data_grad_target(l.in);
  check(kernels_->gemm_batch(g.product(t, t, dh, g.head(dy), g.qkv(in.addr, 2), g.scores(probs.grad_addr), false, true)),
        "attention probability gradient", l);
  check(kernels_->gemm_batch(g.product(t, dh, t, g.scores(probs.addr), g.head(dy), g.qkv(dx, 2), true, false)),
        "attention value gradient", l);
  host_work(2 * boot_.host_cost.reduce, g.score_count(), [&] {
    std::vector<float> d = read_f16(probs.grad_addr, g.score_count());
    host::attention_score_grad(read_f16(probs.addr, d.size()).data(), d.data(), d.size() / t, t, g.scale());
    write_f16(probs.grad_addr, d);
  });
  check(kernels_->gemm_batch(g.product(t, dh, t, g.scores(probs.grad_addr), g.qkv(in.addr, 1), g.qkv(dx, 0), false, false)),
        "attention query gradient", l);
  check(kernels_->gemm_batch(g.product(t, dh, t, g.scores(probs.grad_addr), g.qkv(in.addr, 0), g.qkv(dx, 1), true, false)),
        "attention key gradient", l);
  finish_data_grad(l.in, std::size_t{batch} * in.w * in.c);
}

void Runtime::finish_data_grad(std::uint32_t t, std::size_t count) {
  if (!accumulates(t)) {
    grad_written_[t] = true;
    return;
  }
  host_work(boot_.host_cost.elementwise, count, [&] { contribute_grad(t, read_f16(grad_temp_, count)); });
}

void Runtime::contribute_grad(std::uint32_t t, const std::vector<float>& dx) {
  const Tensor& tensor = tensors_[t];
  if (!grad_written_[t]) {
    grad_written_[t] = true;
    return write_f16(tensor.grad_addr, dx);
  }
  std::vector<float> g = read_f16(tensor.grad_addr, dx.size());
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] + round_to_half(dx[i]);
  write_f16(tensor.grad_addr, g);
}

void Runtime::matmul_forward(const Layer& l, const ConvShape& s) {
  const Param& w = params_table_[l.weight];
  WeightOperand op;
  if (masked(l)) op.values = w.fwd_values, op.indices = w.fwd_indices, op.n = h_.n, op.m = h_.m;
  else op.dense = w.fp16;
  const Tensor& out = tensors_[l.out];
  check(kernels_->conv_forward(s, tensors_[l.in].addr, op, out.addr), "forward", l);
  if (l.bias == kNone) return;
  const std::size_t rows = std::size_t{s.n} * s.oh() * s.ow();
  host_work(boot_.host_cost.elementwise, rows * s.cout, [&] {
    const std::vector<float> bias = read_f32(params_table_[l.bias].master, s.cout);
    std::vector<float> y = read_f16(out.addr, rows * s.cout);
    host::bias_forward(y.data(), rows, s.cout, bias.data());
    write_f16(out.addr, y);
  });
}

host::LossResult Runtime::loss(const Layer& l, std::uint32_t batch, bool training) {
  const Tensor& logits = tensors_[l.in];
  host::LossResult result;
  host_work(boot_.host_cost.softmax, std::size_t{batch} * logits.c, [&] {
    const std::vector<float> z = read_f16(logits.addr, std::size_t{batch} * logits.c);
    std::vector<float> dz(training ? z.size() : 0);
    result = host::softmax_ce(z.data(), batch_labels_.data(), batch, logits.c, h_.loss_scale,
                              training ? dz.data() : nullptr);
    if (training) write_f16(logits.grad_addr, dz);
  });
  return result;
}

void Runtime::backward_layer(const Layer& l, std::uint32_t batch) {
  const Tensor& in = tensors_[l.in];
  const Tensor& out = tensors_[l.out];
  const host::Shape shape{batch, in.h, in.w, in.c};
  const LayerKind kind = static_cast<LayerKind>(l.kind);
  if (kind == LayerKind::conv2d || kind == LayerKind::linear) return matmul_backward(l, conv_shape(l, batch));
  if (kind == LayerKind::batchnorm) return batchnorm_backward(l, batch);
  if (is_view(l)) return;  // its gradient is its input's
  if (kind == LayerKind::attention) return attention_backward(l, batch);
  if (kind >= LayerKind::embed) return transformer_backward(l, batch);
  if (kind == LayerKind::add) {
    return host_work(boot_.host_cost.elementwise, 2 * shape.elements(), [&] {
      const std::vector<float> dy = read_f16(out.grad_addr, shape.elements());
      for (std::uint32_t t : {l.in, l.in2})
        if (tensors_[t].grad_addr) contribute_grad(t, dy);
    });
  }
  if (in.grad_addr == 0) return;  // nothing upstream needs dX
  if (kind == LayerKind::relu) {
    return host_work(boot_.host_cost.elementwise, shape.elements(), [&] {
      std::vector<std::uint16_t> x(shape.elements()), dy(x.size());
      read(in.addr, x.data(), x.size());
      read(out.grad_addr, dy.data(), dy.size());
      host::relu_backward(x.data(), dy.data(), dy.data(), dy.size());
      if (grad_written_[l.in]) {  // add to another reader's contribution
        return contribute_grad(l.in, host::widen(dy.data(), dy.size()));
      }
      write(in.grad_addr, dy.data(), dy.size());
      grad_written_[l.in] = true;
    });
  }
  host_work(boot_.host_cost.pool, shape.elements(), [&] {
    const std::vector<float> x = read_f16(in.addr, shape.elements());
    std::vector<float> dx(shape.elements());
    const std::vector<float> dy = read_f16(out.grad_addr, host::pool_output(shape, l.a, l.c).elements());
    if (kind == LayerKind::maxpool) host::maxpool_backward(x.data(), shape, l.a, l.c, dy.data(), dx.data());
    else host::avgpool_backward(shape, l.a, l.c, dy.data(), dx.data());
    contribute_grad(l.in, dx);
  });
}

void Runtime::matmul_backward(const Layer& l, const ConvShape& s) {
  const Tensor& in = tensors_[l.in];
  const Tensor& out = tensors_[l.out];
  const Param& w = params_table_[l.weight];
  enter(l, Pass::backward_weight);
  check(kernels_->conv_backward_weight(s, out.grad_addr, in.addr, w.grad), "weight gradient", l);
  if (l.bias != kNone) {
    const std::size_t rows = std::size_t{s.n} * s.oh() * s.ow();
    host_work(boot_.host_cost.reduce, rows * s.cout, [&] {
      const std::vector<float> dy = read_f16(out.grad_addr, rows * s.cout);
      std::vector<float> db(s.cout);
      host::bias_backward(dy.data(), rows, s.cout, db.data());
      write_f16(params_table_[l.bias].grad, db);
    });
  }
  if (in.grad_addr == 0) return;  // the first layer: nothing upstream needs dX
  enter(l, Pass::backward_data);

  GradOperand dy;
  WeightOperand op;
  dy.dense = out.grad_addr;
  if (scheme_ == Scheme::bdwp && sparse(l)) op.values = w.bwd_values, op.indices = w.bwd_indices, op.n = h_.n, op.m = h_.m;
  else op.dense = w.fp16;  // SR-STE's copy holds W~ expanded (refresh_masks)
  if (sdgp_pruned(l, s)) {
    check(kernels_->prune_output_grad(s, out.grad_addr, h_.n, h_.m, dy_values_, dy_indices_), "SDGP pruning", l);
    dy = {0, dy_values_, dy_indices_, h_.n, h_.m};
    if (h_.sdgp_rescale) {
      const host::Shape yshape{s.n, s.oh(), s.ow(), s.cout};
      const NmLine line{s.cout, s.cout, h_.n, h_.m};
      const std::size_t lines = std::size_t{s.n} * s.oh() * s.ow();
      host_work(boot_.host_cost.reduce, yshape.elements(), [&] {
        const std::vector<float> dense = read_f16(out.grad_addr, yshape.elements());
        std::vector<std::uint16_t> values(lines * line.entries());
        std::vector<std::uint32_t> indices(lines * line.index_words());
        read(dy_values_, values.data(), values.size());
        read(dy_indices_, indices.data(), indices.size());
        host::sdgp_rescale(dense.data(), yshape, {values.data(), indices.data(), lines, line});
        write(dy_values_, values.data(), values.size());
      });
    }
  }
  check(kernels_->conv_backward_data(s, dy, op, data_grad_target(l.in)), "data gradient", l);
  finish_data_grad(l.in, std::size_t{s.n} * s.h * s.w * s.cin);
}

// ---- update and masks --------------------------------------------------------------------------

// SR-STE's decay lambda (1 - Mf) W folded into the FP16 gradient of the pruned weights.
void Runtime::fold_sparse_decay(const Param& p) {
  const NmLine line = fwd_line(p, h_.n, h_.m);
  const std::size_t lines = fwd_lines(p);
  host_work(boot_.host_cost.nm_decode, p.count, [&] {
    std::vector<std::uint16_t> values(lines * line.entries());
    std::vector<std::uint32_t> indices(lines * line.index_words());
    read(p.fwd_values, values.data(), values.size());
    read(p.fwd_indices, indices.data(), indices.size());
    std::vector<std::uint8_t> keep(p.count);
    host::nm_keep_flags({values.data(), indices.data(), lines, line}, keep.data());
    const std::vector<float> master = read_f32(p.master, p.count);
    std::vector<float> grad = read_f16(p.grad, p.count);
    const float coefficient = h_.loss_scale * h_.sparse_decay;
    for (std::size_t i = 0; i < p.count; ++i)
      if (!keep[i]) {
        const float decay = coefficient * master[i];
        grad[i] = grad[i] + decay;
      }
    write_f16(p.grad, grad);
  });
}

void Runtime::update(std::uint32_t t) {
  const float lr = lr_at(t);
  const float grad_scale = 1.0f / h_.loss_scale;
  for (const Layer& l : layers_) {
    if (l.weight == kNone) continue;
    const Param& w = params_table_[l.weight];
    enter(l, Pass::update);
    if (masked(l) && h_.sparse_decay > 0) fold_sparse_decay(w);
    check(kernels_->update(w, lr, h_.momentum, w.decay ? h_.weight_decay : 0.0f, grad_scale), "update", l);
    if (l.bias != kNone) {
      const Param& b = params_table_[l.bias];
      check(kernels_->update(b, lr, h_.momentum, b.decay ? h_.weight_decay : 0.0f, grad_scale), "bias update", l);
    }
    refresh_masks(l);
  }
}

// OSRE pre-generates the next iteration's compressed weights from the updated master (BDWP:
// W~ and W~^T; SR-STE: W~, expanded into the FP16 copy its dense-mode backward pass uses).
void Runtime::refresh_masks(const Layer& l) {
  if (!masked(l)) return;
  enter(l, Pass::masks);
  const Param& w = params_table_[l.weight];
  const bool bdwp = scheme_ == Scheme::bdwp;
  check(kernels_->generate_masks(w, h_.n, h_.m, true, bdwp, h_.bwd_mask == static_cast<std::uint32_t>(BwdMask::nested)),
        "mask generation", l);
  if (bdwp) return;
  const NmLine line = fwd_line(w, h_.n, h_.m);
  const std::size_t lines = fwd_lines(w);
  host_work(boot_.host_cost.nm_decode, lines * line.entries(), [&] {
    std::vector<std::uint16_t> values(lines * line.entries()), dense(w.count);
    std::vector<std::uint32_t> indices(lines * line.index_words());
    read(w.fwd_values, values.data(), values.size());
    read(w.fwd_indices, indices.data(), indices.size());
    host::nm_expand({values.data(), indices.data(), lines, line}, dense.data());
    write(w.fp16, dense.data(), dense.size());
  });
}

void Runtime::snapshot(std::uint32_t after) {
  if (!h_.snapshots || snapshots_done_ >= h_.snapshot_capacity) return;
  std::uint64_t dst = h_.snapshots + std::uint64_t{snapshots_done_} * h_.snapshot_bytes;
  const auto copy = [&](std::uint64_t src, std::uint64_t bytes) {
    if (!src) return;
    const DmaResult r = dma_.copy({src, dst, static_cast<std::uint32_t>(bytes)});
    if (!r.ok) fail("snapshot after iteration " + std::to_string(after) + ": " + r.describe());
    dst += bytes;
  };
  for (const Param& p : params_table_) {
    copy(p.master, std::uint64_t{p.count} * 4);
    copy(p.fwd_values, values_bytes(fwd_lines(p), fwd_line(p, h_.n, h_.m)));
    copy(p.fwd_indices, index_bytes(fwd_lines(p), fwd_line(p, h_.n, h_.m)));
    copy(p.bwd_values, values_bytes(bwd_lines(p), bwd_line(p, h_.n, h_.m)));
    copy(p.bwd_indices, index_bytes(bwd_lines(p), bwd_line(p, h_.n, h_.m)));
  }
  ++snapshots_done_;
}

// ---- result area -------------------------------------------------------------------------------

// ---- profile -----------------------------------------------------------------------------------

void Runtime::enter(std::uint32_t row, Pass pass) {
  ProfileMark now;
  now.at_ps = hal_.now_ps();
  const KernelTime& time = kernels_->time();
  now.host_ps = host_ps_ + time.host_ps;
  now.dma_wait_ps = time.dma_ps;
  now.counts = kernels_->counts();
  // The kernels wait for every job they start, so the engines are idle here; their counters
  // only moved if a job ran since the last mark.
  for (unsigned e = 0; e < 3; ++e) now.engine[e] = mark_.engine[e];
  if (now.counts.jobs != mark_.counts.jobs || profile_.empty())
    for (unsigned e = 0; e < 3; ++e) {
      const SatCounters c = read_sat_counters(hal_, boot_, static_cast<SatEngine>(e));
      now.engine[e] = {c.jobs, c.busy_cycles, c.stall_cycles, c.ops, c.ops_skipped, c.sram_read, c.sram_write};
    }
  if (profile_.empty()) {
    profile_.resize(std::size_t{runtime_row() + 1} * kPassCount);
  } else {
    ProfileRecord& r = profile_[phase_];
    r.time_ps += now.at_ps - mark_.at_ps;
    r.host_ps += now.host_ps - mark_.host_ps;
    r.dma_wait_ps += now.dma_wait_ps - mark_.dma_wait_ps;
    r.dma_bytes += now.counts.dma_bytes - mark_.counts.dma_bytes;
    r.stce_slots += now.counts.stce_slots - mark_.counts.stce_slots;
    for (unsigned e = 0; e < 3; ++e) {
      EngineCounters& d = r.engine[e];
      const EngineCounters &a = now.engine[e], &b = mark_.engine[e];
      d.jobs += a.jobs - b.jobs, d.busy_cycles += a.busy_cycles - b.busy_cycles;
      d.stall_cycles += a.stall_cycles - b.stall_cycles, d.ops += a.ops - b.ops;
      d.ops_skipped += a.ops_skipped - b.ops_skipped;
      d.sram_read += a.sram_read - b.sram_read, d.sram_write += a.sram_write - b.sram_write;
    }
  }
  phase_ = row * kPassCount + static_cast<std::uint32_t>(pass);
  ++profile_[phase_].entries;
  mark_ = now;
  char name[96];
  if (row < runtime_row())
    std::snprintf(name, sizeof name, "%s %u %s", pass_name(pass), row, to_string(static_cast<LayerKind>(layers_[row].kind)));
  else
    std::snprintf(name, sizeof name, "%s runtime", pass_name(pass));
  hal_.phase(name);
}

// Closes the current phase and publishes the table.
void Runtime::write_profile() {
  if (profile_.empty() || result_.profile == 0 || result_.profile_rows != runtime_row() + 1) return;
  enter(runtime_row(), Pass::other);
  --profile_[phase_].entries;  // closing is not entering
  hal_.write_block(result_.profile, profile_.data(), profile_.size() * sizeof(ProfileRecord));
  result_.profile_written = 1;
}

void Runtime::write_result_header() {
  if (kernels_) {
    const KernelTime& k = kernels_->time();
    result_.time = {k.stce_ps, k.osre_ps, k.wuve_ps, k.dma_ps, host_ps_ + k.host_ps};
  }
  write(h_.result, &result_, 1);
}

void Runtime::finish(ResultStatus status, const std::string& message) {
  result_.status = static_cast<std::uint32_t>(status);
  std::snprintf(result_.message, sizeof result_.message, "%s", message.c_str());
  if (h_.result) hal_.write_block(h_.result, &result_, sizeof result_);  // best effort: the run is ending
}

int Runtime::run() {
  // Outside the try block: a failure's handler still writes the profile through kernels_.
  std::optional<Kernels> kernels;
  try {
    read_descriptor();
    const SatProbe probe = probe_sat(hal_, boot_);
    if (!probe.ok) fail("SAT probe: " + probe.problem);
    allocate_scratch();
    kernels.emplace(hal_, boot_, dma_, sat_, params_.mode, h_.scratch, kernel_scratch_bytes_);
    kernels_ = &*kernels;
    enter(runtime_row(), Pass::other);
    start();
    for (const Layer& l : layers_) refresh_masks(l);
    snapshot(0);
    for (std::uint32_t t = 0; t < h_.iterations; ++t) {
      train_iteration(t);
      const std::uint32_t done = t + 1;
      if (h_.snapshot_interval && done % h_.snapshot_interval == 0 && done != h_.iterations) snapshot(done);
      if (h_.eval_interval && done % h_.eval_interval == 0 && done != h_.iterations) evaluate(done);
    }
    evaluate(h_.iterations);
    snapshot(h_.iterations);
    write_profile();
    write_result_header();
    kernels_ = nullptr;
    finish(ResultStatus::finished, "");
    return 0;
  } catch (const Failure& f) {
    if (kernels_) write_profile();
    kernels_ = nullptr;
    hal_.log(LogLevel::error, ("training: " + f.message).c_str());
    finish(ResultStatus::failed, f.message);
    return 1;
  }
}

}  // namespace

int run_training(Hal& hal, const BootInfo& boot, const TrainingParams& params) {
  Runtime runtime(hal, boot, params);
  return runtime.run();
}

}  // namespace cestvp::fw
