#include "vcd_writer.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <utility>

namespace cestvp {

namespace {

// A first flush sorts at most this many changes; the buffer stays a few MB.
constexpr std::size_t kFlushChanges = std::size_t{1} << 16;
constexpr std::size_t kDrainBytes = std::size_t{1} << 20;

// Identifier codes as other VCD writers make them: base 94 over the printable characters.
std::string id_code(std::uint32_t index) {
  std::string code;
  do {
    code.push_back(static_cast<char>('!' + index % 94));
    index /= 94;
  } while (index != 0);
  return code;
}

struct ScopeNode {
  std::string name;
  std::vector<std::size_t> children;
  std::vector<std::uint32_t> signals;
};

std::size_t child(std::vector<ScopeNode>& nodes, std::size_t parent, const std::string& name) {
  for (std::size_t c : nodes[parent].children)
    if (nodes[c].name == name) return c;
  nodes.push_back(ScopeNode{name, {}, {}});
  nodes[parent].children.push_back(nodes.size() - 1);
  return nodes.size() - 1;
}

// Scopes in the order they were first declared, so the file reads like the declarations.
std::vector<ScopeNode> scope_tree(const std::string& top,
                                  const std::vector<VcdWriter::Signal>& signals) {
  std::vector<ScopeNode> nodes{ScopeNode{top, {}, {}}};
  for (std::uint32_t i = 0; i < signals.size(); ++i) {
    std::size_t node = 0;
    const std::string& scope = signals[i].scope;
    for (std::size_t begin = 0; begin < scope.size();) {
      std::size_t dot = std::min(scope.find('.', begin), scope.size());
      node = child(nodes, node, scope.substr(begin, dot - begin));
      begin = dot + 1;
    }
    nodes[node].signals.push_back(i);
  }
  return nodes;
}

}  // namespace

VcdWriter::VcdWriter(const std::string& path, std::string top_scope)
    : top_(std::move(top_scope)), flush_at_(kFlushChanges) {
  file_ = std::make_unique<OutputFile>(path);
  pending_.reserve(kFlushChanges);
  out_.reserve(kDrainBytes + 4096);
}

VcdWriter::~VcdWriter() { close(time_); }

std::uint32_t VcdWriter::declare(const std::string& scope, const std::string& name,
                                 unsigned width) {
  assert(!header_written_ && "signals are declared before the first change is written");
  assert(width >= 1 && width <= 64);
  auto index = static_cast<std::uint32_t>(signals_.size());
  signals_.push_back(Signal{scope, name, width});
  ids_.push_back(id_code(index));
  masks_.push_back(width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1);
  current_.push_back(0);
  latest_.push_back(0);
  in_group_.push_back(false);
  return index;
}

void VcdWriter::set_comment(std::string text) {
  assert(!header_written_);
  comment_ = std::move(text);
}

std::string VcdWriter::full_name(std::uint32_t signal) const {
  const Signal& s = signals_[signal];
  std::string name = top_ + '.';
  if (!s.scope.empty()) name += s.scope + '.';
  name += s.name;
  if (s.width > 1) name += '[' + std::to_string(s.width - 1) + ":0]";
  return name;
}

void VcdWriter::flush(std::uint64_t before_ps) {
  if (closed_) return;
  if (!header_written_) write_header();
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const Change& a, const Change& b) { return a.at < b.at; });
  auto final_end = std::partition_point(pending_.begin(), pending_.end(),
                                        [before_ps](const Change& c) { return c.at < before_ps; });
  write_changes(pending_.data(), pending_.data() + (final_end - pending_.begin()));
  pending_.erase(pending_.begin(), final_end);
  // What stays is ahead of simulated time; without growing the threshold a buffer that is
  // mostly future changes would be re-sorted on every change.
  flush_at_ = std::max(kFlushChanges, 2 * pending_.size());
}

void VcdWriter::close(std::uint64_t end_ps) {
  if (closed_) return;
  flush(UINT64_MAX);
  if (end_ps > time_) write_time(end_ps);
  drain();
  file_->close();
  closed_ = true;
}

void VcdWriter::write_header() {
  header_written_ = true;
  out_ += "$version CEST-VP $end\n";
  if (!comment_.empty()) out_ += "$comment\n" + comment_ + "$end\n";
  out_ += "$timescale 1ps $end\n";
  std::vector<ScopeNode> nodes = scope_tree(top_, signals_);
  // Iterative depth-first walk: (node, next child to visit).
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, 0}};
  out_ += "$scope module " + top_ + " $end\n";
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next == 0) {
      for (std::uint32_t s : nodes[node].signals) {
        const Signal& sig = signals_[s];
        out_ += "$var wire " + std::to_string(sig.width) + ' ' + ids_[s] + ' ' + sig.name;
        if (sig.width > 1) out_ += " [" + std::to_string(sig.width - 1) + ":0]";
        out_ += " $end\n";
      }
    }
    if (next < nodes[node].children.size()) {
      std::size_t c = nodes[node].children[next++];
      out_ += "$scope module " + nodes[c].name + " $end\n";
      stack.emplace_back(c, 0);
    } else {
      out_ += "$upscope $end\n";
      stack.pop_back();
    }
  }
  out_ += "$enddefinitions $end\n#0\n$dumpvars\n";
  for (std::uint32_t s = 0; s < signals_.size(); ++s) write_value(s, 0);
  out_ += "$end\n";
}

void VcdWriter::write_changes(const Change* begin, const Change* end) {
  while (begin != end) {
    const Change* group_end = begin;
    while (group_end != end && group_end->at == begin->at) ++group_end;
    if (begin->at < time_) late_ += static_cast<std::uint64_t>(group_end - begin);
    write_group(std::max(begin->at, time_), begin, group_end);
    begin = group_end;
  }
  if (out_.size() >= kDrainBytes) drain();
}

// Only the last change of each signal in the group counts, and only if it differs from what
// the file already shows: a busy that drops and rises again at one instant leaves no trace.
void VcdWriter::write_group(std::uint64_t at, const Change* begin, const Change* end) {
  for (const Change* c = begin; c != end; ++c) {
    if (!in_group_[c->signal]) {
      in_group_[c->signal] = true;
      touched_.push_back(c->signal);
    }
    latest_[c->signal] = c->value & masks_[c->signal];
  }
  for (std::uint32_t s : touched_) {
    in_group_[s] = false;
    if (latest_[s] == current_[s]) continue;
    if (at != time_) write_time(at);
    current_[s] = latest_[s];
    write_value(s, latest_[s]);
  }
  touched_.clear();
}

void VcdWriter::write_value(std::uint32_t signal, std::uint64_t value) {
  char text[80];  // 'b', 64 bits, ' ', an id of at most 5 characters, '\n'
  char* p = text;
  if (signals_[signal].width == 1) {
    *p++ = value ? '1' : '0';
  } else {
    *p++ = 'b';
    int bit = value == 0 ? 0 : 63 - __builtin_clzll(value);
    for (; bit >= 0; --bit) *p++ = static_cast<char>('0' + ((value >> bit) & 1));
    *p++ = ' ';
  }
  const std::string& id = ids_[signal];
  p = std::copy(id.begin(), id.end(), p);
  *p++ = '\n';
  out_.append(text, static_cast<std::size_t>(p - text));
}

void VcdWriter::write_time(std::uint64_t at) {
  char text[24] = "#";
  char* end = std::to_chars(text + 1, text + sizeof text - 1, at).ptr;
  *end++ = '\n';
  out_.append(text, static_cast<std::size_t>(end - text));
  time_ = at;
}

void VcdWriter::drain() {
  file_->write(out_);
  out_.clear();
}

}  // namespace cestvp
