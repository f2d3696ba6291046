#include "loader/layers.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>

#include <cestvp/layer_catalogue.h>
#include <cestvp/sat_abi.h>

#include "config/user_error.h"
#include "loader/workload_values.h"

namespace cestvp {

namespace {

using namespace workload_values;
using fw::model::LayerKey;
using fw::model::LayerType;

// The most features a flatten layer may make or tokens a sequence may hold.
constexpr std::uint32_t kMaxFeatures = 1u << 20;

bool valid_layer_name(const std::string& name) {
  return !name.empty() && name[0] != '.' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
}

std::string shape_text(const FeatureShape& s) {
  return s.flat ? std::to_string(s.c) + " features"
                : std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) + " (H x W x C)";
}

// The layer types a workload may name, in catalogue order with the loss last (as it ends a
// network), for messages; with those of kLaterLayerTypes, for suggestions.
std::vector<std::string> layer_type_names(bool later_too) {
  std::vector<std::string> names;
  for (const bool loss : {false, true})
    for (const LayerType& t : fw::model::kLayerTypes)
      if (t.output != loss) names.push_back(t.name);
  if (later_too) names.insert(names.end(), std::begin(fw::model::kLaterLayerTypes), std::end(fw::model::kLaterLayerTypes));
  return names;
}

// The catalogue row of a layer entry's `type`. A missing `type` lists every layer key as
// allowed, so that a misspelt "type" is reported as an unknown key, with a suggestion.
const LayerType& read_layer_type(YamlMap& entry, const YamlValue& type, std::string& text) {
  if (is_missing(type)) {
    for (const char* key : fw::model::kCommonLayerKeys) entry.get(key);
    for (const fw::model::LayerKeyInfo& key : fw::model::kLayerKeys) entry.get(key.name);
    entry.finish();
  }
  const std::string expected = "one of " + join(layer_type_names(false));
  text = scalar_text(type, expected);
  const auto& later = fw::model::kLaterLayerTypes;
  if (std::find(std::begin(later), std::end(later), text) != std::end(later))
    type.fail("layer type '" + text + "' is not supported by the training runtime yet", expected);
  const LayerType* found = fw::model::find_layer_type(text);
  if (!found) type.fail("unknown layer type '" + text + "'" + did_you_mean(text, layer_type_names(true)), expected);
  return *found;
}

// One entry of network.layers while it is read: the values of its type's keys and what
// read_layers knows of the layers before it.
struct LayerReading {
  const YamlValue& item;
  std::size_t index;
  const std::vector<YamlValue>& items;  // every entry
  const std::vector<TrainLayer>& earlier;
  const std::vector<std::string>& names;  // what `input` and `with` may name so far
  const TrainDataset& data;
  const LayerType& type;
  std::optional<YamlValue> keys[fw::model::kLayerKeyCount];  // those of its type
  TrainLayer layer;

  const YamlValue& key(LayerKey k) const { return *keys[static_cast<std::size_t>(k)]; }
  FeatureShape image() const { return {data.height, data.width, data.channels, false}; }
  FeatureShape output_of(int producer) const {
    return producer < 0 ? image() : earlier[static_cast<std::size_t>(producer)].out_shape;
  }
  std::string where() const { return layer.type + " (layer " + std::to_string(index) + ")"; }

  // The layer that `v` names: -1 for the input batch.
  int producer(const YamlValue& v, const char* what) const {
    const std::string text = scalar_text(v, "the name of an earlier layer, or input");
    if (text == "input") return -1;
    for (std::size_t j = 0; j < earlier.size(); ++j)
      if (earlier[j].name == text) return static_cast<int>(j);
    v.fail("no earlier layer is named '" + text + "'" + did_you_mean(text, names),
           std::string("the name of an earlier layer for ") + what + ", or input (the batch)");
  }
};

void read_layer_name(LayerReading& r, const YamlValue& name) {
  if (is_missing(name)) return;
  TrainLayer& layer = r.layer;
  layer.name = scalar_text(name, "a layer name");
  if (layer.name == "input" || !valid_layer_name(layer.name))
    name.fail("'" + layer.name + "' cannot name a layer", "letters, digits, '_', '-', '.' (not 'input')");
  for (std::size_t j = 0; j < r.earlier.size(); ++j)
    if (r.earlier[j].name == layer.name)
      name.fail("layer name '" + layer.name + "' is also layer " + std::to_string(j) + "'s (line " +
                    std::to_string(r.earlier[j].line) + ")",
                "distinct layer names");
}

// What the catalogue asks of the layer's input (LayerInput).
void check_input(const LayerReading& r, const FeatureShape& shape) {
  switch (r.type.input) {
    case fw::model::LayerInput::any: return;
    case fw::model::LayerInput::image:
      if (shape.flat)
        r.item.fail(r.where() + " needs an image input, but its input is already flattened to " +
                        std::to_string(shape.c) + " features",
                    "an image: conv2d and pooling layers come before the flatten layer");
      return;
    case fw::model::LayerInput::token_sequence:
      if (!shape.token_sequence())
        r.item.fail(r.where() + " needs a token sequence [1][T][D], but its input is " + shape_text(shape),
                    "a tokens layer before it (the patches of a patch-embedding conv2d)");
      return;
  }
}

std::uint32_t& number_of(TrainLayer& l, LayerKey key) {
  switch (key) {
    case LayerKey::out: return l.out;
    case LayerKey::kernel: return l.kernel;
    case LayerKey::stride: return l.stride;
    case LayerKey::padding: return l.padding;
    case LayerKey::heads: return l.heads;
    case LayerKey::with:
    case LayerKey::bias:
    case LayerKey::dense: break;
  }
  throw std::logic_error("layer key '" + std::string(fw::model::kLayerKeys[static_cast<std::size_t>(key)].name) +
                         "' is not a number");
}

// The value of one key of the layer's type, or its default (kLayerTypes).
void read_layer_key(LayerReading& r, const fw::model::LayerKeyUse& use) {
  const YamlValue& v = r.key(use.key);
  const fw::model::LayerKeyInfo& info = fw::model::kLayerKeys[static_cast<std::size_t>(use.key)];
  TrainLayer& l = r.layer;
  switch (info.value) {
    case fw::model::KeyValue::layer_name:  // with
      l.with = scalar_text(v, "the name of an earlier layer, or input");
      l.with_from = r.producer(v, info.name);
      return;
    case fw::model::KeyValue::boolean:
      (use.key == LayerKey::bias ? l.bias : l.dense) = optional(v, use.value != 0, boolean);
      return;
    case fw::model::KeyValue::count: {
      const auto read = count_in(info.min, info.max);
      std::uint32_t& value = number_of(l, use.key);
      if (use.fallback == fw::model::Fallback::required) value = read(v);
      else value = optional(v, use.fallback == fw::model::Fallback::kernel ? l.kernel : use.value, read);
      return;
    }
  }
}

// ---- Per kind: the output shape, and the checks only the kind knows.

// conv2d, maxpool, avgpool: the kernel must fit the (padded) input.
FeatureShape window_shape(const LayerReading& r, const FeatureShape& in) {
  const TrainLayer& l = r.layer;
  const bool conv = r.type.kind == fw::model::LayerKind::conv2d;
  const std::uint32_t room = std::min(in.h, in.w) + 2 * l.padding;
  if (l.kernel > room)
    r.key(LayerKey::kernel)
        .fail("kernel " + std::to_string(l.kernel) + " is larger than the " + std::to_string(in.h) + "x" +
                  std::to_string(in.w) + " input" + (conv ? " with padding " + std::to_string(l.padding) : std::string()),
              "a kernel of at most " + std::to_string(room));
  return {fw::conv_out(in.h, l.kernel, l.stride, l.padding), fw::conv_out(in.w, l.kernel, l.stride, l.padding),
          conv ? l.out : in.c, false};
}

// On a token sequence [1][T][in] (T > 1) linear acts per token: [1][T][out], a 1x1 convolution.
FeatureShape linear_shape(const LayerReading& r, const FeatureShape& in) {
  const bool per_token = in.token_sequence() && in.w > 1;
  if (!in.flat && !per_token)
    r.item.fail(r.where() + " needs a flattened input or a token sequence, but its input is " + shape_text(in),
                "a flatten layer before it (add a flatten layer), or a tokens layer for a per-token linear");
  return per_token ? FeatureShape{1, in.w, r.layer.out, false} : FeatureShape{1, 1, r.layer.out, true};
}

FeatureShape flatten_shape(const LayerReading& r, const FeatureShape& in) {
  if (in.elements() > kMaxFeatures)
    r.item.fail("flattens " + std::to_string(in.elements()) + " features",
                "at most " + std::to_string(kMaxFeatures) + " (pool or stride first)");
  return {1, 1, static_cast<std::uint32_t>(in.elements()), true};
}

FeatureShape tokens_shape(const LayerReading& r, const FeatureShape& in) {
  if (std::uint64_t{in.h} * in.w > kMaxFeatures)
    r.item.fail("tokens makes " + std::to_string(std::uint64_t{in.h} * in.w) + " tokens",
                "at most " + std::to_string(kMaxFeatures) + " (a patch embedding with a larger stride first)");
  return {1, in.h * in.w, in.c, false};
}

FeatureShape embed_shape(const LayerReading& r, const FeatureShape& in) {
  if (in.w + 1 > kMaxFeatures)
    r.item.fail("embed makes " + std::to_string(in.w + 1) + " tokens", "at most " + std::to_string(kMaxFeatures));
  return {1, in.w + 1, in.c, false};
}

FeatureShape attention_shape(const LayerReading& r, const FeatureShape& in) {
  const std::uint32_t heads = r.layer.heads;
  if (in.c % 3 != 0)
    r.item.fail(r.where() + " reads " + std::to_string(in.c) + " features per token, not divisible by 3",
                "q, k and v of D features each: 3D features per token (a linear of out 3D before it)");
  const std::uint32_t d = in.c / 3;
  if (d % heads != 0)
    r.key(LayerKey::heads)
        .fail(std::to_string(heads) + " heads do not divide the " + std::to_string(d) + " features of q, k and v (" +
                  std::to_string(in.c) + " / 3)",
              "a number of heads that divides " + std::to_string(d));
  return {1, in.w, d, false};
}

FeatureShape add_shape(const LayerReading& r, const FeatureShape& in) {
  const FeatureShape other = r.output_of(r.layer.with_from);
  if (other.h != in.h || other.w != in.w || other.c != in.c || other.flat != in.flat)
    r.key(LayerKey::with).fail("add's inputs differ: " + shape_text(in) + " and " + shape_text(other),
                               "two tensors of the same shape");
  return in;
}

// The loss: last, on the logits of the dataset's classes.
FeatureShape loss_shape(const LayerReading& r, const FeatureShape& in) {
  const std::size_t i = r.index, count = r.items.size();
  const int from = r.layer.from;
  if (i + 1 != count)
    r.item.fail("softmax_ce is layer " + std::to_string(i) + " of " + std::to_string(count),
                "softmax_ce exactly once, as the last layer");
  if (from < 0) r.item.fail("softmax_ce reads the input batch", "layers that produce the logits, then softmax_ce");
  const YamlValue& before = r.items[static_cast<std::size_t>(from)];
  const TrainDataset& data = r.data;
  if (!in.flat)
    before.fail("layer " + std::to_string(from) + " produces " + shape_text(in) + ", not logits",
                std::to_string(data.classes) + " features into softmax_ce (add flatten and linear layers)");
  if (in.c != data.classes)
    before.fail("layer " + std::to_string(from) + " produces " + std::to_string(in.c) + " features, but " + data.name +
                    " has " + std::to_string(data.classes) + " classes",
                "the last layer before softmax_ce to produce " + std::to_string(data.classes) + " features");
  return in;
}

FeatureShape output_shape(const LayerReading& r, const FeatureShape& in) {
  switch (r.type.kind) {
    case fw::model::LayerKind::conv2d:
    case fw::model::LayerKind::maxpool:
    case fw::model::LayerKind::avgpool: return window_shape(r, in);
    case fw::model::LayerKind::linear: return linear_shape(r, in);
    case fw::model::LayerKind::flatten: return flatten_shape(r, in);
    case fw::model::LayerKind::tokens: return tokens_shape(r, in);
    case fw::model::LayerKind::embed: return embed_shape(r, in);
    case fw::model::LayerKind::cls_token: return {1, 1, in.c, true};
    case fw::model::LayerKind::attention: return attention_shape(r, in);
    case fw::model::LayerKind::add: return add_shape(r, in);
    case fw::model::LayerKind::softmax_ce: return loss_shape(r, in);
    case fw::model::LayerKind::relu:
    case fw::model::LayerKind::batchnorm:
    case fw::model::LayerKind::layernorm:
    case fw::model::LayerKind::gelu: return in;
  }
  throw std::logic_error("layer kind " + std::to_string(static_cast<std::uint32_t>(r.type.kind)) + " has no shape rule");
}

// The firmware counts a parameter's values in 32 bits (model::Param::count).
void check_weight_count(const LayerReading& r, const FeatureShape& in) {
  const TrainLayer& l = r.layer;
  const bool window = fw::model::has_key(r.type, LayerKey::kernel);
  const std::uint64_t weights = std::uint64_t{l.out} * (window ? l.kernel * l.kernel : 1) * in.c;
  if (weights > UINT32_MAX)
    r.item.fail(r.where() + " has " + std::to_string(weights) + " weights (" + std::to_string(l.out) + " x " +
                    (window ? std::to_string(l.kernel) + "x" + std::to_string(l.kernel) + " x " : "") +
                    std::to_string(in.c) + ")",
                "at most " + std::to_string(UINT32_MAX) + " weights per layer");
}

// One entry of network.layers: its type, the keys of that type (the only ones allowed), its
// input, and its shapes.
TrainLayer read_layer(const std::vector<YamlValue>& items, std::size_t i, const std::vector<TrainLayer>& earlier,
                      const std::vector<std::string>& names, const TrainDataset& data) {
  const YamlValue& item = items[i];
  YamlMap entry = item.map();
  const YamlValue type_value = entry.get("type");
  std::string type_text;
  const LayerType& type = read_layer_type(entry, type_value, type_text);
  const YamlValue name = entry.get("name"), input = entry.get("input");
  LayerReading r{item, i, items, earlier, names, data, type, {}, {}};
  for (std::size_t k = 0; k < fw::model::kLayerKeyCount; ++k)
    if (fw::model::has_key(type, static_cast<LayerKey>(k))) r.keys[k] = entry.get(fw::model::kLayerKeys[k].name);
  entry.finish();

  r.layer.type = type_text;
  r.layer.line = item.line();
  read_layer_name(r, name);
  r.layer.from = is_missing(input) ? static_cast<int>(i) - 1 : r.producer(input, "input");
  if (!is_missing(input)) r.layer.input = scalar_text(input, "a layer name");
  const FeatureShape in = r.output_of(r.layer.from);
  r.layer.in = in;
  check_input(r, in);
  for (std::uint32_t k = 0; k < type.key_count; ++k) read_layer_key(r, type.keys[k]);
  const FeatureShape out = output_shape(r, in);
  check_weight_count(r, in);
  r.layer.out_shape = out;
  return r.layer;
}

// "conv2d or linear": the types whose weights a workload trains on the SAT.
std::string nm_weight_types() {
  std::vector<std::string> names;
  for (const LayerType& t : fw::model::kLayerTypes)
    if (t.nm_weight) names.push_back(t.name);
  return join(names, " or ");
}

// Every output is read; a view's (flatten, tokens) input and output (the same bytes) have one
// reader in all, as the runtime requires.
void check_readers(const std::vector<YamlValue>& items, const std::vector<TrainLayer>& layers) {
  std::vector<std::uint32_t> readers(layers.size() + 1, 0);  // [p + 1]: readers of layer p's output (p = -1: the batch)
  for (const TrainLayer& l : layers) {
    ++readers[static_cast<std::size_t>(l.from + 1)];
    if (l.catalogue().second_input) ++readers[static_cast<std::size_t>(l.with_from + 1)];
  }
  for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
    if (readers[i + 1] == 0)
      items[i].fail("the output of " + layers[i].type + " (layer " + std::to_string(i) + ") is read by no layer",
                    "every output read by a later layer (see the input and with keys)");
    const TrainLayer& l = layers[i];
    if (l.catalogue().view && readers[static_cast<std::size_t>(l.from + 1)] + readers[i + 1] > 2)
      items[i].fail(l.type + " (layer " + std::to_string(i) + ")'s input or output is also read by another layer",
                    "a " + l.type + " whose input and output one layer reads in all (it is a view of its input)");
  }
}

}  // namespace

// Reads network.layers: each layer's keys, its input (the previous layer's output, or the one
// `input` names), and its shapes, inferred from the dataset's.
std::vector<TrainLayer> read_layers(const YamlValue& network, const TrainDataset& data) {
  YamlMap map = network.map();
  const YamlValue layers_value = map.get("layers");
  map.finish();
  const std::vector<YamlValue> items = layers_value.list();
  if (items.empty()) layers_value.fail("no layers", "a list of layers ending with softmax_ce");
  std::vector<TrainLayer> layers;
  std::vector<std::string> names = {"input"};
  for (std::size_t i = 0; i < items.size(); ++i) {
    layers.push_back(read_layer(items, i, layers, names, data));
    if (!layers.back().name.empty()) names.push_back(layers.back().name);
  }
  if (layers.back().catalogue().output)
    layers_value.fail("the last layer is " + layers.back().type + " (line " + std::to_string(layers.back().line) + ")",
                      "softmax_ce as the last layer");
  if (std::none_of(layers.begin(), layers.end(), [](const TrainLayer& l) { return l.trainable(); }))
    layers_value.fail("no " + nm_weight_types() + " layer: nothing to train", "at least one layer with weights");
  check_readers(items, layers);
  return layers;
}

}  // namespace cestvp
