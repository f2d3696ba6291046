// Records what happens on the platform for a user: a VCD for GTKWave (with a .gtkw save file
// next to it that groups and shows the signals) and a one-line-per-transaction text log.
//
// Initiators run temporally decoupled, so events arrive with local times that may lie ahead of
// sc_time_stamp() and out of order across initiators. The tracer buffers value changes and
// writes them sorted; anything earlier than the current simulation time is final, so every
// time passed in should be >= sc_time_stamp() at the call. The one expected exception is a
// transaction's start when the target waited inside b_transport: the tracer learns how far
// such starts lag and holds back twice that before writing. A change that still arrives after
// its time was written is moved to the last written time and counted in a warning at close().
//
// Bus signals, under satvp.bus.<initiator>:
//   busy    1 from a transaction's start to its end
//   cmd     0 read, 1 write, 2 ignore
//   addr    the global bus address; len: the data length in bytes
//   target  index into declare_targets(), 255 unmapped
//   resp    set at the end: 0 OK, 1 INCOMPLETE, 2 GENERIC_ERROR, 3 ADDRESS_ERROR,
//           4 COMMAND_ERROR, 5 BURST_ERROR, 6 BYTE_ENABLE_ERROR
// A zero-duration transaction would be a pulse on busy that no viewer can draw, so it leaves
// busy 0 and only changes the other signals.
//
// Text signals (declare_text: what the firmware is doing, "layer 3 conv2d FF") are 32-bit
// vectors in the VCD whose value numbers the distinct texts in order of first use, 0 meaning
// no text. Texts are only known during the run, so their translate filter file
// (trace.<scope>.<name>.filter, "N text" per line) is written at close(). VCD string variables
// would need no filter, but GTKWave cuts their values at the first space.
//
// close() writes, next to trace.vcd, trace.gtkw (first the scopes of text signals, then one
// group per initiator, then one per other scope, zoomed to the whole run) and translate filter
// files trace.{cmd,target,resp}.filter through which GTKWave shows the codes above by name.
// The same events give a byte-identical VCD, filters and log.
//
// Log line: "<start> ns  <initiator> -> <target|unmapped>  R|W|-  0x<address, 16 hex digits>
// <length>  <OK|ADDRESS_ERROR|...>  <duration> ns", times in ns with 3 decimals. A text
// signal's change is a comment line "# <time> ns  <scope>.<name>  <text>", its time in the
// start column, written when the text differs from the one logged before for that signal.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>

#include "output_file.h"

namespace cestvp {

class VcdWriter;

class Tracer {
 public:
  struct Options {
    std::string vcd_path;  // empty: no VCD
    std::string log_path;  // empty: no transaction log
  };
  struct Signal {
    std::uint32_t id = UINT32_MAX;
    bool valid() const { return id != UINT32_MAX; }
  };
  // A separate type, so that a text signal cannot be given a number by change().
  struct TextSignal {
    std::uint32_t id = UINT32_MAX;
    bool valid() const { return id != UINT32_MAX; }
  };

  explicit Tracer(const Options& options);
  ~Tracer();  // close()
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  bool vcd_enabled() const;
  bool log_enabled() const;

  // Declarations come before the first event. scope is dot-separated ("dma", "irq").
  // A signal of width 1 is a wire; wider ones are vectors shown in hex.
  // value_names, if given, name the values 0, 1, ...: GTKWave shows the names.
  Signal declare(const std::string& scope, const std::string& name, unsigned width,
                 std::vector<std::string> value_names = {});
  // A signal whose values are texts, for the VCD and the log; invalid when neither is written.
  // Declared after tracing began, it still reaches the log.
  TextSignal declare_text(const std::string& scope, const std::string& name);
  // Declares bus.<name>.{busy,cmd,addr,len,resp,target} for one bus initiator; returns its index.
  unsigned declare_initiator(const std::string& name);
  // Target names, by index, for the target signal's legend and the text log.
  void declare_targets(const std::vector<std::string>& names);

  // One bus transaction of initiator `initiator` to target `target` (-1: unmapped) that was
  // issued at local time `start` and completed at `end`.
  void transaction(unsigned initiator, int target, const tlm::tlm_generic_payload& gp,
                   const sc_core::sc_time& start, const sc_core::sc_time& end);
  void change(Signal signal, const sc_core::sc_time& at, std::uint64_t value);
  // Control characters in text become spaces (a filter file holds one text per line); an
  // empty text means none and shows as "-".
  void change_text(TextSignal signal, const sc_core::sc_time& at, std::string_view text);

  std::uint64_t transactions() const { return transactions_; }

  // Writes everything buffered, the .gtkw save file, and closes the files. Idempotent.
  void close();
  // The files that could not be written whole (after close()); a failed trace is removed.
  const std::vector<OutputFailure>& failures() const { return failures_; }

 private:
  struct InitiatorSignals {
    std::string name;
    Signal busy, cmd, addr, len, resp, target;
  };
  struct TextSignalState {
    std::string full_name;  // "scope.name", for the log
    Signal vcd;             // invalid when the VCD is off or the signal came too late
    std::size_t names = 0;  // index into value_names_, whose list grows with each new text
    std::unordered_map<std::string, std::uint64_t> codes;  // text -> value in the VCD
    std::string logged;     // the last text written to the log
  };

  std::uint64_t to_ps(const sc_core::sc_time& t);
  void init_time_scale();
  void note_lag(std::uint64_t start_ps);
  void flush_if_due();
  void trace_transaction(const InitiatorSignals& s, int target,
                         const tlm::tlm_generic_payload& gp, std::uint64_t start_ps,
                         std::uint64_t end_ps);
  void log_transaction(const InitiatorSignals& s, int target,
                       const tlm::tlm_generic_payload& gp, std::uint64_t start_ps,
                       std::uint64_t end_ps);
  std::uint64_t text_code(TextSignalState& s, const std::string& text);
  void log_text(TextSignalState& s, std::uint64_t at_ps, const std::string& text);
  void update_legend();
  std::string legend(const char* indent) const;
  void append_target(std::string& out, int target) const;
  void write_filters(const std::string& stem) const;
  std::string value_filter_path(const std::string& stem, std::uint32_t signal) const;
  void write_save_file(const std::string& stem) const;

  std::unique_ptr<VcdWriter> vcd_;
  std::unique_ptr<OutputFile> log_;
  std::string vcd_path_;
  std::vector<InitiatorSignals> initiators_;
  std::vector<std::string> targets_;
  std::vector<TextSignalState> text_signals_;
  std::vector<std::pair<std::uint32_t, std::vector<std::string>>> value_names_;  // by signal
  std::uint64_t transactions_ = 0;
  // sc_time values to ps, learnt at the first event: asking for the resolution earlier would
  // fix it before the platform has had a chance to set it.
  std::uint64_t ps_mul_ = 0;
  std::uint64_t ps_div_ = 0;
  std::uint64_t max_lag_ps_ = 0;  // largest sc_time_stamp() - start seen in transaction()
  std::string line_;  // log line being built, reused so that logging does not allocate
  std::string text_;  // a text being cleaned, reused likewise
  std::vector<OutputFailure> failures_;
};

}  // namespace cestvp
