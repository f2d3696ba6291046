// satvp import: an ONNX model -> a training workload YAML and its initial weights (.npy), which
// satvp run, compare and sweep take like a shipped workload (docs/import.md).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace cestvp {

struct ImportArgs {
  std::string model;
  std::string out;   // "": NAME in the current directory
  std::string name;  // "": the model file's stem
  std::string scheme = "bdwp";
  std::string nm = "2:8";
  std::vector<std::string> dense;  // ONNX node names of conv/linear layers kept dense
  std::string input;               // "CxHxW"; "": the model's
  std::string dataset;             // "": from the input shape
  std::string dataset_path;
  std::uint32_t batch = 64;
  bool force = false;
};

void add_import_options(CLI::App& cmd, ImportArgs& args);
// 0 on success; throws UserError on bad input (exit 2), OutputError when writing fails.
int run_import(const ImportArgs& args);

}  // namespace cestvp
