#include "config/yaml_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include <yaml-cpp/eventhandler.h>

#include "config/input_file.h"
#include "config/user_error.h"

namespace cestvp {
namespace {

std::string at_mark(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// " from 1 to 64", " of at least 1 B", or nothing when any value of T is accepted.
template <typename T, typename Format>
std::string range_text(Range<T> range, Format format) {
  if (range.max != std::numeric_limits<T>::max()) {
    return " from " + format(range.min) + " to " + format(range.max);
  }
  if (range.min != std::numeric_limits<T>::lowest()) return " of at least " + format(range.min);
  return "";
}

// Edit distance counting a swap of neighbours as one edit ("sta" -> "sat"), for suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& allowed) {
  const std::size_t tolerance = std::max<std::size_t>(2, key.size() / 3);
  const std::string* best = nullptr;
  std::size_t best_distance = tolerance + 1;
  for (const std::string& candidate : allowed) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best ? " (did you mean '" + *best + "'?)" : "";
}

namespace {

std::string child_path(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

}  // namespace

YamlValue::YamlValue(YAML::Node node, YAML::Mark mark, std::string file, std::string path,
                     std::shared_ptr<const Origins> origins, bool from_override)
    : node_(std::move(node)),
      mark_(mark),
      file_(std::move(file)),
      path_(std::move(path)),
      origins_(std::move(origins)),
      from_override_(from_override) {}

YamlValue YamlValue::child(YAML::Node node, YAML::Mark mark, YAML::Mark key_mark,
                           std::string path) const {
  if (origins_) {
    // The last override of a value wins; one inside an overridden value has no key mark.
    for (auto it = origins_->rbegin(); it != origins_->rend(); ++it) {
      if (!it->first.is(node)) continue;
      return YamlValue(node, from_override_ ? mark_ : key_mark, it->second, std::move(path),
                       origins_, true);
    }
  }
  if (from_override_) return YamlValue(node, mark_, file_, std::move(path), origins_, true);
  return YamlValue(node, mark, file_, std::move(path), origins_, false);
}

std::string YamlValue::where() const {
  const std::string at = from_override_ ? file_ : at_mark(file_, mark_);
  return path_.empty() ? at : at + ": " + path_;
}

void YamlValue::fail(const std::string& problem, const std::string& expected) const {
  throw UserError(where() + ": " + problem + "; expected " + expected);
}

std::string YamlValue::found() const {
  if (!node_.IsDefined()) return "missing key";
  switch (node_.Type()) {
    case YAML::NodeType::Map: return "found a mapping";
    case YAML::NodeType::Sequence: return "found a list";
    case YAML::NodeType::Scalar: return "found '" + node_.Scalar() + "'";
    default: return "no value";
  }
}

const std::string& YamlValue::scalar(const std::string& expected) const {
  if (!node_.IsDefined() || !node_.IsScalar()) fail(found(), expected);
  return node_.Scalar();
}

template <typename T, typename Parse>
T YamlValue::parse(const std::string& expected, Range<T> range, Parse parse_text) const {
  const std::string& text = scalar(expected);
  T value{};
  try {
    value = parse_text(text);
  } catch (const ValueError& error) {
    fail(error.what(), expected);
  }
  if (value < range.min || value > range.max) fail("'" + text + "' is out of range", expected);
  return value;
}

std::uint64_t YamlValue::unsigned_integer(Range<std::uint64_t> range) const {
  const auto decimal = [](std::uint64_t value) { return std::to_string(value); };
  const std::string expected = "an integer" + range_text(range, decimal);
  return parse(expected, range, parse_unsigned);
}

double YamlValue::quantity(Quantity quantity, Range<double> range) const {
  const auto format = [quantity](double value) { return display_quantity(quantity, value); };
  const std::string noun = name(quantity);
  const std::string expected = (noun[0] == 'e' ? "an " : "a ") + noun + range_text(range, format) +
                               " with a unit (" + unit_symbols(quantity) + ")";
  return parse(expected, range, [quantity](const std::string& text) {
    return parse_quantity(quantity, text);
  });
}

std::uint64_t YamlValue::size(Range<std::uint64_t> range) const {
  const std::string expected = "a whole size" + range_text(range, format_size) +
                               " with a unit (" + unit_symbols(Quantity::size) + ")";
  return parse(expected, range, parse_size);
}

double YamlValue::number(Range<double> range) const {
  const auto format = [](double value) {
    std::ostringstream os;
    os << value;
    return os.str();
  };
  const std::string expected = "a number" + range_text(range, format);
  return parse(expected, range, [](const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value)) throw ValueError("'" + text + "' is not a number");
    return value;
  });
}

bool YamlValue::boolean() const {
  const std::string& text = scalar("true or false");
  if (text == "true") return true;
  if (text == "false") return false;
  fail("found '" + text + "'", "true or false");
}

std::string YamlValue::string() const { return scalar("a string"); }

std::vector<YamlValue> YamlValue::list() const {
  if (!node_.IsDefined() || !node_.IsSequence()) fail(found(), "a list");
  std::vector<YamlValue> items;
  for (std::size_t i = 0; i < node_.size(); ++i) {
    const YAML::Node item = node_[i];
    // An empty item has no position of its own; yaml-cpp gives the next token's.
    const YAML::Mark mark = item.IsNull() ? mark_ : item.Mark();
    items.push_back(child(item, mark, mark_, path_ + "[" + std::to_string(i) + "]"));
  }
  return items;
}

YamlMap YamlValue::map() const {
  if (!node_.IsDefined() || !node_.IsMap()) fail(found(), "a mapping");
  return YamlMap(*this);
}

YamlMap::YamlMap(YamlValue mapping) : mapping_(std::move(mapping)) {
  std::set<std::string> seen;
  for (const auto& entry : mapping_.node_) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      const YamlValue at_key = mapping_.child(key, key.Mark(), key.Mark(), mapping_.path_);
      at_key.fail(at_key.found() + " as a key", "a plain name");
    }
    if (!seen.insert(key.Scalar()).second) {
      const YamlValue at_key =
          mapping_.child(key, key.Mark(), key.Mark(), child_path(mapping_.path_, key.Scalar()));
      at_key.fail("duplicate key", "each key at most once");
    }
  }
}

YamlValue YamlMap::get(const std::string& key) {
  if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) allowed_.push_back(key);
  const std::string path = child_path(mapping_.path_, key);
  for (const auto& entry : mapping_.node_) {
    if (entry.first.Scalar() != key) continue;
    // An empty value has no position of its own; yaml-cpp gives the next token's.
    const YAML::Node& value = entry.second;
    const YAML::Mark mark = value.IsNull() ? entry.first.Mark() : value.Mark();
    return mapping_.child(value, mark, entry.first.Mark(), path);
  }
  return mapping_.child(YAML::Node(YAML::NodeType::Undefined), mapping_.mark_, mapping_.mark_,
                        path);
}

void YamlMap::finish() const {
  for (const auto& entry : mapping_.node_) {
    const YAML::Node& key = entry.first;
    const std::string& name = key.Scalar();
    if (std::find(allowed_.begin(), allowed_.end(), name) != allowed_.end()) continue;
    const YamlValue at_key =
        mapping_.child(key, key.Mark(), key.Mark(), child_path(mapping_.path_, name));
    at_key.fail("unknown key" + did_you_mean(name, allowed_), "one of " + join(allowed_));
  }
}

namespace {

// The message of a syntax error in `text`. yaml-cpp gives a position only: the key path is
// recovered from the block mapping keys above it and their indentation, and from the keys of
// the flow collections ({...}, [...]) open at it. An unclosed flow collection, which yaml-cpp
// reports where it gives up, is named where it opens; a tab in an indentation, which YAML
// forbids and yaml-cpp reports as some structure not ending, is named at the tab.
std::string syntax_error(const std::string& file, const std::string& text,
                         const YAML::Exception& error,
                         const std::string& expected = "valid YAML syntax") {
  static const char kKeyCharacters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
  struct Key {
    std::size_t column;
    std::string name;
    int items;  // of its list so far
  };
  struct Flow {
    int line;
    std::size_t column;
    char bracket;
    std::string path;
  };
  std::vector<Key> keys;    // the open block keys, innermost last
  std::vector<Flow> flows;  // the open flow collections, innermost last
  const auto block_path = [&keys] {
    std::string joined;
    for (const Key& key : keys) {
      joined += (joined.empty() ? "" : ".") + key.name;
      if (key.items) joined += "[" + std::to_string(key.items - 1) + "]";
    }
    return joined;
  };
  const auto at = [&file](int line, std::size_t column, const std::string& path) {
    return file + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
           (path.empty() ? "" : path + ": ");
  };
  std::istringstream lines(text);
  std::string line;
  for (int number = 0; number <= error.mark.line && std::getline(lines, line); ++number) {
    const std::size_t indent = line.find_first_not_of(" \t");
    if (indent == std::string::npos || line[indent] == '#') continue;
    if (flows.empty()) {
      // A list may sit at its key's indentation; anything else at or left of a key closes it.
      const bool item = line.compare(indent, 2, "- ") == 0;
      const auto closed = [&](const Key& k) {
        return item ? k.column > indent : k.column >= indent;
      };
      while (!keys.empty() && closed(keys.back())) keys.pop_back();
      if (item && !keys.empty()) ++keys.back().items;
      const std::size_t start = item ? line.find_first_not_of(' ', indent + 2) : indent;
      const std::size_t end = line.find_first_not_of(kKeyCharacters, start);
      const bool key = end != std::string::npos && end > start && line[end] == ':' &&
                       (end + 1 == line.size() || line[end + 1] == ' ');
      if (key) keys.push_back({start, line.substr(start, end - start), 0});
      if (line.find('\t') < indent)
        return at(number, line.find('\t'), block_path()) + "a tab in the indentation; expected "
               "spaces (YAML does not allow tabs for indentation)";
    }
    // The flow brackets before the error, outside quotes and comments, with the keys before them.
    const std::size_t stop = number == error.mark.line
                                 ? std::min<std::size_t>(error.mark.column, line.size())
                                 : line.size();
    std::string key;  // of the next bracket, inside a flow mapping
    char quote = 0;
    for (std::size_t c = 0; c < stop; ++c) {
      const char ch = line[c];
      if (quote) {
        quote = ch == quote ? 0 : quote;
      } else if (ch == '\'' || ch == '"') {
        quote = ch;
      } else if (ch == '#' && (c == 0 || line[c - 1] == ' ')) {
        break;
      } else if (ch == '{' || ch == '[') {
        const std::string parent = flows.empty() ? block_path() : flows.back().path;
        flows.push_back({number, c, ch, key.empty() ? parent : parent + "." + key});
        key.clear();
      } else if ((ch == '}' || ch == ']') && !flows.empty()) {
        flows.pop_back();
      } else if (ch == ':' && !flows.empty() && c > 0) {
        const std::size_t before = line.find_last_not_of(kKeyCharacters, c - 1);
        const std::size_t begin = before == std::string::npos ? 0 : before + 1;
        key = line.substr(begin, c - begin);
      } else if (ch == ',') {
        key.clear();
      }
    }
  }
  const bool unclosed = error.msg == YAML::ErrorMsg::END_OF_MAP_FLOW ||
                        error.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW;
  if (unclosed && !flows.empty()) {
    const Flow& open = flows.back();
    return at(open.line, open.column, open.path) + "this '" + open.bracket +
           "' is never closed; expected a '" +
           (open.bracket == '{' ? "}' to end the mapping" : "]' to end the list");
  }
  if (error.mark.is_null()) return file + ": " + error.msg + "; expected " + expected;
  const std::string path = flows.empty() ? block_path() : flows.back().path;
  return at(error.mark.line, error.mark.column, path) + error.msg + "; expected " + expected;
}

// YAML allows no control characters in a file but tab, line feed and carriage return; yaml-cpp
// takes them into values, and a NUL it garbles (it reads 'a<NUL>tb' as 'a<tab>b'), so that the
// message would quote what the file does not hold.
void reject_control_characters(const std::string& file, const std::string& text) {
  YAML::Mark mark;  // line and column 0
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++mark.line;
      mark.column = 0;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) {
      mark.pos = static_cast<int>(i);
      const std::string problem = "control character " + printable(std::string(1, text[i])) + " in the text";
      throw UserError(syntax_error(file, text, YAML::Exception(mark, problem),
                                   "printable text (YAML allows tab, line feed and carriage return)"));
    }
    ++mark.column;
  }
}

// Only the first document of a file is read: a second one (after `---`, or after `...` ends
// the first) would be ignored without a word.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;  // of each `---`, or each document's first token without one

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void reject_second_document(const std::string& file, const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  try {
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
  } catch (const YAML::Exception& error) {
    throw UserError(syntax_error(file, text, error));
  }
  if (starts.marks.size() < 2) return;
  // No key path: the first document's keys end where the second starts.
  throw UserError(at_mark(file, starts.marks[1]) +
                  ": a second YAML document starts here; expected one document per file (a satvp file is one mapping)");
}

}  // namespace

YamlValue load_yaml(const std::string& file, const std::vector<Override>& overrides) {
  const std::string text = InputFile(file, "a YAML file", kMaxTextBytes).read_text();
  reject_control_characters(file, text);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw UserError(syntax_error(file, text, error));
  }
  reject_second_document(file, text);
  // An empty document has no position; its start is the best one.
  const YAML::Mark mark = root.IsNull() ? YAML::Mark() : root.Mark();
  if (overrides.empty()) return YamlValue(root, mark, file, "");
  const std::vector<YAML::Node> values = apply_overrides(root, overrides, file);
  auto origins = std::make_shared<YamlValue::Origins>();
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    origins->emplace_back(values[i], overrides[i].origin());
  }
  return YamlValue(root, mark, file, "", std::move(origins));
}

}  // namespace cestvp
