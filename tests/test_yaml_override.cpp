// Command-line overrides of YAML keys (--set key=value): parsing the arguments, applying them to
// a hand-written document, reading the values back through the validated reader, and every
// error message, including invalid overridden values reported as coming from --set.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <yaml-cpp/yaml.h>

#include "config/user_error.h"
#include "config/yaml_override.h"
#include "config/yaml_reader.h"
#include "test_files.h"

namespace cestvp {
namespace {

using cestvp::test::error_of;
using cestvp::test::write_file;


// Line numbers below refer to this text.
const char* const kWorkload =
    "name: sweep\n"            // 1
    "scheme: sparse\n"         // 2
    "train:\n"                 // 3
    "  batch: 32\n"            // 4
    "  lr: 0.1\n"              // 5
    "  layers: [784, 256]\n"   // 6
    "  note:\n"                // 7
    "sat:\n"                   // 8
    "  group_sizes: [2, 4]\n"; // 9

YamlValue load(const std::vector<std::string>& args) {
  return load_yaml(write_file("w.yaml", kWorkload), parse_overrides(args));
}

// The "train" mapping of kWorkload read as a workload loader would.
struct Train {
  unsigned batch;
  std::string lr;
  std::vector<unsigned> layers;
};

Train read_train(const YamlValue& root) {
  YamlMap map = root.map();
  map.get("name");
  map.get("scheme");
  map.get("sat");
  YamlMap train_map = map.get("train").map();
  const YamlValue batch = train_map.get("batch"), lr = train_map.get("lr"),
                  layers = train_map.get("layers");
  train_map.get("note");
  train_map.finish();
  Train train{batch.integer<unsigned>({1, 4096}), lr.string(), {}};
  for (const YamlValue& layer : layers.list()) {
    train.layers.push_back(layer.integer<unsigned>({1, 100000}));
  }
  return train;
}

TEST(YamlOverride, ParseSplitsAtFirstEquals) {
  const std::vector<Override> o =
      parse_overrides({"train.batch=64", "scheme=dense", "name=a=b", "train.note="});
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0].path, "train.batch");
  EXPECT_EQ(o[0].value, "64");
  EXPECT_EQ(o[1].path, "scheme");
  EXPECT_EQ(o[1].value, "dense");
  EXPECT_EQ(o[2].path, "name");
  EXPECT_EQ(o[2].value, "a=b");
  EXPECT_EQ(o[3].path, "train.note");
  EXPECT_EQ(o[3].value, "");
  EXPECT_EQ(o[0].origin(), "--set train.batch=64");
}

TEST(YamlOverride, ParseErrors) {
  const auto parse_error = [](const std::string& arg) {
    return error_of([&arg] { parse_overrides({"scheme=dense", arg}); });
  };
  EXPECT_EQ(parse_error("train.batch"), "--set train.batch: missing '='; expected key=value");
  EXPECT_EQ(parse_error(""), "--set : missing '='; expected key=value");
  EXPECT_EQ(parse_error("=64"), "--set =64: empty key; expected key=value");
  EXPECT_EQ(parse_error("train..batch=64"),
            "--set train..batch=64: empty name in key 'train..batch'; expected key=value");
  EXPECT_EQ(parse_error(".batch=64"),
            "--set .batch=64: empty name in key '.batch'; expected key=value");
  EXPECT_EQ(parse_error("train.=64"),
            "--set train.=64: empty name in key 'train.'; expected key=value");
}

// An override that a later one would undo is an error naming both, not silently lost.
TEST(YamlOverride, AKeySetTwiceIsAnError) {
  const auto parse_error = [](const std::vector<std::string>& args) {
    return error_of([&args] { parse_overrides(args); });
  };
  EXPECT_EQ(parse_error({"train.batch=32", "scheme=dense", "train.batch=64"}),
            "--set train.batch=64: the key is also set by --set train.batch=32; expected each key set once");
  EXPECT_EQ(parse_error({"scheme=dense", "scheme=dense"}),
            "--set scheme=dense: the key is also set by --set scheme=dense; expected each key set once");
  EXPECT_EQ(parse_error({"train.batch=32", "train={batch: 64}"}),
            "--set train={batch: 64}: this replaces train.batch, set before by --set train.batch=32; expected each "
            "key set once (a mapping first, then keys inside it)");
  EXPECT_EQ(parse_error({"train.layers=[1]", "train.note=x", "train={batch: 1}"}),
            "--set train={batch: 1}: this replaces train.layers, set before by --set train.layers=[1]; expected each "
            "key set once (a mapping first, then keys inside it)");
  // Keys that only share a prefix, and a key refining a mapping set before it, are fine.
  EXPECT_EQ(parse_overrides({"train.batch=1", "train.batches=2", "train.bat=3"}).size(), 3u);
  EXPECT_EQ(parse_overrides({"train={batch: 1, lr: 1, layers: [1], note: 1}", "train.batch=2"}).size(), 2u);
}

TEST(YamlOverride, Within) {
  EXPECT_TRUE(within("train", "train"));
  EXPECT_TRUE(within("train.batch", "train"));
  EXPECT_TRUE(within("a.b.c", "a.b"));
  EXPECT_FALSE(within("train", "train.batch"));
  EXPECT_FALSE(within("trainer", "train"));
  EXPECT_FALSE(within("train.batch", "train.bat"));
  EXPECT_FALSE(within("sat", "scheme"));
}

TEST(YamlOverride, ApplyReplacesValuesInPlace) {
  YAML::Node root = YAML::Load(kWorkload);
  const std::vector<YAML::Node> values = apply_overrides(
      root, parse_overrides({"train.batch=64", "scheme=dense", "train.layers=[4, 8]"}), "w.yaml");
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(root["train"]["batch"].Scalar(), "64");
  EXPECT_EQ(root["scheme"].Scalar(), "dense");
  EXPECT_EQ(root["train"]["layers"].size(), 2u);
  EXPECT_EQ(root["train"]["layers"][1].Scalar(), "8");
  EXPECT_EQ(root["train"]["lr"].Scalar(), "0.1");  // untouched
  EXPECT_TRUE(values[0].is(root["train"]["batch"]));
  // Keys keep their order, and nothing else was added.
  std::vector<std::string> keys;
  for (const auto& entry : root["train"]) keys.push_back(entry.first.Scalar());
  EXPECT_EQ(keys, (std::vector<std::string>{"batch", "lr", "layers", "note"}));
  EXPECT_EQ(root.size(), 4u);
}

TEST(YamlOverride, ValuesReadBackThroughReader) {
  const Train plain = read_train(load({}));
  EXPECT_EQ(plain.batch, 32u);
  EXPECT_EQ(plain.lr, "0.1");
  EXPECT_EQ(plain.layers, (std::vector<unsigned>{784, 256}));

  const Train t = read_train(load({"train.batch=64", "train.layers=[4, 8, 16]", "train.lr=0.5"}));
  EXPECT_EQ(t.batch, 64u);
  EXPECT_EQ(t.lr, "0.5");
  EXPECT_EQ(t.layers, (std::vector<unsigned>{4, 8, 16}));

  // A whole mapping, then a key inside it (a key set twice is an error: AKeySetTwiceIsAnError).
  const Train m = read_train(load({"train={batch: 8, lr: 1, layers: [1], note: x}", "train.batch=16"}));
  EXPECT_EQ(m.batch, 16u);
  EXPECT_EQ(m.lr, "1");
  EXPECT_EQ(m.layers, std::vector<unsigned>{1});

  // A key with an empty value in the file can be given one.
  YamlMap root = load({"train.note=hello"}).map();
  EXPECT_EQ(root.get("train").map().get("note").string(), "hello");
}

TEST(YamlOverride, UnknownPathsRejected) {
  const std::string file = write_file("w.yaml", kWorkload);
  const auto apply_error = [&file](const std::string& arg) {
    return error_of([&] { load_yaml(file, parse_overrides({"scheme=dense", arg})); });
  };
  EXPECT_EQ(apply_error("train.bach=64"),
            "--set train.bach=64: train has no key 'bach' (did you mean 'batch'?); expected one "
            "of batch, lr, layers, note");
  EXPECT_EQ(apply_error("sceme=dense"),
            "--set sceme=dense: " + file + " has no key 'sceme' (did you mean 'scheme'?); "
            "expected one of name, scheme, train, sat");
  // A new key is never added, even with nothing close to suggest.
  EXPECT_EQ(apply_error("train.momentum=0.9"),
            "--set train.momentum=0.9: train has no key 'momentum'; expected one of batch, lr, "
            "layers, note");
  EXPECT_EQ(apply_error("train.bacth.x=1"),
            "--set train.bacth.x=1: train has no key 'bacth' (did you mean 'batch'?); expected "
            "one of batch, lr, layers, note");
  EXPECT_EQ(apply_error("scheme.kind=dense"),
            "--set scheme.kind=dense: scheme is 'dense', not a mapping; expected a key path "
            "through mappings to an existing key");
  EXPECT_EQ(apply_error("train.layers.0=1"),
            "--set train.layers.0=1: train.layers is a list, not a mapping; expected a key path "
            "through mappings to an existing key");
  EXPECT_EQ(apply_error("train.note.x=1"),
            "--set train.note.x=1: train.note is empty, not a mapping; expected a key path "
            "through mappings to an existing key");
  EXPECT_EQ(apply_error("train.batch=[1"),
            "--set train.batch=[1: the value is not valid YAML (end of sequence flow not found); "
            "expected a YAML value");

  const std::string list_file = write_file("list.yaml", "- 1\n- 2\n");
  EXPECT_EQ(error_of([&] { load_yaml(list_file, parse_overrides({"a=1"})); }),
            "--set a=1: " + list_file + " is a list, not a mapping; expected a key path through "
            "mappings to an existing key");
  const std::string empty_map = write_file("empty.yaml", "train: {}\n");
  EXPECT_EQ(error_of([&] { load_yaml(empty_map, parse_overrides({"train.batch=1"})); }),
            "--set train.batch=1: train has no key 'batch'; expected a key of a non-empty "
            "mapping");
}

TEST(YamlOverride, InvalidOverriddenValueReportedAsFromSet) {
  EXPECT_EQ(error_of([] { read_train(load({"train.batch=abc"})); }),
            "--set train.batch=abc: train.batch: 'abc' is not an integer; expected an integer "
            "from 1 to 4096");
  EXPECT_EQ(error_of([] { read_train(load({"train.batch=0"})); }),
            "--set train.batch=0: train.batch: '0' is out of range; expected an integer from 1 "
            "to 4096");
  EXPECT_EQ(error_of([] { read_train(load({"train.batch=[64]"})); }),
            "--set train.batch=[64]: train.batch: found a list; expected an integer from 1 to "
            "4096");
  EXPECT_EQ(error_of([] { read_train(load({"train.batch="})); }),
            "--set train.batch=: train.batch: no value; expected an integer from 1 to 4096");
  // Inside an overridden list or mapping, the value is still the override's.
  EXPECT_EQ(error_of([] { read_train(load({"train.layers=[4, x]"})); }),
            "--set train.layers=[4, x]: train.layers[1]: 'x' is not an integer; expected an "
            "integer from 1 to 100000");
  EXPECT_EQ(error_of([] { read_train(load({"train={batch: 1, bogus: 2}"})); }),
            "--set train={batch: 1, bogus: 2}: train.bogus: unknown key; expected one of batch, "
            "lr, layers, note");
  EXPECT_EQ(error_of([] { read_train(load({"train={batch: 1, note: 2, layers: [1]}"})); }),
            "--set train={batch: 1, note: 2, layers: [1]}: train.lr: missing key; expected a "
            "string");
  EXPECT_EQ(error_of([] { read_train(load({"train={batch: 1, batch: 2}"})); }),
            "--set train={batch: 1, batch: 2}: train.batch: duplicate key; expected each key at "
            "most once");
  // A key overridden inside an overridden mapping names the later --set.
  EXPECT_EQ(error_of([] {
              read_train(load({"train={batch: 1, lr: 1, layers: [1], note: 1}", "train.batch=zz"}));
            }),
            "--set train.batch=zz: train.batch: 'zz' is not an integer; expected an integer "
            "from 1 to 4096");
}

TEST(YamlOverride, FileValuesKeepFileLines) {
  const std::string file = write_file("w.yaml", kWorkload);
  const std::string bad = write_file("bad.yaml", "train:\n  batch: 0\n  lr: x\n  layers: [1]\n"
                                                 "  note:\nname: n\nscheme: s\nsat: {}\n");
  EXPECT_EQ(error_of([&] { read_train(load_yaml(bad, parse_overrides({"train.lr=0.2"}))); }),
            bad + ":2:10: train.batch: '0' is out of range; expected an integer from 1 to 4096");
  // The overridden value has its key's line and position, so that ordering by position works.
  YamlMap train = load_yaml(file, parse_overrides({"train.batch=64"})).map().get("train").map();
  const YamlValue batch = train.get("batch"), lr = train.get("lr");
  EXPECT_EQ(batch.line(), 4);
  EXPECT_EQ(lr.line(), 5);
  EXPECT_LT(batch.position(), lr.position());
  EXPECT_EQ(batch.integer<unsigned>({1, 100}), 64u);
}

}  // namespace
}  // namespace cestvp
