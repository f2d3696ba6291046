// Values with units, as written in the YAML files: "180 MHz", "8 ns", "64 GiB", "19.2 GB/s".
// A value is a non-negative decimal number with an optional exponent ("2.5e-3 s"), optional
// spaces, and a unit; the unit is never implied. Values are returned in base units (Hz, s, B,
// B/s).
//
// Decimal values convert exactly: "19.2 GB/s" yields the double nearest to 19.2e9, the same
// as the literal 19.2e9, and format_quantity() writes the shortest text that reads back to the
// same double. This is what makes the resolved configuration dump reload bit for bit. Messages
// use display_quantity(), which rounds away the noise of computed values.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cestvp {

// What is wrong with a value's text, without file or key; the YAML reader adds those.
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Decimal ("4096") or hexadecimal ("0x4000000000"); no sign, no unit. Throws ValueError.
std::uint64_t parse_unsigned(std::string_view text);

enum class Quantity {
  frequency,  // Hz, kHz, MHz, GHz
  time,       // ps, ns, us, ms, s
  size,       // B, kB, MB, GB, TB, KiB, MiB, GiB, TiB
  bandwidth,  // B/s, kB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s
  energy,     // fJ, pJ, nJ, uJ, mJ, J
  power,      // uW, mW, W, kW
};

// "frequency", and "Hz, kHz, MHz, GHz": for "expected ..." in error messages.
const char* name(Quantity quantity);
std::string unit_symbols(Quantity quantity);

// Throws ValueError for a missing or unknown unit, a negative value, or text that is not a
// number. Any quantity reads as a double; sizes also read exactly with parse_size().
double parse_quantity(Quantity quantity, std::string_view text);

// The largest decimal unit not above the value (smallest unit below it): 180e6 -> "180 MHz",
// 8e-9 -> "8 ns", 19.2e9 -> "19.2 GB/s", 0.5 -> "0.5 Hz", 1e30 -> "1e30 s" (an exponent
// beyond 21 digits before the point or 5 zeros after it). Binary units are never chosen.
// parse_quantity(q, format_quantity(q, v)) == v for every finite v >= 0.
std::string format_quantity(Quantity quantity, double value);

// For people, not for files read back: as format_quantity(), rounded to 15 significant digits,
// the most that every double keeps. A value written with fewer prints as written, and a
// computed one without the noise of its last bits: 500000 ps read as seconds (500000 x 1000 x
// 1e-15 = 5.000000000000001e-07) prints as "500 ns", not "500.0000000000001 ns".
std::string display_quantity(Quantity quantity, double value);

// A whole number of a size unit ("4 MiB", "1536 B", "1e3 B"; not "1.5 KiB"); kB is 1000 B,
// KiB 1024 B.
// Throws ValueError as parse_quantity() does, and if the value does not fit 64 bits.
std::uint64_t parse_size(std::string_view text);

// The largest unit that divides the size exactly: 64 GiB -> "64 GiB", 4000 -> "4 kB",
// 1536 -> "1536 B".
std::string format_size(std::uint64_t bytes);

}  // namespace cestvp
