// The layer catalogue (cestvp/layer_catalogue.h) against what is written outside it: the layer
// table of docs/workloads.md (keys and defaults), the workload reader (the names it accepts and
// the keys each type allows), and the loader (a type outside the catalogue is never mapped to
// another kind).
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include <cestvp/layer_catalogue.h>

#include "loader/training_image.h"
#include "loader/workload.h"
#include "test_files.h"

namespace cestvp {
namespace {

namespace model = fw::model;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How docs/workloads.md writes the default of a key: "required", "= kernel", a number, or
// false / true.
std::string default_text(const model::LayerKeyUse& use) {
  switch (use.fallback) {
    case model::Fallback::required: return "required";
    case model::Fallback::kernel: return "= kernel";
    case model::Fallback::value: break;
  }
  if (model::kLayerKeys[static_cast<std::size_t>(use.key)].value == model::KeyValue::boolean)
    return use.value ? "true" : "false";
  return std::to_string(use.value);
}

// "`out` (required), `kernel` (required), `stride` (1)" for a type, keys in LayerKey order (as
// the docs list them), each default up to its first comma ("required, 1..4096" names a range).
std::vector<std::pair<std::string, std::string>> catalogue_keys(const model::LayerType& type) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (std::size_t k = 0; k < model::kLayerKeyCount; ++k)
    for (std::uint32_t u = 0; u < type.key_count; ++u)
      if (static_cast<std::size_t>(type.keys[u].key) == k)
        keys.emplace_back(model::kLayerKeys[k].name, default_text(type.keys[u]));
  return keys;
}

TEST(LayerCatalogue, DocsLayerTableHasTheCataloguesKeysAndDefaults) {
  const std::string doc = read_text(CESTVP_SOURCE_DIR "/docs/workloads.md");
  const std::size_t table = doc.find("| `type` | keys (default) |");
  ASSERT_NE(table, std::string::npos) << "docs/workloads.md has no layer table";
  std::istringstream lines(doc.substr(table));
  std::string line;
  std::getline(lines, line);  // header
  std::getline(lines, line);  // | --- |
  std::vector<std::string> documented;
  const std::regex name_re("`([a-z0-9_]+)`"), key_re("`([a-z_]+)` \\(([^),]*)[^)]*\\)");
  while (std::getline(lines, line) && line.rfind("| ", 0) == 0) {
    const std::size_t second = line.find(" | ", 2), third = line.find(" | ", second + 3);
    ASSERT_NE(third, std::string::npos) << line;
    const std::string names = line.substr(2, second - 2), keys = line.substr(second + 3, third - second - 3);
    std::vector<std::pair<std::string, std::string>> written;
    for (std::sregex_iterator k(keys.begin(), keys.end(), key_re), end; k != end; ++k)
      written.emplace_back((*k)[1], (*k)[2]);
    for (std::sregex_iterator n(names.begin(), names.end(), name_re), end; n != end; ++n) {
      const std::string name = (*n)[1];
      documented.push_back(name);
      const model::LayerType* type = model::find_layer_type(name);
      ASSERT_NE(type, nullptr) << "docs/workloads.md documents layer type '" << name << "', not in the catalogue";
      EXPECT_EQ(written, catalogue_keys(*type)) << name;
    }
  }
  for (const model::LayerType& type : model::kLayerTypes)
    EXPECT_EQ(std::count(documented.begin(), documented.end(), type.name), 1) << type.name << " in docs/workloads.md";
}

TEST(LayerCatalogue, NamesAndKindsMapOneToOne) {
  for (const model::LayerType& type : model::kLayerTypes) {
    EXPECT_STREQ(model::to_string(type.kind), type.name);
    EXPECT_EQ(model::find_layer_type(type.name), &type);
    EXPECT_EQ(&model::layer_type(type.kind), &type);
  }
  EXPECT_EQ(model::find_layer_type("conv3d"), nullptr);
  EXPECT_EQ(model::find_layer_type("dropout"), nullptr);  // later: the reader says so
  EXPECT_STREQ(model::to_string(static_cast<model::LayerKind>(model::kLayerKindCount)), "unknown");
  // Hand-checked against docs/workloads.md and model.h: the descriptor's kind numbers.
  EXPECT_EQ(static_cast<std::uint32_t>(model::find_layer_type("softmax_ce")->kind), 6u);
  EXPECT_EQ(static_cast<std::uint32_t>(model::find_layer_type("cls_token")->kind), 14u);
  EXPECT_EQ(model::param_count(model::layer_type(model::LayerKind::conv2d), true), 2u);
  EXPECT_EQ(model::param_count(model::layer_type(model::LayerKind::batchnorm), false), 3u);
  EXPECT_EQ(model::param_count(model::layer_type(model::LayerKind::relu), true), 0u);
}

std::string workload_with(const std::string& layer) {
  return "name: t\nprogram: train\nbatch: 2\noptimizer: {lr: 0.1}\n"
         "dataset: {name: synthetic, synthetic: {height: 4, width: 4, channels: 1, classes: 3, train: 4, test: 2}}\n"
         "network:\n  layers:\n    - " +
         layer +
         "\n    - {type: flatten}\n    - {type: linear, out: 3}\n    - {type: softmax_ce}\n";
}

// The reader allows a type's catalogue keys and no other: an entry with every layer key gets
// "unknown key" at the first key its type does not have, and the message lists the allowed ones.
TEST(LayerCatalogue, ReaderAllowsExactlyTheKeysOfTheType) {
  const std::string path = test::write_file("w.yaml", workload_with("{type: maxpool, kernel: 2, padding: 1}"));
  const std::string message = test::error_of([&] { load_workload(path); });
  EXPECT_NE(message.find("network.layers[0].padding: unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("expected one of type, name, input, kernel, stride"), std::string::npos) << message;
  const std::string ok = test::write_file("ok.yaml", workload_with("{type: maxpool, kernel: 2}"));
  const Workload w = load_workload(ok);
  EXPECT_EQ(w.train.layers[0].stride, 2u);  // the catalogue's default: the kernel
  EXPECT_EQ(&w.train.layers[0].catalogue(), &model::layer_type(model::LayerKind::maxpool));
}

TEST(LayerCatalogue, TypeOutsideTheCatalogueIsNeverMappedToAKind) {
  const std::string path = test::write_file("w.yaml", workload_with("{type: relu}"));
  TrainWorkload w = load_workload(path).train;
  w.layers[0].type = "dropout";  // a workload made in code, past the reader
  EXPECT_THROW(w.layers[0].catalogue(), std::logic_error);
  EXPECT_THROW(build_training_image(w, fw::BootInfo{}), std::logic_error);
}

}  // namespace
}  // namespace cestvp
