// satvp's command line, in the form of every other bad input:
//   satvp: error: --mode: 'fast' is not a choice (did you mean 'timing'?); expected one of functional, bit-accurate, timing
// CLI11 words its own errors, and reports them in the order it checks (a misspelt --wrkload as
// "--workload is required"); the validators below replace CLI11's, and parse_error_message()
// rewrites the rest, blaming the argument the user wrote.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cestvp {

// One of `values` ("--mode timing"); use instead of CLI::IsMember.
CLI::Validator one_of(std::vector<std::string> values);
// A decimal integer from `min` to `max`, checked before CLI11 converts it.
CLI::Validator whole_number(std::uint64_t min, std::uint64_t max);

// The message for `error`, which `app` threw on a bad command line (not a request for help):
//   --wrkload: unknown option of satvp run (did you mean '--workload'?); expected one of ...
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error);

}  // namespace cestvp
