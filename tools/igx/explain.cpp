// igx explain: attributions for texts and images of model bundles, or for tensors of any
// TorchScript model. Flags become an explanation request (igx/explainer.h); the Explanation
// becomes terminal lines, HTML, PNG heat-maps, JSON and .npy. No numerics and no model here.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <limits>
#include <string>
#include <tuple>

#include "cli_common.h"
#include "commands.h"
#include "igx/explainer.h"
#include "igx/heatmap.h"
#include "igx/runtime.h"
#include "igx/tensor_io.h"
#include "igx/text_render.h"

namespace igx_cli {
namespace {

namespace fs = std::filesystem;

struct ExplainFlags {
  std::vector<std::string> texts;
  std::vector<std::string> images;
  std::string input;
  std::string model;
  std::string entry = "forward";
  bool single = false;
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "igx-out";
  std::string json;
  std::string html;
  std::string heatmap;
  std::string npy;
  bool no_colour = false;
  int top = 10;
  bool force = false;
  RequestFlags request;
  CLI::App* command = nullptr;
};

bool given(const ExplainFlags& flags, const std::string& flag) { return flags.command->count(flag) > 0; }

// The flags that only some inputs use are errors with the others, never silently ignored.
void check_flags_apply(const ExplainFlags& flags, igx::Modality modality) {
  const auto refuse = [&](const std::string& flag, const std::string& applies_to) {
    if (given(flags, flag)) throw igx::UsageError(flag + " applies to " + applies_to + "; this run explains " +
                                                  igx::modality_name(modality) + "s");
  };
  if (modality != igx::Modality::Text) {
    refuse("--html", "texts (the token heat-map)");
    refuse("--no-color", "texts (coloured tokens on the terminal)");
  }
  if (modality != igx::Modality::Image) refuse("--heatmap", "images (the heat-map PNG)");
  if (modality == igx::Modality::Text) refuse("--top", "images and tensors (texts show every token)");
  if (modality != igx::Modality::Tensor) {
    refuse("--entry", "--input with a TorchScript file");
    refuse("--single", "--input");
  } else {
    refuse("--out-dir", "texts and images (with --input, name the files with --out and --npy)");
  }
}

igx::ExplainRequest request_of(const ExplainFlags& flags, const igx::ExplainOptions& options) {
  igx::ExplainRequest request;
  request.texts = flags.texts;
  request.image_paths = flags.images;
  if (!flags.input.empty()) {
    request.inputs = igx::read_tensor(flags.input);
    if (flags.single) request.inputs = request.inputs.unsqueeze(0);
  }
  request.options = options;
  return request;
}

// Where the outputs go ("" for one not asked for), registered before any work.
struct OutputPaths {
  std::string json;
  std::string html;
  std::vector<std::string> heatmaps;  // one per image
  // --compare-steps on images: per image, the heat-maps "fixed" and "difference".
  std::vector<std::map<std::string, std::string>> comparisons;
  std::string npy;
};

OutputPaths resolve_outputs(const ExplainFlags& flags, const igx::ExplainOptions& options, igx::Modality modality,
                            OutputFiles& files) {
  OutputPaths paths;
  switch (modality) {
    case igx::Modality::Text:
      paths.json = files.resolve(flags.json, "explanation.json", "--out");
      paths.html = files.resolve(flags.html, "explanation.html", "--html");
      break;
    case igx::Modality::Image:
      if (!flags.heatmap.empty() && flags.images.size() > 1) {
        throw igx::UsageError("--heatmap names one file but " + std::to_string(flags.images.size()) +
                              " images were given; leave it out to get one heat-map per image in --out-dir");
      }
      paths.json = files.resolve(flags.json, "explanation.json", "--out");
      // Two images with one file name would share a heat-map: refused here, as any two outputs on one path.
      for (const std::string& image : flags.images) {
        paths.heatmaps.push_back(
            files.resolve(flags.heatmap, "heatmap-" + fs::path(image).stem().string() + ".png", "--heatmap"));
      }
      if (options.compare_steps) {
        for (const std::string& image : flags.images) {
          const std::string stem = fs::path(image).stem().string();
          std::map<std::string, std::string>& compared = paths.comparisons.emplace_back();
          for (const std::string suffix : {"fixed", "difference"}) {
            compared[suffix] = files.resolve("", "heatmap-" + stem + "-" + suffix + ".png", "--compare-steps");
          }
        }
      }
      break;
    case igx::Modality::Tensor:
      if (!flags.json.empty()) paths.json = files.resolve(flags.json, "", "--out");
      break;
  }
  if (!flags.npy.empty()) paths.npy = files.resolve(flags.npy, "", "--npy");
  return paths;
}

// Completeness in expectation, when the baselines are a distribution.
void print_distribution(const igx::Explanation& explanation, int max_examples = 5) {
  for (size_t b = 0; b < explanation.examples.size() && static_cast<int>(b) < max_examples; ++b) {
    const igx::ExampleExplanation& example = explanation.examples[b];
    if (!example.baseline_count) continue;
    const igx::ExampleReport& report = example.report;
    char line[256];
    std::snprintf(line, sizeof line,
                  "example %zu in expectation over %lld baselines: F(x) - E[F(X')] = %.6g, sum of attributions = %.6g", b,
                  static_cast<long long>(*example.baseline_count), report.output_input - report.output_baseline,
                  report.attribution_sum);
    std::string text = line;
    if (example.sum_standard_error) {
      const double error = *example.sum_standard_error;
      std::snprintf(line, sizeof line, " (standard error %.3g; |delta| = %.2f standard errors)", error,
                    error > 0 ? std::abs(report.delta) / error : 0.0);
      text += line;
    }
    std::cout << text << "\n";
  }
}

std::string relative_error_text(const igx::ExampleReport& report) {
  if (!report.relative_error) return "undefined (|F(x) - F(x')| too small)";
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", *report.relative_error);
  return text;
}

// The maximum-entropy baseline of an example: what the model says there, and where it came from.
std::string max_entropy_line(const igx::ExampleExplanation& example, size_t b) {
  char line[320];
  std::snprintf(line, sizeof line, "example %zu baseline: F(x') = %.6g, output entropy %.4g of at most %.4g (%s)", b,
                example.report.output_baseline, *example.baseline_entropy, example.max_entropy.value_or(0.0),
                example.baseline_source.c_str());
  return line;
}

// --compare-steps: the fixed-step run's relative error next to the explanation's, and where the
// difference sits.
std::string comparison_line(const igx::ExampleExplanation& example, size_t b, const std::string& unit) {
  const igx::FixedStepComparison& compared = *example.step_comparison;
  char line[400];
  std::snprintf(line, sizeof line,
                "example %zu with %s: relative error %s (this explanation: %s); the largest 1 %%, 3 %%, 10 %% of the "
                "%s carry %.0f %%, %.0f %%, %.0f %% of the |difference|",
                b, compared.step_count.c_str(), relative_error_text(compared.report).c_str(),
                relative_error_text(example.report).c_str(), unit.c_str(), 100 * compared.concentration.at(0),
                100 * compared.concentration.at(1), 100 * compared.concentration.at(2));
  return line;
}

void write_npy(const std::string& path, const igx::Explanation& explanation) {
  if (path.empty()) return;
  igx::write_tensor_npy(path, explanation.attributions);
  std::cout << "wrote " << path << "\n";
}

void render_texts(const ExplainFlags& flags, igx::Explainer& explainer, igx::PreparedRequest& prepared,
                  const igx::ExplainRequest& request, const OutputPaths& paths) {
  const igx::Explanation explanation = explainer.explain(prepared, request);

  const std::vector<igx::TextExplanationView> views = igx::text_views(explanation);
  const bool colour = terminal_colour(flags.no_colour);
  for (size_t b = 0; b < explanation.examples.size(); ++b) {
    const igx::ExampleExplanation& example = explanation.examples[b];
    if (example.truncated) {
      std::cerr << "igx: warning: text " << b << " is longer than " << explainer.text_classifier().max_length()
                << " tokens; only its beginning is explained\n";
    }
    std::cout << igx::render_terminal(views[b], colour) << "\n";
    if (example.report.certified) {
      std::cout << "  " << igx::certificate_line(example.report, explanation.attributions.scalar_type()) << "\n";
    }
    if (example.baseline_entropy) std::cout << max_entropy_line(example, b) << "\n";
    if (example.step_comparison) {
      // The fixed-step explanation and the difference, as rows under the explanation.
      std::cout << comparison_line(example, b, "tokens") << "\n";
      for (const igx::TextExplanationView& row : igx::step_comparison_views(example, views[b])) {
        std::cout << igx::render_terminal(row, colour);
      }
      std::cout << "\n";
    }
  }
  write_text_file(paths.json, igx::to_json(explanation).dump(2) + "\n");
  write_text_file(paths.html, igx::render_html(igx::text_page_views(explanation), "igx: " + explainer.name()));
  std::cout << "wrote " << paths.html << " and " << paths.json << "\n";
  write_npy(paths.npy, explanation);
}

void render_images(const ExplainFlags& flags, igx::Explainer& explainer, igx::PreparedRequest& prepared,
                   const igx::ExplainRequest& request, const OutputPaths& paths) {
  const igx::Explanation explanation = explainer.explain(prepared, request);

  std::cout << igx::summarize(explanation, flags.top);
  print_distribution(explanation);
  nlohmann::json json = igx::to_json(explanation);
  for (size_t b = 0; b < explanation.examples.size(); ++b) {
    const igx::ExampleExplanation& example = explanation.examples[b];
    igx::HeatmapOptions heatmap;
    char title[160];
    std::snprintf(title, sizeof title, "pred %s (p=%.2f) target %s  delta=%.1e", example.prediction_label.c_str(),
                  example.probability.value_or(0.0), example.target_label.c_str(), example.report.delta);
    heatmap.title = title;
    igx::write_attribution_heatmap(paths.heatmaps[b], example.picture, example.pixel_attributions, heatmap);
    json["examples"][b]["heatmap"] = paths.heatmaps[b];
    std::cout << "wrote " << paths.heatmaps[b] << "\n";
    if (example.baseline_entropy) std::cout << max_entropy_line(example, b) << "\n";
    if (example.step_comparison) {
      // The fixed-step heat-map and the difference's, next to the explanation's.
      const igx::FixedStepComparison& compared = *example.step_comparison;
      std::cout << comparison_line(example, b, "pixels") << "\n";
      igx::NdArray difference = compared.pixel_attributions;
      difference.values = compared.difference;
      for (const auto& [suffix, values, caption] :
           {std::tuple{std::string("fixed"), compared.pixel_attributions, compared.step_count + " (fixed steps)"},
            std::tuple{std::string("difference"), difference, "difference, " + compared.step_count + " minus IG"}}) {
        igx::HeatmapOptions options = heatmap;
        options.title = caption;
        const std::string path = paths.comparisons[b].at(suffix);
        igx::write_attribution_heatmap(path, example.picture, values, options);
        json["examples"][b]["compare_steps"]["heatmap_" + suffix] = path;
        std::cout << "wrote " << path << "\n";
      }
    }
  }
  write_text_file(paths.json, json.dump(2) + "\n");
  std::cout << "wrote " << paths.json << "\n";
  write_npy(paths.npy, explanation);
}

void render_tensors(const ExplainFlags& flags, igx::Explainer& explainer, igx::PreparedRequest& prepared,
                    const igx::ExplainRequest& request, const OutputPaths& paths) {
  const igx::Explanation explanation = explainer.explain(prepared, request);
  std::cout << igx::summarize(explanation, flags.top);
  print_distribution(explanation);
  for (size_t b = 0; b < explanation.examples.size(); ++b) {
    if (explanation.examples[b].step_comparison) std::cout << comparison_line(explanation.examples[b], b, "entries") << "\n";
  }
  if (!paths.json.empty()) {
    write_text_file(paths.json, igx::to_json(explanation).dump(2) + "\n");
    std::cout << "wrote " << paths.json << "\n";
  }
  write_npy(paths.npy, explanation);
}

void run(const ExplainFlags& flags) {
  const int sources = !flags.texts.empty() + !flags.images.empty() + !flags.input.empty();
  if (sources != 1) {
    throw igx::UsageError(std::string(sources == 0 ? "nothing to explain" : "several kinds of input given") +
                          "; expected one of: \"TEXT\" ..., --image FILE ..., or --input FILE with --model FILE.pt");
  }
  const igx::Modality modality = !flags.texts.empty()    ? igx::Modality::Text
                                 : !flags.images.empty() ? igx::Modality::Image
                                                         : igx::Modality::Tensor;
  check_flags_apply(flags, modality);
  if (modality == igx::Modality::Tensor && flags.model.empty()) {
    throw igx::UsageError("--input needs --model FILE.pt (a TorchScript model)");
  }
  // Bad option values and outputs that may not be written are refused before any work.
  igx::ExplainOptions options;
  flags.request.apply(options);
  OutputFiles files(flags.out_dir, flags.force);
  const OutputPaths paths = resolve_outputs(flags, options, modality, files);
  apply_threads(flags.threads, flags.force);
  const auto explainer = igx::Explainer::load(
      flags.model.empty() ? igx::default_model(modality) : flags.model,
      igx::LoadOptions().entry(flags.entry).device(igx::parse_device(flags.device)));
  const igx::ExplainRequest request = request_of(flags, options);
  igx::PreparedRequest prepared = explainer->prepare(request);
  switch (modality) {
    case igx::Modality::Text:
      return render_texts(flags, *explainer, prepared, request, paths);
    case igx::Modality::Image:
      return render_images(flags, *explainer, prepared, request, paths);
    case igx::Modality::Tensor:
      return render_tensors(flags, *explainer, prepared, request, paths);
  }
}

}  // namespace

std::function<void()> add_explain(CLI::App& app) {
  auto flags = std::make_shared<ExplainFlags>();
  CLI::App* command = app.add_subcommand(
      "explain",
      "Attribute a model's prediction to its input features.\n"
      "  igx explain \"some text\"                      text, shipped model spam-transformer\n"
      "  igx explain --image digit.png                 image, shipped model mnist-cnn\n"
      "  igx explain --model m.pt --input x.npy        any TorchScript model on a tensor batch\n"
      "  igx explain --image digit.png --baselines train:64   IG averaged over 64 training images");
  flags->command = command;
  command->add_option("texts", flags->texts, "Texts to explain (one example each)")->type_name("TEXT");
  command->add_option("--image", flags->images, "Images to explain (PNG, PGM, PPM, JPEG, BMP)")->type_name("FILE");
  command->add_option("-i,--input", flags->input, "Tensor batch [B, ...] as .npy or .json")->type_name("FILE");
  command->add_option("-m,--model", flags->model,
                      "Bundle folder, or a name looked up in $IGX_MODEL_PATH, the installed share/igx/models and "
                      "the source tree's models/ (docs/bundles.md); a .pt file with --input. "
                      "Default: spam-transformer for text, mnist-cnn for images")
      ->type_name("MODEL");
  command->add_option("--entry", flags->entry, "With --input: exported method of the .pt model to explain")
      ->capture_default_str()->type_name("NAME");
  command->add_flag("--single", flags->single, "With --input: the file is one example without a batch dimension");
  RequestFlags& request = flags->request;
  request.add(command, "baseline", "-b");
  request.add(command, "baselines");
  request.add(command, "expected-gradients");
  request.add(command, "seed");
  request.add(command, "target", "-t");
  request.add(command, "output");
  request.add(command, "method");
  request.add(command, "steps", "-n");
  request.add(command, "strategy");
  request.add(command, "tolerance");
  request.add(command, "certify");
  request.add(command, "attribution-tolerance");
  request.add(command, "scan-points");
  request.add(command, "max-steps");
  request.add(command, "initial-intervals");
  request.add(command, "memory-budget");
  request.add(command, "batch-size");
  request.add(command, "anchors");
  request.add(command, "neighbours");
  request.add(command, "upscale");
  request.add(command, "dig-score");
  request.add(command, "compare-steps");
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")
      ->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Text, image: folder for the reports (made by igx)")
      ->capture_default_str()->type_name("DIR");
  command->add_option("-o,--out", flags->json, "JSON result file (text, image: default OUT-DIR/explanation.json)")
      ->type_name("FILE");
  command->add_option("--html", flags->html, "Text: HTML token heat-map (default OUT-DIR/explanation.html)")
      ->type_name("FILE");
  command->add_option("--heatmap", flags->heatmap, "Image: heat-map PNG (default OUT-DIR/heatmap-NAME.png)")
      ->type_name("FILE");
  command->add_option("--npy", flags->npy,
                      "Write the attributions as .npy here: [B, ...] like the input; texts [B, T, D] on the word "
                      "embeddings")
      ->type_name("FILE");
  request.add(command, "words");
  command->add_flag("--no-color", flags->no_colour, "Text: no colours on the terminal (also when NO_COLOR is set)");
  command->add_option("--top", flags->top, "Image, tensor: features listed per example on the terminal")
      ->capture_default_str()->type_name("K")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_flag("-f,--force", flags->force, "Overwrite output files that exist");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
