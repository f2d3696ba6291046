// Training on the VP against the independent reference trainer (tests/golden/ref_trainer):
// the loader's image booted with the firmware's training runtime, K iterations of each scheme
// on a small CNN whose channel counts are not multiples of M, then every snapshot (the master
// weights and the N:M masks after each iteration) compared with the reference stepped through
// the same batches from the same initial weights. Bit-accurate runs must match bit for bit
// (docs/training.md fixes every rounding point); functional runs within the tolerance below.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/train_runtime.h>

#include "golden/order_golden.h"
#include "golden/ref_trainer.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "report/training_results.h"
#include "satvp_command.h"
#include "test_files.h"
#include "vp.h"

using namespace cestvp;
namespace model = cestvp::fw::model;

namespace {

// conv(3->12) relu maxpool conv(12->20, bias) relu flatten linear(320->20, bias) relu
// linear(20->10, bias): the middle conv and linear are sparse (first and last stay dense),
// Cin 12 and Cout 20 leave short tail groups for M = 8, and SDGP prunes the middle conv's dY.
constexpr const char* kWorkload = R"(name: tiny
program: train
mode: functional
scheme: dense
nm: "2:8"
bdwp_bwd_mask: independent
sparse_decay: 2e-4
sdgp_rescale: true
sparse_first_layer: false
sparse_last_layer: false
batch: 16
epochs: 1
iterations: 4
eval_interval: 0
eval_samples: 40
seed: 7
loss_scale: 128
optimizer: {lr: 0.05, momentum: 0.9, weight_decay: 5e-4, schedule: cosine, lr_step: 0, lr_gamma: 0.1}
dataset:
  name: synthetic
  path: ""
  train_samples: 0
  test_samples: 0
  mean: [0.5, 0.5, 0.5]
  std: [0.25, 0.25, 0.25]
  synthetic: {height: 8, width: 8, channels: 3, classes: 10, train: 96, test: 40}
network:
  layers:
    - {type: conv2d, out: 12, kernel: 3, stride: 1, padding: 1, bias: false, dense: false}
    - {type: relu}
    - {type: maxpool, kernel: 2, stride: 2}
    - {type: conv2d, out: 20, kernel: 3, stride: 1, padding: 1, bias: true, dense: false}
    - {type: relu}
    - {type: flatten}
    - {type: linear, out: 20, bias: true, dense: false}
    - {type: relu}
    - {type: linear, out: 10, bias: true, dense: false}
    - {type: softmax_ce}
export: {snapshot_interval: 1, log_interval: 0}
timeout: 1 s
)";

// A residual network: conv-bn-relu, a block of two conv-bn (the second without ReLU) added to
// its input, a strided conv whose output two layers read, global average pooling. Channel
// counts 12 and 20 leave tail groups; the block's convs are sparse.
constexpr const char* kResidualLayers = R"(
network:
  layers:
    - {type: conv2d, out: 12, kernel: 3, stride: 1, padding: 1, bias: false, dense: false}
    - {type: batchnorm}
    - {type: relu, name: block_in}
    - {type: conv2d, out: 12, kernel: 3, stride: 1, padding: 1, bias: false, dense: false}
    - {type: batchnorm}
    - {type: relu}
    - {type: conv2d, out: 12, kernel: 3, stride: 1, padding: 1, bias: false, dense: false}
    - {type: batchnorm}
    - {type: add, with: block_in}
    - {type: relu}
    - {type: conv2d, out: 20, kernel: 3, stride: 2, padding: 1, bias: false, dense: false, name: down}
    - {type: relu}
    - {type: add, with: down}
    - {type: avgpool, kernel: 4, stride: 4}
    - {type: flatten}
    - {type: linear, out: 10, bias: true, dense: false}
    - {type: softmax_ce}
export: {snapshot_interval: 1, log_interval: 0}
timeout: 1 s
)";

// A pre-norm vision transformer: 2x2 patches of the 8x8 images (16 tokens of 12 features, 17
// with the class token), one block (attention with 2 heads, a GELU MLP) whose four token-wise
// linears are sparse, and a linear head.
constexpr const char* kTransformerLayers = R"(
network:
  layers:
    - {type: conv2d, out: 12, kernel: 2, stride: 2, padding: 0, bias: true, dense: false}
    - {type: tokens}
    - {type: embed, name: x0}
    - {type: layernorm}
    - {type: linear, out: 36, bias: true, dense: false}
    - {type: attention, heads: 2}
    - {type: linear, out: 12, bias: true, dense: false}
    - {type: add, with: x0, name: x1}
    - {type: layernorm}
    - {type: linear, out: 20, bias: true, dense: false}
    - {type: gelu}
    - {type: linear, out: 12, bias: true, dense: false}
    - {type: add, with: x1}
    - {type: layernorm}
    - {type: cls_token}
    - {type: linear, out: 10, bias: true, dense: false}
    - {type: softmax_ce}
export: {snapshot_interval: 1, log_interval: 0}
timeout: 1 s
)";

// kWorkload with its network replaced by `layers`.
std::string with_network(const char* layers) {
  const std::string base = kWorkload;
  return base.substr(0, base.find("network:")) + (layers + 1);
}
std::string residual_workload() { return with_network(kResidualLayers); }

golden::RefKind ref_kind(const std::string& type) {
  if (type == "conv2d") return golden::RefKind::conv2d;
  if (type == "linear") return golden::RefKind::linear;
  if (type == "relu") return golden::RefKind::relu;
  if (type == "maxpool") return golden::RefKind::maxpool;
  if (type == "avgpool") return golden::RefKind::avgpool;
  if (type == "flatten") return golden::RefKind::flatten;
  if (type == "add") return golden::RefKind::add;
  if (type == "batchnorm") return golden::RefKind::batchnorm;
  if (type == "tokens") return golden::RefKind::tokens;
  if (type == "embed") return golden::RefKind::embed;
  if (type == "layernorm") return golden::RefKind::layernorm;
  if (type == "gelu") return golden::RefKind::gelu;
  if (type == "attention") return golden::RefKind::attention;
  if (type == "cls_token") return golden::RefKind::cls_token;
  return golden::RefKind::softmax_ce;
}

// The reference's view of the workload. Which layers are sparse is decided here from the
// rule of docs/training.md, not taken from the loader's flags.
golden::RefConfig ref_config(const TrainWorkload& w) {
  golden::RefConfig c;
  c.in_h = w.dataset.height, c.in_w = w.dataset.width, c.in_c = w.dataset.channels, c.classes = w.dataset.classes;
  std::vector<std::size_t> trainable;
  for (std::size_t i = 0; i < w.layers.size(); ++i)
    if (w.layers[i].trainable()) trainable.push_back(i);
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const TrainLayer& l = w.layers[i];
    golden::RefLayer r{ref_kind(l.type)};
    r.out = l.out, r.kernel = l.kernel ? l.kernel : 1, r.stride = l.stride ? l.stride : 1, r.pad = l.padding;
    r.bias = l.bias;
    const bool first = !trainable.empty() && i == trainable.front(), last = !trainable.empty() && i == trainable.back();
    r.sparse = l.trainable() && w.scheme != model::Scheme::dense && !l.dense && (!first || w.sparse_first_layer) &&
               (!last || w.sparse_last_layer);
    r.name = l.name, r.input = l.input, r.with = l.with, r.heads = l.heads;
    c.layers.push_back(r);
  }
  c.scheme = static_cast<golden::RefScheme>(w.scheme);
  c.n = w.n, c.m = w.m;
  c.bwd_nested = w.bwd_mask == model::BwdMask::nested;
  c.lr = static_cast<float>(w.optimizer.lr), c.momentum = static_cast<float>(w.optimizer.momentum);
  c.weight_decay = static_cast<float>(w.optimizer.weight_decay);
  c.sparse_decay = static_cast<float>(w.sparse_decay), c.loss_scale = static_cast<float>(w.loss_scale);
  c.schedule = static_cast<golden::RefConfig::Schedule>(w.optimizer.schedule);
  c.total_iterations = w.iterations, c.lr_step = w.optimizer.lr_step;
  c.lr_gamma = static_cast<float>(w.optimizer.lr_gamma);
  c.sdgp_rescale = w.sdgp_rescale;
  for (std::uint32_t ch = 0; ch < w.dataset.channels; ++ch)
    c.mean[ch] = static_cast<float>(w.dataset.mean[ch]), c.stdev[ch] = static_cast<float>(w.dataset.std[ch]);
  return c;
}

struct VpRun {
  Workload workload;
  TrainingImage image;
  std::vector<std::vector<ParamSnapshot>> snapshots;  // [snapshot][param]
  TrainingResult result;
  std::string log;
};

VpRun run_on_vp(const std::string& workload, const std::vector<Override>& overrides, SatMode mode,
               SatMode fw_mode) {
  VpRun run;
  const PlatformConfig config = test::default_config();
  run.workload = load_workload(test::write_file("workload.yaml", workload), overrides, &config);
  const fw::BootInfo boot = VirtualPlatform::make_boot_info(config);
  run.image = build_training_image(run.workload.train, boot);
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  options.mode = mode;
  fw::TrainingParams params;
  params.model_addr = run.image.model_addr;
  params.mode = fw_mode;
  VirtualPlatform vp(config, [&](fw::Hal& hal, const fw::BootInfo& b) { return fw::run_training(hal, b, params); },
                     options);
  write_training_image(run.image, ddr_writer(vp.ddr, boot.ddr.base));
  const RunStats stats = vp.run();
  run.log = log.str();
  EXPECT_TRUE(stats.firmware_finished) << run.log;
  EXPECT_EQ(stats.firmware_exit_code, 0) << run.log;
  const MemRead read = ddr_reader(vp.ddr, boot.ddr.base);
  run.result = read_training_result(run.image, read);
  for (std::size_t k = 0; k < run.image.snapshot_iterations.size(); ++k) {
    run.snapshots.emplace_back();
    for (std::size_t p = 0; p < run.image.params.size(); ++p) run.snapshots[k].push_back(read_snapshot(run.image, k, p, read));
  }
  return run;
}

// The reference's weights and biases lists from the loader's initial params (weight or gamma,
// then its bias or beta if any, per trainable layer: the param order of the image; batch
// norm's running statistics are state, not a trained param).
golden::RefTrainer make_reference(const VpRun& run) {
  std::vector<std::vector<float>> weights, biases;
  for (std::size_t p = 0; p < run.image.params.size(); ++p) {
    if (run.image.param_info[p].running) continue;
    if (run.image.param_info[p].bias) biases.back() = run.image.initial[p];
    else weights.push_back(run.image.initial[p]), biases.emplace_back();
  }
  return golden::RefTrainer(ref_config(run.workload.train), weights, biases);
}

// Tolerance of a functional run: the engine sums in another order (docs/engines.md), so an
// FP16 activation can land one step away from the bit-accurate value; over a few iterations
// that moves a weight by a small multiple of lr x |gradient|.
struct Tolerance {
  bool exact;
  double absolute, relative;
  double mask_agreement;  // fraction of mask entries that must agree
};
constexpr Tolerance kExact{true, 0, 0, 1.0};
constexpr Tolerance kFunctional{false, 2e-4, 2e-3, 0.995};

void expect_close(const std::vector<float>& vp, const std::vector<float>& ref, const Tolerance& tol, const std::string& what) {
  ASSERT_EQ(vp.size(), ref.size()) << what;
  std::size_t bad = 0, first = vp.size();
  for (std::size_t i = 0; i < vp.size(); ++i) {
    const bool ok = tol.exact ? std::memcmp(&vp[i], &ref[i], sizeof(float)) == 0
                              : std::fabs(vp[i] - ref[i]) <= tol.absolute + tol.relative * std::fabs(ref[i]);
    if (!ok && bad++ == 0) first = i;
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << vp.size() << " differ; first at " << first << ": VP "
                     << (first < vp.size() ? vp[first] : 0) << " reference " << (first < ref.size() ? ref[first] : 0);
}

void expect_masks(const std::vector<std::uint8_t>& vp, const std::vector<std::uint8_t>& ref, const Tolerance& tol,
                  const std::string& what) {
  ASSERT_EQ(vp.size(), ref.size()) << what;
  std::size_t differ = 0;
  for (std::size_t i = 0; i < vp.size(); ++i) differ += vp[i] != ref[i];
  EXPECT_LE(static_cast<double>(differ), (1.0 - tol.mask_agreement) * static_cast<double>(vp.size()))
      << what << ": " << differ << " of " << vp.size() << " mask entries differ";
}

// Runs the workload with `overrides` on the VP and checks every snapshot against the reference.
void expect_matches_reference(const std::vector<Override>& overrides, SatMode mode, SatMode fw_mode,
                              const Tolerance& tol, const std::string& workload = kWorkload) {
  const VpRun run = run_on_vp(workload, overrides, mode, fw_mode);
  ASSERT_EQ(run.result.status(), "finished") << run.log;
  golden::RefTrainer ref = make_reference(run);
  const TrainingImage& image = run.image;
  const std::uint32_t batch = image.header.batch;
  std::size_t masks_checked = 0;
  for (std::size_t k = 0; k < image.snapshot_iterations.size(); ++k) {
    while (ref.iterations_done() < image.snapshot_iterations[k]) {
      const std::uint32_t t = ref.iterations_done();
      std::vector<std::uint8_t> pixels, labels;
      const std::size_t size = std::size_t{image.header.image_h} * image.header.image_w * image.header.image_c;
      const std::vector<std::uint32_t> samples =
          golden::batch_samples(image.header.train_count, batch, t, run.workload.train.seed);
      for (std::uint32_t i = 0; i < batch; ++i) {
        const std::uint32_t s = samples[i];
        pixels.insert(pixels.end(), image.train_images.begin() + s * size, image.train_images.begin() + (s + 1) * size);
        labels.push_back(image.train_labels[s]);
      }
      const golden::RefStep step = ref.step(pixels.data(), labels.data(), batch);
      ASSERT_LT(t, run.result.iterations.size());
      EXPECT_NEAR(run.result.iterations[t].loss, step.loss, 1e-3 + 1e-3 * std::fabs(step.loss)) << "iteration " << t;
    }
    std::size_t layer = 0;
    for (std::size_t p = 0; p < image.params.size(); ++p) {
      const ParamInfo& info = image.param_info[p];
      const ParamSnapshot& snap = run.snapshots[k][p];
      const std::string what = "after " + std::to_string(image.snapshot_iterations[k]) + " iterations, " + info.name;
      if (info.running) {
        std::vector<float> running = ref.running_mean(layer - 1);
        running.insert(running.end(), ref.running_var(layer - 1).begin(), ref.running_var(layer - 1).end());
        expect_close(snap.master, running, tol, what);
        continue;
      }
      if (info.bias) {
        expect_close(snap.master, ref.bias(layer - 1), tol, what);
        continue;
      }
      expect_close(snap.master, ref.weight(layer), tol, what);
      if (!snap.fwd_mask.empty()) expect_masks(snap.fwd_mask, ref.forward_mask(layer), tol, what + " forward mask"), ++masks_checked;
      if (!snap.bwd_mask.empty()) expect_masks(snap.bwd_mask, ref.backward_mask(layer), tol, what + " backward mask"), ++masks_checked;
      ++layer;
    }
  }
  const model::Scheme scheme = run.workload.train.scheme;
  if (scheme == model::Scheme::srste || scheme == model::Scheme::bdwp) {
    EXPECT_GT(masks_checked, 0u);
  }

  ASSERT_FALSE(run.result.evals.empty());
  const model::EvalRecord& eval = run.result.evals.back();
  const golden::RefStep ref_eval = ref.evaluate(image.test_images.data(), image.test_labels.data(), eval.samples, batch);
  EXPECT_NEAR(eval.loss, ref_eval.loss, 1e-3 + 1e-3 * std::fabs(ref_eval.loss));
  if (tol.exact) {
    EXPECT_EQ(eval.accuracy, ref_eval.accuracy);
  }
}

std::vector<Override> scheme(const std::string& name, const std::string& nm = "2:8") {
  return parse_overrides({"scheme=" + name, "nm=" + nm});
}

}  // namespace

TEST(TrainingVsReference, DenseBitAccurate) {
  expect_matches_reference(scheme("dense"), SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, SrsteBitAccurate) {
  expect_matches_reference(scheme("srste"), SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
// Reliability II, class 4: the firmware draws each epoch's sample order itself. 40 samples in
// batches of 16 make epochs of 2 iterations (8 samples wait for a later epoch); 5 iterations
// span 3 epochs, the reference taking its batches from the golden order.
TEST(TrainingVsReference, EveryEpochReshuffledBitAccurate) {
  expect_matches_reference(parse_overrides({"scheme=bdwp", "dataset.train_samples=40", "iterations=5"}),
                           SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, SdgpBitAccurate) {
  expect_matches_reference(scheme("sdgp"), SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, BdwpBitAccurate) {
  expect_matches_reference(scheme("bdwp"), SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, Bdwp1of4BitAccurate) {
  expect_matches_reference(scheme("bdwp", "1:4"), SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, BdwpNestedBitAccurate) {
  std::vector<Override> o = scheme("bdwp");
  for (const Override& extra : parse_overrides({"bdwp_bwd_mask=nested"})) o.push_back(extra);
  expect_matches_reference(o, SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, BdwpFunctionalWithinTolerance) {
  expect_matches_reference(scheme("bdwp"), SatMode::functional, SatMode::functional, kFunctional);
}
TEST(TrainingVsReference, SdgpFunctionalWithinTolerance) {
  expect_matches_reference(scheme("sdgp"), SatMode::functional, SatMode::functional, kFunctional);
}
TEST(TrainingVsReference, ResidualBatchnormDenseBitAccurate) {
  expect_matches_reference(scheme("dense"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           residual_workload());
}
TEST(TrainingVsReference, ResidualBatchnormBdwpBitAccurate) {
  expect_matches_reference(scheme("bdwp"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           residual_workload());
}
TEST(TrainingVsReference, ResidualBatchnormSdgpBitAccurate) {
  expect_matches_reference(scheme("sdgp"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           residual_workload());
}
TEST(TrainingVsReference, TransformerDenseBitAccurate) {
  expect_matches_reference(scheme("dense"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           with_network(kTransformerLayers));
}
TEST(TrainingVsReference, TransformerBdwpBitAccurate) {
  expect_matches_reference(scheme("bdwp"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           with_network(kTransformerLayers));
}
TEST(TrainingVsReference, TransformerSrsteBitAccurate) {
  expect_matches_reference(scheme("srste"), SatMode::bit_accurate, SatMode::bit_accurate, kExact,
                           with_network(kTransformerLayers));
}

// Reliability II, class 8: every learning-rate schedule of the workload format (docs/training.md:
// constant, cosine, step), bit for bit; the runs above use the workload's cosine. The step
// schedule halves lr every 2 iterations: lr_t = 0.05, 0.05, 0.025, 0.025 for t = 0..3.
TEST(TrainingVsReference, ConstantScheduleBitAccurate) {
  expect_matches_reference(parse_overrides({"scheme=dense", "optimizer.schedule=constant"}), SatMode::bit_accurate,
                           SatMode::bit_accurate, kExact);
}
TEST(TrainingVsReference, StepScheduleBitAccurate) {
  expect_matches_reference(
      parse_overrides({"scheme=dense", "optimizer.schedule=step", "optimizer.lr_step=2", "optimizer.lr_gamma=0.5"}),
      SatMode::bit_accurate, SatMode::bit_accurate, kExact);
}
