// igx explain: attributions for a tensor input of a TorchScript model.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "igx/igx.h"
#include "igx/report.h"
#include "igx/tensor_io.h"

namespace igx_cli {
namespace {

struct ExplainFlags {
  std::string model;
  std::string entry = "forward";
  std::string input;
  bool single = false;
  std::string baseline = "zero";
  std::string target = "pred";
  std::string output = "logit";
  std::string method = "gausslegendre";
  int64_t steps = 50;
  int64_t batch_size = 256;
  int threads = 0;
  std::string device = "cpu";
  std::string out;
  std::string npy;
  int top = 10;
  bool force = false;
};

igx::Target parse_target(const std::string& text) {
  if (text == "pred" || text == "predicted") return igx::Target::predicted();
  std::vector<int64_t> indices;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      indices.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw igx::Error("--target '" + text + "' is not valid; expected pred, a class index K, or K1,K2,... (one per example)");
    }
  }
  if (indices.size() == 1) return igx::Target::index(indices.front());
  return igx::Target::per_example(indices);
}

igx::Baseline parse_baseline(const std::string& text, bool single) {
  if (text == "zero" || text == "0") return igx::Baseline::zero();
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return igx::Baseline::scalar(value);
  } catch (const std::exception&) {
  }
  if (!std::filesystem::exists(text)) {
    throw igx::Error("--baseline '" + text + "' is neither zero, a number, nor an existing .npy/.json file");
  }
  torch::Tensor tensor = igx::read_tensor(text);
  return igx::Baseline::tensor(single ? tensor.unsqueeze(0) : tensor);
}

// Refuse to overwrite a user's file by accident.
void check_writable(const std::string& path, bool force, const std::string& flag) {
  if (path.empty()) return;
  if (std::filesystem::exists(path) && !force) {
    throw igx::Error(flag + " '" + path + "' already exists; pass --force to overwrite it");
  }
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent)) {
    throw igx::Error(flag + " '" + path + "': directory '" + parent.string() + "' does not exist");
  }
}

void run(const ExplainFlags& flags) {
  igx::set_num_threads(flags.threads);
  check_writable(flags.out, flags.force, "--out");
  check_writable(flags.npy, flags.force, "--npy");
  const torch::Device device = igx::parse_device(flags.device);
  auto model = igx::TorchScriptModel::load(flags.model, flags.entry, device);

  torch::Tensor inputs = igx::read_tensor(flags.input);
  if (flags.single) inputs = inputs.unsqueeze(0);
  inputs = inputs.to(device);
  const igx::Target target = parse_target(flags.target);
  const igx::OutputKind output = igx::parse_output_kind(flags.output);

  const auto start = std::chrono::steady_clock::now();
  igx::Attribution attribution;
  if (flags.method == "saliency" || flags.method == "inputxgradient") {
    const auto options = igx::GradientOptions().target(target).output(output).internal_batch_size(flags.batch_size);
    attribution = flags.method == "saliency" ? igx::saliency(*model, inputs, options)
                                             : igx::input_x_gradient(*model, inputs, options);
  } else {
    attribution = igx::integrated_gradients(*model, inputs,
                                            igx::IgOptions()
                                                .n_steps(flags.steps)
                                                .method(igx::parse_rule(flags.method))
                                                .baseline(parse_baseline(flags.baseline, flags.single))
                                                .target(target)
                                                .output(output)
                                                .internal_batch_size(flags.batch_size));
  }
  igx::RunDescription run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.model = flags.model;
  run.method = flags.method;
  run.output = igx::output_kind_name(output);
  run.baseline = flags.method == "saliency" ? "none" : flags.method == "inputxgradient" ? "zero" : flags.baseline;
  // With the predicted class as target the engine already knows the prediction.
  torch::Tensor predictions;
  if (target.is_predicted()) {
    predictions = torch::empty({static_cast<int64_t>(attribution.examples.size())}, torch::kLong);
    for (size_t b = 0; b < attribution.examples.size(); ++b) predictions[b] = attribution.examples[b].target;
  } else {
    predictions = igx::predict(*model, inputs, flags.batch_size);
  }

  std::cout << igx::summarize(attribution, run, predictions, flags.top);
  if (!flags.out.empty()) {
    std::ofstream file(flags.out);
    file << igx::attribution_to_json(attribution, run, predictions).dump(2) << "\n";
    if (!file) throw igx::Error("cannot write --out '" + flags.out + "'");
    std::cout << "wrote " << flags.out << "\n";
  }
  if (!flags.npy.empty()) {
    igx::write_tensor_npy(flags.npy, attribution.values);
    std::cout << "wrote " << flags.npy << "\n";
  }
}

}  // namespace

std::function<void()> add_explain(CLI::App& app) {
  auto flags = std::make_shared<ExplainFlags>();
  CLI::App* command = app.add_subcommand("explain", "Attribute a model's output to its input features");
  command->add_option("-m,--model", flags->model, "TorchScript model file (.pt)")
      ->required()->type_name("FILE");
  command->add_option("--entry", flags->entry, "Exported method of the model to explain")
      ->capture_default_str()->type_name("NAME");
  command->add_option("-i,--input", flags->input, "Input batch [B, ...] as .npy or .json")
      ->required()->type_name("FILE");
  command->add_flag("--single", flags->single, "The input is one example without a batch dimension");
  command->add_option("-b,--baseline", flags->baseline,
                      "Baseline x': zero, a number, or a .npy/.json file of shape [B,...], [1,...] or [...]")
      ->capture_default_str()->type_name("zero|VALUE|FILE");
  command->add_option("-t,--target", flags->target, "Class to explain: pred (the predicted one), K, or K1,K2,... per example")
      ->capture_default_str()->type_name("pred|K|LIST");
  command->add_option("--output", flags->output, "Explained output: logit, prob (softmax) or logprob")
      ->capture_default_str()->type_name("KIND");
  command->add_option("--method", flags->method,
                      "IG with a quadrature rule (riemann_left, riemann_right, riemann_middle, "
                      "riemann_trapezoid, gausslegendre), or saliency, inputxgradient")
      ->capture_default_str()->type_name("NAME");
  command->add_option("-n,--steps", flags->steps, "Integration steps (IG)")
      ->capture_default_str()->type_name("N")->check(CLI::PositiveNumber);
  command->add_option("--batch-size", flags->batch_size, "Most rows per forward+backward (bounds memory); 0 = no bound")
      ->capture_default_str()->type_name("B")->check(CLI::NonNegativeNumber);
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")
      ->capture_default_str()->type_name("T")->check(CLI::NonNegativeNumber);
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("-o,--out", flags->out, "Write the full result as JSON here")->type_name("FILE");
  command->add_option("--npy", flags->npy, "Write the attributions [B, ...] as .npy here")->type_name("FILE");
  command->add_option("--top", flags->top, "Features shown per example on the terminal")
      ->capture_default_str()->type_name("K")->check(CLI::NonNegativeNumber);
  command->add_flag("-f,--force", flags->force, "Overwrite --out/--npy files that exist");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
