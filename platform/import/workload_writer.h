// The workload YAML and the initial-weight .npy files of an imported network, in the form of the
// shipped workloads (every key, a comment each), so that a user can read and edit what satvp
// import made, and `satvp run` / `satvp compare` take it as they take workloads/*.yaml.
#pragma once
#include <cstdint>
#include <set>
#include <string>

#include "import/onnx_import.h"

namespace cestvp::onnx_import {

struct WorkloadChoices {
  std::string model;  // the ONNX file, for the header comment
  std::string name;   // the workload's name
  std::string scheme = "bdwp";
  std::string nm = "2:8";
  std::set<std::string> dense;  // conv2d/linear layers kept dense, by ONNX node name
  std::string dataset;          // "": from the input shape and the classes
  std::string dataset_path;
  std::uint32_t batch = 64;
};

// What `dataset.name` the choices and the network give.
std::string dataset_name(const ImportedNetwork& net, const WorkloadChoices& choices);

// The workload text; `weights_dir` is what its init_weights says.
std::string workload_yaml(const ImportedNetwork& net, const WorkloadChoices& choices, const std::string& weights_dir);

// <weights_dir>/<i>_<type>.<role>.npy for every layer's params (the names init_weights reads).
void write_initial_weights(const ImportedNetwork& net, const std::string& weights_dir);

}  // namespace cestvp::onnx_import
