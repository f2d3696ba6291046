// Start-up check of the SAT: identification, register-map version and the hardware
// configuration, compared with what this firmware was built for and with the boot info.
#pragma once
#include <cstdint>
#include <string>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

struct SatInfo {
  std::uint32_t id = 0;
  std::uint32_t version_major = 0, version_minor = 0;
  std::uint32_t array_rows = 0, array_cols = 0;
  std::uint32_t nm_m_mask = 0;  // bit k: M = 2^k supported
  std::uint64_t sram_a_bytes = 0, sram_b_bytes = 0, sram_c_bytes = 0;
  std::uint32_t clock_khz = 0;
};

struct SatProbe {
  bool ok = false;
  SatInfo info;
  std::string problem;  // what did not match, in words, if !ok
};

SatProbe probe_sat(Hal& hal, const BootInfo& boot);

}  // namespace cestvp::fw
