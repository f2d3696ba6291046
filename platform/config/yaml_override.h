// Command-line overrides of YAML keys, so that sweeps need no copies of a file:
//   satvp run --workload w.yaml --set scheme=dense --set train.batch=64
// Each override replaces the value of a key that the file already has; the value is parsed as
// YAML, so `--set sat.group_sizes=[4, 8]` or `--set train={batch: 64, lr: 0.1}` work too.
// A key the file does not have is an error with a suggestion, never silently added.
// load_yaml(file, overrides) applies them and reports an invalid overridden value as coming
// from `--set key=value` instead of a file line.
#pragma once
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace cestvp {

struct Override {
  std::string path;   // "train.batch"
  std::string value;  // "64", as YAML text
  std::string option = "--set";  // what the user wrote it as: "--param" for a sweep's values

  std::string argument() const { return path + "=" + value; }          // "train.batch=64"
  std::string origin() const { return option + " " + argument(); }  // where errors point
};

// Splits each "a.b.c=value" at its first '='. UserError for a missing '=', an empty key or an
// empty name in the key: "--set train.batch: missing '='; expected key=value"; and for an
// override that would be lost: a key set again, or inside a mapping set after it.
//   "--set batch=64: the key is also set by --set batch=32; expected each key set once"
// A key inside a mapping set before it refines that mapping: train={...} then train.batch=64.
std::vector<Override> parse_overrides(const std::vector<std::string>& args);

// Whether the key path `path` is `outer` or a key inside it: "train.batch" is within "train".
bool within(const std::string& path, const std::string& outer);

// Replaces, in order, the value at each override's path of `root` (the document of `file`,
// named in errors about its top level). UserError when the path goes through a value that is
// not a mapping, names a key the mapping does not have, or the value is not valid YAML:
//   "--set train.bach=64: train has no key 'bach' (did you mean 'batch'?); expected one of ..."
// Returns the new values, one per override, each the same node (YAML::Node::is) as the one
// now in the tree, so that a reader can tell where a value came from.
std::vector<YAML::Node> apply_overrides(YAML::Node& root, const std::vector<Override>& overrides,
                                        const std::string& file);

}  // namespace cestvp
