// The layer catalogue: what each layer type is, written once. The workload reader takes its
// YAML names, keys and defaults from here, the loader its params and tensors, the descriptor
// reader what a kind may carry, and the messages and reports its name. What a kind computes
// (the runtime, the reference trainer) and the shapes it accepts (the workload reader, the
// descriptor reader) stay per kind, next to the code that needs them.
//
// Adding a layer type starts here: a LayerKind value (appended: the numbers are the model
// descriptor's) and its row in kLayerTypes (docs/firmware-guide.md, "Adding a layer type").
// SystemC-free, no allocation: the firmware reads it too.
#pragma once
#include <cstdint>
#include <string_view>

namespace cestvp::fw::model {

// The kind of a model::Layer (model.h); a..d are Layer's kind-specific fields.
enum class LayerKind : std::uint32_t {
  conv2d = 0,      // a = kh, b = kw, c = stride, d = pad; weight param; bias param or kNone
  linear = 1,      // weight [out][in]; bias param or kNone
  relu = 2,
  maxpool = 3,     // a = kernel, c = stride (no padding)
  avgpool = 4,     // a = kernel, c = stride (no padding)
  flatten = 5,     // NHWC [N][H][W][C] -> [N][1][1][H*W*C], H, W, C order (not PyTorch's CHW)
  softmax_ce = 6,  // input logits [N][1][1][classes]; labels from the batch; ends the forward pass
  batchnorm = 7,   // per channel; weight = gamma param, bias = beta param, a = the param holding
                   // its running statistics (count 2C: mean[C] then variance[C], master only)
  add = 8,         // out = in + in2 (a residual connection)
  tokens = 9,      // view [N][H][W][C] -> [N][1][H*W][C]
  embed = 10,      // [N][1][T][D] -> [N][1][T+1][D]: weight = position embeddings [T+1][D], bias = class token [D]
  layernorm = 11,  // per position over C; weight = gamma, bias = beta
  gelu = 12,
  attention = 13,  // a = heads, b = probabilities tensor [N][heads][T][T] (P; its gradient holds dP, then dS);
                   // input qkv [N][1][T][3D], output [N][1][T][D]
  cls_token = 14,  // [N][1][T][D] -> [N][1][1][D], the first token
};

// The keys a layer entry of a workload may have besides `type`, `name` and `input`, in the
// order the workload reader lists them (in messages, the resolved workload and the docs).
enum class LayerKey : std::uint8_t { with, out, kernel, stride, padding, bias, dense, heads };
inline constexpr std::uint32_t kLayerKeyCount = 8;

// What a key's value is and, for a number, its range.
enum class KeyValue : std::uint8_t { layer_name, count, boolean };
struct LayerKeyInfo {
  const char* name;
  KeyValue value;
  std::uint32_t min = 0, max = 0;  // count: inclusive
};
inline constexpr LayerKeyInfo kLayerKeys[kLayerKeyCount] = {
    {"with", KeyValue::layer_name},   {"out", KeyValue::count, 1, 65536}, {"kernel", KeyValue::count, 1, 64},
    {"stride", KeyValue::count, 1, 64}, {"padding", KeyValue::count, 0, 64}, {"bias", KeyValue::boolean},
    {"dense", KeyValue::boolean},     {"heads", KeyValue::count, 1, 4096},
};
// The keys every layer may have, before its own.
inline constexpr const char* kCommonLayerKeys[] = {"type", "name", "input"};

// What a layer's input must be, checked before its keys' values.
enum class LayerInput : std::uint8_t {
  any,             // whatever the layer before makes (the layer's own rule may narrow it)
  image,           // not flattened: H x W x C
  token_sequence,  // [1][T][D]
};

// A key of one layer type and what it is when the workload leaves it out.
enum class Fallback : std::uint8_t { required, value, kernel };  // kernel: the layer's kernel
struct LayerKeyUse {
  LayerKey key;
  Fallback fallback = Fallback::required;
  std::uint32_t value = 0;  // Fallback::value: the default (a boolean's: 0 false, 1 true)
};
inline constexpr std::uint32_t kMaxLayerKeys = 6;

// The params a layer kind owns, in the order the loader creates them (model::Param order).
enum class LayerParams : std::uint8_t {
  none,
  weight_bias,         // a weight; a bias with `bias: true`
  gamma_beta,          // gamma (Layer::weight) and beta (Layer::bias), read by the host: no FP16 copy
  gamma_beta_running,  // gamma, beta (with FP16 copies) and the running statistics (Layer::a, master only)
  position_class,      // position embeddings (Layer::weight) and the class token (Layer::bias), no FP16 copy
};

struct LayerType {
  LayerKind kind;
  const char* name;  // in workloads (`type`), messages, reports, the profile and file names
  LayerKeyUse keys[kMaxLayerKeys];  // in the order the workload reader checks their values
  std::uint32_t key_count;
  LayerInput input;
  LayerParams params;
  // Its weight runs on the SAT and a sparse scheme makes it N:M (the layers a workload trains
  // and reports as trainable; the first and last of them stay dense by default).
  bool nm_weight;
  bool view;         // its output is its input under another shape (the same bytes and gradient)
  bool second_input; // reads a second tensor, Layer::in2 (`with`)
  bool output;       // writes an output tensor (not the loss, which ends the forward pass)
  std::uint32_t extra_tensors;  // tensors of its own besides its output (attention: the probabilities)
};

// The catalogue, indexed by LayerKind.
inline constexpr LayerType kLayerTypes[] = {
    // kind, name, keys, key count, input, params, nm_weight, view, second_input, output, extra tensors
    {LayerKind::conv2d, "conv2d",
     {{LayerKey::out}, {LayerKey::bias, Fallback::value, 0}, {LayerKey::dense, Fallback::value, 0}, {LayerKey::kernel},
      {LayerKey::stride, Fallback::value, 1}, {LayerKey::padding, Fallback::value, 0}},
     6, LayerInput::image, LayerParams::weight_bias, true, false, false, true, 0},
    {LayerKind::linear, "linear",
     {{LayerKey::out}, {LayerKey::bias, Fallback::value, 0}, {LayerKey::dense, Fallback::value, 0}},
     3, LayerInput::any, LayerParams::weight_bias, true, false, false, true, 0},
    {LayerKind::relu, "relu", {}, 0, LayerInput::any, LayerParams::none, false, false, false, true, 0},
    {LayerKind::maxpool, "maxpool", {{LayerKey::kernel}, {LayerKey::stride, Fallback::kernel}},
     2, LayerInput::image, LayerParams::none, false, false, false, true, 0},
    {LayerKind::avgpool, "avgpool", {{LayerKey::kernel}, {LayerKey::stride, Fallback::kernel}},
     2, LayerInput::image, LayerParams::none, false, false, false, true, 0},
    {LayerKind::flatten, "flatten", {}, 0, LayerInput::image, LayerParams::none, false, true, false, true, 0},
    {LayerKind::softmax_ce, "softmax_ce", {}, 0, LayerInput::any, LayerParams::none, false, false, false, false, 0},
    {LayerKind::batchnorm, "batchnorm", {}, 0, LayerInput::any, LayerParams::gamma_beta_running, false, false, false, true, 0},
    {LayerKind::add, "add", {{LayerKey::with}}, 1, LayerInput::any, LayerParams::none, false, false, true, true, 0},
    {LayerKind::tokens, "tokens", {}, 0, LayerInput::image, LayerParams::none, false, true, false, true, 0},
    {LayerKind::embed, "embed", {}, 0, LayerInput::token_sequence, LayerParams::position_class, false, false, false, true, 0},
    {LayerKind::layernorm, "layernorm", {}, 0, LayerInput::any, LayerParams::gamma_beta, false, false, false, true, 0},
    {LayerKind::gelu, "gelu", {}, 0, LayerInput::any, LayerParams::none, false, false, false, true, 0},
    {LayerKind::attention, "attention", {{LayerKey::heads}}, 1, LayerInput::token_sequence, LayerParams::none, false, false,
     false, true, 1},
    {LayerKind::cls_token, "cls_token", {}, 0, LayerInput::token_sequence, LayerParams::none, false, false, false, true, 0},
};
inline constexpr std::uint32_t kLayerKindCount = sizeof kLayerTypes / sizeof kLayerTypes[0];

// Layer types a PyTorch model may have that the training runtime does not run yet: the
// workload reader names them as such rather than as unknown.
inline constexpr const char* kLaterLayerTypes[] = {"dropout"};

constexpr bool known(LayerKind kind) { return static_cast<std::uint32_t>(kind) < kLayerKindCount; }

// The row of a kind; the kind must be known (a descriptor's is checked by the descriptor reader).
constexpr const LayerType& layer_type(LayerKind kind) { return kLayerTypes[static_cast<std::uint32_t>(kind)]; }

// The row whose name is `name`, or nullptr.
constexpr const LayerType* find_layer_type(std::string_view name) {
  for (const LayerType& t : kLayerTypes)
    if (name == t.name) return &t;
  return nullptr;
}

constexpr const char* to_string(LayerKind kind) { return known(kind) ? layer_type(kind).name : "unknown"; }

constexpr bool has_key(const LayerType& type, LayerKey key) {
  for (std::uint32_t k = 0; k < type.key_count; ++k)
    if (type.keys[k].key == key) return true;
  return false;
}

// The params a layer of this type owns; `bias`: its `bias` key.
constexpr std::uint32_t param_count(const LayerType& type, bool bias) {
  switch (type.params) {
    case LayerParams::none: return 0;
    case LayerParams::weight_bias: return bias ? 2 : 1;
    case LayerParams::gamma_beta:
    case LayerParams::position_class: return 2;
    case LayerParams::gamma_beta_running: return 3;
  }
  return 0;
}

// The table is indexed by kind, names are unique, a row names a key once, a stride defaults to
// the kernel only after the kernel, and a layer owns at most one tensor besides its output:
// the readers of workloads and of descriptors and the loader rely on it.
constexpr bool catalogue_consistent() {
  for (std::uint32_t i = 0; i < kLayerKindCount; ++i) {
    const LayerType& t = kLayerTypes[i];
    if (static_cast<std::uint32_t>(t.kind) != i || t.key_count > kMaxLayerKeys || t.extra_tensors > 1) return false;
    for (std::uint32_t k = 0; k < t.key_count; ++k) {
      for (std::uint32_t j = 0; j < k; ++j)
        if (t.keys[j].key == t.keys[k].key) return false;
      if (t.keys[k].fallback != Fallback::kernel) continue;
      bool kernel_before = false;  // the default is read from it
      for (std::uint32_t j = 0; j < k; ++j) kernel_before |= t.keys[j].key == LayerKey::kernel;
      if (!kernel_before) return false;
    }
    if (find_layer_type(t.name) != &t) return false;
  }
  return true;
}
static_assert(catalogue_consistent(), "kLayerTypes: one row per LayerKind, in order, unique names and keys");

}  // namespace cestvp::fw::model
