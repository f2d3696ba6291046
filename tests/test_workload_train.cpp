// Training workloads (program: train): the schema and its errors (tests/data/bad_train), the
// loader's DDR image of firmware/include/cestvp/model.h read back from a plain buffer, the
// sample order, the initial weights, the export of results and snapshots, and satvp run.
// Expected values are written by hand from docs/workloads.md and model.h, not taken from the
// code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <sys/stat.h>

#include <cestvp/descriptor.h>
#include <cestvp/model.h>
#include <cestvp/sample_order.h>
#include <cestvp/sat_abi.h>

#include "config/config.h"
#include "data/npy.h"
#include "golden/order_golden.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "report/training_results.h"
#include "satvp_command.h"
#include "test_files.h"
#include "vp.h"
#include <cestvp/fp16.h>

namespace cestvp {
namespace {

namespace fs = std::filesystem;
namespace model = fw::model;
using test::error_of;
using test::kSource;
using test::write_file;

const std::string kCnn = kSource + "/workloads/fashion_mnist_cnn.yaml";
const std::string kMlp = kSource + "/workloads/fashion_mnist_mlp.yaml";
const std::string kResnet9 = kSource + "/workloads/resnet9_cifar10.yaml";
const std::string kResnet18 = kSource + "/workloads/resnet18_tinyimagenet.yaml";
const std::string kVit = kSource + "/workloads/vit_cifar100.yaml";
const std::string kBadDir = kSource + "/tests/data/bad_train";

const PlatformConfig& platform() {
  static const PlatformConfig config = test::default_config();
  return config;
}

fw::BootInfo boot() { return VirtualPlatform::make_boot_info(platform()); }

Workload load(const std::string& path, const std::vector<std::string>& sets = {}) {
  return load_workload(path, parse_overrides(sets), &platform());
}

// A DDR stand-in: bytes from `base`, large enough for the image.
struct Memory {
  std::uint64_t base;
  std::vector<std::uint8_t> bytes;
  Memory(std::uint64_t base_, std::uint64_t size) : base(base_), bytes(size, 0) {}
  MemWrite writer() {
    return [this](std::uint64_t addr, const void* src, std::uint64_t n) {
      ASSERT_GE(addr, base);
      ASSERT_LE(addr - base + n, bytes.size());
      if (n) std::memcpy(bytes.data() + (addr - base), src, n);  // src may be null when n is 0
    };
  }
  MemRead reader() const {
    return [this](std::uint64_t addr, void* dst, std::uint64_t n) {
      ASSERT_GE(addr, base);
      ASSERT_LE(addr - base + n, bytes.size());
      if (n) std::memcpy(dst, bytes.data() + (addr - base), n);  // dst may be null when n is 0
    };
  }
  template <typename T>
  T at(std::uint64_t addr) const {
    T value;
    std::memcpy(&value, bytes.data() + (addr - base), sizeof value);
    return value;
  }
  template <typename T>
  void put(std::uint64_t addr, const T& value) {
    std::memcpy(bytes.data() + (addr - base), &value, sizeof value);
  }
};

Memory written(const TrainingImage& image) {
  Memory memory(image.model_addr, image.bytes());
  write_training_image(image, memory.writer());
  return memory;
}

// A small training workload on synthetic data (no files), for the loader's rules.
std::string synthetic_workload(const std::string& scheme, const std::string& extra = "",
                               const std::string& layers = "") {
  return "name: tiny\nprogram: train\nscheme: " + scheme + "\nnm: \"2:4\"\nbatch: 4\nseed: 3\n" + extra +
         "optimizer: {lr: 0.1}\n"
         "dataset: {name: synthetic, synthetic: {height: 6, width: 6, channels: 2, classes: 3, train: 20, test: 6}}\n"
         "network:\n  layers:\n" +
         (layers.empty() ? "    - {type: conv2d, out: 8, kernel: 3, padding: 1}\n"   // 0: first trainable
                           "    - {type: relu}\n"
                           "    - {type: conv2d, out: 8, kernel: 3, stride: 2}\n"   // 2: 2x2x8
                           "    - {type: maxpool, kernel: 2}\n"                     // 3: 1x1x8
                           "    - {type: flatten}\n"
                           "    - {type: linear, out: 8, bias: true}\n"            // 5
                           "    - {type: linear, out: 3}\n"                        // 6: last trainable
                           "    - {type: softmax_ce}\n"
                         : layers);
}

TrainingImage tiny_image(const std::string& scheme, const std::string& extra = "") {
  const std::string path = write_file("tiny.yaml", synthetic_workload(scheme, extra));
  return build_training_image(load(path).train, boot());
}

std::vector<bool> sparse_flags(const TrainingImage& image) {
  std::vector<bool> flags;
  for (const model::Layer& l : image.layers) flags.push_back((l.flags & model::kLayerSparse) != 0);
  return flags;
}

// --------------------------------------------------------------------------- shipped files

TEST(TrainWorkload, ShippedCnnLoadsWithItsHyperParameters) {
  const Workload w = load(kCnn);
  EXPECT_EQ(w.program, "train");
  EXPECT_EQ(w.name, "fashion_mnist_cnn");
  const TrainWorkload& t = w.train;
  EXPECT_EQ(t.mode, "functional");
  EXPECT_EQ(t.scheme, model::Scheme::bdwp);
  EXPECT_EQ(t.n, 2u);
  EXPECT_EQ(t.m, 8u);
  EXPECT_EQ(t.batch, 64u);
  EXPECT_EQ(t.epochs, 1u);
  EXPECT_EQ(t.eval_interval, 200u);
  EXPECT_EQ(t.eval_samples, 10000u);
  EXPECT_EQ(t.seed, 1u);
  EXPECT_EQ(t.loss_scale, 128.0);
  EXPECT_EQ(t.optimizer.lr, 0.05);
  EXPECT_EQ(t.optimizer.momentum, 0.9);
  EXPECT_EQ(t.optimizer.weight_decay, 5e-4);
  EXPECT_EQ(t.optimizer.schedule, model::LrSchedule::cosine);
  EXPECT_EQ(t.sparse_decay, 2e-4);
  EXPECT_EQ(t.log_interval, 50u);
  EXPECT_EQ(t.timeout_ns, 1'000'000'000u);
  EXPECT_EQ(t.dataset.name, "fashion-mnist");
  EXPECT_EQ(t.dataset.mean, std::vector<double>{0.2860});
  EXPECT_EQ(t.dataset.std, std::vector<double>{0.3530});
  // conv(16,k3,p1) relu maxpool conv(32,k3,p1) relu maxpool flatten linear(128) relu linear(10) softmax_ce
  const std::vector<std::string> types = {"conv2d", "relu", "maxpool", "conv2d", "relu",      "maxpool",
                                          "flatten", "linear", "relu",  "linear", "softmax_ce"};
  ASSERT_EQ(t.layers.size(), types.size());
  for (std::size_t i = 0; i < types.size(); ++i) EXPECT_EQ(t.layers[i].type, types[i]) << i;
  EXPECT_EQ(t.layers[0].out_shape.h, 28u);
  EXPECT_EQ(t.layers[0].out_shape.c, 16u);
  EXPECT_EQ(t.layers[2].out_shape.h, 14u);
  EXPECT_EQ(t.layers[5].out_shape.h, 7u);
  EXPECT_EQ(t.layers[5].out_shape.c, 32u);
  EXPECT_EQ(t.layers[6].out_shape.c, 7u * 7u * 32u);
  EXPECT_TRUE(t.layers[7].bias);
  EXPECT_EQ(t.layers[9].out_shape.c, 10u);
}

TEST(TrainWorkload, ShippedMlpLoads) {
  const TrainWorkload t = load(kMlp).train;
  const std::vector<std::string> types = {"flatten", "linear", "relu", "linear", "relu", "linear", "softmax_ce"};
  ASSERT_EQ(t.layers.size(), types.size());
  for (std::size_t i = 0; i < types.size(); ++i) EXPECT_EQ(t.layers[i].type, types[i]) << i;
  EXPECT_EQ(t.layers[0].out_shape.c, 784u);
  EXPECT_EQ(t.layers[1].out, 256u);
  EXPECT_EQ(t.layers[3].out, 128u);
  EXPECT_EQ(t.batch, 64u);
  EXPECT_EQ(t.scheme, model::Scheme::bdwp);
  EXPECT_EQ(t.optimizer.lr, 0.05);
}

// The paper's networks at their datasets' shapes: counted from the architectures' definitions
// (Myrtle's ResNet9: 8 convolutions, residual blocks after stages 1 and 3; ResNet18: a stem,
// 16 block convolutions and 3 projection shortcuts, 8 residual adds).
struct Census {
  std::size_t conv = 0, batchnorm = 0, add = 0;
  FeatureShape logits;
};
Census census(const TrainWorkload& t) {
  Census c;
  for (const TrainLayer& l : t.layers) {
    c.conv += l.type == "conv2d", c.batchnorm += l.type == "batchnorm", c.add += l.type == "add";
    if (l.type == "softmax_ce") c.logits = l.out_shape;
  }
  return c;
}

TEST(TrainWorkload, ShippedResnet9IsTheDawnBenchNetworkOnCifar10Shapes) {
  const TrainWorkload t = load(kResnet9).train;
  const Census c = census(t);
  EXPECT_EQ(c.conv, 8u);
  EXPECT_EQ(c.batchnorm, 8u);
  EXPECT_EQ(c.add, 2u);
  EXPECT_EQ(c.logits.c, 10u);
  EXPECT_EQ(t.batch, 512u);
  EXPECT_EQ(t.dataset.height, 32u);
  EXPECT_EQ(t.dataset.channels, 3u);
  EXPECT_EQ(t.dataset.classes, 10u);
  EXPECT_EQ(t.mode, "timing");
}

TEST(TrainWorkload, ShippedResnet18IsTheImageNetNetworkOnTinyImageNetShapes) {
  const TrainWorkload t = load(kResnet18).train;
  const Census c = census(t);
  EXPECT_EQ(c.conv, 20u);
  EXPECT_EQ(c.batchnorm, 20u);
  EXPECT_EQ(c.add, 8u);
  EXPECT_EQ(c.logits.c, 200u);
  EXPECT_EQ(t.batch, 512u);
  EXPECT_EQ(t.dataset.height, 64u);
  EXPECT_EQ(t.dataset.classes, 200u);
  std::size_t last_stage = 0;  // the last block's output: 2x2x512 before global pooling
  for (const TrainLayer& l : t.layers)
    if (l.type == "avgpool") last_stage = l.in.h * 1000 + l.in.c;
  EXPECT_EQ(last_stage, 2u * 1000 + 512u);
}

TEST(TrainWorkload, ResolvedYamlLoadsAgainTheSame) {
  const Workload w = load(kCnn, {"scheme=sdgp", "optimizer.schedule=step", "optimizer.lr_step=100"});
  const std::string path = write_file("resolved.yaml", to_yaml(w));
  const Workload again = load(path);
  EXPECT_EQ(to_yaml(again).substr(to_yaml(again).find('\n')), to_yaml(w).substr(to_yaml(w).find('\n')));
  EXPECT_EQ(again.train.scheme, model::Scheme::sdgp);
  EXPECT_EQ(again.train.optimizer.lr_step, 100u);
  EXPECT_EQ(again.train.layers.size(), w.train.layers.size());
}

TEST(TrainWorkload, SetOverridesReachTheTopLevelKeys) {
  const TrainWorkload t = load(kCnn, {"scheme=dense", "batch=32"}).train;
  EXPECT_EQ(t.scheme, model::Scheme::dense);
  EXPECT_EQ(t.batch, 32u);
  const TrainingImage image =
      build_training_image(load(kCnn, {"scheme=dense", "batch=32", "dataset.train_samples=640",
                                       "dataset.test_samples=100", "eval_samples=0"})
                               .train,
                           boot());
  EXPECT_EQ(image.header.batch, 32u);
  EXPECT_EQ(image.header.scheme, static_cast<std::uint32_t>(model::Scheme::dense));
  EXPECT_EQ(image.header.iterations, 640u / 32u);
  EXPECT_EQ(image.header.eval_samples, 100u);
  for (const model::Tensor& tensor : image.tensors) EXPECT_EQ(tensor.n, 32u);
  for (bool sparse : sparse_flags(image)) EXPECT_FALSE(sparse);
  for (const model::Param& p : image.params) EXPECT_EQ(p.fwd_values, 0u);
  // An invalid override names the --set argument.
  EXPECT_NE(error_of([] { load(kCnn, {"batch=0"}); }).find("--set batch=0: batch: '0' is out of range"),
            std::string::npos);
}

TEST(TrainWorkload, ModeAndOptionalKeysHaveTheirDefaults) {
  const std::string path = write_file("defaults.yaml",
                                      "name: d\nprogram: train\nbatch: 2\noptimizer: {lr: 0.5}\n"
                                      "dataset: {name: synthetic}\n"
                                      "network: {layers: [{type: flatten}, {type: linear, out: 10}, {type: softmax_ce}]}\n");
  const TrainWorkload t = load(path).train;
  EXPECT_EQ(t.mode, "functional");
  EXPECT_EQ(t.scheme, model::Scheme::dense);
  EXPECT_EQ(t.n, 2u);
  EXPECT_EQ(t.m, 8u);
  EXPECT_EQ(t.bwd_mask, model::BwdMask::independent);
  EXPECT_EQ(t.sparse_decay, 2e-4);
  EXPECT_TRUE(t.sdgp_rescale);
  EXPECT_FALSE(t.sparse_first_layer);
  EXPECT_FALSE(t.sparse_last_layer);
  EXPECT_EQ(t.epochs, 1u);
  EXPECT_EQ(t.iterations, 0u);
  EXPECT_EQ(t.seed, 1u);
  EXPECT_EQ(t.loss_scale, 1.0);
  EXPECT_EQ(t.optimizer.momentum, 0.0);
  EXPECT_EQ(t.optimizer.schedule, model::LrSchedule::constant);
  EXPECT_EQ(t.optimizer.lr_gamma, 0.1);
  EXPECT_EQ(t.dataset.mean, std::vector<double>{0.0});
  EXPECT_EQ(t.dataset.std, std::vector<double>{1.0});
  EXPECT_EQ(t.dataset.height, 8u);  // synthetic defaults 8x8x1, 10 classes, 1000 / 200
  EXPECT_EQ(t.dataset.classes, 10u);
  EXPECT_EQ(t.snapshot_interval, 0u);
  EXPECT_EQ(t.log_interval, 0u);
  EXPECT_EQ(t.timeout_ns, 1'000'000'000u);
  const TrainingImage image = build_training_image(t, boot());
  EXPECT_EQ(image.header.iterations, 1000u / 2u);  // one epoch
  EXPECT_EQ(image.header.eval_samples, 200u);
}

TEST(TrainWorkload, OtherProgramsAreUnchanged) {
  EXPECT_EQ(load(kSource + "/workloads/bringup.yaml").program, "bringup");
  EXPECT_EQ(load(kSource + "/workloads/engines.yaml").engines.m, 8u);
  const std::string path = write_file("bringup_with_batch.yaml",
                                      "name: x\nprogram: bringup\nbatch: 4\nbringup: {rows: 1}\n");
  EXPECT_NE(error_of([&] { load(path); }).find(":3:1: batch: unknown key; expected one of name, program, bringup, engines"),
            std::string::npos);
}
// The CEST paper's ViT on CIFAR-100, counted from its architecture: a 4x4 patch embedding to
// 8x8 = 64 tokens of 192, a class token (65 tokens), 6 pre-norm blocks (2 layer norms, 2 adds,
// 1 attention, 4 token-wise linears, 1 GELU each), a final layer norm, the class token, a head.
TEST(TrainWorkload, ShippedVitIsATinyVisionTransformerOnCifar100Shapes) {
  const Workload w = load(kVit);
  const TrainWorkload& t = w.train;
  std::map<std::string, std::size_t> count;
  for (const TrainLayer& l : t.layers) ++count[l.type];
  EXPECT_EQ(count["conv2d"], 1u);
  EXPECT_EQ(count["tokens"], 1u);
  EXPECT_EQ(count["embed"], 1u);
  EXPECT_EQ(count["attention"], 6u);
  EXPECT_EQ(count["layernorm"], 2u * 6u + 1u);
  EXPECT_EQ(count["add"], 2u * 6u);
  EXPECT_EQ(count["gelu"], 6u);
  EXPECT_EQ(count["linear"], 4u * 6u + 1u);
  EXPECT_EQ(count["cls_token"], 1u);
  EXPECT_EQ(t.layers.size(), 3u + 10u * 6u + 4u);
  const Census c = census(t);
  EXPECT_TRUE(c.logits.flat);
  EXPECT_EQ(c.logits.c, 100u);
  EXPECT_EQ(t.batch, 512u);
  EXPECT_EQ(t.mode, "timing");
  EXPECT_EQ(t.dataset.height, 32u);
  EXPECT_EQ(t.dataset.channels, 3u);
  EXPECT_EQ(t.dataset.classes, 100u);
  EXPECT_EQ(t.dataset.mean, (std::vector<double>{0.5071, 0.4865, 0.4409}));
  EXPECT_EQ(t.dataset.std, (std::vector<double>{0.2673, 0.2564, 0.2762}));
  for (const TrainLayer& l : t.layers) {
    if (l.type == "tokens") {
      EXPECT_EQ(l.in.h, 8u);
      EXPECT_EQ(l.in.w, 8u);
      EXPECT_EQ(l.out_shape.h, 1u);
      EXPECT_EQ(l.out_shape.w, 64u);
      EXPECT_EQ(l.out_shape.c, 192u);
    }
    if (l.type == "embed") {
      EXPECT_EQ(l.out_shape.w, 65u);
    }
    if (l.type == "attention") {
      EXPECT_EQ(l.heads, 3u);
      EXPECT_EQ(l.in.c, 576u);
      EXPECT_EQ(l.out_shape.c, 192u);
      EXPECT_EQ(l.out_shape.w, 65u);
    }
    if (l.type == "layernorm" || l.type == "gelu" || l.type == "add") {
      EXPECT_EQ(l.out_shape.w, 65u);
      EXPECT_FALSE(l.out_shape.flat);
    }
    if (l.type == "cls_token") {
      EXPECT_TRUE(l.out_shape.flat);
      EXPECT_EQ(l.out_shape.c, 192u);
    }
  }
  // The token-wise linears keep the 65 tokens; the head reads the flat class token.
  EXPECT_EQ(t.layers[4].type, "linear");
  EXPECT_EQ(t.layers[4].out_shape.w, 65u);
  EXPECT_EQ(t.layers[4].out_shape.c, 576u);
  EXPECT_FALSE(t.layers[4].out_shape.flat);
  EXPECT_TRUE(t.layers[t.layers.size() - 2].out_shape.flat);
  // The resolved YAML keeps the heads and loads again the same.
  EXPECT_NE(to_yaml(w).find("    - {type: attention, heads: 3}\n"), std::string::npos);
  const Workload again = load(write_file("vit_resolved.yaml", to_yaml(w)));
  EXPECT_EQ(to_yaml(again).substr(to_yaml(again).find('\n')), to_yaml(w).substr(to_yaml(w).find('\n')));

  // Its image: 80 params (patch conv weight and bias; pos and cls; per block 2 x (gamma, beta)
  // and 4 x (weight, bias); the final gamma and beta; the head), the patch embedding and the
  // head dense, the 24 block linears sparse.
  const TrainingImage image = build_training_image(t, boot());
  EXPECT_EQ(image.params.size(), 2u + 2u + 6u * 12u + 2u + 2u);
  // The batch, one per layer but softmax_ce, and the probabilities of the 6 attention layers.
  EXPECT_EQ(image.tensors.size(), t.layers.size() + 6);
  std::size_t sparse = 0;
  for (std::size_t i = 0; i < image.layers.size(); ++i)
    if (image.layers[i].flags & model::kLayerSparse) {
      ++sparse;
      EXPECT_EQ(t.layers[i].type, "linear") << i;
    }
  EXPECT_EQ(sparse, 24u);
  EXPECT_FALSE(image.layers[0].flags & model::kLayerSparse);
  EXPECT_FALSE(image.layers[t.layers.size() - 2].flags & model::kLayerSparse);
}

// ------------------------------------------------------------------------------ bad files

struct BadFile {
  const char* name;
  const char* position;  // line:column
  const char* key;       // key path the message names; empty for the empty document
  const char* phrase;    // what the message must say
};

#define NM_EXPECTED "; expected N:M with 1 <= N <= M <= 32, e.g. 2:8"  // docs/workloads.md

const BadFile kBadFiles[] = {
    {"unknown_layer_type", "9:14", "network.layers[0].type", "unknown layer type 'conv3d' (did you mean 'conv2d'?)"},
    {"unsupported_layer_type", "9:14", "network.layers[0].type",
     "layer type 'dropout' is not supported by the training runtime yet"},
    {"misspelt_key", "4:1", "bacth", "unknown key (did you mean 'batch'?)"},
    {"misspelt_layer_key", "9:30", "network.layers[0].kernal", "unknown key (did you mean 'kernel'?)"},
    {"misspelt_layer_type_key", "9:8", "network.layers[0].tpye", "unknown key (did you mean 'type'?)"},
    {"linear_without_flatten", "10:7", "network.layers[1]",
     "linear (layer 1) needs a flattened input or a token sequence, but its input is 6x6x4 (H x W x C); expected a "
     "flatten layer before it (add a flatten layer)"},
    {"softmax_not_last", "11:7", "network.layers[2]", "softmax_ce is layer 2 of 4; expected softmax_ce exactly once"},
    {"no_softmax", "9:5", "network.layers", "the last layer is relu (line 11); expected softmax_ce as the last layer"},
    {"nm_not_nm", "5:5", "nm", "'3:2' is not an N:M sparsity"},
    {"nm_m_not_on_platform", "5:5", "nm", "M = 16 is not supported by the platform"},
    {"nm_m_over_32", "5:5", "nm", "M = 64 is larger than 32" NM_EXPECTED},
    {"batch_zero", "4:8", "batch", "'0' is out of range; expected an integer from 1 to 65536"},
    {"batch_larger_than_dataset", "4:8", "batch", "batch 16 is larger than the 8 training samples"},
    {"cifar_missing_path", "6:10", "dataset.path", "cifar10 has no default location"},
    {"missing_dataset_file", "6:38", "dataset.path",
     "/nonexistent/fashion/train-images-idx3-ubyte.gz does not exist; expected the Fashion-MNIST IDX files"},
    {"synthetic_with_path", "6:34", "dataset.path", "synthetic data has no files"},
    {"classes_mismatch", "10:7", "network.layers[1]", "produces 5 features, but synthetic has 10 classes"},
    {"kernel_too_large", "9:38", "network.layers[0].kernel", "kernel 9 is larger than the 8x8 input with padding 0"},
    {"conv_after_flatten", "10:7", "network.layers[1]", "conv2d (layer 1) needs an image input"},
    {"no_layers", "8:11", "network.layers", "no layers"},
    {"no_weights", "9:5", "network.layers", "no conv2d or linear layer: nothing to train"},
    {"unknown_scheme", "5:9", "scheme", "unknown scheme 'bdpw' (did you mean 'bdwp'?)"},
    {"unknown_program", "3:10", "program", "unknown program 'trian' (did you mean 'train'?)"},
    {"program_missing", "2:1", "program",
     "missing key, and the file has the training key 'network'; expected program: train (or bringup, engines)"},
    {"mean_per_channel", "6:34", "dataset.mean", "2 values for the 1 channel of synthetic; expected one value per channel"},
    {"std_zero", "6:47", "dataset.std[0]", "0 is out of range; expected a number above 0 to 1000"},
    {"momentum_one", "5:32", "optimizer.momentum", "1 is out of range; expected a number from 0 to below 1"},
    {"lr_not_a_number", "5:17", "optimizer.lr", "'fast' is not a number"},
    {"step_without_lr_step", "5:12", "optimizer.lr_step", "schedule step needs lr_step"},
    {"bool_not_bool", "5:15", "sdgp_rescale", "found 'yes'; expected true or false"},
    {"train_samples_too_many", "6:47", "dataset.train_samples", "'70000' is out of range; expected an integer from 0 to 60000"},
    {"eval_samples_too_many", "5:15", "eval_samples", "'500' is out of range; expected an integer from 0 to 200"},
    {"unused_section", "12:1", "bringup", "unknown key"},
    {"unknown_layer_name", "11:25", "network.layers[2].with", "no earlier layer is named 'c2' (did you mean 'c1'?)"},
    {"duplicate_layer_name", "10:26", "network.layers[1].name", "layer name 'c1' is also layer 0's (line 9)"},
    {"add_shape_mismatch", "11:25", "network.layers[2].with",
     "add's inputs differ: 8x8x8 (H x W x C) and 8x8x4 (H x W x C)"},
    {"unread_output", "10:7", "network.layers[1]", "the output of relu (layer 1) is read by no layer"},
    {"flatten_shared", "9:7", "network.layers[0]", "flatten (layer 0)'s input or output is also read by another layer"},
    {"tokens_shared", "9:7", "network.layers[0]", "tokens (layer 0)'s input or output is also read by another layer"},
    {"attention_heads_not_dividing", "11:32", "network.layers[2].heads",
     "5 heads do not divide the 12 features of q, k and v (36 / 3)"},
    {"attention_not_qkv", "11:7", "network.layers[2]", "attention (layer 2) reads 32 features per token, not divisible by 3"},
    {"embed_not_tokens", "10:7", "network.layers[1]",
     "embed (layer 1) needs a token sequence [1][T][D], but its input is 8x8x4 (H x W x C); expected a tokens layer"},
    {"cls_token_not_tokens", "10:7", "network.layers[1]",
     "cls_token (layer 1) needs a token sequence [1][T][D], but its input is 64 features"},
    // N:M
    {"nm_n_greater_than_m", "5:5", "nm", "'9:8' is not an N:M sparsity" NM_EXPECTED},
    {"nm_m_zero", "5:5", "nm", "'2:0' is not an N:M sparsity" NM_EXPECTED},
    {"nm_n_zero", "5:5", "nm", "'0:8' is not an N:M sparsity" NM_EXPECTED},
    {"nm_m_unsupported", "5:5", "nm", "M = 6 is not supported by the platform"},
    {"nm_not_a_string", "5:5", "nm", "found a list; expected a string"},
    // Zero and negative shapes.
    {"conv_out_zero", "9:27", "network.layers[0].out", "'0' is out of range; expected an integer from 1 to 65536"},
    {"conv_kernel_zero", "9:38", "network.layers[0].kernel", "'0' is out of range; expected an integer from 1 to 64"},
    {"conv_stride_zero", "9:49", "network.layers[0].stride", "'0' is out of range; expected an integer from 1 to 64"},
    {"conv_out_negative", "9:27", "network.layers[0].out", "'-8' is negative; expected an integer from 1 to 65536"},
    {"linear_out_zero", "10:27", "network.layers[1].out", "'0' is out of range; expected an integer from 1 to 65536"},
    {"synthetic_height_zero", "6:48", "dataset.synthetic.height",
     "'0' is out of range; expected an integer from 1 to 4096"},
    {"synthetic_width_negative", "6:47", "dataset.synthetic.width",
     "'-8' is negative; expected an integer from 1 to 4096"},
    // Shapes that do not chain.
    {"pool_kernel_too_large", "10:31", "network.layers[1].kernel",
     "kernel 9 is larger than the 8x8 input; expected a kernel of at most 8"},
    {"softmax_on_image", "9:7", "network.layers[0]",
     "layer 0 produces 8x8x10 (H x W x C), not logits; expected 10 features into softmax_ce"},
    {"flatten_too_large", "9:7", "network.layers[0]",
     "flattens 2097152 features; expected at most 1048576 (pool or stride first)"},
    {"linear_too_many_weights", "11:7", "network.layers[2]",
     "linear (layer 2) has 4294967296 weights (65536 x 65536); expected at most 4294967295 weights per layer"},
    // Larger than DDR, named at the key that sizes the largest part. 1000 x 136x136x8192 FP16
    // values and gradients are 578000 MiB, the pooled 2x2x8192 ones 125 MiB more.
    {"ddr_activations_too_large", "4:8", "batch", "activations 578125.2 MiB"},
    // 64 x 65536 + 65536 x 65535 + 65535 x 65535 + 65535 x 10 weights of 12 B (FP32 master and
    // momentum, FP16 gradient and copy).
    {"ddr_weights_too_large", "9:5", "network.layers", "params 98357.2 MiB"},
    // 10000002 snapshots of the 64 x 32 + 32 x 10 FP32 weights.
    {"ddr_snapshots_too_large", "14:29", "export.snapshot_interval", "snapshots 90332.0 MiB"},
    // Missing or corrupt dataset files: the message names the workload's dataset.path and the file.
    {"idx_truncated", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_truncated/train-images-idx3-ubyte: truncated IDX file: 1000 bytes found; expected "
     "47040016 bytes (16 of header + 60000 x 28 x 28)"},
    {"idx_wrong_magic", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_wrong_magic/train-images-idx3-ubyte: wrong magic number 0x00000801; expected "
     "0x00000803 for an IDX images file"},
    {"idx_header_truncated", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_header_truncated/train-images-idx3-ubyte: truncated IDX file: 10 bytes found; "
     "expected 16 bytes of header"},
    {"idx_too_long", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_too_long/train-images-idx3-ubyte: IDX file too long: 1684 bytes found; expected "
     "1584 bytes (16 of header + 2 x 28 x 28)"},
    {"idx_zero_rows", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_zero_rows/train-images-idx3-ubyte: an image dimension is 0 (2 x 0 x 28); expected "
     "rows and columns >= 1"},
    {"idx_labels_wrong_magic", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_labels_wrong_magic/train-labels-idx1-ubyte: wrong magic number 0x00000803; expected "
     "0x00000801 for an IDX labels file"},
    {"idx_label_count_mismatch", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_label_count_mismatch/train-labels-idx1-ubyte: 3 labels for the 2 images of "
     "tests/data/bad_datasets/idx_label_count_mismatch/train-images-idx3-ubyte; expected one label per image"},
    {"idx_label_out_of_range", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_label_out_of_range/train-labels-idx1-ubyte: label 12 of item 1 is out of range; "
     "expected 0..9"},
    {"idx_wrong_image_size", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_wrong_image_size/train-images-idx3-ubyte: images are 32x32; expected 28x28 "
     "(fashion-mnist)"},
    {"idx_gzip_corrupt", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_gzip_corrupt/train-images-idx3-ubyte.gz: corrupt gzip file (invalid block type); "
     "expected valid gzip data"},
    {"idx_gzip_truncated", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_gzip_truncated/train-images-idx3-ubyte.gz: corrupt gzip file: the compressed data "
     "ends early (truncated?); expected a complete gzip stream"},
    {"idx_fewer_images_than_batch", "4:8", "batch",
     "dataset fashion-mnist has 2 training samples, fewer than one batch of 16; expected a batch of at most 2"},
    {"idx_fewer_images_than_eval_samples", "5:15", "eval_samples",
     "5 is more than the 2 test samples read from tests/data/bad_datasets/idx_two_images/t10k-images-idx3-ubyte; "
     "expected at most 2"},
    {"idx_fewer_images_than_test_samples", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_two_images/t10k-images-idx3-ubyte: has 2 images, fewer than dataset.test_samples = "
     "5; expected at most 2 for dataset.test_samples"},
    {"cifar_truncated", "6:33", "dataset.path",
     "tests/data/bad_datasets/cifar_truncated/train.bin: truncated CIFAR file: 4074 bytes found, the last record has "
     "1000 of 3074 bytes; expected a whole number of 3074-byte records, e.g. 3074 or 6148 bytes"},
    {"cifar_empty", "6:33", "dataset.path",
     "tests/data/bad_datasets/cifar_empty/train.bin: empty file; expected CIFAR records of 3074 bytes"},
    // YAML syntax.
    {"syntax_error", "10:7", "network.layers[1]", "this '{' is never closed; expected a '}' to end the mapping"},
    {"two_colons", "5:14", "optimizer", "illegal map value; expected valid YAML syntax"},
    {"tab_indentation", "8:1", "network.layers",
     "a tab in the indentation; expected spaces (YAML does not allow tabs for indentation)"},
    {"duplicate_key", "5:1", "batch", "duplicate key; expected each key at most once"},
    {"empty", "1:1", "", "no value; expected a mapping"},
    // Unknown keys, wrong types, values out of range.
    {"optimiser_spelling", "5:1", "optimiser",
     "unknown key (did you mean 'optimizer'?); expected one of name, program"},
    {"network_layer_key", "8:3", "network.layer", "unknown key (did you mean 'layers'?); expected one of layers"},
    {"layers_not_a_list", "8:11", "network.layers", "found a mapping; expected a list"},
    {"dataset_not_a_mapping", "6:10", "dataset", "found 'synthetic'; expected a mapping"},
    {"batch_not_an_integer", "4:8", "batch", "'16.5' is not an integer; expected an integer from 1 to 65536"},
    {"out_is_a_list", "10:27", "network.layers[1].out", "found a list; expected an integer from 1 to 65536"},
    {"timeout_zero", "5:10", "timeout", "'0 s' is out of range; expected a time from 1 us to 1000 s"},
    {"lr_negative", "5:17", "optimizer.lr", "'-0.1' is out of range; expected a number from 0 to 100"},
    {"loss_scale_zero", "5:13", "loss_scale", "0 is out of range; expected a number above 0 to 65536"},
    // Reliability II, class 7: every error has one form. Bytes a message must show escaped, on
    // one line (a NUL cut it short, a newline split it); a second document; a number with an
    // exponent is a number with a unit.
    {"control_character", "5:9", "scheme",
     "control character \\x1b in the text; expected printable text (YAML allows tab, line feed and carriage return)"},
    {"nul_byte", "5:12", "scheme",
     "control character \\x00 in the text; expected printable text (YAML allows tab, line feed and carriage return)"},
    {"escaped_nul", "5:9", "scheme",
     "unknown scheme 'den\\x00se' (did you mean 'dense'?); expected one of dense, srste, sdgp, bdwp"},
    {"multiline_value", "5:9", "scheme", "unknown scheme 'dense\\nbdwp\\n'; expected one of dense, srste, sdgp, bdwp"},
    {"invalid_utf8", "5:9", "scheme",
     "unknown scheme 'dens\\xff' (did you mean 'dense'?); expected one of dense, srste, sdgp, bdwp"},
    {"second_document", "12:1", "",
     "a second YAML document starts here; expected one document per file (a satvp file is one mapping)"},
    {"time_with_exponent", "5:10", "timeout",
     "'1e30 s' is out of range; expected a time from 1 us to 1000 s with a unit (ps, ns, us, ms, s)"},
    // Reliability II, class 4 (and 7: the image size): an IDX header is checked before its data,
    // and no more is decompressed than it implies; a run that does not fit the host's memory
    // (kCorpusHostMemory) is named at the key behind its largest part.
    {"idx_wrong_image_size_truncated", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_wrong_image_size_truncated/train-images-idx3-ubyte: images are 32x32; expected "
     "28x28 (fashion-mnist)"},
    {"idx_gzip_too_long", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_gzip_too_long/train-images-idx3-ubyte.gz: IDX file too long: more than 1584 bytes "
     "found after decompression; expected 1584 bytes (16 of header + 2 x 28 x 28)"},
    {"idx_gzip_short", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_gzip_short/train-images-idx3-ubyte.gz: truncated IDX file: 1016 bytes found after "
     "decompression; expected 1584 bytes (16 of header + 2 x 28 x 28)"},
    {"idx_header_huge", "6:38", "dataset.path",
     "tests/data/bad_datasets/idx_header_huge/train-images-idx3-ubyte: the header's sizes 4294967295 x 28 x 28 imply "
     "more than 1 GiB of data; expected an IDX file of at most 1 GiB"},
    // 10^8 records of 24 B in DDR (2.2 GiB, the largest part: its key is iterations) and read
    // back (2.2 GiB).
    {"host_memory_iterations", "6:13", "iterations",
     "the run needs about 4.5 GiB of host memory (dataset 0.0 MiB, DDR and SRAM models 2.2 GiB, firmware buffers "
     "0.0 MiB, results and their export 2.2 GiB) but 4.0 GiB is available (the machine's memory, or less under a cgroup or ulimit -v limit); expected fewer iterations"},
    {"host_memory_synthetic", "6:39", "dataset.synthetic",
     "the run needs about 24.2 GiB of host memory (dataset 20.0 GiB, DDR and SRAM models 4.1 GiB, firmware buffers "
     "132.1 MiB, results and their export 0.0 MiB) but 4.0 GiB is available (the machine's memory, or less under a cgroup or ulimit -v limit)"},
};

// Names the case in test output (and CTest test names) instead of dumping its bytes.
void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.name; }

class BadTrainWorkload : public testing::TestWithParam<BadFile> {};

// The host memory the corpus is loaded for: its host_memory_* files need more, every other
// file much less.
constexpr std::uint64_t kCorpusHostMemory = std::uint64_t{4} << 30;

// The corpus names its dataset directories relative to the source root: a relative
// dataset.path is relative to the working directory, as for satvp run from there.
class InSourceRoot {
 public:
  InSourceRoot() : saved_(fs::current_path()) { fs::current_path(kSource); }
  ~InSourceRoot() { fs::current_path(saved_); }

 private:
  fs::path saved_;
};

TEST_P(BadTrainWorkload, IsRejectedWithFileLineKeyAndReason) {
  const BadFile& bad = GetParam();
  const std::string path = kBadDir + "/" + bad.name + ".yaml";
  const InSourceRoot in_source_root;
  // Some problems show only against the data files, DDR or the host's memory: the loader
  // builds the image, on a machine of kCorpusHostMemory whatever the test runs on.
  const std::string message = error_of([&] { build_training_image(load(path).train, boot(), kCorpusHostMemory); });
  const std::string prefix = path + ":" + bad.position + ": " + (*bad.key ? std::string(bad.key) + ": " : "");
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_NE(message.find(bad.phrase), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadTrainWorkload, testing::ValuesIn(kBadFiles),
                         [](const testing::TestParamInfo<BadFile>& instance) { return std::string(instance.param.name); });

// Every file of the corpus is in the table, so none passes for a reason its comment does not give.
TEST(BadTrainCorpus, EveryFileIsChecked) {
  std::set<std::string> files, checked;
  for (const auto& entry : fs::directory_iterator(kBadDir)) files.insert(entry.path().stem().string());
  for (const BadFile& bad : kBadFiles) checked.insert(bad.name);
  EXPECT_EQ(files, checked);
  EXPECT_GE(files.size(), 15u);
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every directory of tests/data/bad_datasets is the dataset.path of a corpus workload, and holds
// only files the loader looks for there (those it never reads before the error are empty).
TEST(BadTrainCorpus, EveryDatasetFileIsUsed) {
  const std::string prefix = "path: tests/data/bad_datasets/";
  std::set<std::string> named;
  for (const auto& entry : fs::directory_iterator(kBadDir)) {
    const std::string text = file_text(entry.path());
    const std::size_t at = text.find(prefix);
    if (at == std::string::npos) continue;
    const std::size_t from = at + prefix.size();
    named.insert(text.substr(from, text.find_first_of(",}", from) - from));
  }
  const std::set<std::string> looked_for = {"train-images-idx3-ubyte",    "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte",     "t10k-labels-idx1-ubyte",
                                            "train-images-idx3-ubyte.gz", "train.bin",
                                            "test.bin"};
  std::set<std::string> dirs;
  for (const auto& dir : fs::directory_iterator(kSource + "/tests/data/bad_datasets")) {
    dirs.insert(dir.path().filename().string());
    for (const auto& file : fs::directory_iterator(dir.path()))
      EXPECT_EQ(looked_for.count(file.path().filename().string()), 1u) << file.path();
  }
  EXPECT_EQ(dirs, named);
}

TEST(BadTrainCorpus, MissingFashionMnistSaysHowToInstallIt) {
  const std::string message = error_of([] { load(kBadDir + "/missing_dataset_file.yaml"); });
  EXPECT_NE(message.find("apt install dataset-fashion-mnist"), std::string::npos) << message;
}

// ------------------------------------------------------------------------------ the image

// [addr, addr + bytes) of every buffer the tables and the header name.
std::vector<std::pair<std::uint64_t, std::uint64_t>> named_buffers(const TrainingImage& image) {
  const model::Header& h = image.header;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> buffers = {
      {image.model_addr, sizeof(model::Header)},
      {h.tensors, h.tensor_count * sizeof(model::Tensor)},
      {h.params, h.param_count * sizeof(model::Param)},
      {h.layers, h.layer_count * sizeof(model::Layer)},
      {h.train_images, std::uint64_t{h.train_count} * h.image_h * h.image_w * h.image_c},
      {h.train_labels, h.train_count},
      {h.test_images, std::uint64_t{h.test_count} * h.image_h * h.image_w * h.image_c},
      {h.test_labels, h.test_count},
      {h.scratch, h.scratch_bytes},
      {h.result, h.result_bytes},
      {h.snapshots, h.snapshot_bytes * h.snapshot_capacity}};
  std::set<std::uint64_t> seen;  // a flatten's tensor is a view of its input's buffers
  for (const model::Tensor& t : image.tensors) {
    if (!seen.insert(t.addr).second) continue;
    buffers.push_back({t.addr, t.elements() * 2});
    if (t.grad_addr) buffers.push_back({t.grad_addr, t.elements() * 2});
  }
  for (const model::Param& p : image.params) {
    buffers.push_back({p.master, std::uint64_t{p.count} * 4});
    if (p.momentum) buffers.push_back({p.momentum, std::uint64_t{p.count} * 4});  // not for running statistics
    if (p.grad) buffers.push_back({p.grad, std::uint64_t{p.count} * 2});
    if (p.fp16) buffers.push_back({p.fp16, std::uint64_t{p.count} * 2});
    const std::uint32_t n = image.header.n, m = image.header.m;
    if (p.fwd_values) {
      buffers.push_back({p.fwd_values, model::values_bytes(model::fwd_lines(p), model::fwd_line(p, n, m))});
      buffers.push_back({p.fwd_indices, model::index_bytes(model::fwd_lines(p), model::fwd_line(p, n, m))});
    }
    if (p.bwd_values) {
      buffers.push_back({p.bwd_values, model::values_bytes(model::bwd_lines(p), model::bwd_line(p, n, m))});
      buffers.push_back({p.bwd_indices, model::index_bytes(model::bwd_lines(p), model::bwd_line(p, n, m))});
    }
  }
  return buffers;
}

void expect_disjoint_inside_ddr(const TrainingImage& image) {
  auto buffers = named_buffers(image);
  std::sort(buffers.begin(), buffers.end());
  const fw::BootInfo b = boot();
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_GT(buffers[i].second, 0u) << "buffer at " << buffers[i].first;
    EXPECT_GE(buffers[i].first, b.ddr.base);
    EXPECT_LE(buffers[i].first + buffers[i].second, b.ddr.base + b.ddr.size);
    EXPECT_LE(buffers[i].first + buffers[i].second, image.end);
    if (i > 0) {
      EXPECT_LE(buffers[i - 1].first + buffers[i - 1].second, buffers[i].first)
          << "buffers at " << buffers[i - 1].first << " and " << buffers[i].first << " overlap";
    }
    if (buffers[i].first >= image.header.layers + image.header.layer_count * sizeof(model::Layer)) {
      EXPECT_EQ(buffers[i].first % 4096, 0u) << "buffer at " << buffers[i].first << " is not 4 KiB aligned";
    }
  }
}

TEST(TrainImage, CnnDescriptorParsesBackFromMemory) {
  const TrainingImage image = build_training_image(
      load(kCnn, {"dataset.train_samples=1000", "dataset.test_samples=300", "eval_samples=0"}).train, boot());
  const Memory memory = written(image);
  const model::Header h = memory.at<model::Header>(image.model_addr);
  EXPECT_EQ(image.model_addr, boot().ddr.base + model::kModelOffset);
  EXPECT_EQ(h.magic, 0x4D505643u);
  EXPECT_EQ(h.version_major, model::kVersionMajor);
  EXPECT_EQ(h.version_minor, model::kVersionMinor);
  EXPECT_EQ(h.header_bytes, sizeof(model::Header));
  // 1 input + 10 layer outputs (softmax_ce has none); weights of 4 layers, biases of the 2 linear.
  ASSERT_EQ(h.tensor_count, 11u);
  ASSERT_EQ(h.param_count, 6u);
  ASSERT_EQ(h.layer_count, 11u);
  std::vector<model::Tensor> tensors(h.tensor_count);
  std::vector<model::Param> params(h.param_count);
  std::vector<model::Layer> layers(h.layer_count);
  for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i] = memory.at<model::Tensor>(h.tensors + i * sizeof(model::Tensor));
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = memory.at<model::Param>(h.params + i * sizeof(model::Param));
  for (std::size_t i = 0; i < layers.size(); ++i) layers[i] = memory.at<model::Layer>(h.layers + i * sizeof(model::Layer));

  // Training parameters.
  EXPECT_EQ(h.scheme, 3u);
  EXPECT_EQ(h.n, 2u);
  EXPECT_EQ(h.m, 8u);
  EXPECT_EQ(h.batch, 64u);
  EXPECT_EQ(h.iterations, 1000u / 64u);  // one epoch of 15 batches
  EXPECT_EQ(h.eval_interval, 200u);
  EXPECT_EQ(h.eval_samples, 300u);
  EXPECT_EQ(h.lr, 0.05f);
  EXPECT_EQ(h.momentum, 0.9f);
  EXPECT_EQ(h.weight_decay, 5e-4f);
  EXPECT_EQ(h.sparse_decay, 2e-4f);
  EXPECT_EQ(h.loss_scale, 128.0f);
  EXPECT_EQ(h.lr_schedule, 1u);
  EXPECT_EQ(h.sdgp_rescale, 1u);
  EXPECT_EQ(h.classes, 10u);
  EXPECT_EQ(h.image_h, 28u);
  EXPECT_EQ(h.image_c, 1u);
  EXPECT_EQ(h.mean[0], 0.2860f);
  EXPECT_EQ(h.stdev[0], 0.3530f);
  EXPECT_EQ(h.train_count, 1000u);
  EXPECT_EQ(h.test_count, 300u);

  // Tensors: shapes, the input without a gradient, flatten a view.
  const std::uint32_t shapes[11][3] = {{28, 28, 1},  {28, 28, 16}, {28, 28, 16}, {14, 14, 16}, {14, 14, 32}, {14, 14, 32},
                                       {7, 7, 32},   {1, 1, 1568}, {1, 1, 128},  {1, 1, 128},  {1, 1, 10}};
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(tensors[i].n, 64u) << i;
    EXPECT_EQ(tensors[i].h, shapes[i][0]) << i;
    EXPECT_EQ(tensors[i].w, shapes[i][1]) << i;
    EXPECT_EQ(tensors[i].c, shapes[i][2]) << i;
    EXPECT_EQ(tensors[i].dtype, 0u) << i;
    EXPECT_NE(tensors[i].addr, 0u) << i;
    EXPECT_EQ(tensors[i].grad_addr != 0, i != 0) << i;
  }
  EXPECT_EQ(tensors[7].addr, tensors[6].addr);  // flatten
  EXPECT_EQ(tensors[7].grad_addr, tensors[6].grad_addr);
  EXPECT_EQ(h.input_tensor, 0u);
  EXPECT_EQ(h.logits_tensor, 10u);

  // Layers: kinds, tensors, params, shape fields, sparse flags (BDWP: not the first and last).
  const model::LayerKind kinds[11] = {model::LayerKind::conv2d, model::LayerKind::relu,    model::LayerKind::maxpool,
                                      model::LayerKind::conv2d, model::LayerKind::relu,    model::LayerKind::maxpool,
                                      model::LayerKind::flatten, model::LayerKind::linear, model::LayerKind::relu,
                                      model::LayerKind::linear, model::LayerKind::softmax_ce};
  for (std::uint32_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].kind, static_cast<std::uint32_t>(kinds[i])) << i;
    EXPECT_EQ(layers[i].in, i) << i;
    EXPECT_EQ(layers[i].out, i == 10 ? model::kNone : i + 1) << i;
    EXPECT_EQ(layers[i].in2, model::kNone) << i;
    EXPECT_EQ((layers[i].flags & model::kLayerSparse) != 0, i == 3 || i == 7) << i;
  }
  EXPECT_EQ(layers[0].a, 3u);
  EXPECT_EQ(layers[0].b, 3u);
  EXPECT_EQ(layers[0].c, 1u);
  EXPECT_EQ(layers[0].d, 1u);
  EXPECT_EQ(layers[2].a, 2u);
  EXPECT_EQ(layers[2].c, 2u);
  EXPECT_EQ(layers[0].weight, 0u);
  EXPECT_EQ(layers[0].bias, model::kNone);
  EXPECT_EQ(layers[3].weight, 1u);
  EXPECT_EQ(layers[7].weight, 2u);
  EXPECT_EQ(layers[7].bias, 3u);
  EXPECT_EQ(layers[9].weight, 4u);
  EXPECT_EQ(layers[9].bias, 5u);
  EXPECT_EQ(layers[1].weight, model::kNone);

  // Params: shapes; compressed forms only for the sparse weights.
  const std::uint32_t param_shapes[6][4] = {  // cout, taps, cin, decay
      {16, 9, 1, 1}, {32, 9, 16, 1}, {128, 1, 1568, 1}, {128, 1, 1, 0}, {10, 1, 128, 1}, {10, 1, 1, 0}};
  for (std::size_t i = 0; i < params.size(); ++i) {
    const model::Param& p = params[i];
    EXPECT_EQ(p.cout, param_shapes[i][0]) << i;
    EXPECT_EQ(p.taps, param_shapes[i][1]) << i;
    EXPECT_EQ(p.cin, param_shapes[i][2]) << i;
    EXPECT_EQ(p.decay, param_shapes[i][3]) << i;
    EXPECT_EQ(p.count, p.cout * p.taps * p.cin) << i;
    const bool sparse = i == 1 || i == 2;
    EXPECT_EQ(p.fwd_values != 0, sparse) << i;
    EXPECT_EQ(p.fwd_indices != 0, sparse) << i;
    EXPECT_EQ(p.bwd_values != 0, sparse) << i;
    EXPECT_EQ(p.bwd_indices != 0, sparse) << i;
  }
  // conv2 2:8: forward lines of Cin = 16 (2 groups, 4 entries, 3-bit indices: 12 bits, 1 word),
  // 32 * 9 of them; backward lines of Cout = 32 (4 groups, 8 entries, 24 bits, 1 word), 9 * 16.
  const auto area_bytes = [&](std::uint64_t addr) {
    for (const MemoryArea& a : image.areas)
      if (a.addr == addr) return a.bytes;
    return std::uint64_t{0};
  };
  EXPECT_EQ(area_bytes(params[1].fwd_values), 32u * 9u * 4u * 2u);
  EXPECT_EQ(area_bytes(params[1].fwd_indices), 32u * 9u * 1u * 4u);
  EXPECT_EQ(area_bytes(params[1].bwd_values), 9u * 16u * 8u * 2u);
  EXPECT_EQ(area_bytes(params[1].bwd_indices), 9u * 16u * 1u * 4u);
  // fc1 2:8: forward lines of 1568 (196 groups, 392 entries x 3 bits = 1176 bits, 37 words).
  EXPECT_EQ(area_bytes(params[2].fwd_values), 128u * 392u * 2u);
  EXPECT_EQ(area_bytes(params[2].fwd_indices), 128u * 37u * 4u);
  EXPECT_EQ(area_bytes(params[0].master), 16u * 9u * 4u);
  EXPECT_EQ(area_bytes(params[0].grad), 16u * 9u * 2u);
  expect_disjoint_inside_ddr(image);

  // Scratch: 4 x the largest weight (fc1, 200704 values), no SDGP part, + 1 MiB.
  EXPECT_EQ(h.scratch_bytes, (4u * 200704u + 4095u) / 4096u * 4096u + (1u << 20));
  // Result area: header, 15 iteration records, ceil(15 / 200) = 1 eval record.
  const model::ResultHeader r = memory.at<model::ResultHeader>(h.result);
  EXPECT_EQ(r.magic, 0u);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(r.iteration_capacity, 15u);
  EXPECT_EQ(r.eval_capacity, 1u);
  EXPECT_GE(r.iteration_records, h.result + sizeof(model::ResultHeader));
  EXPECT_GE(r.eval_records, r.iteration_records + 15 * sizeof(model::IterationRecord));
  EXPECT_EQ(r.eval_records + sizeof(model::EvalRecord), h.result + h.result_bytes);
  // Snapshots: initial and final; per param its master plus the compressed forms.
  EXPECT_EQ(h.snapshot_capacity, 2u);
  EXPECT_EQ(image.snapshot_iterations, (std::vector<std::uint32_t>{0, 15}));
  std::uint64_t snapshot = 0;
  for (const model::Param& p : params) snapshot += model::param_snapshot_bytes(p, 2, 8);
  EXPECT_EQ(h.snapshot_bytes, snapshot);

  // Contents: masters, zero momentum, FP16 copies, dataset; the order's seed, not the order
  // (the firmware draws it).
  for (std::size_t i = 0; i < params.size(); ++i) {
    const model::Param& p = params[i];
    for (std::uint32_t k = 0; k < p.count; k += 97) {
      const float w = memory.at<float>(p.master + 4 * k);
      EXPECT_EQ(w, image.initial[i][k]);
      EXPECT_EQ(memory.at<float>(p.momentum + 4 * k), 0.0f);
      EXPECT_EQ(memory.at<std::uint16_t>(p.fp16 + 2 * k), fw::float_to_half(w));
      if (p.decay == 0) {
        EXPECT_EQ(w, 0.0f);
      }
    }
  }
  EXPECT_EQ(std::memcmp(memory.bytes.data() + (h.train_images - memory.base), image.train_images.data(),
                        image.train_images.size()),
            0);
  EXPECT_EQ(image.train_images.size(), 1000u * 784u);
  EXPECT_EQ(std::memcmp(memory.bytes.data() + (h.test_labels - memory.base), image.test_labels.data(), 300), 0);
  EXPECT_EQ(h.order_seed, 1u);
}

TEST(TrainImage, DatasetBytesAreThePixelBytes) {
  // Fashion-MNIST's first training image is an ankle boot (label 9); its first row is blank.
  const TrainingImage image =
      build_training_image(load(kCnn, {"dataset.train_samples=64", "dataset.test_samples=10", "eval_samples=0"}).train,
                           boot());
  EXPECT_EQ(image.train_labels[0], 9u);
  EXPECT_EQ(image.train_labels[1], 0u);
  for (int x = 0; x < 28; ++x) EXPECT_EQ(image.train_images[x], 0u);
  EXPECT_GT(*std::max_element(image.train_images.begin(), image.train_images.begin() + 784), 200u);
  EXPECT_EQ(image.test_labels[0], 9u);
}

TEST(TrainImage, SparseFlagsFollowTheSchemeAndTheFirstAndLastRule) {
  // Trainable layers of the tiny network: 0 (first), 2, 5, 6 (last).
  const std::vector<bool> middle = {false, false, true, false, false, true, false, false};
  EXPECT_EQ(sparse_flags(tiny_image("dense")), std::vector<bool>(8, false));
  EXPECT_EQ(sparse_flags(tiny_image("bdwp")), middle);
  EXPECT_EQ(sparse_flags(tiny_image("srste")), middle);
  EXPECT_EQ(sparse_flags(tiny_image("sdgp")), middle);
  EXPECT_EQ(sparse_flags(tiny_image("bdwp", "sparse_first_layer: true\n")),
            (std::vector<bool>{true, false, true, false, false, true, false, false}));
  EXPECT_EQ(sparse_flags(tiny_image("bdwp", "sparse_last_layer: true\n")),
            (std::vector<bool>{false, false, true, false, false, true, true, false}));
  EXPECT_EQ(sparse_flags(tiny_image("dense", "sparse_first_layer: true\nsparse_last_layer: true\n")),
            std::vector<bool>(8, false));
  // dense: true keeps a layer dense.
  const std::string layers = "    - {type: conv2d, out: 8, kernel: 3}\n    - {type: conv2d, out: 8, kernel: 3, dense: true}\n"
                             "    - {type: conv2d, out: 8, kernel: 2}\n    - {type: flatten}\n    - {type: linear, out: 3}\n"
                             "    - {type: softmax_ce}\n";
  const std::string path = write_file("dense_layer.yaml", synthetic_workload("bdwp", "", layers));
  EXPECT_EQ(sparse_flags(build_training_image(load(path).train, boot())),
            (std::vector<bool>{false, false, true, false, false, false}));
}

TEST(TrainImage, ASparseLayerWithAShortNmGroupIsWarnedAboutOnStderr) {
  // 2:4 (synthetic_workload's). Layer 1: Cin 6 and Cout 10, each ends in a group of 2; layer 2:
  // Cin 10 (Cout 8 is whole); layers 0 and 4 (Cin 2, out 3) are dense as first and last.
  const std::string layers = "    - {type: conv2d, out: 6, kernel: 3, padding: 1}\n"   // line 11
                             "    - {type: conv2d, out: 10, kernel: 3, padding: 1}\n"  // line 12
                             "    - {type: conv2d, out: 8, kernel: 3}\n"               // line 13: 4x4x8
                             "    - {type: flatten}\n    - {type: linear, out: 3}\n    - {type: softmax_ce}\n";
  const std::string path = write_file("short_groups.yaml", synthetic_workload("bdwp", "", layers));
  const std::string tail = "; the reference implementations of the schemes reject such a layer or let its groups "
                           "straddle lines";
  const std::string cin6 = "Cin 6 is not a multiple of M=4: each line of W~ ends in a group of 2 that keeps 2 (2:4 "
                           "in the others)";
  const std::string cout10 = "Cout 10 is not a multiple of M=4: each line of W~^T ends in a group of 2 that keeps 2 "
                             "(2:4 in the others)";
  const std::string cin10 = "Cin 10 is not a multiple of M=4: each line of W~ ends in a group of 2 that keeps 2 (2:4 "
                            "in the others)";
  const std::string layer1 = path + ":12:7: network.layers[1] (conv2d): ";
  const std::string layer2 = path + ":13:7: network.layers[2] (conv2d): ";
  EXPECT_EQ(nm_tail_warnings(load(path).train),
            (std::vector<std::string>{layer1 + cin6 + "; " + cout10 + tail, layer2 + cin10 + tail}));
  EXPECT_EQ(nm_tail_warnings(load(path, {"scheme=srste"}).train),
            (std::vector<std::string>{layer1 + cin6 + tail, layer2 + cin10 + tail}));
  // SDGP groups dY along Cout (of convolutions with Cin > 3).
  EXPECT_EQ(nm_tail_warnings(load(path, {"scheme=sdgp"}).train),
            (std::vector<std::string>{layer1 +
                                      "Cout 10 is not a multiple of M=4: each line of the pruned dY~ ends in a group "
                                      "of 2 that keeps 2 (2:4 in the others)" +
                                      tail}));
  EXPECT_TRUE(nm_tail_warnings(load(path, {"scheme=dense"}).train).empty());
  // 3:4: a group of 2 keeps both and is padded with a third, zero entry.
  const std::vector<std::string> three = nm_tail_warnings(load(path, {"nm=3:4", "scheme=srste"}).train);
  ASSERT_EQ(three.size(), 2u);
  EXPECT_EQ(three[0], layer1 + "Cin 6 is not a multiple of M=4: each line of W~ ends in a group of 2 that keeps 2 "
                               "(3:4 in the others), padded to N=3 with zero entries that STCE skips but spends "
                               "cycles on" + tail);

  // The loader prints each once, to stderr; a network without short groups prints nothing.
  testing::internal::CaptureStderr();
  build_training_image(load(path).train, boot());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "satvp: warning: " + layer1 + cin6 + "; " + cout10 + tail +
                                                        "\nsatvp: warning: " + layer2 + cin10 + tail + "\n");
  testing::internal::CaptureStderr();
  tiny_image("bdwp");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(TrainWorkload, NoShippedWorkloadHasAShortNmGroupInAnyScheme) {
  for (const std::string& file : {kCnn, kMlp, kResnet9, kResnet18, kVit})
    for (const char* scheme : {"srste", "sdgp", "bdwp"}) {
      const std::vector<std::string> warnings = nm_tail_warnings(load(file, {std::string("scheme=") + scheme}).train);
      EXPECT_TRUE(warnings.empty()) << file << " " << scheme << ": " << warnings.front();
    }
}

TEST(TrainImage, CompressedFormsAndScratchFollowTheScheme) {
  // Weights: 0 conv 8x9x2, 1 conv 8x9x8, 2 linear 8x8, 3 its bias, 4 linear 3x8.
  const auto forms = [](const TrainingImage& image) {
    std::vector<int> f;
    for (const model::Param& p : image.params) f.push_back((p.fwd_values ? 1 : 0) + (p.bwd_values ? 2 : 0));
    return f;
  };
  EXPECT_EQ(forms(tiny_image("bdwp")), (std::vector<int>{0, 3, 3, 0, 0}));
  EXPECT_EQ(forms(tiny_image("srste")), (std::vector<int>{0, 1, 1, 0, 0}));
  EXPECT_EQ(forms(tiny_image("sdgp")), (std::vector<int>{0, 0, 0, 0, 0}));
  EXPECT_EQ(forms(tiny_image("dense")), (std::vector<int>{0, 0, 0, 0, 0}));
  // SDGP: dY~ of the sparse conv (layer 2, 2x2 output, Cout 8): 4 x 2 x 2 lines of 8, 2:4 ->
  // 4 entries (8 B of values), 4 x 2 bits (1 word) each. Largest weight: 8*9*8 = 576 values.
  const std::uint64_t base = (4u * 576u + 4095u) / 4096u * 4096u + (1u << 20);
  EXPECT_EQ(tiny_image("sdgp").header.scratch_bytes, base + 4096u + 4096u);
  EXPECT_EQ(tiny_image("bdwp").header.scratch_bytes, base);
  const TrainingImage bdwp = tiny_image("bdwp");
  expect_disjoint_inside_ddr(bdwp);
  EXPECT_EQ(bdwp.params[1].count, 8u * 9u * 8u);
  EXPECT_EQ(bdwp.params[2].cin, 8u);  // the flattened 1x1x8
  EXPECT_EQ(bdwp.params[3].count, 8u);
  EXPECT_EQ(bdwp.params[3].decay, 0u);
  EXPECT_EQ(bdwp.layers[3].a, 2u);  // maxpool: stride defaults to the kernel
  EXPECT_EQ(bdwp.layers[3].c, 2u);
  EXPECT_EQ(bdwp.layers[2].c, 2u);
}

TEST(TrainImage, EvalAndSnapshotCountsAndEpochs) {
  // 20 samples, batch 4: 5 iterations per epoch.
  const TrainingImage image =
      tiny_image("dense", "epochs: 3\neval_interval: 4\nexport: {snapshot_interval: 5, log_interval: 0}\n");
  EXPECT_EQ(image.header.iterations, 15u);
  EXPECT_EQ(image.train_epochs, 3u);
  EXPECT_EQ(eval_capacity(image), 4u);  // after 4, 8, 12 and 15
  EXPECT_EQ(image.header.snapshot_capacity, 2u + 15u / 5u);
  EXPECT_EQ(image.snapshot_iterations, (std::vector<std::uint32_t>{0, 5, 10, 15}));
  const TrainingImage exact = tiny_image("dense", "iterations: 7\nepochs: 9\n");
  EXPECT_EQ(exact.header.iterations, 7u);  // iterations wins over epochs
  EXPECT_EQ(exact.train_epochs, 2u);
  EXPECT_EQ(eval_capacity(exact), 1u);
}

// A residual block with batch norm (docs/training.md "Residual networks").
const char* const kResidualLayers =
    "    - {type: conv2d, out: 4, kernel: 3, padding: 1}\n"  // 0: 6x6x4, tensor 1
    "    - {type: batchnorm}\n"                              // 1: tensor 2
    "    - {type: relu, name: a}\n"                          // 2: tensor 3, read by 3 and 5
    "    - {type: conv2d, out: 4, kernel: 3, padding: 1}\n"  // 3: tensor 4
    "    - {type: batchnorm, name: bn}\n"                    // 4: tensor 5
    "    - {type: add, with: a}\n"                           // 5: tensor 6
    "    - {type: relu}\n"                                   // 6: tensor 7
    "    - {type: avgpool, kernel: 6}\n"                     // 7: 1x1x4, tensor 8
    "    - {type: flatten}\n"                                // 8: view, tensor 9
    // 9: linear, tensor 10
    "    - {type: linear, out: 3, bias: true}\n"
    "    - {type: softmax_ce}\n";

std::string residual_workload(const std::string& scheme, const std::string& extra = "") {
  return synthetic_workload(scheme, extra, kResidualLayers);
}

TEST(TrainImage, ResidualBlockWithBatchNorm) {
  const Workload w = load(write_file("residual.yaml", residual_workload("bdwp")));
  EXPECT_EQ(w.train.layers[5].with_from, 2);
  EXPECT_EQ(w.train.layers[5].from, 4);
  const TrainingImage image = build_training_image(w.train, boot());
  ASSERT_EQ(image.layers.size(), 11u);
  ASSERT_EQ(image.tensors.size(), 11u);  // the batch, one per layer but softmax_ce
  EXPECT_EQ(image.header.logits_tensor, 10u);
  EXPECT_EQ(image.layers[5].kind, static_cast<std::uint32_t>(model::LayerKind::add));
  EXPECT_EQ(image.layers[5].in, 5u);
  EXPECT_EQ(image.layers[5].in2, 3u);
  EXPECT_EQ(image.layers[3].in, 3u);
  EXPECT_EQ(image.layers[1].kind, static_cast<std::uint32_t>(model::LayerKind::batchnorm));
  // Params: conv0 weight; bn1 gamma, beta, running; conv3 weight; bn4 gamma, beta, running;
  // linear9 weight, bias.
  ASSERT_EQ(image.params.size(), 10u);
  EXPECT_EQ(image.layers[1].weight, 1u);
  EXPECT_EQ(image.layers[1].bias, 2u);
  EXPECT_EQ(image.layers[1].a, 3u);
  EXPECT_EQ(image.layers[4].a, 7u);
  const model::Param& gamma = image.params[1];
  const model::Param& running = image.params[3];
  EXPECT_EQ(gamma.count, 4u);
  EXPECT_EQ(gamma.decay, 0u);
  EXPECT_NE(gamma.momentum, 0u);
  EXPECT_NE(gamma.grad, 0u);
  EXPECT_EQ(image.initial[1], std::vector<float>(4, 1.0f));
  EXPECT_EQ(image.initial[2], std::vector<float>(4, 0.0f));
  EXPECT_EQ(running.count, 8u);
  EXPECT_NE(running.master, 0u);
  EXPECT_EQ(running.momentum, 0u);  // master only
  EXPECT_EQ(running.grad, 0u);
  EXPECT_EQ(running.fp16, 0u);
  EXPECT_EQ(image.initial[3], (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_TRUE(image.param_info[3].running);
  EXPECT_TRUE(image.param_info[2].bias);
  EXPECT_EQ(image.param_info[6].name, "4_batchnorm.bias");
  // Sparse: conv3 only (conv0 first, linear9 last; batch norm never).
  EXPECT_EQ(sparse_flags(image), (std::vector<bool>{false, false, false, true, false, false, false, false, false, false,
                                                    false}));
  // Scratch: 4 x the largest weight (4*9*4 = 144 values), the gradient of tensor 3
  // (4 x 6x6x4 FP16 = 1152 B) that layers 3 and 5 both contribute to, 1 MiB.
  EXPECT_EQ(image.header.scratch_bytes, 4096u + 4096u + (1u << 20));
  expect_disjoint_inside_ddr(image);
  // The snapshot holds the running statistics' master too.
  std::uint64_t snapshot = 0;
  for (const model::Param& p : image.params) snapshot += model::param_snapshot_bytes(p, 2, 4);
  EXPECT_EQ(image.header.snapshot_bytes, snapshot);
  // The resolved YAML keeps the names.
  EXPECT_NE(to_yaml(w).find("    - {type: add, with: a}\n"), std::string::npos) << to_yaml(w);
  EXPECT_NE(to_yaml(w).find("    - {type: relu, name: a}\n"), std::string::npos);
}

TEST(TrainImage, NamedInputsChooseTheTensorALayerReads) {
  // The last linear layer reads fc by name, so nothing reads the add (layer 3): rejected.
  const std::string layers = "    - {type: flatten}\n    - {type: linear, out: 72, name: fc}\n"
                             "    - {type: relu}\n    - {type: add, with: fc}\n    - {type: linear, out: 3, input: fc}\n"
                             "    - {type: softmax_ce}\n";
  EXPECT_NE(error_of([&] { load(write_file("skip.yaml", synthetic_workload("dense", "", layers))); })
                .find("the output of add (layer 3) is read by no layer"),
            std::string::npos);
  const std::string ok = "    - {type: flatten}\n    - {type: linear, out: 72, name: fc}\n"
                         "    - {type: relu}\n    - {type: add, with: fc}\n    - {type: linear, out: 3}\n"
                         "    - {type: softmax_ce}\n";
  const TrainingImage image = build_training_image(load(write_file("ok.yaml", synthetic_workload("dense", "", ok))).train, boot());
  EXPECT_EQ(image.layers[3].in, 3u);   // the relu's output
  EXPECT_EQ(image.layers[3].in2, 2u);  // fc's output
  EXPECT_EQ(image.header.logits_tensor, 5u);
}

// A small ViT: patch embedding 6x6x2 -> 3x3x6, 9 tokens, embed (10 tokens), one attention block
// with a GELU, the class token, a head. Layers:
//   0 conv2d  1 tokens  2 embed  3 layernorm  4 linear(18)  5 attention(2)  6 linear(6)  7 add
//   8 gelu  9 cls_token  10 linear(3)  11 softmax_ce
const char* const kTinyVit =
    "    - {type: conv2d, out: 6, kernel: 2, stride: 2, bias: true}\n"
    "    - {type: tokens}\n"
    "    - {type: embed, name: e}\n"
    "    - {type: layernorm}\n"
    "    - {type: linear, out: 18, bias: true}\n"
    "    - {type: attention, heads: 2}\n"
    "    - {type: linear, out: 6}\n"
    "    - {type: add, with: e}\n"
    "    - {type: gelu}\n"
    "    - {type: cls_token}\n"
    "    - {type: linear, out: 3}\n"
    "    - {type: softmax_ce}\n";

TEST(TrainImage, SmallVisionTransformer) {
  const Workload w = load(write_file("vit.yaml", synthetic_workload("bdwp", "", kTinyVit)));
  const TrainingImage image = build_training_image(w.train, boot());
  using K = model::LayerKind;
  const std::vector<K> kinds = {K::conv2d, K::tokens, K::embed, K::layernorm, K::linear, K::attention,
                                K::linear, K::add,    K::gelu,  K::cls_token, K::linear, K::softmax_ce};
  ASSERT_EQ(image.layers.size(), kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(image.layers[i].kind, static_cast<std::uint32_t>(kinds[i])) << i;
  EXPECT_EQ(static_cast<std::uint32_t>(K::tokens), 9u);
  EXPECT_EQ(static_cast<std::uint32_t>(K::cls_token), 14u);
  const auto shape = [&](std::uint32_t t) {
    const model::Tensor& x = image.tensors.at(t);
    return std::vector<std::uint32_t>{x.n, x.h, x.w, x.c};
  };
  const auto& L = image.layers;
  // tokens: a view of the patch embedding's output (same bytes and gradient), [4][1][9][6].
  EXPECT_EQ(shape(L[0].out), (std::vector<std::uint32_t>{4, 3, 3, 6}));
  EXPECT_EQ(L[1].in, L[0].out);
  EXPECT_NE(L[1].out, L[1].in);
  EXPECT_EQ(image.tensors[L[1].out].addr, image.tensors[L[1].in].addr);
  EXPECT_EQ(image.tensors[L[1].out].grad_addr, image.tensors[L[1].in].grad_addr);
  EXPECT_NE(image.tensors[L[1].out].grad_addr, 0u);
  EXPECT_EQ(shape(L[1].out), (std::vector<std::uint32_t>{4, 1, 9, 6}));
  EXPECT_EQ(shape(L[2].out), (std::vector<std::uint32_t>{4, 1, 10, 6}));
  EXPECT_EQ(shape(L[3].out), (std::vector<std::uint32_t>{4, 1, 10, 6}));
  // The token-wise linear: a linear layer on [N][1][T][in], output [N][1][T][out].
  EXPECT_EQ(shape(L[4].in), (std::vector<std::uint32_t>{4, 1, 10, 6}));
  EXPECT_EQ(shape(L[4].out), (std::vector<std::uint32_t>{4, 1, 10, 18}));
  EXPECT_EQ(L[5].a, 2u);
  EXPECT_EQ(shape(L[5].out), (std::vector<std::uint32_t>{4, 1, 10, 6}));
  EXPECT_EQ(L[7].in2, L[2].out);
  EXPECT_EQ(shape(L[9].out), (std::vector<std::uint32_t>{4, 1, 1, 6}));
  EXPECT_NE(image.tensors[L[9].out].addr, image.tensors[L[9].in].addr);  // its own tensor
  EXPECT_NE(image.tensors[L[9].out].grad_addr, 0u);
  EXPECT_EQ(image.header.logits_tensor, L[10].out);
  EXPECT_EQ(shape(L[10].out), (std::vector<std::uint32_t>{4, 1, 1, 3}));
  for (const std::size_t i : {1u, 3u, 5u, 7u, 8u, 9u}) {
    EXPECT_EQ(L[i].weight == model::kNone, i != 3) << i;
  }

  // Params: 0 conv weight, 1 conv bias, 2 pos, 3 cls, 4 gamma, 5 beta, 6 linear4 weight,
  // 7 its bias, 8 linear6 weight, 9 head weight.
  ASSERT_EQ(image.params.size(), 10u);
  EXPECT_EQ(L[2].weight, 2u);
  EXPECT_EQ(L[2].bias, 3u);
  EXPECT_EQ(L[3].weight, 4u);
  EXPECT_EQ(L[3].bias, 5u);
  EXPECT_EQ(L[4].weight, 6u);
  const model::Param& pos = image.params[2];
  EXPECT_EQ(pos.count, 10u * 6u);
  EXPECT_EQ(pos.cout, 10u);
  EXPECT_EQ(pos.taps, 1u);
  EXPECT_EQ(pos.cin, 6u);
  for (const std::size_t i : {2u, 3u, 4u, 5u}) {
    const model::Param& p = image.params[i];
    EXPECT_EQ(p.decay, 0u) << i;
    EXPECT_NE(p.master, 0u) << i;
    EXPECT_NE(p.momentum, 0u) << i;
    EXPECT_NE(p.grad, 0u) << i;
    EXPECT_EQ(p.fp16, 0u) << i;  // the host reads the master
    EXPECT_EQ(p.fwd_values | p.fwd_indices | p.bwd_values | p.bwd_indices, 0u) << i;
    EXPECT_FALSE(image.param_info[i].sparse) << i;
  }
  for (const std::size_t i : {3u, 4u, 5u}) {
    EXPECT_EQ(image.params[i].count, 6u) << i;
    EXPECT_EQ(image.params[i].cout, 6u) << i;
    EXPECT_EQ(image.params[i].taps, 1u) << i;
    EXPECT_EQ(image.params[i].cin, 1u) << i;
  }
  EXPECT_EQ(image.param_info[2].name, "2_embed.weight");
  EXPECT_EQ(image.param_info[3].name, "2_embed.bias");
  EXPECT_EQ(image.param_info[4].name, "3_layernorm.weight");
  EXPECT_EQ(image.param_info[5].name, "3_layernorm.bias");
  EXPECT_EQ(image.param_info[2].torch_shape, (std::vector<std::size_t>{10, 6}));
  EXPECT_EQ(image.param_info[3].torch_shape, (std::vector<std::size_t>{6}));
  EXPECT_EQ(image.param_info[4].torch_shape, (std::vector<std::size_t>{6}));
  EXPECT_TRUE(image.param_info[3].bias);
  EXPECT_TRUE(image.param_info[5].bias);
  EXPECT_EQ(image.param_info[6].torch_shape, (std::vector<std::size_t>{18, 6}));
  EXPECT_EQ(image.params[6].cout, 18u);
  EXPECT_EQ(image.params[6].taps, 1u);
  EXPECT_EQ(image.params[6].cin, 6u);
  // Initial values: cls 0, gamma 1, beta 0; pos N(0, 0.02^2) from the weights' generator in
  // param order: after the conv weight (48 values, std sqrt(2 / (2*2*2)) = 0.5).
  EXPECT_EQ(image.initial[3], std::vector<float>(6, 0.0f));
  EXPECT_EQ(image.initial[4], std::vector<float>(6, 1.0f));
  EXPECT_EQ(image.initial[5], std::vector<float>(6, 0.0f));
  SplitMix64 rng(~std::uint64_t{3});
  std::vector<float> conv(48), expected_pos(60);
  normal_values(rng, 0.5, conv.data(), conv.size());
  normal_values(rng, 0.02, expected_pos.data(), expected_pos.size());
  EXPECT_EQ(image.initial[0], conv);
  EXPECT_EQ(image.initial[2], expected_pos);
  for (const float v : image.initial[2]) EXPECT_LT(std::fabs(v), 0.02f * 6);
  // Sparse: the block's two linears (the patch embedding is the first, the head the last).
  EXPECT_EQ(sparse_flags(image),
            (std::vector<bool>{false, false, false, false, true, false, true, false, false, false, false, false}));
  EXPECT_NE(image.params[6].fwd_values, 0u);
  EXPECT_NE(image.params[8].bwd_values, 0u);
  // Scratch: 4 x the largest weight (linear4: 108 values), the gradient of the embed output
  // that the layer norm and the add both contribute to (4 x 10 x 6 FP16 = 480 B), 1 MiB.
  EXPECT_EQ(image.header.scratch_bytes, 4096u + 4096u + (1u << 20));
  expect_disjoint_inside_ddr(image);
  // Written: the tables and the masters as built; no FP16 copy for the host parameters.
  const Memory memory = written(image);
  const model::Param back = memory.at<model::Param>(image.header.params + 2 * sizeof(model::Param));
  EXPECT_EQ(back.count, 60u);
  EXPECT_EQ(back.fp16, 0u);
  EXPECT_EQ(read_master(image, 2, memory.reader()), expected_pos);
  EXPECT_EQ(read_master(image, 4, memory.reader()), std::vector<float>(6, 1.0f));
  // The resolved YAML loads again the same.
  const Workload again = load(write_file("vit_again.yaml", to_yaml(w)));
  EXPECT_EQ(to_yaml(again).substr(to_yaml(again).find('\n')), to_yaml(w).substr(to_yaml(w).find('\n')));
}

TEST(TrainImage, LinearOnTokensOnlyWithATokenSequence) {
  // A linear layer straight after a conv2d (an image, H > 1) still needs a flatten.
  const std::string image_input = "    - {type: conv2d, out: 4, kernel: 3}\n    - {type: linear, out: 3}\n"
                                  "    - {type: softmax_ce}\n";
  EXPECT_NE(error_of([&] { load(write_file("lin.yaml", synthetic_workload("dense", "", image_input))); })
                .find("add a flatten layer"),
            std::string::npos);
  // A token sequence into softmax_ce is not logits: it needs cls_token (or a flatten).
  const std::string no_cls = "    - {type: tokens}\n    - {type: linear, out: 3}\n    - {type: softmax_ce}\n";
  EXPECT_NE(error_of([&] { load(write_file("nocls.yaml", synthetic_workload("dense", "", no_cls))); })
                .find("produces 1x36x3 (H x W x C), not logits"),
            std::string::npos);
  // attention needs its heads.
  const std::string no_heads = "    - {type: tokens}\n    - {type: linear, out: 6}\n    - {type: attention}\n"
                               "    - {type: cls_token}\n    - {type: linear, out: 3}\n    - {type: softmax_ce}\n";
  EXPECT_NE(error_of([&] { load(write_file("noheads.yaml", synthetic_workload("dense", "", no_heads))); })
                .find("network.layers[2].heads: missing key"),
            std::string::npos);
  // heads is a key of attention only.
  const std::string stray = "    - {type: tokens}\n    - {type: gelu, heads: 2}\n"
                            "    - {type: cls_token}\n    - {type: linear, out: 3}\n    - {type: softmax_ce}\n";
  EXPECT_NE(error_of([&] { load(write_file("stray.yaml", synthetic_workload("dense", "", stray))); })
                .find("network.layers[1].heads: unknown key"),
            std::string::npos);
}

TEST(TrainImage, ImageLargerThanDdrIsAUserErrorWithTheSizes) {
  fw::BootInfo small = boot();
  small.ddr.size = 1 << 20;
  const std::string message = error_of([&] { build_training_image(load(kMlp, {"dataset.train_samples=640"}).train, small); });
  EXPECT_NE(message.find("the training image needs "), std::string::npos) << message;
  EXPECT_NE(message.find("but DDR has 1.0 MiB"), std::string::npos) << message;
  EXPECT_NE(message.find("training set 0.5 MiB"), std::string::npos) << message;  // 640 x 784 B
}

// IDX files of `count` 28x28 images whose pixels are (i + x) % 256, labels i % 10.
void write_idx(const fs::path& dir, const std::string& prefix, std::uint32_t count) {
  const auto be32 = [](std::string& s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xFF);
  };
  std::string images, labels;
  be32(images, 0x803), be32(images, count), be32(images, 28), be32(images, 28);
  be32(labels, 0x801), be32(labels, count);
  for (std::uint32_t i = 0; i < count; ++i) {
    for (std::uint32_t x = 0; x < 784; ++x) images += static_cast<char>((i + x) % 256);
    labels += static_cast<char>(i % 10);
  }
  std::ofstream(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary) << images;
  std::ofstream(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary) << labels;
}

TEST(TrainImage, FashionMnistFromAnotherDirectory) {
  const fs::path dir = test::test_dir() / "fmnist";
  fs::create_directories(dir);
  write_idx(dir, "train", 100);
  write_idx(dir, "t10k", 30);
  const std::string path = "dataset.path=" + dir.string();
  const TrainingImage image = build_training_image(load(kMlp, {path, "batch=8", "eval_samples=0"}).train, boot());
  EXPECT_EQ(image.header.train_count, 100u);
  EXPECT_EQ(image.header.test_count, 30u);
  EXPECT_EQ(image.header.iterations, 12u);  // floor(100 / 8)
  EXPECT_EQ(image.train_images[784 * 5 + 3], 8u);
  EXPECT_EQ(image.train_labels[17], 7u);
  EXPECT_EQ(image.test_images[784 * 29 + 300], (29u + 300u) % 256u);
  // Asking for more samples than the files have names the file.
  const std::string message = error_of([&] {
    build_training_image(load(kMlp, {path, "dataset.train_samples=200"}).train, boot());
  });
  EXPECT_NE(message.find("train-images-idx3-ubyte: has 100 images, fewer than dataset.train_samples = 200"),
            std::string::npos)
      << message;
}

TEST(TrainImage, Cifar10FromItsBinaryFiles) {
  const fs::path dir = test::test_dir() / "cifar";
  fs::create_directories(dir);
  // Two records per file; record r of file f has label (f + r) % 10 and every red pixel 10 f + r,
  // green 100, blue 200 (stored channel-major).
  const auto batch = [&](const std::string& name, int f) {
    std::string bytes;
    for (int r = 0; r < 2; ++r) {
      bytes += static_cast<char>((f + r) % 10);
      bytes += std::string(1024, static_cast<char>(10 * f + r)) + std::string(1024, 100) + std::string(1024, static_cast<char>(200));
    }
    std::ofstream(dir / name, std::ios::binary) << bytes;
  };
  for (int f = 1; f <= 5; ++f) batch("data_batch_" + std::to_string(f) + ".bin", f);
  batch("test_batch.bin", 7);
  const std::string layers = "    - {type: conv2d, out: 4, kernel: 3, stride: 2}\n    - {type: avgpool, kernel: 15}\n"
                             "    - {type: flatten}\n    - {type: linear, out: 10}\n    - {type: softmax_ce}\n";
  const std::string text = "name: c\nprogram: train\nbatch: 2\noptimizer: {lr: 0.1}\n"
                           "dataset: {name: cifar10, path: \"" + dir.string() + "\", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}\n"
                           "network:\n  layers:\n" + layers;
  const TrainingImage image = build_training_image(load(write_file("cifar.yaml", text)).train, boot());
  EXPECT_EQ(image.header.train_count, 10u);
  EXPECT_EQ(image.header.test_count, 2u);
  EXPECT_EQ(image.header.image_c, 3u);
  EXPECT_EQ(image.header.iterations, 5u);
  EXPECT_EQ(image.header.stdev[2], 0.25f);
  // Sample 3 is record 1 of data_batch_2: label 3, pixels (21, 100, 200) in HWC order.
  EXPECT_EQ(image.train_labels[3], 3u);
  EXPECT_EQ(image.train_images[3 * 3072 + 0], 21u);
  EXPECT_EQ(image.train_images[3 * 3072 + 1], 100u);
  EXPECT_EQ(image.train_images[3 * 3072 + 2], 200u);
  EXPECT_EQ(image.layers[1].a, 15u);
  EXPECT_EQ(image.tensors[2].h, 1u);
}

// ------------------------------------------------------------------- order and init values

// The shuffle the firmware draws each epoch with, against the golden one of the documentation.
TEST(SampleOrder, EpochOrderIsTheDocumentedShuffle) {
  std::vector<std::uint32_t> order;
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    fw::epoch_order(1000, 7, epoch, order);
    EXPECT_EQ(order, golden::epoch_shuffle(1000, 7 + epoch)) << "epoch " << epoch;
    EXPECT_EQ(std::set<std::uint32_t>(order.begin(), order.end()).size(), 1000u);  // a permutation
  }
  std::vector<std::uint32_t> again, other_seed;
  fw::epoch_order(1000, 7, 2, again);
  fw::epoch_order(1000, 8, 2, other_seed);
  EXPECT_EQ(again, order);
  EXPECT_NE(other_seed, order);
  // Hand-checked: one sample has one order; of two, sample 1 swaps with sample j = (high 32
  // bits of the first draw x 2) >> 32, which is the draw's top bit: SplitMix64(0)'s first draw
  // is 0xE220A8397B1DCDAF (j = 1, no swap), SplitMix64(3)'s 0x1D0B14E4DB018FED (j = 0).
  fw::epoch_order(1, 5, 0, order);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{0}));
  fw::epoch_order(2, 0, 0, order);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{0, 1}));
  fw::epoch_order(2, 0, 3, order);  // seed 0, epoch 3: SplitMix64(3)
  EXPECT_EQ(order, (std::vector<std::uint32_t>{1, 0}));
}

// The descriptor no longer holds a sample order; the firmware's reader checks what it draws
// one from: at least one whole batch of training samples.
namespace {

// The firmware's memory access over a Memory (read only).
class MemoryHal final : public fw::Hal {
 public:
  explicit MemoryHal(Memory& memory) : memory_(memory) {}
  fw::BusStatus read_block(std::uint64_t addr, void* dst, std::size_t bytes) override {
    if (addr < memory_.base || addr - memory_.base > memory_.bytes.size() ||
        bytes > memory_.bytes.size() - (addr - memory_.base))
      return fw::BusStatus::address_error;
    std::memcpy(dst, memory_.bytes.data() + (addr - memory_.base), bytes);
    return fw::BusStatus::ok;
  }
  fw::BusStatus read32(std::uint64_t addr, std::uint32_t& value) override { return read_block(addr, &value, 4); }
  fw::BusStatus write32(std::uint64_t, std::uint32_t) override { return fw::BusStatus::address_error; }
  fw::BusStatus write_block(std::uint64_t, const void*, std::size_t) override { return fw::BusStatus::address_error; }
  bool wait_for_interrupt(std::uint64_t) override { return false; }
  std::uint64_t now_ps() override { return 0; }
  void charge_host_time(std::uint64_t) override {}
  void log(fw::LogLevel, const char*) override {}

 private:
  Memory& memory_;
};

std::string descriptor_problem(Memory& memory, const TrainingImage& image) {
  MemoryHal hal(memory);
  model::Descriptor d;
  return model::read_descriptor(hal, image.model_addr, boot().ddr, d);
}

}  // namespace

TEST(TrainImage, DescriptorVersion2HasAnOrderSeedAndAWholeBatch) {
  const TrainingImage image = tiny_image("dense");  // 20 samples, batch 4, seed 3
  EXPECT_EQ(image.header.version_major, 2u);
  EXPECT_EQ(image.header.order_seed, 3u);
  for (const MemoryArea& a : image.areas) EXPECT_EQ(a.name.find("order"), std::string::npos) << a.name;
  Memory memory = written(image);
  EXPECT_EQ(descriptor_problem(memory, image), "");
  model::Header h = image.header;
  h.train_count = 3;
  memory.writer()(image.model_addr, &h, sizeof h);
  EXPECT_EQ(descriptor_problem(memory, image), "the descriptor has 3 training samples, fewer than one batch of 4");
  h = image.header;
  h.version_major = 1;
  memory.writer()(image.model_addr, &h, sizeof h);
  EXPECT_EQ(descriptor_problem(memory, image), "model descriptor version 1.0, this firmware reads 2.x");
}

// Reliability II, class 4: what a run needs of the host's memory, by hand for the tiny
// workload: synthetic 6x6x2 (72 pixels), 20 training and 6 test samples, batch 4, 5 iterations.
TEST(HostMemory, EstimateOfATinyRunByHand) {
  const TrainingImage image = tiny_image("dense");
  const HostMemory m = estimate_host_memory(image, load(write_file("tiny.yaml", synthetic_workload("dense"))).train, boot());
  // 26 samples generated as floats (72 x 4 + 2 B) and kept as bytes (72 + 1 B).
  EXPECT_EQ(m.dataset, 26u * 290u + 26u * 73u);
  // Every DDR page of the image, and the three 4 MiB SRAMs of yaml/vcu1525.yaml.
  EXPECT_EQ(m.memories, (image.bytes() + (1u << 20) - 1) / (1u << 20) * (1u << 20) + 3u * (4u << 20));
  // The order (20 x 4 B), a batch of pixels (4 x 72 B), 8 FP32 copies of the largest tensor
  // (conv0's output, 4 x 6 x 6 x 8 = 1152 values; the largest param has 8 x 9 x 8 = 576).
  EXPECT_EQ(m.firmware, 20u * 4u + 4u * 72u + 8u * 4u * 1152u);
  // 5 iteration records and 1 evaluation record copied out of DDR (24 B each; the CSV files
  // are written row by row), 2 snapshot iterations at 4 B.
  EXPECT_EQ(m.results, 6u * 24u + 2u * 4u);
  EXPECT_EQ(m.total(), m.dataset + m.memories + m.firmware + m.results);

  // Timing mode keeps no samples, draws no order, writes only the control areas of DDR.
  const std::string timing = write_file("timing.yaml", synthetic_workload("dense", "mode: timing\n"));
  const TrainingImage t = build_training_image(load(timing).train, boot());
  const HostMemory mt = estimate_host_memory(t, load(timing).train, boot());
  EXPECT_EQ(mt.dataset, 0u);
  EXPECT_EQ(mt.firmware, 0u);
  EXPECT_LE(mt.memories, m.memories);  // test_timing_mode checks it against the pages a run allocates
  EXPECT_EQ(mt.results, m.results);
}

TEST(HostMemory, RunThatDoesNotFitIsRefusedAtItsLargestPart) {
  // 10^8 iterations in timing mode: 2.4 GB of records in DDR and 2.4 GB read back for the
  // export, whatever the dataset.
  const std::string path =
      write_file("long.yaml", synthetic_workload("dense", "mode: timing\niterations: 100000000\n"));
  const TrainWorkload w = load(path).train;
  const std::string error = error_of([&] { build_training_image(w, boot(), 4ull << 30); });
  EXPECT_EQ(error.rfind(path + ":8:13: iterations: the run needs about 4.5 GiB of host memory (dataset 0.0 MiB, DDR "
                               "and SRAM models ", 0), 0u)
      << error;
  EXPECT_NE(error.find("results and their export 2.2 GiB) but 4.0 GiB is available (the machine's memory, or less under a cgroup or ulimit -v limit); expected fewer iterations"),
            std::string::npos) << error;
  // The same run on a machine that has the memory.
  EXPECT_EQ(build_training_image(w, boot(), std::uint64_t{1} << 40).header.iterations, 100000000u);
  // A synthetic dataset of 2^32 values is refused before a sample is generated.
  const std::string big = write_file(
      "big.yaml", "name: big\nprogram: train\nbatch: 4\noptimizer: {lr: 0.1}\n"
                  "dataset: {name: synthetic, synthetic: {height: 256, width: 256, channels: 4, train: 16000, test: 384}}\n"
                  "network:\n  layers:\n    - {type: flatten}\n    - {type: linear, out: 10}\n    - {type: softmax_ce}\n");
  const std::string data_error = error_of([&] { build_training_image(load(big).train, boot(), 8ull << 30); });
  // 16384 samples of 262144 values: 16384 x (4 x 262144 + 2 + 262144 + 1) B = 20.0 GiB.
  EXPECT_EQ(data_error.rfind(big + ":5:39: dataset.synthetic: the run needs about 24.2 GiB of host memory (dataset "
                                   "20.0 GiB, ", 0), 0u)
      << data_error;
}

TEST(InitialWeights, HeNormalStatisticsOnALargeLayer) {
  const TrainingImage image = tiny_image("dense");  // warm-up of nothing; the big one follows
  (void)image;
  const TrainingImage cnn = build_training_image(
      load(kCnn, {"dataset.train_samples=128", "dataset.test_samples=10", "eval_samples=0"}).train, boot());
  // fc1: 128 x 1568 = 200704 values, fan_in 1568.
  const std::vector<float>& w = cnn.initial[2];
  ASSERT_EQ(w.size(), 200704u);
  double sum = 0, squares = 0;
  for (const float v : w) sum += v, squares += double{v} * v;
  const double mean = sum / w.size(), stddev = std::sqrt(squares / w.size() - mean * mean);
  const double expected = std::sqrt(2.0 / 1568.0);
  EXPECT_NEAR(mean, 0.0, 4 * expected / std::sqrt(200704.0));
  EXPECT_NEAR(stddev, expected, 0.02 * expected);
  // Gaussian tails: about 4.55% beyond 2 sigma.
  const auto beyond = std::count_if(w.begin(), w.end(), [&](float v) { return std::fabs(v) > 2 * expected; });
  EXPECT_NEAR(static_cast<double>(beyond) / w.size(), 0.0455, 0.003);
  // conv2: 32 x 9 x 16 = 4608 values, fan_in 144.
  const std::vector<float>& c = cnn.initial[1];
  double c_squares = 0;
  for (const float v : c) c_squares += double{v} * v;
  EXPECT_NEAR(std::sqrt(c_squares / c.size()), std::sqrt(2.0 / 144.0), 0.05 * std::sqrt(2.0 / 144.0));
  // Biases start at zero; the same seed gives the same weights, another seed others.
  for (const float v : cnn.initial[3]) EXPECT_EQ(v, 0.0f);
  const TrainingImage again = build_training_image(
      load(kCnn, {"dataset.train_samples=128", "dataset.test_samples=10", "eval_samples=0"}).train, boot());
  EXPECT_EQ(again.initial, cnn.initial);
  const TrainingImage other = build_training_image(
      load(kCnn, {"dataset.train_samples=128", "dataset.test_samples=10", "eval_samples=0", "seed=2"}).train, boot());
  EXPECT_NE(other.initial[2], cnn.initial[2]);
}

// ----------------------------------------------------------------------- results and export

TEST(TrainExport, DecodesMasksFromHandWrittenIndices) {
  // Forward: 2 lines of Cin = 8 at 2:4 (2 groups, 4 entries of 2 bits).
  model::Param p;
  p.cout = 2, p.taps = 1, p.cin = 8, p.count = 16;
  std::uint32_t fwd[2] = {};
  const std::uint32_t row0[4] = {1, 3, 0, 2}, row1[4] = {0, 1, 2, 3};  // positions 1,3,4,6 and 0,1,6,7
  for (std::uint32_t e = 0; e < 4; ++e) fw::nm_set_index(&fwd[0], e, 2, row0[e]), fw::nm_set_index(&fwd[1], e, 2, row1[e]);
  const std::vector<std::uint8_t> expected_fwd = {0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1};
  EXPECT_EQ(decode_mask(p, 2, 4, false, fwd), expected_fwd);
  // Backward: 8 lines (tap 0, cin 0..7) of Cout = 2, one short group of 2 entries: all kept.
  std::uint32_t bwd[8] = {};
  for (auto& words : bwd) fw::nm_set_index(&words, 0, 2, 0), fw::nm_set_index(&words, 1, 2, 1);
  EXPECT_EQ(decode_mask(p, 2, 4, true, bwd), std::vector<std::uint8_t>(16, 1));
  // Backward 1:4 on the same lines: only cout 1 of each cin.
  for (auto& words : bwd) words = 0, fw::nm_set_index(&words, 0, 2, 1);
  std::vector<std::uint8_t> expected_bwd(16, 0);
  for (int ci = 0; ci < 8; ++ci) expected_bwd[8 + ci] = 1;
  EXPECT_EQ(decode_mask(p, 1, 4, true, bwd), expected_bwd);
}

TEST(TrainExport, TorchLayoutOfAConvWeightIsOihw) {
  ParamInfo info;
  info.kernel = 2;
  info.torch_shape = {2, 3, 2, 2};
  model::Param p;
  p.cout = 2, p.taps = 4, p.cin = 3, p.count = 24;
  std::vector<float> ohwi(24);
  for (std::size_t k = 0; k < 24; ++k) ohwi[k] = static_cast<float>(k);
  const std::vector<float> oihw = to_torch_layout(info, p, ohwi);
  // OIHW [o][i][kh][kw] = OHWI [o][kh][kw][i]: [1][2][1][0] = [1][1][0][2] = 12 + 2*3 + 2 = 20.
  EXPECT_EQ(oihw[((1 * 3 + 2) * 2 + 1) * 2 + 0], 20.0f);
  EXPECT_EQ(oihw[1], 3.0f);  // [0][0][0][1] = [0][0][1][0]
  EXPECT_EQ(oihw[4], 1.0f);  // [0][1][0][0] = [0][0][0][1]
}

TEST(TrainExport, WritesMetricsWeightsSnapshotsAndMasks) {
  TrainingImage image = tiny_image("bdwp", "iterations: 3\neval_interval: 2\n");
  Memory memory = written(image);
  const model::Header& h = image.header;
  // What a firmware would have written: records, final masters (2 x initial), two snapshots
  // whose masks keep entries at in-group index (e + k) % m.
  model::ResultHeader r = memory.at<model::ResultHeader>(h.result);
  r.magic = model::kMagic;
  r.status = 1;
  r.iterations_done = 3;
  r.evals_done = 2;
  r.time.stce_ps = 5'000'000;
  for (std::uint32_t t = 0; t < 3; ++t)
    memory.put(r.iteration_records + t * sizeof(model::IterationRecord),
               model::IterationRecord{t, 1.5f - t, 0.25f * t, 0.1f, (t + 1) * 1'000'000ull});
  memory.put(r.eval_records, model::EvalRecord{2, 6, 0.75f, 0.5f, 2'500'000});
  memory.put(r.eval_records + sizeof(model::EvalRecord), model::EvalRecord{3, 6, 0.5f, 2.0f / 3, 3'500'000});
  memory.put(h.result, r);
  for (std::size_t i = 0; i < image.params.size(); ++i)
    for (std::uint32_t k = 0; k < image.params[i].count; ++k)
      memory.put(image.params[i].master + 4 * k, 2 * image.initial[i][k]);
  for (std::uint32_t s = 0; s < 2; ++s) {
    std::uint64_t addr = h.snapshots + s * h.snapshot_bytes;
    for (std::size_t i = 0; i < image.params.size(); ++i) {
      const model::Param& p = image.params[i];
      for (std::uint32_t k = 0; k < p.count; ++k) memory.put(addr + 4 * k, (s + 1) * image.initial[i][k]);
      addr += std::uint64_t{p.count} * 4;
      for (const bool backward : {false, true}) {
        if (!(backward ? p.bwd_values : p.fwd_values)) continue;
        const fw::NmLine line = backward ? model::bwd_line(p, 2, 4) : model::fwd_line(p, 2, 4);
        const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
        addr += model::values_bytes(lines, line);
        for (std::uint64_t l = 0; l < lines; ++l) {
          std::vector<std::uint32_t> words(line.index_words());
          for (std::uint32_t e = 0; e < line.entries(); ++e) fw::nm_set_index(words.data(), e, 2, (e + s) % 4);
          for (std::size_t wi = 0; wi < words.size(); ++wi) memory.put(addr + (l * words.size() + wi) * 4, words[wi]);
        }
        addr += model::index_bytes(lines, line);
      }
    }
  }

  const TrainingResult result = read_training_result(image, memory.reader());
  EXPECT_EQ(result.status(), "finished");
  ASSERT_EQ(result.iterations.size(), 3u);
  ASSERT_EQ(result.evals.size(), 2u);
  EXPECT_EQ(result.iterations[2].loss, -0.5f);

  const fs::path dir = test::test_dir() / "run";
  fs::create_directories(dir);
  TrainingRunInfo info;
  info.workload = "tiny";
  info.mode = "functional";
  info.simulated_seconds = 4e-6;
  const std::string summary = export_training(image, result, memory.reader(), dir, info);
  EXPECT_NE(summary.find("training: finished, 3 of 3 iterations (batch 4, bdwp 2:4, functional)"), std::string::npos)
      << summary;
  EXPECT_EQ(file_text(dir / "metrics.csv"),
            "iteration,loss,accuracy,lr,sim_time_us\n0,1.5,0,0.1,1\n1,0.5,0.25,0.1,2\n2,-0.5,0.5,0.1,3\n");
  EXPECT_EQ(file_text(dir / "eval.csv"),
            "iteration,samples,loss,accuracy,sim_time_us\n2,6,0.75,0.5,2.5\n3,6,0.5,0.6666667,3.5\n");
  const std::string json = file_text(dir / "training.json");
  EXPECT_NE(json.find("\"status\": \"finished\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"final_eval\": {\"iteration\": 3, \"samples\": 6, \"loss\": 0.5, \"accuracy\": 0.6666667}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"stce\": 5,"), std::string::npos) << json;

  // Final weights: the masters in DDR (2 x initial), PyTorch layout.
  const NpyArray conv = read_npy((dir / "weights" / "2_conv2d.weight.npy").string());
  EXPECT_EQ(conv.shape, (std::vector<std::size_t>{8, 8, 3, 3}));  // OIHW
  // OIHW [o=1][i=2][kh=0][kw=1] = OHWI [1][0][1][2] = index (1*3*3 + 0*3 + 1)*8 + 2 = 82.
  EXPECT_EQ(conv.data[((1 * 8 + 2) * 3 + 0) * 3 + 1], 2 * image.initial[1][82]);
  const NpyArray bias = read_npy((dir / "weights" / "5_linear.bias.npy").string());
  EXPECT_EQ(bias.shape, (std::vector<std::size_t>{8}));
  EXPECT_TRUE(fs::exists(dir / "weights" / "0_conv2d.weight.npy"));
  EXPECT_TRUE(fs::exists(dir / "weights" / "6_linear.weight.npy"));

  // Snapshots after iterations 0 and 3; masks of the sparse weights only.
  const NpyArray first = read_npy((dir / "snapshots" / "iter_0" / "5_linear.weight.npy").string());
  EXPECT_EQ(first.shape, (std::vector<std::size_t>{8, 8}));
  EXPECT_EQ(first.data[9], image.initial[2][9]);
  EXPECT_EQ(read_npy((dir / "snapshots" / "iter_3" / "5_linear.weight.npy").string()).data[9], 2 * image.initial[2][9]);
  EXPECT_FALSE(fs::exists(dir / "snapshots" / "iter_0" / "0_conv2d.fwd_mask.npy"));
  EXPECT_FALSE(fs::exists(dir / "snapshots" / "iter_0" / "6_linear.fwd_mask.npy"));
  // 5_linear forward lines of 8 at 2:4, snapshot 1: indices (e + 1) % 4 -> positions 1, 2, 7, 4.
  const std::string mask = file_text(dir / "snapshots" / "iter_3" / "5_linear.fwd_mask.npy");
  ASSERT_EQ(mask.size() % 64, 0u);  // header padded to 64 bytes, 64 bytes of data
  EXPECT_EQ(mask.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(mask.find("'descr': '|u1', 'fortran_order': False, 'shape': (8, 8), }"), std::string::npos) << mask;
  const std::string row0 = mask.substr(mask.size() - 64, 8);
  EXPECT_EQ(row0, std::string("\0\1\1\0\1\0\0\1", 8));
  // 2_conv2d backward: lines (tap, cin) of Cout = 8, snapshot 0: indices e % 4 -> couts 0, 1 (group
  // 0) and 4 + 2, 4 + 3 (group 1).
  const std::string bwd = file_text(dir / "snapshots" / "iter_0" / "2_conv2d.bwd_mask.npy");
  EXPECT_NE(bwd.find("'shape': (8, 3, 3, 8)"), std::string::npos);
  const std::string data = bwd.substr(bwd.size() - 8 * 9 * 8);
  for (int co = 0; co < 8; ++co) EXPECT_EQ(data[static_cast<std::size_t>(co * 72 + 4 * 8 + 5)], co < 2 || co >= 6 ? 1 : 0) << co;

  // In timing mode no weights or snapshots are exported.
  const fs::path timing = test::test_dir() / "timing";
  fs::create_directories(timing);
  info.mode = "timing";
  export_training(image, result, memory.reader(), timing, info);
  EXPECT_TRUE(fs::exists(timing / "metrics.csv"));
  EXPECT_FALSE(fs::exists(timing / "weights"));
}

// Writes param 1's (the sparse conv's) compressed indices into snapshot 0: forward lines keep
// in-group positions 0 and 1 of Cin, backward lines 2 and 3 of Cout (2:4).
void put_conv_snapshot(const TrainingImage& image, Memory& memory) {
  const model::Header& h = image.header;
  const model::Param& p = image.params[1];
  std::uint64_t addr = h.snapshots + model::param_snapshot_bytes(image.params[0], 2, 4) + std::uint64_t{p.count} * 4;
  for (const bool backward : {false, true}) {
    const fw::NmLine line = backward ? model::bwd_line(p, 2, 4) : model::fwd_line(p, 2, 4);
    const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
    addr += model::values_bytes(lines, line);
    for (std::uint64_t l = 0; l < lines; ++l) {
      std::uint32_t word = 0;  // 4 entries of 2 bits
      for (std::uint32_t e = 0; e < 4; ++e) fw::nm_set_index(&word, e, 2, e % 2 + (backward ? 2 : 0));
      memory.put(addr + l * 4, word);
    }
    addr += model::index_bytes(lines, line);
  }
}

TEST(TrainExport, NestedBackwardMaskIsInsideTheForwardMask) {
  // conv 2: 8 x 3x3 x 8. Forward keeps ci % 4 < 2, the backward indices co % 4 >= 2.
  for (const bool nested : {false, true}) {
    const TrainingImage image = tiny_image("bdwp", nested ? "bdwp_bwd_mask: nested\n" : "");
    EXPECT_EQ(image.header.bwd_mask, nested ? 1u : 0u);
    Memory memory = written(image);
    put_conv_snapshot(image, memory);
    const ParamSnapshot s = read_snapshot(image, 0, 1, memory.reader());
    ASSERT_EQ(s.fwd_mask.size(), 8u * 9u * 8u);
    ASSERT_EQ(s.bwd_mask.size(), 8u * 9u * 8u);
    for (std::uint32_t co = 0; co < 8; ++co)
      for (std::uint32_t tap = 0; tap < 9; ++tap)
        for (std::uint32_t ci = 0; ci < 8; ++ci) {
          const std::size_t k = (co * 9 + tap) * 8 + ci;
          EXPECT_EQ(s.fwd_mask[k], ci % 4 < 2 ? 1 : 0) << k;
          EXPECT_EQ(s.bwd_mask[k], co % 4 >= 2 && (!nested || ci % 4 < 2) ? 1 : 0) << "nested " << nested << " " << k;
        }
  }
}

TEST(TrainExport, AFailedRunReportsItsMessage) {
  const TrainingImage image = tiny_image("dense", "iterations: 3\n");
  Memory memory = written(image);
  model::ResultHeader r = memory.at<model::ResultHeader>(image.header.result);
  EXPECT_EQ(read_training_result(image, memory.reader()).status(), "not started");
  r.magic = model::kMagic;
  EXPECT_EQ((memory.put(image.header.result, r), read_training_result(image, memory.reader()).status()), "running");
  r.status = 2;
  r.iterations_done = 1;
  std::strcpy(r.message, "STCE job timed out");
  memory.put(image.header.result, r);
  const TrainingResult result = read_training_result(image, memory.reader());
  EXPECT_EQ(result.status(), "failed");
  const fs::path dir = test::test_dir() / "run";
  fs::create_directories(dir);
  TrainingRunInfo info;
  info.mode = "functional";
  const std::string summary = export_training(image, result, memory.reader(), dir, info);
  EXPECT_NE(summary.find("firmware error      STCE job timed out"), std::string::npos) << summary;
  EXPECT_NE(file_text(dir / "training.json").find("\"message\": \"STCE job timed out\""), std::string::npos);
  // Only the snapshot after iteration 0 was complete.
  EXPECT_TRUE(fs::exists(dir / "snapshots" / "iter_0"));
  EXPECT_FALSE(fs::exists(dir / "snapshots" / "iter_3"));
}

TEST(TrainExport, ProgressLine) {
  const TrainingImage image = tiny_image("dense", "iterations: 150\n");
  const model::IterationRecord last{49, 0.4321f, 0.75f, 0.1f, 2'500'000'000};
  const model::EvalRecord eval{40, 6, 0.5f, 0.8125f, 0};
  EXPECT_EQ(progress_line(image, 50, last, &eval, 3.0, 6.0, true),
            "train: iteration  50/150  loss 0.4321  batch acc 75.00%  test acc 81.25% (at 40)  sim 2.500 ms  wall 3.0 s  "
            "ETA 6.0 s");
  EXPECT_NE(progress_line(image, 50, last, nullptr, 3.0, 6.0, true).find("test acc -"), std::string::npos);
  // A timing run's records hold zeros where loss and accuracy would be: they are not shown.
  EXPECT_EQ(progress_line(image, 50, last, &eval, 3.0, 6.0, false),
            "train: iteration  50/150  (timing mode: no loss or accuracy)  sim 2.500 ms  wall 3.0 s  ETA 6.0 s");
}

// ------------------------------------------------------------------------------ satvp run

// How fast is bench_dataset's business (docs/performance.md), not a unit test's.
TEST(TrainImage, FullFashionMnistLoads) {
  const TrainingImage image = build_training_image(load(kCnn).train, boot());
  EXPECT_EQ(image.header.train_count, 60000u);
  EXPECT_EQ(image.header.test_count, 10000u);
  EXPECT_EQ(image.header.iterations, 937u);
}

// Reliability II, class 4: a workload or platform path to a FIFO (which nothing writes) is exit
// 2 naming it, at once: the timeout of 20 s would end a blocked open with 124.
TEST(TrainSatvp, FifoAsWorkloadOrPlatformIsExit2AtOnce) {
  const std::string fifo = (test::test_dir() / "fifo.yaml").string();
  fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string out = (test::test_dir() / "run").string();
  for (const std::string& args : {"--workload " + fifo, "--workload " + kSource + "/workloads/bringup.yaml --platform " + fifo}) {
    const test::Command c = test::run_command("timeout 20 " + test::kSatvp + " run " + args + " --out " + out);
    EXPECT_EQ(c.exit_code, 2) << args << "\n" << c.output;
    EXPECT_NE(c.output.find("satvp: error: " + fifo + ": is a FIFO (named pipe); expected a regular file (a YAML file)"), std::string::npos)
        << c.output;
  }
}

TEST(TrainSatvp, RunStartsTheTrainingRuntimeWithTheOverrides) {
  const std::string out = std::string(CESTVP_BINARY_DIR) + "/test-runs/train-set";
  fs::remove_all(out);
  const test::Command c = test::run_command(
      test::kSatvp + " run --workload " + kCnn + " --out " + out +
      " --set scheme=dense --set batch=32 --set iterations=2 --set eval_samples=64 --set dataset.train_samples=256"
      " --set dataset.test_samples=64 --set mode=timing");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("2 iterations of batch 32 (1 epoch), dense 2:8, timing mode"), std::string::npos) << c.output;
  const std::string resolved = file_text(fs::path(out) / "workload.yaml");
  EXPECT_NE(resolved.find("\nscheme: dense\n"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\nbatch: 32\n"), std::string::npos) << resolved;
  EXPECT_NE(file_text(fs::path(out) / "training.json").find("\"status\": \"finished\""), std::string::npos) << c.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "metrics.csv")) << c.output;
  // --mode overrides the workload's mode.
  const test::Command m = test::run_command(test::kSatvp + " run --workload " + kCnn + " --out " + out +
                                            " --set iterations=1 --set eval_samples=64 --set dataset.train_samples=64"
                                            " --set dataset.test_samples=64 --set mode=bit-accurate --mode timing");
  EXPECT_NE(m.output.find(", timing mode;"), std::string::npos) << m.output;
}

TEST(TrainSatvp, ResidualNetworkTrainsOnThePlatform) {
  const std::string path = write_file("residual.yaml", residual_workload("bdwp", "iterations: 3\n"));
  const std::string out = (test::test_dir() / "run").string();
  const test::Command c = test::run_command(test::kSatvp + " run --workload " + path + " --out " + out);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(file_text(fs::path(out) / "training.json").find("\"status\": \"finished\""), std::string::npos) << c.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "weights" / "1_batchnorm.running_var.npy")) << c.output;
  const NpyArray var = read_npy((fs::path(out) / "snapshots" / "iter_0" / "4_batchnorm.running_var.npy").string());
  EXPECT_EQ(var.data, std::vector<float>(4, 1.0f));
  EXPECT_EQ(read_npy((fs::path(out) / "weights" / "4_batchnorm.weight.npy").string()).shape, std::vector<std::size_t>{4});
}

// The paper's networks at batch 512 run in timing mode (their default) through satvp.
TEST(TrainSatvp, PaperResnetsRunInTimingMode) {
  for (const std::string& workload : {kResnet9, kResnet18}) {
    const std::string out = (test::test_dir() / fs::path(workload).stem()).string();
    const test::Command c = test::run_command(test::kSatvp + " run --workload " + workload + " --out " + out +
                                              " --set iterations=1");
    EXPECT_EQ(c.exit_code, 0) << c.output;
    EXPECT_NE(file_text(fs::path(out) / "training.json").find("\"status\": \"finished\""), std::string::npos)
        << c.output;
  }
}

TEST(TrainSatvp, BadTrainingWorkloadExitsWithCode2) {
  const test::Command c = test::run_command(test::kSatvp + " run --workload " + kBadDir + "/nm_m_not_on_platform.yaml");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("nm_m_not_on_platform.yaml:5:5: nm: M = 16 is not supported by the platform"),
            std::string::npos)
      << c.output;
}

}  // namespace
}  // namespace cestvp
