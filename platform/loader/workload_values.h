// The value readers the parts of the workload reader share (workload.cpp: programs, training
// keys, datasets; layers.cpp: network.layers). Their messages are part of satvp's interface:
// tests/test_errors.cpp and the bad-workload corpus hold them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/yaml_reader.h"

namespace cestvp::workload_values {

// Whether the key of `v` is absent from its mapping, so that it takes its default.
bool is_missing(const YamlValue& v);

// The scalar text of `v`; a missing or non-scalar value fails with `expected`.
std::string scalar_text(const YamlValue& v, const std::string& expected);

// The shortest text that reads back to the same value; whole numbers without an exponent.
std::string shortest(double value);

// A real number in [min, max]; with `above_min`, min itself is excluded (a scale of 0, a
// standard deviation of 0), with `below_max` max itself (a momentum of 1).
double number(const YamlValue& v, double min, double max, bool above_min = false, bool below_max = false);

bool boolean(const YamlValue& v);

// The index of `v`'s text in `names`; anything else fails with a suggestion. `what` names the
// kind of value in the message ("unknown scheme 'x'").
std::size_t choice(const YamlValue& v, const std::vector<std::string>& names, const std::string& what);

std::uint32_t count(const YamlValue& v, std::uint32_t min, std::uint32_t max);

// A key with a default: `read(v)` when the file has it.
template <typename T, typename Read>
T optional(const YamlValue& v, T fallback, Read read) {
  return is_missing(v) ? fallback : read(v);
}

// A reader of a count in [min, max], for optional().
inline auto count_in(std::uint32_t min, std::uint32_t max) {
  return [min, max](const YamlValue& v) { return count(v, min, max); };
}

}  // namespace cestvp::workload_values
