// Text a run writes: numbers and strings as JSON, durations for the console, and files that
// are replaced whole (a reader never sees a half-written report). SystemC-free.
#pragma once
#include <filesystem>
#include <string>

#include "output_file.h"  // write_text_atomically

namespace cestvp {

// The shortest text that reads back to the same value; JSON has no NaN or infinity: null.
std::string json_number(double value);
std::string json_number(float value);
std::string json_string(const std::string& s);

// "812.345 us", "3.210 ms", "17.473 s", "3m05s".
std::string duration(double seconds);


}  // namespace cestvp
