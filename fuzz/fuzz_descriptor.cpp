// Fuzzes the firmware's model descriptor reader (fw::model::read_descriptor): the input is a DDR
// image (ddr_image.h) of the default platform's DDR, 64 GiB, mostly zeros. Whatever the image
// holds, the reader answers with a descriptor or a problem, in bounded time and memory (the
// test's -malloc_limit_mb: the tables it allocates are bounded by kMaxTableEntries, not by DDR).
// Seeds: the descriptors the loader builds (descriptor_seeds).
#include <cstdint>

#include <cestvp/descriptor.h>

#include "config/config.h"
#include "ddr_image.h"

using namespace cestvp;

namespace {

fw::Region ddr_region() {
  const PlatformConfig platform = load_platform_config(CESTVP_SOURCE_DIR "/yaml/vcu1525.yaml");
  const AddressRange& ddr = platform.region("ddr");
  return {ddr.base, ddr.size};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fw::Region ddr = ddr_region();
  fuzz::DdrImage image(ddr, fuzz::DdrImage::decode(ddr, data, size));
  fw::model::Descriptor d;
  (void)fw::model::read_descriptor(image, ddr.base + fw::model::kModelOffset, ddr, d);  // either answer is fine
  return 0;
}
