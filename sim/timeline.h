// The run as a Chrome / Perfetto trace (chrome://tracing, ui.perfetto.dev): one track per SAT
// engine, one for the DMA, one for the firmware's phases (layer and pass). Models report spans
// of simulated time; close() writes them as complete events ("ph": "X", microseconds), tracks
// named by metadata events, in the order the tracks were declared.
//
// Initiators run temporally decoupled, so spans arrive out of order; the viewer sorts them.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace cestvp {

class Timeline {
 public:
  explicit Timeline(std::string path);
  ~Timeline();  // close()
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  using Track = std::uint32_t;
  Track declare(const std::string& name);

  // A span [start_ps, end_ps) on a track; `name` is what the viewer shows on it.
  void span(Track track, const std::string& name, std::uint64_t start_ps, std::uint64_t end_ps);

  // A phase track: each mark ends the phase the track was in and starts `name` (empty: none).
  void mark(Track track, const std::string& name, std::uint64_t at_ps);

  std::size_t spans() const { return spans_.size(); }
  // Ends open phases at `end_ps` and writes the file (atomically). Idempotent.
  void close(std::uint64_t end_ps);
  // Why the file could not be written (after close()), or "".
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  struct Span {
    Track track;
    std::uint32_t name;  // index into names_
    std::uint64_t start_ps, end_ps;
  };
  struct Open {
    std::string name;
    std::uint64_t start_ps = 0;
  };
  std::uint32_t intern(const std::string& name);

  std::string path_;
  std::vector<std::string> tracks_, names_;
  std::unordered_map<std::string, std::uint32_t> name_index_;  // names repeat: every STCE job is "job"
  std::vector<Open> open_;  // per track: the phase a mark started
  std::vector<Span> spans_;
  bool closed_ = false;
  std::string error_;
};

}  // namespace cestvp
