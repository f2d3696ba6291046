#include "loader/workload_values.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "config/user_error.h"

namespace cestvp::workload_values {

// Whether the key of `v` is absent from its mapping, so that it takes its default. The
// reader tells a missing key only through the message of a failed conversion.
bool is_missing(const YamlValue& v) {
  try {
    (void)v.string();
    return false;
  } catch (const UserError& e) {
    return std::string(e.what()).find(": missing key; expected ") != std::string::npos;
  }
}

// The scalar text of `v`; a missing or non-scalar value fails with `expected`.
std::string scalar_text(const YamlValue& v, const std::string& expected) {
  try {
    return v.string();
  } catch (const UserError& e) {
    std::string message = e.what();
    const std::string tail = "; expected a string";
    if (message.size() >= tail.size() && message.compare(message.size() - tail.size(), tail.size(), tail) == 0)
      message.resize(message.size() - tail.size());
    throw UserError(message + "; expected " + expected);
  }
}

// The shortest text that reads back to the same value; whole numbers without an exponent.
std::string shortest(double value) {
  char text[40];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

// A real number in [min, max]; with `above_min`, min itself is excluded (a scale of 0, a
// standard deviation of 0), with `below_max` max itself (a momentum of 1).
double number(const YamlValue& v, double min, double max, bool above_min, bool below_max) {
  const double x = v.number({min, max});
  if ((above_min && x == min) || (below_max && x == max))
    v.fail(shortest(x) + " is out of range", "a number " + std::string(above_min ? "above " : "from ") + shortest(min) +
                                                 (below_max ? " to below " : " to ") + shortest(max));
  return x;
}

bool boolean(const YamlValue& v) { return v.boolean(); }

std::size_t choice(const YamlValue& v, const std::vector<std::string>& names, const std::string& what) {
  const std::string expected = "one of " + join(names);
  const std::string text = scalar_text(v, expected);
  const auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end()) v.fail("unknown " + what + " '" + text + "'" + did_you_mean(text, names), expected);
  return static_cast<std::size_t>(it - names.begin());
}

std::uint32_t count(const YamlValue& v, std::uint32_t min, std::uint32_t max) {
  return v.integer<std::uint32_t>({min, max});
}

}  // namespace cestvp::workload_values
