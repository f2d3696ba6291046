// Platform configuration: the table of every platform and timing parameter (libgemmini's
// params table, as YAML). Loaded from yaml/*.yaml; every value carries a unit in the file and is
// stored here in base SI units (Hz, seconds, bytes, bytes per second).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cestvp/boot_info.h>

namespace cestvp {

struct AddressRange {
  std::string name;  // key in address_map, e.g. "ddr"
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint64_t end() const { return base + size; }  // one past the last byte
};

struct PlatformConfig {
  std::string source;  // file the configuration was read from

  struct Clocks {
    double sat_hz = 0;         // SAT engines and SRAM
    double peripheral_hz = 0;  // DMA and interrupt controller register interfaces
    double host_hz = 0;        // host CPU (used by the host cost model)
  } clocks;

  struct Bus {
    double hop_latency_s = 0;  // added to every transaction crossing the bus
  } bus;

  struct Ddr {
    unsigned channels = 0;
    double channel_bandwidth_Bps = 0;  // per channel
    double latency_s = 0;              // first-data latency of an access
    std::uint64_t interleave_bytes = 0;  // consecutive bytes mapped to one channel
  } ddr;

  struct Dma {
    std::uint64_t burst_bytes = 0;  // largest single bus transaction of the DMA
  } dma;

  struct Sat {
    unsigned array_rows = 0;
    unsigned array_cols = 0;
    std::vector<unsigned> nm_m;  // supported group sizes M (every N in 1..M)
    std::uint64_t sram_port_bytes[3] = {};  // bytes per SAT cycle through the port of buffer A, B, C
    unsigned osre_lanes = 0, osre_pipeline = 0;  // pipeline: cycles of latency per job
    unsigned wuve_lanes = 0, wuve_pipeline = 0;
  } sat;

  struct Tlm {
    double quantum_s = 0;  // temporal-decoupling quantum of the initiators
  } tlm;

  // Fixed set of regions, in this order: ddr, sat_regs, sat_sram_a, sat_sram_b, sat_sram_c,
  // dma, irqc, host_ram, host_local. The SRAM regions' sizes are the SAT SRAM buffer sizes.
  // host_ram and host_local are the RV64 host core's own (not on the bus).
  std::vector<AddressRange> address_map;
  const AddressRange& region(const std::string& name) const;  // asserts the name exists

  struct Interrupts {
    unsigned dma = 0;  // interrupt controller input line of the DMA
    unsigned sat = 0;  // ... of the SAT
  } interrupts;

  // Which host CPU runs the firmware (docs/firmware-guide.md).
  struct Host {
    enum class Cpu { native, rv64 } cpu = Cpu::native;
    double cpi = 1;  // RV64 core: host clock cycles per guest instruction
  } host;

  // Host CPU cycles per element of the work the firmware does itself (docs/training.md).
  fw::HostCosts host_cost;

  // The energy estimate of the report (docs/performance.md "Energy"): dynamic energy per
  // event, joules, and static power, watts.
  struct Energy {
    double mac_j = 0;        // per STCE multiply-accumulate executed
    double sram_byte_j = 0;  // per byte an engine reads or writes in the SAT SRAM
    double ddr_byte_j = 0;   // per byte read or written in DDR
    double static_w = 0;     // the device, whether it computes or not
  } energy;
};

// Reads and validates a platform YAML. Throws UserError (file:line:column: key: message) on
// YAML syntax errors, unknown keys, wrong types or units, missing values, out-of-range values
// and overlapping address ranges.
PlatformConfig load_platform_config(const std::string& path);

const char* to_string(PlatformConfig::Host::Cpu cpu);
// "native" or "rv64"; nullopt for anything else.
std::optional<PlatformConfig::Host::Cpu> parse_host_cpu(const std::string& text);

// The resolved configuration as YAML (every value with its unit), for the run directory.
std::string to_yaml(const PlatformConfig& config);

}  // namespace cestvp
