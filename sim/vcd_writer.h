// Writes a VCD file (timescale 1 ps) from value changes that arrive out of time order.
//
// Changes are buffered. flush(before) sorts the buffer (stable, so among changes of one signal
// at one time the last reported wins) and writes every change earlier than `before`; the
// caller promises that no later change will be earlier than that. A change that breaks the
// promise is written at the last written time, so the file stays monotonic and loadable.
//
// The writer knows nothing about SystemC: times are integers in ps. The header carries no date,
// so the same changes always give a byte-identical file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "output_file.h"

namespace cestvp {

class VcdWriter {
 public:
  struct Signal {
    std::string scope;  // dot-separated, below the top scope
    std::string name;
    unsigned width;
  };

  // Throws OutputError naming the file if it cannot be created.
  VcdWriter(const std::string& path, std::string top_scope);
  ~VcdWriter();  // close() at the last written time
  VcdWriter(const VcdWriter&) = delete;
  VcdWriter& operator=(const VcdWriter&) = delete;

  // Declarations and the comment must come before the header is written, that is before the
  // first flush() or close().
  std::uint32_t declare(const std::string& scope, const std::string& name, unsigned width);
  void set_comment(std::string text);

  void change(std::uint32_t signal, std::uint64_t at_ps, std::uint64_t value) {
    pending_.push_back(Change{at_ps, value, signal});
  }
  // True when the buffer is large enough that flushing is worth a sort.
  bool flush_due() const { return pending_.size() >= flush_at_; }
  void flush(std::uint64_t before_ps);
  // Writes everything left and a final timestamp at end_ps (or at the last change if later),
  // so that a viewer shows the whole run. Idempotent.
  void close(std::uint64_t end_ps);
  // False once a write to the file has failed (disk full, ...); the file is then removed at
  // close() and error() says what failed.
  bool ok() const { return file_->ok(); }
  const std::string& error() const { return file_->error(); }
  const std::string& path() const { return file_->path(); }

  bool header_written() const { return header_written_; }
  const std::vector<Signal>& signals() const { return signals_; }
  // "top.scope.name" for a wire, "top.scope.name[7:0]" for a vector: how GTKWave names it.
  std::string full_name(std::uint32_t signal) const;
  // The time of the last timestamp written; after close() the end of the trace.
  std::uint64_t last_time_ps() const { return time_; }
  // Changes that arrived after their time had been written and were moved to the last
  // written time.
  std::uint64_t late_changes() const { return late_; }

 private:
  struct Change {
    std::uint64_t at;
    std::uint64_t value;
    std::uint32_t signal;
  };

  void write_header();
  void write_changes(const Change* begin, const Change* end);
  void write_group(std::uint64_t at, const Change* begin, const Change* end);
  void write_value(std::uint32_t signal, std::uint64_t value);
  void write_time(std::uint64_t at);
  void drain();

  std::string top_;
  std::unique_ptr<OutputFile> file_;
  std::string comment_;
  std::vector<Signal> signals_;
  std::vector<std::string> ids_;        // VCD identifier code per signal
  std::vector<std::uint64_t> masks_;    // all ones in the signal's width
  std::vector<std::uint64_t> current_;  // value in the file per signal
  std::vector<std::uint64_t> latest_;   // value at the end of the group being written
  std::vector<std::uint32_t> touched_;  // signals changed in that group, in first-change order
  std::vector<bool> in_group_;
  std::vector<Change> pending_;
  std::size_t flush_at_;
  std::string out_;  // output buffer; per-change stdio calls would dominate the cost
  std::uint64_t time_ = 0;
  std::uint64_t late_ = 0;
  bool header_written_ = false;
  bool closed_ = false;
};

}  // namespace cestvp
