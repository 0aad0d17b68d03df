// igx explain: attributions for texts and images of model bundles, or for tensors of any
// TorchScript model. Parses, calls the library, renders; no numerics here.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "igx/heatmap.h"
#include "igx/igx.h"
#include "igx/datasets.h"
#include "igx/distribution.h"
#include "igx/image.h"
#include "igx/report.h"
#include "igx/tensor_io.h"
#include "igx/text.h"
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
  std::string baseline = "auto";
  std::string target = "pred";
  std::string output = "logit";
  std::string method = "gausslegendre";
  bool method_given = false;
  std::string strategy = "auto";
  double tolerance = 0.01;
  std::string certify = "panels";
  int64_t max_steps = 4096;
  int64_t steps = 50;
  bool steps_given = false;
  int64_t batch_size = 256;
  int64_t anchors = 30;
  int64_t neighbours = 500;
  int64_t upscale = 1;
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "igx-out";
  std::string json;
  std::string html;
  std::string heatmap;
  std::string npy;
  bool words = false;
  bool no_colour = false;
  int top = 10;
  bool force = false;
  std::string baselines;            // FILE | train:N | noise:N[:SIGMA]: a distribution of baselines
  int64_t expected_gradients = 0;   // > 0: the sampled form with this many samples
  uint64_t seed = 0;                // for train:N, noise:N and Expected Gradients' draws
};

class Timer {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

bool is_ig_rule(const std::string& method) {
  const auto& rules = igx::rule_names();
  return std::find(rules.begin(), rules.end(), method) != rules.end();
}

bool is_dig(const std::string& method) { return method == "dig-greedy" || method == "dig-maxcount"; }

// Error-controlled integration is the default; --steps or an IG rule in --method ask for fixed
// steps instead.
igx::Strategy strategy_of(const ExplainFlags& flags) {
  if (flags.strategy != "auto") return igx::parse_strategy(flags.strategy);
  return flags.steps_given || (flags.method_given && is_ig_rule(flags.method)) ? igx::Strategy::Fixed
                                                                               : igx::Strategy::IntervalAdaptive;
}

igx::IgOptions common_options(const ExplainFlags& flags) {
  const igx::Strategy strategy = strategy_of(flags);
  if (strategy == igx::Strategy::IntervalAdaptive && flags.method_given && is_ig_rule(flags.method)) {
    throw igx::Error("--method " + flags.method + " sets the rule of fixed steps or doubling; the adaptive strategy "
                     "integrates with Simpson panels (drop --method, or add --strategy fixed|doubling)");
  }
  igx::IgOptions options = igx::IgOptions()
                               .n_steps(flags.steps)
                               .strategy(strategy)
                               .tolerance(flags.tolerance)
                               .certify(igx::parse_certify(flags.certify))
                               .max_steps(flags.max_steps)
                               .target(parse_target(flags.target))
                               .output(igx::parse_output_kind(flags.output))
                               .internal_batch_size(flags.batch_size);
  // SIG integrates with the options' own rule: Gauss-Legendre for fixed steps, and the nested
  // right-Riemann rule for doubling (IG methods name their rule instead).
  if (strategy == igx::Strategy::Doubling) options.method(igx::Rule::RiemannRight);
  // A token's own path is short and smooth: one Simpson panel, whose completeness error is
  // exact, refined only where needed, costs a third of the usual four (docs/faithfulness.md).
  if (flags.method == "sig") options.initial_intervals(1);
  return options;
}

igx::DigOptions dig_options(const ExplainFlags& flags) {
  return igx::DigOptions().anchors(flags.anchors).neighbours(flags.neighbours).upscale(flags.upscale);
}

// The text baseline a method starts from when --baseline is auto: SIG's is [MASK], the others' [PAD].
std::string text_baseline_of(const ExplainFlags& flags) {
  if (flags.baseline != "auto") return flags.baseline;
  return flags.method == "sig" ? "mask" : "pad";
}

// The method attribute() runs: the named one, or for doubling without --method, the paper's
// right-Riemann rule.
std::string method_of(const ExplainFlags& flags) {
  if (strategy_of(flags) == igx::Strategy::Doubling && !flags.method_given) return "riemann_right";
  return flags.method;
}

std::string method_label(const ExplainFlags& flags) {
  const std::string method = method_of(flags);
  if (method == "saliency" || method == "inputxgradient") return method;
  if (is_dig(method)) {
    return "dig " + method.substr(4) + " (m=" + std::to_string(flags.anchors) + ", K=" + std::to_string(flags.neighbours) +
           ", upscale " + std::to_string(flags.upscale) + ")";
  }
  const std::string family = method == "sig" ? "sig" : "ig";
  switch (strategy_of(flags)) {
    case igx::Strategy::IntervalAdaptive:
      return family + " adaptive (tolerance " + std::to_string(flags.tolerance).substr(0, 6) + ")";
    case igx::Strategy::Doubling:
      return family + " doubling " + (method == "sig" ? "riemann_right" : method) + " (tolerance " +
             std::to_string(flags.tolerance).substr(0, 6) + ")";
    case igx::Strategy::Fixed:
      break;
  }
  return method == "sig" ? "sig gausslegendre" : "ig " + method;
}

igx::RunDescription describe_run(const ExplainFlags& flags, const std::string& model, const std::string& baseline,
                                 double seconds) {
  igx::RunDescription run;
  run.model = model;
  run.method = method_label(flags);
  run.output = flags.output;
  const std::string method = method_of(flags);
  run.baseline = method == "saliency" ? "none" : method == "inputxgradient" ? "zero" : baseline;
  if (method == "sig") run.baseline = baseline + " (per token)";
  run.seconds = seconds;
  return run;
}

// --baselines: a distribution of baselines instead of one. FILE holds [M, ...] (one set for every
// example); train:N draws N training images without replacement; noise:N[:SIGMA] draws N Gaussian
// baselines around each input, x' = x + SIGMA * eps (clipped to [0, 1] for images).
struct BaselinesSpec {
  enum class Kind { File, Train, Noise };
  Kind kind = Kind::File;
  std::string path;
  int64_t count = 0;
  double sigma = 0.5;
};

constexpr const char* kBaselinesForms = "FILE (.npy or .json), train:N or noise:N[:SIGMA]";

BaselinesSpec parse_baselines(const std::string& text) {
  BaselinesSpec spec;
  const bool train = text.rfind("train:", 0) == 0, noise = text.rfind("noise:", 0) == 0;
  if (!train && !noise) {
    if (!fs::exists(text)) throw igx::Error("--baselines '" + text + "' is not an existing file; expected " + kBaselinesForms);
    spec.path = text;
    return spec;
  }
  spec.kind = train ? BaselinesSpec::Kind::Train : BaselinesSpec::Kind::Noise;
  const std::string rest = text.substr(6);
  const size_t colon = rest.find(':');
  const std::string count = rest.substr(0, colon);
  try {
    size_t used = 0;
    spec.count = std::stoll(count, &used);
    if (used != count.size() || spec.count < 1) throw std::invalid_argument(count);
    if (colon != std::string::npos) {
      if (train) throw std::invalid_argument(rest);
      const std::string sigma = rest.substr(colon + 1);
      spec.sigma = std::stod(sigma, &used);
      if (used != sigma.size() || !(spec.sigma > 0.0) || !std::isfinite(spec.sigma)) throw std::invalid_argument(sigma);
    }
  } catch (const std::exception&) {
    throw igx::Error("--baselines '" + text + "' is not valid; expected " + kBaselinesForms +
                     " with a count N >= 1 and SIGMA > 0");
  }
  return spec;
}

// N Gaussian baselines around every input: [B, N, ...].
torch::Tensor noise_around(const torch::Tensor& inputs, const BaselinesSpec& spec, uint64_t seed, bool pixels) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> shape = inputs.sizes().vec();
  shape.insert(shape.begin() + 1, spec.count);
  const torch::Tensor noise = torch::randn(shape, generator, torch::kDouble).to(inputs.options());
  const torch::Tensor sets = inputs.unsqueeze(1) + spec.sigma * noise;
  return pixels ? sets.clamp(0.0, 1.0) : sets;
}

// N images of the bundle's training split, drawn without replacement.
torch::Tensor training_images(const igx::ImageClassifier& classifier, const BaselinesSpec& spec, uint64_t seed) {
  const std::string name = classifier.config().name;
  if (name != "mnist-cnn") {
    throw igx::Error("--baselines train:N knows the training data of mnist-cnn only, not of '" + name +
                     "'; give a FILE of baselines or noise:N instead");
  }
  const fs::path file = fs::path(igx::find_data_directory()) / "mnist" / "train.npy";
  if (!fs::exists(file)) {
    throw igx::Error("--baselines train:" + std::to_string(spec.count) + " draws from mnist-cnn's training images, but '" +
                     file.string() + "' is missing; run `bash scripts/fetch_data.sh` first (or use FILE or noise:N)");
  }
  const igx::ImageDataset data = igx::read_mnist_split(igx::find_data_directory(), "train");
  if (spec.count > data.size()) {
    throw igx::Error("--baselines train:" + std::to_string(spec.count) + " asks for more images than the " +
                     std::to_string(data.size()) + " of the training split");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor drawn = torch::randperm(data.size(), generator, torch::kLong).slice(0, 0, spec.count);
  return data.images.index_select(0, drawn);
}

std::string describe_baselines(const BaselinesSpec& spec, int64_t count, uint64_t seed) {
  switch (spec.kind) {
    case BaselinesSpec::Kind::Train:
      return "distribution: " + std::to_string(count) + " training images (seed " + std::to_string(seed) + ")";
    case BaselinesSpec::Kind::Noise: {
      char sigma[32];
      std::snprintf(sigma, sizeof sigma, "%g", spec.sigma);
      return "distribution: " + std::to_string(count) + " Gaussian around the input (sigma " + sigma + ", seed " +
             std::to_string(seed) + ")";
    }
    case BaselinesSpec::Kind::File:
      break;
  }
  return "distribution: " + std::to_string(count) + " from " + spec.path;
}

// Distribution IG (deterministic, with the options' integration) or, with --expected-gradients S,
// Expected Gradients, whose standard errors come along.
struct DistributionResult {
  igx::Attribution attribution;
  torch::Tensor standard_error;            // [B, ...], Expected Gradients only
  std::vector<double> sum_standard_error;  // per example, Expected Gradients only
};

DistributionResult attribute_against(igx::Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                     const igx::IgOptions& options, const ExplainFlags& flags) {
  if (flags.expected_gradients == 0) return {igx::distribution_integrated_gradients(model, inputs, baselines, options), {}, {}};
  igx::ExpectedGradients sampled = igx::expected_gradients(model, inputs, baselines,
                                                           igx::ExpectedGradientsOptions()
                                                               .samples(flags.expected_gradients)
                                                               .seed(flags.seed)
                                                               .target(options.target())
                                                               .output(options.output())
                                                               .internal_batch_size(options.internal_batch_size()));
  return {std::move(sampled.attribution), sampled.standard_error, sampled.sum_standard_error};
}

// Completeness in expectation on the terminal and in the JSON's examples.
void report_distribution(const DistributionResult& result, int64_t baseline_count, nlohmann::json& json, int max_examples = 5) {
  for (size_t b = 0; b < result.attribution.examples.size(); ++b) {
    const igx::ExampleReport& report = result.attribution.examples[b];
    const double gap = report.output_input - report.output_baseline;
    nlohmann::json& entry = json["examples"][b];
    entry["baseline_count"] = baseline_count;
    entry["expected_output_baseline"] = report.output_baseline;
    entry["gap_in_expectation"] = gap;
    char line[256];
    std::snprintf(line, sizeof line, "example %zu in expectation over %lld baselines: F(x) - E[F(X')] = %.6g, sum of attributions = %.6g",
                  b, static_cast<long long>(baseline_count), gap, report.attribution_sum);
    std::string text = line;
    if (!result.sum_standard_error.empty()) {
      const double error = result.sum_standard_error[b];
      std::snprintf(line, sizeof line, " (standard error %.3g; |delta| = %.2f standard errors)", error,
                    error > 0 ? std::abs(report.delta) / error : 0.0);
      text += line;
      entry["sum_standard_error"] = error;
      const torch::Tensor errors = result.standard_error[b].to(torch::kCPU, torch::kDouble).contiguous().flatten();
      entry["standard_errors"] = std::vector<double>(errors.data_ptr<double>(), errors.data_ptr<double>() + errors.numel());
    }
    if (static_cast<int>(b) < max_examples) std::cout << text << "\n";
  }
}

void check_distribution_flags(const ExplainFlags& flags) {
  if (flags.baselines.empty()) {
    if (flags.expected_gradients > 0) throw igx::Error("--expected-gradients needs --baselines FILE|train:N|noise:N");
    return;
  }
  if (flags.baseline != "auto") {
    throw igx::Error("--baseline " + flags.baseline + " and --baselines " + flags.baselines +
                     " both name the baseline; give one of them");
  }
  const std::string method = method_of(flags);
  if (method == "saliency" || method == "inputxgradient" || is_dig(method) || method == "sig") {
    throw igx::Error("--baselines averages IG over a distribution of baselines; --method " + method +
                     " does not take them (use an IG rule, or no --method)");
  }
}

std::string distribution_method_label(const ExplainFlags& flags) {
  if (flags.expected_gradients > 0) {
    return "expected gradients (" + std::to_string(flags.expected_gradients) + " samples, seed " +
           std::to_string(flags.seed) + ")";
  }
  return "distribution " + method_label(flags);
}

void explain_texts(const ExplainFlags& flags, torch::Device device) {
  if (!flags.baselines.empty()) {
    throw igx::Error("--baselines applies to --image and --input; texts take one baseline "
                     "(--baseline pad|mask|unk|zero)");
  }
  const std::string bundle = igx::find_bundle(flags.model.empty() ? "spam-transformer" : flags.model);
  igx::TextClassifier classifier = igx::TextClassifier::load(bundle, device);
  const igx::TextBaseline baseline = igx::parse_text_baseline(text_baseline_of(flags));
  OutputFiles files(flags.out_dir, flags.force);
  const std::string json_path = files.resolve(flags.json, "explanation.json");
  const std::string html_path = files.resolve(flags.html, "explanation.html");

  const Timer timer;
  const igx::TextExplanation explanation =
      igx::explain_text(classifier, flags.texts, method_of(flags), common_options(flags), baseline, dig_options(flags));
  const igx::RunDescription run =
      describe_run(flags, classifier.config().name, igx::text_baseline_name(baseline), timer.seconds());

  nlohmann::json json = igx::attribution_to_json(explanation.attribution, run, torch::Tensor(), false);
  std::vector<igx::TextExplanationView> views;
  const bool colour = terminal_colour(flags.no_colour);
  for (size_t b = 0; b < flags.texts.size(); ++b) {
    const igx::Encoding& encoding = explanation.batch.encodings[b];
    const igx::ExampleReport& report = explanation.attribution.examples[b];
    if (encoding.truncated) {
      std::cerr << "igx: warning: text " << b << " is longer than " << classifier.max_length()
                << " tokens; only its beginning is explained\n";
    }
    std::vector<double> scores(encoding.ids.size());
    for (size_t t = 0; t < scores.size(); ++t) scores[t] = explanation.token_scores[b][t].item<double>();
    igx::TextExplanationView view;
    view.tokens = encoding.tokens;
    view.scores = scores;
    if (flags.words) {
      const igx::WordScores words = igx::sum_scores_by_word(encoding.tokens, scores);
      view.tokens = words.words;
      view.scores = words.scores;
    }
    const int64_t predicted = explanation.predictions[b];
    view.predicted_label = classifier.config().label(predicted);
    view.predicted_probability = explanation.probabilities[b][predicted].item<double>();
    view.target_label = classifier.config().label(report.target);
    view.attribution_sum = report.attribution_sum;
    view.delta = report.delta;
    view.relative_error = report.relative_error;
    view.certified = report.certified;
    view.method = run.method;
    view.steps = static_cast<int>(report.steps);
    std::cout << igx::render_terminal(view, colour) << "\n";

    nlohmann::json& entry = json["examples"][b];
    entry["text"] = flags.texts[b];
    entry["tokens"] = encoding.tokens;
    entry["token_ids"] = encoding.ids;
    entry["token_scores"] = scores;
    if (flags.words) entry["words"] = {{"words", view.tokens}, {"scores", view.scores}};
    entry["truncated"] = encoding.truncated;
    entry["prediction"] = predicted;
    entry["prediction_label"] = view.predicted_label;
    entry["probability"] = view.predicted_probability;
    entry["target_label"] = view.target_label;
    if (!explanation.token_reports.empty()) {
      // SIG's completeness is per token: gap = F(x) - F(x with the token at the baseline).
      nlohmann::json tokens = nlohmann::json::array();
      for (const igx::TokenReport& token : explanation.token_reports[b]) {
        const igx::ExampleReport& own = token.report;
        nlohmann::json item = {{"position", token.position},
                               {"token", encoding.tokens[token.position]},
                               {"attribution_sum", own.attribution_sum},
                               {"output_without_token", own.output_baseline},
                               {"gap", own.output_input - own.output_baseline},
                               {"delta", own.delta},
                               {"steps", own.steps}};
        item["relative_error"] = own.relative_error ? nlohmann::json(*own.relative_error) : nlohmann::json(nullptr);
        if (own.certified) item["certified"] = *own.certified;
        tokens.push_back(item);
      }
      entry["token_completeness"] = tokens;
    }
    if (!explanation.anchors.empty()) {
      nlohmann::json paths = nlohmann::json::array();
      for (size_t t = 0; t < encoding.tokens.size(); ++t) {
        std::vector<std::string> words;
        for (int64_t word : explanation.anchors[b][t]) words.push_back(classifier.tokenizer().id_to_token(word));
        paths.push_back({{"token", encoding.tokens[t]}, {"anchors", words}});
      }
      entry["dig_anchors"] = paths;
    }
    views.push_back(std::move(view));
  }
  write_text_file(json_path, json.dump(2) + "\n");
  write_text_file(html_path, igx::render_html(views, "igx: " + classifier.config().name));
  std::cout << "wrote " << html_path << " and " << json_path << "\n";
}

void explain_images(const ExplainFlags& flags, torch::Device device) {
  const std::string bundle = igx::find_bundle(flags.model.empty() ? "mnist-cnn" : flags.model);
  igx::ImageClassifier classifier = igx::ImageClassifier::load(bundle, device);
  const igx::ImageBaseline baseline = igx::ImageBaseline::parse(flags.baseline == "auto" ? "black" : flags.baseline);
  if (!flags.heatmap.empty() && flags.images.size() > 1) {
    throw igx::Error("--heatmap names one file but " + std::to_string(flags.images.size()) +
                     " images were given; leave it out to get one heat-map per image in --out-dir");
  }
  OutputFiles files(flags.out_dir, flags.force);
  const std::string json_path = files.resolve(flags.json, "explanation.json");
  std::vector<std::string> heatmap_paths;
  for (const std::string& image : flags.images) {
    heatmap_paths.push_back(files.resolve(flags.heatmap, "heatmap-" + fs::path(image).stem().string() + ".png"));
  }
  const std::string npy_path = flags.npy.empty() ? "" : files.resolve(flags.npy, "");

  std::vector<torch::Tensor> pictures;
  for (const std::string& image : flags.images) pictures.push_back(classifier.read_image(image));
  const torch::Tensor pixels = torch::cat(pictures).to(device);
  torch::Tensor probabilities;
  {
    torch::NoGradGuard no_grad;
    probabilities = torch::softmax(classifier.model().forward(pixels, {}), 1).to(torch::kCPU, torch::kDouble);
  }
  igx::IgOptions options = common_options(flags).baseline(igx::Baseline::tensor(classifier.baseline(pixels, baseline)));
  const torch::Tensor predictions = probabilities.argmax(1);
  if (options.target().is_predicted()) {
    options.target(igx::Target::per_example(std::vector<int64_t>(
        predictions.data_ptr<int64_t>(), predictions.data_ptr<int64_t>() + predictions.numel())));
  }
  const Timer timer;
  igx::Attribution attribution;
  DistributionResult distribution;
  std::string baseline_description = baseline.describe();
  int64_t baseline_count = 0;
  if (!flags.baselines.empty()) {
    const BaselinesSpec spec = parse_baselines(flags.baselines);
    torch::Tensor baselines;
    if (spec.kind == BaselinesSpec::Kind::Train) {
      baselines = training_images(classifier, spec, flags.seed);
    } else if (spec.kind == BaselinesSpec::Kind::Noise) {
      baselines = noise_around(pixels, spec, flags.seed, true);
    } else {
      // Image stacks as the data sets store them: [M, H, W] or [M, C, H, W], uint8 or in [0, 1].
      baselines = fs::path(spec.path).extension() == ".npy" ? igx::read_image_npy(spec.path).images
                                                            : igx::read_tensor(spec.path);
    }
    baseline_count = baselines.size(spec.kind == BaselinesSpec::Kind::Noise ? 1 : 0);
    baseline_description = describe_baselines(spec, baseline_count, flags.seed);
    distribution = attribute_against(classifier.model(), pixels, baselines.to(device), options, flags);
    attribution = distribution.attribution;
  } else {
    attribution = igx::attribute(classifier.model(), pixels, method_of(flags), options);
  }
  igx::RunDescription run = describe_run(flags, classifier.config().name, baseline_description, timer.seconds());
  if (!flags.baselines.empty()) run.method = distribution_method_label(flags);

  std::cout << igx::summarize(attribution, run, predictions, flags.top);
  nlohmann::json json = igx::attribution_to_json(attribution, run, predictions);
  if (!flags.baselines.empty()) report_distribution(distribution, baseline_count, json);
  for (size_t b = 0; b < flags.images.size(); ++b) {
    const igx::ExampleReport& report = attribution.examples[b];
    const int64_t predicted = predictions[b].item<int64_t>();
    igx::HeatmapOptions heatmap;
    char title[160];
    std::snprintf(title, sizeof title, "pred %s (p=%.2f) target %s  delta=%.1e", classifier.config().label(predicted).c_str(),
                  probabilities[b][predicted].item<double>(), classifier.config().label(report.target).c_str(),
                  report.delta);
    heatmap.title = title;
    const torch::Tensor grey = pixels[b].mean(0);
    const torch::Tensor per_pixel = attribution.values[b].sum(0);
    igx::write_attribution_heatmap(heatmap_paths[b], igx::array_from_tensor(grey), igx::array_from_tensor(per_pixel),
                                   heatmap);
    json["examples"][b]["image"] = flags.images[b];
    json["examples"][b]["prediction_label"] = classifier.config().label(predicted);
    json["examples"][b]["probability"] = probabilities[b][predicted].item<double>();
    json["examples"][b]["heatmap"] = heatmap_paths[b];
    std::cout << "wrote " << heatmap_paths[b] << "\n";
  }
  write_text_file(json_path, json.dump(2) + "\n");
  std::cout << "wrote " << json_path << "\n";
  if (!npy_path.empty()) {
    igx::write_tensor_npy(npy_path, attribution.values);
    std::cout << "wrote " << npy_path << "\n";
  }
}

igx::Baseline parse_tensor_baseline(const std::string& text, bool single) {
  if (text == "auto" || text == "zero" || text == "0") return igx::Baseline::zero();
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return igx::Baseline::scalar(value);
  } catch (const std::exception&) {
  }
  if (!fs::exists(text)) {
    throw igx::Error("--baseline '" + text + "' is neither zero, a number, nor an existing .npy/.json file");
  }
  const torch::Tensor tensor = igx::read_tensor(text);
  return igx::Baseline::tensor(single ? tensor.unsqueeze(0) : tensor);
}

void explain_tensor(const ExplainFlags& flags, torch::Device device) {
  if (flags.model.empty()) throw igx::Error("--input needs --model FILE.pt (a TorchScript model)");
  OutputFiles files(flags.out_dir, flags.force);
  if (!flags.json.empty()) files.check_writable(flags.json, "--out");
  if (!flags.npy.empty()) files.check_writable(flags.npy, "--npy");
  auto model = igx::TorchScriptModel::load(flags.model, flags.entry, device);
  torch::Tensor inputs = igx::read_tensor(flags.input);
  if (flags.single) inputs = inputs.unsqueeze(0);
  inputs = inputs.to(device);
  const igx::IgOptions options = common_options(flags).baseline(parse_tensor_baseline(flags.baseline, flags.single));

  const Timer timer;
  igx::Attribution attribution;
  DistributionResult distribution;
  std::string baseline_description = flags.baseline == "auto" ? "zero" : flags.baseline;
  int64_t baseline_count = 0;
  if (!flags.baselines.empty()) {
    const BaselinesSpec spec = parse_baselines(flags.baselines);
    if (spec.kind == BaselinesSpec::Kind::Train) {
      throw igx::Error("--baselines train:N draws from an image bundle's training data; with --input give a FILE "
                       "of baselines [M, ...] or noise:N[:SIGMA]");
    }
    const torch::Tensor baselines = spec.kind == BaselinesSpec::Kind::Noise ? noise_around(inputs, spec, flags.seed, false)
                                                                            : igx::read_tensor(spec.path).to(device);
    baseline_count = baselines.size(baselines.dim() > inputs.dim() ? 1 : 0);
    baseline_description = describe_baselines(spec, baseline_count, flags.seed);
    distribution = attribute_against(*model, inputs, baselines, options, flags);
    attribution = distribution.attribution;
  } else {
    attribution = igx::attribute(*model, inputs, method_of(flags), options);
  }
  igx::RunDescription run = describe_run(flags, flags.model, baseline_description, timer.seconds());
  if (!flags.baselines.empty()) run.method = distribution_method_label(flags);
  // With the predicted class as target the engine already knows the prediction.
  torch::Tensor predictions = torch::empty({static_cast<int64_t>(attribution.examples.size())}, torch::kLong);
  if (options.target().is_predicted()) {
    for (size_t b = 0; b < attribution.examples.size(); ++b) predictions[b] = attribution.examples[b].target;
  } else {
    predictions = igx::predict(*model, inputs, flags.batch_size);
  }
  std::cout << igx::summarize(attribution, run, predictions, flags.top);
  nlohmann::json json = igx::attribution_to_json(attribution, run, predictions);
  if (!flags.baselines.empty()) report_distribution(distribution, baseline_count, json);
  if (!flags.json.empty()) {
    write_text_file(flags.json, json.dump(2) + "\n");
    std::cout << "wrote " << flags.json << "\n";
  }
  if (!flags.npy.empty()) {
    igx::write_tensor_npy(flags.npy, attribution.values);
    std::cout << "wrote " << flags.npy << "\n";
  }
}

void run(const ExplainFlags& flags) {
  const int sources = !flags.texts.empty() + !flags.images.empty() + !flags.input.empty();
  if (sources != 1) {
    throw igx::Error(std::string(sources == 0 ? "nothing to explain" : "several kinds of input given") +
                     "; expected one of: \"TEXT\" ..., --image FILE ..., or --input FILE with --model FILE.pt");
  }
  check_distribution_flags(flags);
  igx::set_num_threads(flags.threads);
  const torch::Device device = igx::parse_device(flags.device);
  const bool text_only = is_dig(flags.method) || flags.method == "sig";
  if (text_only && flags.texts.empty()) {
    throw igx::Error("--method " + flags.method + " explains texts (paths through word embeddings); give \"TEXT\" ...");
  }
  if (!flags.texts.empty()) return explain_texts(flags, device);
  if (!flags.images.empty()) return explain_images(flags, device);
  explain_tensor(flags, device);
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
  command->add_option("texts", flags->texts, "Texts to explain (one example each)")->type_name("TEXT");
  command->add_option("--image", flags->images, "Images to explain (PNG, PGM, PPM, JPEG, BMP)")->type_name("FILE");
  command->add_option("-i,--input", flags->input, "Tensor batch [B, ...] as .npy or .json")->type_name("FILE");
  command->add_option("-m,--model", flags->model,
                      "Bundle name (spam-transformer, mnist-cnn) or folder; a .pt file with --input. "
                      "Default: spam-transformer for text, mnist-cnn for images")
      ->type_name("MODEL");
  command->add_option("--entry", flags->entry, "With --input: exported method of the .pt model to explain")
      ->capture_default_str()->type_name("NAME");
  command->add_flag("--single", flags->single, "With --input: the file is one example without a batch dimension");
  command->add_option("-b,--baseline", flags->baseline,
                      "Baseline x'. Text: pad|mask|unk|zero (auto = pad; sig: mask). Image: black|blur[:SIGMA]|noise[:SEED] "
                      "(auto = black). Tensor: zero|VALUE|FILE (auto = zero)")
      ->capture_default_str()->type_name("SPEC");
  command->add_option("--baselines", flags->baselines,
                      "Image, tensor: a distribution of baselines instead of one (Lundstrom et al. 2022): FILE "
                      "(.npy/.json, [M, ...]), train:N (N training images, mnist-cnn; needs scripts/fetch_data.sh) or "
                      "noise:N[:SIGMA] (N Gaussian baselines around each input, SIGMA 0.5, images clipped to [0, 1]); "
                      "distribution IG, complete in expectation: sum = F(x) - mean F(X')")
      ->type_name("SPEC");
  command->add_option("--expected-gradients", flags->expected_gradients,
                      "With --baselines: Expected Gradients with S samples (random baseline and alpha each), "
                      "with standard errors; 0 = the deterministic average")
      ->capture_default_str()->type_name("S")->check(CLI::NonNegativeNumber);
  command->add_option("--seed", flags->seed, "Seed of train:N, noise:N and --expected-gradients draws")
      ->capture_default_str()->type_name("N");
  command->add_option("-t,--target", flags->target, "Class to explain: pred (the predicted one), K, or K1,K2,... per example")
      ->capture_default_str()->type_name("pred|K|LIST");
  command->add_option("--output", flags->output, "Explained output: logit, prob (softmax) or logprob")
      ->capture_default_str()->type_name("KIND");
  command->add_option("--method", flags->method,
                      "IG with a quadrature rule (riemann_left, riemann_right, riemann_middle, "
                      "riemann_trapezoid, gausslegendre), or saliency, inputxgradient; texts also: "
                      "dig-greedy, dig-maxcount (Discretized IG), sig (Sequential IG)")
      ->capture_default_str()->type_name("NAME");
  command->add_option("-n,--steps", flags->steps, "Fixed integration steps (IG); without it igx integrates adaptively")
      ->capture_default_str()->type_name("N")->check(CLI::PositiveNumber);
  command->add_option("--strategy", flags->strategy,
                      "adaptive (Simpson panels refined where the exact interval error is), doubling (n, 2n, ... "
                      "nested nodes), fixed; auto = adaptive unless --steps or an IG --method is given")
      ->capture_default_str()->type_name("NAME");
  command->add_option("--tolerance", flags->tolerance, "Relative completeness error to certify (adaptive, doubling)")
      ->capture_default_str()->type_name("TOL")->check(CLI::PositiveNumber);
  command->add_option("--certify", flags->certify,
                      "adaptive: what must be within --tolerance: panels (the sum of the Simpson panels' exact "
                      "|errors|, a bound on |delta| that does not count on cancellation) or completeness (|delta| "
                      "itself, as doubling certifies; cheaper)")
      ->capture_default_str()->type_name("WHAT");
  command->add_option("--max-steps", flags->max_steps, "Most gradient evaluations per example (adaptive, doubling)")
      ->capture_default_str()->type_name("N")->check(CLI::PositiveNumber);
  command->add_option("--batch-size", flags->batch_size, "Most rows per forward+backward (bounds memory); 0 = no bound")
      ->capture_default_str()->type_name("B")->check(CLI::NonNegativeNumber);
  command->add_option("--anchors", flags->anchors, "DIG: anchor words per token (m)")
      ->capture_default_str()->type_name("M")->check(CLI::PositiveNumber);
  command->add_option("--neighbours", flags->neighbours, "DIG: nearest vocabulary words searched per anchor (K)")
      ->capture_default_str()->type_name("K")->check(CLI::PositiveNumber);
  command->add_option("--upscale", flags->upscale, "DIG: sub-intervals per anchor interval (1 = the anchors only)")
      ->capture_default_str()->type_name("U")->check(CLI::PositiveNumber);
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")
      ->capture_default_str()->type_name("T")->check(CLI::NonNegativeNumber);
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Folder for the text and image reports (made by igx)")
      ->capture_default_str()->type_name("DIR");
  command->add_option("-o,--out", flags->json, "JSON result file (text, image: default OUT-DIR/explanation.json)")
      ->type_name("FILE");
  command->add_option("--html", flags->html, "Text: HTML token heat-map (default OUT-DIR/explanation.html)")
      ->type_name("FILE");
  command->add_option("--heatmap", flags->heatmap, "Image: heat-map PNG (default OUT-DIR/heatmap-NAME.png)")
      ->type_name("FILE");
  command->add_option("--npy", flags->npy, "Write the attributions [B, ...] as .npy here")->type_name("FILE");
  command->add_flag("--words", flags->words, "Text: sum ## pieces into words");
  command->add_flag("--no-color", flags->no_colour, "Text: no colours on the terminal (also when NO_COLOR is set)");
  command->add_option("--top", flags->top, "Features listed per example on the terminal")
      ->capture_default_str()->type_name("K")->check(CLI::NonNegativeNumber);
  command->add_flag("-f,--force", flags->force, "Overwrite output files that exist");
  return [flags, command] {
    flags->steps_given = command->count("--steps") > 0;
    flags->method_given = command->count("--method") > 0;
    run(*flags);
  };
}

}  // namespace igx_cli
