#include "cli/cmd_import.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cli.h"
#include "config/user_error.h"
#include "config/yaml_reader.h"  // did_you_mean
#include "import/onnx_graph.h"
#include "import/onnx_import.h"
#include "import/workload_writer.h"
#include "loader/workload.h"
#include "output_file.h"

namespace cestvp {

namespace {

namespace fs = std::filesystem;
using namespace onnx_import;

// "3x64x64" -> {3, 64, 64}.
Dims parse_input_shape(const std::string& text) {
  Dims dims;
  std::istringstream parts(text);
  std::string part;
  while (std::getline(parts, part, 'x')) {
    const bool number = !part.empty() && part.size() <= 5 && part.find_first_not_of("0123456789") == std::string::npos;
    dims.push_back(number ? std::stol(part) : 0);
  }
  if (!text.empty() && text.back() == 'x') dims.push_back(0);  // getline leaves out the empty last part
  const bool valid = dims.size() == 3 && dims[0] >= 1 && dims[0] <= 4 && dims[1] >= 1 && dims[1] <= 4096 &&
                     dims[2] >= 1 && dims[2] <= 4096;
  if (!valid)
    throw UserError("--input '" + text + "': not a shape; expected CxHxW, e.g. 3x64x64 (C 1 to 4, H and W 1 to 4096)");
  return dims;
}

// A workload name from the model's file name: "resnet18.onnx" -> "resnet18".
std::string name_from(const std::string& model) {
  std::string name = fs::path(model).stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
  return name.empty() ? "imported" : name;
}

void check_dense_names(const ImportedNetwork& net, const std::vector<std::string>& dense) {
  std::vector<std::string> known;
  for (const ImportedLayer& l : net.layers)
    if (!l.weight_node.empty()) known.push_back(l.weight_node);
  for (const std::string& name : dense)
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw UserError("--dense '" + name + "': no Conv, Gemm or MatMul node of that name" + did_you_mean(name, known) +
                      "; expected one of the weight nodes: " + join(known));
}

std::string layer_counts(const ImportedNetwork& net) {
  std::map<std::string, int> count;
  std::size_t params = 0;
  for (const ImportedLayer& l : net.layers) {
    ++count[l.type];
    for (const ImportedParam& p : l.params) params += p.values.size();
  }
  std::vector<std::string> kinds;
  for (const auto& [type, n] : count) kinds.push_back(std::to_string(n) + " " + type);
  return std::to_string(net.layers.size()) + " layers (" + join(kinds) + "), " + std::to_string(params) + " parameters";
}

}  // namespace

void add_import_options(CLI::App& cmd, ImportArgs& args) {
  cmd.add_option("model", args.model,
                 "The ONNX model (torch.onnx.export, opset 7 or later; FP32 weights inside the file)")
      ->required();
  cmd.add_option("--out", args.out,
                 "Output directory for NAME.yaml and weights/ (default: NAME in the current directory)");
  cmd.add_option("--name", args.name, "Workload name (default: the model file's name without .onnx)");
  cmd.add_option("--scheme", args.scheme, "N:M scheme of the workload")
      ->check(one_of(scheme_names()))
      ->capture_default_str();
  cmd.add_option("--nm", args.nm, "N:M sparsity of the workload")->capture_default_str();
  cmd.add_option("--dense", args.dense,
                 "ONNX node name of a Conv, Gemm or MatMul whose layer stays dense (repeatable; comma-separated); the "
                 "first and last are dense unless the workload's sparse_first_layer/sparse_last_layer say otherwise")
      ->delimiter(',');
  cmd.add_option("--input", args.input,
                 "Input shape CxHxW (default: the model's); needed when the model's height and width are dynamic, or "
                 "to read a flat input (N x F) as images");
  cmd.add_option("--dataset", args.dataset,
                 "dataset.name of the workload (default: fashion-mnist for a 1x28x28 input with 10 classes, else "
                 "synthetic data of the model's shape)")
      ->check(one_of(dataset_names()));
  cmd.add_option("--dataset-path", args.dataset_path, "dataset.path of the workload (CIFAR, image_folder)");
  cmd.add_option("--batch", args.batch, "Batch of the workload")->check(whole_number(1, 65536))->capture_default_str();
  cmd.add_flag("--force", args.force, "Replace NAME.yaml and weights/ if they exist");
}

int run_import(const ImportArgs& args) {
  std::uint32_t n = 0, m = 0;
  if (const std::string problem = parse_nm(args.nm, n, m); !problem.empty())
    throw UserError("--nm '" + args.nm + "': " + problem + "; expected " + kNmExpected);
  const Dims input = args.input.empty() ? Dims{} : parse_input_shape(args.input);

  const OnnxGraph graph(args.model, input);
  const ImportedNetwork net = import_network(graph, input);
  check_dense_names(net, args.dense);

  WorkloadChoices choices;
  choices.model = args.model;
  choices.name = args.name.empty() ? name_from(args.model) : args.name;
  choices.scheme = args.scheme;
  choices.nm = args.nm;
  choices.dense = {args.dense.begin(), args.dense.end()};
  choices.dataset = args.dataset;
  choices.dataset_path = args.dataset_path;
  choices.batch = args.batch;

  const fs::path dir = args.out.empty() ? fs::path(choices.name) : fs::path(args.out);
  const fs::path yaml = dir / (choices.name + ".yaml"), weights = dir / "weights";
  std::error_code ec;
  if (!args.force && (fs::exists(yaml, ec) || fs::exists(weights, ec)))
    throw UserError(yaml.string() + ": exists; expected a new output (--out DIR) or --force to replace it");
  if (args.force) fs::remove_all(weights, ec);
  fs::create_directories(weights, ec);
  if (ec) throw OutputError(weights.string(), ec.message());
  const std::string weights_dir = fs::absolute(weights).lexically_normal().string();
  write_initial_weights(net, weights_dir);
  write_text_atomically(yaml.string(), workload_yaml(net, choices, weights_dir));
  try {  // what the importer wrote must be a workload the VP runs
    load_workload(yaml.string());
  } catch (const UserError& e) {
    fs::remove(yaml, ec);
    fs::remove_all(weights, ec);
    throw UserError(args.model + ": the network is not one the VP trains: " + e.what());
  }

  for (const std::string& note : net.notes) std::cerr << "satvp import: note: " << note << "\n";
  std::cout << "satvp import: " << args.model << " -> " << yaml.string() << ": " << layer_counts(net) << "; weights in "
            << weights.string() << "/\n"
            << "  satvp run --workload " << yaml.string() << "        # one run (timing mode)\n"
            << "  satvp compare --workload " << yaml.string() << "    # dense, SR-STE, SDGP and BDWP side by side\n";
  return 0;
}

}  // namespace cestvp
