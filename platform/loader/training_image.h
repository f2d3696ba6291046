// Training workloads (program: train), the way in: the loader that turns a workload into the
// DDR image of firmware/include/cestvp/model.h and writes it. Reading the run back is
// report/training_results.h. SystemC-free (the DDR model is reached through MemWrite /
// MemRead), so that tests, the reference trainer and tools can build, inspect and read back an
// image without a platform.
//
//   const TrainingImage image = build_training_image(workload.train, boot);
//   write_training_image(image, ddr_writer(vp.ddr, boot.ddr.base));
//   ... fw::run_training(hal, boot, {image.model_addr, ...}) ...
//   const TrainingResult result = read_training_result(image, ddr_reader(vp.ddr, boot.ddr.base));
//   export_training(image, result, reader, run_dir, info);
//
// Layout at boot.ddr.base + model::kModelOffset (docs/workloads.md): the Header, the Tensor,
// Param and Layer tables (64-byte aligned), then each of these 4 KiB aligned: every tensor's
// values and gradient, every param's master, momentum, gradient, FP16 copy and compressed
// forms, the training images, labels, test images, labels, the scratch area, the result area
// and the snapshot area. The sample order is not in it: the firmware draws each epoch's
// (cestvp/sample_order.h) from the header's order_seed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cestvp/boot_info.h>
#include <cestvp/model.h>

#include "data/splitmix64.h"
#include "loader/host_memory.h"
#include "loader/workload.h"

namespace cestvp {

class Ddr;

// Memory by bus address: the VP's DDR (ddr_writer / ddr_reader, through its backdoor: no
// simulated time) or a plain buffer in tests.
using MemWrite = std::function<void(std::uint64_t addr, const void* src, std::uint64_t bytes)>;
using MemRead = std::function<void(std::uint64_t addr, void* dst, std::uint64_t bytes)>;
MemWrite ddr_writer(Ddr& ddr, std::uint64_t ddr_base);
MemRead ddr_reader(const Ddr& ddr, std::uint64_t ddr_base);

// Normal values N(0, stddev^2) by Box-Muller from rng, two per pair of draws:
// u1 = ((next() >> 11) + 1) / 2^53, u2 = (next() >> 11) / 2^53, r = sqrt(-2 ln u1),
// out[2k] = stddev * r * cos(2 pi u2), out[2k + 1] = stddev * r * sin(2 pi u2), in double,
// rounded to float once.
void normal_values(SplitMix64& rng, double stddev, float* out, std::size_t count);

// What the platform knows about a param beyond model::Param.
struct ParamInfo {
  std::uint32_t layer = 0;  // index in the layer table (= network.layers)
  bool bias = false;         // a bias, batchnorm's or layernorm's beta, or embed's class token
  bool running = false;      // batchnorm's running statistics: mean[C] then variance[C], master only, not trained
  std::uint32_t kernel = 1;  // KH = KW (linear: 1)
  bool sparse = false;       // the layer has kLayerSparse
  std::string name;          // file name stem: "0_conv2d.weight", "7_linear.bias", "1_batchnorm.running",
                             // "3_embed.weight" (pos), "3_embed.bias" (cls), "5_layernorm.weight"
  // conv OIHW, linear [out][in], bias / gamma / beta [out], running [2][C], embed pos [T+1][D], cls [D]
  std::vector<std::size_t> torch_shape;
};

// One allocation of the image, for the fit message and the tests.
struct MemoryArea {
  std::string name;  // "tensor 3", "param 0 master", "train images", ...
  std::uint64_t addr = 0, bytes = 0;
};

struct TrainingImage {
  std::uint64_t model_addr = 0;  // boot.ddr.base + model::kModelOffset: the Header
  fw::model::Header header;
  std::vector<fw::model::Tensor> tensors;
  std::vector<fw::model::Param> params;
  std::vector<fw::model::Layer> layers;  // one per network.layers entry, in order
  std::vector<ParamInfo> param_info;     // one per param
  std::vector<MemoryArea> areas;         // every allocation, in address order
  // The dataset as written: uint8 pixels NHWC [count][H][W][C], uint8 labels. Empty for a
  // timing workload (mode: timing), whose firmware reads no sample: only the counts are known.
  std::vector<std::uint8_t> train_images, train_labels, test_images, test_labels;
  // Initial FP32 master values per param, in the hardware layout (conv OHWI, linear [out][in]):
  // He-normal weights (std sqrt(2 / (KH*KW*Cin)), normal_values from SplitMix64(~seed),
  // params in order), zero biases; batchnorm gamma 1, beta 0, running mean 0 and variance 1;
  // layernorm gamma 1, beta 0; embed's position embeddings N(0, 0.02^2) (normal_values from the
  // same generator, at their place in the param order: after the weights of earlier layers,
  // before those of later ones), its class token 0. Empty vectors for a timing workload, which
  // reads no param values (init_weights is not read either).
  std::vector<std::vector<float>> initial;
  // Snapshot k is taken after iteration snapshot_iterations[k]: 0 (the initial state), then
  // every snapshot_interval (below the last), then header.iterations.
  std::vector<std::uint32_t> snapshot_iterations;
  std::uint32_t train_epochs = 0;  // epochs the iterations span
  std::uint64_t end = 0;           // one past the image's last byte
  std::uint64_t bytes() const { return end - model_addr; }
};

// What a run needs of the host's memory, estimated from the workload and the image's layout
// before anything large is allocated: an upper bound of the peak, as if everything were alive
// at once (the loader's float copy of the samples is freed before the run starts).
struct HostMemory {
  std::uint64_t dataset = 0;   // the samples as read or generated, and as the image keeps them
  std::uint64_t memories = 0;  // the DDR pages the run writes, and the SAT's SRAMs
  std::uint64_t firmware = 0;  // the training runtime's host buffers (the epoch's sample order, ...)
  std::uint64_t results = 0;   // the records read back and exported (metrics.csv, eval.csv)
  std::uint64_t total() const { return dataset + memories + firmware + results; }
};
HostMemory estimate_host_memory(const TrainingImage& image, const TrainWorkload& workload, const fw::BootInfo& boot);

// The loader's warnings about a workload that runs, but not quite as N:M: one line per sparse
// layer whose grouped dimension (Cin of W~, Cout of W~^T or of SDGP's dY~) is not a multiple of
// M, so that its last group is short (nm-training-spec.md section 6), as "FILE:LINE:COL:
// network.layers[i] (type): ...". build_training_image prints them to stderr.
std::vector<std::string> nm_tail_warnings(const TrainWorkload& workload);

// Reads the dataset and lays out the image; UserError when a dataset file is wrong, or the
// image does not fit the DDR of `boot`, or the run does not fit `host_limit` bytes of host
// memory (estimate_host_memory). Both fits are checked before a synthetic dataset is generated,
// an image folder decoded or an initial value drawn (IDX and CIFAR files are read first: only
// they tell their sample counts, and each is at most kMaxDatasetFileBytes).
TrainingImage build_training_image(const TrainWorkload& workload, const fw::BootInfo& boot,
                                   std::uint64_t host_limit = host_memory_limit());

// Replaces the initial values of every param whose <name>.npy exists in `dir` (PyTorch layout:
// conv OIHW, as export writes them); UserError on a shape mismatch or when no file matches.
void load_initial_weights(TrainingImage& image, const std::string& dir);

// Writes the header, the tables, the initial masters and their FP16 copies and the dataset (as
// far as the image holds them) and an empty ResultHeader (with its record
// arrays' addresses and capacities).
// Everything else is left as the memory has it (zeros in a fresh DDR).
void write_training_image(const TrainingImage& image, const MemWrite& write);

// The result area: ResultHeader at header.result, then (64-byte aligned) the profile table
// ProfileRecord[layer_count + 1][kPassCount], IterationRecord[header.iterations], then
// EvalRecord[eval capacity]; write_training_image writes these addresses and capacities into
// the ResultHeader, the firmware sets magic and fills the rest.
std::uint64_t profile_addr(const TrainingImage& image);
std::uint64_t iteration_records_addr(const TrainingImage& image);
std::uint64_t eval_records_addr(const TrainingImage& image);
std::uint32_t eval_capacity(const TrainingImage& image);  // ceil(iterations / eval_interval), or 1

// Hardware layout -> PyTorch layout: conv OHWI -> OIHW; linear and bias unchanged. (A linear
// layer after a flatten sees its input in H, W, C order, not PyTorch's C, H, W.)
std::vector<float> to_torch_layout(const ParamInfo& info, const fw::model::Param& p, const std::vector<float>& hw);

}  // namespace cestvp
