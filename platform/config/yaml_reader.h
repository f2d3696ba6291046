// Reading hand-written YAML files with validation, for the platform configuration and the
// workloads. The caller asks for every value by key and says what it expects; anything else
// in the file is an error. Every error is a UserError of the form
//   FILE:LINE:COL: KEY.PATH: what is wrong; expected <what>
// with 1-based line and column, so that editors can jump to it.
//
//   YamlMap clocks = load_yaml(path).map().get("clocks").map();
//   const YamlValue sat = clocks.get("sat");
//   clocks.finish();  // rejects keys nobody asked for
//   double sat_hz = sat.quantity(Quantity::frequency, {1e3, 10e9});
//
// With command-line overrides (yaml_override.h), a value that came from `--set key=value`
// reports that instead of the file and line:
//   --set train.batch=abc: train.batch: found 'abc'; expected an integer from 1 to 4096
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "config/units.h"
#include "config/yaml_override.h"

namespace cestvp {

// Inclusive bounds of an accepted value.
template <typename T>
struct Range {
  T min;
  T max;
};

class YamlMap;

// One value of a file, with the file and key path it came from. A key that is absent from its
// mapping gives a "missing" value: every conversion of it reports the missing key.
class YamlValue {
 public:
  // Conversions: each fails unless the value is present, of the expected kind and in range.
  template <typename T>
  T integer(Range<T> range) const;  // non-negative, decimal or 0x hexadecimal
  double quantity(Quantity quantity, Range<double> range) const;  // frequency, time, bandwidth
  std::uint64_t size(Range<std::uint64_t> range) const;
  double number(Range<double> range) const;  // a plain real number, e.g. 0.05 or 2e-4
  bool boolean() const;                      // true or false
  std::string string() const;
  std::vector<YamlValue> list() const;
  YamlMap map() const;

  // For checks only the caller can make (power of two, overlaps): fails at this value.
  [[noreturn]] void fail(const std::string& problem, const std::string& expected) const;
  // "FILE:LINE:COL: KEY.PATH", how fail() begins its message, for checks made after loading
  // (against data files, against the memory the values add up to).
  std::string where() const;

  const std::string& path() const { return path_; }  // "address_map.ddr.size"
  bool exists() const { return node_.IsDefined(); }  // false for a key absent from its mapping
  // For a value from an override: its key's line and position in the file.
  int line() const { return mark_.line + 1; }
  int position() const { return mark_.pos; }  // orders values as they appear in the file

 private:
  friend class YamlMap;
  friend YamlValue load_yaml(const std::string& file, const std::vector<Override>& overrides);
  // The values that overrides replaced, each with its "--set key=value".
  using Origins = std::vector<std::pair<YAML::Node, std::string>>;
  YamlValue(YAML::Node node, YAML::Mark mark, std::string file, std::string path,
            std::shared_ptr<const Origins> origins = nullptr, bool from_override = false);
  // A value inside this one: `mark` is its position if it comes from the file, `key_mark` its
  // key's if an override replaced it.
  YamlValue child(YAML::Node node, YAML::Mark mark, YAML::Mark key_mark, std::string path) const;

  std::uint64_t unsigned_integer(Range<std::uint64_t> range) const;
  const std::string& scalar(const std::string& expected) const;
  template <typename T, typename Parse>
  T parse(const std::string& expected, Range<T> range, Parse parse_text) const;
  std::string found() const;

  YAML::Node node_;  // undefined when the key is missing
  YAML::Mark mark_;  // the value's position; its key's, or its mapping's if missing
  std::string file_;  // or "--set key=value"
  std::string path_;
  std::shared_ptr<const Origins> origins_;
  bool from_override_;  // then errors name file_ without a line
};

// A mapping whose keys are handed out one by one; the keys asked for are the allowed ones.
class YamlMap {
 public:
  // The value under `key`, which becomes an allowed key. No check happens until the value
  // is converted, so that a missing key is reported together with what was expected.
  YamlValue get(const std::string& key);

  // Fails at the first key in the file that get() was not asked for, suggesting the nearest
  // allowed key and listing them all. Call it after the get()s and before converting the
  // values, so that a misspelt key is reported as unknown, with a suggestion, not as missing.
  void finish() const;

 private:
  friend class YamlValue;
  explicit YamlMap(YamlValue mapping);  // rejects duplicate and non-scalar keys

  YamlValue mapping_;
  std::vector<std::string> allowed_;
};

// The document in `file`, with `overrides` applied in order. Fails if the file cannot be read,
// is not valid YAML, or an override does not apply (see apply_overrides).
YamlValue load_yaml(const std::string& file, const std::vector<Override>& overrides = {});

// " (did you mean 'sat'?)" when one of `allowed` is close enough to `key` to be a likely typo
// (edit distance, a swap of neighbours counting as one edit), otherwise "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& allowed);

template <typename T>
T YamlValue::integer(Range<T> range) const {
  static_assert(std::is_unsigned_v<T>, "YAML integers are non-negative");
  return static_cast<T>(unsigned_integer({range.min, range.max}));
}

}  // namespace cestvp
