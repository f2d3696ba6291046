#include "import/onnx_graph.h"

#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "config/input_file.h"
#include "config/user_error.h"

namespace cestvp::onnx_import {

namespace {

// Protobuf cannot parse a message of 2 GiB or more; larger models keep their weights as
// external data, which fail() refuses by name.
constexpr std::uint64_t kMaxModelBytes = (std::uint64_t{1} << 31) - 1;
// Rounds of shape inference and folding of computed reshape targets; each round resolves the
// reshapes whose inputs the previous one made known (an encoder block needs one or two).
constexpr int kMaxShapePasses = 16;

std::string node_label(const onnx::NodeProto& node) {
  return "node '" + (node.name().empty() ? node.output(0) : node.name()) + "' (" + node.op_type() + ")";
}

Dims dims_of(const onnx::TypeProto& type) {
  Dims dims;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return dims;
  for (const auto& d : type.tensor_type().shape().dim())
    dims.push_back(d.has_dim_value() ? d.dim_value() : kUnknownDim);
  return dims;
}

}  // namespace

std::optional<std::vector<std::int64_t>> integers_of(const onnx::TensorProto& t) {
  std::vector<std::int64_t> v;
  const std::string& raw = t.raw_data();
  if (t.data_type() == onnx::TensorProto::INT64) {
    v.resize(raw.empty() ? 0 : raw.size() / 8);
    if (!raw.empty())
      std::memcpy(v.data(), raw.data(), v.size() * 8);
    else
      v.assign(t.int64_data().begin(), t.int64_data().end());
  } else if (t.data_type() == onnx::TensorProto::INT32) {
    for (std::size_t i = 0; i + 4 <= raw.size(); i += 4) {
      std::int32_t x;
      std::memcpy(&x, raw.data() + i, 4);
      v.push_back(x);
    }
    if (raw.empty()) v.assign(t.int32_data().begin(), t.int32_data().end());
  } else {
    return std::nullopt;
  }
  return v;
}

std::string dims_text(const Dims& dims) {
  std::vector<std::string> parts;
  for (std::int64_t d : dims) parts.push_back(d == kUnknownDim ? "N" : std::to_string(d));
  return parts.empty() ? "a scalar" : join(parts, "x");
}

OnnxGraph::OnnxGraph(const std::string& path, const Dims& input_chw) : path_(path) {
  InputFile file(path, "an ONNX model", kMaxModelBytes);
  const std::vector<unsigned char> bytes = file.read_all();
  if (!model_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model_.has_graph())
    fail(
        "not an ONNX model (protobuf ModelProto with a graph); expected a file written by torch.onnx.export or "
        "onnx.save");
  for (const auto& opset : model_.opset_import())
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") && opset.version() < 7)
      fail("opset " + std::to_string(opset.version()) +
           "; expected opset 7 or later (torch.onnx.export's opset_version)");

  onnx::GraphProto& graph = *model_.mutable_graph();
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  // The images are the first input that is not an initializer (older exporters list the weights
  // as inputs too); a node that reads another input fails where it needs a constant.
  onnx::ValueInfoProto* input = nullptr;
  for (auto& in : *graph.mutable_input())
    if (!input && !initializers.count(in.name())) input = &in;
  if (!input) fail("no input; expected one input, the images (N x C x H x W)");
  if (graph.output_size() != 1)
    fail(std::to_string(graph.output_size()) + " outputs; expected one output (the logits or their softmax)");
  input_ = input->name();
  output_ = graph.output(0).name();
  auto* shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
  if (!input_chw.empty() && shape->dim_size() != 2) {  // a flat input keeps its shape: the importer reads input_chw
    const std::string batch = shape->dim_size() > 0 && shape->dim(0).has_dim_param() ? shape->dim(0).dim_param() : "N";
    shape->clear_dim();
    shape->add_dim()->set_dim_param(batch);
    for (std::int64_t d : input_chw) shape->add_dim()->set_dim_value(d);
  }
  input_dims_ = dims_of(input->type());
  if (input_dims_.empty()) fail("input '" + input_ + "' has no shape; expected N x C x H x W (or give --input CxHxW)");
  for (int i = 1; i < shape->dim_size(); ++i)
    if (!shape->dim(i).has_dim_value() || shape->dim(i).dim_value() <= 0) {
      std::vector<std::string> parts;  // the symbolic dimensions by their names
      for (const auto& d : shape->dim())
        parts.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.dim_param().empty() ? "?" : d.dim_param());
      fail("input '" + input_ + "' is " + join(parts, "x") +
           ", dynamic beyond the batch; expected fixed dimensions (give --input CxHxW)");
    }
  input_dims_[0] = kUnknownDim;
  // A batch of 1 for the inference: an exporter computes the shapes of reshapes from the input's
  // (Shape, Gather, Slice, Concat), and ONNX propagates those only from known dimensions. The
  // importer reads dimension 0 as the batch whatever its value; the workload sets the batch.
  shape->mutable_dim(0)->set_dim_value(1);
  for (int pass = 0;; ++pass) {
    infer_shapes();
    if (pass == kMaxShapePasses || !fold_reshape_targets()) break;
  }
  for (const auto& t : graph.initializer()) constants_[t.name()] = &t;
  for (const auto& node : graph.node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      fail(node, "an operator of domain '" + node.domain() + "'; expected standard ONNX operators");
    nodes_.push_back(&node);
    if (node.op_type() == "Constant" && node.output_size() == 1)
      for (const auto& a : node.attribute())
        if (a.name() == "value" && a.has_t()) constants_[node.output(0)] = &a.t();
    for (const std::string& in : node.input()) consumers_[in].push_back(&node);
  }
}

void OnnxGraph::infer_shapes() {
  onnx::GraphProto& graph = *model_.mutable_graph();
  graph.clear_value_info();
  try {
    onnx::shape_inference::InferShapes(model_, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, /*data propagation*/ true));
  } catch (const std::exception& e) {
    fail(std::string("ONNX shape inference failed: ") + e.what());
  }
  shapes_.clear();
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()})
    for (const auto& v : *list) shapes_[v.name()] = dims_of(v.type());
  for (const auto& t : graph.initializer()) shapes_[t.name()] = Dims(t.dims().begin(), t.dims().end());
}

namespace {

// The integer values of tensors computed from shapes (Shape, Gather, Slice, Concat, arithmetic),
// as exporters compute the targets of reshapes from the input's size: x.reshape(b, n, 3, h, d).
class ShapeValues {
 public:
  ShapeValues(const onnx::GraphProto& graph, const std::map<std::string, Dims>& shapes) : shapes_(shapes) {
    for (const auto& t : graph.initializer()) constants_[t.name()] = &t;
    for (const auto& node : graph.node()) {
      for (const std::string& out : node.output()) producers_[out] = &node;
      if (node.op_type() == "Constant")
        for (const auto& a : node.attribute())
          if (a.name() == "value" && a.has_t()) constants_[node.output(0)] = &a.t();
    }
  }

  std::optional<std::vector<std::int64_t>> of(const std::string& tensor, int depth = 0) {
    if (const auto it = memo_.find(tensor); it != memo_.end()) return it->second;
    std::optional<std::vector<std::int64_t>> v = depth > 64 ? std::nullopt : evaluate(tensor, depth);
    memo_[tensor] = v;
    return v;
  }

 private:
  const std::map<std::string, Dims>& shapes_;
  std::map<std::string, const onnx::TensorProto*> constants_;
  std::map<std::string, const onnx::NodeProto*> producers_;
  std::map<std::string, std::optional<std::vector<std::int64_t>>> memo_;

  std::optional<std::vector<std::int64_t>> evaluate(const std::string& tensor, int depth) {
    if (const auto c = constants_.find(tensor); c != constants_.end()) return integers_of(*c->second);
    const auto p = producers_.find(tensor);
    if (p == producers_.end()) return std::nullopt;
    const onnx::NodeProto& n = *p->second;
    const std::string& op = n.op_type();
    if (op == "Shape") {
      const auto s = shapes_.find(n.input(0));
      if (s == shapes_.end() || s->second.empty() || std::count(s->second.begin(), s->second.end(), kUnknownDim))
        return std::nullopt;
      const auto rank = static_cast<std::int64_t>(s->second.size());
      const auto clamp = [rank](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + rank : i, 0, rank); };
      return std::vector<std::int64_t>(s->second.begin() + clamp(int_attribute(n, "start", 0)),
                                       s->second.begin() + clamp(int_attribute(n, "end", rank)));
    }
    std::vector<std::vector<std::int64_t>> in;
    for (const std::string& name : n.input()) {
      if (name.empty()) continue;
      std::optional<std::vector<std::int64_t>> v = of(name, depth + 1);
      if (!v) return std::nullopt;
      in.push_back(std::move(*v));
    }
    if (in.empty()) return std::nullopt;
    if (op == "Identity" || op == "Cast" || op == "Unsqueeze" || op == "Squeeze") return in[0];
    if (op == "Concat") {
      std::vector<std::int64_t> all;
      for (const auto& v : in) all.insert(all.end(), v.begin(), v.end());
      return all;
    }
    if (op == "Gather" && in.size() == 2 && int_attribute(n, "axis", 0) == 0) {
      std::vector<std::int64_t> picked;
      for (std::int64_t i : in[1]) {
        const std::int64_t at = i < 0 ? i + static_cast<std::int64_t>(in[0].size()) : i;
        if (at < 0 || at >= static_cast<std::int64_t>(in[0].size())) return std::nullopt;
        picked.push_back(in[0][static_cast<std::size_t>(at)]);
      }
      return picked;
    }
    if (op == "Slice" && in.size() >= 3 && in[1].size() == 1 && in[2].size() == 1 &&
        (in.size() < 5 || in[4] == std::vector<std::int64_t>{1})) {
      const auto size = static_cast<std::int64_t>(in[0].size());
      const auto clamp = [size](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + size : i, 0, size); };
      const std::int64_t from = clamp(in[1][0]), to = clamp(in[2][0]);
      return std::vector<std::int64_t>(in[0].begin() + from, in[0].begin() + std::max(from, to));
    }
    if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && in.size() == 2) {
      const std::size_t size = std::max(in[0].size(), in[1].size());
      if ((in[0].size() != size && in[0].size() != 1) || (in[1].size() != size && in[1].size() != 1))
        return std::nullopt;
      std::vector<std::int64_t> out(size);
      for (std::size_t i = 0; i < size; ++i) {
        const std::int64_t a = in[0][in[0].size() == 1 ? 0 : i], b = in[1][in[1].size() == 1 ? 0 : i];
        if (op == "Div" && b == 0) return std::nullopt;
        out[i] = op == "Add" ? a + b : op == "Sub" ? a - b : op == "Mul" ? a * b : a / b;
      }
      return out;
    }
    return std::nullopt;
  }
};

}  // namespace

bool OnnxGraph::fold_reshape_targets() {
  onnx::GraphProto& graph = *model_.mutable_graph();
  ShapeValues values(graph, shapes_);
  bool folded = false;
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    if (node.op_type() != "Reshape" || node.input_size() < 2) continue;
    const bool known = std::any_of(graph.initializer().begin(), graph.initializer().end(),
                                   [&](const onnx::TensorProto& t) { return t.name() == node.input(1); });
    if (known) continue;
    const std::optional<std::vector<std::int64_t>> target = values.of(node.input(1));
    if (!target) continue;
    onnx::TensorProto& t = *graph.add_initializer();
    t.set_name(node.input(1) + "/folded");
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(static_cast<std::int64_t>(target->size()));
    for (std::int64_t v : *target) t.add_int64_data(v);
    node.set_input(1, t.name());
    folded = true;
  }
  return folded;
}

std::optional<Dims> OnnxGraph::shape(const std::string& tensor) const {
  const auto it = shapes_.find(tensor);
  if (it == shapes_.end() || it->second.empty()) {
    if (const onnx::TensorProto* c = constant(tensor)) return Dims(c->dims().begin(), c->dims().end());
    return std::nullopt;
  }
  return it->second;
}

Dims OnnxGraph::static_shape(const onnx::NodeProto& node, const std::string& tensor) const {
  const std::optional<Dims> dims = shape(tensor);
  if (!dims)
    fail(node, "the shape of '" + tensor +
                   "' is unknown after ONNX shape inference; expected static shapes "
                   "(export with a fixed input size, or give --input CxHxW)");
  for (std::size_t i = 1; i < dims->size(); ++i)
    if ((*dims)[i] == kUnknownDim)
      fail(node, "'" + tensor + "' has a dynamic shape (" + dims_text(*dims) +
                     "); expected every dimension but the batch fixed (give --input CxHxW)");
  return *dims;
}

const onnx::TensorProto* OnnxGraph::constant(const std::string& tensor) const {
  const auto it = constants_.find(tensor);
  return it == constants_.end() ? nullptr : it->second;
}

const std::vector<const onnx::NodeProto*>& OnnxGraph::consumers(const std::string& tensor) const {
  static const std::vector<const onnx::NodeProto*> none;
  const auto it = consumers_.find(tensor);
  return it == consumers_.end() ? none : it->second;
}

std::vector<float> OnnxGraph::floats(const onnx::NodeProto& node, const onnx::TensorProto& t) const {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    fail(node, "tensor '" + t.name() +
                   "' is stored as external data; expected the weights inside the .onnx file "
                   "(onnx.save(model, path, save_as_external_data=False))");
  std::int64_t count = 1;
  for (std::int64_t d : t.dims()) count *= d;
  const auto n = static_cast<std::size_t>(count);
  std::vector<float> values(n);
  const std::string& raw = t.raw_data();
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (!raw.empty() && raw.size() == n * 4)
        std::memcpy(values.data(), raw.data(), raw.size());
      else if (static_cast<std::size_t>(t.float_data_size()) == n)
        values.assign(t.float_data().begin(), t.float_data().end());
      else
        break;
      return values;
    case onnx::TensorProto::DOUBLE:
      if (!raw.empty() && raw.size() == n * 8) {
        for (std::size_t i = 0; i < n; ++i) {
          double v;
          std::memcpy(&v, raw.data() + 8 * i, 8);
          values[i] = static_cast<float>(v);
        }
      } else if (static_cast<std::size_t>(t.double_data_size()) == n) {
        for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>(t.double_data(static_cast<int>(i)));
      } else {
        break;
      }
      return values;
    default:
      fail(node, "tensor '" + t.name() + "' is of ONNX data type " + std::to_string(t.data_type()) +
                     "; expected float32 weights (export the model in FP32)");
  }
  fail(node, "tensor '" + t.name() + "' holds fewer or more values than its shape " +
                 dims_text({t.dims().begin(), t.dims().end()}));
}

std::vector<std::int64_t> OnnxGraph::ints(const onnx::NodeProto& node, const onnx::TensorProto& t) const {
  if (t.data_type() != onnx::TensorProto::INT64 && t.data_type() != onnx::TensorProto::INT32)
    fail(node,
         "tensor '" + t.name() + "' is of ONNX data type " + std::to_string(t.data_type()) + "; expected integers");
  std::int64_t count = 1;
  for (std::int64_t d : t.dims()) count *= d;
  std::optional<std::vector<std::int64_t>> values = integers_of(t);
  if (!values || values->size() != static_cast<std::size_t>(count))
    fail(node, "tensor '" + t.name() + "' holds fewer or more values than its shape");
  return std::move(*values);
}

void OnnxGraph::fail(const onnx::NodeProto& node, const std::string& reason) const {
  throw UserError(path_ + ": " + node_label(node) + ": " + reason);
}

void OnnxGraph::fail(const std::string& reason) const { throw UserError(path_ + ": " + reason); }

namespace {
const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
}  // namespace

std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  const onnx::AttributeProto* a = find_attribute(node, name);
  return a ? a->i() : fallback;
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const onnx::AttributeProto* a = find_attribute(node, name);
  return a ? a->f() : fallback;
}

std::string string_attribute(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  const onnx::AttributeProto* a = find_attribute(node, name);
  return a ? a->s() : fallback;
}

std::vector<std::int64_t> ints_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* a = find_attribute(node, name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
}

}  // namespace cestvp::onnx_import
