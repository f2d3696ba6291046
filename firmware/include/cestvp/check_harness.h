// The PASS/FAIL harness of the firmware's self-checking programs (bring-up, the engine
// self-test): it runs their checks one after the other, logs one line per check and counts
// them, so that every such program reports the same way.
//
// A check returns "" when it passed, else the problem. While it runs it may add notes (what it
// measured, what it verified), which its PASS line carries after the check's name.
#pragma once
#include <cstdarg>
#include <cstdint>
#include <functional>
#include <string>

#include <cestvp/hal.h>

namespace cestvp::fw {

// Host cycles a self-checking program spends per 32-bit word it generates or compares
// [assumed]: what bring-up, the engine self-test and the single-job runner charge.
inline constexpr std::uint64_t kHostCyclesPerWord = 2;
// What a check writes around and into areas that must come out untouched.
inline constexpr std::uint8_t kGuardByte = 0xE5;

class CheckHarness {
 public:
  using Check = std::function<std::string()>;  // "" on success, else the problem

  // name_width: the column the check names are padded to, so that the notes line up.
  CheckHarness(Hal& hal, int name_width) : hal_(hal), name_width_(name_width) {}

  // Enters the phase `name` (faults and the timeline name the check), runs the check and logs
  // "PASS <name> <notes>" at info level or "FAIL <name> <problem>" at error level. Returns true
  // if the check passed.
  bool run(const char* name, const Check& check);
  // Appends to the PASS line of the running check; notes are separated by "; ".
  void note(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void say(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // The program's closing line: at info level when every check passed, else at error level.
  void summary(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  unsigned passed() const { return passed_; }
  unsigned failed() const { return failed_; }
  unsigned total() const { return passed_ + failed_; }
  // The program's exit status: 0 when every check passed.
  int exit_code() const { return failed_ == 0 ? 0 : 1; }

 private:
  void vsay(LogLevel level, const char* fmt, va_list args) __attribute__((format(printf, 3, 0)));

  Hal& hal_;
  const int name_width_;
  unsigned passed_ = 0, failed_ = 0;
  std::string note_;
};

}  // namespace cestvp::fw
