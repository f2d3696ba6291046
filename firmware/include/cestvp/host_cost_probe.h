// Host cost probe (program host_costs): what the firmware's host work costs per element on the
// core that runs it. For each kind of host work the training runtime does (batch norm, ReLU,
// pooling, softmax cross-entropy, ...) it runs the real host-layer functions on synthetic
// tensors in DDR at two sizes, timed with Hal::now_ps as Runtime::host_work times them, and
// writes both times to a result block in DDR; the platform takes (t2 - t1) / (n2 - n1).
//
// On the RV64 core time is instructions x CPI x clock period, so the figure is what a scalar
// control processor spends; on the native core it is what the cost table charges (the probe
// charges like the runtime does), which makes the native run a check of the measurement.
// satvp host-costs runs it (platform/cli/cmd_host_costs.h).
#pragma once
#include <cstdint>
#include <type_traits>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

// The HostCosts field a kind of host work is charged at.
enum class HostCostField : std::uint32_t { input, elementwise, pool, softmax, reduce, nm_decode };
inline constexpr unsigned kHostCostFields = 6;
const char* to_string(HostCostField field);  // the platform YAML's key: "elementwise"
double cost_of(const HostCosts& costs, HostCostField field);

struct HostCostParams {
  std::uint64_t result = 0;         // DDR address of the HostCostResult
  std::uint64_t scratch = 0;        // DDR the probe's tensors live in, at least kHostCostScratchBytes
  std::uint64_t scratch_bytes = 0;
};
inline constexpr std::uint64_t kHostCostScratchBytes = 4 << 20;

// One kind of host work, measured at two sizes. Elements are counted as the runtime counts
// them when it charges the kind: it charges multiple x the field per element.
struct HostCostRecord {
  char kind[32] = {};     // "batchnorm_backward"
  char detail[64] = {};   // the shape it was measured on: "8x8x64 images, channels innermost"
  HostCostField field = HostCostField::elementwise;
  std::uint32_t multiple = 1;
  std::uint64_t small_elements = 0, large_elements = 0;
  std::uint64_t small_ps = 0, large_ps = 0;  // host time of one run at each size
};

// The result block: written as each kind finishes, status last.
struct HostCostResult {
  static constexpr std::uint32_t kMagic = 0x54534348;  // "HCST"
  static constexpr unsigned kCapacity = 40;
  enum Status : std::uint32_t { running = 0, finished = 1, failed = 2 };

  std::uint32_t magic = 0;
  std::uint32_t status = running;
  std::uint32_t count = 0;  // records written
  std::uint32_t reserved = 0;
  std::uint64_t host_cycle_ps = 0;  // the period the probe was told (BootInfo)
  char message[160] = {};           // why it failed
  HostCostRecord records[kCapacity];
};
static_assert(std::is_trivially_copyable_v<HostCostResult>, "the platform reads it from DDR byte for byte");
static_assert(sizeof(HostCostRecord) == 136 && sizeof(HostCostResult) == 184 + 40 * 136,
              "HostCostResult's layout changed: the firmware ELF and the platform must agree (LP64)");

// Returns 0 when every kind was measured; 1 on a bus error or a scratch area too small (the
// message is in the result block).
int run_host_cost_probe(Hal& hal, const BootInfo& boot, const HostCostParams& params);

}  // namespace cestvp::fw
