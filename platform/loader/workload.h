// Workload YAML: what the firmware runs on the platform: a `program` and its parameters: the
// bring-up and the engine self-test each have their own section; a training workload
// (`program: train`) has its keys at the top level so that `--set scheme=dense` reaches them.
// The training schema is docs/workloads.md.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/yaml_override.h"
#include "loader/host_memory.h"

#include <cestvp/bringup.h>
#include <cestvp/engine_selftest.h>
#include <cestvp/model.h>

namespace cestvp {

struct PlatformConfig;

// A layer's activation shape, NHWC without N; a flattened tensor is 1 x 1 x C with flat set; a
// token sequence (tokens, embed and what follows them) is 1 x T x D, not flat.
struct FeatureShape {
  std::uint32_t h = 0, w = 0, c = 0;
  bool flat = false;
  std::uint64_t elements() const { return std::uint64_t{h} * w * c; }
  bool token_sequence() const { return !flat && h == 1; }  // [1][T][D]
};

// One entry of network.layers, with the shapes the loader inferred.
struct TrainLayer {
  std::string type;  // the name of a row of the layer catalogue (cestvp/layer_catalogue.h)
  std::string name;  // "" if unnamed; what other layers' input / with refer to
  std::string input, with;  // as written ("" = the previous layer's output; with: add only)
  int from = -1;       // the layer whose output this one reads; -1: the input batch
  int with_from = -1;  // add: the layer whose output is added; -1: the input batch
  std::uint32_t out = 0;  // conv2d: output channels; linear: output features
  std::uint32_t kernel = 0, stride = 0, padding = 0;  // conv2d; pools: kernel and stride
  std::uint32_t heads = 0;  // attention
  bool bias = false;   // conv2d, linear
  bool dense = false;  // conv2d, linear: never sparse, whatever the scheme
  int line = 0;        // of the layer in the workload file
  FeatureShape in, out_shape;  // out_shape of softmax_ce and add: as their input
  // linear on a token sequence [1][T][in] acts per token: out_shape [1][T][out] (a 1x1 convolution)
  // Its row of the layer catalogue; std::logic_error for a type the workload reader would not
  // have accepted (a workload made in code).
  const fw::model::LayerType& catalogue() const;
  // Has a weight the SAT computes with and a sparse scheme makes N:M (conv2d, linear).
  bool trainable() const { return catalogue().nm_weight; }
};

struct TrainDataset {
  std::string name;  // fashion-mnist, synthetic, cifar10, cifar100, image_folder
  std::string path;  // as written ("" = the default directory for fashion-mnist)
  std::string dir;   // resolved directory of the files ("" for synthetic)
  // Resolved, in reading order (IDX: images, labels; image_folder: the split's directory).
  std::vector<std::string> train_files, test_files;
  std::uint32_t train_samples = 0, test_samples = 0;  // 0 = all
  std::vector<double> mean, std;  // one per channel
  struct Synthetic {
    std::uint32_t height = 8, width = 8, channels = 1, classes = 10, train = 1000, test = 200;
  } synthetic;
  // From the name (and the synthetic section; image_folder: dataset.height, width, channels
  // and the folder): the image shape, the classes, and how many samples the standard files hold
  // (synthetic: its train and test counts; image_folder: the images found).
  std::uint32_t height = 0, width = 0, channels = 0, classes = 0;
  std::uint32_t standard_train = 0, standard_test = 0;
};

struct TrainOptimizer {
  double lr = 0, momentum = 0, weight_decay = 0;
  fw::model::LrSchedule schedule = fw::model::LrSchedule::constant;
  std::uint32_t lr_step = 0;  // schedule step: iterations between decays
  double lr_gamma = 0.1;      // schedule step: factor per decay
};

struct TrainWorkload {
  std::string mode = "functional";  // functional | bit-accurate | timing
  fw::model::Scheme scheme = fw::model::Scheme::dense;
  std::uint32_t n = 2, m = 8;
  fw::model::BwdMask bwd_mask = fw::model::BwdMask::independent;
  double sparse_decay = 2e-4;  // SR-STE lambda_W
  bool sdgp_rescale = true;
  bool sparse_first_layer = false, sparse_last_layer = false;
  std::uint32_t batch = 0, epochs = 1;
  std::uint32_t iterations = 0;     // 0: epochs * floor(train samples / batch), resolved by the loader
  std::uint32_t eval_interval = 0;  // 0: evaluate only after the last iteration
  std::uint32_t eval_samples = 0;   // 0: the whole test split
  std::uint32_t seed = 1;
  double loss_scale = 1;
  // "" : He-normal initial weights from the seed; else a directory whose <param>.npy files (the
  // names and PyTorch layouts satvp exports in weights/) replace the initial values they name.
  std::string init_weights;
  TrainOptimizer optimizer;
  TrainDataset dataset;
  std::vector<TrainLayer> layers;
  std::uint32_t snapshot_interval = 0;  // export.snapshot_interval; 0: initial and final only
  std::uint32_t log_interval = 0;       // export.log_interval; 0: no progress lines
  std::uint64_t timeout_ns = 1'000'000'000;  // per engine job or DMA transfer, simulated
  // Where the file (or a --set) gave the keys that build_training_image checks against the data
  // files and DDR: key path -> "FILE:LINE:COL: key.path" (YamlValue::where), for its messages.
  std::map<std::string, std::string> where;
};

const char* to_string(fw::model::Scheme scheme);
// The values a workload's `scheme` and `dataset.name` may have, in the order docs/workloads.md lists them.
const std::vector<std::string>& scheme_names();
const std::vector<std::string>& dataset_names();
const char* to_string(fw::model::BwdMask mask);
const char* to_string(fw::model::LrSchedule schedule);

// An N:M sparsity as a workload's `nm` and `satvp job --nm` take it: 1 <= N <= M <= 32, the
// largest group the OSRE ranks (docs/workloads.md). Returns "" for a valid one, else what is
// wrong with `text` ("M = 64 is larger than 32"), for a message that ends "; expected " kNmExpected.
std::string parse_nm(const std::string& text, std::uint32_t& n, std::uint32_t& m);
inline constexpr const char* kNmExpected = "N:M with 1 <= N <= M <= 32, e.g. 2:8";

struct Workload {
  std::string source;   // file it was read from
  std::string name;     // for the run directory and reports
  std::string program;  // firmware program: "bringup", "engines" or "train"
  fw::BringupParams bringup;         // program: bringup
  fw::EngineSelftestParams engines;  // program: engines (its mode comes from satvp --mode)
  TrainWorkload train;               // program: train
};

// Reads and validates a workload YAML; UserError (file:line:col: key: ...) on any problem.
// overrides (`--set key=value`) replace values of the file before it is validated. With a
// platform, a training workload's N:M is checked against the platform's sat.nm_m, and what
// bring-up and the engine self-test need (DDR, SRAM, and for bring-up `host_limit` bytes of
// host memory) against the platform.
Workload load_workload(const std::string& path, const std::vector<Override>& overrides = {},
                       const PlatformConfig* platform = nullptr, std::uint64_t host_limit = host_memory_limit());

// The resolved workload as YAML, for the run directory; it loads again as is.
std::string to_yaml(const Workload& workload);

}  // namespace cestvp
