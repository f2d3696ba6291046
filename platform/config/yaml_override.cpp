#include "config/yaml_override.h"

#include <algorithm>

#include "config/user_error.h"
#include "config/yaml_reader.h"

namespace cestvp {
namespace {

// "train.batch" -> {"train", "batch"}; empty names stay, for the caller to reject.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> names;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = path.find('.', start);
    names.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return names;
    start = dot + 1;
  }
}

// What a value that should have been a mapping is: "'dense'", "a list", "empty".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    default: return "empty";
  }
}

}  // namespace

std::vector<Override> parse_overrides(const std::vector<std::string>& args) {
  std::vector<Override> overrides;
  for (const std::string& arg : args) {
    const auto fail = [&arg](const std::string& problem, const std::string& expected = "key=value") {
      throw UserError("--set " + arg + ": " + problem + "; expected " + expected);
    };
    const std::size_t equals = arg.find('=');
    if (equals == std::string::npos) fail("missing '='");
    Override o{arg.substr(0, equals), arg.substr(equals + 1)};
    if (o.path.empty()) fail("empty key");
    const std::vector<std::string> names = split_path(o.path);
    if (std::find(names.begin(), names.end(), "") != names.end()) {
      fail("empty name in key '" + o.path + "'");
    }
    for (const Override& earlier : overrides) {
      if (earlier.path == o.path) fail("the key is also set by " + earlier.origin(), "each key set once");
      if (within(earlier.path, o.path))
        fail("this replaces " + earlier.path + ", set before by " + earlier.origin(),
             "each key set once (a mapping first, then keys inside it)");
    }
    overrides.push_back(std::move(o));
  }
  return overrides;
}

bool within(const std::string& path, const std::string& outer) {
  return path.compare(0, outer.size(), outer) == 0 && (path.size() == outer.size() || path[outer.size()] == '.');
}

std::vector<YAML::Node> apply_overrides(YAML::Node& root, const std::vector<Override>& overrides,
                                        const std::string& file) {
  std::vector<YAML::Node> values;
  for (const Override& o : overrides) {
    const auto fail = [&o](const std::string& problem, const std::string& expected) {
      throw UserError(o.origin() + ": " + problem + "; expected " + expected);
    };
    YAML::Node value;
    try {
      value = YAML::Load(o.value);
    } catch (const YAML::Exception& error) {
      fail("the value is not valid YAML (" + error.msg + ")", "a YAML value");
    }
    // Walks with reset(), never operator=, which would overwrite the value walked from.
    YAML::Node node = root;
    std::string name = file;  // what `node` is, in messages
    std::string walked;
    const std::vector<std::string> keys = split_path(o.path);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string& key = keys[i];
      if (!node.IsMap()) {
        fail(name + " is " + describe(node) + ", not a mapping",
             "a key path through mappings to an existing key");
      }
      std::vector<std::string> existing;
      for (const auto& entry : node) existing.push_back(entry.first.Scalar());
      if (std::find(existing.begin(), existing.end(), key) == existing.end()) {
        fail(name + " has no key '" + key + "'" + did_you_mean(key, existing),
             existing.empty() ? std::string("a key of a non-empty mapping")
                              : "one of " + join(existing));
      }
      walked += (walked.empty() ? "" : ".") + key;
      name = walked;
      if (i + 1 == keys.size()) {
        node[key] = value;  // the tree's node now shares `value`'s data
      } else {
        const YAML::Node child = node[key];
        node.reset(child);
      }
    }
    values.push_back(value);
  }
  return values;
}

}  // namespace cestvp
