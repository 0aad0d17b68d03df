// igx layer: attributions to the neurons of an internal layer of an image model (conductance,
// internal influence, layer IG), from an input patch to every neuron (patch -> neuron IG), and from
// chosen neurons back to the pixels (neuron conductance).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "igx/heatmap.h"
#include "igx/igx.h"
#include "igx/image.h"
#include "igx/image_io.h"
#include "igx/layer.h"
#include "igx/report.h"
#include "igx/tensor_io.h"

namespace igx_cli {
namespace {

struct LayerFlags {
  std::string model = "mnist-cnn";
  std::string image;
  std::string layer;
  std::string method = "conductance";
  std::string patch;
  std::string neuron;
  int64_t steps = 50;
  std::string target = "pred";
  std::string output = "logit";
  int64_t batch_size = 256;
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "igx-out";
  std::string json;
  std::string picture;
  int top = 10;
  bool force = false;
};

// --neuron J[,J2,...]: flat indices into the layer's activations [C, H, W] (J = c*H*W + y*W + x).
std::vector<int64_t> parse_neurons(const std::string& text) {
  const auto neurons = parse_integer_list(text);
  if (!neurons || neurons->empty()) {
    throw igx::Error("--neuron '" + text + "' is not valid; expected J or J1,J2,... (flat indices c*H*W + y*W + x)");
  }
  return *neurons;
}

// "c5 y3 x4" for a flat index into an activation of shape [C, H, W] (or the flat index itself).
std::string neuron_position(int64_t flat, c10::IntArrayRef shape) {
  if (shape.size() != 3) return std::to_string(flat);
  const int64_t area = shape[1] * shape[2];
  return std::to_string(flat) + " (channel " + std::to_string(flat / area) + ", y " + std::to_string(flat % area / shape[2]) +
         ", x " + std::to_string(flat % shape[2]) + ")";
}

// Neuron conductance: input-shaped attributions, drawn like igx explain draws input IG.
void run_neuron_conductance(const LayerFlags& flags, igx::ImageClassifier& classifier, igx::SplitModel& split,
                            const torch::Tensor& pixels, const igx::IgOptions& options, const std::string& json_path,
                            const std::string& picture_path) {
  if (flags.neuron.empty()) throw igx::Error("--method neuron-conductance needs --neuron J (a flat index into the layer)");
  const std::vector<int64_t> neurons = parse_neurons(flags.neuron);
  const igx::Attribution attribution = igx::neuron_conductance(split, pixels, neurons, options);
  std::vector<int64_t> layer_shape;
  {
    torch::NoGradGuard no_grad;
    layer_shape = split.lower->forward(pixels, {}).sizes().slice(1).vec();
  }
  const igx::ExampleReport& report = attribution.examples[0];
  std::cout << "neuron conductance at layer '" << split.layer << "' of " << classifier.config().name << ", explaining class "
            << classifier.config().label(report.target) << " (" << report.steps << " steps)\n";
  for (size_t k = 0; k < std::min<size_t>(neurons.size(), 8); ++k) {
    std::cout << "  neuron " << neuron_position(neurons[k], layer_shape) << "\n";
  }
  if (neurons.size() > 8) std::cout << "  ... " << neurons.size() - 8 << " more neurons\n";
  std::cout << "  F(x) = " << report.output_input << "   F(x') = " << report.output_baseline
            << "   sum over pixels = " << report.attribution_sum << " (the neurons' conductance)\n";
  const torch::Tensor values = attribution.values[0].to(torch::kCPU, torch::kDouble);
  const torch::Tensor per_pixel = values.sum(0);
  const torch::Tensor flat = per_pixel.flatten();
  const int64_t shown = std::min<int64_t>(flags.top, flat.numel());
  const torch::Tensor order = flat.abs().argsort(0, true).slice(0, 0, shown);
  std::cout << "  top pixels (y,x):";
  for (int64_t k = 0; k < shown; ++k) {
    const int64_t index = order[k].item<int64_t>();
    std::cout << "  " << index / per_pixel.size(1) << "," << index % per_pixel.size(1) << " " << flat[index].item<double>();
  }
  std::cout << "\n";

  igx::HeatmapOptions heatmap;
  char title[160];
  std::snprintf(title, sizeof title, "neuron conductance, %s %s  class %s  sum=%.3g", split.layer.c_str(),
                flags.neuron.substr(0, 40).c_str(), classifier.config().label(report.target).c_str(), report.attribution_sum);
  heatmap.title = title;
  // A neuron sees a small receptive field: most pixels are exactly 0, so a percentile of |A| would
  // clip the few that matter. Scale by the largest.
  heatmap.scale_percentile = 100.0;
  igx::write_attribution_heatmap(picture_path, igx::array_from_tensor(pixels[0].mean(0).cpu()), igx::array_from_tensor(per_pixel),
                                 heatmap);

  igx::RunDescription run;
  run.model = classifier.config().name;
  run.method = "neuron-conductance at " + split.layer;
  run.output = flags.output;
  run.baseline = "black";
  nlohmann::json result = igx::attribution_to_json(attribution, run, torch::Tensor());
  result["layer"] = split.layer;
  result["layer_shape"] = layer_shape;
  result["neurons"] = neurons;
  result["picture"] = picture_path;
  write_text_file(json_path, result.dump(2) + "\n");
  std::cout << "wrote " << picture_path << "\nwrote " << json_path << "\n";
}

void run(const LayerFlags& flags) {
  igx::set_num_threads(flags.threads);
  const torch::Device device = igx::parse_device(flags.device);
  igx::ImageClassifier classifier = igx::ImageClassifier::load(igx::find_bundle(flags.model), device);
  igx::SplitModel split = classifier.split(flags.layer);
  OutputFiles files(flags.out_dir, flags.force);
  const std::string json_path = files.resolve(flags.json, "layer.json");
  const std::string picture_path = files.resolve(flags.picture, "layer-" + flags.method + ".png");

  const torch::Tensor pixels = classifier.read_image(flags.image).to(device);
  const igx::IgOptions options = igx::IgOptions()
                                     .n_steps(flags.steps)
                                     .target(parse_target(flags.target))
                                     .output(igx::parse_output_kind(flags.output))
                                     .internal_batch_size(flags.batch_size);
  if (flags.method == "neuron-conductance") {
    return run_neuron_conductance(flags, classifier, split, pixels, options, json_path, picture_path);
  }
  igx::Attribution attribution;
  torch::Tensor patch;
  if (flags.method == "conductance") {
    attribution = igx::layer_conductance(split, pixels, options);
  } else if (flags.method == "internal-influence") {
    attribution = igx::internal_influence(split, pixels, options);
  } else if (flags.method == "layer-ig") {
    attribution = igx::layer_integrated_gradients(split, pixels, options);
  } else if (flags.method == "patch") {
    if (flags.patch.empty()) throw igx::Error("--method patch needs --patch x0,y0,x1,y1");
    const std::array<int64_t, 4> r = parse_corners(flags.patch, "--patch");
    patch = igx::rectangle_patch(pixels.sizes().slice(1), r[0], r[1], r[2], r[3]);
    attribution = igx::patch_neuron_attribution(split, pixels, patch, options);
  } else {
    throw igx::Error("unknown layer method '" + flags.method + "'; expected conductance, internal-influence, layer-ig, patch or neuron-conductance");
  }

  const igx::ExampleReport& report = attribution.examples[0];
  const torch::Tensor neurons = attribution.values[0].to(torch::kCPU, torch::kDouble);
  const torch::Tensor channel_sums = neurons.dim() >= 2 ? neurons.flatten(1).sum(1) : neurons;
  std::cout << flags.method << " at layer '" << split.layer << "' of " << classifier.config().name << ", explaining class "
            << classifier.config().label(report.target) << " (" << report.steps << " steps)\n";
  std::cout << "  F(x) = " << report.output_input << "   F(x') = " << report.output_baseline
            << "   sum over neurons = " << report.attribution_sum << "\n";
  if (std::isfinite(report.delta)) {
    std::cout << "  delta = " << report.delta << "   relative error = "
              << (report.relative_error ? std::to_string(100.0 * *report.relative_error) + "%" : std::string("n/a")) << "\n";
  }
  nlohmann::json json;
  if (flags.method == "patch") {
    // The check of DESIGN.md §2: the neurons share out exactly the patch's input attributions.
    const auto input_ig = igx::integrated_gradients(classifier.model(), pixels, options);
    const double patch_total = (input_ig.values[0].cpu().to(torch::kDouble) * patch.to(torch::kDouble)).sum().item<double>();
    std::cout << "  sum of input IG inside the patch = " << patch_total << " (must equal the sum over neurons)\n";
    json["patch"] = flags.patch;
    json["patch_input_attribution"] = patch_total;
  }
  const int64_t shown = std::min<int64_t>(flags.top, channel_sums.numel());
  const torch::Tensor order = channel_sums.abs().argsort(0, true).slice(0, 0, shown);
  std::cout << "  top channels:";
  for (int64_t k = 0; k < shown; ++k) {
    const int64_t channel = order[k].item<int64_t>();
    std::cout << "  " << channel << " " << channel_sums[channel].item<double>();
  }
  std::cout << "\n";

  igx::RunDescription run;
  run.model = classifier.config().name;
  run.method = flags.method + " at " + split.layer;
  run.output = flags.output;
  run.baseline = "black";
  nlohmann::json result = igx::attribution_to_json(attribution, run, torch::Tensor());
  result["layer"] = split.layer;
  result["channel_sums"] = igx::array_from_tensor(channel_sums).values;
  if (!json.is_null()) result.update(json);
  write_text_file(json_path, result.dump(2) + "\n");
  if (neurons.dim() == 3) {
    igx::write_png(picture_path, igx::render_channel_grid(igx::array_from_tensor(neurons)));
    std::cout << "wrote " << picture_path << "\n";
  }
  std::cout << "wrote " << json_path << "\n";
}

}  // namespace

std::function<void()> add_layer(CLI::App& app) {
  auto flags = std::make_shared<LayerFlags>();
  CLI::App* command = app.add_subcommand("layer", "Attribute a prediction to the neurons of an internal layer (image models)");
  command->add_option("--image", flags->image, "The image to explain")->required()->type_name("FILE");
  command->add_option("-m,--model", flags->model, "Image bundle name or folder")->capture_default_str()->type_name("MODEL");
  command->add_option("--layer", flags->layer, "Split point from the bundle's igx.json layers (default: its split_point)")
      ->type_name("NAME");
  command->add_option("--method", flags->method,
                      "conductance, internal-influence, layer-ig, patch (patch -> neuron IG, needs --patch), or "
                      "neuron-conductance (a neuron's attribution to the pixels, needs --neuron)")
      ->capture_default_str()->type_name("NAME");
  command->add_option("--patch", flags->patch, "Input patch for --method patch: x0,y0,x1,y1 in pixels (x1, y1 excluded)")
      ->type_name("RECT");
  command->add_option("--neuron", flags->neuron,
                      "Neurons for --method neuron-conductance: J or J1,J2,... (summed), flat indices c*H*W + y*W + x "
                      "into the layer's [C, H, W]")
      ->type_name("J");
  command->add_option("-n,--steps", flags->steps, "Integration steps")->capture_default_str()->type_name("N")->check(CLI::PositiveNumber);
  command->add_option("-t,--target", flags->target, "Class to explain: pred or K")->capture_default_str()->type_name("pred|K");
  command->add_option("--output", flags->output, "Explained output: logit, prob or logprob")->capture_default_str()->type_name("KIND");
  command->add_option("--batch-size", flags->batch_size, "Most rows per model call; 0 = no bound")
      ->capture_default_str()->type_name("B")->check(CLI::NonNegativeNumber);
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")->capture_default_str()->type_name("T");
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Folder for the outputs (made by igx)")->capture_default_str()->type_name("DIR");
  command->add_option("-o,--out", flags->json, "JSON file (default OUT-DIR/layer.json)")->type_name("FILE");
  command->add_option("--picture", flags->picture,
                      "Channel grid PNG, or the pixel heat-map of neuron-conductance (default OUT-DIR/layer-METHOD.png)")->type_name("FILE");
  command->add_option("--top", flags->top, "Channels listed on the terminal")->capture_default_str()->type_name("K");
  command->add_flag("-f,--force", flags->force, "Overwrite output files that exist");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
