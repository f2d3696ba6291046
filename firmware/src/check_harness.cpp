#include <cestvp/check_harness.h>

#include <cstdio>

namespace cestvp::fw {

bool CheckHarness::run(const char* name, const Check& check) {
  hal_.phase(name);  // faults and the timeline name the check
  note_.clear();
  const std::string problem = check();
  if (problem.empty()) {
    ++passed_;
    say(LogLevel::info, "PASS %-*s %s", name_width_, name, note_.c_str());
  } else {
    ++failed_;
    say(LogLevel::error, "FAIL %-*s %s", name_width_, name, problem.c_str());
  }
  return problem.empty();
}

void CheckHarness::note(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (!note_.empty()) note_ += "; ";
  note_ += buf;
}

void CheckHarness::vsay(LogLevel level, const char* fmt, va_list args) {
  char buf[768];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  hal_.log(level, buf);
}

void CheckHarness::say(LogLevel level, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsay(level, fmt, args);
  va_end(args);
}

void CheckHarness::summary(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsay(failed_ ? LogLevel::error : LogLevel::info, fmt, args);
  va_end(args);
}

}  // namespace cestvp::fw
