#include "loader/training_image.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include <cestvp/fp16.h>
#include <cestvp/sat_abi.h>

#include "config/user_error.h"
#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/npy.h"
#include "ddr.h"

namespace cestvp {

namespace model = fw::model;

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
    const bool conv = l.catalogue().kind == model::LayerKind::conv2d;
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

// ---------------------------------------------------------------------------- the image

namespace {

// Lays out one TrainingImage in address order, one part per step, the layers' tensors and
// params as the layer catalogue says (cestvp/layer_catalogue.h). A param's initial values are
// a fill that runs only once the image is known to fit DDR and the host, so that a network too
// large for them is rejected before they are allocated; the fills run in param order, so that
// the random draws come in that order.
class ImageBuilder {
 public:
  ImageBuilder(const TrainWorkload& w, const fw::BootInfo& boot)
      : w_(w), boot_(boot), layout_(boot.ddr.base + model::kModelOffset, img_.areas), init_rng_(~std::uint64_t{w.seed}) {
    img_.model_addr = boot.ddr.base + model::kModelOffset;
  }

  TrainingImage build(std::uint64_t host_limit) {
    // Counts first: a synthetic set or an image folder is generated or decoded only once the
    // run is known to fit DDR and the host's memory.
    load(!holds_data() || counts_known(w_.dataset));
    count_iterations();
    lay_out_tables();
    lay_out_layers();
    lay_out_dataset();
    lay_out_scratch();
    lay_out_results();
    lay_out_snapshots();
    img_.end = layout_.end();
    set_training_header();
    if (img_.end - boot_.ddr.base > boot_.ddr.size) fail_ddr(w_, img_.areas, img_.end - boot_.ddr.base, boot_.ddr.size);
    const HostMemory need = estimate_host_memory(img_, w_, boot_);
    if (need.total() > host_limit) fail_host(w_, img_.areas, need, host_limit);
    list_snapshots();
    if (holds_data()) fill_data();
    return std::move(img_);
  }

 private:
  using Fill = std::function<void(std::vector<float>&)>;
  // A param's buffers: master only for batchnorm's running statistics; no FP16 copy for the
  // host-only parameters of embed and layernorm (the firmware reads their masters).
  enum Buffers { master_only, no_fp16_copy, all_buffers };

  // A timing run computes nothing: the firmware reads neither the samples nor the initial
  // values (its host work and the engines' data paths are skipped), so the image holds neither.
  bool holds_data() const { return w_.mode != "timing"; }

  void load(bool counts_only) {
    try {
      load_dataset(w_, counts_only, train_, test_);
    } catch (const UserError& e) {  // names the file and what is wrong with it
      const char* key = w_.dataset.name == "synthetic" ? "dataset.synthetic" : "dataset.path";
      throw UserError(where(w_, key) + ": " + e.what());
    }
  }

  void count_iterations() {
    const std::uint32_t batch = w_.batch;
    per_epoch_ = train_.count / batch;
    if (per_epoch_ == 0)
      throw UserError(where(w_, "batch") + ": dataset " + w_.dataset.name + " has " + std::to_string(train_.count) +
                      " training samples, fewer than one batch of " + std::to_string(batch) +
                      "; expected a batch of at most " + std::to_string(train_.count));
    iterations_ = w_.iterations ? w_.iterations
                                : static_cast<std::uint32_t>(
                                      std::min<std::uint64_t>(std::uint64_t{w_.epochs} * per_epoch_, 100'000'000));
    eval_samples_ = w_.eval_samples ? w_.eval_samples : test_.count;
    if (eval_samples_ > test_.count)
      throw UserError(where(w_, "eval_samples") + ": " + std::to_string(eval_samples_) + " is more than the " +
                      std::to_string(test_.count) + " test samples read from " +
                      (w_.dataset.test_files.empty() ? w_.dataset.name : w_.dataset.test_files[0]) +
                      "; expected at most " + std::to_string(test_.count));
  }

  // The tables come before everything else: their sizes from the catalogue, before the layers.
  void lay_out_tables() {
    std::uint32_t tensor_count = 1, param_count = 0;  // tensor 0: the input batch
    for (const TrainLayer& l : w_.layers) {
      const model::LayerType& type = l.catalogue();
      tensor_count += (type.output ? 1 : 0) + type.extra_tensors;
      param_count += model::param_count(type, l.bias);
    }
    const auto layer_count = static_cast<std::uint32_t>(w_.layers.size());
    model::Header& h = img_.header;
    layout_.take("tables: header", sizeof(model::Header), kLine);
    h.tensors = layout_.take("tables: tensors", sizeof(model::Tensor) * tensor_count, kLine);
    h.params = layout_.take("tables: params", sizeof(model::Param) * param_count, kLine);
    h.layers = layout_.take("tables: layers", sizeof(model::Layer) * layer_count, kLine);
    h.tensor_count = tensor_count;
    h.param_count = param_count;
    h.layer_count = layer_count;
  }

  std::uint32_t add_tensor(const FeatureShape& s, bool gradient) {
    model::Tensor t;
    t.n = w_.batch, t.h = s.h, t.w = s.w, t.c = s.c;
    const std::string name = "tensor " + std::to_string(img_.tensors.size());
    t.addr = layout_.take(name, t.elements() * 2);
    if (gradient) t.grad_addr = layout_.take(name + " gradient", t.elements() * 2);
    img_.tensors.push_back(t);
    return static_cast<std::uint32_t>(img_.tensors.size() - 1);
  }

  // A param: its buffers, its initial values, and what the platform knows about it.
  std::uint32_t add_param(model::Param p, ParamInfo info, Fill fill, Buffers buffers) {
    const std::string name = "param " + std::to_string(img_.params.size()) + " (" + info.name + ")";
    p.master = layout_.take(name + " master", std::uint64_t{p.count} * 4);
    if (buffers != master_only) {
      p.momentum = layout_.take(name + " momentum", std::uint64_t{p.count} * 4);
      p.grad = layout_.take(name + " gradient", std::uint64_t{p.count} * 2);
    }
    if (buffers == all_buffers) p.fp16 = layout_.take(name + " fp16", std::uint64_t{p.count} * 2);
    const bool compressed = info.sparse && !info.bias;
    if (compressed && (w_.scheme == model::Scheme::srste || w_.scheme == model::Scheme::bdwp)) {
      const fw::NmLine line = model::fwd_line(p, w_.n, w_.m);
      p.fwd_values = layout_.take(name + " fwd values", model::values_bytes(model::fwd_lines(p), line));
      p.fwd_indices = layout_.take(name + " fwd indices", model::index_bytes(model::fwd_lines(p), line));
    }
    if (compressed && w_.scheme == model::Scheme::bdwp) {
      const fw::NmLine line = model::bwd_line(p, w_.n, w_.m);
      p.bwd_values = layout_.take(name + " bwd values", model::values_bytes(model::bwd_lines(p), line));
      p.bwd_indices = layout_.take(name + " bwd indices", model::index_bytes(model::bwd_lines(p), line));
    }
    snapshot_bytes_ += model::param_snapshot_bytes(p, w_.n, w_.m);
    img_.params.push_back(p);
    img_.param_info.push_back(std::move(info));
    img_.initial.emplace_back();
    fills_.push_back(std::move(fill));
    return static_cast<std::uint32_t>(img_.params.size() - 1);
  }

  static model::Param vector_param(std::uint32_t count) {
    model::Param p;
    p.count = p.cout = count;
    p.taps = p.cin = 1;
    p.decay = 0;
    return p;
  }

  static ParamInfo param_info(std::uint32_t layer, std::string name, std::vector<std::size_t> torch_shape) {
    ParamInfo info;
    info.layer = layer;
    info.name = std::move(name);
    info.torch_shape = std::move(torch_shape);
    return info;
  }

  Fill normal(double stddev) {
    return [this, stddev](std::vector<float>& v) { normal_values(init_rng_, stddev, v.data(), v.size()); };
  }
  static void zeros(std::vector<float>&) {}
  static void ones(std::vector<float>& v) { std::fill(v.begin(), v.end(), 1.0f); }

  // conv2d, linear: the weight (He normal), a bias (0) with `bias: true`; N:M sparse as
  // sparse_layers says.
  void add_weight_bias(const TrainLayer& l, std::uint32_t i, const std::string& stem, model::Layer& layer) {
    const bool sparse = sparse_[i];
    if (sparse) layer.flags |= model::kLayerSparse;
    const bool conv = l.catalogue().kind == model::LayerKind::conv2d;
    const std::uint32_t kernel = conv ? l.kernel : 1;
    model::Param p;
    p.cout = l.out;
    p.taps = kernel * kernel;
    p.cin = l.in.c;
    p.count = p.cout * p.taps * p.cin;
    p.decay = 1;
    ParamInfo info = param_info(i, stem + ".weight",
                                conv ? std::vector<std::size_t>{p.cout, p.cin, kernel, kernel}
                                     : std::vector<std::size_t>{p.cout, p.cin});
    info.kernel = kernel;
    info.sparse = sparse;
    layer.weight = add_param(p, info, normal(std::sqrt(2.0 / (std::uint64_t{p.taps} * p.cin))), all_buffers);
    if (l.bias) {
      ParamInfo b = param_info(i, stem + ".bias", {l.out});
      b.bias = true;
      layer.bias = add_param(vector_param(l.out), b, zeros, all_buffers);
    }
    if (sparse && w_.scheme == model::Scheme::sdgp && conv) {
      // dY~ of the layer: one line of Cout per output position.
      const std::uint64_t lines = std::uint64_t{w_.batch} * l.out_shape.h * l.out_shape.w;
      const fw::NmLine line{l.out, l.out, w_.n, w_.m};
      sdgp_values_ = std::max(sdgp_values_, model::values_bytes(lines, line));
      sdgp_indices_ = std::max(sdgp_indices_, model::index_bytes(lines, line));
    }
  }

  // A normalisation layer's gamma (ones) and beta (zeros) over c features, trained like biases.
  void add_gamma_beta(model::Layer& layer, std::uint32_t i, const std::string& stem, std::uint32_t c,
                      Buffers buffers) {
    ParamInfo info = param_info(i, stem + ".weight", {c});
    layer.weight = add_param(vector_param(c), info, ones, buffers);
    info.bias = true;
    info.name = stem + ".bias";
    layer.bias = add_param(vector_param(c), info, zeros, buffers);
  }

  // batchnorm's running mean (0) and variance (1): FP32 state the runtime updates itself
  // (docs/training.md).
  void add_running_statistics(model::Layer& layer, std::uint32_t i, const std::string& stem, std::uint32_t c) {
    ParamInfo info = param_info(i, stem + ".running", {2, c});
    info.running = true;
    const Fill running = [](std::vector<float>& v) { std::fill(v.begin() + v.size() / 2, v.end(), 1.0f); };
    layer.a = add_param(vector_param(2 * c), info, running, master_only);
  }

  // embed: the position embeddings pos [T+1][D] (the weight param, N(0, 0.02^2), drawn in
  // param order from the generator of the He-normal weights) and the class token cls [D] (the
  // bias param, 0); no weight decay, no FP16 copy.
  void add_position_class(const TrainLayer& l, std::uint32_t i, const std::string& stem, model::Layer& layer) {
    const std::uint32_t tokens = l.out_shape.w, d = l.out_shape.c;
    model::Param pos;
    pos.count = tokens * d;
    pos.cout = tokens;
    pos.taps = 1;
    pos.cin = d;
    pos.decay = 0;
    ParamInfo info = param_info(i, stem + ".weight", {tokens, d});
    layer.weight = add_param(pos, info, normal(0.02), no_fp16_copy);
    info.bias = true;
    info.name = stem + ".bias";
    info.torch_shape = {d};
    layer.bias = add_param(vector_param(d), info, zeros, no_fp16_copy);
  }

  void add_params(const TrainLayer& l, std::uint32_t i, model::Layer& layer) {
    const std::string stem = std::to_string(i) + "_" + l.type;
    switch (l.catalogue().params) {
      case model::LayerParams::none: return;
      case model::LayerParams::weight_bias: return add_weight_bias(l, i, stem, layer);
      case model::LayerParams::gamma_beta: return add_gamma_beta(layer, i, stem, l.in.c, no_fp16_copy);
      case model::LayerParams::gamma_beta_running:
        add_gamma_beta(layer, i, stem, l.in.c, all_buffers);
        return add_running_statistics(layer, i, stem, l.in.c);
      case model::LayerParams::position_class: return add_position_class(l, i, stem, layer);
    }
  }

  // The kind-specific fields a..d (model.h, LayerKind) and the tensors a kind owns besides its
  // output.
  void add_kind_fields(const TrainLayer& l, model::Layer& layer) {
    switch (l.catalogue().kind) {
      case model::LayerKind::conv2d: layer.a = layer.b = l.kernel, layer.c = l.stride, layer.d = l.padding; return;
      case model::LayerKind::maxpool:
      case model::LayerKind::avgpool: layer.a = l.kernel, layer.c = l.stride; return;
      case model::LayerKind::attention:
        layer.a = l.heads;
        layer.b = add_tensor({l.heads, l.in.w, l.in.w, false}, true);  // P and dP / dS per (sample, head)
        return;
      case model::LayerKind::batchnorm:  // a: its running statistics (add_params)
      case model::LayerKind::linear:
      case model::LayerKind::relu:
      case model::LayerKind::flatten:
      case model::LayerKind::softmax_ce:
      case model::LayerKind::add:
      case model::LayerKind::tokens:
      case model::LayerKind::embed:
      case model::LayerKind::layernorm:
      case model::LayerKind::gelu:
      case model::LayerKind::cls_token: return;
    }
  }

  // The loss has no output tensor (its input is the logits); a view's output is its input's
  // bytes and gradient under another shape.
  void add_output(const TrainLayer& l, model::Layer& layer) {
    const model::LayerType& type = l.catalogue();
    if (!type.output) {
      layer.out = model::kNone;
      img_.header.logits_tensor = layer.in;
    } else if (type.view) {
      model::Tensor view = img_.tensors[layer.in];
      view.h = l.out_shape.h;
      view.w = l.out_shape.w;
      view.c = l.out_shape.c;
      img_.tensors.push_back(view);
      layer.out = static_cast<std::uint32_t>(img_.tensors.size() - 1);
    } else {
      layer.out = add_tensor(l.out_shape, true);
    }
  }

  std::uint32_t tensor_of(int layer) const {
    return layer < 0 ? img_.header.input_tensor : img_.layers[static_cast<std::size_t>(layer)].out;
  }

  // Tensors: the input batch, then per layer its params, the tensors it owns and its output.
  void lay_out_layers() {
    const TrainDataset& data = w_.dataset;
    img_.header.input_tensor = add_tensor({data.height, data.width, data.channels, false}, false);
    sparse_ = sparse_layers(w_);
    for (const std::string& warning : nm_tail_warnings(w_)) std::cerr << "satvp: warning: " << warning << "\n";
    for (std::uint32_t i = 0; i < w_.layers.size(); ++i) {
      const TrainLayer& l = w_.layers[i];
      model::Layer layer;
      layer.kind = static_cast<std::uint32_t>(l.catalogue().kind);
      layer.in = tensor_of(l.from);
      if (l.catalogue().second_input) layer.in2 = tensor_of(l.with_from);
      add_params(l, i, layer);
      add_kind_fields(l, layer);
      add_output(l, layer);
      img_.layers.push_back(layer);
    }
    // The tables were sized from the catalogue (lay_out_tables): a row that disagrees with
    // what add_* made would write past them.
    if (img_.tensors.size() != img_.header.tensor_count || img_.params.size() != img_.header.param_count)
      throw std::logic_error("the layer catalogue's tensor or param counts disagree with the image built from it");
  }

  void lay_out_dataset() {
    const TrainDataset& data = w_.dataset;
    model::Header& h = img_.header;
    const std::uint64_t image_bytes = std::uint64_t{data.height} * data.width * data.channels;
    h.train_images = layout_.take("train images", train_.count * image_bytes);
    h.train_labels = layout_.take("train labels", train_.count);
    h.test_images = layout_.take("test images", test_.count * image_bytes);
    h.test_labels = layout_.take("test labels", test_.count);
    h.train_count = train_.count;
    h.test_count = test_.count;
    h.image_h = data.height, h.image_w = data.width, h.image_c = data.channels, h.classes = data.classes;
    for (std::uint32_t c = 0; c < data.channels; ++c) {
      h.mean[c] = static_cast<float>(data.mean[c]);
      h.stdev[c] = static_cast<float>(data.std[c]);
    }
    img_.train_epochs = static_cast<std::uint32_t>((std::uint64_t{iterations_} + per_epoch_ - 1) / per_epoch_);
    h.order_seed = w_.seed;  // the sample order's
  }

  // The largest gradient several layers contribute to, FP16 bytes: they collect it through
  // scratch (a view's output and input, flatten or tokens, are one tensor).
  std::uint64_t shared_gradient_bytes() const {
    std::vector<std::uint32_t> alias(img_.tensors.size()), readers(img_.tensors.size(), 0);
    for (std::uint32_t t = 0; t < alias.size(); ++t) alias[t] = t;
    for (const model::Layer& l : img_.layers) {
      if (model::layer_type(static_cast<model::LayerKind>(l.kind)).view) {
        alias[l.out] = alias[l.in];
        continue;
      }
      for (const std::uint32_t t : {l.in, l.in2})
        if (t != model::kNone) ++readers[alias[t]];
    }
    std::uint64_t bytes = 0;
    for (std::uint32_t t = 0; t < alias.size(); ++t)
      if (readers[alias[t]] > 1) bytes = std::max(bytes, img_.tensors[t].elements() * 2);
    return bytes;
  }

  // Scratch: the largest weight in FP32 (any layer's weight param, as the runtime sizes its
  // kernels' part: batchnorm's and layernorm's gamma and embed's position embeddings count
  // too), SDGP's largest compressed dY~, the largest shared gradient, and 1 MiB of staging.
  void lay_out_scratch() {
    std::uint64_t largest_weight = 0;
    for (const model::Layer& l : img_.layers)
      if (l.weight != model::kNone) largest_weight = std::max<std::uint64_t>(largest_weight, img_.params[l.weight].count);
    model::Header& h = img_.header;
    h.scratch_bytes = align_up(4 * largest_weight, kPage) + align_up(sdgp_values_, kPage) +
                      align_up(sdgp_indices_, kPage) + align_up(shared_gradient_bytes(), kPage) + kScratchSlack;
    h.scratch = layout_.take("scratch", h.scratch_bytes);
  }

  void lay_out_results() {
    model::Header& h = img_.header;
    const std::uint32_t evals = w_.eval_interval ? (iterations_ + w_.eval_interval - 1) / w_.eval_interval : 1;
    const std::uint64_t profile_bytes = std::uint64_t{h.layer_count + 1} * model::kPassCount * sizeof(model::ProfileRecord);
    const std::uint64_t records_offset = align_up(sizeof(model::ResultHeader), kLine) + align_up(profile_bytes, kLine);
    const std::uint64_t evals_offset =
        records_offset + align_up(std::uint64_t{iterations_} * sizeof(model::IterationRecord), kLine);
    h.result_bytes = evals_offset + std::uint64_t{evals} * sizeof(model::EvalRecord);
    h.result = layout_.take("result", h.result_bytes);
  }

  // After iteration 0, every snapshot_interval, after the last.
  void lay_out_snapshots() {
    model::Header& h = img_.header;
    h.snapshot_capacity = w_.snapshot_interval ? 2 + iterations_ / w_.snapshot_interval : 2;
    h.snapshot_bytes = snapshot_bytes_;
    h.snapshots = layout_.take("snapshots", h.snapshot_bytes * h.snapshot_capacity);
  }

  void set_training_header() {
    model::Header& h = img_.header;
    h.scheme = static_cast<std::uint32_t>(w_.scheme);
    h.n = w_.n, h.m = w_.m;
    h.bwd_mask = static_cast<std::uint32_t>(w_.bwd_mask);
    h.batch = w_.batch;
    h.iterations = iterations_;
    h.eval_interval = w_.eval_interval;
    h.eval_samples = eval_samples_;
    h.seed = w_.seed;
    h.lr_schedule = static_cast<std::uint32_t>(w_.optimizer.schedule);
    h.lr_step = w_.optimizer.lr_step;
    h.lr = static_cast<float>(w_.optimizer.lr);
    h.momentum = static_cast<float>(w_.optimizer.momentum);
    h.weight_decay = static_cast<float>(w_.optimizer.weight_decay);
    h.sparse_decay = static_cast<float>(w_.sparse_decay);
    h.lr_gamma = static_cast<float>(w_.optimizer.lr_gamma);
    h.loss_scale = static_cast<float>(w_.loss_scale);
    h.sdgp_rescale = w_.sdgp_rescale ? 1 : 0;
    h.snapshot_interval = w_.snapshot_interval;
  }

  void list_snapshots() {
    img_.snapshot_iterations.push_back(0);
    if (w_.snapshot_interval)
      for (std::uint64_t t = w_.snapshot_interval; t < iterations_; t += w_.snapshot_interval)
        img_.snapshot_iterations.push_back(static_cast<std::uint32_t>(t));
    img_.snapshot_iterations.push_back(iterations_);
  }

  // The samples (a synthetic set or an image folder only now), the initial values, and the
  // files of init_weights.
  void fill_data() {
    if (counts_known(w_.dataset)) {
      const std::uint32_t counted_train = train_.count, counted_test = test_.count;
      load(false);
      if (train_.count != counted_train || test_.count != counted_test)
        throw UserError(where(w_, "dataset.path") + ": " + w_.dataset.dir + ": changed while it was read (" +
                        std::to_string(train_.count) + " training and " + std::to_string(test_.count) +
                        " test samples, " + std::to_string(counted_train) + " and " + std::to_string(counted_test) +
                        " when listed); expected a dataset nothing else writes");
    }
    for (std::size_t i = 0; i < img_.params.size(); ++i) {
      img_.initial[i].resize(img_.params[i].count);
      fills_[i](img_.initial[i]);
    }
    if (!w_.init_weights.empty()) {
      try {
        load_initial_weights(img_, w_.init_weights);
      } catch (const UserError& e) {  // names the file and what is wrong with it
        throw UserError(where(w_, "init_weights") + ": " + e.what());
      }
    }
    img_.train_images = std::move(train_.images);
    img_.train_labels = std::move(train_.labels);
    img_.test_images = std::move(test_.images);
    img_.test_labels = std::move(test_.labels);
  }

  const TrainWorkload& w_;
  const fw::BootInfo& boot_;
  TrainingImage img_;
  Layout layout_;
  Split train_, test_;
  std::uint32_t per_epoch_ = 0, iterations_ = 0, eval_samples_ = 0;
  std::vector<bool> sparse_;  // per layer: sparse_layers
  SplitMix64 init_rng_;
  std::vector<Fill> fills_;  // per param
  std::uint64_t sdgp_values_ = 0, sdgp_indices_ = 0, snapshot_bytes_ = 0;
};

}  // namespace

TrainingImage build_training_image(const TrainWorkload& w, const fw::BootInfo& boot, std::uint64_t host_limit) {
  return ImageBuilder(w, boot).build(host_limit);
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
      for (std::size_t k = 0; k < half.size(); ++k) half[k] = fw::float_to_half(master[k]);
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

// The result area's parts (training_image.h).

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

}  // namespace cestvp
