// The numerics the platform runs the SAT engines with (the workload's `mode`, satvp --mode): one
// name for the models, which compute with it, and the firmware, which is told it because it
// cannot read it from the hardware and must know what it can compare. SystemC-free.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace cestvp {

enum class SatMode : std::uint8_t { functional, bit_accurate, timing };

// The names a user writes, in enum order.
inline constexpr std::array<const char*, 3> kSatModeNames = {"functional", "bit-accurate", "timing"};

constexpr const char* to_string(SatMode mode) { return kSatModeNames[static_cast<std::size_t>(mode)]; }

// `text` must be one of kSatModeNames: the readers of the command line and the workload check
// it against that list (with a message saying where) before they parse.
constexpr SatMode parse_sat_mode(std::string_view text) {
  for (std::size_t i = 0; i < kSatModeNames.size(); ++i)
    if (text == kSatModeNames[i]) return static_cast<SatMode>(i);
  return SatMode::functional;
}

}  // namespace cestvp
