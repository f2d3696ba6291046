#include "child_runs.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "cli.h"
#include "input_file.h"
#include "user_error.h"

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

// Recursive descent over the text; each parse_x() starts at the value's first character and
// leaves pos_ after it. Places are "source: a.b[2].c", the key path a reader would write.
class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  JsonValue parse_document() {
    JsonValue value = parse_value(source_ + ": ", "");
    skip_space();
    if (pos_ < text_.size()) fail("unexpected text after the value");
    return value;
  }

 private:
  // Nesting this deep is no report of ours; the bound keeps the recursion off the stack's end.
  static constexpr int kMaxDepth = 256;

  [[noreturn]] void fail(const std::string& problem) const {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i, ++column)
      if (text_[i] == '\n') ++line, column = 0;
    throw UserError(source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + problem);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n'))
      ++pos_;
  }

  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }

  void expect(char c, const char* what) {
    skip_space();
    if (!take(c)) fail(std::string("expected ") + what);
  }

  bool take_word(const char* word) {
    const std::size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  JsonValue parse_value(const std::string& prefix, const std::string& path) {
    if (++depth_ > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    skip_space();
    JsonValue v;
    v.where_ = prefix + (path.empty() ? "(top level)" : path);
    if (pos_ >= text_.size()) fail("unexpected end of the text; expected a value");
    const char c = text_[pos_];
    if (c == '{') {
      v.type_ = JsonValue::Type::object;
      ++pos_;
      skip_space();
      if (!take('}')) {
        do {
          skip_space();
          if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a key in quotes");
          std::string key = parse_string();
          expect(':', "':' after the key");
          v.items_.push_back(parse_value(prefix, path.empty() ? key : path + "." + key));
          v.keys_.push_back(std::move(key));
          skip_space();
        } while (take(','));
        expect('}', "',' or '}' in the object");
      }
    } else if (c == '[') {
      v.type_ = JsonValue::Type::array;
      ++pos_;
      skip_space();
      if (!take(']')) {
        do {
          v.items_.push_back(parse_value(prefix, path + "[" + std::to_string(v.items_.size()) + "]"));
          skip_space();
        } while (take(','));
        expect(']', "',' or ']' in the array");
      }
    } else if (c == '"') {
      v.type_ = JsonValue::Type::string;
      v.string_ = parse_string();
    } else if (take_word("true")) {
      v.type_ = JsonValue::Type::boolean;
      v.boolean_ = true;
    } else if (take_word("false")) {
      v.type_ = JsonValue::Type::boolean;
    } else if (take_word("null")) {
      v.type_ = JsonValue::Type::null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type_ = JsonValue::Type::number;
      v.number_ = parse_number();
    } else {
      fail(std::string("unexpected '") + c + "'; expected a value");
    }
    --depth_;
    return v;
  }

  bool digit() const { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }

  // JSON's grammar is narrower than strtod's (no hex, no leading '+', '.5' or '1.'): check it,
  // then let strtod convert the checked text.
  double parse_number() {
    const std::size_t start = pos_;
    take('-');
    if (!digit()) fail("expected a digit");
    if (!take('0'))
      while (digit()) ++pos_;
    if (take('.')) {
      if (!digit()) fail("expected a digit after the decimal point");
      while (digit()) ++pos_;
    }
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (!digit()) fail("expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    return std::strtod(text_.substr(start, pos_ - start).c_str(), nullptr);
  }

  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("expected four hex digits after \\u");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = text_[pos_];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("expected four hex digits after \\u");
      value = value * 16 + static_cast<unsigned>(d);
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At the opening quote; returns the decoded text.
  std::string parse_string() {
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) --pos_, fail("control character in a string; expected it escaped");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          // A character beyond the BMP is a surrogate pair; a lone surrogate is no character.
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!take_word("\\u")) fail("high surrogate without its low surrogate");
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate without its low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: --pos_, fail(std::string("unknown escape \\") + e);
      }
    }
  }

  const std::string& text_;
  const std::string source_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

JsonValue parse_json(const std::string& text, const std::string& source) {
  return JsonParser(text, source).parse_document();
}

JsonValue read_json_file(const fs::path& path) {
  return parse_json(InputFile(path.string(), "a JSON report", kMaxTextBytes).read_text(), path.string());
}

// ---- child runs ----------------------------------------------------------------------------

void add_child_run_options(CLI::App& cmd, ChildRunOptions& o) {
  cmd.add_option("--workload", o.workload, "Training workload YAML");
  cmd.add_option("--set", o.sets, "Override a workload key in every run, as satvp run --set (repeatable)");
  cmd.add_option("--platform", o.platform, "Platform YAML")->capture_default_str();
  cmd.add_option("--mode", o.mode, "SAT engine numerics of every run; default: the workload's `mode`")
      ->check(one_of({"functional", "bit-accurate", "timing"}));
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
  // posix_spawnp: `python3` is looked up on PATH; satvp's own path is absolute.
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
    pid = spawn({"python3", CESTVP_PLOT_SCRIPT, kind, dir.string()}, log);
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
