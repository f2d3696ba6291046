#include "loader/workload.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <cestvp/sat_mode.h>

#include "config/config.h"
#include "config/user_error.h"
#include "config/yaml_reader.h"
#include "data/dataset.h"
#include "data/image_folder.h"
#include "loader/layers.h"
#include "loader/workload_values.h"
#include "ddr.h"

namespace cestvp {

using namespace workload_values;

namespace {

constexpr Range<std::uint64_t> kBytes{4, 1u << 30};

std::uint32_t bytes32(YamlValue v, Range<std::uint64_t> range = kBytes) {
  const std::uint64_t n = v.size(range);
  if (n % 4 != 0) v.fail("not a multiple of 4 bytes", "a whole number of 32-bit words");
  return static_cast<std::uint32_t>(n);
}

// A size exact while it reads well ("4 KiB", "1536 B", "65535 MiB"), else to 0.1 of a binary
// unit ("132.5 KiB", "8.0 TiB").
std::string size_text(std::uint64_t bytes) {
  const std::string exact = format_size(bytes);
  if (exact.find(' ') <= 4) return exact;
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  for (; value >= 1024 && unit < 5; ++unit) value /= 1024;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

// The keys of a bring-up workload, for the checks against the platform.
struct BringupKeys {
  YamlValue scratch, copy_bytes, src_stride, dst_stride, chain_bytes;
  // The key that sizes a DMA check's largest buffer (fw::BringupNeed::check).
  const YamlValue& sizing(const std::string& check, const fw::BringupParams& p) const {
    if (check == "dma-2d") return p.src_stride >= p.dst_stride ? src_stride : dst_stride;
    if (check == "dma-chain") return chain_bytes;
    if (check == "dma-error") return scratch;
    return copy_bytes;  // dma-1d, dma-sram
  }
};

// The largest offset at most `limit` that ddr_scratch_offset accepts, to a whole MiB if there is one.
std::uint64_t round_down(std::uint64_t limit) {
  const std::uint64_t step = limit >= (1u << 20) ? (1u << 20) : fw::kBringupScratchAlign;
  return limit / step * step;
}

// What the DMA checks need (fw::bringup_needs, from their own layout) against the platform:
// the largest scratch area must fit in DDR after ddr_scratch_offset, and each check, with the
// DDR pages written so far and the SRAM models, in the host's memory. A scratch area that would
// fit DDR from offset 0 blames ddr_scratch_offset, else the key that sizes the check.
void check_bringup_fits(const fw::BringupParams& p, const BringupKeys& k, const PlatformConfig& platform,
                        std::uint64_t host_limit) {
  const std::uint64_t ddr = platform.region("ddr").size;
  const std::string ddr_text = size_text(ddr) + " (address_map.ddr.size of " + platform.source + ")";
  const std::vector<fw::BringupNeed> needs = fw::bringup_needs(p, platform.region("sat_sram_a").size);
  const fw::BringupNeed& most = *std::max_element(needs.begin(), needs.end(), [](const auto& a, const auto& b) {
    return a.scratch_bytes < b.scratch_bytes;
  });
  if (p.ddr_scratch_offset > ddr || most.scratch_bytes > ddr - p.ddr_scratch_offset) {
    const std::string problem = std::string(most.check) + " needs " + size_text(most.scratch_bytes) +
                                " of DDR from ddr_scratch_offset " + format_size(p.ddr_scratch_offset) +
                                ", past the end of DDR, " + ddr_text;
    if (most.scratch_bytes <= ddr)
      k.scratch.fail(problem, "ddr_scratch_offset at most " + format_size(round_down(ddr - most.scratch_bytes)));
    k.sizing(most.check, p).fail(problem, "buffers that fit in DDR after ddr_scratch_offset");
  }
  const std::uint64_t srams =
      platform.region("sat_sram_a").size + platform.region("sat_sram_b").size + platform.region("sat_sram_c").size;
  const std::uint64_t first_page = p.ddr_scratch_offset % Ddr::kPageBytes;
  std::uint64_t pages = 0;  // of the DDR model, allocated where a check writes and kept
  for (const fw::BringupNeed& need : needs) {
    pages = std::max(pages, (first_page + need.scratch_bytes + Ddr::kPageBytes - 1) / Ddr::kPageBytes * Ddr::kPageBytes);
    if (pages + srams + need.host_bytes <= host_limit) continue;
    k.sizing(need.check, p).fail(std::string(need.check) + " needs about " +
                                     size_text(pages + srams + need.host_bytes) + " of host memory (DDR pages " +
                                     size_text(pages) + ", SRAM models " + size_text(srams) +
                                     ", the firmware's buffers " + size_text(need.host_bytes) +
                                     ") but " + size_text(host_limit) + " is available" + kHostMemoryWhere,
                                 "smaller bring-up buffers, or a machine with more memory");
  }
}

fw::BringupParams read_bringup(YamlMap m, const PlatformConfig* platform, std::uint64_t host_limit) {
  YamlValue scratch = m.get("ddr_scratch_offset"), copy_bytes = m.get("copy_bytes"), rows = m.get("rows"),
            row_bytes = m.get("row_bytes"), src_stride = m.get("src_stride"), dst_stride = m.get("dst_stride"),
            descriptors = m.get("chain_descriptors"), chain_bytes = m.get("chain_bytes"), timeout = m.get("timeout");
  m.finish();  // a misspelt key is reported as unknown, with a suggestion, before anything is missing
  fw::BringupParams p;
  p.ddr_scratch_offset = scratch.size({0, std::uint64_t{1} << 40});
  p.copy_bytes = bytes32(copy_bytes);
  p.rows = rows.integer<std::uint32_t>({1, 1u << 16});
  p.row_bytes = bytes32(row_bytes);
  p.src_stride = bytes32(src_stride);
  p.dst_stride = bytes32(dst_stride);
  p.chain_descriptors = descriptors.integer<std::uint32_t>({1, 4096});
  p.chain_bytes = bytes32(chain_bytes);
  p.timeout_ns = static_cast<std::uint64_t>(timeout.quantity(Quantity::time, {1e-6, 1e3}) * 1e9 + 0.5);
  if (p.src_stride < p.row_bytes) src_stride.fail("rows would overlap", "src_stride >= row_bytes");
  if (p.dst_stride < p.row_bytes) dst_stride.fail("rows would overlap", "dst_stride >= row_bytes");
  if (p.ddr_scratch_offset % fw::kBringupScratchAlign != 0)
    scratch.fail(size_text(p.ddr_scratch_offset) + " is not a multiple of 8 B (the chained copy's descriptors are "
                 "8-byte aligned)", "a multiple of 8 B");
  if (platform) check_bringup_fits(p, {scratch, copy_bytes, src_stride, dst_stride, chain_bytes}, *platform, host_limit);
  return p;
}

void read_nm(YamlValue v, std::uint32_t& n, std::uint32_t& m) {
  const std::string problem = parse_nm(v.string(), n, m);
  if (!problem.empty()) v.fail(problem, kNmExpected);
}

void require_supported_m(const YamlValue& nm, std::uint32_t m, const PlatformConfig& platform) {
  const std::vector<unsigned>& supported = platform.sat.nm_m;
  if (std::find(supported.begin(), supported.end(), m) != supported.end()) return;
  std::vector<std::string> list;
  for (unsigned s : supported) list.push_back(std::to_string(s));
  nm.fail("M = " + std::to_string(m) + " is not supported by the platform (sat.nm_m of " + platform.source + ": " +
              join(list) + ")",
          "N:M with M one of " + join(list));
}

// The self-test's fixed needs against the platform: its N:M, its operands in the SAT SRAM
// (fw::kSelftestSramBytes; a platform too small for them is named at the section) and its DDR
// staging area after ddr_scratch_offset.
void check_engines_fit(const fw::EngineSelftestParams& p, const YamlValue& section, const YamlValue& scratch,
                       const YamlValue& nm, const PlatformConfig& platform) {
  require_supported_m(nm, p.m, platform);
  const char* names[3] = {"sat_sram_a", "sat_sram_b", "sat_sram_c"};
  for (int b = 0; b < 3; ++b) {
    const std::uint64_t size = platform.region(names[b]).size;
    if (size < fw::kSelftestSramBytes[b])
      section.fail("the self-test's operands need " + size_text(fw::kSelftestSramBytes[b]) + " of SRAM " + "ABC"[b] +
                       ", address_map." + names[b] + ".size of " + platform.source + " is " + size_text(size),
                   "a platform with at least " + size_text(fw::kSelftestSramBytes[0]) + ", " +
                       size_text(fw::kSelftestSramBytes[1]) + " and " + size_text(fw::kSelftestSramBytes[2]) +
                       " of SRAM A, B and C");
  }
  const std::uint64_t ddr = platform.region("ddr").size;
  if (p.ddr_scratch_offset > ddr || fw::kSelftestStagingBytes > ddr - p.ddr_scratch_offset)
    scratch.fail("the self-test stages up to " + size_text(fw::kSelftestStagingBytes) + " from ddr_scratch_offset " +
                     format_size(p.ddr_scratch_offset) + ", past the end of DDR, " + size_text(ddr) +
                     " (address_map.ddr.size of " + platform.source + ")",
                 ddr < fw::kSelftestStagingBytes
                     ? "a platform with at least " + size_text(fw::kSelftestStagingBytes) + " of DDR"
                     : "ddr_scratch_offset at most " + format_size(round_down(ddr - fw::kSelftestStagingBytes)));
}

fw::EngineSelftestParams read_engines(const YamlValue& section, const PlatformConfig* platform) {
  YamlMap m = section.map();
  YamlValue scratch = m.get("ddr_scratch_offset"), seed = m.get("seed"), nm = m.get("nm"), timeout = m.get("timeout");
  m.finish();
  fw::EngineSelftestParams p;
  p.ddr_scratch_offset = scratch.size({0, std::uint64_t{1} << 40});
  p.seed = seed.integer<std::uint32_t>({0, 0xFFFFFFFFu});
  read_nm(nm, p.n, p.m);
  p.timeout_ns = static_cast<std::uint64_t>(timeout.quantity(Quantity::time, {1e-6, 1e3}) * 1e9 + 0.5);
  if (platform) check_engines_fit(p, section, scratch, nm, *platform);
  return p;
}

// A section the program does not use must not be there (it would be silently ignored).
bool present(const YamlValue& v) {
  try {
    v.map();
    return true;
  } catch (const UserError&) {
    return false;  // missing (or not even a mapping: not a section either way)
  }
}

// ------------------------------------------------------------------------ program: train

const std::vector<std::string> kModes(kSatModeNames.begin(), kSatModeNames.end());
const std::vector<std::string> kSchemes = {"dense", "srste", "sdgp", "bdwp"};
const std::vector<std::string> kBwdMasks = {"independent", "nested"};
const std::vector<std::string> kSchedules = {"constant", "cosine", "step"};
const std::vector<std::string> kDatasets = {"fashion-mnist", "synthetic", "cifar10", "cifar100", "image_folder"};
constexpr std::uint32_t kMaxCount = 1'000'000'000;

// The existing file of `dir`/`base`, gzip-compressed (.gz) or not; "" if neither exists.
std::string existing_file(const std::string& dir, const std::string& base, bool allow_gz) {
  namespace fs = std::filesystem;
  const fs::path plain = fs::path(dir) / base;
  if (allow_gz && fs::is_regular_file(plain.string() + ".gz")) return plain.string() + ".gz";
  if (fs::is_regular_file(plain)) return plain.string();
  return "";
}

void resolve_dataset_files(TrainDataset& d, const YamlValue& path) {
  if (d.name == "synthetic") {
    if (!d.path.empty()) path.fail("synthetic data has no files", "\"\" (the data is generated from the seed)");
    return;
  }
  if (d.name == "image_folder") {
    const std::string expected =
        "the directory of a Tiny ImageNet (wnids.txt, train/, val/) or ImageFolder (train/<class>/, test/<class>/) "
        "dataset (docs/datasets.md)";
    if (d.path.empty()) path.fail("image_folder has no default location", expected);
    if (!std::filesystem::is_directory(d.path)) path.fail("no directory '" + d.path + "'", expected);
    d.dir = d.path;
    // Listing only, no decoding: the counts bound train_samples and test_samples.
    const ImageFolder folder = list_image_folder(d.dir);
    if (folder.classes.size() < 2 || folder.classes.size() > 256)
      path.fail(d.dir + " has " + std::to_string(folder.classes.size()) + " classes",
                "2..256 classes (labels are bytes in the DDR image)");
    d.classes = static_cast<std::uint32_t>(folder.classes.size());
    d.standard_train = static_cast<std::uint32_t>(folder.train.size());
    d.standard_test = static_cast<std::uint32_t>(folder.test.size());
    d.train_files = {folder.train_dir};
    d.test_files = {folder.test_dir};
    return;
  }
  const bool fashion = d.name == "fashion-mnist";
  if (!fashion && d.path.empty()) {
    path.fail(d.name + " has no default location",
              "the directory of the " + std::string(d.name == "cifar10" ? "CIFAR-10" : "CIFAR-100") +
                  " binary version (docs/datasets.md: download it from https://www.cs.toronto.edu/~kriz/cifar.html and "
                  "unpack it)");
  }
  d.dir = d.path.empty() ? fashion_mnist_dir() : d.path;
  std::vector<std::string> train, test;
  if (fashion) {
    train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  } else if (d.name == "cifar10") {
    for (int i = 1; i <= 5; ++i) train.push_back("data_batch_" + std::to_string(i) + ".bin");
    test = {"test_batch.bin"};
  } else {
    train = {"train.bin"};
    test = {"test.bin"};
  }
  const auto resolve = [&](const std::vector<std::string>& bases, std::vector<std::string>& files) {
    for (const std::string& base : bases) {
      const std::string file = existing_file(d.dir, base, true);
      if (file.empty()) {
        const std::string wanted = (std::filesystem::path(d.dir) / base).string() + (fashion ? ".gz" : "");
        if (fashion)
          path.fail(wanted + " does not exist",
                    "the Fashion-MNIST IDX files in " + d.dir +
                        " (install them with `apt install dataset-fashion-mnist`, or point dataset.path or "
                        "CESTVP_FASHION_MNIST_DIR at a copy)");
        path.fail(wanted + " does not exist",
                  "the " + std::string(d.name == "cifar10" ? "CIFAR-10" : "CIFAR-100") + " binary files in " + d.dir +
                      " (download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it)");
      }
      files.push_back(file);
    }
  };
  resolve(train, d.train_files);
  resolve(test, d.test_files);
}

TrainDataset::Synthetic read_synthetic(const YamlValue& value) {
  TrainDataset::Synthetic y;
  if (is_missing(value)) return y;
  YamlMap s = value.map();
  const YamlValue height = s.get("height"), width = s.get("width"), channels = s.get("channels"),
                  classes = s.get("classes"), train = s.get("train"), test = s.get("test");
  s.finish();
  y.height = optional(height, y.height, count_in(1, 4096));
  y.width = optional(width, y.width, count_in(1, 4096));
  y.channels = optional(channels, y.channels, count_in(1, 4));  // the header has mean/std for 4 channels
  y.classes = optional(classes, y.classes, count_in(2, 256));   // labels are bytes
  y.train = optional(train, y.train, count_in(1, 1u << 24));
  y.test = optional(test, y.test, count_in(1, 1u << 24));
  return y;
}

TrainDataset read_dataset(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue name = map.get("name"), path = map.get("path"), height = map.get("height"), width = map.get("width"),
                  channels = map.get("channels"), train_samples = map.get("train_samples"),
                  test_samples = map.get("test_samples"), mean = map.get("mean"), stdev = map.get("std"),
                  synthetic = map.get("synthetic");
  map.finish();
  TrainDataset d;
  d.name = kDatasets[choice(name, kDatasets, "dataset")];
  d.synthetic = read_synthetic(synthetic);
  if (d.name == "fashion-mnist") {
    d.height = d.width = 28, d.channels = 1, d.classes = 10, d.standard_train = 60000, d.standard_test = 10000;
  } else if (d.name == "synthetic") {
    const TrainDataset::Synthetic& y = d.synthetic;
    d.height = y.height, d.width = y.width, d.channels = y.channels, d.classes = y.classes;
    d.standard_train = y.train, d.standard_test = y.test;
  } else if (d.name == "image_folder") {
    d.height = optional(height, 64u, count_in(1, 4096));  // Tiny ImageNet's shape by default
    d.width = optional(width, 64u, count_in(1, 4096));
    d.channels = optional(channels, 3u, count_in(1, 3));
    if (d.channels == 2) channels.fail("2 channels", "1 (grayscale) or 3 (RGB)");
  } else {
    d.height = d.width = 32, d.channels = 3, d.classes = d.name == "cifar10" ? 10 : 100;
    d.standard_train = 50000, d.standard_test = 10000;
  }
  // Only image_folder's shape is set by these keys; for another dataset a value given must be
  // its shape, so that --set dataset.name=... can switch between datasets of one shape.
  const std::string shape = std::to_string(d.height) + "x" + std::to_string(d.width) + "x" + std::to_string(d.channels);
  for (const auto& [v, size] : {std::pair(height, d.height), std::pair(width, d.width), std::pair(channels, d.channels)})
    if (d.name != "image_folder" && !is_missing(v) && count(v, 1, 4096) != size)
      v.fail(d.name + " images are " + shape + " (height x width x channels)",
             std::to_string(size) + ", or no " + v.path() + " (it sets the shape of image_folder images only)");
  d.path = optional(path, std::string(), [](const YamlValue& v) { return scalar_text(v, "a directory"); });
  resolve_dataset_files(d, path);  // image_folder: the classes and sample counts
  d.train_samples = optional(train_samples, 0u, [&](const YamlValue& v) { return count(v, 0, d.standard_train); });
  d.test_samples = optional(test_samples, 0u, [&](const YamlValue& v) { return count(v, 0, d.standard_test); });
  struct Bounds {
    double min, max;
    bool above_min;
  };
  const auto per_channel = [&](const YamlValue& v, double fallback, Bounds bounds) {
    if (is_missing(v)) return std::vector<double>(d.channels, fallback);
    const std::vector<YamlValue> items = v.list();
    if (items.size() != d.channels)
      v.fail(std::to_string(items.size()) + " values for the " + std::to_string(d.channels) + " channel" +
                 (d.channels == 1 ? "" : "s") + " of " + d.name,
             "one value per channel");
    std::vector<double> values;
    for (const YamlValue& item : items) values.push_back(number(item, bounds.min, bounds.max, bounds.above_min));
    return values;
  };
  d.mean = per_channel(mean, 0.0, {-1000, 1000, false});
  d.std = per_channel(stdev, 1.0, {0, 1000, true});
  return d;
}

// The keys of a training workload, in the order docs/workloads.md lists them.
struct TrainKeys {
  YamlValue mode, scheme, nm, bdwp_bwd_mask, sparse_decay, sdgp_rescale, sparse_first_layer, sparse_last_layer, batch,
      epochs, iterations, eval_interval, eval_samples, seed, loss_scale, init_weights, optimizer, dataset, network, export_,
      timeout;
  explicit TrainKeys(YamlMap& root)
      : mode(root.get("mode")),
        scheme(root.get("scheme")),
        nm(root.get("nm")),
        bdwp_bwd_mask(root.get("bdwp_bwd_mask")),
        sparse_decay(root.get("sparse_decay")),
        sdgp_rescale(root.get("sdgp_rescale")),
        sparse_first_layer(root.get("sparse_first_layer")),
        sparse_last_layer(root.get("sparse_last_layer")),
        batch(root.get("batch")),
        epochs(root.get("epochs")),
        iterations(root.get("iterations")),
        eval_interval(root.get("eval_interval")),
        eval_samples(root.get("eval_samples")),
        seed(root.get("seed")),
        loss_scale(root.get("loss_scale")),
        init_weights(root.get("init_weights")),
        optimizer(root.get("optimizer")),
        dataset(root.get("dataset")),
        network(root.get("network")),
        export_(root.get("export")),
        timeout(root.get("timeout")) {}
};

TrainOptimizer read_optimizer(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue lr = map.get("lr"), momentum = map.get("momentum"), weight_decay = map.get("weight_decay"),
                  schedule = map.get("schedule"), lr_step = map.get("lr_step"), lr_gamma = map.get("lr_gamma");
  map.finish();
  TrainOptimizer o;
  o.lr = number(lr, 0, 100);
  o.momentum = optional(momentum, 0.0, [](const YamlValue& v) { return number(v, 0, 1, false, true); });
  o.weight_decay = optional(weight_decay, 0.0, [](const YamlValue& v) { return number(v, 0, 1); });
  o.schedule = static_cast<fw::model::LrSchedule>(
      optional(schedule, std::size_t{0}, [](const YamlValue& v) { return choice(v, kSchedules, "schedule"); }));
  o.lr_step = optional(lr_step, 0u, [](const YamlValue& v) { return count(v, 0, kMaxCount); });
  o.lr_gamma = optional(lr_gamma, 0.1, [](const YamlValue& v) { return number(v, 0, 1, true); });
  if (o.schedule == fw::model::LrSchedule::step && o.lr_step == 0)
    lr_step.fail("schedule step needs lr_step", "lr_step >= 1 (iterations between decays by lr_gamma)");
  return o;
}

TrainWorkload read_train(const TrainKeys& k, const PlatformConfig* platform) {
  TrainWorkload t;
  t.mode = optional(k.mode, t.mode, [](const YamlValue& v) { return kModes[choice(v, kModes, "mode")]; });
  t.scheme = static_cast<fw::model::Scheme>(
      optional(k.scheme, std::size_t{0}, [](const YamlValue& v) { return choice(v, kSchemes, "scheme"); }));
  if (!is_missing(k.nm)) read_nm(k.nm, t.n, t.m);
  if (platform) require_supported_m(k.nm, t.m, *platform);
  t.bwd_mask = static_cast<fw::model::BwdMask>(
      optional(k.bdwp_bwd_mask, std::size_t{0}, [](const YamlValue& v) { return choice(v, kBwdMasks, "mask"); }));
  t.sparse_decay = optional(k.sparse_decay, t.sparse_decay, [](const YamlValue& v) { return number(v, 0, 1); });
  t.sdgp_rescale = optional(k.sdgp_rescale, t.sdgp_rescale, boolean);
  t.sparse_first_layer = optional(k.sparse_first_layer, t.sparse_first_layer, boolean);
  t.sparse_last_layer = optional(k.sparse_last_layer, t.sparse_last_layer, boolean);
  t.seed = optional(k.seed, t.seed, [](const YamlValue& v) { return v.integer<std::uint32_t>({0, 0xFFFFFFFFu}); });
  t.dataset = read_dataset(k.dataset);
  const std::uint32_t train = t.dataset.train_samples ? t.dataset.train_samples : t.dataset.standard_train;
  const std::uint32_t test = t.dataset.test_samples ? t.dataset.test_samples : t.dataset.standard_test;
  t.batch = count(k.batch, 1, 65536);
  if (t.batch > train)
    k.batch.fail("batch " + std::to_string(t.batch) + " is larger than the " + std::to_string(train) + " training samples",
                 "a batch of at most " + std::to_string(train));
  t.epochs = optional(k.epochs, t.epochs, [](const YamlValue& v) { return count(v, 1, 1'000'000); });
  t.iterations = optional(k.iterations, t.iterations, [](const YamlValue& v) { return count(v, 0, 100'000'000); });
  t.eval_interval = optional(k.eval_interval, t.eval_interval, [](const YamlValue& v) { return count(v, 0, kMaxCount); });
  t.eval_samples = optional(k.eval_samples, t.eval_samples, [&](const YamlValue& v) { return count(v, 0, test); });
  t.loss_scale = optional(k.loss_scale, t.loss_scale, [](const YamlValue& v) { return number(v, 0, 65536, true); });
  t.init_weights = optional(k.init_weights, std::string(), [](const YamlValue& v) {
    const std::string dir = scalar_text(v, "a directory of .npy files");
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      v.fail("no directory '" + dir + "'", "\"\" (He-normal weights from the seed) or a directory of .npy files");
    return dir;
  });
  t.optimizer = read_optimizer(k.optimizer);
  t.layers = read_layers(k.network, t.dataset);
  if (!is_missing(k.export_)) {
    YamlMap map = k.export_.map();
    const YamlValue snapshot_interval = map.get("snapshot_interval"), log_interval = map.get("log_interval");
    map.finish();
    const auto read = [](const YamlValue& v) { return count(v, 0, kMaxCount); };
    t.snapshot_interval = optional(snapshot_interval, t.snapshot_interval, read);
    t.log_interval = optional(log_interval, t.log_interval, read);
  }
  t.timeout_ns = optional(k.timeout, t.timeout_ns, [](const YamlValue& v) {
    return static_cast<std::uint64_t>(v.quantity(Quantity::time, {1e-6, 1e3}) * 1e9 + 0.5);
  });
  // Where the keys are that build_training_image names when the data files or DDR disagree
  // with them; a missing export section stands for its snapshot_interval.
  YamlMap dataset = k.dataset.map(), network = k.network.map();
  for (const YamlValue& v : {k.batch, k.epochs, k.iterations, k.eval_samples, k.init_weights, dataset.get("path"),
                             dataset.get("synthetic"), dataset.get("train_samples"), dataset.get("test_samples"),
                             network.get("layers")})
    t.where[v.path()] = v.where();
  // And each layer's, for the loader's warnings about it (nm_tail_warnings).
  for (const YamlValue& item : network.get("layers").list()) t.where[item.path()] = item.where();
  t.where["export.snapshot_interval"] =
      is_missing(k.export_) ? k.export_.where() : k.export_.map().get("snapshot_interval").where();
  return t;
}

bool valid_run_name(const std::string& name) {
  return !name.empty() && name[0] != '.' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
}

}  // namespace

const fw::model::LayerType& TrainLayer::catalogue() const {
  const fw::model::LayerType* row = fw::model::find_layer_type(type);
  if (!row) throw std::logic_error("layer type '" + type + "' is not in the layer catalogue");
  return *row;
}

std::string parse_nm(const std::string& text, std::uint32_t& n, std::uint32_t& m) {
  constexpr std::uint32_t kMaxGroup = 32;
  const std::size_t colon = text.find(':');
  const auto number = [](const std::string& t) -> std::uint32_t {
    if (t.empty() || t.size() > 3 || t.find_first_not_of("0123456789") != std::string::npos) return 0;
    return static_cast<std::uint32_t>(std::stoul(t));
  };
  if (colon != std::string::npos) n = number(text.substr(0, colon)), m = number(text.substr(colon + 1));
  if (colon == std::string::npos || n == 0 || m == 0 || n > m) return "'" + text + "' is not an N:M sparsity";
  if (m > kMaxGroup) return "M = " + std::to_string(m) + " is larger than " + std::to_string(kMaxGroup);
  return "";
}

const std::vector<std::string>& scheme_names() { return kSchemes; }
const std::vector<std::string>& dataset_names() { return kDatasets; }
const char* to_string(fw::model::Scheme scheme) { return kSchemes.at(static_cast<std::size_t>(scheme)).c_str(); }
const char* to_string(fw::model::BwdMask mask) { return kBwdMasks.at(static_cast<std::size_t>(mask)).c_str(); }
const char* to_string(fw::model::LrSchedule schedule) {
  return kSchedules.at(static_cast<std::size_t>(schedule)).c_str();
}

Workload load_workload(const std::string& path, const std::vector<Override>& overrides, const PlatformConfig* platform,
                       std::uint64_t host_limit) {
  YamlMap root = load_yaml(path, overrides).map();
  YamlValue name = root.get("name"), program = root.get("program");
  Workload w;
  w.source = path;
  // The program decides which keys the file may have. One that cannot be read (missing, not
  // a string) is reported after the unknown keys, so that a misspelt "program" gets a suggestion.
  std::string program_text;
  try {
    program_text = program.string();
  } catch (const UserError&) {
  }
  const std::vector<std::string> programs = {"bringup", "engines", "train"};
  // Without a program every training key would be reported as unknown; say what is missing.
  if (!program.exists())
    for (const char* key : {"network", "dataset", "optimizer"})
      if (present(root.get(key)))
        program.fail(std::string("missing key, and the file has the training key '") + key + "'",
                     "program: train (or bringup, engines)");
  if (!program_text.empty() && std::find(programs.begin(), programs.end(), program_text) == programs.end())
    program.fail("unknown program '" + program_text + "'" + did_you_mean(program_text, programs),
                 "bringup, engines or train");
  if (program_text == "train") {
    const TrainKeys keys(root);
    root.finish();
    w.name = name.string();
    if (!valid_run_name(w.name))
      name.fail("'" + w.name + "' cannot name a run directory", "letters, digits, '_', '-', '.' (not first)");
    w.program = program_text;
    w.train = read_train(keys, platform);
    return w;
  }
  YamlValue bringup = root.get("bringup"), engines = root.get("engines");
  root.finish();
  w.name = name.string();
  if (!valid_run_name(w.name))
    name.fail("'" + w.name + "' cannot name a run directory", "letters, digits, '_', '-', '.' (not first)");
  w.program = program.string();
  YamlValue& used = w.program == "bringup" ? bringup : engines;
  const YamlValue& unused = w.program == "bringup" ? engines : bringup;
  if (present(unused))
    unused.fail("section '" + unused.path() + "' is not used by program '" + w.program + "'",
                "only the '" + w.program + "' section");
  if (w.program == "bringup") w.bringup = read_bringup(used.map(), platform, host_limit);
  else w.engines = read_engines(used, platform);
  return w;
}

namespace {

std::string yaml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string bool_text(bool b) { return b ? "true" : "false"; }

std::string number_list(const std::vector<double>& values) {
  std::vector<std::string> items;
  for (double v : values) items.push_back(shortest(v));
  return "[" + join(items) + "]";
}

// The keys of the layer's type, in catalogue order, defaults resolved.
void layer_keys_yaml(std::ostream& os, const TrainLayer& l) {
  for (std::size_t k = 0; k < fw::model::kLayerKeyCount; ++k) {
    const auto key = static_cast<fw::model::LayerKey>(k);
    if (!fw::model::has_key(l.catalogue(), key)) continue;
    os << ", " << fw::model::kLayerKeys[k].name << ": ";
    switch (key) {
      case fw::model::LayerKey::with: os << l.with; break;
      case fw::model::LayerKey::bias: os << bool_text(l.bias); break;
      case fw::model::LayerKey::dense: os << bool_text(l.dense); break;
      case fw::model::LayerKey::out: os << l.out; break;
      case fw::model::LayerKey::kernel: os << l.kernel; break;
      case fw::model::LayerKey::stride: os << l.stride; break;
      case fw::model::LayerKey::padding: os << l.padding; break;
      case fw::model::LayerKey::heads: os << l.heads; break;
    }
  }
}

void train_yaml(std::ostream& os, const TrainWorkload& t) {
  const TrainDataset& d = t.dataset;
  const TrainOptimizer& o = t.optimizer;
  os << "mode: " << t.mode << "\n"
     << "scheme: " << to_string(t.scheme) << "\n"
     << "nm: \"" << t.n << ':' << t.m << "\"\n"
     << "bdwp_bwd_mask: " << to_string(t.bwd_mask) << "\n"
     << "sparse_decay: " << shortest(t.sparse_decay) << "\n"
     << "sdgp_rescale: " << bool_text(t.sdgp_rescale) << "\n"
     << "sparse_first_layer: " << bool_text(t.sparse_first_layer) << "\n"
     << "sparse_last_layer: " << bool_text(t.sparse_last_layer) << "\n"
     << "batch: " << t.batch << "\n"
     << "epochs: " << t.epochs << "\n"
     << "iterations: " << t.iterations << "\n"
     << "eval_interval: " << t.eval_interval << "\n"
     << "eval_samples: " << t.eval_samples << "\n"
     << "seed: " << t.seed << "\n"
     << "loss_scale: " << shortest(t.loss_scale) << "\n"
     << "init_weights: \"" << t.init_weights << "\"\n"
     << "optimizer:\n"
     << "  lr: " << shortest(o.lr) << "\n"
     << "  momentum: " << shortest(o.momentum) << "\n"
     << "  weight_decay: " << shortest(o.weight_decay) << "\n"
     << "  schedule: " << to_string(o.schedule) << "\n"
     << "  lr_step: " << o.lr_step << "\n"
     << "  lr_gamma: " << shortest(o.lr_gamma) << "\n"
     << "dataset:\n"
     << "  name: " << d.name << "\n"
     << "  path: " << yaml_string(d.path) << "\n"
     << "  height: " << d.height << "\n"
     << "  width: " << d.width << "\n"
     << "  channels: " << d.channels << "\n"
     << "  train_samples: " << d.train_samples << "\n"
     << "  test_samples: " << d.test_samples << "\n"
     << "  mean: " << number_list(d.mean) << "\n"
     << "  std: " << number_list(d.std) << "\n"
     << "  synthetic: {height: " << d.synthetic.height << ", width: " << d.synthetic.width
     << ", channels: " << d.synthetic.channels << ", classes: " << d.synthetic.classes << ", train: " << d.synthetic.train
     << ", test: " << d.synthetic.test << "}\n"
     << "network:\n"
     << "  layers:\n";
  for (const TrainLayer& l : t.layers) {
    os << "    - {type: " << l.type;
    if (!l.name.empty()) os << ", name: " << l.name;
    if (!l.input.empty()) os << ", input: " << l.input;
    layer_keys_yaml(os, l);
    os << "}\n";
  }
  os << "export:\n"
     << "  snapshot_interval: " << t.snapshot_interval << "\n"
     << "  log_interval: " << t.log_interval << "\n"
     << "timeout: " << format_quantity(Quantity::time, static_cast<double>(t.timeout_ns) / 1e9) << "\n";
}

}  // namespace

std::string to_yaml(const Workload& w) {
  std::ostringstream os;
  os << "# Resolved workload, read from " << w.source << "\n"
     << "name: " << w.name << "\n"
     << "program: " << w.program << "\n";
  if (w.program == "train") {
    train_yaml(os, w.train);
    return os.str();
  }
  if (w.program == "engines") {

    const fw::EngineSelftestParams& e = w.engines;
    os << "engines:\n"
       << "  ddr_scratch_offset: " << format_size(e.ddr_scratch_offset) << "\n"
       << "  seed: " << e.seed << "\n"
       << "  nm: \"" << e.n << ':' << e.m << "\"\n"
       << "  timeout: " << format_quantity(Quantity::time, static_cast<double>(e.timeout_ns) / 1e9) << "\n";
    return os.str();
  }
  const fw::BringupParams& p = w.bringup;
  os << "bringup:\n"
     << "  ddr_scratch_offset: " << format_size(p.ddr_scratch_offset) << "\n"
     << "  copy_bytes: " << format_size(p.copy_bytes) << "\n"
     << "  rows: " << p.rows << "\n"
     << "  row_bytes: " << format_size(p.row_bytes) << "\n"
     << "  src_stride: " << format_size(p.src_stride) << "\n"
     << "  dst_stride: " << format_size(p.dst_stride) << "\n"
     << "  chain_descriptors: " << p.chain_descriptors << "\n"
     << "  chain_bytes: " << format_size(p.chain_bytes) << "\n"
     << "  timeout: " << format_quantity(Quantity::time, static_cast<double>(p.timeout_ns) / 1e9) << "\n";
  return os.str();
}

}  // namespace cestvp
