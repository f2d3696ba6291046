// ONNX graph -> the VP's training network (network.layers of a workload) and its initial
// weights (docs/import.md). Operators map one to one where the VP has the layer (Conv, Gemm,
// MatMul + Add, BatchNormalization, Relu, pooling, Add, Flatten, LayerNormalization) and by
// pattern where an exporter writes a layer as several nodes (GELU's erf form, multi-head
// attention, tokens, class token and position embeddings). A final Softmax or LogSoftmax is the
// workload's softmax_ce; Identity and Dropout are dropped. Everything else is a UserError naming
// the node, its operator and why.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "import/onnx_graph.h"

namespace cestvp::onnx_import {

// An initial value in the layout satvp's weights/ files have (docs/workloads.md).
struct ImportedParam {
  std::string role;  // "weight" or "bias"
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

inline constexpr int kPreviousLayer = -2;  // a layer's input when it reads the layer before it
inline constexpr int kImages = -1;         // ... when it reads the input batch

struct ImportedLayer {
  std::string type;                                       // a layer type of the catalogue
  std::vector<std::pair<std::string, std::string>> keys;  // as written, in the catalogue's key order
  std::string name;                                       // set when a later layer names it
  int input = kPreviousLayer, with = kPreviousLayer;      // with: add only, a layer index or kImages
  std::string origin;                                     // the ONNX nodes it came from
  std::string shape;                                      // its output, for the comment
  std::string weight_node;                                // conv2d and linear: the node --dense names
  std::vector<ImportedParam> params;
};

struct ImportedNetwork {
  std::uint32_t height = 0, width = 0, channels = 0, classes = 0;  // the images and the labels
  std::vector<ImportedLayer> layers;                               // ends with softmax_ce
  std::vector<std::string> notes;  // what the user should know: dropped nodes, differing epsilons
};

// `input_chw`: the images of a model whose input is flat (N x F, F = C*H*W), which the
// workload's dataset delivers as C x H x W; empty: 1 x 1 x F.
ImportedNetwork import_network(const OnnxGraph& graph, const Dims& input_chw);

}  // namespace cestvp::onnx_import
