// satvp import: ONNX models -> training workloads. The models are written by
// tests/onnx/make_models.py (onnx.helper, torch's naming, fixed seeds) when a test first needs them; the
// imported workloads are read back with the platform's workload reader and run by satvp. The
// expected results come from outside the importer: the shipped ResNet18 workload, written by
// hand, and tests/onnx/reference.py, a numpy forward pass of the ONNX graph in ONNX's own
// semantics (NCHW, flatten in C, H, W order) on the same Fashion-MNIST samples.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "loader/workload.h"
#include "satvp_command.h"
#include "test_files.h"

namespace cestvp {
namespace {

namespace fs = std::filesystem;

// A python3 with numpy and onnx, found by tests/CMakeLists.txt; "" if there is none.
const std::string kPython = CESTVP_ONNX_PYTHON;
const std::string kMakeModels = test::kSource + "/tests/onnx/make_models.py";
const std::string kReference = test::kSource + "/tests/onnx/reference.py";
const fs::path kBadModels = fs::path(test::kSource) / "tests/data/bad_onnx";


class Import : public testing::Test {
 protected:
  // The good models are written on first use into a directory of this test process's own (CTest
  // runs each test case as a process, perhaps several at once).
  static void SetUpTestSuite() {
    std::string dir = (fs::path(CESTVP_BINARY_DIR) / "test-files" / "Import.models.XXXXXX").string();
    fs::create_directories(fs::path(dir).parent_path());
    if (mkdtemp(dir.data())) models_ = dir;
  }
  static void TearDownTestSuite() {
    if (!models_.empty()) fs::remove_all(models_);
  }

  void SetUp() override {
    if (kPython.empty())
      GTEST_SKIP() << "no python3 with numpy and onnx was found when the build was configured "
                      "(apt install python3-numpy python3-onnx, then reconfigure): the ONNX test models cannot be made";
    ASSERT_FALSE(models_.empty()) << "no temporary directory for the models";
  }

  // make_models.py's model `name`, made now if it is not there yet.
  static fs::path model(const std::string& name) {
    const fs::path file = models_ / (name + ".onnx");
    if (!fs::exists(file)) {
      const test::Command made = test::run_command(kPython + " " + test::shell_quote(kMakeModels) + " " + test::shell_quote(models_) + " " + name);
      EXPECT_EQ(made.exit_code, 0) << kMakeModels << " " << name << " failed:\n" << made.output;
    }
    return file;
  }

  // satvp import MODEL --out <test dir>/<out> ARGS; the workload it wrote (if it did) is
  // <out>/<name>.yaml.
  static test::Command import(const fs::path& onnx, const fs::path& out, const std::string& args = "") {
    return test::run_command(test::kSatvp + " import " + test::shell_quote(onnx) + " --out " + test::shell_quote(out) + " " + args);
  }

  // Imports `name`.onnx into the test's directory and reads the workload back.
  static Workload import_and_load(const std::string& name, const std::string& args = "") {
    const fs::path out = test::test_dir() / name;
    fs::remove_all(out);
    const test::Command c = import(model(name), out, args);
    EXPECT_EQ(c.exit_code, 0) << c.output;
    return load_workload((out / (name + ".yaml")).string());
  }

  static std::vector<std::string> types_of(const Workload& w) {
    std::vector<std::string> types;
    for (const TrainLayer& layer : w.train.layers) types.push_back(layer.type);
    return types;
  }

  static fs::path models_;
};

fs::path Import::models_;

// report.json's number after "key": , as text (equal runs print equal text).
std::string report_number(const fs::path& run, const std::string& key) {
  const std::string json = test::read_file(run / "report.json");
  const std::size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return "missing " + key;
  const std::size_t start = at + key.size() + 4;
  return json.substr(start, json.find_first_of(",}\n", start) - start);
}

// satvp run of `workload` with `sets` (each "key=value") into <test dir>/<out>.
fs::path run_satvp(const fs::path& workload, const std::string& out, const std::vector<std::string>& sets) {
  const fs::path run = test::test_dir() / out;
  fs::remove_all(run);
  std::string cmd = test::kSatvp + " run --workload " + test::shell_quote(workload) + " --out " + test::shell_quote(run);
  for (const std::string& set : sets) cmd += " --set " + set;
  const test::Command c = test::run_command(cmd);
  EXPECT_EQ(c.exit_code, 0) << cmd << "\n" << c.output;
  return run;
}

// ------------------------------------------------------------------------ ResNet18

TEST_F(Import, ResNet18MatchesTheShippedWorkload) {
  const Workload imported = import_and_load("resnet18_tinyimagenet");
  const fs::path shipped_file = fs::path(test::kSource) / "workloads/resnet18_tinyimagenet.yaml";
  const Workload shipped = load_workload(shipped_file.string());
  ASSERT_EQ(imported.train.layers.size(), shipped.train.layers.size()) << testing::PrintToString(types_of(imported));
  for (std::size_t i = 0; i < shipped.train.layers.size(); ++i) {
    const TrainLayer& a = imported.train.layers[i];
    const TrainLayer& b = shipped.train.layers[i];
    SCOPED_TRACE("layer " + std::to_string(i) + " (" + b.type + ", line " + std::to_string(b.line) + " of the shipped file)");
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.out, b.out);
    EXPECT_EQ(a.kernel, b.kernel);
    EXPECT_EQ(a.stride, b.stride);
    EXPECT_EQ(a.padding, b.padding);
    EXPECT_EQ(a.bias, b.bias);
    EXPECT_EQ(a.dense, b.dense);
    EXPECT_EQ(a.from, b.from);  // the producers, not the names
    EXPECT_EQ(a.with_from, b.with_from);
    EXPECT_EQ(a.out_shape.h, b.out_shape.h);
    EXPECT_EQ(a.out_shape.w, b.out_shape.w);
    EXPECT_EQ(a.out_shape.c, b.out_shape.c);
  }
  // 64x64x3 with 200 classes is not Fashion-MNIST: synthetic data of the model's shape
  EXPECT_EQ(imported.train.dataset.name, "synthetic");
  EXPECT_EQ(imported.train.dataset.height, 64u);
  EXPECT_EQ(imported.train.dataset.channels, 3u);
  EXPECT_EQ(imported.train.dataset.classes, 200u);

  // Same network, same simulated time: everything the timing depends on set alike in both.
  const std::vector<std::string> sets = {"mode=timing", "iterations=1", "batch=16", "eval_samples=16",
                                         "eval_interval=0", "scheme=bdwp", "nm=2:8", "sparse_first_layer=false",
                                         "sparse_last_layer=false", "dataset.synthetic.train=5120",
                                         "dataset.synthetic.test=512"};
  const fs::path a = run_satvp(test::test_dir() / "resnet18_tinyimagenet/resnet18_tinyimagenet.yaml", "run_imported", sets);
  const fs::path b = run_satvp(shipped_file, "run_shipped", sets);
  EXPECT_EQ(report_number(a, "sat_cycles"), report_number(b, "sat_cycles"));
  EXPECT_EQ(report_number(a, "simulated_seconds"), report_number(b, "simulated_seconds"));
  EXPECT_NE(report_number(a, "sat_cycles"), "missing sat_cycles");
}

// ------------------------------------------------------------------------ forward pass vs numpy

struct Forward {
  double loss = NAN;
  long correct = -1;
};

// metrics.csv's first row (iteration 0): loss, and accuracy as a count of `batch` samples.
Forward vp_forward(const fs::path& run, std::uint32_t batch) {
  std::istringstream lines(test::read_file(run / "metrics.csv"));
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("iteration,loss,accuracy,", 0), 0u) << header;
  Forward f;
  std::istringstream cells(row);
  std::string iteration, loss, accuracy;
  if (std::getline(cells, iteration, ',') && std::getline(cells, loss, ',') && std::getline(cells, accuracy, ',')) {
    EXPECT_EQ(iteration, "0");
    f.loss = std::stod(loss);
    f.correct = std::lround(std::stod(accuracy) * batch);
  }
  return f;
}

Forward reference_forward(const fs::path& onnx, std::uint32_t batch, const TrainDataset& data, const std::string& flags = "") {
  std::ostringstream cmd;
  cmd.precision(17);
  cmd << kPython << " " << test::shell_quote(kReference) << " " << test::shell_quote(onnx) << " --samples " << batch << " --mean "
      << data.mean.at(0) << " --std " << data.std.at(0) << " --data-dir " << test::shell_quote(data.dir) << " " << flags;
  const test::Command c = test::run_command(cmd.str());
  EXPECT_EQ(c.exit_code, 0) << cmd.str() << "\n" << c.output;
  Forward f;
  std::istringstream lines(c.output);
  for (std::string key; lines >> key;) {
    if (key == "loss") lines >> f.loss;
    else if (key == "correct") lines >> f.correct;
  }
  return f;
}

// The tolerance on the mean loss: two FP16 rounding units (2 x 2^-11) of the loss. The VP stores
// every activation in FP16, and the reference rounds at the same places; what still differs is
// the order of the sums inside a layer (FP32 in the engines, float64 in numpy), which now and
// then moves an FP16 result by one ulp, u = 2^-11 relative, and the moves propagate. A
// per-sample loss, log(sum exp(z - z_max)) - (z_y - z_max), moves by at most 2 max|dz|, and the
// batch mean averages such moves rather than adding them up. Measured at batch 128 (loss; VP -
// reference; tolerance; reference without FP16 after the input (--exact) - reference; the wrong
// layout - reference):
//   residual_cnn  14.10  +9.0e-4  0.0138  -1.4e-3  flatten in H, W, C order: -3.49 (250 tolerances)
//   mlp           11.75  +3.6e-4  0.0115  +1.3e-3
//   vit_fmnist    17.49  -3.1e-3  0.0171  +3.1e-3  q, k, v interleaved per head: -8.38 (490 tolerances)
// The logits are large (the models' heads are scaled) so that a layout error is far outside it.
double loss_tolerance(double loss) { return std::ldexp(std::max(1.0, std::fabs(loss)), -10); }

// Compares the VP's first iteration of `w` (imported with the dense scheme: pruning would change
// the forward pass), over a batch that is the whole training subset (so the sample order does not
// matter), with the reference on the same samples. `wrong_layout`: reference.py's flag for a
// layout error the model must be sensitive to, so that this comparison could catch it.
void expect_forward_matches_reference(const std::string& name, const fs::path& onnx, const Workload& w,
                                      const std::string& wrong_layout) {
  constexpr std::uint32_t kBatch = 128;
  ASSERT_EQ(w.train.dataset.name, "fashion-mnist");
  ASSERT_EQ(w.train.scheme, fw::model::Scheme::dense);
  const fs::path run = run_satvp(w.source, name + "_run",
                                 {"mode=functional", "iterations=1", "batch=" + std::to_string(kBatch),
                                  "dataset.train_samples=" + std::to_string(kBatch),
                                  "dataset.test_samples=" + std::to_string(kBatch),
                                  "eval_samples=" + std::to_string(kBatch)});
  const Forward vp = vp_forward(run, kBatch);
  const Forward ref = reference_forward(onnx, kBatch, w.train.dataset);
  const double tolerance = loss_tolerance(ref.loss);
  EXPECT_NEAR(vp.loss, ref.loss, tolerance) << "VP iteration 0 against " << kReference;
  EXPECT_LE(std::labs(vp.correct - ref.correct), 1) << "correct predictions of " << kBatch << " (FP16 may decide a near tie)";
  if (!wrong_layout.empty()) {
    const Forward wrong = reference_forward(onnx, kBatch, w.train.dataset, wrong_layout);
    EXPECT_GT(std::fabs(wrong.loss - ref.loss), 100 * tolerance) << "the model is too insensitive to " << wrong_layout;
  }
}

TEST_F(Import, ResidualCnnForwardMatchesNumpy) {
  const Workload w = import_and_load("residual_cnn", "--scheme dense");
  // Dropout and Identity dropped, LogSoftmax absorbed into softmax_ce
  EXPECT_EQ(types_of(w), (std::vector<std::string>{"conv2d", "batchnorm", "relu", "maxpool", "conv2d", "batchnorm",
                                                   "relu", "conv2d", "batchnorm", "add", "relu", "avgpool", "flatten",
                                                   "linear", "relu", "linear", "softmax_ce"}));
  const fs::path weights = test::test_dir() / "residual_cnn" / "weights";
  EXPECT_EQ(w.train.init_weights, fs::absolute(weights).string());
  EXPECT_TRUE(fs::exists(weights / "13_linear.weight.npy"));
  expect_forward_matches_reference("residual_cnn", model("residual_cnn"), w, "--permute-flatten");
}

TEST_F(Import, MlpForwardMatchesNumpy) {
  const Workload flatten = import_and_load("mlp", "--scheme dense");
  EXPECT_EQ(types_of(flatten), (std::vector<std::string>{"flatten", "linear", "relu", "linear", "softmax_ce"}));
  expect_forward_matches_reference("mlp", model("mlp"), flatten, "");
  // Reshape to [N, -1] is the same flatten
  const Workload reshape = import_and_load("mlp_reshape", "--scheme dense");
  EXPECT_EQ(types_of(reshape), types_of(flatten));
  expect_forward_matches_reference("mlp_reshape", model("mlp_reshape"), reshape, "");
}

// ------------------------------------------------------------------------ ViT

// Two models as PyTorch 1.13 (Debian's python3-torch) exported them with torch.onnx.export in
// training mode, and PyTorch's own loss of each on the first 64 Fashion-MNIST samples, rounded to
// FP16 as the VP reads them (tests/onnx/torch_check.py --fixtures wrote both; PyTorch is not
// needed here). The exports are what a user's file looks like: reshape targets computed from the
// input's shape, nn.Linear as MatMul of a transposed initializer, AvgPool2d as Pad + AveragePool,
// the heads split with Split and Squeeze, the class token broadcast with Expand. PyTorch keeps
// FP32 activations where the VP rounds every layer's output to FP16: measured VP - PyTorch
// +1.4e-4 (residual_cnn, loss 2.75) and +7.7e-4 (vit_block, 3.80), so 1e-3 of the loss
// allows 4x the larger. The heads' weights are scaled by 4 so that a wrong layout shows: without
// the CHW -> HWC permutation of fc1's columns the residual CNN's loss moves by 0.072 (26x the
// tolerance; checked by disabling it in the importer).
TEST_F(Import, TorchExportsTrainLikePyTorch) {
  const fs::path dir = fs::path(test::kSource) / "tests/data/torch_onnx";
  const nlohmann::json expected = nlohmann::json::parse(test::read_file(dir / "pytorch_losses.json"));
  const std::uint32_t samples = expected.at("samples").get<std::uint32_t>();
  for (const char* name : {"residual_cnn", "vit_block"}) {
    SCOPED_TRACE(name);
    const fs::path out = test::test_dir() / (std::string("torch_") + name);
    fs::remove_all(out);
    const test::Command c = import(dir / (std::string(name) + ".onnx"), out, "--scheme dense");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    const std::string n = std::to_string(samples);
    const fs::path run = run_satvp(out / (std::string(name) + ".yaml"), std::string("torch_") + name + "_run",
                                   {"mode=functional", "iterations=1", "batch=" + n, "dataset.train_samples=" + n,
                                    "dataset.test_samples=" + n, "eval_samples=" + n});
    const double pytorch = expected.at("loss").at(name).get<double>();
    EXPECT_NEAR(vp_forward(run, samples).loss, pytorch, 1e-3 * pytorch) << "VP iteration 0 against PyTorch";
  }
}

TEST_F(Import, VitBlock) {
  const Workload w = import_and_load("vit_block");
  EXPECT_EQ(types_of(w), (std::vector<std::string>{"conv2d", "tokens", "embed", "layernorm", "linear", "attention",
                                                   "linear", "add", "layernorm", "linear", "gelu", "linear", "add",
                                                   "layernorm", "cls_token", "linear", "softmax_ce"}));
  for (const TrainLayer& layer : w.train.layers) {
    if (layer.type == "attention") {
      EXPECT_EQ(layer.heads, 3u);
    }
  }
  EXPECT_EQ(w.train.dataset.name, "synthetic");
  EXPECT_EQ(w.train.dataset.classes, 100u);
  run_satvp(w.source, "vit_run", {"mode=timing", "iterations=1", "batch=8", "eval_samples=8"});
}

// The same block on Fashion-MNIST: the patches' order, the class token and position embeddings,
// the q, k, v and head layout of the attention (make_models.py's vit_block says which), GELU and
// the class-token pick, against the reference's reading of the ONNX graph.
TEST_F(Import, VitForwardMatchesNumpy) {
  const Workload w = import_and_load("vit_fmnist", "--scheme dense");
  EXPECT_EQ(types_of(w).size(), 17u) << testing::PrintToString(types_of(w));
  expect_forward_matches_reference("vit_fmnist", model("vit_fmnist"), w, "--qkv-heads-first");
}

// ------------------------------------------------------------------------ errors

// What each model of the bad-input corpus (tests/data/bad_onnx/README) must be refused with: the
// start of the message after "satvp: error: FILE: ", and a text the rest must hold. A node's
// problem names the node and its operator; the dynamic height is the input's, which no node has,
// and its message must show the dimension's own name.
struct BadModel {
  std::string prefix, holds;
};
const std::map<std::string, BadModel> kBadModelErrors = {
    {"depthwise_conv", {"node '/features/features.0/Conv' (Conv): ", "group"}},
    {"grouped_conv", {"node '/features/features.0/Conv' (Conv): ", "group"}},
    {"dilated_conv", {"node '/features/features.0/Conv' (Conv): ", "dilation"}},
    {"non_square_kernel", {"node '/features/features.0/Conv' (Conv): ", "3x1"}},
    {"unsupported_op", {"node '/Sin' (Sin): ", ""}},
    {"dynamic_spatial_dim", {"input 'input' ", "4xHx8"}},
    {"padded_maxpool", {"node '/pool/MaxPool' (MaxPool): ", "pad"}},
    {"gemm_input_weight", {"node '/fc/Gemm' (Gemm): ", "fc_weight"}},
};

TEST_F(Import, UnsupportedModelsAreRefusedWithNodeOpAndReason) {
  std::set<std::string> seen;
  for (const fs::directory_entry& entry : fs::directory_iterator(kBadModels)) {
    if (entry.path().extension() != ".onnx") continue;
    const std::string stem = entry.path().stem().string();
    SCOPED_TRACE(entry.path().string());
    seen.insert(stem);
    const auto expected = kBadModelErrors.find(stem);
    ASSERT_NE(expected, kBadModelErrors.end()) << "a bad model without its expected error in kBadModelErrors";
    const fs::path out = test::test_dir() / stem;
    const fs::path err = test::test_dir() / (stem + ".stderr");
    fs::remove_all(out);
    const test::Command c = test::run_command("(" + test::kSatvp + " import " + test::shell_quote(entry.path()) + " --out " +
                                              test::shell_quote(out) + " 2>" + test::shell_quote(err) + ")");
    EXPECT_EQ(c.exit_code, 2) << c.output;
    const std::string line = test::read_file(err);
    const std::string prefix = "satvp: error: " + entry.path().string() + ": " + expected->second.prefix;
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    EXPECT_GT(line.size(), prefix.size() + 10) << "a reason: " << line;
    EXPECT_NE(line.find(expected->second.holds, prefix.size()), std::string::npos) << line;
    EXPECT_FALSE(fs::exists(out)) << "nothing written for a refused model";
  }
  EXPECT_EQ(seen.size(), kBadModelErrors.size()) << "every entry of kBadModelErrors has its model";
}

// ------------------------------------------------------------------------ options

TEST_F(Import, OptionsReachTheWorkload) {
  const fs::path out = test::test_dir() / "opts";
  fs::remove_all(out);
  const test::Command c = import(model("residual_cnn"), out,
                                 "--name tuned --scheme srste --nm 2:4 --dense /fc1/Gemm --batch 32 --dataset synthetic");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const fs::path yaml = out / "tuned.yaml";
  const Workload w = load_workload(yaml.string());
  EXPECT_EQ(w.name, "tuned");
  EXPECT_EQ(w.train.scheme, fw::model::Scheme::srste);
  EXPECT_EQ(w.train.n, 2u);
  EXPECT_EQ(w.train.m, 4u);
  EXPECT_EQ(w.train.batch, 32u);
  EXPECT_EQ(w.train.dataset.name, "synthetic");
  EXPECT_EQ(w.train.dataset.height, 28u);
  EXPECT_EQ(w.train.dataset.classes, 10u);
  std::vector<std::string> dense;  // the conv2d and linear layers made dense, by type
  for (const TrainLayer& layer : w.train.layers)
    if (layer.dense) dense.push_back(layer.type + " " + std::to_string(layer.out));
  EXPECT_EQ(dense, std::vector<std::string>{"linear 32"});  // /fc1/Gemm
  const std::string text = test::read_file(yaml);
  EXPECT_NE(text.find("/fc1/Gemm"), std::string::npos) << "layers carry their ONNX node names";
  EXPECT_NE(text.find("/block/conv2/Conv"), std::string::npos);
}

// The corpus's model with a dynamic height imports once --input gives it, and runs; an --input
// that contradicts the model's static dimensions is refused.
TEST_F(Import, InputOptionGivesTheDynamicDimensions) {
  const fs::path onnx = kBadModels / "dynamic_spatial_dim.onnx";
  const fs::path out = test::test_dir() / "given";
  fs::remove_all(out);
  const test::Command c = import(onnx, out, "--input 4x8x8");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const Workload w = load_workload((out / "dynamic_spatial_dim.yaml").string());
  EXPECT_EQ(w.train.dataset.name, "synthetic");
  EXPECT_EQ(w.train.dataset.channels, 4u);
  EXPECT_EQ(w.train.dataset.height, 8u);
  EXPECT_EQ(w.train.dataset.width, 8u);
  run_satvp(w.source, "run", {"mode=timing", "iterations=1", "batch=4", "eval_samples=4"});

  const fs::path wrong = test::test_dir() / "wrong";
  fs::remove_all(wrong);
  const test::Command refused = import(onnx, wrong, "--input 3x8x8");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("satvp: error: "), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(wrong));
}

TEST_F(Import, DefaultNameAndDirectoryComeFromTheModelFile) {
  const fs::path cwd = test::test_dir() / "cwd";
  fs::remove_all(cwd);
  fs::create_directories(cwd);
  const test::Command c =
      test::run_command("cd " + test::shell_quote(cwd) + " && " + test::kSatvp + " import " + test::shell_quote(model("mlp")));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const Workload w = load_workload((cwd / "mlp" / "mlp.yaml").string());
  EXPECT_EQ(w.name, "mlp");
  EXPECT_EQ(w.train.init_weights, (cwd / "mlp" / "weights").string());
  EXPECT_TRUE(fs::exists(cwd / "mlp" / "weights" / "1_linear.weight.npy"));
  EXPECT_EQ(w.train.dataset.name, "fashion-mnist");  // 1x28x28, 10 classes
}

TEST_F(Import, ExistingOutputIsRefusedWithoutForce) {
  const fs::path out = test::test_dir() / "twice";
  fs::remove_all(out);
  ASSERT_EQ(import(model("mlp"), out).exit_code, 0);
  const fs::path yaml = out / "mlp.yaml";
  std::ofstream(yaml, std::ios::app) << "# edited by hand\n";
  const test::Command again = import(model("mlp"), out);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  EXPECT_NE(test::read_file(yaml).find("# edited by hand"), std::string::npos) << "the existing file is kept";
  const test::Command forced = import(model("mlp"), out, "--force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(test::read_file(yaml).find("# edited by hand"), std::string::npos) << "--force replaces it";
}

TEST_F(Import, MissingOrNonOnnxFileIsAnErrorNamingIt) {
  const fs::path dir = test::test_dir();
  const fs::path missing = dir / "missing.onnx";
  const fs::path text = test::write_file("text.onnx", "name: not an onnx model\n");
  const fs::path directory = dir / "folder.onnx";
  fs::create_directories(directory);
  for (const fs::path& file : {missing, text, directory}) {
    SCOPED_TRACE(file.string());
    const fs::path out = dir / ("out_" + file.stem().string());
    fs::remove_all(out);
    const test::Command c = import(file, out);
    EXPECT_EQ(c.exit_code, 2) << c.output;
    EXPECT_EQ(c.output.rfind("satvp: error: " + file.string(), 0), 0u) << c.output;
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace cestvp
