// regmap-gen: reads the register map (yaml/regmap.yaml), checks it, and writes from it the
// firmware header, the models' register tables and the register-map document, so that the
// hardware/firmware contract is written down exactly once.
//
// Usage: regmap-gen <regmap.yaml> <out-dir>
// A mistake in the spec is a user error: reported as FILE:LINE:COL: message, exit code 1, and
// caught here rather than as a compile error in generated code.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// The specification, as read and checked.

struct EnumValue {
  std::string name;
  std::uint32_t value;
};

struct Field {
  std::string name;
  unsigned msb = 0;
  unsigned lsb = 0;
  std::string description;
  std::vector<EnumValue> values;

  unsigned width() const { return msb - lsb + 1; }
  std::uint32_t max() const { return static_cast<std::uint32_t>((std::uint64_t{1} << width()) - 1); }
  std::uint32_t mask() const { return max() << lsb; }
};

struct Register {
  std::string name;
  std::uint32_t offset = 0;
  std::string access;
  std::uint32_t reset = 0;
  std::string description;
  std::vector<Field> fields;
  // Set when the register is one of a group instance's (offset and texts are then the instance's).
  int instance = -1;           // index into Block::instances
  std::string name_in_group;  // START for STCE_START
};

// A block of registers written once and placed at several bases (the SAT engines' common
// registers). Its register offsets are relative to an instance's base; its descriptions may
// say {instance} or {var}, which every instance fills in.
struct Group {
  std::string name;
  std::string description;
  std::vector<Register> registers;
  std::vector<std::string> placeholders;  // the {names} its texts use, in order of first use
};

struct Instance {
  std::string name;  // prefix of its register names: STCE -> STCE_START
  std::size_t group = 0;
  std::uint32_t base = 0;
  std::map<std::string, std::string> vars;
};

struct Block {
  std::string name;
  std::string description;
  std::vector<Group> groups;
  std::vector<Instance> instances;
  std::vector<Register> registers;  // in offset order, instances expanded
};

struct StructField {
  std::string name;
  std::uint32_t offset = 0;
  std::uint32_t bytes = 0;
  std::string description;
};

struct Struct {
  std::string name;
  std::string description;
  std::uint32_t size = 0;
  std::vector<StructField> fields;
};

struct Spec {
  std::vector<Block> blocks;
  std::vector<Struct> structs;
};

// Reading and checking the YAML.

struct SpecError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& at, const std::string& message) {
  throw SpecError{at.Mark(), message};
}

int line_of(const YAML::Node& node) { return node.Mark().line + 1; }

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : ", ") + word;
  return out;
}

std::string hex(std::uint64_t value, int digits = 1) {
  std::ostringstream out;
  out << "0x" << std::uppercase << std::hex << std::setfill('0') << std::setw(digits) << value;
  return out.str();
}

// A YAML mapping whose keys were checked: each is one of the allowed keys and appears once
// (yaml-cpp itself accepts a repeated key silently).
class Mapping {
 public:
  Mapping(const YAML::Node& node, const std::string& kind, const std::vector<std::string>& allowed,
          const std::string& name_key = "name")
      : node_(node) {
    if (!node.IsMap()) fail(node, kind + " must be a mapping with the keys " + join(allowed));
    const YAML::Node name_node = node[name_key];
    const std::string where = name_node.IsDefined() && name_node.IsScalar() ? kind + " " + name_node.Scalar() : kind;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar() || std::find(allowed.begin(), allowed.end(), key.Scalar()) == allowed.end())
        fail(key, "unknown key '" + key.Scalar() + "' in " + where + "; allowed keys: " + join(allowed));
      if (!values_.emplace(key.Scalar(), entry.second).second)
        fail(key, "key '" + key.Scalar() + "' appears twice in " + where);
    }
  }

  const YAML::Node* find(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }

  const YAML::Node& at(const std::string& key, const std::string& owner) const {
    if (const YAML::Node* value = find(key)) return *value;
    fail(node_, owner + " has no '" + key + "'");
  }

 private:
  YAML::Node node_;
  std::map<std::string, YAML::Node> values_;
};

// The identifiers generated into one C++ scope. Two spec names that generate the same
// identifier (register A_RESET next to register A, say) are reported here, in the YAML, instead
// of as a redefinition in generated code.
class Scope {
 public:
  void claim(const std::string& id, const YAML::Node& at, const std::string& owner) {
    auto [it, inserted] = owners_.emplace(id, Owner{owner, line_of(at)});
    if (inserted) return;
    const std::string first = " (first at line " + std::to_string(it->second.line) + ")";
    if (it->second.what == owner) fail(at, owner + " is defined twice" + first);
    fail(at, "the generated name " + id + " of " + owner + " clashes with the one of " +
                 it->second.what + " (line " + std::to_string(it->second.line) + "); rename one of them");
  }

 private:
  struct Owner {
    std::string what;
    int line;
  };
  std::map<std::string, Owner> owners_;
};

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) fail(node, what + " must be a single value");
  return node.Scalar();
}

// Decimal, 0x hex or 0b binary. yaml-cpp's own conversion would read a leading 0 as octal.
std::uint32_t number(const YAML::Node& node, const std::string& what, std::uint64_t min = 0,
                     std::uint64_t max = UINT32_MAX) {
  const std::string text = scalar(node, what);
  int base = 10;
  std::size_t prefix = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) base = 16, prefix = 2;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) base = 2, prefix = 2;
  std::uint64_t value = 0;
  const char* last = text.data() + text.size();
  auto [end, error] = std::from_chars(text.data() + prefix, last, value, base);
  if (error == std::errc{} && end == last && value >= min && value <= max)
    return static_cast<std::uint32_t>(value);
  if (error == std::errc::invalid_argument || end != last)
    fail(node, what + " must be an unsigned integer (decimal, 0x hex or 0b binary), not '" + text + "'");
  fail(node, what + " is " + text + ", expected " + std::to_string(min) + ".." + hex(max));
}

// Names become C++ identifiers: UPPER_CASE constants, lower_case namespaces.
enum class Case { upper, lower };

std::string name(const YAML::Node& node, const std::string& what, Case letters) {
  const std::string text = scalar(node, what);
  const auto letter = [letters](char c) {
    return letters == Case::upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z');
  };
  const bool valid = !text.empty() && letter(text[0]) && std::all_of(text.begin(), text.end(), [&](char c) {
                       return letter(c) || (c >= '0' && c <= '9') || c == '_';
                     });
  if (!valid)
    fail(node, what + " '" + text + "' is not a valid name: expected " +
                   (letters == Case::upper ? "UPPER_CASE" : "lower_case") +
                   " letters, digits and _, starting with a letter");
  return text;
}

// Descriptions end up on one line of a comment, a string literal or a table cell, so any line
// breaks and runs of spaces from YAML block scalars are folded into single spaces.
std::string prose(const YAML::Node& node, const std::string& what) {
  std::istringstream words(scalar(node, what));
  std::string word, out;
  while (words >> word) out += (out.empty() ? "" : " ") + word;
  if (out.empty()) fail(node, what + " must not be empty");
  return out;
}

const YAML::Node& list(const YAML::Node& node, const std::string& what) {
  if (!node.IsSequence() || node.size() == 0) fail(node, what + " must be a non-empty list");
  return node;
}

std::string bits_text(const Field& field) {
  return field.msb == field.lsb ? std::to_string(field.lsb)
                                : std::to_string(field.msb) + ":" + std::to_string(field.lsb);
}

void read_bits(const YAML::Node& node, const std::string& owner, Field& field) {
  const std::string text = scalar(node, "bits of " + owner);
  const auto bit = [&](const std::string& part) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || error != std::errc{} || end != part.data() + part.size() || value > 31)
      fail(node, "bits '" + text + "' of " + owner +
                     " must be \"msb:lsb\" or a single bit, with bit numbers in 0..31");
    return value;
  };
  const std::size_t colon = text.find(':');
  field.msb = bit(text.substr(0, colon));
  field.lsb = colon == std::string::npos ? field.msb : bit(text.substr(colon + 1));
  if (field.msb < field.lsb) fail(node, "bits '" + text + "' of " + owner + ": msb is below lsb");
}

std::vector<EnumValue> read_enum(const YAML::Node& node, const Field& field, const std::string& owner) {
  if (!node.IsMap() || node.size() == 0)
    fail(node, "enum of " + owner + " must be a non-empty mapping NAME: value");
  std::vector<EnumValue> values;
  for (const auto& entry : node) {
    const EnumValue value{name(entry.first, "enum value of " + owner, Case::upper),
                          number(entry.second, "enum value of " + owner)};
    for (const EnumValue& other : values) {
      if (other.name == value.name) fail(entry.first, "enum value " + value.name + " of " + owner + " appears twice");
      if (other.value == value.value)
        fail(entry.second, "enum values " + other.name + " and " + value.name + " of " + owner +
                               " are both " + std::to_string(value.value));
    }
    if (value.value > field.max())
      fail(entry.second, "enum value " + value.name + " = " + std::to_string(value.value) +
                             " does not fit in the " + std::to_string(field.width()) + "-bit " + owner +
                             " (at most " + std::to_string(field.max()) + ")");
    values.push_back(value);
  }
  return values;
}

std::string camel_case(const std::string& upper_snake) {
  std::string out;
  bool word_start = true;
  for (char c : upper_snake) {
    if (c == '_') {
      word_start = true;
      continue;
    }
    out += word_start ? c : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    word_start = false;
  }
  return out;
}

std::string lower_case(const std::string& text) {
  std::string out = text;
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::string enum_type(const Register& reg, const Field& field) {
  return camel_case(reg.name + "_" + field.name);
}

// A register with fields gets a value type of this name, with an accessor per field.
std::string register_type(const Register& reg) { return camel_case(reg.name); }

// The accessor that reads a field; with_<it> builds a word.
std::string accessor(const Field& field) { return lower_case(field.name); }

bool is_cpp_keyword(const std::string& word) {
  static const std::vector<std::string> keywords{
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return", "co_yield", "compl", "concept",
      "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
      "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
      "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
  return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
}

// The {names} in the descriptions of a group's registers, which each instance fills in. Elsewhere
// a description is plain text, and a placeholder in it would be a mistake nothing fills in.
class Placeholders {
 public:
  explicit Placeholders(bool allowed) : allowed_(allowed) {}

  void scan(const YAML::Node& at, const std::string& text, const std::string& owner) {
    for (std::size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
      const std::size_t close = text.find('}', open);
      const std::string inner = close == std::string::npos ? "" : text.substr(open + 1, close - open - 1);
      const bool valid = !inner.empty() && inner[0] >= 'a' && inner[0] <= 'z' &&
                         std::all_of(inner.begin(), inner.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                         });
      if (!valid)
        fail(at, "description of " + owner + ": '{' must start a placeholder {lower_case_name}, as in {instance}");
      if (!allowed_)
        fail(at, "description of " + owner + " uses {" + inner +
                     "}, but only the registers of a group have placeholders (filled in by each instance)");
      if (std::find(names_.begin(), names_.end(), inner) == names_.end()) names_.push_back(inner);
    }
  }

  const std::vector<std::string>& names() const { return names_; }

 private:
  bool allowed_;
  std::vector<std::string> names_;
};

Field read_field(const YAML::Node& node, const Register& reg, Scope& scope, Scope& accessors,
                 Placeholders& placeholders) {
  const Mapping map(node, "field", {"name", "bits", "description", "enum"});
  const YAML::Node& name_node = map.at("name", "field of register " + reg.name);
  Field field;
  field.name = name(name_node, "field name", Case::upper);
  const std::string owner = "field " + reg.name + "." + field.name;
  scope.claim(reg.name + "_" + field.name + "_SHIFT", name_node, owner);
  scope.claim(reg.name + "_" + field.name + "_MASK", name_node, owner);
  if (is_cpp_keyword(accessor(field)))
    fail(name_node, owner + ": its accessor " + accessor(field) + "() would be a C++ keyword; rename the field");
  accessors.claim(accessor(field), name_node, owner);
  accessors.claim("with_" + accessor(field), name_node, owner);
  const YAML::Node& bits = map.at("bits", owner);
  read_bits(bits, owner, field);
  for (const Field& other : reg.fields)
    if (other.mask() & field.mask())
      fail(bits, "bits " + bits_text(field) + " of " + owner + " overlap field " + other.name +
                     " (bits " + bits_text(other) + ")");
  const YAML::Node& description = map.at("description", owner);
  field.description = prose(description, "description of " + owner);
  placeholders.scan(description, field.description, owner);
  if (const YAML::Node* values = map.find("enum")) {
    field.values = read_enum(*values, field, owner);
    scope.claim(enum_type(reg, field), name_node, owner);
  }
  return field;
}

// `previous` is the register before it in the block (or group), whose offset it must exceed.
Register read_register(const YAML::Node& node, const Register* previous, Scope& scope, Placeholders& placeholders) {
  const Mapping map(node, "register", {"name", "offset", "access", "reset", "description", "fields"});
  const YAML::Node& name_node = map.at("name", "register");
  Register reg;
  reg.name = name(name_node, "register name", Case::upper);
  const std::string owner = "register " + reg.name;
  scope.claim(reg.name, name_node, owner);
  scope.claim(reg.name + "_RESET", name_node, owner);

  const YAML::Node& offset = map.at("offset", owner);
  reg.offset = number(offset, "offset of " + owner, 0, UINT32_MAX - 7);
  if (reg.offset % 4 != 0)
    fail(offset, "offset " + hex(reg.offset, 2) + " of " + owner + " is not a multiple of 4");
  if (previous && reg.offset <= previous->offset)
    fail(offset, "offset " + hex(reg.offset, 2) + " of " + owner + " is not above the previous register's (" +
                     previous->name + " at " + hex(previous->offset, 2) + "); offsets must be unique and ascending");

  const YAML::Node& access = map.at("access", owner);
  reg.access = scalar(access, "access of " + owner);
  const std::vector<std::string> modes{"RW", "RO", "WO", "W1C"};
  if (std::find(modes.begin(), modes.end(), reg.access) == modes.end())
    fail(access, "access '" + reg.access + "' of " + owner + " is not one of " + join(modes));

  const YAML::Node& reset = map.at("reset", owner);
  reg.reset = number(reset, "reset of " + owner);
  const YAML::Node& description = map.at("description", owner);
  reg.description = prose(description, "description of " + owner);
  placeholders.scan(description, reg.description, owner);

  if (const YAML::Node* fields = map.find("fields")) {
    Scope accessors;
    accessors.claim("value", name_node, "the value member of " + register_type(reg));
    std::uint32_t covered = 0;
    for (const YAML::Node& field : list(*fields, "fields of " + owner)) {
      reg.fields.push_back(read_field(field, reg, scope, accessors, placeholders));
      covered |= reg.fields.back().mask();
    }
    if (reg.reset & ~covered)
      fail(reset, "reset " + hex(reg.reset) + " of " + owner + " sets bits outside its fields (" +
                      hex(reg.reset & ~covered) + ")");
    scope.claim(register_type(reg), name_node, owner);
  }
  return reg;
}

Group read_group(const YAML::Node& node, Scope& block_scope) {
  const Mapping map(node, "group", {"name", "description", "registers"});
  const YAML::Node& name_node = map.at("name", "group");
  Group group;
  group.name = name(name_node, "group name", Case::lower);
  const std::string owner = "group " + group.name;
  block_scope.claim(group.name, name_node, owner);
  group.description = prose(map.at("description", owner), "description of " + owner);

  Scope scope;
  scope.claim("BYTES", name_node, owner);
  Placeholders placeholders(true);
  for (const YAML::Node& reg : list(map.at("registers", owner), "registers of " + owner))
    group.registers.push_back(
        read_register(reg, group.registers.empty() ? nullptr : &group.registers.back(), scope, placeholders));
  group.placeholders = placeholders.names();
  return group;
}

std::string fill_in(const std::string& text, const Instance& instance) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t open = text.find('{'); open != std::string::npos; open = text.find('{', from)) {
    const std::size_t close = text.find('}', open);  // there is one: Placeholders checked the text
    const std::string name = text.substr(open + 1, close - open - 1);
    out += text.substr(from, open - from) + (name == "instance" ? instance.name : instance.vars.at(name));
    from = close + 1;
  }
  return out + text.substr(from);
}

// An instance of a group: its registers, named <INSTANCE>_<register> at base + offset, join the
// block's list at this place.
void read_instance(const YAML::Node& node, Block& block, Scope& scope) {
  const Mapping map(node, "instance", {"instance", "of", "base", "vars"}, "instance");
  const YAML::Node& name_node = map.at("instance", "instance");
  Instance instance;
  instance.name = name(name_node, "instance name", Case::upper);
  const std::string owner = "instance " + instance.name;

  const YAML::Node& of = map.at("of", owner);
  const std::string group_name = name(of, "group of " + owner, Case::lower);
  std::vector<std::string> defined;
  for (const Group& g : block.groups) defined.push_back(g.name);
  const auto found = std::find(defined.begin(), defined.end(), group_name);
  if (found == defined.end())
    fail(of, owner + " is of group '" + group_name + "', which block " + block.name + " does not define" +
                 (defined.empty() ? " (it has no groups)" : " (its groups: " + join(defined) + ")"));
  instance.group = static_cast<std::size_t>(found - defined.begin());
  const Group& group = block.groups[instance.group];

  const YAML::Node& base = map.at("base", owner);
  instance.base = number(base, "base of " + owner, 0, UINT32_MAX - 7 - group.registers.back().offset);
  if (instance.base % 4 != 0) fail(base, "base " + hex(instance.base, 2) + " of " + owner + " is not a multiple of 4");

  const auto uses = [&group](const std::string& var) {
    return std::find(group.placeholders.begin(), group.placeholders.end(), var) != group.placeholders.end();
  };
  if (const YAML::Node* vars = map.find("vars")) {
    if (!vars->IsMap()) fail(*vars, "vars of " + owner + " must be a mapping name: text");
    for (const auto& entry : *vars) {
      const std::string var = name(entry.first, "var of " + owner, Case::lower);
      if (var == "instance") fail(entry.first, "{instance} is the instance's name; " + owner + " cannot set it");
      if (!uses(var))
        fail(entry.first, "var '" + var + "' of " + owner + " is not used by group " + group.name +
                              (group.placeholders.empty() ? "" : " (it uses {" + join(group.placeholders) + "})"));
      if (!instance.vars.emplace(var, prose(entry.second, "var " + var + " of " + owner)).second)
        fail(entry.first, "var '" + var + "' of " + owner + " appears twice");
    }
  }
  for (const std::string& used : group.placeholders)
    if (used != "instance" && instance.vars.count(used) == 0)
      fail(node, owner + " does not set var '" + used + "', which the descriptions of group " + group.name +
                     " use as {" + used + "}");

  const int index = static_cast<int>(block.instances.size());
  block.instances.push_back(instance);
  scope.claim(instance.name + "_BASE", name_node, owner);
  for (const Register& in_group : group.registers) {
    Register reg = in_group;
    reg.name = instance.name + "_" + in_group.name;
    reg.offset = instance.base + in_group.offset;
    reg.description = fill_in(in_group.description, instance);
    for (Field& field : reg.fields) field.description = fill_in(field.description, instance);
    reg.instance = index;
    reg.name_in_group = in_group.name;

    const std::string what = "register " + reg.name + " of " + owner;
    scope.claim(reg.name, name_node, what);
    scope.claim(reg.name + "_RESET", name_node, what);
    for (const Field& field : reg.fields) {
      scope.claim(reg.name + "_" + field.name + "_SHIFT", name_node, what);
      scope.claim(reg.name + "_" + field.name + "_MASK", name_node, what);
      if (!field.values.empty()) scope.claim(enum_type(reg, field), name_node, what);
    }
    if (!reg.fields.empty()) scope.claim(register_type(reg), name_node, what);
    if (!block.registers.empty() && reg.offset <= block.registers.back().offset)
      fail(base, owner + " puts " + reg.name + " at " + hex(reg.offset, 2) + ", not above the previous register (" +
                     block.registers.back().name + " at " + hex(block.registers.back().offset, 2) +
                     "); offsets must be unique and ascending");
    block.registers.push_back(reg);
  }
}

Block read_block(const YAML::Node& node, Scope& namespaces, Scope& tables) {
  const Mapping map(node, "block", {"name", "description", "groups", "registers"});
  const YAML::Node& name_node = map.at("name", "block");
  Block block;
  block.name = name(name_node, "block name", Case::lower);
  const std::string owner = "block " + block.name;
  namespaces.claim(block.name, name_node, owner);
  tables.claim(block.name, name_node, owner);
  tables.claim(block.name + "_regs", name_node, owner);
  block.description = prose(map.at("description", owner), "description of " + owner);

  Scope scope;
  scope.claim("BLOCK_BYTES", name_node, owner);
  if (const YAML::Node* groups = map.find("groups"))
    for (const YAML::Node& group : list(*groups, "groups of " + owner)) block.groups.push_back(read_group(group, scope));
  Placeholders plain(false);
  for (const YAML::Node& item : list(map.at("registers", owner), "registers of " + owner)) {
    if (item.IsMap() && item["instance"].IsDefined())
      read_instance(item, block, scope);
    else
      block.registers.push_back(read_register(item, block.registers.empty() ? nullptr : &block.registers.back(),
                                              scope, plain));
  }
  for (std::size_t g = 0; g < block.groups.size(); ++g)
    if (std::none_of(block.instances.begin(), block.instances.end(),
                     [g](const Instance& instance) { return instance.group == g; }))
      fail(map.at("groups", owner)[g]["name"], "group " + block.groups[g].name + " of " + owner + " has no instance");
  return block;
}

StructField read_struct_field(const YAML::Node& node, const Struct& parent, Scope& scope) {
  const Mapping map(node, "struct field", {"name", "offset", "bytes", "description"});
  const YAML::Node& name_node = map.at("name", "field of struct " + parent.name);
  StructField field;
  field.name = name(name_node, "field name", Case::upper);
  const std::string owner = "field " + parent.name + "." + field.name;
  scope.claim(field.name, name_node, owner);
  scope.claim(field.name + "_BYTES", name_node, owner);

  const YAML::Node& offset = map.at("offset", owner);
  field.offset = number(offset, "offset of " + owner);
  field.bytes = number(map.at("bytes", owner), "bytes of " + owner, 1);
  const std::string range = " (bytes " + std::to_string(field.offset) + ".." +
                            std::to_string(std::uint64_t{field.offset} + field.bytes - 1) + ")";
  if (std::uint64_t{field.offset} + field.bytes > parent.size)
    fail(offset, owner + range + " extends beyond the struct's size of " + std::to_string(parent.size) + " bytes");
  if (!parent.fields.empty()) {
    const StructField& previous = parent.fields.back();
    if (field.offset < previous.offset + previous.bytes)
      fail(offset, owner + range + " overlaps or precedes field " + previous.name + " (bytes " +
                       std::to_string(previous.offset) + ".." +
                       std::to_string(previous.offset + previous.bytes - 1) +
                       "); fields must be in ascending order without overlap");
  }
  field.description = prose(map.at("description", owner), "description of " + owner);
  return field;
}

Struct read_struct(const YAML::Node& node, Scope& namespaces) {
  const Mapping map(node, "struct", {"name", "description", "size", "fields"});
  const YAML::Node& name_node = map.at("name", "struct");
  Struct result;
  result.name = name(name_node, "struct name", Case::lower);
  const std::string owner = "struct " + result.name;
  namespaces.claim(result.name, name_node, owner);
  result.description = prose(map.at("description", owner), "description of " + owner);
  result.size = number(map.at("size", owner), "size of " + owner, 1);

  Scope scope;
  scope.claim("SIZE", name_node, owner);
  for (const YAML::Node& field : list(map.at("fields", owner), "fields of " + owner))
    result.fields.push_back(read_struct_field(field, result, scope));
  return result;
}

Spec read_spec(const YAML::Node& root) {
  const std::string owner = "the register map";
  const Mapping map(root, owner, {"blocks", "structs"});
  Scope namespaces;  // cestvp::regs: blocks and structs
  Scope tables;      // cestvp::regmap: blocks and their register arrays
  namespaces.claim("detail", root, "the namespace of the field accessors' helpers");
  Spec spec;
  for (const YAML::Node& block : list(map.at("blocks", owner), "blocks"))
    spec.blocks.push_back(read_block(block, namespaces, tables));
  if (const YAML::Node* structs = map.find("structs"))
    for (const YAML::Node& s : list(*structs, "structs")) spec.structs.push_back(read_struct(s, namespaces));
  return spec;
}

// Writing the outputs.

int offset_digits(const Block& block) {
  const std::string last = hex(block.registers.back().offset);
  return std::max(2, static_cast<int>(last.size()) - 2);
}

std::uint32_t block_bytes(const Block& block) { return block.registers.back().offset + 4; }

std::string constant(const std::string& name, const std::string& value) {
  return "inline constexpr std::uint32_t " + name + " = " + value + ";";
}

void comment_paragraph(std::ostream& out, const std::string& text) {
  constexpr std::size_t kWidth = 100;
  std::istringstream words(text);
  std::string word, line = "//";
  while (words >> word) {
    if (line.size() + 1 + word.size() > kWidth && line != "//") {
      out << line << '\n';
      line = "//";
    }
    line += " " + word;
  }
  out << line << '\n';
}

void header_enum(std::ostream& out, const Register& reg, const Field& field) {
  const std::string head = "enum class " + enum_type(reg, field) + " : std::uint32_t {";
  std::string one_line = head;
  for (const EnumValue& v : field.values)
    one_line += std::string(&v == &field.values.front() ? " " : ", ") + v.name + " = " + std::to_string(v.value);
  one_line += " };";
  if (one_line.size() <= 100) {
    out << one_line << '\n';
    return;
  }
  out << head << '\n';
  for (const EnumValue& v : field.values) out << "  " << v.name << " = " << v.value << ",\n";
  out << "};\n";
}

// Firmware logs and platform diagnostics print a field's value by the name the map gives it.
void header_enum_names(std::ostream& out, const Register& reg, const Field& field) {
  const std::string type = enum_type(reg, field);
  out << "inline const char* to_string(" << type << " value) {\n  switch (value) {\n";
  for (const EnumValue& v : field.values)
    out << "    case " << type << "::" << v.name << ": return \"" << v.name << "\";\n";
  out << "  }\n  return \"UNKNOWN\";\n}\n";
}

// A one-statement member function, on one line if it fits.
void header_method(std::ostream& out, const std::string& signature, const std::string& result) {
  const std::string one_line = "  " + signature + " { return " + result + "; }";
  if (one_line.size() <= 100)
    out << one_line << '\n';
  else
    out << "  " << signature << " {\n    return " << result << ";\n  }\n";
}

// The value type of a register with fields: Type{word}.<field>() reads a field (typed: an enum,
// bool for one bit, else unsigned), Type{}.with_<field>(x).value builds a word.
void header_register_type(std::ostream& out, const Register& reg) {
  const std::string type = register_type(reg);
  out << "struct " << type << " {\n  std::uint32_t value = 0;\n";
  for (const Field& field : reg.fields) {
    const std::string prefix = reg.name + "_" + field.name;
    const std::string bits = "value, " + prefix + "_MASK, " + prefix + "_SHIFT";
    const std::string get = "detail::get(" + bits + ")";
    const std::string name = accessor(field);
    std::string value_type = "std::uint32_t", read = get, written = "x";
    if (!field.values.empty()) {
      value_type = enum_type(reg, field);
      read = "static_cast<" + value_type + ">(" + get + ")";
      written = "static_cast<std::uint32_t>(x)";
    } else if (field.width() == 1) {
      value_type = "bool";
      read = "(value & " + prefix + "_MASK) != 0";
      written = "x ? 1u : 0u";
    }
    header_method(out, "constexpr " + value_type + " " + name + "() const", read);
    header_method(out, "constexpr " + type + " with_" + name + "(" + value_type + " x) const",
                  "{detail::set(" + bits + ", " + written + ")}");
  }
  out << "};\n";
}

// One register: offset, reset, field constants, and its enums and value type; a group
// instance's register names the group's enums and value type under its own names instead.
void header_register(std::ostream& out, const Register& reg, const Block& block, std::size_t width, int digits) {
  const std::string line = constant(reg.name, hex(reg.offset, digits));
  out << '\n' << line << std::string(width - line.size() + 2, ' ') << "// " << reg.access
      << std::string(4 - reg.access.size(), ' ') << reg.description << '\n';
  out << constant(reg.name + "_RESET", hex(reg.reset)) << '\n';
  const bool aliased = reg.instance >= 0;
  Register in_group = reg;
  std::string group;
  if (aliased) {
    in_group.name = reg.name_in_group;
    group = block.groups[block.instances[reg.instance].group].name + "::";
  }
  for (const Field& field : reg.fields) {
    const std::string prefix = reg.name + "_" + field.name;
    out << constant(prefix + "_SHIFT", std::to_string(field.lsb)) << "  // " << field.description << '\n';
    out << constant(prefix + "_MASK", hex(field.mask())) << '\n';
    if (field.values.empty()) continue;
    if (aliased) {
      out << "using " << enum_type(reg, field) << " = " << group << enum_type(in_group, field) << ";\n";
    } else {
      header_enum(out, reg, field);
      header_enum_names(out, reg, field);
    }
  }
  if (reg.fields.empty()) return;
  if (aliased)
    out << "using " << register_type(reg) << " = " << group << register_type(in_group) << ";\n";
  else
    header_register_type(out, reg);
}

std::size_t constant_width(const std::vector<Register>& registers, int digits) {
  std::size_t width = 0;
  for (const Register& reg : registers) width = std::max(width, constant(reg.name, hex(reg.offset, digits)).size());
  return width;
}

std::string instance_list(const Block& block, std::size_t group) {
  std::vector<std::string> places;
  for (const Instance& instance : block.instances)
    if (instance.group == group) places.push_back(instance.name + " at " + hex(instance.base, offset_digits(block)));
  return join(places);
}

void header_group(std::ostream& out, const Block& block, std::size_t index) {
  const Group& group = block.groups[index];
  out << "\n// Group " << group.name << ", placed at " << instance_list(block, index) << ":\n";
  comment_paragraph(out, group.description);
  out << "// Offsets are from an instance's base; {names} in the descriptions are the instance's.\n";
  out << "namespace " << group.name << " {\n";
  const std::size_t width = constant_width(group.registers, 2);
  for (const Register& reg : group.registers) header_register(out, reg, block, width, 2);
  out << '\n' << constant("BYTES", hex(group.registers.back().offset + 4)) << "  // the span of one instance\n";
  out << "}  // namespace " << group.name << '\n';
  // <block>::to_string names the value of an instance's enum (StceErrorCause, an alias of the
  // group's) as it does for the block's own enums.
  const auto has_enum = [](const Register& reg) {
    return std::any_of(reg.fields.begin(), reg.fields.end(), [](const Field& f) { return !f.values.empty(); });
  };
  if (std::any_of(group.registers.begin(), group.registers.end(), has_enum))
    out << "using " << group.name << "::to_string;\n";
}

void header_block(std::ostream& out, const Block& block) {
  out << "\nnamespace " << block.name << " {\n";
  comment_paragraph(out, block.description);
  for (std::size_t g = 0; g < block.groups.size(); ++g) header_group(out, block, g);
  const std::size_t width = constant_width(block.registers, offset_digits(block));
  int instance = -1;
  for (const Register& reg : block.registers) {
    if (reg.instance >= 0 && reg.instance != instance) {
      const Instance& in = block.instances[reg.instance];
      out << "\n// " << in.name << ": group " << block.groups[in.group].name << " at " << hex(in.base, offset_digits(block))
          << "; its registers are " << in.name << "_BASE + " << block.groups[in.group].name << "::<register>.\n"
          << constant(in.name + "_BASE", hex(in.base, offset_digits(block))) << '\n';
    }
    instance = reg.instance;
    header_register(out, reg, block, width, offset_digits(block));
  }
  out << '\n' << constant("BLOCK_BYTES", hex(block_bytes(block))) << '\n';
  out << "}  // namespace " << block.name << '\n';
}

void header_struct(std::ostream& out, const Struct& s) {
  out << "\nnamespace " << s.name << " {\n";
  comment_paragraph(out, s.description);
  out << '\n' << constant("SIZE", std::to_string(s.size)) << '\n';
  for (const StructField& field : s.fields) {
    out << constant(field.name, std::to_string(field.offset)) << "  // " << field.description << '\n';
    out << constant(field.name + "_BYTES", std::to_string(field.bytes)) << '\n';
  }
  out << "}  // namespace " << s.name << '\n';
}

std::string firmware_header(const Spec& spec, const std::string& source) {
  std::ostringstream out;
  out << "// Generated from " << source << " by regmap-gen; do not edit.\n"
      << "// Register offsets are bytes from the block base. Per field: _SHIFT is its lowest bit and\n"
      << "// _MASK its bits in register position. A register with fields also has a value type, named\n"
      << "// in CamelCase (register KERNEL_SIZE: KernelSize), that reads and builds its fields by name:\n"
      << "//   KernelSize{word}.height()                         the HEIGHT field of a word read\n"
      << "//   KernelSize{}.with_height(3).with_width(5).value   a word to write\n"
      << "// Accessors of one-bit fields take and give bool, of enum fields the enum; with_<field> drops\n"
      << "// the bits of a value that do not fit, as the hardware would. A group (registers placed at\n"
      << "// several bases) has its own namespace with offsets from the base; its instances' registers\n"
      << "// are also listed by name (<INSTANCE>_<REGISTER> = <INSTANCE>_BASE + <group>::<REGISTER>),\n"
      << "// with the group's enums and value types. Struct fields: byte offset and _BYTES size.\n"
      << "#pragma once\n#include <cstdint>\n\nnamespace cestvp::regs {\n\n"
      << "namespace detail {\n"
      << "constexpr std::uint32_t get(std::uint32_t word, std::uint32_t mask, std::uint32_t shift) {\n"
      << "  return (word & mask) >> shift;\n}\n"
      << "// (field & max) << shift rather than (field << shift) & mask: the same bits, and GCC then\n"
      << "// compiles a word built field by field to the same instructions as an OR of shifted fields\n"
      << "// (the RV64 firmware's instruction count is simulated time).\n"
      << "constexpr std::uint32_t set(std::uint32_t word, std::uint32_t mask, std::uint32_t shift, std::uint32_t field) {\n"
      << "  return (word & ~mask) | ((field & (mask >> shift)) << shift);\n}\n"
      << "}  // namespace detail\n";
  for (const Block& block : spec.blocks) header_block(out, block);
  for (const Struct& s : spec.structs) header_struct(out, s);
  out << "\n}  // namespace cestvp::regs\n";
  return out.str();
}

std::string tables_header(const Spec& spec, const std::string& source) {
  std::ostringstream out;
  out << "// Generated from " << source << " by regmap-gen; do not edit.\n"
      << "#pragma once\n#include \"regspec.h\"\n\nnamespace cestvp::regmap {\n\n";
  for (const Block& block : spec.blocks) out << "extern const BlockSpec " << block.name << ";\n";
  out << "\n}  // namespace cestvp::regmap\n";
  return out.str();
}

std::string cpp_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += (c == '"' || c == '\\') ? std::string{'\\', c} : std::string{c};
  return out + "\"";
}

std::string tables_source(const Spec& spec, const std::string& source) {
  std::ostringstream out;
  out << "// Generated from " << source << " by regmap-gen; do not edit.\n"
      << "#include \"regmap_tables.h\"\n\n#include <iterator>\n\nnamespace cestvp::regmap {\nnamespace {\n";
  for (const Block& block : spec.blocks) {
    out << "\nconst RegSpec " << block.name << "_regs[] = {\n";
    for (const Register& reg : block.registers)
      out << "    {" << cpp_string(reg.name) << ", " << hex(reg.offset, offset_digits(block)) << ", Access::"
          << reg.access << ", " << hex(reg.reset) << ", " << cpp_string(reg.description) << "},\n";
    out << "};\n";
  }
  out << "\n}  // namespace\n\n";
  for (const Block& block : spec.blocks)
    out << "const BlockSpec " << block.name << "{\"" << block.name << "\", " << block.name << "_regs, std::size("
        << block.name << "_regs)};\n";
  out << "\n}  // namespace cestvp::regmap\n";
  return out.str();
}

// Table cells: a '|' would end the cell and a '<' could open an HTML tag.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? "\\|" : c == '<' ? "&lt;" : std::string{c};
  return out;
}

std::string field_cell(const Field& field) {
  std::string out = field.description;
  for (const EnumValue& v : field.values)
    out += (&v == &field.values.front() ? " Values: " : ", ") + std::to_string(v.value) + " = " + v.name;
  return cell(out + (field.values.empty() ? "" : "."));
}

void markdown_fields(std::ostream& out, const std::string& title, const Register& reg) {
  out << "\n" << title << " fields\n\n| Bits | Field | Description |\n|-----:|-------|-------------|\n";
  for (const Field& field : reg.fields)
    out << "| " << bits_text(field) << " | " << field.name << " | " << field_cell(field) << " |\n";
}

void markdown_register_rows(std::ostream& out, const std::vector<Register>& registers, const std::string& offset_prefix,
                            int digits) {
  out << "| Offset | Name | Access | Reset | Description |\n|-------:|------|--------|------:|-------------|\n";
  for (const Register& reg : registers)
    out << "| " << offset_prefix << hex(reg.offset, digits) << " | " << reg.name << " | " << reg.access << " | "
        << hex(reg.reset) << " | " << cell(reg.description) << " |\n";
}

// A group once: its instances (base and the texts each fills in), then its registers.
void markdown_group(std::ostream& out, const Block& block, std::size_t index) {
  const Group& group = block.groups[index];
  out << "\n### Group `" << group.name << "` of block `" << block.name << "`\n\n" << group.description << "\n\n";
  const Instance& first = *std::find_if(block.instances.begin(), block.instances.end(),
                                        [index](const Instance& instance) { return instance.group == index; });
  out << "Each instance has these registers at its base plus the offset below, named after the instance: "
      << "the " << group.registers.front().name << " of " << first.name << " is " << first.name << "_"
      << group.registers.front().name << ".";
  std::vector<std::string> vars;
  for (const std::string& name : group.placeholders)
    if (name != "instance") vars.push_back(name);
  out << " In the descriptions, {instance} stands for the instance's name";
  out << (vars.empty() ? "" : " and the other {names} for its texts in the table") << ".\n\n";
  out << "| Instance | Base |";
  for (const std::string& var : vars) out << " {" << var << "} |";
  out << "\n|----------|-----:|";
  for (std::size_t i = 0; i < vars.size(); ++i) out << "-------------|";
  out << '\n';
  for (const Instance& instance : block.instances) {
    if (instance.group != index) continue;
    out << "| " << instance.name << " | " << hex(instance.base, offset_digits(block)) << " |";
    for (const std::string& var : vars) out << ' ' << cell(instance.vars.at(var)) << " |";
    out << '\n';
  }
  out << '\n';
  markdown_register_rows(out, group.registers, "+", 2);
  for (const Register& reg : group.registers)
    if (!reg.fields.empty())
      markdown_fields(out, "#### " + group.name + "." + reg.name + " (+" + hex(reg.offset, 2) + ")", reg);
}

void markdown_block(std::ostream& out, const Block& block) {
  out << "\n## Block `" << block.name << "`\n\n" << block.description << "\n\n";
  // A group instance is one row here; the group's section lists its registers.
  std::vector<Register> rows;
  for (const Register& reg : block.registers) {
    if (reg.instance < 0) {
      rows.push_back(reg);
      continue;
    }
    if (!rows.empty() && rows.back().instance == reg.instance) continue;
    const Instance& instance = block.instances[reg.instance];
    const Group& group = block.groups[instance.group];
    Register row = reg;
    row.name = instance.name + "_*";
    row.access = "";
    const int digits = offset_digits(block);
    row.description = "Group `" + group.name + "` (below) at base " + hex(instance.base, digits) + ": " +
                      instance.name + "_" + group.registers.front().name + " to " + instance.name + "_" +
                      group.registers.back().name + " (" + hex(instance.base + group.registers.back().offset, digits) +
                      ").";
    rows.push_back(row);
  }
  out << "| Offset | Name | Access | Reset | Description |\n|-------:|------|--------|------:|-------------|\n";
  for (const Register& reg : rows)
    out << "| " << hex(reg.offset, offset_digits(block)) << " | " << reg.name << " | " << reg.access << " | "
        << (reg.instance < 0 ? hex(reg.reset) : "") << " | " << cell(reg.description) << " |\n";
  for (std::size_t g = 0; g < block.groups.size(); ++g) markdown_group(out, block, g);
  for (const Register& reg : block.registers)
    if (reg.instance < 0 && !reg.fields.empty())
      markdown_fields(out, "### " + block.name + "." + reg.name + " (" + hex(reg.offset, offset_digits(block)) + ")",
                      reg);
}

void markdown_struct(std::ostream& out, const Struct& s) {
  out << "\n## Struct `" << s.name << "` (" << s.size << " bytes)\n\n" << s.description << "\n\n";
  out << "| Offset | Bytes | Field | Description |\n|-------:|------:|-------|-------------|\n";
  for (const StructField& field : s.fields)
    out << "| " << field.offset << " | " << field.bytes << " | " << field.name << " | " << cell(field.description)
        << " |\n";
}

std::string markdown(const Spec& spec, const std::string& source) {
  std::ostringstream out;
  out << "# CEST-VP register map\n\n"
      << "Generated from `" << source << "` by regmap-gen. Do not edit this file by hand: change the\n"
      << "YAML, then refresh this copy with `cmake --build build --target regmap-doc` (a test fails\n"
      << "while it is out of date).\n\n"
      << "Offsets are bytes from the block's base address; registers are 32 bits wide. Access: RW\n"
      << "read/write; RO read-only (writes are errors); WO write-only (reads are errors); W1C readable,\n"
      << "writing 1 to a bit clears it. Struct offsets and sizes are in bytes.\n";
  for (const Block& block : spec.blocks) markdown_block(out, block);
  for (const Struct& s : spec.structs) markdown_struct(out, s);
  return out.str();
}

// Leaving an unchanged file alone keeps its timestamp, so nothing that includes it rebuilds.
void write_if_changed(const fs::path& path, const std::string& content) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream old;
  if (in && old << in.rdbuf() && old.str() == content) return;
  in.close();
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!(out << content) || !out.flush()) throw std::runtime_error("cannot write " + path.string());
}

std::string location(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source + ": ";
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: regmap-gen <regmap.yaml> <out-dir>\n";
    return 2;
  }
  const std::string source = argv[1];
  const fs::path out_dir = argv[2];
  try {
    const Spec spec = read_spec(YAML::LoadFile(source));
    write_if_changed(out_dir / "firmware" / "cestvp" / "regs.h", firmware_header(spec, source));
    write_if_changed(out_dir / "models" / "regmap_tables.h", tables_header(spec, source));
    write_if_changed(out_dir / "models" / "regmap_tables.cpp", tables_source(spec, source));
    write_if_changed(out_dir / "docs" / "regmap.md", markdown(spec, source));
    return 0;
  } catch (const SpecError& e) {
    std::cerr << location(source, e.mark) << e.message << '\n';
  } catch (const YAML::BadFile&) {
    std::cerr << source << ": cannot open the file\n";
  } catch (const YAML::ParserException& e) {
    std::cerr << location(source, e.mark) << "YAML syntax error: " << e.msg << '\n';
  } catch (const std::exception& e) {
    std::cerr << "regmap-gen: " << e.what() << '\n';
  }
  return 1;
}
