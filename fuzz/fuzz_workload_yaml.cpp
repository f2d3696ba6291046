// Fuzzes the workload YAML loader, against the default platform (yaml/vcu1525.yaml, which sets
// the N:M group sizes a training workload may use). Any bytes either load or are refused with a
// UserError; any other exception, a crash, a leak or a hang is a finding. A workload that loads
// survives its own dump (to_yaml, loaded again, gives the same text).
//
// A training workload on synthetic data also goes through the loader's second half: its
// training image is built, written into memory and read by the firmware's descriptor reader,
// which must accept it: what the loader builds, the firmware runs. Only small images: a fuzzed
// workload easily asks for terabytes, and build_training_image generates the dataset and the
// initial weights before it finds that the image does not fit DDR. So the harness first bounds
// what the build allocates (host_bytes) and builds only below kMaxHostBytes, for a DDR of
// kDdrBytes. Workloads naming dataset files load (the loader only looks for the files) but are
// not built: reading real datasets is slow and not this harness's subject.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <cestvp/descriptor.h>

#include "config/config.h"
#include "config/user_error.h"
#include "ddr_image.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "scratch_file.h"

using namespace cestvp;

namespace {

constexpr std::uint64_t kDdrBytes = 16u << 20;
constexpr std::uint64_t kMaxHostBytes = 64u << 20;

// An upper bound of what build_training_image allocates before its fit check: the synthetic
// dataset (every sample generated, then copied into the splits), the sample order and each
// epoch's shuffle, the initial values of the params (and the copies write_training_image
// converts), the list of snapshot iterations. Counted in 64 bits from values that are at most 32.
std::uint64_t host_bytes(const TrainWorkload& w) {
  const TrainDataset& d = w.dataset;
  const bool data = w.mode != "timing";  // a timing image holds neither samples nor initial values
  const std::uint64_t samples = std::uint64_t{d.synthetic.train} + d.synthetic.test;
  const std::uint64_t dataset = data ? 2 * samples * (std::uint64_t{d.height} * d.width * d.channels + 1) : 0;
  const std::uint64_t train = d.train_samples ? d.train_samples : d.standard_train;
  const std::uint64_t iterations =
      w.iterations ? w.iterations : std::min<std::uint64_t>(std::uint64_t{w.epochs} * (train / w.batch), 100'000'000);
  const std::uint64_t order = (iterations * w.batch + train) * 4;
  std::uint64_t values = 0;
  for (const TrainLayer& l : w.layers) {
    const std::uint64_t taps = l.type == "conv2d" ? std::uint64_t{l.kernel} * l.kernel : 1;
    values += l.trainable() ? std::uint64_t{l.out} * taps * l.in.c + l.out : 4 * (l.in.elements() + l.out_shape.elements());
  }
  const std::uint64_t snapshots = w.snapshot_interval ? iterations / w.snapshot_interval * 4 : 0;
  return dataset + order + (data ? values * 16 : 0) + snapshots;
}

// Builds the image of a small synthetic training workload and has the firmware read it.
void build_and_read(const TrainWorkload& w) {
  if (w.dataset.name != "synthetic" || host_bytes(w) > kMaxHostBytes) return;
  fw::BootInfo boot;
  boot.ddr = {0, kDdrBytes};
  TrainingImage image;
  try {
    image = build_training_image(w, boot);
  } catch (const UserError&) {
    return;  // e.g. it does not fit the DDR
  }
  std::vector<std::uint8_t> ddr(image.end - boot.ddr.base);
  write_training_image(image, [&](std::uint64_t addr, const void* src, std::uint64_t bytes) {
    if (addr < boot.ddr.base || addr - boot.ddr.base > ddr.size() || bytes > ddr.size() - (addr - boot.ddr.base)) {
      std::fprintf(stderr, "write_training_image writes %llu B at 0x%llx, outside its image of %zu B\n",
                   static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(addr), ddr.size());
      std::abort();
    }
    if (bytes) std::memcpy(ddr.data() + (addr - boot.ddr.base), src, bytes);  // an empty area's data may be null
  });
  fuzz::DdrImage memory(boot.ddr, {{boot.ddr.base, std::move(ddr)}});
  fw::model::Descriptor d;
  const std::string problem = fw::model::read_descriptor(memory, image.model_addr, boot.ddr, d);
  if (problem.empty()) return;
  std::fprintf(stderr, "the firmware refuses the descriptor the loader built: %s\n", problem.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const PlatformConfig platform = load_platform_config(CESTVP_SOURCE_DIR "/yaml/vcu1525.yaml");
  static const fuzz::ScratchFile file("fuzz_workload_yaml");
  file.write(data, size);
  Workload workload;
  try {
    workload = load_workload(file.path(), {}, &platform);
  } catch (const UserError&) {
    return 0;  // refused with a message: what bad input should get
  }
  const std::string dump = to_yaml(workload);
  file.write(dump);  // the same path, so that the dump's "read from" line stays the same
  try {
    const std::string again = to_yaml(load_workload(file.path(), {}, &platform));
    if (again != dump) {
      std::fprintf(stderr, "the dump of a loaded workload reloads differently:\n%s\n--- reloaded:\n%s\n", dump.c_str(),
                   again.c_str());
      std::abort();
    }
  } catch (const UserError& e) {
    std::fprintf(stderr, "the dump of a loaded workload does not load: %s\n%s\n", e.what(), dump.c_str());
    std::abort();
  }
  if (workload.program == "train") build_and_read(workload.train);
  return 0;
}
