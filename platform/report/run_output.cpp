#include "report/run_output.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cestvp {

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::string json_number(float value) {
  if (!std::isfinite(value)) return "null";
  char text[40];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(value));
    if (std::strtof(text, nullptr) == value) break;
  }
  return text;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += esc;
    } else out += c;
  }
  return out + "\"";
}

std::string duration(double seconds) {
  char text[48];
  if (seconds < 1e-3) std::snprintf(text, sizeof text, "%.3f us", seconds * 1e6);
  else if (seconds < 1) std::snprintf(text, sizeof text, "%.3f ms", seconds * 1e3);
  else if (seconds < 120) std::snprintf(text, sizeof text, "%.3f s", seconds);
  else std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds / 60), static_cast<int>(seconds) % 60);
  return text;
}

}  // namespace cestvp
