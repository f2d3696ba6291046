#include "training.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>

#include <cestvp/sat_abi.h>

#include "dataset.h"
#include "ddr.h"
#include "image_folder.h"
#include "npy.h"
#include "run_output.h"
#include "sat/fp16.h"
#include "units.h"
#include "user_error.h"

namespace cestvp {

namespace model = fw::model;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kPage = 4096;  // every area of the image starts on a 4 KiB boundary
constexpr std::uint64_t kLine = 64;    // tables and result arrays: 64-byte aligned
constexpr std::uint64_t kScratchSlack = 1u << 20;

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// mib(), or GiB from 1 GiB on.
std::string memory_size(std::uint64_t bytes) {
  if (bytes < (std::uint64_t{1} << 30)) return mib(bytes);
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  return text;
}

// Where the workload gave `key` ("FILE:LINE:COL: key"), for a problem found only now, against
// the data files or DDR; the bare key for a workload made in code.
std::string where(const TrainWorkload& w, const std::string& key) {
  const auto found = w.where.find(key);
  return found == w.where.end() ? key : found->second;
}

// Per layer: trained N:M sparse? A conv2d or linear layer under a sparse scheme, unless it is
// `dense: true`, or the first or last trainable layer without sparse_first_layer or
// sparse_last_layer.
std::vector<bool> sparse_layers(const TrainWorkload& w) {
  std::vector<bool> sparse(w.layers.size(), false);
  if (w.scheme == model::Scheme::dense) return sparse;
  std::vector<std::size_t> trainable;
  for (std::size_t i = 0; i < w.layers.size(); ++i)
    if (w.layers[i].trainable()) trainable.push_back(i);
  for (const std::size_t i : trainable)
    sparse[i] = !w.layers[i].dense && (i != trainable.front() || w.sparse_first_layer) &&
                (i != trainable.back() || w.sparse_last_layer);
  return sparse;
}

// Hands out the image's addresses in order, each area aligned, and records them.
class Layout {
 public:
  Layout(std::uint64_t start, std::vector<MemoryArea>& areas) : next_(start), areas_(areas) {}

  std::uint64_t take(const std::string& name, std::uint64_t bytes, std::uint64_t alignment = kPage) {
    next_ = align_up(next_, alignment);
    const std::uint64_t addr = next_;
    next_ += bytes;
    areas_.push_back({name, addr, bytes});
    return addr;
  }
  std::uint64_t end() const { return next_; }

 private:
  std::uint64_t next_;
  std::vector<MemoryArea>& areas_;
};

model::LayerKind layer_kind(const std::string& type) {
  if (type == "conv2d") return model::LayerKind::conv2d;
  if (type == "linear") return model::LayerKind::linear;
  if (type == "relu") return model::LayerKind::relu;
  if (type == "maxpool") return model::LayerKind::maxpool;
  if (type == "avgpool") return model::LayerKind::avgpool;
  if (type == "flatten") return model::LayerKind::flatten;
  if (type == "batchnorm") return model::LayerKind::batchnorm;
  if (type == "add") return model::LayerKind::add;
  if (type == "tokens") return model::LayerKind::tokens;
  if (type == "embed") return model::LayerKind::embed;
  if (type == "layernorm") return model::LayerKind::layernorm;
  if (type == "gelu") return model::LayerKind::gelu;
  if (type == "attention") return model::LayerKind::attention;
  if (type == "cls_token") return model::LayerKind::cls_token;
  return model::LayerKind::softmax_ce;
}

// ------------------------------------------------------------------------------ dataset

struct Split {
  std::vector<std::uint8_t> images, labels;
  std::uint32_t count = 0;
};

// Pixels back to the bytes they came from (the readers give exactly byte / 255), samples
// [first, first + count) of d.
void take_samples(const Dataset& d, std::size_t first, std::size_t count, Split& split) {
  const std::size_t size = d.image_size();
  split.count = static_cast<std::uint32_t>(count);
  split.images.resize(count * size);
  const float* pixels = d.images.data() + first * size;
  for (std::size_t i = 0; i < split.images.size(); ++i)
    split.images[i] = static_cast<std::uint8_t>(pixels[i] * 255.0f + 0.5f);
  split.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) split.labels[i] = static_cast<std::uint8_t>(d.labels[first + i]);
}

void check_read(const Dataset& d, const TrainDataset& want, const std::string& file, std::uint32_t asked,
                const char* key) {
  // The readers check the image size themselves (read_idx against IdxImages, read_image_folder
  // against ImageShape; CIFAR's is fixed and synthetic data is made to measure).
  assert(d.height == want.height && d.width == want.width && d.channels == want.channels);
  (void)want;
  if (d.count() == 0) throw UserError(file + ": no images; expected at least one");
  if (asked && d.count() < asked)
    throw UserError(file + ": has " + std::to_string(d.count()) + " images, fewer than dataset." + key + " = " +
                    std::to_string(asked) + "; expected at most " + std::to_string(d.count()) + " for dataset." + key);
}

// A synthetic set and an image folder know their counts from the workload, without generating
// or decoding an image; IDX and CIFAR files only tell theirs when read.
bool counts_known(const TrainDataset& d) { return d.name == "synthetic" || d.name == "image_folder"; }

// The splits' samples, or only their counts when `counts_only` and counts_known (the file
// readers are fast, bounded by kMaxDatasetFileBytes per file, and check their files, so they
// read as usual).
void load_dataset(const TrainWorkload& w, bool counts_only, Split& train, Split& test) {
  const TrainDataset& d = w.dataset;
  if (counts_only && counts_known(d)) {
    train.count = d.train_samples ? d.train_samples : d.standard_train;
    test.count = d.test_samples ? d.test_samples : d.standard_test;
    return;
  }
  const std::size_t train_limit = d.train_samples ? d.train_samples : SIZE_MAX;
  const std::size_t test_limit = d.test_samples ? d.test_samples : SIZE_MAX;
  if (d.name == "synthetic") {
    const TrainDataset::Synthetic& s = d.synthetic;
    const Dataset all = make_synthetic(s.train + s.test, s.height, s.width, s.channels, s.classes, w.seed);
    take_samples(all, 0, std::min<std::size_t>(s.train, train_limit), train);
    take_samples(all, s.train, std::min<std::size_t>(s.test, test_limit), test);
    return;
  }
  const auto read = [&](const std::vector<std::string>& files, ImageSplit split, std::size_t limit) {
    if (d.name == "fashion-mnist") return read_idx(files[0], files[1], limit, {d.height, d.width, d.name});
    if (d.name == "image_folder") return read_image_folder(d.dir, split, {d.height, d.width, d.channels}, limit);
    return read_cifar(files, d.name == "cifar100", limit);
  };
  {
    const Dataset set = read(d.train_files, ImageSplit::train, train_limit);
    check_read(set, d, d.train_files[0], d.train_samples, "train_samples");
    take_samples(set, 0, set.count(), train);
  }
  const Dataset set = read(d.test_files, ImageSplit::test, test_limit);
  check_read(set, d, d.test_files[0], d.test_samples, "test_samples");
  take_samples(set, 0, set.count(), test);
}

// The kinds of area of the image, by the start of their names: what the message when the image
// does not fit DDR calls them, and the workload key that sizes them most directly.
struct AreaKind {
  const char* prefix;
  const char* label;
  const char* key;
};
constexpr AreaKind kAreaKinds[] = {{"tables", "tables", "network.layers"},
                                   {"tensor", "activations", "batch"},
                                   {"param", "params", "network.layers"},
                                   {"train", "training set", "dataset.train_samples"},
                                   {"test", "test set", "dataset.test_samples"},
                                   {"scratch", "scratch", "network.layers"},
                                   {"result", "results", "iterations"},
                                   {"snapshots", "snapshots", "export.snapshot_interval"}};

// The bytes of each kind of area, in kAreaKinds order.
std::array<std::uint64_t, std::size(kAreaKinds)> area_sums(const std::vector<MemoryArea>& areas) {
  std::array<std::uint64_t, std::size(kAreaKinds)> sums{};
  for (const MemoryArea& a : areas)
    for (std::size_t k = 0; k < std::size(kAreaKinds); ++k)
      if (a.name.compare(0, std::strlen(kAreaKinds[k].prefix), kAreaKinds[k].prefix) == 0) sums[k] += a.bytes;
  return sums;
}

// The key of the kind of area that needs the most DDR.
const char* largest_area_key(const std::vector<MemoryArea>& areas) {
  const auto sums = area_sums(areas);
  return kAreaKinds[static_cast<std::size_t>(std::max_element(sums.begin(), sums.end()) - sums.begin())].key;
}

// The image does not fit DDR: fails at the key of the largest kind of area, listing them all.
[[noreturn]] void fail_ddr(const TrainWorkload& w, const std::vector<MemoryArea>& areas, std::uint64_t needed,
                           std::uint64_t ddr) {
  const auto sums = area_sums(areas);
  std::string text;
  for (std::size_t k = 0; k < std::size(kAreaKinds); ++k)
    text += (k ? ", " : "") + std::string(kAreaKinds[k].label) + " " + mib(sums[k]);
  throw UserError(where(w, largest_area_key(areas)) + ": the training image needs " + mib(needed) + " (" + text +
                  ") but DDR has " + mib(ddr) +
                  "; expected a smaller batch, dataset (dataset.train_samples), network or fewer snapshots "
                  "(export.snapshot_interval), or more DDR (address_map.ddr.size)");
}

// The run does not fit the host's memory: fails at the key that sizes its largest part.
[[noreturn]] void fail_host(const TrainWorkload& w, const std::vector<MemoryArea>& areas, const HostMemory& need,
                            std::uint64_t limit) {
  const std::uint64_t parts[] = {need.dataset, need.memories, need.firmware, need.results};
  const char* keys[] = {w.dataset.name == "synthetic" ? "dataset.synthetic" : "dataset.train_samples",
                        largest_area_key(areas), "batch", w.iterations ? "iterations" : "epochs"};
  const std::size_t largest = static_cast<std::size_t>(std::max_element(std::begin(parts), std::end(parts)) - parts);
  throw UserError(where(w, keys[largest]) + ": the run needs about " + memory_size(need.total()) +
                  " of host memory (dataset " + memory_size(need.dataset) + ", DDR and SRAM models " +
                  memory_size(need.memories) + ", firmware buffers " + memory_size(need.firmware) +
                  ", results and their export " + memory_size(need.results) + ") but " + memory_size(limit) + " is available" + kHostMemoryWhere +
                  "; expected fewer iterations or epochs, a smaller batch, dataset or network, or a machine with "
                  "more memory");
}

}  // namespace

// ------------------------------------------------------------------------- memory access

MemWrite ddr_writer(Ddr& ddr, std::uint64_t ddr_base) {
  return [&ddr, ddr_base](std::uint64_t addr, const void* src, std::uint64_t bytes) {
    ddr.write(addr - ddr_base, src, bytes);
  };
}

MemRead ddr_reader(const Ddr& ddr, std::uint64_t ddr_base) {
  return [&ddr, ddr_base](std::uint64_t addr, void* dst, std::uint64_t bytes) { ddr.read(addr - ddr_base, dst, bytes); };
}

// -------------------------------------------------------------------------- initial values

void normal_values(SplitMix64& rng, double stddev, float* out, std::size_t count) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  for (std::size_t i = 0; i < count; i += 2) {
    const double u1 = static_cast<double>((rng.next() >> 11) + 1) * kScale;  // (0, 1]: log(u1) is finite
    const double u2 = static_cast<double>(rng.next() >> 11) * kScale;        // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = static_cast<float>(stddev * r * std::cos(kTwoPi * u2));
    if (i + 1 < count) out[i + 1] = static_cast<float>(stddev * r * std::sin(kTwoPi * u2));
  }
}

// --------------------------------------------------------------------------------- loader

namespace {

// Host bytes per iteration or evaluation record beyond its 24 B in DDR: the copy
// read_training_result makes. metrics.csv and eval.csv are written row by row (CsvWriter).
constexpr std::uint64_t kExportBytesPerRecord = sizeof(model::IterationRecord);
static_assert(sizeof(model::EvalRecord) <= kExportBytesPerRecord);
// FP32 copies of the largest tensor or param the runtime's host layers hold at once (input,
// output, their gradients, FP16 staging, a layer's scratch), rounded up.
constexpr std::uint64_t kFirmwareCopies = 8;

}  // namespace


HostMemory estimate_host_memory(const TrainingImage& img, const TrainWorkload& w, const fw::BootInfo& boot) {
  const model::Header& h = img.header;
  const TrainDataset& d = w.dataset;
  const bool data = w.mode != "timing";
  const std::uint64_t pixels = std::uint64_t{h.image_h} * h.image_w * h.image_c;
  const std::uint64_t samples = std::uint64_t{h.train_count} + h.test_count;
  HostMemory m;
  // The readers' floats (4 B a pixel, 2 a label) and the bytes the image keeps (1 and 1),
  // alive together while the splits are taken. A synthetic set is generated whole; IDX and
  // CIFAR files are read in timing mode too.
  const std::uint64_t made = d.name == "synthetic" ? std::uint64_t{d.synthetic.train} + d.synthetic.test : samples;
  if (data || !counts_known(d)) m.dataset = made * (4 * pixels + 2) + samples * (pixels + 1);
  // The DDR model allocates a page where the run first writes: everywhere in the image in
  // functional mode; in timing mode (no data moves) only in the tables, the scratch (DMA
  // descriptors) and the result area. The areas come in address order.
  std::uint64_t counted = 0;  // pages below this one are counted
  for (const MemoryArea& a : img.areas) {
    const bool written = data || a.name.compare(0, 6, "tables") == 0 || a.name == "scratch" || a.name == "result";
    if (!written || a.bytes == 0) continue;
    const std::uint64_t first = std::max(counted, (a.addr - boot.ddr.base) / Ddr::kPageBytes);
    const std::uint64_t end = (a.addr - boot.ddr.base + a.bytes - 1) / Ddr::kPageBytes + 1;
    if (end > first) m.memories += (end - first) * Ddr::kPageBytes, counted = end;
  }
  m.memories += boot.sat_sram_a.size + boot.sat_sram_b.size + boot.sat_sram_c.size;
  // The runtime's host buffers: the epoch's sample order, a batch of raw pixels, the host
  // layers' copies. Timing mode skips all host work.
  if (data) {
    std::uint64_t largest = 0;
    for (const model::Tensor& t : img.tensors) largest = std::max(largest, t.elements());
    for (const model::Param& p : img.params) largest = std::max<std::uint64_t>(largest, p.count);
    m.firmware = std::uint64_t{h.train_count} * 4 + pixels * h.batch + kFirmwareCopies * 4 * largest;
  }
  m.results = (std::uint64_t{h.iterations} + eval_capacity(img)) * kExportBytesPerRecord +
              std::uint64_t{h.snapshot_capacity} * 4;  // snapshot_iterations
  return m;
}


std::vector<std::string> nm_tail_warnings(const TrainWorkload& w) {
  const std::vector<bool> sparse = sparse_layers(w);
  const std::string n = std::to_string(w.n), m = std::to_string(w.m);
  std::vector<std::string> warnings;
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    if (!sparse[i]) continue;
    const TrainLayer& l = w.layers[i];
    const bool conv = l.type == "conv2d";
    std::string problems;
    // `length` is grouped by M in `operand`; its last group keeps min(N, len) and, when
    // shorter than N, is padded with zero entries (docs/engines.md, "N:M compressed form").
    const auto check = [&](const char* name, std::uint32_t length, const char* operand) {
      const std::uint32_t tail = length % w.m;
      if (tail == 0) return;
      problems += (problems.empty() ? "" : "; ") + std::string(name) + " " + std::to_string(length) +
                  " is not a multiple of M=" + m + ": each line of " + operand + " ends in a group of " +
                  std::to_string(tail) + " that keeps " + std::to_string(std::min(w.n, tail)) + " (" + n + ":" + m +
                  " in the others)";
      if (tail < w.n) problems += ", padded to N=" + n + " with zero entries that STCE skips but spends cycles on";
    };
    // What each scheme groups (docs/training.md): W~ along Cin, W~^T along Cout, dY~ along Cout.
    const bool forward = w.scheme == model::Scheme::srste || w.scheme == model::Scheme::bdwp;
    if (forward) check(conv ? "Cin" : "in", l.in.c, "W~");
    if (w.scheme == model::Scheme::bdwp) check(conv ? "Cout" : "out", l.out, "W~^T");
    if (w.scheme == model::Scheme::sdgp && conv && l.in.c > 3) check("Cout", l.out, "the pruned dY~");
    if (problems.empty()) continue;
    warnings.push_back(where(w, "network.layers[" + std::to_string(i) + "]") + " (" + l.type + "): " + problems +
                       "; the reference implementations of the schemes reject such a layer or let its groups "
                       "straddle lines");
  }
  return warnings;
}

TrainingImage build_training_image(const TrainWorkload& w, const fw::BootInfo& boot, std::uint64_t host_limit) {
  TrainingImage img;
  model::Header& h = img.header;
  const std::uint32_t batch = w.batch;
  // A timing run computes nothing: the firmware reads neither the samples nor the initial
  // values (its host work and the engines' data paths are skipped), so the image holds neither.
  const bool holds_data = w.mode != "timing";

  // Counts first: a synthetic set or an image folder is generated or decoded only once the run
  // is known to fit DDR and the host's memory.
  Split train, test;
  const auto load = [&](bool counts_only) {
    try {
      load_dataset(w, counts_only, train, test);
    } catch (const UserError& e) {  // names the file and what is wrong with it
      const char* key = w.dataset.name == "synthetic" ? "dataset.synthetic" : "dataset.path";
      throw UserError(where(w, key) + ": " + e.what());
    }
  };
  load(!holds_data || counts_known(w.dataset));
  const std::uint32_t per_epoch = train.count / batch;
  if (per_epoch == 0)
    throw UserError(where(w, "batch") + ": dataset " + w.dataset.name + " has " + std::to_string(train.count) +
                    " training samples, fewer than one batch of " + std::to_string(batch) +
                    "; expected a batch of at most " + std::to_string(train.count));
  const std::uint32_t iterations =
      w.iterations ? w.iterations
                   : static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{w.epochs} * per_epoch, 100'000'000));
  const std::uint32_t eval_samples = w.eval_samples ? w.eval_samples : test.count;
  if (eval_samples > test.count)
    throw UserError(where(w, "eval_samples") + ": " + std::to_string(eval_samples) + " is more than the " +
                    std::to_string(test.count) + " test samples read from " +
                    (w.dataset.test_files.empty() ? w.dataset.name : w.dataset.test_files[0]) + "; expected at most " +
                    std::to_string(test.count));

  // Counts first: the tables come before everything else.
  std::uint32_t tensor_count = 1, param_count = 0;
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const TrainLayer& l = w.layers[i];
    if (l.type != "softmax_ce") ++tensor_count;
    if (l.type == "attention") ++tensor_count;  // its probabilities
    if (l.type == "batchnorm") param_count += 3;  // gamma, beta, running statistics
    if (l.type == "embed" || l.type == "layernorm") param_count += 2;  // pos and cls; gamma and beta
    if (l.trainable()) param_count += l.bias ? 2 : 1;
  }
  const auto layer_count = static_cast<std::uint32_t>(w.layers.size());

  img.model_addr = boot.ddr.base + model::kModelOffset;
  Layout layout(img.model_addr, img.areas);
  layout.take("tables: header", sizeof(model::Header), kLine);
  h.tensors = layout.take("tables: tensors", sizeof(model::Tensor) * tensor_count, kLine);
  h.params = layout.take("tables: params", sizeof(model::Param) * param_count, kLine);
  h.layers = layout.take("tables: layers", sizeof(model::Layer) * layer_count, kLine);
  h.tensor_count = tensor_count;
  h.param_count = param_count;
  h.layer_count = layer_count;

  // Tensors: the input batch, then one per layer output (a flatten's or tokens' is a view of its input).
  const auto add_tensor = [&](const FeatureShape& s, bool gradient) {
    model::Tensor t;
    t.n = batch, t.h = s.h, t.w = s.w, t.c = s.c;
    const std::string name = "tensor " + std::to_string(img.tensors.size());
    t.addr = layout.take(name, t.elements() * 2);
    if (gradient) t.grad_addr = layout.take(name + " gradient", t.elements() * 2);
    img.tensors.push_back(t);
    return static_cast<std::uint32_t>(img.tensors.size() - 1);
  };
  const TrainDataset& data = w.dataset;
  h.input_tensor = add_tensor({data.height, data.width, data.channels, false}, false);
  std::vector<std::uint32_t> output(layer_count, model::kNone);  // each layer's output tensor
  const auto tensor_of = [&](int layer) { return layer < 0 ? h.input_tensor : output[static_cast<std::size_t>(layer)]; };

  const std::vector<bool> sparse_by_layer = sparse_layers(w);
  for (const std::string& warning : nm_tail_warnings(w)) std::cerr << "satvp: warning: " << warning << "\n";
  const bool fwd_forms = w.scheme == model::Scheme::srste || w.scheme == model::Scheme::bdwp;
  const bool bwd_forms = w.scheme == model::Scheme::bdwp;
  SplitMix64 init_rng(~std::uint64_t{w.seed});
  std::uint64_t largest_weight = 0, sdgp_values = 0, sdgp_indices = 0, snapshot_bytes = 0;

  // A param's initial values: a fill of its zeroed values, run only once the image is known to
  // fit DDR, so that a network too large for it is rejected before they are allocated. The
  // fills run in param order, so that the random draws come in that order.
  using Fill = std::function<void(std::vector<float>&)>;
  std::vector<Fill> fills;
  const Fill zeros = [](std::vector<float>&) {};
  const Fill ones = [](std::vector<float>& v) { std::fill(v.begin(), v.end(), 1.0f); };
  const auto normal = [&init_rng](double stddev) -> Fill {
    return [&init_rng, stddev](std::vector<float>& v) { normal_values(init_rng, stddev, v.data(), v.size()); };
  };
  // A param: its buffers, its initial values, and what the platform knows about it. Buffers:
  // master only for batchnorm's running statistics; no FP16 copy for the host-only parameters
  // of embed and layernorm (the firmware reads their masters).
  enum Buffers { master_only, no_fp16_copy, all_buffers };
  const auto add_param = [&](model::Param p, ParamInfo info, Fill fill, Buffers buffers) {
    const std::string name = "param " + std::to_string(img.params.size()) + " (" + info.name + ")";
    p.master = layout.take(name + " master", std::uint64_t{p.count} * 4);
    if (buffers != master_only) {
      p.momentum = layout.take(name + " momentum", std::uint64_t{p.count} * 4);
      p.grad = layout.take(name + " gradient", std::uint64_t{p.count} * 2);
    }
    if (buffers == all_buffers) p.fp16 = layout.take(name + " fp16", std::uint64_t{p.count} * 2);
    if (info.sparse && !info.bias && fwd_forms) {
      const fw::NmLine line = model::fwd_line(p, w.n, w.m);
      p.fwd_values = layout.take(name + " fwd values", model::values_bytes(model::fwd_lines(p), line));
      p.fwd_indices = layout.take(name + " fwd indices", model::index_bytes(model::fwd_lines(p), line));
    }
    if (info.sparse && !info.bias && bwd_forms) {
      const fw::NmLine line = model::bwd_line(p, w.n, w.m);
      p.bwd_values = layout.take(name + " bwd values", model::values_bytes(model::bwd_lines(p), line));
      p.bwd_indices = layout.take(name + " bwd indices", model::index_bytes(model::bwd_lines(p), line));
    }
    snapshot_bytes += model::param_snapshot_bytes(p, w.n, w.m);
    img.params.push_back(p);
    img.param_info.push_back(std::move(info));
    img.initial.emplace_back();
    fills.push_back(std::move(fill));
    return static_cast<std::uint32_t>(img.params.size() - 1);
  };
  const auto vector_param = [](std::uint32_t count) {
    model::Param p;
    p.count = p.cout = count;
    p.taps = p.cin = 1;
    p.decay = 0;
    return p;
  };
  // A normalisation layer's gamma (ones) and beta (zeros) over c features, trained like biases.
  const auto add_gamma_beta = [&](model::Layer& layer, std::uint32_t i, const std::string& stem, std::uint32_t c,
                                  Buffers buffers) {
    ParamInfo info;
    info.layer = i;
    info.torch_shape = {c};
    info.name = stem + ".weight";
    layer.weight = add_param(vector_param(c), info, ones, buffers);
    info.bias = true;
    info.name = stem + ".bias";
    layer.bias = add_param(vector_param(c), info, zeros, buffers);
  };

  for (std::uint32_t i = 0; i < layer_count; ++i) {
    const TrainLayer& l = w.layers[i];
    model::Layer layer;
    layer.kind = static_cast<std::uint32_t>(layer_kind(l.type));
    layer.in = tensor_of(l.from);
    if (l.type == "add") layer.in2 = tensor_of(l.with_from);
    const std::string stem = std::to_string(i) + "_" + l.type;
    if (l.type == "conv2d") layer.a = layer.b = l.kernel, layer.c = l.stride, layer.d = l.padding;
    if (l.type == "maxpool" || l.type == "avgpool") layer.a = l.kernel, layer.c = l.stride;
    if (l.trainable()) {
      const bool sparse = sparse_by_layer[i];
      if (sparse) layer.flags |= model::kLayerSparse;
      const std::uint32_t kernel = l.type == "conv2d" ? l.kernel : 1;
      model::Param p;
      p.cout = l.out;
      p.taps = kernel * kernel;
      p.cin = l.in.c;
      p.count = p.cout * p.taps * p.cin;
      p.decay = 1;
      ParamInfo info;
      info.layer = i;
      info.kernel = kernel;
      info.sparse = sparse;
      info.name = stem + ".weight";
      info.torch_shape = l.type == "conv2d" ? std::vector<std::size_t>{p.cout, p.cin, kernel, kernel}
                                            : std::vector<std::size_t>{p.cout, p.cin};
      layer.weight = add_param(p, info, normal(std::sqrt(2.0 / (std::uint64_t{p.taps} * p.cin))), all_buffers);
      if (l.bias) {
        ParamInfo b;
        b.layer = i;
        b.bias = true;
        b.name = stem + ".bias";
        b.torch_shape = {l.out};
        layer.bias = add_param(vector_param(l.out), b, zeros, all_buffers);
      }
      if (sparse && w.scheme == model::Scheme::sdgp && l.type == "conv2d") {
        // dY~ of the layer: one line of Cout per output position.
        const std::uint64_t lines = std::uint64_t{batch} * l.out_shape.h * l.out_shape.w;
        const fw::NmLine line{l.out, l.out, w.n, w.m};
        sdgp_values = std::max(sdgp_values, model::values_bytes(lines, line));
        sdgp_indices = std::max(sdgp_indices, model::index_bytes(lines, line));
      }
    }
    if (l.type == "batchnorm") {
      // gamma (1) and beta (0), trained like biases; the running mean (0) and variance (1),
      // FP32 state the runtime updates itself (docs/training.md).
      const std::uint32_t c = l.in.c;
      add_gamma_beta(layer, i, stem, c, all_buffers);
      ParamInfo info;
      info.layer = i;
      info.running = true;
      info.name = stem + ".running";
      info.torch_shape = {2, c};
      const Fill running = [](std::vector<float>& v) { std::fill(v.begin() + v.size() / 2, v.end(), 1.0f); };
      layer.a = add_param(vector_param(2 * c), info, running, master_only);
    }
    if (l.type == "layernorm") {
      // gamma (1) and beta (0), trained like biases, no FP16 copy (docs/training.md).
      add_gamma_beta(layer, i, stem, l.in.c, no_fp16_copy);
    }
    if (l.type == "embed") {
      // The position embeddings pos [T+1][D] (the weight param, N(0, 0.02^2), drawn in
      // param order from the generator of the He-normal weights) and the class token cls [D]
      // (the bias param, 0); no weight decay, no FP16 copy.
      const std::uint32_t tokens = l.out_shape.w, d = l.out_shape.c;
      model::Param pos;
      pos.count = tokens * d;
      pos.cout = tokens;
      pos.taps = 1;
      pos.cin = d;
      pos.decay = 0;
      ParamInfo info;
      info.layer = i;
      info.name = stem + ".weight";
      info.torch_shape = {tokens, d};
      layer.weight = add_param(pos, info, normal(0.02), no_fp16_copy);
      info.bias = true;
      info.name = stem + ".bias";
      info.torch_shape = {d};
      layer.bias = add_param(vector_param(d), info, zeros, no_fp16_copy);
    }
    if (l.type == "attention") {
      layer.a = l.heads;
      layer.b = add_tensor({l.heads, l.in.w, l.in.w, false}, true);  // P and dP / dS per (sample, head)
    }
    if (l.type == "softmax_ce") {
      layer.out = model::kNone;
      h.logits_tensor = layer.in;
    } else if (l.type == "flatten" || l.type == "tokens") {
      model::Tensor view = img.tensors[layer.in];  // the same bytes and gradient, another shape
      view.h = l.out_shape.h;
      view.w = l.out_shape.w;
      view.c = l.out_shape.c;
      img.tensors.push_back(view);
      layer.out = static_cast<std::uint32_t>(img.tensors.size() - 1);
    } else {
      layer.out = add_tensor(l.out_shape, true);
    }
    output[i] = layer.out;
    img.layers.push_back(layer);
  }

  // A tensor several layers read collects their gradient contributions through scratch
  // (a view's output and input, flatten or tokens, are one tensor).
  std::vector<std::uint32_t> alias(img.tensors.size()), readers(img.tensors.size(), 0);
  for (std::uint32_t t = 0; t < alias.size(); ++t) alias[t] = t;
  for (const model::Layer& l : img.layers) {
    if (l.kind == static_cast<std::uint32_t>(model::LayerKind::flatten) ||
        l.kind == static_cast<std::uint32_t>(model::LayerKind::tokens)) {
      alias[l.out] = alias[l.in];
      continue;
    }
    for (const std::uint32_t t : {l.in, l.in2})
      if (t != model::kNone) ++readers[alias[t]];
  }
  // The largest weight param of any layer (as the runtime sizes its kernels' part: batchnorm's
  // and layernorm's gamma and embed's position embeddings count too).
  for (const model::Layer& l : img.layers)
    if (l.weight != model::kNone) largest_weight = std::max<std::uint64_t>(largest_weight, img.params[l.weight].count);
  std::uint64_t shared_gradient = 0;
  for (std::uint32_t t = 0; t < alias.size(); ++t)
    if (readers[alias[t]] > 1) shared_gradient = std::max(shared_gradient, img.tensors[t].elements() * 2);

  // Dataset; the sample order's seed.
  const std::uint64_t image_bytes = std::uint64_t{data.height} * data.width * data.channels;
  h.train_images = layout.take("train images", train.count * image_bytes);
  h.train_labels = layout.take("train labels", train.count);
  h.test_images = layout.take("test images", test.count * image_bytes);
  h.test_labels = layout.take("test labels", test.count);
  h.train_count = train.count;
  h.test_count = test.count;
  h.image_h = data.height, h.image_w = data.width, h.image_c = data.channels, h.classes = data.classes;
  for (std::uint32_t c = 0; c < data.channels; ++c) {
    h.mean[c] = static_cast<float>(data.mean[c]);
    h.stdev[c] = static_cast<float>(data.std[c]);
  }
  img.train_epochs = static_cast<std::uint32_t>((std::uint64_t{iterations} + per_epoch - 1) / per_epoch);
  h.order_seed = w.seed;

  // Scratch: the largest weight in FP32, SDGP's largest compressed dY~, the largest gradient
  // several readers contribute to, and 1 MiB of staging.
  h.scratch_bytes = align_up(4 * largest_weight, kPage) + align_up(sdgp_values, kPage) + align_up(sdgp_indices, kPage) +
                    align_up(shared_gradient, kPage) + kScratchSlack;
  h.scratch = layout.take("scratch", h.scratch_bytes);

  // Result area.
  const std::uint32_t evals = w.eval_interval ? (iterations + w.eval_interval - 1) / w.eval_interval : 1;
  const std::uint64_t profile_bytes = std::uint64_t{h.layer_count + 1} * model::kPassCount * sizeof(model::ProfileRecord);
  const std::uint64_t records_offset = align_up(sizeof(model::ResultHeader), kLine) + align_up(profile_bytes, kLine);
  const std::uint64_t evals_offset = records_offset + align_up(std::uint64_t{iterations} * sizeof(model::IterationRecord), kLine);
  h.result_bytes = evals_offset + std::uint64_t{evals} * sizeof(model::EvalRecord);
  h.result = layout.take("result", h.result_bytes);

  // Snapshots: after iteration 0, every snapshot_interval, after the last.
  h.snapshot_capacity = w.snapshot_interval ? 2 + iterations / w.snapshot_interval : 2;
  h.snapshot_bytes = snapshot_bytes;
  h.snapshots = layout.take("snapshots", h.snapshot_bytes * h.snapshot_capacity);
  img.end = layout.end();

  // Training parameters.
  h.scheme = static_cast<std::uint32_t>(w.scheme);
  h.n = w.n, h.m = w.m;
  h.bwd_mask = static_cast<std::uint32_t>(w.bwd_mask);
  h.batch = batch;
  h.iterations = iterations;
  h.eval_interval = w.eval_interval;
  h.eval_samples = eval_samples;
  h.seed = w.seed;
  h.lr_schedule = static_cast<std::uint32_t>(w.optimizer.schedule);
  h.lr_step = w.optimizer.lr_step;
  h.lr = static_cast<float>(w.optimizer.lr);
  h.momentum = static_cast<float>(w.optimizer.momentum);
  h.weight_decay = static_cast<float>(w.optimizer.weight_decay);
  h.sparse_decay = static_cast<float>(w.sparse_decay);
  h.lr_gamma = static_cast<float>(w.optimizer.lr_gamma);
  h.loss_scale = static_cast<float>(w.loss_scale);
  h.sdgp_rescale = w.sdgp_rescale ? 1 : 0;
  h.snapshot_interval = w.snapshot_interval;

  if (img.end - boot.ddr.base > boot.ddr.size) fail_ddr(w, img.areas, img.end - boot.ddr.base, boot.ddr.size);
  const HostMemory need = estimate_host_memory(img, w, boot);
  if (need.total() > host_limit) fail_host(w, img.areas, need, host_limit);

  img.snapshot_iterations.push_back(0);
  if (w.snapshot_interval)
    for (std::uint64_t t = w.snapshot_interval; t < iterations; t += w.snapshot_interval)
      img.snapshot_iterations.push_back(static_cast<std::uint32_t>(t));
  img.snapshot_iterations.push_back(iterations);
  if (!holds_data) return img;
  if (counts_known(w.dataset)) {
    const std::uint32_t counted_train = train.count, counted_test = test.count;
    load(false);
    if (train.count != counted_train || test.count != counted_test)
      throw UserError(where(w, "dataset.path") + ": " + w.dataset.dir + ": changed while it was read (" +
                      std::to_string(train.count) + " training and " + std::to_string(test.count) +
                      " test samples, " + std::to_string(counted_train) + " and " + std::to_string(counted_test) +
                      " when listed); expected a dataset nothing else writes");
  }
  for (std::size_t i = 0; i < img.params.size(); ++i) {
    img.initial[i].resize(img.params[i].count);
    fills[i](img.initial[i]);
  }
  if (!w.init_weights.empty()) {
    try {
      load_initial_weights(img, w.init_weights);
    } catch (const UserError& e) {  // names the file and what is wrong with it
      throw UserError(where(w, "init_weights") + ": " + e.what());
    }
  }
  img.train_images = std::move(train.images);
  img.train_labels = std::move(train.labels);
  img.test_images = std::move(test.images);
  img.test_labels = std::move(test.labels);
  return img;
}

void write_training_image(const TrainingImage& img, const MemWrite& write) {
  const model::Header& h = img.header;
  assert(img.tensors.size() == h.tensor_count && img.params.size() == h.param_count && "the tables were sized first");
  write(img.model_addr, &h, sizeof h);
  write(h.tensors, img.tensors.data(), img.tensors.size() * sizeof(model::Tensor));
  write(h.params, img.params.data(), img.params.size() * sizeof(model::Param));
  write(h.layers, img.layers.data(), img.layers.size() * sizeof(model::Layer));
  std::vector<std::uint16_t> half;
  std::vector<float> zeros;
  for (std::size_t i = 0; i < img.params.size(); ++i) {
    const model::Param& p = img.params[i];
    const std::vector<float>& master = img.initial[i];
    if (master.empty()) continue;  // a timing image: nothing reads the params
    write(p.master, master.data(), master.size() * 4);
    if (p.momentum) {  // batchnorm's running statistics have a master only
      zeros.assign(p.count, 0.0f);
      write(p.momentum, zeros.data(), zeros.size() * 4);
    }
    if (p.fp16) {
      half.resize(p.count);
      for (std::size_t k = 0; k < half.size(); ++k) half[k] = sat::float_to_fp16(master[k]);
      write(p.fp16, half.data(), half.size() * 2);
    }
  }
  write(h.train_images, img.train_images.data(), img.train_images.size());
  write(h.train_labels, img.train_labels.data(), img.train_labels.size());
  write(h.test_images, img.test_images.data(), img.test_images.size());
  write(h.test_labels, img.test_labels.data(), img.test_labels.size());
  model::ResultHeader result;
  result.iteration_records = iteration_records_addr(img);
  result.eval_records = eval_records_addr(img);
  result.iteration_capacity = h.iterations;
  result.eval_capacity = eval_capacity(img);
  result.profile = profile_addr(img);
  result.profile_rows = h.layer_count + 1;
  write(h.result, &result, sizeof result);
}

// --------------------------------------------------------------------------------- results

std::string TrainingResult::status() const {
  if (!started()) return "not started";
  switch (header.status) {
    case 0: return "running";
    case 1: return "finished";
    case 2: return "failed";
    default: return "unknown status " + std::to_string(header.status);
  }
}

model::ResultHeader read_result_header(const TrainingImage& img, const MemRead& read) {
  model::ResultHeader r;
  read(img.header.result, &r, sizeof r);
  r.message[sizeof r.message - 1] = '\0';
  return r;
}

std::uint64_t profile_addr(const TrainingImage& img) { return img.header.result + align_up(sizeof(model::ResultHeader), kLine); }

std::uint64_t iteration_records_addr(const TrainingImage& img) {
  const std::uint64_t rows = img.header.layer_count + 1;
  return profile_addr(img) + align_up(rows * model::kPassCount * sizeof(model::ProfileRecord), kLine);
}

std::uint64_t eval_records_addr(const TrainingImage& img) {
  return iteration_records_addr(img) + align_up(std::uint64_t{img.header.iterations} * sizeof(model::IterationRecord), kLine);
}

std::uint32_t eval_capacity(const TrainingImage& img) {
  const model::Header& h = img.header;
  return static_cast<std::uint32_t>((h.result + h.result_bytes - eval_records_addr(img)) / sizeof(model::EvalRecord));
}

TrainingResult read_training_result(const TrainingImage& img, const MemRead& read) {
  TrainingResult result;
  result.header = read_result_header(img, read);
  if (!result.started()) return result;
  // The arrays are where the loader put them, at most as many records as it made room for.
  result.iterations.resize(std::min(result.header.iterations_done, img.header.iterations));
  result.evals.resize(std::min(result.header.evals_done, eval_capacity(img)));
  read(iteration_records_addr(img), result.iterations.data(), result.iterations.size() * sizeof(model::IterationRecord));
  read(eval_records_addr(img), result.evals.data(), result.evals.size() * sizeof(model::EvalRecord));
  if (result.header.profile_written) {
    result.profile.resize(std::size_t{img.header.layer_count + 1} * model::kPassCount);
    read(profile_addr(img), result.profile.data(), result.profile.size() * sizeof(model::ProfileRecord));
  }
  return result;
}

std::vector<float> read_master(const TrainingImage& img, std::size_t param, const MemRead& read) {
  const model::Param& p = img.params.at(param);
  std::vector<float> values(p.count);
  read(p.master, values.data(), values.size() * 4);
  return values;
}

std::vector<std::uint8_t> decode_mask(const model::Param& p, std::uint32_t n, std::uint32_t m, bool backward,
                                      const std::uint32_t* index_words) {
  const fw::NmLine line = backward ? model::bwd_line(p, n, m) : model::fwd_line(p, n, m);
  const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
  const std::uint32_t bits = line.index_bits(), words = line.index_words(), entries = line.entries();
  std::vector<std::uint8_t> mask(std::uint64_t{p.cout} * p.taps * p.cin, 0);
  for (std::uint64_t r = 0; r < lines; ++r) {
    const std::uint32_t* stream = index_words + r * words;
    for (std::uint32_t e = 0; e < entries; ++e) {
      const std::uint32_t position = line.position(e, fw::nm_index(stream, e, bits));
      if (position >= line.length) continue;
      std::uint64_t co, tap, ci;
      if (backward) co = position, tap = r / p.cin, ci = r % p.cin;
      else co = r / p.taps, tap = r % p.taps, ci = position;
      mask[(co * p.taps + tap) * p.cin + ci] = 1;
    }
  }
  return mask;
}

ParamSnapshot read_snapshot(const TrainingImage& img, std::size_t snapshot, std::size_t param, const MemRead& read) {
  const model::Header& h = img.header;
  std::uint64_t addr = h.snapshots + snapshot * h.snapshot_bytes;
  for (std::size_t i = 0; i < param; ++i) addr += model::param_snapshot_bytes(img.params[i], h.n, h.m);
  const model::Param& p = img.params.at(param);
  ParamSnapshot s;
  s.master.resize(p.count);
  read(addr, s.master.data(), s.master.size() * 4);
  addr += std::uint64_t{p.count} * 4;
  std::vector<std::uint32_t> words;
  const auto form = [&](bool backward, std::vector<std::uint8_t>& mask) {
    const fw::NmLine line = backward ? model::bwd_line(p, h.n, h.m) : model::fwd_line(p, h.n, h.m);
    const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
    addr += model::values_bytes(lines, line);
    const std::uint64_t index_bytes = model::index_bytes(lines, line);
    words.resize(index_bytes / 4);
    read(addr, words.data(), index_bytes);
    addr += index_bytes;
    mask = decode_mask(p, h.n, h.m, backward, words.data());
  };
  if (p.fwd_values) form(false, s.fwd_mask);
  if (p.bwd_values) form(true, s.bwd_mask);
  // Nested: Mb = nm_mask_cols(W * Mf) * Mf. W~^T keeps N entries per group of W * Mf; where a
  // group has fewer than N weights inside Mf, the rest are zeros outside it.
  if (h.bwd_mask == static_cast<std::uint32_t>(model::BwdMask::nested) && !s.fwd_mask.empty())
    for (std::size_t k = 0; k < s.bwd_mask.size(); ++k) s.bwd_mask[k] &= s.fwd_mask[k];
  return s;
}

namespace {

// Conv weights between the hardware's OHWI and PyTorch's OIHW; everything else is the same.
std::vector<float> convert_layout(const ParamInfo& info, const model::Param& p, const std::vector<float>& from,
                                  bool to_torch) {
  if (info.bias || info.torch_shape.size() != 4) return from;
  const std::uint32_t k = info.kernel;
  std::vector<float> out(from.size());
  for (std::uint32_t o = 0; o < p.cout; ++o)
    for (std::uint32_t kh = 0; kh < k; ++kh)
      for (std::uint32_t kw = 0; kw < k; ++kw)
        for (std::uint32_t i = 0; i < p.cin; ++i) {
          const std::uint64_t torch = ((std::uint64_t{o} * p.cin + i) * k + kh) * k + kw;
          const std::uint64_t hw = ((std::uint64_t{o} * k + kh) * k + kw) * p.cin + i;
          if (to_torch) out[torch] = from[hw];
          else out[hw] = from[torch];
        }
  return out;
}

}  // namespace

std::vector<float> to_torch_layout(const ParamInfo& info, const model::Param& p, const std::vector<float>& hw) {
  return convert_layout(info, p, hw, true);
}

void load_initial_weights(TrainingImage& image, const std::string& dir) {
  std::size_t loaded = 0;
  for (std::size_t i = 0; i < image.params.size(); ++i) {
    const ParamInfo& info = image.param_info[i];
    const std::filesystem::path path = std::filesystem::path(dir) / (info.name + ".npy");
    if (!std::filesystem::exists(path)) continue;
    // The largest file the param's shape allows: NPY 1.0's longest header (64 KiB) and FP32 values.
    std::uint64_t values = 1;
    for (const std::size_t d : info.torch_shape) values *= d;
    const NpyArray array = read_npy(path.string(), (std::uint64_t{1} << 16) + 16 + 4 * values);
    if (array.shape != info.torch_shape) {
      std::string want, got;
      for (const std::size_t d : info.torch_shape) want += (want.empty() ? "" : " x ") + std::to_string(d);
      for (const std::size_t d : array.shape) got += (got.empty() ? "" : " x ") + std::to_string(d);
      throw UserError(path.string() + ": shape " + got + "; expected " + want + " for " + info.name +
                      " (PyTorch layout, as satvp exports it)");
    }
    image.initial[i] = convert_layout(info, image.params[i], array.data, false);
    ++loaded;
  }
  if (loaded == 0)
    throw UserError(dir + " holds none of this network's parameter files; expected files such as " +
                    image.param_info.front().name + ".npy (the names satvp writes in a run's weights/)");
}

// --------------------------------------------------------------------------------- export

namespace {

std::string wall(double seconds) {
  char text[48];
  if (seconds < 60) std::snprintf(text, sizeof text, "%.1f s", seconds);
  else std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds / 60), static_cast<int>(seconds) % 60);
  return text;
}

std::string percent(float fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100.0 * fraction);
  return text;
}

std::string fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

void create_dir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw OutputError(dir.string(), "cannot create the directory: " + error.message());
}

std::vector<std::size_t> mask_shape(const ParamInfo& info, const model::Param& p) {
  if (info.torch_shape.size() == 4) return {p.cout, info.kernel, info.kernel, p.cin};
  return {p.cout, p.cin};
}

double ps_to_us(std::uint64_t ps) { return static_cast<double>(ps) * 1e-6; }

// A param's values as .npy in `dir`: PyTorch layout; batchnorm's running statistics as
// running_mean and running_var, as PyTorch's state_dict has them.
void write_param(const fs::path& dir, const ParamInfo& info, const model::Param& p, const std::vector<float>& values) {
  if (info.running) {
    const std::string stem = info.name.substr(0, info.name.rfind('.'));
    const std::size_t c = values.size() / 2;
    write_npy((dir / (stem + ".running_mean.npy")).string(), values.data(), {c});
    write_npy((dir / (stem + ".running_var.npy")).string(), values.data() + c, {c});
    return;
  }
  const std::vector<float> torch = to_torch_layout(info, p, values);
  write_npy((dir / (info.name + ".npy")).string(), torch.data(), info.torch_shape);
}

}  // namespace

void write_npy_u8(const std::string& path, const std::uint8_t* data, const std::vector<std::size_t>& shape) {
  std::string dims;
  std::size_t count = 1;
  for (const std::size_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (a, b); a 1-D shape keeps "(a,)"
  else if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;  // magic, version, length, header, '\n'
  header.append(align_up(unpadded, 64) - unpadded, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(data), count);
  write_text_atomically(path, bytes);
}

std::string progress_line(const TrainingImage& img, std::uint32_t done, const model::IterationRecord& last,
                          const model::EvalRecord* latest_eval, double wall_seconds, double eta_seconds,
                          bool computed) {
  const std::string total = std::to_string(img.header.iterations);
  std::string count = std::to_string(done);
  count.insert(0, total.size() > count.size() ? total.size() - count.size() : 0, ' ');
  const std::string figures =
      !computed ? "  (timing mode: no loss or accuracy)"
                : "  loss " + fixed(last.loss, 4) + "  batch acc " + percent(last.accuracy) + "  test acc " +
                      (latest_eval ? percent(latest_eval->accuracy) + " (at " + std::to_string(latest_eval->iteration) + ")"
                                   : std::string("-"));
  return "train: iteration " + count + "/" + total + figures + "  sim " +
         duration(static_cast<double>(last.end_ps) * 1e-12) + "  wall " + wall(wall_seconds) + "  ETA " +
         wall(eta_seconds);
}

std::string export_training(const TrainingImage& img, const TrainingResult& result, const MemRead& read,
                            const fs::path& dir, const TrainingRunInfo& info) {
  const model::Header& h = img.header;
  CsvWriter metrics((dir / "metrics.csv").string(), {"iteration", "loss", "accuracy", "lr", "sim_time_us"});
  for (const model::IterationRecord& r : result.iterations)
    metrics.row({r.iteration, r.loss, r.accuracy, r.lr, ps_to_us(r.end_ps)});
  metrics.finish();
  CsvWriter evals((dir / "eval.csv").string(), {"iteration", "samples", "loss", "accuracy", "sim_time_us"});
  for (const model::EvalRecord& r : result.evals) evals.row({r.iteration, r.samples, r.loss, r.accuracy, ps_to_us(r.end_ps)});
  evals.finish();

  // Weights and snapshots carry data only when the engines computed some.
  const bool data = info.mode != "timing" && result.started();
  std::size_t snapshots = 0;
  if (data) {
    create_dir(dir / "weights");
    for (std::size_t i = 0; i < img.params.size(); ++i)
      write_param(dir / "weights", img.param_info[i], img.params[i], read_master(img, i, read));
    const bool finished = result.header.status == 1;
    for (std::size_t k = 0; k < img.snapshot_iterations.size() && k < h.snapshot_capacity; ++k) {
      const std::uint32_t t = img.snapshot_iterations[k];
      if (!finished && t >= result.header.iterations_done) break;  // not written (yet)
      const fs::path sub = dir / "snapshots" / ("iter_" + std::to_string(t));
      create_dir(sub);
      for (std::size_t i = 0; i < img.params.size(); ++i) {
        const ParamInfo& pi = img.param_info[i];
        const model::Param& p = img.params[i];
        const ParamSnapshot s = read_snapshot(img, k, i, read);
        write_param(sub, pi, p, s.master);
        const std::string stem = pi.name.substr(0, pi.name.rfind('.'));
        if (!s.fwd_mask.empty())
          write_npy_u8((sub / (stem + ".fwd_mask.npy")).string(), s.fwd_mask.data(), mask_shape(pi, p));
        if (!s.bwd_mask.empty())
          write_npy_u8((sub / (stem + ".bwd_mask.npy")).string(), s.bwd_mask.data(), mask_shape(pi, p));
      }
      ++snapshots;
    }
  }

  const model::TimeBreakdown& t = result.header.time;
  const model::EvalRecord* final_eval = result.evals.empty() ? nullptr : &result.evals.back();
  const model::IterationRecord* last = result.iterations.empty() ? nullptr : &result.iterations.back();
  const std::string nm = std::to_string(h.n) + ":" + std::to_string(h.m);
  std::ostringstream json;
  json << "{\n"
       << "  \"workload\": " << json_string(info.workload) << ",\n"
       << "  \"mode\": " << json_string(info.mode) << ",\n"
       << "  \"scheme\": " << json_string(to_string(static_cast<model::Scheme>(h.scheme))) << ",\n"
       << "  \"nm\": " << json_string(nm) << ",\n"
       << "  \"status\": " << json_string(result.status()) << ",\n"
       << "  \"message\": " << json_string(result.header.message) << ",\n"
       << "  \"batch\": " << h.batch << ",\n"
       << "  \"iterations\": " << h.iterations << ",\n"
       << "  \"iterations_done\": " << result.iterations.size() << ",\n"
       << "  \"evals_done\": " << result.evals.size() << ",\n"
       << "  \"train_samples\": " << h.train_count << ",\n"
       << "  \"test_samples\": " << h.test_count << ",\n"
       << "  \"final_eval\": ";
  if (final_eval)
    json << "{\"iteration\": " << final_eval->iteration << ", \"samples\": " << final_eval->samples
         << ", \"loss\": " << json_number(final_eval->loss) << ", \"accuracy\": " << json_number(final_eval->accuracy)
         << "},\n";
  else json << "null,\n";
  json << "  \"last_batch\": ";
  if (last)
    json << "{\"iteration\": " << last->iteration << ", \"loss\": " << json_number(last->loss)
         << ", \"accuracy\": " << json_number(last->accuracy) << "},\n";
  else json << "null,\n";
  json << "  \"simulated_time_us\": " << json_number(info.simulated_seconds * 1e6) << ",\n"
       << "  \"time_us\": {\"stce\": " << json_number(ps_to_us(t.stce_ps)) << ", \"osre\": "
       << json_number(ps_to_us(t.osre_ps)) << ", \"wuve\": " << json_number(ps_to_us(t.wuve_ps))
       << ", \"dma\": " << json_number(ps_to_us(t.dma_ps)) << ", \"host\": " << json_number(ps_to_us(t.host_ps)) << "},\n"
       << "  \"wall_seconds\": " << json_number(info.wall_seconds) << ",\n"
       << "  \"load_seconds\": " << json_number(info.load_seconds) << ",\n"
       << "  \"snapshots\": " << snapshots << "\n"
       << "}\n";
  write_text_atomically(dir / "training.json", json.str());

  std::ostringstream s;
  s << "\ntraining: " << result.status() << ", " << result.iterations.size() << " of " << h.iterations
    << " iterations (batch " << h.batch << ", " << to_string(static_cast<model::Scheme>(h.scheme)) << " " << nm << ", "
    << info.mode << ")\n";
  if (result.header.status == 2) s << "  firmware error      " << result.header.message << "\n";
  if (final_eval)
    s << "  final test          accuracy " << percent(final_eval->accuracy) << ", loss " << fixed(final_eval->loss, 4)
      << " (" << final_eval->samples << " samples, after iteration " << final_eval->iteration << ")\n";
  if (last)
    s << "  last batch          accuracy " << percent(last->accuracy) << ", loss " << fixed(last->loss, 4) << "\n";
  s << "  simulated time      " << duration(info.simulated_seconds) << ": STCE " << duration(t.stce_ps * 1e-12)
    << ", OSRE " << duration(t.osre_ps * 1e-12) << ", WUVE " << duration(t.wuve_ps * 1e-12) << ", DMA "
    << duration(t.dma_ps * 1e-12) << ", host " << duration(t.host_ps * 1e-12) << "\n"
    << "  wall time           " << wall(info.wall_seconds) << " (loading " << wall(info.load_seconds) << ")\n"
    << "  exported            metrics.csv, eval.csv, training.json";
  if (data) s << ", weights/ (" << img.params.size() << " arrays), snapshots/ (" << snapshots << ")";
  s << "\n";
  return s.str();
}

}  // namespace cestvp
