// What end-to-end tests share: the paths of the source tree and the satvp binary, the default
// platform, and running a command to collect its exit code and output.
#pragma once
#include <array>
#include <cstdio>
#include <string>

#include <sys/wait.h>

#include "config/config.h"

namespace cestvp::test {

inline const std::string kSource = CESTVP_SOURCE_DIR;
inline const std::string kSatvp = std::string(CESTVP_BINARY_DIR) + "/platform/satvp";

inline PlatformConfig default_config() { return load_platform_config(kSource + "/yaml/vcu1525.yaml"); }

struct Command {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline Command run_command(const std::string& cmd) {
  Command result{-1, {}};
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;  // read as bytes: a NUL in the output is kept, for tests to see
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace cestvp::test
