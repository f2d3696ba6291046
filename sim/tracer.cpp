#include "tracer.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "output_file.h"
#include "tlm_access.h"
#include "vcd_writer.h"

namespace cestvp {

namespace {

constexpr const char* kTopScope = "satvp";
constexpr std::uint64_t kUnmappedTarget = 0xFF;
constexpr unsigned kTextWidth = 32;
constexpr const char* kNoText = "-";  // what value 0 of a text signal shows

const char* const kCommandNames[] = {"read", "write", "ignore"};
const char kCommandLetters[] = {'R', 'W', '-'};

unsigned command_code(tlm::tlm_command command) {
  switch (command) {
    case tlm::TLM_READ_COMMAND: return 0;
    case tlm::TLM_WRITE_COMMAND: return 1;
    default: return 2;
  }
}


// GTKWave save-file trace flags (gtkwave's TR_* bits).
constexpr unsigned kFlagHex = 0x22;          // hex, right-justified name
constexpr unsigned kFlagDec = 0x24;          // decimal, right-justified name
constexpr unsigned kFlagBin = 0x28;          // binary (a wire), right-justified name
constexpr unsigned kFlagTranslated = 0x2024;  // decimal through a translate filter file
constexpr unsigned kFlagGroupBegin = 0x800200;
constexpr unsigned kFlagGroupEnd = 0x1000200;

// Window geometry written to the save file; the zoom is chosen so the run fills kWavePixels of
// the wave pane that is left beside the two name panes.
constexpr int kWindowWidth = 1500;
constexpr int kWindowHeight = 850;
constexpr int kSstWidth = 200;
constexpr int kSignalsWidth = 220;
constexpr double kWavePixels = 900;

void append_ns(std::string& out, std::uint64_t ps) {
  char text[32];
  char* end = std::to_chars(text, text + sizeof text, ps / 1000).ptr;
  unsigned frac = static_cast<unsigned>(ps % 1000);
  *end++ = '.';
  *end++ = static_cast<char>('0' + frac / 100);
  *end++ = static_cast<char>('0' + frac / 10 % 10);
  *end++ = static_cast<char>('0' + frac % 10);
  out.append(text, end);
}

// A time in ns, right-aligned so that the "ns" after it lines up with the other log lines up to
// width characters.
void append_time_column(std::string& out, std::uint64_t ps, std::size_t width) {
  const std::size_t begin = out.size();
  append_ns(out, ps);
  const std::size_t length = out.size() - begin;
  if (length < width) out.insert(begin, width - length, ' ');
}

void append_hex16(std::string& out, std::uint64_t value) {
  static const char kDigits[] = "0123456789abcdef";
  char text[16];
  for (int i = 15; i >= 0; --i, value >>= 4) text[i] = kDigits[value & 0xF];
  out.append(text, sizeof text);
}

void append_number(std::string& out, std::uint64_t value) {
  char text[24];
  out.append(text, std::to_chars(text, text + sizeof text, value).ptr);
}

std::string absolute_path(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// The trace list of a GTKWave save file: flags lines ("@22"), groups, and traces shown under
// their short name ("+{addr} satvp.bus.cpu.addr[63:0]") since the group names the scope.
class SaveFileTraces {
 public:
  SaveFileTraces(std::ostream& out, const VcdWriter& vcd) : out_(out), vcd_(vcd) {}

  void begin_group(const std::string& name) { label(kFlagGroupBegin, name); }
  void end_group(const std::string& name) { label(kFlagGroupEnd, name); }
  // filter: GTKWave's number for the translate filter file at filter_path; 0 for none.
  void add(std::uint32_t signal, unsigned flags, int filter = 0,
           const std::string& filter_path = "") {
    out_ << '@' << std::hex << flags << std::dec << '\n';
    if (filter != 0) out_ << '^' << filter << ' ' << absolute_path(filter_path) << '\n';
    out_ << "+{" << vcd_.signals()[signal].name << "} " << vcd_.full_name(signal) << '\n';
  }

 private:
  void label(unsigned flags, const std::string& name) {
    out_ << '@' << std::hex << flags << std::dec << "\n-" << name << '\n';
  }

  std::ostream& out_;
  const VcdWriter& vcd_;
};

// Filters 1-3 are the bus codes; signals with value names get the following numbers.
constexpr int kFirstValueFilter = 4;

void warn(const std::string& message) {
  SC_REPORT_WARNING("cestvp/tracer", message.c_str());
}

}  // namespace

Tracer::Tracer(const Options& options) : vcd_path_(options.vcd_path) {
  if (!options.vcd_path.empty()) vcd_ = std::make_unique<VcdWriter>(options.vcd_path, kTopScope);
  if (!options.log_path.empty()) {
    log_ = std::make_unique<OutputFile>(options.log_path);
    log_->write("# start ns  initiator -> target  R|W|-  address  length  response  duration ns\n");
  }
  line_.reserve(256);
}

Tracer::~Tracer() { close(); }

bool Tracer::vcd_enabled() const { return vcd_ != nullptr; }
bool Tracer::log_enabled() const { return log_ != nullptr; }

Tracer::TextSignal Tracer::declare_text(const std::string& scope, const std::string& name) {
  if (!vcd_ && !log_) return TextSignal{};
  TextSignalState s;
  s.full_name = scope.empty() ? name : scope + '.' + name;
  if (vcd_) s.vcd = declare(scope, name, kTextWidth);
  if (s.vcd.valid()) {
    s.names = value_names_.size();
    value_names_.emplace_back(s.vcd.id, std::vector<std::string>{kNoText});
  }
  text_signals_.push_back(std::move(s));
  update_legend();
  return TextSignal{static_cast<std::uint32_t>(text_signals_.size() - 1)};
}

Tracer::Signal Tracer::declare(const std::string& scope, const std::string& name,
                               unsigned width, std::vector<std::string> value_names) {
  if (!vcd_) return Signal{};
  if (vcd_->header_written()) {
    warn("signal '" + scope + '.' + name + "' was declared after tracing began; not traced");
    return Signal{};
  }
  const Signal signal{vcd_->declare(scope, name, width)};
  if (!value_names.empty()) value_names_.emplace_back(signal.id, std::move(value_names));
  return signal;
}

unsigned Tracer::declare_initiator(const std::string& name) {
  const std::string scope = "bus." + name;
  initiators_.push_back(InitiatorSignals{name,
                                         declare(scope, "busy", 1),
                                         declare(scope, "cmd", 2),
                                         declare(scope, "addr", 64),
                                         declare(scope, "len", 32),
                                         declare(scope, "resp", 3),
                                         declare(scope, "target", 8)});
  update_legend();
  return static_cast<unsigned>(initiators_.size() - 1);
}

void Tracer::declare_targets(const std::vector<std::string>& names) {
  assert(names.size() < kUnmappedTarget && "target codes are 8 bits with 0xFF for unmapped");
  targets_ = names;
  update_legend();
}

void Tracer::update_legend() {
  if (vcd_ && (!initiators_.empty() || !text_signals_.empty()) && !vcd_->header_written())
    vcd_->set_comment(legend("  "));
}

void Tracer::transaction(unsigned initiator, int target, const tlm::tlm_generic_payload& gp,
                         const sc_core::sc_time& start, const sc_core::sc_time& end) {
  ++transactions_;
  if (!vcd_ && !log_) return;
  assert(initiator < initiators_.size());
  assert(start <= end);
  const InitiatorSignals& s = initiators_[initiator];
  const std::uint64_t start_ps = to_ps(start);
  const std::uint64_t end_ps = to_ps(end);
  if (vcd_ && s.busy.valid()) {
    note_lag(start_ps);
    trace_transaction(s, target, gp, start_ps, end_ps);
  }
  if (log_) log_transaction(s, target, gp, start_ps, end_ps);
}

void Tracer::change(Signal signal, const sc_core::sc_time& at, std::uint64_t value) {
  if (!vcd_ || !signal.valid()) return;
  vcd_->change(signal.id, to_ps(at), value);
  flush_if_due();
}

void Tracer::change_text(TextSignal signal, const sc_core::sc_time& at, std::string_view text) {
  if (!signal.valid() || (!vcd_ && !log_)) return;
  assert(signal.id < text_signals_.size());
  TextSignalState& s = text_signals_[signal.id];
  text_.assign(text);
  for (char& c : text_)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  const std::uint64_t at_ps = to_ps(at);
  if (vcd_ && s.vcd.valid()) {
    vcd_->change(s.vcd.id, at_ps, text_code(s, text_));
    flush_if_due();
  }
  if (log_ && text_ != s.logged) log_text(s, at_ps, text_);
}

// Codes number the texts in order of first use; the filter file lists them in that order.
std::uint64_t Tracer::text_code(TextSignalState& s, const std::string& text) {
  if (text.empty()) return 0;
  std::vector<std::string>& names = value_names_[s.names].second;
  const auto [entry, added] = s.codes.try_emplace(text, names.size());
  if (added) {
    assert(names.size() < (std::uint64_t{1} << kTextWidth) && "text codes fit the signal");
    names.push_back(text);
  }
  return entry->second;
}

// A comment line, so that tools reading the transaction lines skip it.
void Tracer::log_text(TextSignalState& s, std::uint64_t at_ps, const std::string& text) {
  s.logged = text;
  line_ = "# ";
  append_time_column(line_, at_ps, 10);
  line_ += " ns  ";
  line_ += s.full_name;
  line_ += "  ";
  if (text.empty())
    line_ += kNoText;
  else
    line_ += text;
  line_ += '\n';
  log_->write(line_);
}

void Tracer::close() {
  if (vcd_) {
    vcd_->close(to_ps(sc_core::sc_time_stamp()));
    if (vcd_->ok()) {
      // Companions of a VCD that was removed would open nothing.
      const std::string stem = std::filesystem::path(vcd_path_).replace_extension().string();
      try {
        write_filters(stem);
        write_save_file(stem);
      } catch (const OutputError& e) {
        failures_.push_back({e.path(), e.error()});
      }
    } else {
      failures_.push_back({vcd_->path(), vcd_->error() + "; the partial file was removed"});
    }
    if (vcd_->late_changes() != 0)
      warn(std::to_string(vcd_->late_changes()) +
           " value changes arrived after their time had been written to the VCD and were "
           "moved later: a time lagged sc_time_stamp() by more than any lag seen before");
    vcd_.reset();
  }
  if (log_) {
    if (!log_->close()) failures_.push_back({log_->path(), log_->error() + "; the partial file was removed"});
    log_.reset();
  }
}

std::uint64_t Tracer::to_ps(const sc_core::sc_time& t) {
  if (ps_div_ == 0) init_time_scale();
  return t.value() * ps_mul_ / ps_div_;
}

void Tracer::init_time_scale() {
  const auto fs = static_cast<std::uint64_t>(
      std::llround(sc_core::sc_get_time_resolution().to_seconds() * 1e15));
  ps_mul_ = fs >= 1000 ? fs / 1000 : 1;
  ps_div_ = fs >= 1000 ? 1 : 1000 / fs;
}

// A target that waits inside b_transport makes the bus report a start that is already past:
// the bus took it before the call, and simulated time moved on while the target waited.
void Tracer::note_lag(std::uint64_t start_ps) {
  const std::uint64_t now = to_ps(sc_core::sc_time_stamp());
  if (start_ps < now) max_lag_ps_ = std::max(max_lag_ps_, now - start_ps);
}

// Times reported from now on are >= sc_time_stamp(), less the lags seen so far; twice the
// largest lag is the margin before a change counts as final.
void Tracer::flush_if_due() {
  if (!vcd_->flush_due()) return;
  const std::uint64_t now = to_ps(sc_core::sc_time_stamp());
  vcd_->flush(now - std::min(now, 2 * max_lag_ps_));
}

// A zero-duration transaction would show busy as a pulse no viewer can draw, so busy stays 0
// and only the value signals change.
void Tracer::trace_transaction(const InitiatorSignals& s, int target,
                               const tlm::tlm_generic_payload& gp, std::uint64_t start_ps,
                               std::uint64_t end_ps) {
  if (end_ps > start_ps) vcd_->change(s.busy.id, start_ps, 1);
  vcd_->change(s.cmd.id, start_ps, command_code(gp.get_command()));
  vcd_->change(s.addr.id, start_ps, gp.get_address());
  vcd_->change(s.len.id, start_ps, gp.get_data_length());
  vcd_->change(s.target.id, start_ps,
               target < 0 ? kUnmappedTarget : static_cast<std::uint64_t>(target));
  vcd_->change(s.resp.id, end_ps, response_code(gp.get_response_status()));
  vcd_->change(s.busy.id, end_ps, 0);
  flush_if_due();
}

void Tracer::log_transaction(const InitiatorSignals& s, int target,
                             const tlm::tlm_generic_payload& gp, std::uint64_t start_ps,
                             std::uint64_t end_ps) {
  line_.clear();
  // Right-aligned start times keep the columns readable up to 100 ms.
  append_time_column(line_, start_ps, 12);
  line_ += " ns  ";
  line_ += s.name;
  line_ += " -> ";
  append_target(line_, target);
  line_ += "  ";
  line_ += kCommandLetters[command_code(gp.get_command())];
  line_ += "  0x";
  append_hex16(line_, gp.get_address());
  line_ += "  ";
  append_number(line_, gp.get_data_length());
  line_ += "  ";
  line_ += kResponseNames[response_code(gp.get_response_status())];
  line_ += "  ";
  append_ns(line_, end_ps - start_ps);
  line_ += " ns\n";
  log_->write(line_);
}

void Tracer::append_target(std::string& out, int target) const {
  if (target < 0)
    out += "unmapped";
  else if (static_cast<std::size_t>(target) < targets_.size())
    out += targets_[static_cast<std::size_t>(target)];
  else
    append_number(out, static_cast<std::uint64_t>(target));  // declare_targets() not called
}

// The legend of the text and bus signals, for the VCD header and the save file.
std::string Tracer::legend(const char* indent) const {
  std::string text;
  // Not the file's own name: the same events give the same VCD whatever it is called.
  for (const TextSignalState& s : text_signals_) {
    if (!s.vcd.valid()) continue;
    text += indent;
    text += s.full_name + ": text; value N shows line \"N text\" of " +
            value_filter_path("<trace>", s.vcd.id) + " (written at the end), 0 none\n";
  }
  if (initiators_.empty()) return text;
  text += indent;
  text += "bus.<initiator>.cmd: 0 read, 1 write, 2 ignore\n";
  text += indent;
  text += "bus.<initiator>.resp:";
  for (unsigned i = 0; i < std::size(kResponseNames); ++i)
    text += (i ? ", " : " ") + std::to_string(i) + ' ' + kResponseNames[i];
  text += '\n';
  text += indent;
  text += "bus.<initiator>.target:";
  for (std::size_t i = 0; i < targets_.size(); ++i)
    text += ' ' + std::to_string(i) + ' ' + targets_[i] + ',';
  text += " 255 unmapped\n";
  text += indent;
  text += "busy is 1 from a transaction's start to its end; a zero-duration transaction\n";
  text += indent;
  text += "leaves busy 0 and only sets cmd, addr, len, target and resp.\n";
  return text;
}

// Translate filter files let GTKWave show "write", "ADDRESS_ERROR" or a target's name instead
// of the codes.
void Tracer::write_filters(const std::string& stem) const {
  const auto write = [](const std::string& path, const auto& names, std::size_t count, std::string extra = "") {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) text += std::to_string(i) + ' ' + names[i] + '\n';
    write_text_atomically(path, text + extra);
  };
  write(stem + ".cmd.filter", kCommandNames, std::size(kCommandNames));
  write(stem + ".resp.filter", kResponseNames, std::size(kResponseNames));
  write(stem + ".target.filter", targets_, targets_.size(), std::to_string(kUnmappedTarget) + " unmapped\n");
  for (const auto& [signal, names] : value_names_) write(value_filter_path(stem, signal), names, names.size());
}

std::string Tracer::value_filter_path(const std::string& stem, std::uint32_t signal) const {
  const auto& s = vcd_->signals()[signal];
  return stem + '.' + s.scope + '.' + s.name + ".filter";
}

void Tracer::write_save_file(const std::string& stem) const {
  std::ostringstream out;
  out << "[*] CEST-VP trace. Signal codes:\n" << legend("[*]   ");
  out << "[dumpfile] \"" << absolute_path(vcd_path_) << "\"\n[timestart] 0\n";
  out << "[size] " << kWindowWidth << ' ' << kWindowHeight << "\n[pos] -1 -1\n";
  // GTKWave draws 2^-zoom time units per 200 pixels.
  const double span = static_cast<double>(std::max<std::uint64_t>(vcd_->last_time_ps(), 1));
  char zoom[32];
  std::snprintf(zoom, sizeof zoom, "*%.6f -1\n", -std::log2(200.0 * span / kWavePixels));
  out << zoom;
  out << "[treeopen] " << kTopScope << ".\n[treeopen] " << kTopScope << ".bus.\n";
  out << "[sst_width] " << kSstWidth << "\n[signals_width] " << kSignalsWidth << '\n';
  out << "[sst_expanded] 1\n[sst_vpaned_height] 200\n";

  SaveFileTraces traces(out, *vcd_);
  const auto& signals = vcd_->signals();
  std::vector<bool> shown(signals.size(), false);
  // A group with every signal of `scope` not shown yet, in declaration order.
  const auto show_scope = [&](const std::string& scope) {
    traces.begin_group(scope);
    for (std::uint32_t i = 0; i < signals.size(); ++i) {
      if (shown[i] || signals[i].scope != scope) continue;
      const auto named = std::find_if(value_names_.begin(), value_names_.end(),
                                      [i](const auto& entry) { return entry.first == i; });
      if (named != value_names_.end())
        traces.add(i, kFlagTranslated, kFirstValueFilter + static_cast<int>(named - value_names_.begin()),
                   value_filter_path(stem, i));
      else
        traces.add(i, signals[i].width == 1 ? kFlagBin : kFlagHex);
      shown[i] = true;
    }
    traces.end_group(scope);
  };
  // What the firmware was doing comes first: it is how a user finds the place to look at.
  for (const TextSignalState& s : text_signals_)
    if (s.vcd.valid() && !shown[s.vcd.id]) show_scope(signals[s.vcd.id].scope);
  for (const InitiatorSignals& s : initiators_) {
    if (!s.busy.valid()) continue;  // declared too late to be traced
    traces.begin_group("bus." + s.name);
    traces.add(s.busy.id, kFlagBin);
    traces.add(s.cmd.id, kFlagTranslated, 1, stem + ".cmd.filter");
    traces.add(s.target.id, kFlagTranslated, 2, stem + ".target.filter");
    traces.add(s.addr.id, kFlagHex);
    traces.add(s.len.id, kFlagDec);
    traces.add(s.resp.id, kFlagTranslated, 3, stem + ".resp.filter");
    traces.end_group("bus." + s.name);
    for (Signal signal : {s.busy, s.cmd, s.addr, s.len, s.resp, s.target}) shown[signal.id] = true;
  }
  // Every other scope becomes a group, in the order its first signal was declared.
  for (std::uint32_t first = 0; first < signals.size(); ++first)
    if (!shown[first]) show_scope(signals[first].scope);
  write_text_atomically(stem + ".gtkw", out.str());
}

}  // namespace cestvp
