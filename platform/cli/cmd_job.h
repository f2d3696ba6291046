// satvp job: runs one engine job through the firmware's driver and reports its cycles and
// counters.
#pragma once
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace cestvp {

struct JobArgs {
  std::string platform = CESTVP_DEFAULT_PLATFORM;
  std::string engine = "stce";
  std::string op = "gemm";
  std::string pass = "ff";
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t batch = 1, h = 0, w = 0, cin = 0, cout = 0, kernel = 3, stride = 1, pad = 0;
  std::string nm;  // empty: dense (STCE), 2:8 (OSRE)
  std::string dir = "fwd";
  std::string src = "fp16";
  std::uint32_t count = 0;
  std::string mode = "functional";
  std::uint32_t seed = 1;
  bool csv = false;
};

void add_job_options(CLI::App& cmd, JobArgs& args);
// Exit codes as in main.cpp; throws UserError on bad input.
int run_job(const JobArgs& args, const CLI::App& cmd);

}  // namespace cestvp
