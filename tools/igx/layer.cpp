// igx layer: attributions to the neurons of an internal layer of an image model (conductance,
// internal influence, layer IG), from an input patch to every neuron (patch -> neuron IG), and from
// chosen neurons back to the pixels (neuron conductance).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "igx/explainer.h"
#include "igx/heatmap.h"
#include "igx/image_io.h"
#include "igx/runtime.h"
#include "igx/tensor_io.h"

namespace igx_cli {
namespace {

struct LayerFlags {
  std::string model = "mnist-cnn";
  std::string image;
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "igx-out";
  std::string json;
  std::string picture;
  int top = 10;
  bool force = false;
  RequestFlags request;
};

// "705 (channel 14, y 2, x 5)" for a flat index into an activation of shape [C, H, W] (or the
// flat index itself).
std::string neuron_position(int64_t flat, const std::vector<int64_t>& shape) {
  if (shape.size() != 3) return std::to_string(flat);
  const int64_t area = shape[1] * shape[2];
  return std::to_string(flat) + " (channel " + std::to_string(flat / area) + ", y " + std::to_string(flat % area / shape[2]) +
         ", x " + std::to_string(flat % shape[2]) + ")";
}

// The positions of the `count` largest |values|, largest first.
std::vector<size_t> largest(const std::vector<double>& values, int count) {
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t shown = std::min(order.size(), static_cast<size_t>(std::max(count, 0)));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](size_t a, size_t b) { return std::abs(values[a]) > std::abs(values[b]); });
  order.resize(shown);
  return order;
}

// Neuron conductance: input-shaped attributions, drawn like igx explain draws input IG.
void render_neuron_conductance(const LayerFlags& flags, const igx::Explanation& explanation, const std::string& json_path,
                               const std::string& picture_path) {
  const igx::ExampleExplanation& example = explanation.examples[0];
  const igx::ExampleReport& report = example.report;
  std::cout << "neuron conductance at layer '" << explanation.layer << "' of " << explanation.run.model
            << ", explaining class " << example.target_label << " (" << report.steps << " steps)\n";
  const std::vector<int64_t>& neurons = explanation.neurons;
  for (size_t k = 0; k < std::min<size_t>(neurons.size(), 8); ++k) {
    std::cout << "  neuron " << neuron_position(neurons[k], explanation.layer_shape) << "\n";
  }
  if (neurons.size() > 8) std::cout << "  ... " << neurons.size() - 8 << " more neurons\n";
  std::cout << "  F(x) = " << report.output_input << "   F(x') = " << report.output_baseline
            << "   sum over pixels = " << report.attribution_sum << " (the neurons' conductance)\n";
  const igx::NdArray& per_pixel = example.pixel_attributions;
  const int64_t width = per_pixel.shape.back();
  std::cout << "  top pixels (y,x):";
  for (size_t index : largest(per_pixel.values, flags.top)) {
    std::cout << "  " << static_cast<int64_t>(index) / width << "," << static_cast<int64_t>(index) % width << " "
              << per_pixel.values[index];
  }
  std::cout << "\n";

  igx::HeatmapOptions heatmap;
  char title[160];
  std::snprintf(title, sizeof title, "neuron conductance, %s %s  class %s  sum=%.3g", explanation.layer.c_str(),
                flags.request.value("neuron").substr(0, 40).c_str(), example.target_label.c_str(), report.attribution_sum);
  heatmap.title = title;
  // A neuron sees a small receptive field: most pixels are exactly 0, so a percentile of |A| would
  // clip the few that matter. Scale by the largest.
  heatmap.scale_percentile = 100.0;
  igx::write_attribution_heatmap(picture_path, example.picture, per_pixel, heatmap);
  nlohmann::json json = igx::to_json(explanation);
  json["picture"] = picture_path;
  write_text_file(json_path, json.dump(2) + "\n");
  std::cout << "wrote " << picture_path << "\nwrote " << json_path << "\n";
}

// Attributions to the layer's neurons: the channels' sums on the terminal, a channel grid.
void render_layer(const LayerFlags& flags, const igx::Explanation& explanation, const std::string& json_path,
                  const std::string& picture_path) {
  const igx::ExampleExplanation& example = explanation.examples[0];
  const igx::ExampleReport& report = example.report;
  std::cout << flags.request.value("method") << " at layer '" << explanation.layer << "' of " << explanation.run.model
            << ", explaining class " << example.target_label << " (" << report.steps << " steps)\n";
  std::cout << "  F(x) = " << report.output_input << "   F(x') = " << report.output_baseline
            << "   sum over neurons = " << report.attribution_sum << "\n";
  if (std::isfinite(report.delta)) {
    std::cout << "  delta = " << report.delta << "   relative error = "
              << (report.relative_error ? std::to_string(100.0 * *report.relative_error) + "%" : std::string("n/a")) << "\n";
  }
  if (example.patch_input_attribution) {
    std::cout << "  sum of input IG inside the patch = " << *example.patch_input_attribution
              << " (must equal the sum over neurons)\n";
  }
  std::cout << "  top channels:";
  for (size_t channel : largest(example.channel_sums, flags.top)) {
    std::cout << "  " << channel << " " << example.channel_sums[channel];
  }
  std::cout << "\n";
  write_text_file(json_path, igx::to_json(explanation).dump(2) + "\n");
  if (explanation.layer_shape.size() == 3) {
    igx::write_png(picture_path, igx::render_channel_grid(igx::array_from_tensor(explanation.attributions[0])));
    std::cout << "wrote " << picture_path << "\n";
  }
  std::cout << "wrote " << json_path << "\n";
}

void run(const LayerFlags& flags) {
  // Bad option values and outputs that may not be written are refused before any work.
  igx::ExplainRequest request;
  request.image_paths = {flags.image};
  flags.request.apply(request.options);
  OutputFiles files(flags.out_dir, flags.force);
  const std::string json_path = files.resolve(flags.json, "layer.json", "--out");
  const std::string picture_path =
      files.resolve(flags.picture, "layer-" + flags.request.value("method") + ".png", "--picture");
  apply_threads(flags.threads, flags.force);
  const auto explainer = igx::Explainer::load(flags.model, igx::LoadOptions().device(igx::parse_device(flags.device)));
  igx::PreparedRequest prepared = explainer->prepare(request);
  const igx::Explanation explanation = explainer->explain(prepared, request);
  if (prepared.method == "neuron-conductance") return render_neuron_conductance(flags, explanation, json_path, picture_path);
  render_layer(flags, explanation, json_path, picture_path);
}

}  // namespace

std::function<void()> add_layer(CLI::App& app) {
  auto flags = std::make_shared<LayerFlags>();
  CLI::App* command = app.add_subcommand("layer", "Attribute a prediction to the neurons of an internal layer (image models)");
  command->add_option("--image", flags->image, "The image to explain")->required()->type_name("FILE");
  command->add_option("-m,--model", flags->model, "Image bundle name or folder")->capture_default_str()->type_name("MODEL");
  RequestFlags& request = flags->request;
  request.add(command, "layer");
  request.add(command, "method", "",
              "conductance, internal-influence, layer-ig, patch (patch -> neuron IG, needs --patch), or "
              "neuron-conductance (a neuron's attribution to the pixels, needs --neuron)",
              "conductance");
  request.add(command, "patch");
  request.add(command, "neuron");
  request.add(command, "steps", "-n", "Integration steps");
  request.add(command, "baseline", "-b", "black, blur[:SIGMA] or noise[:SEED]", "black");
  request.add(command, "target", "-t", "Class to explain: pred or K");
  request.add(command, "output");
  request.add(command, "batch-size");
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Folder for the outputs (made by igx)")->capture_default_str()->type_name("DIR");
  command->add_option("-o,--out", flags->json, "JSON file (default OUT-DIR/layer.json)")->type_name("FILE");
  command->add_option("--picture", flags->picture,
                      "Channel grid PNG, or the pixel heat-map of neuron-conductance (default OUT-DIR/layer-METHOD.png)")->type_name("FILE");
  command->add_option("--top", flags->top, "Channels (pixels for neuron-conductance) listed on the terminal")
      ->capture_default_str()->type_name("K")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_flag("-f,--force", flags->force, "Overwrite output files that exist");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
