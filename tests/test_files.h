// Files and errors in tests: a directory private to the running test, files written into it,
// and the message of the UserError an action throws.
#pragma once
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "config/user_error.h"

namespace cestvp::test {

// <build>/test-files/<Suite>.<Test>, created on first use.
inline std::filesystem::path test_dir() {
  const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(CESTVP_BINARY_DIR) / "test-files" /
                                    (std::string(test->test_suite_name()) + "." + test->name());
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `bytes` to `name` in the test's directory and returns its path.
inline std::string write_file(const std::string& name, const std::string& bytes) {
  const std::filesystem::path path = test_dir() / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

inline std::string write_file(const std::string& name, const std::vector<unsigned char>& bytes) {
  return write_file(name, std::string(bytes.begin(), bytes.end()));
}

// A file's bytes; "" if it cannot be read (the test's own checks say what was expected).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `word` as one shell word: in single quotes, its own single quotes escaped.
inline std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}
inline std::string shell_quote(const std::filesystem::path& path) { return shell_quote(path.string()); }

// The message of the Error (by default a UserError) that `action` throws; fails the test if
// it throws none.
template <typename Error = UserError, typename Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no " << (std::is_same_v<Error, UserError> ? "UserError" : "error of the expected type") << " thrown";
  return "";
}

// A small CNN on synthetic data, two iterations in timing mode: a fraction of a second a run,
// for the tests of satvp compare and sweep.
inline constexpr const char* kTinyCnnWorkload =
    "name: tiny_cnn\nprogram: train\nmode: timing\nscheme: bdwp\nnm: \"2:8\"\n"
    "batch: 16\niterations: 2\neval_samples: 16\noptimizer: {lr: 0.1}\n"
    "dataset: {name: synthetic, synthetic: {height: 16, width: 16, channels: 3, classes: 4, train: 64, test: 16}}\n"
    "network:\n  layers:\n"
    "    - {type: conv2d, out: 32, kernel: 3, padding: 1}\n"
    "    - {type: relu}\n"
    "    - {type: conv2d, out: 64, kernel: 3, padding: 1}\n"
    "    - {type: relu}\n"
    "    - {type: maxpool, kernel: 4, stride: 4}\n"
    "    - {type: flatten}\n"
    "    - {type: linear, out: 64, bias: true}\n"
    "    - {type: relu}\n"
    "    - {type: linear, out: 4, bias: true}\n"
    "    - {type: softmax_ce}\n"
    "timeout: 1 s\n";

}  // namespace cestvp::test
