// Text a run writes: numbers and strings as JSON, durations for the console, and files that
// are replaced whole (a reader never sees a half-written report). SystemC-free.
#pragma once
#include <filesystem>
#include <string>

namespace cestvp {

// The shortest text that reads back to the same value; JSON has no NaN or infinity: null.
std::string json_number(double value);
std::string json_number(float value);
std::string json_string(const std::string& s);

// "812.345 us", "3.210 ms", "17.473 s", "3m05s".
std::string duration(double seconds);

// Writes path.tmp, then renames it over path. Throws UserError naming the file.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace cestvp
