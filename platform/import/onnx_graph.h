// An ONNX model as the importer reads it: the graph's nodes in order, every tensor's shape after
// ONNX's own shape inference, and the constants (initializers and Constant nodes) as numbers.
// Everything a user's file can get wrong is a UserError naming the file and, for a node, its
// name and operator: "model.onnx: node '/conv1/Conv' (Conv): groups 32; expected ...".
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cestvp::onnx_import {

// A tensor's shape; dimension 0 of an activation is the batch, whatever the model says of it.
using Dims = std::vector<std::int64_t>;
inline constexpr std::int64_t kUnknownDim = -1;  // symbolic or not inferred

class OnnxGraph {
 public:
  // Reads MODEL. `input_chw` (empty: the model's own) fixes the non-batch dimensions of an
  // image input (N x C x H x W) before shape inference, for a model exported with dynamic
  // height and width; a flat input (N x F) keeps its shape.
  OnnxGraph(const std::string& path, const Dims& input_chw);

  const std::string& path() const { return path_; }
  const std::vector<const onnx::NodeProto*>& nodes() const { return nodes_; }
  const std::string& input_name() const { return input_; }
  const Dims& input_dims() const { return input_dims_; }  // batch first, as in the model
  const std::string& output_name() const { return output_; }

  // The shape shape inference gave `tensor`, if it gave one.
  std::optional<Dims> shape(const std::string& tensor) const;
  // The shape of a node's input or output that the importer needs: every dimension but the
  // batch known, or fail() naming `node`.
  Dims static_shape(const onnx::NodeProto& node, const std::string& tensor) const;

  // An initializer's or a Constant node's value, or nullptr for a computed tensor.
  const onnx::TensorProto* constant(const std::string& tensor) const;
  std::vector<float> floats(const onnx::NodeProto& node, const onnx::TensorProto& t) const;
  std::vector<std::int64_t> ints(const onnx::NodeProto& node, const onnx::TensorProto& t) const;
  // The nodes that read `tensor`, and whether the graph outputs it.
  const std::vector<const onnx::NodeProto*>& consumers(const std::string& tensor) const;

  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& reason) const;
  [[noreturn]] void fail(const std::string& reason) const;

 private:
  void infer_shapes();  // ONNX's shape inference, into shapes_
  // Replaces each reshape target computed from shapes by its value; whether any was.
  bool fold_reshape_targets();

  std::string path_;
  onnx::ModelProto model_;
  std::vector<const onnx::NodeProto*> nodes_;
  std::string input_, output_;
  Dims input_dims_;
  std::map<std::string, const onnx::TensorProto*> constants_;
  std::map<std::string, Dims> shapes_;
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers_;
};

// A node's attributes, with the default ONNX gives an absent one.
std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback);
float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string string_attribute(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<std::int64_t> ints_attribute(const onnx::NodeProto& node, const std::string& name);
// An INT64 or INT32 tensor's values; nullopt for another type.
std::optional<std::vector<std::int64_t>> integers_of(const onnx::TensorProto& t);
// "12x64" for messages; "N" for the batch or an unknown dimension.
std::string dims_text(const Dims& dims);

}  // namespace cestvp::onnx_import
