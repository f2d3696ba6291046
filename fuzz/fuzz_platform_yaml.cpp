// Fuzzes the platform YAML loader. Any bytes either load or are refused with a UserError; any
// other exception, a crash, a leak or a hang is a finding. A configuration that loads survives
// its own dump: to_yaml of it, loaded again, gives the same text (the run directory's copy of the
// resolved configuration reloads as it was).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"
#include "config/user_error.h"
#include "scratch_file.h"

using namespace cestvp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::ScratchFile file("fuzz_platform_yaml");
  file.write(data, size);
  PlatformConfig config;
  try {
    config = load_platform_config(file.path());
  } catch (const UserError&) {
    return 0;  // refused with a message: what bad input should get
  }
  const std::string dump = to_yaml(config);
  file.write(dump);  // the same path, so that the dump's "read from" line stays the same
  try {
    const std::string again = to_yaml(load_platform_config(file.path()));
    if (again == dump) return 0;
    std::fprintf(stderr, "the dump of a loaded configuration reloads differently:\n%s\n--- reloaded:\n%s\n", dump.c_str(),
                 again.c_str());
  } catch (const UserError& e) {
    std::fprintf(stderr, "the dump of a loaded configuration does not load: %s\n%s\n", e.what(), dump.c_str());
  }
  std::abort();
}
