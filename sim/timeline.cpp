#include "timeline.h"

#include <cstdio>
#include <unordered_map>
#include <utility>

#include "output_file.h"

namespace cestvp {

namespace {

constexpr std::size_t kWriteChunk = std::size_t{1} << 20;

// Picoseconds as microseconds with all six decimals: the trace keeps the simulator's precision.
std::string micros(std::uint64_t ps) {
  char text[32];
  std::snprintf(text, sizeof text, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                static_cast<unsigned long long>(ps % 1000000));
  return text;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

Timeline::Timeline(std::string path) : path_(std::move(path)) {}

Timeline::~Timeline() {
  if (!closed_) close(0);
}

Timeline::Track Timeline::declare(const std::string& name) {
  tracks_.push_back(name);
  open_.emplace_back();
  return static_cast<Track>(tracks_.size() - 1);
}

std::uint32_t Timeline::intern(const std::string& name) {
  const auto [at, added] = name_index_.try_emplace(name, static_cast<std::uint32_t>(names_.size()));
  if (added) names_.push_back(name);
  return at->second;
}

void Timeline::span(Track track, const std::string& name, std::uint64_t start_ps, std::uint64_t end_ps) {
  if (end_ps < start_ps) std::swap(start_ps, end_ps);
  spans_.push_back({track, intern(name), start_ps, end_ps});
}

void Timeline::mark(Track track, const std::string& name, std::uint64_t at_ps) {
  Open& open = open_.at(track);
  if (!open.name.empty()) span(track, open.name, open.start_ps, at_ps);
  open = {name, at_ps};
}

void Timeline::close(std::uint64_t end_ps) {
  if (closed_) return;
  closed_ = true;
  for (Track t = 0; t < open_.size(); ++t)
    if (!open_[t].name.empty() && end_ps >= open_[t].start_ps) mark(t, "", end_ps);
  // Written in pieces: a long run has millions of spans.
  try {
    AtomicOutputFile file(path_);
    std::string out =
        "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"source\": \"CEST-VP\", \"time\": \"simulated\"},\n"
        "\"traceEvents\": [\n";
    out += "{\"ph\": \"M\", \"pid\": 1, \"name\": \"process_name\", \"args\": {\"name\": \"CEST-VP\"}}";
    for (Track t = 0; t < tracks_.size(); ++t) {
      const std::string tid = std::to_string(t + 1);
      out += ",\n{\"ph\": \"M\", \"pid\": 1, \"tid\": " + tid +
             ", \"name\": \"thread_name\", \"args\": {\"name\": " + quoted(tracks_[t]) + "}}";
      out += ",\n{\"ph\": \"M\", \"pid\": 1, \"tid\": " + tid +
             ", \"name\": \"thread_sort_index\", \"args\": {\"sort_index\": " + std::to_string(t) + "}}";
    }
    for (const Span& s : spans_) {
      out += ",\n{\"ph\": \"X\", \"pid\": 1, \"tid\": " + std::to_string(s.track + 1) +
             ", \"name\": " + quoted(names_[s.name]) + ", \"ts\": " + micros(s.start_ps) +
             ", \"dur\": " + micros(s.end_ps - s.start_ps) + "}";
      if (out.size() >= kWriteChunk) {
        file.write(out);
        out.clear();
      }
    }
    out += "\n]}\n";
    file.write(out);
    file.commit();
  } catch (const OutputError& e) {
    error_ = e.error();
  }
}

}  // namespace cestvp
