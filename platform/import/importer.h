// The importer while it walks an ONNX graph (onnx_import.h says what it does): what each tensor
// is to the VP, and the layers made so far. Its operators live in two files: onnx_import.cpp
// (the walk, the tensors, the CNN operators) and onnx_transformer.cpp (the transformer patterns).
// Private to platform/import/.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "import/onnx_import.h"

namespace cestvp::onnx_import::detail {

using Node = onnx::NodeProto;

// What a tensor of the graph is to the VP.
enum class Form {
  image,         // N x C x H x W in ONNX, H x W x C on the VP
  features,      // N x F
  tokens,        // N x T x D, the VP's [N][1][T][D]
  channel_rows,  // N x C x (H*W): an image on its way to tokens (Transpose next)
  with_class,    // tokens with a class token concatenated in front, position embeddings next
};

struct Value {
  Form form = Form::image;
  int layer = kImages;                // the layer that makes it
  std::uint32_t h = 1, w = 1, c = 0;  // image H x W x C; features c; tokens w = T, c = D
  // Features in ONNX's flatten order C, H, W of an image of hwc_h x hwc_w x hwc_c; the VP
  // flattens H, W, C, so the linear layer that reads them gets its columns permuted.
  bool chw_order = false;
  std::uint32_t hwc_h = 1, hwc_w = 1, hwc_c = 0;
  std::vector<float> class_token;  // with_class
  std::string class_origin;
};

// A constant float tensor: an initializer, or computed from initializers (Importer::fold_constant).
struct Constant {
  Dims dims;
  std::vector<float> values;
};

std::string shape_text(const Value& v);
std::string form_text(Form f);
inline std::uint32_t u32(std::int64_t v) { return static_cast<std::uint32_t>(v); }

class Importer {
 public:
  Importer(const OnnxGraph& g, const Dims& input_chw) : g_(g), input_chw_(input_chw) {}
  ImportedNetwork run();

 private:
  const OnnxGraph& g_;
  const Dims input_chw_;
  ImportedNetwork net_;
  std::map<std::string, Value> values_;     // activations
  std::set<std::string> metadata_;          // shapes and what is computed from them
  std::map<std::string, Constant> folded_;  // constants computed from constants
  std::set<const Node*> done_;              // nodes a pattern has taken
  std::string logits_;                      // the tensor a final softmax read
  std::set<std::string> used_names_ = {"input"};

  // --- tensors (onnx_import.cpp) ---------------------------------------------------------
  const Value* value(const std::string& tensor) const;
  const Value& activation(const Node& node, int index) const;
  const Value& activation_of_form(const Node& node, int index, std::initializer_list<Form> forms) const;
  // A float initializer, Constant node or folded constant, as floats (node: for messages).
  std::optional<Constant> float_constant(const Node& node, const std::string& tensor) const;
  // Input `index` of `node` (`what`, for messages), which must be a float constant.
  Constant constant_input(const Node& node, int index, const std::string& what) const;
  // ... which must also hold `count` values.
  std::vector<float> vector_input(const Node& node, int index, const std::string& what, std::uint32_t count) const;
  void fold_constant(const Node& node);
  bool is_constant_like(const std::string& tensor) const;
  std::optional<float> scalar(const Node& node, const std::string& tensor) const;
  const Node* sole_consumer(const std::string& tensor) const;
  // The output shape of `node`, checked against what the VP computes for it.
  void expect_shape(const Node& node, const Value& v) const;

  // --- layers -----------------------------------------------------------------------------
  int add_layer(ImportedLayer layer, const Value& in, const Node& node);
  // What a layer entry's `input` or `with` says for the value made by `layer`.
  int reference(int layer);
  // A workload layer name from an exporter's node name: "/layer1/layer1.0/relu_1/Relu" ->
  // "layer1.0_relu_1" (path parts that the next part repeats, and the operator, left out).
  std::string unique_name(const std::string& origin);
  void set_output(const Node& node, Value v, int layer);
  void alias(const Node& node, const Value& v);

  // --- one node, and the CNN operators (onnx_import.cpp) ----------------------------------
  void map_node(const Node& node);
  void simple(const Node& node, const char* type, std::initializer_list<Form> forms);
  void zero_pad(const Node& node);
  void conv(const Node& node);
  // The one padding the VP's conv2d has on all four sides, from pads or auto_pad.
  std::int64_t symmetric_padding(const Node& node, const Value& in, std::int64_t k, std::int64_t stride) const;
  void batchnorm(const Node& node);
  void note_epsilon(const Node& node, const char* what);
  void pool(const Node& node);
  void global_pool(const Node& node);
  void emit_pool(const Node& node, const Value& in, const char* type, std::int64_t k, std::int64_t stride);
  // Flatten, and the reshapes that are flattens or that turn a patch image into rows of tokens.
  void reshape(const Node& node);
  void flatten_into_features(const Value& in, const Node* node);
  // A linear layer: weight [out][in] in PyTorch's layout, with a bias when there is one, from
  // `node` to `last` (the node of its bias when one was fused).
  void linear(const Node& node, const Value& in, std::vector<float> w_out_in, std::uint32_t out,
              std::optional<std::vector<float>> bias, const Node& last, const std::string& origin);
  void gemm(const Node& node);
  static std::vector<float> transposed(const std::vector<float>& m, std::uint32_t rows, std::uint32_t cols);
  // MatMul with a constant [in][out] weight, and the Add of a constant bias that follows it.
  void matmul(const Node& node);
  void add(const Node& node);
  void softmax(const Node& node);
  void finish();

  // --- the transformer patterns (onnx_transformer.cpp) -------------------------------------
  void transpose(const Node& node);
  // Concat(class token, tokens) along the tokens: the first half of the VP's embed layer.
  void concat(const Node& node);
  void embed(const Node& node, const Value& in, const std::string& positions);
  void layernorm(const Node& node);
  // Gather of token 0: the class token (the VP's cls_token layer).
  void gather(const Node& node);
  // GELU as exporters write erf's form: x / sqrt(2) (or x * 1/sqrt(2)) -> Erf -> + 1 -> * x -> * 0.5,
  // the last two multiplications in either order.
  bool gelu(const Node& first);
  // Multi-head attention from the qkv tokens (N x T x 3D) to N x T x D, as timm and
  // torch.nn.MultiheadAttention-style code exports it: the head split, q k^T, the scale,
  // Softmax, the product with v and the merge of the heads. The nodes in between are taken
  // whole; each must be one of attention's operators.
  void attention(const Node& split, const Value& qkv);
  // q, k and v are parts 0, 1 and 2 of the split (Gather or Split along it); the VP's layer
  // computes softmax(q k^T) v, so the products must read them in those places.
  void check_roles(const Node& split, const std::vector<const Node*>& region) const;
};

}  // namespace cestvp::onnx_import::detail
