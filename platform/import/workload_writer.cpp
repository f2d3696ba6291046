#include "import/workload_writer.h"

#include <algorithm>
#include <sstream>

#include "config/user_error.h"  // join
#include "data/npy.h"

namespace cestvp::onnx_import {

namespace {

// Synthetic data when the model's shape is no dataset's: enough samples for a few batches and an
// evaluation; the timing does not depend on the count.
constexpr std::uint32_t kSyntheticBatches = 8, kSyntheticTest = 256;

bool fashion_mnist_shaped(const ImportedNetwork& net) {
  return net.height == 28 && net.width == 28 && net.channels == 1 && net.classes == 10;
}

std::string layer_line(const ImportedNetwork& net, std::size_t index, const WorkloadChoices& choices) {
  const ImportedLayer& l = net.layers[index];
  const auto name_of = [&](int layer) {
    return layer == kImages ? std::string("input") : net.layers[std::size_t(layer)].name;
  };
  std::string line = "{type: " + l.type;
  for (const auto& [key, value] : l.keys) line += ", " + key + ": " + value;
  if (l.type == "conv2d" || l.type == "linear")
    line += std::string(", dense: ") + (choices.dense.count(l.weight_node) ? "true" : "false");
  if (!l.name.empty()) line += ", name: " + l.name;
  if (l.input != kPreviousLayer) line += ", input: " + name_of(l.input);
  if (l.type == "add") line += ", with: " + name_of(l.with);
  line += "}";
  std::string comment = l.origin + (l.shape.empty() ? "" : " -> " + l.shape);
  return "    - " + line + std::string(line.size() < 90 ? 90 - line.size() : 1, ' ') + "# " + comment + "\n";
}

}  // namespace

std::string dataset_name(const ImportedNetwork& net, const WorkloadChoices& choices) {
  if (!choices.dataset.empty()) return choices.dataset;
  return fashion_mnist_shaped(net) ? "fashion-mnist" : "synthetic";
}

std::string workload_yaml(const ImportedNetwork& net, const WorkloadChoices& c, const std::string& weights_dir) {
  const std::string dataset = dataset_name(net, c);
  const bool fashion = dataset == "fashion-mnist";
  const auto per_channel = [&](const char* value) {
    return "[" + join(std::vector<std::string>(net.channels, value)) + "]";
  };
  const std::string mean = fashion ? "[0.2860]" : per_channel("0.5");
  const std::string std_dev = fashion ? "[0.3530]" : per_channel("0.25");
  std::ostringstream y;
  y << "# Imported by `satvp import` from " << c.model << " (docs/import.md). Each layer's comment names the\n"
    << "# ONNX nodes it came from and its output (H x W x C). Edit freely: this is a workload like those of\n"
    << "# workloads/ (docs/workloads.md is the schema), and init_weights holds the model's weights.\n";
  for (const std::string& note : net.notes) y << "# Note: " << note << "\n";
  y << "name: " << c.name << "\n"
    << "program: train\n"
    << "mode: timing                 # functional | bit-accurate | timing (satvp --mode overrides it); timing for "
       "speed-ups\n\n"
    << "# N:M scheme\n"
    << "scheme: " << c.scheme << std::string(c.scheme.size() < 21 ? 21 - c.scheme.size() : 1, ' ')
    << "# dense | srste | sdgp | bdwp\n"
    << "nm: \"" << c.nm << "\"" << std::string(c.nm.size() < 23 ? 23 - c.nm.size() : 1, ' ')
    << "# N:M; M must be in the platform's sat.nm_m\n"
    << "bdwp_bwd_mask: independent   # bdwp: backward mask from the dense W (independent) or from W~ (nested)\n"
    << "sparse_decay: 2e-4           # SR-STE lambda_W on pruned weights (srste, and bdwp when > 0)\n"
    << "sdgp_rescale: true           # sdgp: rescale the pruned dY per (n, c) (the reference's maxnorm)\n"
    << "sparse_first_layer: false    # the first conv2d/linear layer is sparse too\n"
    << "sparse_last_layer: false     # the last conv2d/linear layer is sparse too\n\n"
    << "# Schedule\n"
    << "batch: " << c.batch << "\n"
    << "epochs: 1                    # used when iterations is 0\n"
    << "iterations: 2                # 0: epochs * floor(training samples / batch); 2: a quick look at the timing\n"
    << "eval_interval: 0             # evaluate every this many iterations and after the last; 0: only after the last\n"
    << "eval_samples: " << std::min<std::uint32_t>(c.batch, kSyntheticTest)
    << "                # first test samples evaluated; 0: the whole test split\n"
    << "seed: 1                      # the sample order (the weights come from init_weights)\n"
    << "loss_scale: 128              # the loss gradient is scaled by this, WUVE divides it out\n"
    << "init_weights: \"" << weights_dir << "\"  # the model's weights; \"\": He-normal from the seed\n\n"
    << "optimizer:\n"
    << "  lr: 0.05\n"
    << "  momentum: 0.9\n"
    << "  weight_decay: 5e-4         # on weights, not on biases\n"
    << "  schedule: cosine           # constant | cosine | step\n"
    << "  lr_step: 0                 # step: iterations between decays\n"
    << "  lr_gamma: 0.1              # step: factor per decay\n\n"
    << "dataset:\n"
    << "  name: " << dataset << "        # fashion-mnist | synthetic | cifar10 | cifar100 | image_folder\n"
    << "  path: \"" << c.dataset_path << "\"\n"
    << "  train_samples: 0           # first training samples used; 0: all\n"
    << "  test_samples: 0            # first test samples loaded; 0: all\n"
    << "  mean: " << mean << "           # per channel, of pixel / 255: set your model's normalisation\n"
    << "  std: " << std_dev << "\n";
  if (dataset == "image_folder")
    y << "  height: " << net.height << "\n  width: " << net.width << "\n  channels: " << net.channels << "\n";
  y << "  synthetic: {height: " << net.height << ", width: " << net.width << ", channels: " << net.channels
    << ", classes: " << net.classes << ", train: " << std::max<std::uint32_t>(kSyntheticBatches * c.batch, 1024)
    << ", test: " << kSyntheticTest << "}  # the model's input shape and classes\n\n"
    << "network:\n"
    << "  layers:                    # NHWC; a flatten keeps H, W, C order (the importer permuted the weights)\n";
  for (std::size_t i = 0; i < net.layers.size(); ++i) y << layer_line(net, i, c);
  y << "\nexport:\n"
    << "  snapshot_interval: 0       # snapshots (weights, masks) every this many iterations; 0: initial and final "
       "only\n"
    << "  log_interval: 50           # a progress line every this many iterations; 0: none\n\n"
    << "timeout: 1 s                 # simulated time allowed per engine job or DMA transfer\n";
  return y.str();
}

void write_initial_weights(const ImportedNetwork& net, const std::string& weights_dir) {
  for (std::size_t i = 0; i < net.layers.size(); ++i)
    for (const ImportedParam& p : net.layers[i].params)
      write_npy(weights_dir + "/" + std::to_string(i) + "_" + net.layers[i].type + "." + p.role + ".npy",
                p.values.data(), p.shape);
}

}  // namespace cestvp::onnx_import
