#include "config/units.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

namespace cestvp {
namespace {

// One unit is 10^exp10 * 2^exp2 base units.
struct Unit {
  std::string_view symbol;
  int exp10;
  int exp2;
};

// Decimal units come first, in ascending order: format_quantity() relies on it.
const std::vector<Unit>& units(Quantity quantity) {
  static const std::vector<Unit> frequency{
      {"Hz", 0, 0}, {"kHz", 3, 0}, {"MHz", 6, 0}, {"GHz", 9, 0}};
  static const std::vector<Unit> time{
      {"ps", -12, 0}, {"ns", -9, 0}, {"us", -6, 0}, {"ms", -3, 0}, {"s", 0, 0}};
  static const std::vector<Unit> size{
      {"B", 0, 0},    {"kB", 3, 0},   {"MB", 6, 0},   {"GB", 9, 0},   {"TB", 12, 0},
      {"KiB", 0, 10}, {"MiB", 0, 20}, {"GiB", 0, 30}, {"TiB", 0, 40}};
  static const std::vector<Unit> bandwidth{
      {"B/s", 0, 0},    {"kB/s", 3, 0},   {"MB/s", 6, 0},   {"GB/s", 9, 0},   {"TB/s", 12, 0},
      {"KiB/s", 0, 10}, {"MiB/s", 0, 20}, {"GiB/s", 0, 30}, {"TiB/s", 0, 40}};
  static const std::vector<Unit> energy{
      {"fJ", -15, 0}, {"pJ", -12, 0}, {"nJ", -9, 0}, {"uJ", -6, 0}, {"mJ", -3, 0}, {"J", 0, 0}};
  static const std::vector<Unit> power{{"uW", -6, 0}, {"mW", -3, 0}, {"W", 0, 0}, {"kW", 3, 0}};
  switch (quantity) {
    case Quantity::frequency: return frequency;
    case Quantity::time: return time;
    case Quantity::size: return size;
    case Quantity::bandwidth: return bandwidth;
    case Quantity::energy: return energy;
    case Quantity::power: return power;
  }
  assert(false && "unknown Quantity");
  return size;
}

// The value digits * 10^exponent, kept in decimal so that no rounding happens before the
// single conversion to double.
struct Decimal {
  std::string digits;
  int exponent = 0;
};

struct Parsed {
  Decimal number;
  const Unit* unit;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t count_digits(std::string_view text, std::size_t from) {
  std::size_t end = from;
  while (end < text.size() && is_digit(text[end])) ++end;
  return end - from;
}

// Splits "<digits>[.<digits>][e[-]<digits>] <unit>" (spaces before the unit optional).
Parsed split(Quantity quantity, std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (!text.empty() && text[0] == '-') throw ValueError(quoted + " is negative");
  const std::size_t whole = count_digits(text, 0);
  if (whole == 0) throw ValueError(quoted + " does not start with a number");
  Decimal number{std::string(text.substr(0, whole)), 0};
  std::size_t pos = whole;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t digits = count_digits(text, pos + 1);
    if (digits == 0) throw ValueError(quoted + " has no digits after the decimal point");
    number.digits += text.substr(pos + 1, digits);
    number.exponent = -static_cast<int>(digits);
    pos += 1 + digits;
  }
  // An exponent only where digits follow: "1e3 s", "1e-9 s"; in "1 eV" the unit is unknown.
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    const bool sign = pos + 1 < text.size() && (text[pos + 1] == '-' || text[pos + 1] == '+');
    const std::size_t start = pos + 1 + (sign ? 1 : 0);
    const std::size_t digits = count_digits(text, start);
    if (digits > 0) {
      // Beyond 9 digits, too large for an int, any exponent is also far beyond a double's range.
      int exponent = 999999999;
      if (digits <= 9) std::from_chars(text.data() + start, text.data() + start + digits, exponent);
      number.exponent += sign && text[pos + 1] == '-' ? -exponent : exponent;
      pos = start + digits;
    }
  }
  while (pos < text.size() && text[pos] == ' ') ++pos;
  const std::string_view symbol = text.substr(pos);
  if (symbol.empty()) throw ValueError(quoted + " has no unit");
  for (const Unit& unit : units(quantity)) {
    if (unit.symbol == symbol) return {number, &unit};
  }
  throw ValueError(quoted + " has unknown unit '" + std::string(symbol) + "'");
}

// The decimal digits of `value`: the fewest that read back as it (precision 0), or `precision`
// significant digits, rounded; without trailing zeros either way.
Decimal decimal_of(double value, int precision) {
  char buffer[64];
  const auto [end, error] =
      precision == 0 ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific)
                     : std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific, precision - 1);
  assert(error == std::errc());
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));  // "1.92e+10"
  const std::size_t e = text.find('e');
  Decimal decimal;
  for (char c : text.substr(0, e)) {
    if (c != '.') decimal.digits += c;
  }
  const std::size_t last = decimal.digits.find_last_not_of('0');
  decimal.digits.resize(last == std::string::npos ? 1 : last + 1);
  const std::size_t exponent_start = e + (text[e + 1] == '+' ? 2 : 1);
  int exponent = 0;
  std::from_chars(text.data() + exponent_start, text.data() + text.size(), exponent);
  decimal.exponent = exponent - static_cast<int>(decimal.digits.size()) + 1;
  return decimal;
}

// The decimal scaled by 10^shift: plain text, or with an exponent ("1e30") where plain text
// would need more than 21 digits before the point or 5 zeros after it.
std::string to_text(const Decimal& decimal, int shift) {
  const int length = static_cast<int>(decimal.digits.size());
  const int point = length + decimal.exponent + shift;  // digits before the decimal point
  if (point > 21 || point < -5) {
    const std::string mantissa =
        length == 1 ? decimal.digits : decimal.digits.substr(0, 1) + "." + decimal.digits.substr(1);
    return mantissa + "e" + std::to_string(point - 1);
  }
  if (point >= length) return decimal.digits + std::string(point - length, '0');
  if (point > 0) {
    return decimal.digits.substr(0, point) + "." + decimal.digits.substr(point);
  }
  return "0." + std::string(-point, '0') + decimal.digits;
}

std::uint64_t scale(const Unit& unit) {
  std::uint64_t factor = std::uint64_t{1} << unit.exp2;
  for (int i = 0; i < unit.exp10; ++i) factor *= 10;
  return factor;
}

}  // namespace

std::uint64_t parse_unsigned(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (!text.empty() && text[0] == '-') throw ValueError(quoted + " is negative");
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string_view digits = hex ? text.substr(2) : text;
  std::uint64_t value = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 10);
  if (error == std::errc::result_out_of_range) throw ValueError(quoted + " does not fit in 64 bits");
  if (error != std::errc() || end != digits.data() + digits.size()) {
    throw ValueError(quoted + " is not an integer");
  }
  return value;
}

const char* name(Quantity quantity) {
  switch (quantity) {
    case Quantity::frequency: return "frequency";
    case Quantity::time: return "time";
    case Quantity::size: return "size";
    case Quantity::bandwidth: return "bandwidth";
    case Quantity::energy: return "energy";
    case Quantity::power: return "power";
  }
  assert(false && "unknown Quantity");
  return "";
}

std::string unit_symbols(Quantity quantity) {
  std::string text;
  for (const Unit& unit : units(quantity)) {
    if (!text.empty()) text += ", ";
    text += unit.symbol;
  }
  return text;
}

double parse_quantity(Quantity quantity, std::string_view text) {
  const Parsed parsed = split(quantity, text);
  const std::string scientific = parsed.number.digits + "e" +
                                 std::to_string(parsed.number.exponent + parsed.unit->exp10);
  double value = 0;
  const auto [end, error] =
      std::from_chars(scientific.data(), scientific.data() + scientific.size(), value);
  assert(end == scientific.data() + scientific.size());
  // Scaling by a power of two is exact, so binary units keep the single rounding.
  value = std::ldexp(value, parsed.unit->exp2);
  if (error != std::errc() || !std::isfinite(value)) {
    throw ValueError("'" + std::string(text) + "' is too large or too small to represent");
  }
  return value;
}

namespace {

// `decimal` with the largest decimal unit not above it.
std::string with_unit(Quantity quantity, const Decimal& decimal) {
  const int leading_power = decimal.exponent + static_cast<int>(decimal.digits.size()) - 1;
  const std::vector<Unit>& table = units(quantity);
  const Unit* chosen = &table.front();
  for (const Unit& unit : table) {
    if (unit.exp2 == 0 && unit.exp10 <= leading_power) chosen = &unit;
  }
  return to_text(decimal, -chosen->exp10) + " " + std::string(chosen->symbol);
}

}  // namespace

std::string format_quantity(Quantity quantity, double value) {
  assert(std::isfinite(value) && value >= 0);
  return with_unit(quantity, decimal_of(value, 0));
}

std::string display_quantity(Quantity quantity, double value) {
  assert(std::isfinite(value) && value >= 0);
  return with_unit(quantity, decimal_of(value, 15));
}

std::uint64_t parse_size(std::string_view text) {
  const Parsed parsed = split(Quantity::size, text);
  const std::string quoted = "'" + std::string(text) + "'";
  std::string digits = parsed.number.digits;
  int exponent = parsed.number.exponent;
  for (; exponent < 0 && digits.size() > 1 && digits.back() == '0'; ++exponent) digits.pop_back();
  if (exponent < 0) {
    throw ValueError(quoted + " is not a whole number of " + std::string(parsed.unit->symbol));
  }
  // Past 20 digits no count fits in 64 bits; the cap keeps "1e999999999 B" from allocating.
  digits.append(static_cast<std::size_t>(std::min(exponent, 21)), '0');
  std::uint64_t count = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  assert(end == digits.data() + digits.size());
  const std::uint64_t factor = scale(*parsed.unit);
  if (error != std::errc() || count > std::numeric_limits<std::uint64_t>::max() / factor) {
    throw ValueError(quoted + " does not fit in 64 bits");
  }
  return count * factor;
}

std::string format_size(std::uint64_t bytes) {
  const std::vector<Unit>& table = units(Quantity::size);
  const Unit* chosen = &table.front();
  for (const Unit& unit : table) {
    const std::uint64_t factor = scale(unit);
    if (bytes >= factor && bytes % factor == 0 && factor > scale(*chosen)) chosen = &unit;
  }
  return std::to_string(bytes / scale(*chosen)) + " " + std::string(chosen->symbol);
}

}  // namespace cestvp
