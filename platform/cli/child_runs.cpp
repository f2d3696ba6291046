#include "cli/child_runs.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cestvp/model.h>
#include <cestvp/sat_mode.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "config/input_file.h"
#include "config/user_error.h"

extern char** environ;

namespace cestvp {

namespace fs = std::filesystem;

// ---- JSON ----------------------------------------------------------------------------------

namespace {

const char* type_name(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::null: return "null";
    case JsonValue::Type::boolean: return "true or false";
    case JsonValue::Type::number: return "a number";
    case JsonValue::Type::string: return "a string";
    case JsonValue::Type::array: return "an array";
    case JsonValue::Type::object: return "an object";
  }
  return "";
}

}  // namespace

void JsonValue::fail(const std::string& expected) const {
  throw UserError(where_ + ": found " + type_name(type_) + "; expected " + expected);
}

bool JsonValue::boolean() const {
  if (type_ != Type::boolean) fail(type_name(Type::boolean));
  return boolean_;
}

double JsonValue::number() const {
  if (type_ != Type::number) fail(type_name(Type::number));
  return number_;
}

const std::string& JsonValue::string() const {
  if (type_ != Type::string) fail(type_name(Type::string));
  return string_;
}

const std::vector<JsonValue>& JsonValue::items() const {
  if (type_ != Type::array) fail(type_name(Type::array));
  return items_;
}

const JsonValue* JsonValue::find(const std::string& key) const {
  if (type_ != Type::object) fail(type_name(Type::object));
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

const JsonValue& JsonValue::at(const std::string& key) const {
  const JsonValue* value = find(key);
  if (!value) throw UserError(where_ + ": no key '" + key + "'; expected an object with it");
  return *value;
}

namespace {

// Counts the characters nlohmann's lexer has taken from the text, so that an event of the parse
// knows where in the text it is: the lexer reads one character at a time and never rereads one.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, std::size_t* taken) : at_(at), taken_(taken) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() { return ++at_, ++*taken_, *this; }
  bool operator==(const CountingIterator& o) const { return at_ == o.at_; }
  bool operator!=(const CountingIterator& o) const { return at_ != o.at_; }

 private:
  const char* at_;
  std::size_t* taken_;
};

bool starts_with(const std::string& text, const std::string& prefix) { return text.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// A syntax error in our words: where (an offset into the text) and what.
struct JsonProblem {
  std::size_t at;
  std::string what;
};

// Where the token starts that nlohmann's lexer failed in at `fail`, for a lexer error of the
// kind `detail` names ("invalid literal", "invalid number...", "invalid string...").
std::size_t bad_token_start(const std::string& text, std::size_t fail, const std::string& detail) {
  if (starts_with(detail, "invalid literal")) {
    // A literal is read while it matches true, false or null: the token is such a prefix and
    // the character that broke it; none of the three words has t, f or n after its first letter.
    for (std::size_t k = 1; k <= 4 && k <= fail; ++k) {
      const std::size_t s = fail - k;
      const char* word = text[s] == 't' ? "true" : text[s] == 'f' ? "false" : text[s] == 'n' ? "null" : nullptr;
      if (word && k < std::strlen(word) && text.compare(s, k, word, k) == 0) return s;
    }
    return fail;
  }
  std::size_t s = std::min(fail, text.size());
  if (starts_with(detail, "invalid number")) {
    // The token is a number up to the character that broke it: back over the exponent's sign
    // and 'e', the fraction and the integer part. A number next to one before it ("0-1.") starts
    // where the one before must end: an integer part is 0 or does not start with 0.
    if (starts_with(detail, "invalid number; expected digit after '-'")) return s - 1;
    if (starts_with(detail, "invalid number; expected digit after exponent sign")) s -= 2;  // the sign and the 'e'
    if (starts_with(detail, "invalid number; expected '+', '-', or digit after exponent")) --s;
    const auto digits_before = [&](std::size_t at) {
      while (at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]))) --at;
      return at;
    };
    if (starts_with(detail, "invalid number; expected digit after '.'")) --s;
    else if (const std::size_t f = digits_before(s); f > 0 && f < s && text[f - 1] == '.') s = f - 1;
    const std::size_t integer = digits_before(s);
    std::size_t start = integer;
    while (start + 1 < s && text[start] == '0') ++start;
    if (start == integer && start > 0 && text[start - 1] == '-') --start;
    return start;
  }
  if (starts_with(detail, "invalid string")) {
    // Back to the opening quote: the first one not escaped (an even run of backslashes before it).
    while (s > 0) {
      --s;
      if (text[s] != '"') continue;
      std::size_t backslashes = 0;
      while (backslashes < s && text[s - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return s;
    }
  }
  return fail;
}

// Where the token starts that the parser did not expect: `byte` is just after it, `token` the
// type nlohmann names ("']'", "number literal", ...), `last_read` its text for numbers and strings.
std::size_t unexpected_token_start(std::size_t byte, std::size_t fail, const std::string& token,
                                   const std::string& last_read) {
  if (token == "true literal" || token == "null literal") return byte - 4;
  if (token == "false literal") return byte - 5;
  if (token == "number literal" || token == "string literal") return byte - last_read.size();
  return fail;  // a one-character token, or the end of the text
}

// nlohmann's message for a syntax error, in the words and places of CEST-VP's earlier reader
// (its tests and users see these). nlohmann says "... syntax error while parsing CONTEXT -
// DETAIL[; expected WHAT]", DETAIL being "unexpected TOKEN" or the lexer's problem with
// "; last read: '...'"; `byte` counts the characters read, the one it failed at included.
JsonProblem translate(const std::string& text, std::size_t byte, const std::string& last_read, const std::string& what) {
  const std::size_t fail = std::min(byte > 0 ? byte - 1 : 0, text.size());
  const std::size_t context_at = what.find("while parsing "), detail_at = what.find(" - ", context_at);
  if (context_at == std::string::npos || detail_at == std::string::npos) {
    // Not a syntax error: a number too large for a double (out_of_range 406), said at its start.
    const std::size_t start = byte - std::min(byte, last_read.size());
    if (what.find("number overflow") != std::string::npos)
      return {start, "number " + last_read + " out of the range of a double"};
    const std::size_t bracket = what.find("] ");
    return {start, bracket == std::string::npos ? what : what.substr(bracket + 2)};
  }
  const std::string context = what.substr(context_at + 14, detail_at - context_at - 14);
  const std::string detail = what.substr(detail_at + 3);
  const bool lexer = !starts_with(detail, "unexpected ");
  std::size_t start = fail;
  if (lexer) {
    start = bad_token_start(text, fail, detail);
  } else {
    const std::size_t token_end = detail.find("; expected ");
    start = unexpected_token_start(byte, fail, detail.substr(11, token_end - 11), last_read);
  }

  if (ends_with(what, "; expected end of input")) return {start, "unexpected text after the value"};
  if (context == "object separator") return {start, "expected ':' after the key"};
  if (context == "object") return {start, "expected ',' or '}' in the object"};
  if (context == "array") return {start, "expected ',' or ']' in the array"};
  const bool string_problem = starts_with(detail, "invalid string");
  if (context == "object key" && !string_problem) return {start, "expected a key in quotes"};
  if (!lexer || starts_with(detail, "invalid literal")) {
    if (start >= text.size()) return {start, "unexpected end of the text; expected a value"};
    return {start, std::string("unexpected '") + text[start] + "'; expected a value"};
  }

  // The lexer's problems with a number or a string where a value or key belongs.
  const auto problem = [&](const char* nlohmann_words) { return starts_with(detail, nlohmann_words); };
  if (problem("invalid number; expected digit after '-'")) return {fail, "expected a digit"};
  if (problem("invalid number; expected digit after '.'")) return {fail, "expected a digit after the decimal point"};
  if (problem("invalid number; expected")) return {fail, "expected a digit in the exponent"};
  if (problem("invalid string: missing closing quote")) return {fail, "unterminated string"};
  if (problem("invalid string: forbidden character after backslash"))
    return {fail, fail < text.size() ? std::string("unknown escape \\") + text[fail] : "unterminated string"};
  if (problem("invalid string: control character")) return {fail, "control character in a string; expected it escaped"};
  if (problem("invalid string: '\\u' must be followed by 4 hex digits")) {
    // Said at the first hex digit when fewer than four characters are left, else at the bad one.
    std::size_t digits = fail;
    while (digits > 0 && text[digits - 1] != 'u' && is_hex(text[digits - 1])) --digits;
    return {digits + 4 > text.size() ? digits : fail, "expected four hex digits after \\u"};
  }
  if (problem("invalid string: surrogate U+DC00..U+DFFF")) return {fail + 1, "lone low surrogate in \\u escape"};
  if (problem("invalid string: surrogate U+D800..U+DBFF")) {
    // Said just after the high surrogate's digits, or after a second \u escape out of range.
    const bool second_escape = fail >= 5 && text[fail - 5] == '\\' && text[fail - 4] == 'u';
    const bool bare_backslash = fail >= 1 && text[fail - 1] == '\\';
    return {second_escape ? fail + 1 : bare_backslash ? fail - 1 : fail, "high surrogate without its low surrogate"};
  }
  if (problem("invalid BOM")) return {0, std::string("unexpected '") + text[0] + "'; expected a value"};
  if (problem("invalid string: ill-formed UTF-8 byte")) return {fail, "ill-formed UTF-8 in a string; expected UTF-8 text"};
  const std::size_t last = detail.find("; last read");
  return {fail, detail.substr(0, last)};
}

}  // namespace

// Builds JsonValues from nlohmann's SAX events, each with its place ("source: a.b[2].c", the key
// path a reader would write), and turns a syntax error into "source:line:column: problem".
class JsonBuilder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  JsonBuilder(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  JsonValue parse() {
    const CountingIterator first(text_.data(), &taken_), last(text_.data() + text_.size(), &taken_);
    // A document that is not valid stops the parse, and parse_error() or add() has said why.
    if (!nlohmann::json::sax_parse(first, last, this)) fail(problem_);
    // nlohmann ends the document at a NUL character (the end of a C string); text after it is
    // still text after the value.
    if (taken_ > 0 && taken_ <= text_.size() && text_[taken_ - 1] == '\0')
      fail({taken_ - 1, "unexpected text after the value"});
    return std::move(root_);
  }

  bool null() override { return add(JsonValue::Type::null) != nullptr; }
  bool boolean(bool value) override { return set(add(JsonValue::Type::boolean), &JsonValue::boolean_, value); }
  bool number_integer(number_integer_t value) override {
    return number(value == 0 && negative_zero() ? -0.0 : static_cast<double>(value));
  }
  bool number_unsigned(number_unsigned_t value) override { return number(static_cast<double>(value)); }
  bool number_float(number_float_t value, const string_t&) override { return number(value); }
  bool string(string_t& value) override {
    return set(add(JsonValue::Type::string), &JsonValue::string_, std::move(value));
  }
  bool binary(binary_t&) override { return false; }  // JSON text has none
  bool start_object(std::size_t) override { return open(JsonValue::Type::object); }
  bool key(string_t& key) override {
    key_ = std::move(key);
    key_end_ = taken_;  // just after its closing quote
    return true;
  }
  bool end_object() override { return open_.pop_back(), true; }
  bool start_array(std::size_t) override { return open(JsonValue::Type::array); }
  bool end_array() override { return open_.pop_back(), true; }

  bool parse_error(std::size_t byte, const std::string& last_read, const nlohmann::detail::exception& error) override {
    problem_ = translate(text_, byte, last_read, error.what());
    return false;
  }

 private:
  // Nesting this deep is no report of ours; the bound keeps JsonValue's recursive destruction
  // off the stack's end.
  static constexpr std::size_t kMaxDepth = 256;

  struct Open {
    JsonValue* value;
    std::string path;         // "a.b[2]"; "" at the top level
    std::size_t after_start;  // just after its '[' or '{'
  };

  [[noreturn]] void fail(const JsonProblem& problem) const {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < problem.at && i < text_.size(); ++i, ++column)
      if (text_[i] == '\n') ++line, column = 0;
    throw UserError(source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + problem.what);
  }

  std::size_t skip_space(std::size_t at) const {
    while (at < text_.size() && is_space(text_[at])) ++at;
    return at;
  }

  template <typename T>
  static bool set(JsonValue* value, T JsonValue::*member, T content) {
    if (value) value->*member = std::move(content);
    return value != nullptr;
  }

  bool number(double value) { return set(add(JsonValue::Type::number), &JsonValue::number_, value); }

  // Whether the integer 0 just read was written "-0". The lexer has read one character past a
  // number unless the number ends the text.
  bool negative_zero() const {
    const std::size_t end = taken_ == text_.size() && text_.back() == '0' ? taken_ : taken_ - 1;
    return end >= 2 && text_[end - 2] == '-';
  }

  // The new value, in its object or array (with the key just read) or as the document; nullptr
  // (and the problem said) when it is nested too deep.
  JsonValue* add(JsonValue::Type type) {
    JsonValue* value = &root_;
    std::string path;
    if (!open_.empty()) {
      Open& parent = open_.back();
      const bool in_object = parent.value->type_ == JsonValue::Type::object;
      if (open_.size() == kMaxDepth) {
        // Said where the value was looked for: at an array's first item, just after a key's ':'.
        const std::size_t at = in_object ? skip_space(key_end_) + 1 : skip_space(parent.after_start);
        problem_ = {at, "nesting deeper than " + std::to_string(kMaxDepth) + " levels"};
        return nullptr;
      }
      std::vector<JsonValue>& items = parent.value->items_;
      if (in_object) {
        path = parent.path.empty() ? key_ : parent.path + "." + key_;
        parent.value->keys_.push_back(std::move(key_));
      } else {
        path = parent.path + "[" + std::to_string(items.size()) + "]";
      }
      items.emplace_back();
      value = &items.back();
    }
    value->type_ = type;
    value->where_ = source_ + ": " + (path.empty() ? "(top level)" : path);
    last_path_ = std::move(path);
    return value;
  }

  bool open(JsonValue::Type type) {
    JsonValue* value = add(type);
    if (value) open_.push_back({value, last_path_, taken_});
    return value != nullptr;
  }

  const std::string& text_;
  const std::string source_;
  std::size_t taken_ = 0;  // characters the lexer has read
  JsonValue root_;
  std::vector<Open> open_;   // the objects and arrays being read, innermost last
  std::string key_;          // the key of the next member of the innermost object
  std::size_t key_end_ = 0;  // where it ends in the text
  std::string last_path_;
  JsonProblem problem_{0, "unexpected end of the text; expected a value"};
};

JsonValue parse_json(const std::string& text, const std::string& source) { return JsonBuilder(text, source).parse(); }

JsonValue read_json_file(const fs::path& path) {
  return parse_json(InputFile(path.string(), "a JSON report", kMaxTextBytes).read_text(), path.string());
}

// ---- child runs ----------------------------------------------------------------------------

void add_child_run_options(CLI::App& cmd, ChildRunOptions& o) {
  cmd.add_option("--workload", o.workload, "Training workload YAML");
  cmd.add_option("--set", o.sets, "Override a workload key in every run, as satvp run --set (repeatable)");
  cmd.add_option("--platform", o.platform, "Platform YAML")->capture_default_str();
  cmd.add_option("--mode", o.mode, "SAT engine numerics of every run; default: the workload's `mode`")
      ->check(one_of({kSatModeNames.begin(), kSatModeNames.end()}));
  cmd.add_option("-j,--jobs", o.jobs, "Runs at a time (default: one per core)")
      ->check(whole_number(0, std::numeric_limits<unsigned>::max()));
}

std::vector<std::string> RunRequest::args() const {
  std::vector<std::string> a = {"run", "--workload", workload, "--platform", platform, "--out", out.string()};
  if (!mode.empty()) a.insert(a.end(), {"--mode", mode});
  for (const std::string& s : sets) a.insert(a.end(), {"--set", s});
  return a;
}

std::string satvp_binary() { return fs::read_symlink("/proc/self/exe").string(); }

fs::path child_log(const RunRequest& request) { return request.out / "satvp.log"; }

void prepare_run_dirs(const std::vector<ChildRun>& runs) {
  for (const ChildRun& run : runs) {
    std::error_code ec;
    fs::create_directories(run.request.out, ec);
    if (ec)
      throw UserError(run.request.out.string() + ": cannot create the run directory (" + ec.message() +
                      "); expected a directory that can be created and written");
    fs::remove(run.request.out / "report.json", ec);
  }
}

namespace {

// Starts `argv` with stdin from /dev/null and stdout and stderr into `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  // posix_spawnp: the plots' Python may be a bare `python3`, looked up on PATH (when the build
  // found none with matplotlib); satvp's own path is absolute.
  const int error = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error)
    throw UserError(argv[0] + ": cannot start it (" + std::strerror(error) + "); expected an executable program");
  return pid;
}

int wait_status_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

std::string tail_lines(const fs::path& file, std::size_t count) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > count) lines.pop_front();
  }
  std::string text;
  for (const std::string& line : lines) text += "      | " + line + "\n";
  return text;
}

std::string exit_description(int code) {
  return code > 128 ? "killed by signal " + std::to_string(code - 128) : "exit " + std::to_string(code);
}

}  // namespace

std::vector<ChildOutcome> run_children(const std::string& binary, const std::vector<ChildRun>& runs, unsigned jobs) {
  using Clock = std::chrono::steady_clock;
  constexpr int kCannotStart = 127;  // as a shell reports a command it cannot run
  std::vector<ChildOutcome> outcomes(runs.size());
  std::vector<Clock::time_point> started(runs.size());
  std::map<pid_t, std::size_t> running;
  std::size_t next = 0, finished = 0;
  // why: the exit code or the reason it could not start; a child that ran has a log to show.
  const auto report = [&](std::size_t i, const std::string& why, bool ran) {
    ChildOutcome& o = outcomes[i];
    o.wall_seconds = std::chrono::duration<double>(Clock::now() - started[i]).count();
    ++finished;
    std::printf("[%zu/%zu] %s %s in %.1f s\n", finished, runs.size(), runs[i].label.c_str(),
                o.exit_code == 0 ? "done" : ("FAILED (" + why + ")").c_str(), o.wall_seconds);
    if (o.exit_code != 0 && ran) {
      const fs::path log = child_log(runs[i].request);
      std::printf("    last lines of %s:\n%s", log.c_str(), tail_lines(log, 8).c_str());
    }
    std::fflush(stdout);
  };
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  while (finished < runs.size()) {
    for (; next < runs.size() && running.size() < jobs; ++next) {
      std::vector<std::string> argv = runs[next].request.args();
      argv.insert(argv.begin(), binary);
      started[next] = Clock::now();
      try {
        running[spawn(argv, child_log(runs[next].request))] = next;
      } catch (const UserError& error) {
        outcomes[next].exit_code = kCannotStart;
        report(next, error.what(), false);
      }
    }
    if (running.empty()) continue;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const std::size_t i = it->second;
    running.erase(it);
    outcomes[i].exit_code = wait_status_code(status);
    report(i, exit_description(outcomes[i].exit_code), true);
  }
  return outcomes;
}

std::optional<RunFigures> read_run_figures(const fs::path& dir) {
  const fs::path file = dir / "report.json";
  if (!fs::exists(file)) return std::nullopt;
  const JsonValue r = read_json_file(file);
  const JsonValue& ops = r.at("operations");
  const JsonValue& eval = r.at("passes").at("EVAL");
  const JsonValue& engines = r.at("engines");
  const JsonValue& energy = r.at("energy");
  RunFigures f;
  f.status = r.at("status").string();
  f.iteration_seconds = r.at("iteration_seconds").number();
  f.simulated_seconds = r.at("simulated_seconds").number();
  // Evaluation runs after training iterations and is not part of one; leave its MACs out.
  const double iterations = r.at("iterations_done").number();
  if (iterations > 0) {
    f.macs_per_iteration = (ops.at("macs_executed").number() - eval.at("macs").number()) / iterations;
    f.dense_macs_per_iteration = (ops.at("macs_dense_equivalent").number() - eval.at("dense_macs").number()) / iterations;
    double host_cycles = 0, stce_cycles = 0;
    // The passes of a training iteration: those before EVAL.
    for (std::uint32_t pass = 0; pass < static_cast<std::uint32_t>(fw::model::Pass::evaluate); ++pass) {
      const JsonValue& p = r.at("passes").at(fw::model::pass_name(static_cast<fw::model::Pass>(pass)));
      host_cycles += p.at("host_cycles").number();
      stce_cycles += p.at("engines").at("STCE").at("busy_cycles").number();
    }
    const double clock_hz = r.at("sat_clock_hz").number();
    f.host_seconds = host_cycles / clock_hz / iterations;
    f.stce_seconds = stce_cycles / clock_hz / iterations;
  }
  f.gops_executed = ops.at("gops_executed").number();
  f.gops_dense_equivalent = ops.at("gops_dense_equivalent").number();
  f.stce_utilisation = engines.at("STCE").at("utilisation").number();
  f.host_share = engines.at("host").at("utilisation").number();
  f.energy_j = energy.at("total_j").number();
  f.watts = energy.at("watts").number();
  return f;
}

bool run_ok(const std::optional<RunFigures>& figures, std::optional<int> exit_code) {
  return figures && figures->status == "finished" && exit_code.value_or(0) == 0;
}

std::string run_status(const std::optional<RunFigures>& figures, std::optional<int> exit_code) {
  std::string status = figures ? figures->status : "no report";
  if (exit_code && *exit_code != 0) status += " (" + exit_description(*exit_code) + ")";
  return status;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void plot(const std::string& kind, const fs::path& dir) {
  const fs::path log = dir / "plot.log";
  pid_t pid = 0;
  try {
    pid = spawn({CESTVP_PLOT_PYTHON, CESTVP_PLOT_SCRIPT, kind, dir.string()}, log);
  } catch (const UserError& error) {
    std::printf("  plots               not drawn: %s\n", error.what());
    return;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = wait_status_code(status);
  // plot.py exits 3 when matplotlib is missing and says how to install it.
  if (code == 0) std::printf("  plots               %s (see %s)\n", (dir / (kind + ".png")).c_str(), log.c_str());
  else std::printf("  plots               not drawn (%s):\n%s", exit_description(code).c_str(), tail_lines(log, 4).c_str());
}

}  // namespace cestvp
