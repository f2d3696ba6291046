// Writes the seed corpus of fuzz_descriptor: for each training workload given and each scheme,
// the descriptor the loader builds for the default platform, as a DDR image (ddr_image.h) of
// what the descriptor reader reads: the header, the tensor, param and layer tables and the result
// header. In timing mode, so that no weights are generated: the reader does not look at them.
//   descriptor_seeds fuzz/corpus/fuzz_descriptor workloads/*.yaml
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/user_error.h"
#include "ddr_image.h"
#include "loader/training_image.h"
#include "loader/workload.h"

using namespace cestvp;

int main(int argc, char* argv[]) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR WORKLOAD.yaml...\n", argv[0]);
    return 2;
  }
  const PlatformConfig platform = load_platform_config(CESTVP_SOURCE_DIR "/yaml/vcu1525.yaml");
  fw::BootInfo boot;
  boot.ddr = {platform.region("ddr").base, platform.region("ddr").size};
  for (int i = 2; i < argc; ++i)
    for (const char* scheme : {"dense", "srste", "sdgp", "bdwp"}) {
      try {
        const Workload w = load_workload(argv[i], {{"mode", "timing"}, {"scheme", scheme}}, &platform);
        const TrainingImage image = build_training_image(w.train, boot);
        const fw::model::Header& h = image.header;
        const std::vector<std::uint64_t> read = {image.model_addr, h.tensors, h.params, h.layers, h.result};
        std::vector<fuzz::Chunk> areas;
        write_training_image(image, [&](std::uint64_t addr, const void* src, std::uint64_t bytes) {
          if (bytes && std::find(read.begin(), read.end(), addr) != read.end())
            areas.push_back({addr, {static_cast<const std::uint8_t*>(src), static_cast<const std::uint8_t*>(src) + bytes}});
        });
        const std::vector<std::uint8_t> seed = fuzz::DdrImage::encode(boot.ddr, areas);
        const std::string path = std::string(argv[1]) + "/" + w.name + "." + scheme;
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(seed.data()),
                                                    static_cast<std::streamsize>(seed.size()));
        std::printf("%s: %zu B\n", path.c_str(), seed.size());
      } catch (const UserError& e) {
        std::printf("%s (%s): skipped: %s\n", argv[i], scheme, e.what());
      }
    }
  return 0;
}
