// The transformer patterns of the importer: an exporter writes the VP's tokens, embed,
// layernorm, gelu, attention and cls_token layers as one or several ONNX nodes each.
#include <algorithm>
#include <cmath>
#include <map>

#include "import/importer.h"

namespace cestvp::onnx_import::detail {

void Importer::transpose(const Node& node) {
  const Value& in = activation(node, 0);
  const std::vector<std::int64_t> perm = ints_attribute(node, "perm");
  if (in.form != Form::channel_rows || perm != std::vector<std::int64_t>{0, 2, 1})
    g_.fail(node, "transposes " + form_text(in.form) + " by " + dims_text(perm) +
                      "; expected N x C x (H*W) to N x (H*W) x C (patches to tokens) or a transpose inside attention");
  ImportedLayer layer;
  layer.type = "tokens";
  Value o = in;
  o.form = Form::tokens;
  o.w = in.h * in.w, o.h = 1;
  set_output(node, o, add_layer(std::move(layer), in, node));
}

// Concat(class token, tokens) along the tokens: the first half of the VP's embed layer.
void Importer::concat(const Node& node) {
  if (node.input_size() != 2 || int_attribute(node, "axis", 0) != 1)
    g_.fail(node, "a concatenation other than a class token in front of tokens; expected Concat(cls, tokens, axis=1)");
  const Value* tokens = value(node.input(1));
  const std::optional<Constant> cls = float_constant(node, node.input(0));
  if (!tokens || tokens->form != Form::tokens || !cls)
    g_.fail(
        node,
        "a concatenation other than a constant class token in front of tokens; expected Concat(cls, tokens, axis=1)");
  Value o = *tokens;
  o.form = Form::with_class;
  o.class_token = cls->values;
  o.class_origin = node.name();
  if (o.class_token.size() != tokens->c)
    g_.fail(node, "a class token of " + std::to_string(o.class_token.size()) + " values for tokens of " +
                      std::to_string(tokens->c));
  alias(node, o);
}

void Importer::embed(const Node& node, const Value& in, const std::string& positions) {
  std::optional<Constant> pos = float_constant(node, positions);
  const std::size_t t1 = in.w + 1;
  if (!pos) g_.fail(node, "adds the computed '" + positions + "' to the tokens; expected constant position embeddings");
  std::vector<float> p = std::move(pos->values);
  if (p.size() != t1 * in.c)
    g_.fail(node, "position embeddings of " + std::to_string(p.size()) + " values; expected " + std::to_string(t1) +
                      " x " + std::to_string(in.c));
  ImportedLayer layer;
  layer.type = "embed";
  layer.origin = in.class_origin + " + " + node.name();
  layer.params.push_back({"weight", {t1, in.c}, std::move(p)});
  layer.params.push_back({"bias", {in.c}, in.class_token});
  Value o = in;
  o.form = Form::tokens;
  o.w = u32(t1);
  o.class_token.clear();
  set_output(node, o, add_layer(std::move(layer), in, node));
}

void Importer::layernorm(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::tokens});
  const std::int64_t axis = int_attribute(node, "axis", -1);
  if (axis != -1 && axis != 2)
    g_.fail(node, "normalises from axis " + std::to_string(axis) + "; expected the last axis (per token)");
  ImportedLayer layer;
  layer.type = "layernorm";
  layer.params.push_back({"weight", {in.c}, vector_input(node, 1, "the scale (gamma)", in.c)});
  if (node.input_size() > 2 && !node.input(2).empty())
    layer.params.push_back({"bias", {in.c}, vector_input(node, 2, "the bias (beta)", in.c)});
  else
    layer.params.push_back({"bias", {in.c}, std::vector<float>(in.c, 0.0f)});
  note_epsilon(node, "layer norm");
  set_output(node, in, add_layer(std::move(layer), in, node));
}

// Gather of token 0: the class token (the VP's cls_token layer).
void Importer::gather(const Node& node) {
  const Value& in = activation_of_form(node, 0, {Form::tokens});
  const onnx::TensorProto* index = g_.constant(node.input(1));
  if (int_attribute(node, "axis", 0) != 1 || !index || index->dims_size() != 0 ||
      g_.ints(node, *index) != std::vector<std::int64_t>{0})
    g_.fail(node, "gathers other than token 0 of the sequence; expected Gather(tokens, 0, axis=1) (the class token)");
  ImportedLayer layer;
  layer.type = "cls_token";
  Value o = in;
  o.form = Form::features;
  o.w = 1;
  set_output(node, o, add_layer(std::move(layer), in, node));
}

// GELU as exporters write erf's form: x / sqrt(2) (or x * 1/sqrt(2)) -> Erf -> + 1 -> * x -> * 0.5,
// the last two multiplications in either order.
bool Importer::gelu(const Node& first) {
  const Value* x = value(first.input(0));
  const std::optional<float> k = scalar(first, first.input(1));
  if (!x || !k) return false;
  const float scale = first.op_type() == "Div" ? 1.0f / *k : *k;
  if (std::fabs(scale - 0.70710678f) > 1e-4f) return false;
  const Node* erf = sole_consumer(first.output(0));
  if (!erf || erf->op_type() != "Erf") return false;
  const Node* plus = sole_consumer(erf->output(0));
  if (!plus || plus->op_type() != "Add" ||
      scalar(*plus, plus->input(0) == erf->output(0) ? plus->input(1) : plus->input(0)) != 1.0f)
    return false;
  const Node* m1 = sole_consumer(plus->output(0));
  if (!m1 || m1->op_type() != "Mul") return false;
  const Node* m2 = sole_consumer(m1->output(0));
  const auto other = [](const Node& n, const std::string& t) { return n.input(0) == t ? n.input(1) : n.input(0); };
  const std::string a = other(*m1, plus->output(0));
  bool ok = false;
  const Node* half_x = nullptr;
  if (a == first.input(0)) {  // (x * (1 + erf)) * 0.5
    ok = m2 && m2->op_type() == "Mul" && scalar(*m2, other(*m2, m1->output(0))) == 0.5f;
  } else if (scalar(*m1, a) == 0.5f) {  // ((1 + erf) * 0.5) * x
    ok = m2 && m2->op_type() == "Mul" && other(*m2, m1->output(0)) == first.input(0);
  } else {  // (x * 0.5) * (1 + erf)
    for (const Node* n : g_.consumers(first.input(0)))
      if (n->op_type() == "Mul" && n->output(0) == a && scalar(*n, other(*n, first.input(0))) == 0.5f) half_x = n;
    ok = half_x != nullptr;
    m2 = m1;
  }
  if (!ok) return false;
  ImportedLayer layer;
  layer.type = "gelu";
  layer.origin = first.name() + " .. " + m2->name();
  for (const Node* n : {erf, plus, m1, m2, half_x})
    if (n) done_.insert(n);
  Value o = *x;
  set_output(*m2, o, add_layer(std::move(layer), *x, first));
  return true;
}

// Multi-head attention from the qkv tokens (N x T x 3D) to N x T x D, as timm and
// torch.nn.MultiheadAttention-style code exports it: the head split, q k^T, the scale,
// Softmax, the product with v and the merge of the heads. The nodes in between are taken
// whole; each must be one of attention's operators.
void Importer::attention(const Node& split, const Value& qkv) {
  static const std::set<std::string> kParts = {"Reshape", "Transpose", "Gather",   "Split", "Squeeze", "Unsqueeze",
                                               "Slice",   "MatMul",    "Mul",      "Div",   "Softmax", "Shape",
                                               "Concat",  "Cast",      "Constant", "Sqrt"};
  const std::string qkv_tensor = split.input(0);
  if (qkv.c % 3 != 0)
    g_.fail(split,
            "splits " + shape_text(qkv) + " into heads; expected q, k and v (3D features) from one linear layer");
  const std::uint32_t d = qkv.c / 3, t = qkv.w;
  std::vector<const Node*> region;
  std::set<const Node*> seen;
  std::vector<const Node*> todo = {&split};
  const Node* end = nullptr;
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    if (!kParts.count(n->op_type()))
      g_.fail(*n, "inside the attention that starts at '" + split.name() +
                      "'; expected only the operators of softmax(q k^T / sqrt(dh)) v");
    region.push_back(n);
    if (region.size() > 64)
      g_.fail(split,
              "an attention pattern of more than 64 nodes; expected the head split, q k^T, scale, Softmax, v, merge");
    const std::optional<Dims> dims = g_.shape(n->output(0));
    if (n->op_type() == "Reshape" && dims && dims->size() == 3 && (*dims)[1] == t && (*dims)[2] == d) {
      if (end && end != n) g_.fail(*n, "a second end of the attention that starts at '" + split.name() + "'");
      end = n;
      continue;
    }
    for (const std::string& out : n->output()) {
      if (out == g_.output_name()) g_.fail(*n, "attention reaches the model's output; expected it to end in N x T x D");
      for (const Node* c : g_.consumers(out)) todo.push_back(c);
    }
  }
  if (!end)
    g_.fail(split,
            "no N x " + std::to_string(t) + " x " + std::to_string(d) + " reshape ends the attention that starts here");
  const Node* softmax = nullptr;
  int products = 0;
  double scale = 1.0;
  for (const Node* n : region) {
    for (const std::string& in : n->input())
      if (!in.empty() && in != qkv_tensor && !is_constant_like(in) &&
          std::none_of(region.begin(), region.end(),
                       [&](const Node* r) { return std::count(r->output().begin(), r->output().end(), in) > 0; }))
        g_.fail(*n, "reads '" + in + "' from outside the attention; expected attention to depend on qkv only");
    if (n->op_type() == "Softmax") {
      if (softmax) g_.fail(*n, "a second Softmax in one attention");
      softmax = n;
    } else if (n->op_type() == "MatMul" && !float_constant(*n, n->input(1))) {
      ++products;
    } else if (n->op_type() == "Mul" || n->op_type() == "Div") {
      std::optional<float> k = scalar(*n, n->input(1));
      if (!k) k = scalar(*n, n->input(0));
      if (k) scale *= n->op_type() == "Div" ? 1.0 / *k : *k;
    }
  }
  if (!softmax || products != 2) g_.fail(split, "attention without one Softmax and two products (q k^T and P v)");
  const Dims scores = g_.static_shape(*softmax, softmax->input(0));
  if (scores.size() != 4 || scores[2] != t || scores[3] != t || d % scores[1] != 0)
    g_.fail(*softmax, "scores of " + dims_text(scores) + "; expected N x heads x T x T");
  const std::uint32_t heads = u32(scores[1]);
  const double expected = 1.0 / std::sqrt(double(d / heads));
  if (std::fabs(scale - expected) > 1e-4 * expected)
    g_.fail(*softmax, "attention scaled by " + std::to_string(scale) +
                          "; expected 1/sqrt(head dimension) = " + std::to_string(expected));
  const Dims heads_split = g_.static_shape(split, split.output(0));
  if (heads_split.size() != 5 || heads_split[2] != 3 || heads_split[3] != heads)
    g_.fail(split, "splits qkv into " + dims_text(heads_split) +
                       "; expected N x T x 3 x heads x dh (q, k, v, each head's features together)");
  check_roles(split, region);
  ImportedLayer layer;
  layer.type = "attention";
  layer.keys = {{"heads", std::to_string(heads)}};
  layer.origin = split.name() + " .. " + end->name();
  for (const Node* n : region) done_.insert(n);
  Value o = qkv;
  o.c = d;
  set_output(*end, o, add_layer(std::move(layer), qkv, split));
}

// q, k and v are parts 0, 1 and 2 of the split (Gather or Split along it); the VP's layer
// computes softmax(q k^T) v, so the products must read them in those places.
void Importer::check_roles(const Node& split, const std::vector<const Node*>& region) const {
  std::map<std::string, char> role;  // tensor -> 'q', 'k', 'v', or 's' (scores) / 'p' (probabilities)
  const char parts[] = {'q', 'k', 'v'};
  const auto of = [&](const std::string& t) {
    const auto it = role.find(t);
    return it == role.end() ? '\0' : it->second;
  };
  for (const Node* n : g_.nodes()) {
    if (std::find(region.begin(), region.end(), n) == region.end() || n == &split) continue;
    const std::string& op = n->op_type();
    if (op == "Gather" && int_attribute(*n, "axis", 0) == 0) {
      const onnx::TensorProto* index = g_.constant(n->input(1));
      const std::vector<std::int64_t> i = index ? g_.ints(*n, *index) : std::vector<std::int64_t>{};
      if (i.size() == 1 && i[0] >= 0 && i[0] < 3) role[n->output(0)] = parts[i[0]];
    } else if (op == "Split") {
      for (int j = 0; j < n->output_size() && j < 3; ++j) role[n->output(j)] = parts[j];
    } else if (op == "MatMul") {
      const char a = of(n->input(0)), b = of(n->input(1));
      if (a == 'q' && b == 'k')
        role[n->output(0)] = 's';
      else if (a == 'p' && b == 'v')
        role[n->output(0)] = 'o';
      else
        g_.fail(*n, std::string("multiplies ") + (a ? a : '?') + " by " + (b ? b : '?') +
                        " (q, k, v: parts 0, 1, 2 of the split); "
                        "expected q k^T, then the probabilities times v, as the VP's attention computes");
    } else if (op == "Softmax") {
      if (of(n->input(0)) == 's') role[n->output(0)] = 'p';
    } else if (n->input_size() > 0 && of(n->input(0))) {  // Transpose, Squeeze, a scale: the same part
      role[n->output(0)] = of(n->input(0));
    } else if (n->input_size() > 1 && of(n->input(1))) {
      role[n->output(0)] = of(n->input(1));
    }
  }
}

}  // namespace cestvp::onnx_import::detail
