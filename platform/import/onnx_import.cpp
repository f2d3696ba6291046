#include "import/onnx_import.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "import/importer.h"

namespace cestvp::onnx_import {

namespace detail {

namespace {

// The VP's epsilons (firmware host_layers.h), PyTorch's defaults.
constexpr float kVpNormEps = 1e-5f;

Value image_value(std::int64_t h, std::int64_t w, std::int64_t c) {
  Value v;
  v.h = u32(h), v.w = u32(w), v.c = u32(c);
  return v;
}

}  // namespace

std::string shape_text(const Value& v) {
  switch (v.form) {
    case Form::image:
      return std::to_string(v.h) + "x" + std::to_string(v.w) + "x" + std::to_string(v.c);
    case Form::tokens:
      return std::to_string(v.w) + " tokens of " + std::to_string(v.c);
    default:
      return std::to_string(v.c) + " features";
  }
}

std::string form_text(Form f) {
  switch (f) {
    case Form::image:
      return "an image (N x C x H x W)";
    case Form::features:
      return "features (N x F)";
    case Form::tokens:
      return "a token sequence (N x T x D)";
    case Form::channel_rows:
      return "an image reshaped to N x C x (H*W)";
    case Form::with_class:
      return "tokens with a class token";
  }
  return "";
}

ImportedNetwork Importer::run() {
  const Dims& in = g_.input_dims();
  Value images;
  if (in.size() == 4) {
    images = image_value(in[2], in[3], in[1]);
  } else if (in.size() == 2) {
    // Flat vectors: the VP's datasets are images, flattened by the workload's first layer.
    images = image_value(1, 1, in[1]);
    if (!input_chw_.empty()) {
      if (input_chw_[0] * input_chw_[1] * input_chw_[2] != in[1])
        g_.fail("--input " + dims_text(input_chw_) + " has " +
                std::to_string(input_chw_[0] * input_chw_[1] * input_chw_[2]) + " values but the model's input '" +
                g_.input_name() + "' has " + std::to_string(in[1]) + " features");
      images = image_value(input_chw_[1], input_chw_[2], input_chw_[0]);
    }
  } else {
    g_.fail("input '" + g_.input_name() + "' is " + dims_text(in) + "; expected N x C x H x W images (or N x F)");
  }
  net_.height = images.h, net_.width = images.w, net_.channels = images.c;
  values_[g_.input_name()] = images;
  if (in.size() == 2) flatten_into_features(images, nullptr);

  for (const Node* node : g_.nodes())
    if (!done_.count(node)) map_node(*node);
  finish();
  return std::move(net_);
}

const Value* Importer::value(const std::string& tensor) const {
  const auto it = values_.find(tensor);
  return it == values_.end() ? nullptr : &it->second;
}

const Value& Importer::activation(const Node& node, int index) const {
  if (index >= node.input_size()) g_.fail(node, "input " + std::to_string(index) + " is missing");
  const Value* v = value(node.input(index));
  if (!v)
    g_.fail(node, "input '" + node.input(index) +
                      "' is not an activation the importer follows; expected the output of a layer");
  return *v;
}

const Value& Importer::activation_of_form(const Node& node, int index, std::initializer_list<Form> forms) const {
  const Value& v = activation(node, index);
  if (std::find(forms.begin(), forms.end(), v.form) == forms.end())
    g_.fail(node, "its input is " + form_text(v.form) + "; expected " + form_text(*forms.begin()));
  return v;
}

std::optional<Constant> Importer::float_constant(const Node& node, const std::string& tensor) const {
  if (const auto it = folded_.find(tensor); it != folded_.end()) return it->second;
  const onnx::TensorProto* t = g_.constant(tensor);
  if (!t || (t->data_type() != onnx::TensorProto::FLOAT && t->data_type() != onnx::TensorProto::DOUBLE))
    return std::nullopt;
  return Constant{Dims(t->dims().begin(), t->dims().end()), g_.floats(node, *t)};
}

Constant Importer::constant_input(const Node& node, int index, const std::string& what) const {
  if (index >= node.input_size() || node.input(index).empty()) g_.fail(node, what + " is missing");
  std::optional<Constant> c = float_constant(node, node.input(index));
  if (!c)
    g_.fail(node, what + " '" + node.input(index) +
                      "' is an input of the model or computed by the graph; expected a constant (an initializer)");
  return std::move(*c);
}

std::vector<float> Importer::vector_input(const Node& node, int index, const std::string& what,
                                          std::uint32_t count) const {
  Constant c = constant_input(node, index, what);
  if (c.values.size() != count)
    g_.fail(node, what + " has " + std::to_string(c.values.size()) + " values; expected " + std::to_string(count));
  return std::move(c.values);
}

bool Importer::is_constant_like(const std::string& tensor) const {
  return tensor.empty() || g_.constant(tensor) || metadata_.count(tensor) || folded_.count(tensor);
}

std::optional<float> Importer::scalar(const Node& node, const std::string& tensor) const {
  const std::optional<Constant> c = float_constant(node, tensor);
  if (!c || c->values.size() != 1) return std::nullopt;
  return c->values[0];
}

// An exporter without constant folding (PyTorch in training mode) computes some weights from
// initializers: nn.Linear's W^T for a MatMul, a class token broadcast over the batch. Those are
// folded here: a transpose reorders the values, the views keep them.
void Importer::fold_constant(const Node& node) {
  const std::string& op = node.op_type();
  const bool view = op == "Identity" || op == "Reshape" || op == "Unsqueeze" || op == "Squeeze" || op == "Expand";
  if ((!view && op != "Transpose") || node.input_size() == 0) return;
  std::optional<Constant> in = float_constant(node, node.input(0));
  if (!in) return;
  if (op == "Expand") return folded_.insert_or_assign(node.output(0), std::move(*in)), void();  // the values once
  if (view) {
    const std::optional<Dims> dims = g_.shape(node.output(0));
    if (dims) in->dims = *dims;
    return folded_.insert_or_assign(node.output(0), std::move(*in)), void();
  }
  std::vector<std::int64_t> perm = ints_attribute(node, "perm");
  const std::size_t rank = in->dims.size();
  if (perm.empty())
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(rank - 1 - i));
  if (perm.size() != rank) return;
  Constant out{Dims(rank), std::vector<float>(in->values.size())};
  for (std::size_t i = 0; i < rank; ++i) out.dims[i] = in->dims[static_cast<std::size_t>(perm[i])];
  std::vector<std::size_t> in_strides(rank, 1);
  for (std::size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * static_cast<std::size_t>(in->dims[i]);
  std::vector<std::size_t> index(rank, 0);
  for (float& value : out.values) {
    std::size_t from = 0;
    for (std::size_t i = 0; i < rank; ++i) from += index[i] * in_strides[static_cast<std::size_t>(perm[i])];
    value = in->values[from];
    for (std::size_t i = rank; i-- > 0;)  // the next output index, last dimension fastest
      if (++index[i] < static_cast<std::size_t>(out.dims[i]))
        break;
      else
        index[i] = 0;
  }
  folded_.insert_or_assign(node.output(0), std::move(out));
}

const Node* Importer::sole_consumer(const std::string& tensor) const {
  const auto& c = g_.consumers(tensor);
  return c.size() == 1 && tensor != g_.output_name() ? c.front() : nullptr;
}

// The output shape of `node`, checked against what the VP computes for it.
void Importer::expect_shape(const Node& node, const Value& v) const {
  const std::optional<Dims> onnx_dims = g_.shape(node.output(0));
  if (!onnx_dims) return;
  Dims vp;
  switch (v.form) {
    case Form::image:
      vp = {kUnknownDim, v.c, v.h, v.w};
      break;
    case Form::features:
      vp = {kUnknownDim, v.c};
      break;
    case Form::tokens:
      vp = {kUnknownDim, v.w, v.c};
      break;
    default:
      return;
  }
  Dims got = *onnx_dims;
  if (got.size() == vp.size()) got[0] = kUnknownDim;
  if (got != vp)
    g_.fail(node, "its output is " + dims_text(*onnx_dims) + " but the VP's layer makes " + dims_text(vp) +
                      "; expected shapes that chain as on the VP");
}

int Importer::add_layer(ImportedLayer layer, const Value& in, const Node& node) {
  const bool previous =
      in.layer == static_cast<int>(net_.layers.size()) - 1 || (in.layer == kImages && net_.layers.empty());
  layer.input = previous ? kPreviousLayer : reference(in.layer);
  if (layer.origin.empty()) layer.origin = node.name().empty() ? node.output(0) : node.name();
  net_.layers.push_back(std::move(layer));
  return static_cast<int>(net_.layers.size()) - 1;
}

// What a layer entry's `input` or `with` says for the value made by `layer`.
int Importer::reference(int layer) {
  if (layer >= 0 && net_.layers[static_cast<std::size_t>(layer)].name.empty())
    net_.layers[static_cast<std::size_t>(layer)].name =
        unique_name(net_.layers[static_cast<std::size_t>(layer)].origin);
  return layer;
}

// A workload layer name from an exporter's node name: "/layer1/layer1.0/relu_1/Relu" ->
// "layer1.0_relu_1" (path parts that the next part repeats, and the operator, left out).
std::string Importer::unique_name(const std::string& origin) {
  std::vector<std::string> parts;
  std::string part;
  for (char ch : origin.substr(0, origin.find(' ')) + "/") {
    if (ch != '/') {
      part += ch;
      continue;
    }
    if (!part.empty()) parts.push_back(part);
    part.clear();
  }
  std::string name;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool repeated = i + 1 < parts.size() && parts[i + 1].rfind(parts[i] + ".", 0) == 0;
    const bool operator_name = i + 1 == parts.size() && parts.size() > 1;
    if (repeated || operator_name) continue;
    for (char& ch : parts[i])
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-') ch = '_';
    name += (name.empty() ? "" : "_") + parts[i];
  }
  if (name.empty() || name[0] == '.') name = "n" + name;
  std::string unique = name;
  for (int k = 2; used_names_.count(unique); ++k) unique = name + "_" + std::to_string(k);
  used_names_.insert(unique);
  return unique;
}

void Importer::set_output(const Node& node, Value v, int layer) {
  v.layer = layer;
  net_.layers[static_cast<std::size_t>(layer)].shape = shape_text(v);
  expect_shape(node, v);
  values_[node.output(0)] = v;
}

void Importer::alias(const Node& node, const Value& v) { values_[node.output(0)] = v; }

void Importer::map_node(const Node& node) {
  const std::string& op = node.op_type();
  if (op == "Constant") return;
  if (op == "Shape") {
    metadata_.insert(node.output(0));
    return;
  }
  const bool reads_activation = std::any_of(node.input().begin(), node.input().end(),
                                            [&](const std::string& in) { return value(in) != nullptr; });
  if (!reads_activation) {
    // Shape arithmetic for a dynamic Reshape, or a weight computed from constants.
    for (const std::string& out : node.output()) metadata_.insert(out);
    return fold_constant(node);
  }
  if (op == "Identity" || op == "Dropout") {
    net_.notes.push_back("dropped " + op + " node '" + node.name() + "'" +
                         (op == "Dropout" ? " (the VP trains without dropout)" : ""));
    return alias(node, activation(node, 0));
  }
  if (op == "Pad") return zero_pad(node);
  if (op == "Conv") return conv(node);
  if (op == "BatchNormalization") return batchnorm(node);
  if (op == "Relu") return simple(node, "relu", {Form::image, Form::features, Form::tokens});
  if (op == "MaxPool" || op == "AveragePool") return pool(node);
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") return global_pool(node);
  if (op == "Flatten" || op == "Reshape") return reshape(node);
  if (op == "Transpose") return transpose(node);
  if (op == "Gemm") return gemm(node);
  if (op == "MatMul") return matmul(node);
  if (op == "Add") return add(node);
  if (op == "Concat") return concat(node);
  if (op == "LayerNormalization") return layernorm(node);
  if (op == "Gather") return gather(node);
  if ((op == "Div" || op == "Mul") && gelu(node)) return;
  if (op == "Softmax" || op == "LogSoftmax") return softmax(node);
  if (op == "ReduceMean" || op == "Sub" || op == "Pow" || op == "Sqrt")
    g_.fail(node,
            "part of a layer norm written out as elementwise operators; expected one LayerNormalization node "
            "(torch.onnx.export(..., opset_version=17))");
  g_.fail(node,
          "an operator the SAT training runtime does not run; expected one of Conv, Gemm, MatMul, Relu, MaxPool, "
          "AveragePool, GlobalAveragePool, BatchNormalization, Add, Flatten, Reshape, LayerNormalization, "
          "GELU (erf form), multi-head attention, Softmax/LogSoftmax at the end, Identity, Dropout (docs/import.md)");
}

void Importer::simple(const Node& node, const char* type, std::initializer_list<Form> forms) {
  const Value& in = activation_of_form(node, 0, forms);
  ImportedLayer layer;
  layer.type = type;
  Value out = in;
  set_output(node, out, add_layer(std::move(layer), in, node));
}

// PyTorch writes AvgPool2d as Pad + AveragePool, with pads of 0 unless the pool has padding.
void Importer::zero_pad(const Node& node) {
  const Value& in = activation(node, 0);
  std::vector<std::int64_t> pads = ints_attribute(node, "pads");  // before opset 11
  if (node.input_size() > 1 && !node.input(1).empty()) {
    const onnx::TensorProto* given = g_.constant(node.input(1));
    if (!given) g_.fail(node, "the pads '" + node.input(1) + "' are computed by the graph; expected a constant");
    pads = g_.ints(node, *given);
  }
  if (std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p != 0; }))
    g_.fail(node, "pads by " + dims_text(pads) +
                      "; expected no padding outside a convolution (the VP's pooling layers "
                      "have none)");
  alias(node, in);
}

void Importer::conv(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::image});
  Constant w = constant_input(node, 1, "the weight");
  if (w.dims.size() != 4)
    g_.fail(node,
            "a " + std::to_string(int(w.dims.size()) - 2) + "-D convolution; expected a 2-D convolution (Conv2d)");
  const std::int64_t group = int_attribute(node, "group", 1);
  if (group != 1)
    g_.fail(node, (group == in.c ? "a depthwise convolution (group = " : "a grouped convolution (group = ") +
                      std::to_string(group) +
                      "); expected group = 1: the STCE's convolution sums over every input channel");
  for (std::int64_t d : ints_attribute(node, "dilations"))
    if (d != 1)
      g_.fail(node, "dilation " + std::to_string(d) + "; expected dilation 1 (the STCE has no dilated convolution)");
  const std::int64_t out = w.dims[0], kh = w.dims[2], kw = w.dims[3];
  if (w.dims[1] != in.c)
    g_.fail(node, "weight of " + std::to_string(w.dims[1]) + " input channels for an input of " + std::to_string(in.c));
  if (kh != kw)
    g_.fail(node, "a " + std::to_string(kh) + "x" + std::to_string(kw) +
                      " kernel; expected a square kernel (the VP's conv2d `kernel`)");
  std::vector<std::int64_t> strides = ints_attribute(node, "strides");
  if (strides.empty()) strides = {1, 1};
  if (strides.size() != 2 || strides[0] != strides[1])
    g_.fail(node, "strides " + dims_text(strides) + "; expected the same stride along H and W");
  const std::int64_t pad = symmetric_padding(node, in, kh, strides[0]);
  ImportedLayer layer;
  layer.type = "conv2d";
  const bool bias = node.input_size() > 2 && !node.input(2).empty();
  layer.keys = {{"out", std::to_string(out)},
                {"kernel", std::to_string(kh)},
                {"stride", std::to_string(strides[0])},
                {"padding", std::to_string(pad)},
                {"bias", bias ? "true" : "false"}};
  layer.weight_node = node.name();
  layer.params.push_back({"weight", {std::size_t(out), in.c, std::size_t(kh), std::size_t(kw)}, std::move(w.values)});
  if (bias) layer.params.push_back({"bias", {std::size_t(out)}, vector_input(node, 2, "the bias", u32(out))});
  Value o = in;
  o.c = u32(out);
  o.h = u32((in.h + 2 * pad - kh) / strides[0] + 1);
  o.w = u32((in.w + 2 * pad - kw) / strides[0] + 1);
  set_output(node, o, add_layer(std::move(layer), in, node));
}

// The one padding the VP's conv2d has on all four sides, from pads or auto_pad.
std::int64_t Importer::symmetric_padding(const Node& node, const Value& in, std::int64_t k, std::int64_t stride) const {
  const std::string auto_pad = string_attribute(node, "auto_pad", "NOTSET");
  std::vector<std::int64_t> pads = ints_attribute(node, "pads");
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    pads.clear();
    for (std::uint32_t size : {in.h, in.w}) {
      const std::int64_t out = (size + stride - 1) / stride;
      const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + k - size, 0);
      pads.push_back(total / 2), pads.push_back(total - total / 2);
    }
    pads = {pads[0], pads[2], pads[1], pads[3]};
  }
  if (pads.empty()) return 0;
  if (pads.size() != 4 || std::adjacent_find(pads.begin(), pads.end(), std::not_equal_to<>()) != pads.end())
    g_.fail(node,
            "padding " + dims_text(pads) + " (top, left, bottom, right); expected the same padding on all four sides");
  return pads[0];
}

void Importer::batchnorm(const Node& node) {
  const Value& in = activation(node, 0);
  if (in.form != Form::image)
    g_.fail(node, "a batch norm of " + form_text(in.form) + " (BatchNorm1d); expected it on an image (BatchNorm2d)");
  ImportedLayer layer;
  layer.type = "batchnorm";
  layer.params.push_back({"weight", {in.c}, vector_input(node, 1, "the scale (gamma)", in.c)});
  layer.params.push_back({"bias", {in.c}, vector_input(node, 2, "the bias (beta)", in.c)});
  note_epsilon(node, "batch norm");
  set_output(node, in, add_layer(std::move(layer), in, node));
}

void Importer::note_epsilon(const Node& node, const char* what) {
  const float eps = float_attribute(node, "epsilon", 1e-5f);
  if (std::fabs(eps - kVpNormEps) > 1e-9f)
    net_.notes.push_back(std::string(what) + " '" + node.name() + "' has epsilon " + std::to_string(eps) +
                         "; the VP's " + what + " uses 1e-5");
}

void Importer::pool(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::image});
  const std::vector<std::int64_t> k = ints_attribute(node, "kernel_shape");
  std::vector<std::int64_t> strides = ints_attribute(node, "strides");
  if (strides.empty()) strides = {1, 1};
  if (k.size() != 2 || k[0] != k[1]) g_.fail(node, "a " + dims_text(k) + " window; expected a square window");
  if (strides.size() != 2 || strides[0] != strides[1])
    g_.fail(node, "strides " + dims_text(strides) + "; expected the same stride along H and W");
  for (std::int64_t p : ints_attribute(node, "pads"))
    if (p != 0)
      g_.fail(node, "padding " + std::to_string(p) +
                        "; expected no padding (the VP's pooling layers have none; "
                        "torchvision's ResNet stem MaxPool(3, 2, padding=1) can become MaxPool(2, 2), as in "
                        "workloads/resnet18_tinyimagenet.yaml)");
  for (std::int64_t d : ints_attribute(node, "dilations"))
    if (d != 1) g_.fail(node, "dilation " + std::to_string(d) + "; expected dilation 1");
  emit_pool(node, in, node.op_type() == "MaxPool" ? "maxpool" : "avgpool", k[0], strides[0]);
}

void Importer::global_pool(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::image});
  if (in.h != in.w)
    g_.fail(node, "global pooling of a " + shape_text(in) +
                      " image; expected a square image (the VP pools with a square window)");
  emit_pool(node, in, node.op_type() == "GlobalMaxPool" ? "maxpool" : "avgpool", in.h, in.h);
}

void Importer::emit_pool(const Node& node, const Value& in, const char* type, std::int64_t k, std::int64_t stride) {
  ImportedLayer layer;
  layer.type = type;
  layer.keys = {{"kernel", std::to_string(k)}, {"stride", std::to_string(stride)}};
  Value o = in;
  o.h = u32((in.h - k) / stride + 1), o.w = u32((in.w - k) / stride + 1);
  if (in.h < k)
    g_.fail(node, "a " + std::to_string(k) + "x" + std::to_string(k) + " window over a " + shape_text(in) + " image");
  set_output(node, o, add_layer(std::move(layer), in, node));
}

// Flatten, and the reshapes that are flattens or that turn a patch image into rows of tokens.
void Importer::reshape(const Node& node) {
  const Value& in = activation(node, 0);
  if (node.op_type() == "Flatten" && int_attribute(node, "axis", 1) != 1)
    g_.fail(node, "flattens from axis " + std::to_string(int_attribute(node, "axis", 1)) + "; expected axis 1 (N x F)");
  const Dims out = g_.static_shape(node, node.output(0));
  if (node.op_type() == "Reshape" && in.form == Form::tokens && out.size() == 5) return attention(node, in);
  if (in.form == Form::image && out.size() == 2) return flatten_into_features(in, &node);
  if (in.form == Form::features && out.size() == 2) return alias(node, in);
  if (in.form == Form::image && out.size() == 3 && out[1] == in.c) {
    Value rows = in;
    rows.form = Form::channel_rows;
    return alias(node, rows);
  }
  g_.fail(node, "reshapes " + form_text(in.form) + " to " + dims_text(out) +
                    "; expected a flatten (N x F), patches to tokens (N x C x H*W), or attention's head split");
}

void Importer::flatten_into_features(const Value& in, const Node* node) {
  ImportedLayer layer;
  layer.type = "flatten";
  Value o;
  o.form = Form::features;
  o.c = in.h * in.w * in.c;
  o.chw_order = in.h * in.w > 1 && in.c > 1;
  o.hwc_h = in.h, o.hwc_w = in.w, o.hwc_c = in.c;
  if (!node) {  // the model's input was already flat: the workload flattens its 1 x 1 x F images
    layer.origin = "the model's flat input '" + g_.input_name() + "'";
    layer.input = kPreviousLayer;
    net_.layers.push_back(std::move(layer));
    o.layer = static_cast<int>(net_.layers.size()) - 1;
    net_.layers.back().shape = shape_text(o);
    values_[g_.input_name()] = o;
    return;
  }
  const int index = add_layer(std::move(layer), in, *node);
  o.layer = index;
  net_.layers.back().shape = shape_text(o);
  expect_shape(*node, o);
  values_[node->output(0)] = o;
}

void Importer::linear(const Node& node, const Value& in, std::vector<float> w_out_in, std::uint32_t out,
                      std::optional<std::vector<float>> bias, const Node& last, const std::string& origin) {
  const std::uint32_t features = in.c;
  if (in.chw_order) {  // columns from ONNX's C, H, W order to the VP's H, W, C
    std::vector<float> permuted(w_out_in.size());
    for (std::uint32_t o = 0; o < out; ++o)
      for (std::uint32_t c = 0; c < in.hwc_c; ++c)
        for (std::uint32_t y = 0; y < in.hwc_h; ++y)
          for (std::uint32_t x = 0; x < in.hwc_w; ++x)
            permuted[std::size_t(o) * features + (std::size_t(y) * in.hwc_w + x) * in.hwc_c + c] =
                w_out_in[std::size_t(o) * features + (std::size_t(c) * in.hwc_h + y) * in.hwc_w + x];
    w_out_in = std::move(permuted);
  }
  ImportedLayer layer;
  layer.type = "linear";
  layer.origin = origin;
  layer.keys = {{"out", std::to_string(out)}, {"bias", bias ? "true" : "false"}};
  layer.weight_node = node.name();
  layer.params.push_back({"weight", {out, features}, std::move(w_out_in)});
  if (bias) layer.params.push_back({"bias", {out}, std::move(*bias)});
  Value o = in;
  o.c = out;
  o.chw_order = false;
  set_output(last, o, add_layer(std::move(layer), in, node));
}

void Importer::gemm(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::features});
  if (int_attribute(node, "transA", 0) != 0) g_.fail(node, "transA = 1; expected the activations as A, untransposed");
  if (float_attribute(node, "alpha", 1.0f) != 1.0f || float_attribute(node, "beta", 1.0f) != 1.0f)
    g_.fail(node, "alpha or beta other than 1; expected y = x W^T + b (torch.nn.Linear)");
  Constant b = constant_input(node, 1, "B (the weight)");
  if (b.dims.size() != 2) g_.fail(node, "a weight of " + dims_text(b.dims) + "; expected 2-D");
  const bool trans_b = int_attribute(node, "transB", 0) != 0;
  const std::int64_t out = trans_b ? b.dims[0] : b.dims[1], k = trans_b ? b.dims[1] : b.dims[0];
  if (k != in.c) g_.fail(node, "a weight for " + std::to_string(k) + " inputs on " + shape_text(in));
  std::vector<float> w = trans_b ? std::move(b.values) : transposed(b.values, u32(k), u32(out));
  std::optional<std::vector<float>> bias;
  if (node.input_size() > 2 && !node.input(2).empty()) bias = vector_input(node, 2, "C (the bias)", u32(out));
  linear(node, in, std::move(w), u32(out), std::move(bias), node, node.name());
}

std::vector<float> Importer::transposed(const std::vector<float>& m, std::uint32_t rows, std::uint32_t cols) {
  std::vector<float> t(m.size());
  for (std::uint32_t r = 0; r < rows; ++r)
    for (std::uint32_t c = 0; c < cols; ++c) t[std::size_t(c) * rows + r] = m[std::size_t(r) * cols + c];
  return t;
}

// MatMul with a constant [in][out] weight, and the Add of a constant bias that follows it.
void Importer::matmul(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::features, Form::tokens});
  const std::optional<Constant> weight = float_constant(node, node.input(1));
  if (!weight) g_.fail(node, "multiplies two computed tensors; expected a constant weight as B (outside attention)");
  const Constant& b = *weight;
  if (b.dims.size() != 2 || b.dims[0] != in.c)
    g_.fail(node, "a weight of " + dims_text(b.dims) + " on " + shape_text(in) + "; expected " + std::to_string(in.c) +
                      " x out");
  const auto out = u32(b.dims[1]);
  std::optional<std::vector<float>> bias;
  const Node* last = &node;
  if (const Node* next = sole_consumer(node.output(0)); next && next->op_type() == "Add") {
    const std::string& other = next->input(0) == node.output(0) ? next->input(1) : next->input(0);
    if (std::optional<Constant> c = float_constant(*next, other); c && c->values.size() == out) {
      bias = std::move(c->values), last = next;
      done_.insert(next);
    }
  }
  linear(node, in, transposed(b.values, u32(b.dims[0]), out), out, std::move(bias), *last,
         node.name() + (last == &node ? "" : " + " + last->name()));
}

void Importer::add(const Node& node) {
  const Value* a = value(node.input(0));
  const Value* b = value(node.input(1));
  if (a && b) {
    if (a->form != b->form || a->h != b->h || a->w != b->w || a->c != b->c)
      g_.fail(node, "adds " + shape_text(*a) + " and " + shape_text(*b) +
                        "; expected two tensors of the same shape (a residual connection)");
    ImportedLayer layer;
    layer.type = "add";
    layer.with = reference(b->layer);
    Value o = *a;
    return set_output(node, o, add_layer(std::move(layer), *a, node));
  }
  const Value& v = a ? *a : *b;
  const std::string& other = a ? node.input(1) : node.input(0);
  if (v.form == Form::with_class) return embed(node, v, other);
  g_.fail(node, "adds the constant '" + other + "' to " + form_text(v.form) +
                    "; expected a residual Add of two layers' outputs, a MatMul's bias, or position embeddings");
}

void Importer::softmax(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::features});
  std::string out = node.output(0);
  for (const Node* next = sole_consumer(out); next && next->op_type() == "Identity"; next = sole_consumer(out)) {
    done_.insert(next);
    out = next->output(0);
  }
  if (out != g_.output_name())
    g_.fail(node, "a softmax inside the network; expected Softmax or LogSoftmax only at the end (the VP's softmax_ce)");
  logits_ = node.input(0);
  alias(node, in);
}

void Importer::finish() {
  const std::string& out = logits_.empty() ? g_.output_name() : logits_;
  const Value* logits = value(out);
  if (!logits)
    g_.fail("the output '" + g_.output_name() + "' is not computed from the input by layers the importer mapped");
  if (logits->form != Form::features || logits->layer < 0 || net_.layers[std::size_t(logits->layer)].type != "linear")
    g_.fail("the output '" + g_.output_name() + "' is " + form_text(logits->form) +
            "; expected class scores (N x classes) from a linear layer (Gemm or MatMul)");
  net_.classes = logits->c;
  ImportedLayer loss;
  loss.type = "softmax_ce";
  loss.input = logits->layer == static_cast<int>(net_.layers.size()) - 1 ? kPreviousLayer : reference(logits->layer);
  loss.origin = logits_.empty() ? "the workload's loss" : "the model's final softmax";
  net_.layers.push_back(std::move(loss));
}

}  // namespace detail

ImportedNetwork import_network(const OnnxGraph& graph, const Dims& input_chw) {
  return detail::Importer(graph, input_chw).run();
}

}  // namespace cestvp::onnx_import
