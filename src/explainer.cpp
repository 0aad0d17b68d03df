#include "igx/explainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "igx/attribute.h"
#include "igx/bundle.h"
#include "igx/datasets.h"
#include "igx/distribution.h"
#include "igx/error.h"
#include "igx/layer.h"
#include "igx/tensor_checks.h"
#include "igx/tensor_io.h"

namespace igx {
namespace {

namespace fs = std::filesystem;

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}
bool is_ig_rule(const std::string& method) { return contains(rule_names(), method); }
bool is_dig(const std::string& method) { return method == "dig-greedy" || method == "dig-maxcount"; }
bool is_layer_method(const std::string& method) { return contains(layer_method_names(), method); }
// Methods that integrate along a straight path with a rule or a strategy.
bool integrates(const std::string& method) { return is_ig_rule(method) || method == "sig"; }

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// What the options of a request resolve to, before any input is read.
struct Plan {
  std::string method;
  bool method_given = false;
  Strategy strategy = Strategy::Fixed;
  bool distribution = false;  // baselines by spec or tensor
  int64_t expected_gradients = 0;
};

// Error-controlled integration is the default; --steps or an IG rule in --method ask for fixed
// steps instead. Methods that do not integrate along a refinable path are fixed.
Strategy strategy_of(const ExplainOptions& options, const std::string& method) {
  if (!integrates(method)) return Strategy::Fixed;
  if (options.strategy && *options.strategy != "auto") return parse_strategy(*options.strategy);
  return options.steps || (options.method && is_ig_rule(*options.method)) ? Strategy::Fixed
                                                                          : Strategy::IntervalAdaptive;
}

[[noreturn]] void does_not_apply(const std::string& option, const std::string& why) {
  throw Error("--" + option + " does not apply here: " + why);
}

// Checks the method against the modality and every set option against the method; an option
// that would be ignored is an error.
Plan plan_request(const ExplainOptions& options, Modality modality, bool baselines_tensor) {
  Plan plan;
  plan.method_given = options.method.has_value();
  std::string method = options.method.value_or("gausslegendre");
  if (!plan.method_given && options.strategy && *options.strategy == "doubling") method = "riemann_right";
  plan.method = method;
  if ((is_dig(method) || method == "sig") && modality != Modality::Text) {
    throw Error("--method " + method + " explains texts (paths through word embeddings), not " + modality_name(modality) +
                "s; give texts");
  }
  if (is_layer_method(method) && modality != Modality::Image) {
    throw Error("--method " + method + " attributes to the layers of image bundles, not to " + modality_name(modality) +
                "s; give images");
  }
  plan.strategy = strategy_of(options, method);
  plan.distribution = options.baselines.has_value() || baselines_tensor;
  plan.expected_gradients = options.expected_gradients.value_or(0);
  const std::string named = "--method " + method;

  if (options.strategy && *options.strategy != "auto" && !integrates(method)) {
    does_not_apply("strategy", named + " does not integrate along a refinable path");
  }
  if (plan.strategy == Strategy::IntervalAdaptive && plan.method_given && is_ig_rule(method)) {
    throw Error("--method " + method + " sets the rule of fixed steps or doubling; the adaptive strategy "
                "integrates with Simpson panels (drop --method, or add --strategy fixed|doubling)");
  }
  if (plan.expected_gradients > 0) {
    if (!plan.distribution) throw Error("--expected-gradients needs --baselines FILE|train:N|noise:N");
    for (const auto& [given, name] : {std::pair{options.steps.has_value(), "steps"},
                                      std::pair{options.strategy.has_value(), "strategy"},
                                      std::pair{options.tolerance.has_value(), "tolerance"},
                                      std::pair{options.max_steps.has_value(), "max-steps"},
                                      std::pair{options.certify.has_value(), "certify"},
                                      std::pair{options.initial_intervals.has_value(), "initial-intervals"}}) {
      if (given) does_not_apply(name, "--expected-gradients draws its own samples (random baseline and alpha each)");
    }
  }
  if (options.steps) {
    if (!integrates(method) && !is_layer_method(method)) does_not_apply("steps", named + " takes no integration steps");
    if (plan.strategy != Strategy::Fixed) {
      does_not_apply("steps", "--strategy " + strategy_name(plan.strategy) + " chooses the steps itself (to --tolerance)");
    }
  }
  if (plan.strategy == Strategy::Fixed || plan.expected_gradients > 0) {
    const std::string why = integrates(method) ? "fixed steps certify nothing (drop --steps or the IG --method)"
                                               : named + " is not integrated to a tolerance";
    if (options.tolerance) does_not_apply("tolerance", why);
    if (options.max_steps) does_not_apply("max-steps", why);
  }
  if (plan.strategy != Strategy::IntervalAdaptive) {
    const std::string why = "it sets the adaptive strategy's Simpson panels";
    if (options.certify) does_not_apply("certify", why);
    if (options.initial_intervals) does_not_apply("initial-intervals", why);
  }
  if (!is_dig(method)) {
    for (const auto& [given, name] : {std::pair{options.anchors.has_value(), "anchors"},
                                      std::pair{options.neighbours.has_value(), "neighbours"},
                                      std::pair{options.upscale.has_value(), "upscale"}}) {
      if (given) does_not_apply(name, "it sets DIG's paths (--method dig-greedy|dig-maxcount)");
    }
  }
  if (plan.distribution) {
    if (modality == Modality::Text) {
      throw Error("--baselines applies to --image and --input; texts take one baseline (--baseline pad|mask|unk|zero)");
    }
    if (options.baseline && *options.baseline != "auto") {
      throw Error("--baseline " + *options.baseline + " and --baselines " + options.baselines.value_or("(a tensor)") +
                  " both name the baseline; give one of them");
    }
    if (!is_ig_rule(method)) {
      throw Error("--baselines averages IG over a distribution of baselines; --method " + method +
                  " does not take them (use an IG rule, or no --method)");
    }
  }
  if (options.baseline && *options.baseline != "auto" && (method == "saliency" || method == "inputxgradient")) {
    does_not_apply("baseline", named + (method == "saliency" ? " takes no baseline" : " starts from zero"));
  }
  const bool drawn = plan.expected_gradients > 0 ||
                     (options.baselines && BaselinesSpec::parse(*options.baselines).kind != BaselinesSpec::Kind::File);
  if (options.seed && !drawn) does_not_apply("seed", "it seeds --baselines train:N|noise:N and --expected-gradients");
  if (options.words && modality != Modality::Text) does_not_apply("words", "it sums word pieces of texts");
  if (options.layer && !is_layer_method(method)) does_not_apply("layer", named + " attributes to the input");
  if (options.patch && method != "patch") does_not_apply("patch", "it is the input patch of --method patch");
  if (options.neuron && method != "neuron-conductance") {
    does_not_apply("neuron", "it names the neurons of --method neuron-conductance");
  }
  if (method == "patch" && !options.patch) throw Error("--method patch needs --patch x0,y0,x1,y1");
  if (method == "neuron-conductance" && !options.neuron) {
    throw Error("--method neuron-conductance needs --neuron J (a flat index into the layer)");
  }
  return plan;
}

IgOptions ig_options_of(const ExplainOptions& options, const Plan& plan) {
  IgOptions ig = IgOptions()
                     .n_steps(options.steps.value_or(50))
                     .strategy(plan.strategy)
                     .tolerance(options.tolerance.value_or(0.01))
                     .certify(parse_certify(options.certify.value_or("panels")))
                     .max_steps(options.max_steps.value_or(4096))
                     .target(parse_target(options.target.value_or("pred")))
                     .output(parse_output_kind(options.output.value_or("logit")))
                     .internal_batch_size(options.batch_size.value_or(256));
  // SIG integrates with the options' own rule: Gauss-Legendre for fixed steps, and the nested
  // right-Riemann rule for doubling (IG methods name their rule instead).
  if (plan.strategy == Strategy::Doubling) ig.method(Rule::RiemannRight);
  // A token's own path is short and smooth: one Simpson panel, whose completeness error is
  // exact, refined only where needed, costs a third of the usual four (docs/faithfulness.md).
  if (plan.method == "sig") ig.initial_intervals(1);
  if (options.initial_intervals) ig.initial_intervals(*options.initial_intervals);
  if (is_ig_rule(plan.method)) ig.method(parse_rule(plan.method));
  return ig;
}

// The method as the record names it: "ig adaptive (tolerance 0.01)", "dig greedy (m=30, ...)".
std::string method_label(const ExplainOptions& options, const Plan& plan, const DigOptions& dig) {
  const std::string& method = plan.method;
  if (plan.expected_gradients > 0) {
    return "expected gradients (" + std::to_string(plan.expected_gradients) + " samples, seed " +
           std::to_string(options.seed.value_or(0)) + ")";
  }
  if (method == "saliency" || method == "inputxgradient") return method;
  if (is_dig(method)) {
    return "dig " + method.substr(4) + " (m=" + std::to_string(dig.anchors()) + ", K=" + std::to_string(dig.neighbours()) +
           ", upscale " + std::to_string(dig.upscale()) + ")";
  }
  const std::string tolerance = std::to_string(options.tolerance.value_or(0.01)).substr(0, 6);
  const std::string family = method == "sig" ? "sig" : "ig";
  std::string label;
  switch (plan.strategy) {
    case Strategy::IntervalAdaptive:
      label = family + " adaptive (tolerance " + tolerance + ")";
      break;
    case Strategy::Doubling:
      label = family + " doubling " + (method == "sig" ? "riemann_right" : method) + " (tolerance " + tolerance + ")";
      break;
    case Strategy::Fixed:
      label = method == "sig" ? "sig gausslegendre" : "ig " + method;
      break;
  }
  return plan.distribution ? "distribution " + label : label;
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
torch::Tensor training_images(const std::string& bundle, const BaselinesSpec& spec, uint64_t seed) {
  if (bundle != "mnist-cnn") {
    throw Error("--baselines train:N knows the training data of mnist-cnn only, not of '" + bundle +
                "'; give a FILE of baselines or noise:N instead");
  }
  const fs::path file = fs::path(find_data_directory()) / "mnist" / "train.npy";
  if (!fs::exists(file)) {
    throw Error("--baselines train:" + std::to_string(spec.count) + " draws from mnist-cnn's training images, but '" +
                file.string() + "' is missing; run `bash scripts/fetch_data.sh` first (or use FILE or noise:N)");
  }
  const ImageDataset data = read_mnist_split(find_data_directory(), "train");
  if (spec.count > data.size()) {
    throw Error("--baselines train:" + std::to_string(spec.count) + " asks for more images than the " +
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
    case BaselinesSpec::Kind::Noise:
      return "distribution: " + std::to_string(count) + " Gaussian around the input (sigma " + number(spec.sigma) +
             ", seed " + std::to_string(seed) + ")";
    case BaselinesSpec::Kind::File:
      break;
  }
  return "distribution: " + std::to_string(count) + " from " + spec.path;
}

void require_file_allowed(const ExplainRequest& request, const std::string& option, const std::string& path) {
  if (!request.allow_files) {
    throw Error("--" + option + " names a file ('" + path + "'), and this service reads no files for requests; "
                "send the values instead");
  }
}

// The distribution of baselines of an image or tensor request: [M, ...] or [B, M, ...].
torch::Tensor distribution_baselines(const ExplainRequest& request, const torch::Tensor& inputs, Modality modality,
                                     const std::string& bundle, std::string& description) {
  const ExplainOptions& options = request.options;
  const uint64_t seed = options.seed.value_or(0);
  if (request.baselines.defined()) {
    const torch::Tensor baselines = request.baselines.to(inputs.device());
    const int64_t count = baselines.size(baselines.dim() > inputs.dim() ? 1 : 0);
    description = "distribution: " + std::to_string(count) + " given";
    return baselines;
  }
  const BaselinesSpec spec = BaselinesSpec::parse(*options.baselines);
  torch::Tensor baselines;
  if (spec.kind == BaselinesSpec::Kind::Train) {
    if (modality != Modality::Image) {
      throw Error("--baselines train:N draws from an image bundle's training data; with --input give a FILE of "
                  "baselines [M, ...] or noise:N[:SIGMA]");
    }
    baselines = training_images(bundle, spec, seed);
  } else if (spec.kind == BaselinesSpec::Kind::Noise) {
    baselines = noise_around(inputs, spec, seed, modality == Modality::Image);
  } else {
    require_file_allowed(request, "baselines", spec.path);
    if (!fs::exists(spec.path)) {
      throw Error("--baselines '" + spec.path + "' is not an existing file; expected FILE (.npy or .json), train:N or "
                  "noise:N[:SIGMA]");
    }
    // Image stacks as the data sets store them: [M, H, W] or [M, C, H, W], uint8 or in [0, 1].
    baselines = modality == Modality::Image && fs::path(spec.path).extension() == ".npy"
                    ? read_image_npy(spec.path).images
                    : read_tensor(spec.path);
  }
  baselines = baselines.to(inputs.device());
  const int64_t count = baselines.size(spec.kind == BaselinesSpec::Kind::Noise || baselines.dim() > inputs.dim() ? 1 : 0);
  description = describe_baselines(spec, count, seed);
  return baselines;
}

// Tensor models: zero, a number everywhere, or a file.
Baseline tensor_baseline(const ExplainRequest& request) {
  if (request.baseline.defined()) return Baseline::tensor(request.baseline);
  const std::string text = request.options.baseline.value_or("auto");
  if (text == "auto" || text == "zero" || text == "0") return Baseline::zero();
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return Baseline::scalar(value);
  } catch (const std::exception&) {
  }
  require_file_allowed(request, "baseline", text);
  if (!fs::exists(text)) {
    throw Error("--baseline '" + text + "' is neither zero, a number, nor an existing .npy/.json file");
  }
  return Baseline::tensor(read_tensor(text));
}

size_t example_count(const ExplainRequest& request, Modality modality) {
  switch (modality) {
    case Modality::Text:
      return request.texts.size();
    case Modality::Image:
      return request.images.defined() ? static_cast<size_t>(request.images.size(0)) : request.image_paths.size();
    case Modality::Tensor:
      return request.inputs.defined() && request.inputs.dim() > 0 ? static_cast<size_t>(request.inputs.size(0)) : 0;
  }
  return 0;
}

// The request carries the inputs of the explainer's modality, and only those.
void check_inputs(const ExplainRequest& request, Modality modality, const std::string& name) {
  const bool texts = !request.texts.empty(), images = !request.image_paths.empty() || request.images.defined(),
             tensors = request.inputs.defined();
  const std::string expected = modality == Modality::Text    ? "texts"
                               : modality == Modality::Image ? "images (files or a [B, C, H, W] tensor)"
                                                             : "a tensor batch [B, ...]";
  if ((texts && modality != Modality::Text) || (images && modality != Modality::Image) ||
      (tensors && modality != Modality::Tensor)) {
    throw Error("model '" + name + "' explains " + expected + "; the request has " +
                (texts ? "texts" : images ? "images" : "a tensor"));
  }
  if (!request.image_paths.empty() && request.images.defined()) {
    throw Error("the request has both image files and an image tensor; give one of them");
  }
  const size_t count = example_count(request, modality);
  if (count == 0) throw Error("nothing to explain; expected " + expected);
  if (!request.ids.empty() && request.ids.size() != count) {
    throw Error("the request has " + std::to_string(request.ids.size()) + " ids for " + std::to_string(count) +
                " examples; expected one id per example, or none");
  }
  if (modality == Modality::Text && (request.baseline.defined() || request.baselines.defined())) {
    throw Error("texts take a baseline by name (--baseline pad|mask|unk|zero), not a tensor");
  }
  if (request.baseline.defined() && request.options.baseline && *request.options.baseline != "auto") {
    throw Error("the request has a baseline tensor and --baseline " + *request.options.baseline + "; give one of them");
  }
  if (request.baselines.defined() && request.options.baselines) {
    throw Error("the request has a tensor of baselines and --baselines " + *request.options.baselines +
                "; give one of them");
  }
  if (request.baseline.defined() && request.baselines.defined()) {
    throw Error("the request has a baseline tensor and a tensor of baselines; give one of them");
  }
}

torch::Tensor image_tensor(const ExplainRequest& request, ImageClassifier& classifier) {
  if (!request.image_paths.empty()) {
    std::vector<torch::Tensor> pictures;
    for (const std::string& path : request.image_paths) pictures.push_back(classifier.read_image(path));
    return torch::cat(pictures);
  }
  const torch::Tensor& images = request.images;
  std::vector<int64_t> expected = {images.dim() > 0 ? images.size(0) : 0};
  for (int64_t size : classifier.input_shape()) expected.push_back(size);
  if (images.sizes().vec() != expected) {
    throw Error("images have shape " + shape_string(images) + "; model " + classifier.config().name + " expects " +
                shape_string(expected) + " (pixels in [0, 1])");
  }
  require_floating(images, "images");
  require_finite(images, "images");
  if (images.min().item<double>() < 0.0 || images.max().item<double>() > 1.0) {
    throw Error("images have values outside [0, 1]; expected pixels in [0, 1]");
  }
  return images;
}

// Requests that can run as one engine call have equal keys; "" for a request that runs alone
// (tensor baselines, or random draws over the batch, which joining would change).
std::string join_key(const ExplainRequest& request) {
  const ExplainOptions& options = request.options;
  if (request.baseline.defined() || request.baselines.defined()) return "";
  if (options.expected_gradients.value_or(0) > 0) return "";
  if (options.baselines && BaselinesSpec::parse(*options.baselines).kind == BaselinesSpec::Kind::Noise) return "";
  if (options.baseline && options.baseline->rfind("noise", 0) == 0) return "";
  nlohmann::json key = to_json(options);
  // A class per example joins by concatenation; the other targets must agree.
  if (options.target && options.target->find(',') != std::string::npos) key["target"] = "per example";
  key["allow_files"] = request.allow_files;
  key["ids"] = !request.ids.empty();
  if (!request.texts.empty()) key["inputs"] = "texts";
  if (!request.image_paths.empty()) key["inputs"] = "image files";
  for (const torch::Tensor& tensor : {request.images, request.inputs}) {
    if (tensor.defined() && tensor.dim() > 0) {
      key["inputs"] = {toString(tensor.scalar_type()), tensor.sizes().slice(1).vec(), tensor.device().str()};
    }
  }
  return key.dump();
}

// The requests as one: inputs and ids concatenated, per-example classes too.
ExplainRequest joined(const std::vector<const ExplainRequest*>& requests) {
  ExplainRequest joint = *requests.front();
  joint.texts.clear();
  joint.image_paths.clear();
  joint.ids.clear();
  std::vector<torch::Tensor> images, inputs;
  std::string targets;
  for (const ExplainRequest* request : requests) {
    joint.texts.insert(joint.texts.end(), request->texts.begin(), request->texts.end());
    joint.image_paths.insert(joint.image_paths.end(), request->image_paths.begin(), request->image_paths.end());
    joint.ids.insert(joint.ids.end(), request->ids.begin(), request->ids.end());
    if (request->images.defined()) images.push_back(request->images);
    if (request->inputs.defined()) inputs.push_back(request->inputs);
    if (request->options.target) targets += (targets.empty() ? "" : ",") + *request->options.target;
  }
  if (!images.empty()) joint.images = torch::cat(images);
  if (!inputs.empty()) joint.inputs = torch::cat(inputs);
  if (joint.options.target && joint.options.target->find(',') != std::string::npos) joint.options.target = targets;
  return joint;
}

}  // namespace

std::vector<Explanation> Explainer::explain_batch(const std::vector<ExplainRequest>& requests) {
  std::vector<Explanation> explanations(requests.size());
  std::map<std::string, std::vector<size_t>> groups;
  std::vector<size_t> alone;
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::string key = join_key(requests[r]);
    if (key.empty()) {
      alone.push_back(r);
    } else {
      groups[key].push_back(r);
    }
  }
  for (size_t r : alone) explanations[r] = explain(requests[r]);
  for (const auto& [key, members] : groups) {
    if (members.size() == 1) {
      explanations[members[0]] = explain(requests[members[0]]);
      continue;
    }
    std::vector<const ExplainRequest*> parts;
    for (size_t r : members) parts.push_back(&requests[r]);
    const Explanation joint = explain(joined(parts));
    size_t begin = 0;
    for (size_t r : members) {
      const size_t count = example_count(requests[r], modality_);
      explanations[r] = select_examples(joint, begin, count);
      begin += count;
    }
  }
  return explanations;
}

std::string default_model(Modality modality) {
  switch (modality) {
    case Modality::Text:
      return "spam-transformer";
    case Modality::Image:
      return "mnist-cnn";
    case Modality::Tensor:
      break;
  }
  throw Error("tensor inputs need a model: a TorchScript file (--model FILE.pt)");
}

std::shared_ptr<Explainer> Explainer::load(const std::string& model, const LoadOptions& options) {
  std::shared_ptr<Explainer> explainer(new Explainer());
  explainer->device_ = options.device();
  const bool file = fs::is_regular_file(model) || fs::path(model).extension() == ".pt";
  if (file) {
    explainer->modality_ = Modality::Tensor;
    explainer->name_ = model;
    explainer->tensor_model_ = TorchScriptModel::load(model, options.entry(), options.device());
    return explainer;
  }
  const std::string directory = find_bundle(model);
  const BundleConfig config = load_bundle_config(directory);
  if (options.entry() != "forward") {
    throw Error("--entry " + options.entry() + " applies to TorchScript files; bundle '" + config.name +
                "' names its methods in igx.json");
  }
  explainer->name_ = config.name;
  if (config.task == "text") {
    explainer->modality_ = Modality::Text;
    explainer->text_ = std::make_unique<TextClassifier>(TextClassifier::load(directory, options.device()));
  } else if (config.task == "image") {
    explainer->modality_ = Modality::Image;
    explainer->image_ = std::make_unique<ImageClassifier>(ImageClassifier::load(directory, options.device()));
  } else {
    throw Error("model '" + model + "' is a " + config.task +
                " bundle; igx explains text and image bundles, and TorchScript files on tensors");
  }
  return explainer;
}

std::shared_ptr<Explainer> Explainer::from_model(std::shared_ptr<Model> model, const std::string& name) {
  if (!model) throw Error("Explainer::from_model got no model");
  std::shared_ptr<Explainer> explainer(new Explainer());
  explainer->modality_ = Modality::Tensor;
  explainer->name_ = name;
  explainer->device_ = model->device();
  explainer->tensor_model_ = std::move(model);
  return explainer;
}

std::string Explainer::label(int64_t index) const {
  if (text_) return text_->config().label(index);
  if (image_) return image_->config().label(index);
  return std::to_string(index);
}

TextClassifier& Explainer::text_classifier() {
  if (!text_) throw Error("model '" + name_ + "' is not a text bundle");
  return *text_;
}

ImageClassifier& Explainer::image_classifier() {
  if (!image_) throw Error("model '" + name_ + "' is not an image bundle");
  return *image_;
}

PreparedRequest Explainer::prepare(const ExplainRequest& request) {
  check_inputs(request, modality_, name_);
  const ExplainOptions& options = request.options;
  const Plan plan = plan_request(options, modality_, request.baselines.defined());
  PreparedRequest prepared;
  prepared.modality = modality_;
  prepared.method = plan.method;
  prepared.ig = ig_options_of(options, plan);
  prepared.dig = DigOptions()
                     .anchors(options.anchors.value_or(30))
                     .neighbours(options.neighbours.value_or(500))
                     .upscale(options.upscale.value_or(1));
  prepared.method_label = method_label(options, plan, prepared.dig);
  prepared.expected_gradients = plan.expected_gradients;
  prepared.seed = options.seed.value_or(0);

  if (modality_ == Modality::Text) {
    const std::string name = options.baseline.value_or("auto");
    prepared.text_baseline = parse_text_baseline(name != "auto" ? name : plan.method == "sig" ? "mask" : "pad");
    PreparedTexts texts = prepare_texts(*text_, request.texts, prepared.text_baseline);
    prepared.model = &text_->embedding_model();
    prepared.text = std::move(texts.batch);
    prepared.inputs = texts.inputs;
    prepared.baseline = texts.baselines;
    prepared.extras = texts.extras;
    prepared.probabilities = texts.probabilities;
    prepared.predictions = texts.predictions;
    prepared.baseline_description = text_baseline_name(prepared.text_baseline);
  } else if (modality_ == Modality::Image) {
    const ImageBaseline baseline = request.baseline.defined() ? ImageBaseline{}
                                   : ImageBaseline::parse(options.baseline.value_or("auto") == "auto"
                                                              ? "black"
                                                              : *options.baseline);
    prepared.model = &image_->model();
    prepared.inputs = image_tensor(request, *image_).to(device_);
    prepared.image_names = request.image_paths;
    prepared.image_names.resize(example_count(request, modality_));
    {
      torch::NoGradGuard no_grad;
      prepared.probabilities =
          torch::softmax(image_->model().forward(prepared.inputs, {}), 1).to(torch::kCPU, torch::kDouble);
    }
    const torch::Tensor predictions = prepared.probabilities.argmax(1);
    prepared.predictions.assign(predictions.data_ptr<int64_t>(), predictions.data_ptr<int64_t>() + predictions.numel());
    prepared.baseline = request.baseline.defined() ? Baseline::tensor(request.baseline).resolve(prepared.inputs)
                                                   : image_->baseline(prepared.inputs, baseline);
    prepared.baseline_description =
        request.baseline.defined() ? "tensor " + shape_string(request.baseline) : baseline.describe();
  } else {
    prepared.model = tensor_model_.get();
    prepared.inputs = request.inputs.to(device_);
    prepared.baseline = tensor_baseline(request).resolve(prepared.inputs);
    prepared.baseline_description = request.baseline.defined() ? "tensor " + shape_string(request.baseline)
                                                                : options.baseline.value_or("auto") == "auto"
                                                                      ? "zero"
                                                                      : *options.baseline;
  }
  prepared.ig.baseline(Baseline::tensor(prepared.baseline));
  // Bundles know the predicted class from their forward pass: pass it on as an explicit target.
  if (prepared.ig.target().is_predicted() && !prepared.predictions.empty()) {
    prepared.ig.target(Target::per_example(prepared.predictions));
  }
  if (plan.distribution) {
    prepared.baselines =
        distribution_baselines(request, prepared.inputs, modality_, name_, prepared.baseline_description);
  }
  if (plan.method == "saliency") prepared.baseline_description = "none";
  if (plan.method == "inputxgradient") prepared.baseline_description = "zero";
  if (plan.method == "sig") prepared.baseline_description += " (per token)";
  return prepared;
}

Explanation Explainer::explain(const ExplainRequest& request) {
  PreparedRequest prepared = prepare(request);
  return explain(prepared, request);
}

Explanation Explainer::explain(PreparedRequest& prepared, const ExplainRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const ExplainOptions& options = request.options;
  const std::string& method = prepared.method;
  Explanation explanation;
  explanation.modality = modality_;
  Attribution attribution;
  TextExplanation text;
  std::vector<double> sum_standard_errors;
  std::vector<double> patch_inside;  // patch: sum of input IG inside the patch, per example

  if (modality_ == Modality::Text) {
    PreparedTexts texts;
    texts.batch = prepared.text;
    texts.inputs = prepared.inputs;
    texts.baselines = prepared.baseline;
    texts.extras = prepared.extras;
    texts.probabilities = prepared.probabilities;
    texts.predictions = prepared.predictions;
    texts.baseline = prepared.text_baseline;
    std::unique_lock<std::mutex> lock(dig_mutex_, std::defer_lock);
    if (is_dig(method)) lock.lock();
    text = explain_prepared_texts(*text_, std::move(texts), method, prepared.ig, prepared.dig);
    attribution = std::move(text.attribution);
  } else if (prepared.baselines.defined()) {
    if (prepared.expected_gradients == 0) {
      attribution = distribution_integrated_gradients(*prepared.model, prepared.inputs, prepared.baselines, prepared.ig);
    } else {
      ExpectedGradients sampled = expected_gradients(*prepared.model, prepared.inputs, prepared.baselines,
                                                     ExpectedGradientsOptions()
                                                         .samples(prepared.expected_gradients)
                                                         .seed(prepared.seed)
                                                         .target(prepared.ig.target())
                                                         .output(prepared.ig.output())
                                                         .internal_batch_size(prepared.ig.internal_batch_size()));
      attribution = std::move(sampled.attribution);
      explanation.standard_errors = sampled.standard_error;
      sum_standard_errors = sampled.sum_standard_error;
    }
  } else if (is_layer_method(method)) {
    SplitModel split = image_->split(options.layer.value_or(""));
    explanation.layer = split.layer;
    if (method == "conductance") {
      attribution = layer_conductance(split, prepared.inputs, prepared.ig);
    } else if (method == "internal-influence") {
      attribution = internal_influence(split, prepared.inputs, prepared.ig);
    } else if (method == "layer-ig") {
      attribution = layer_integrated_gradients(split, prepared.inputs, prepared.ig);
    } else if (method == "patch") {
      const std::array<int64_t, 4> r = parse_corners(*options.patch, "--patch");
      const torch::Tensor patch = rectangle_patch(prepared.inputs.sizes().slice(1), r[0], r[1], r[2], r[3]);
      attribution = patch_neuron_attribution(split, prepared.inputs, patch, prepared.ig);
      explanation.patch = *options.patch;
      // The check of DESIGN.md §2: the neurons share out exactly the patch's input attributions.
      const Attribution input_ig = integrated_gradients(*prepared.model, prepared.inputs, prepared.ig);
      const torch::Tensor inside = (input_ig.values.to(torch::kCPU, torch::kDouble) * patch.to(torch::kCPU, torch::kDouble))
                                       .flatten(1)
                                       .sum(1);
      for (size_t b = 0; b < attribution.examples.size(); ++b) {
        patch_inside.push_back(inside[static_cast<int64_t>(b)].item<double>());
      }
    } else {
      explanation.neurons = parse_neurons(*options.neuron);
      attribution = neuron_conductance(split, prepared.inputs, explanation.neurons, prepared.ig);
      torch::NoGradGuard no_grad;
      explanation.layer_shape = split.lower->forward(prepared.inputs.narrow(0, 0, 1), {}).sizes().slice(1).vec();
    }
    if (method != "neuron-conductance") explanation.layer_shape = attribution.values.sizes().slice(1).vec();
  } else {
    attribution = attribute(*prepared.model, prepared.inputs, method, prepared.ig);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Tensor models: with the predicted class as target the engine already knows the prediction.
  if (prepared.predictions.empty()) {
    if (prepared.ig.target().is_predicted()) {
      for (const ExampleReport& report : attribution.examples) prepared.predictions.push_back(report.target);
    } else {
      const torch::Tensor predicted =
          predict(*prepared.model, prepared.inputs, prepared.ig.internal_batch_size()).to(torch::kCPU);
      prepared.predictions.assign(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel());
    }
  }

  explanation.run.model = name_;
  explanation.run.method = is_layer_method(method) ? method + " at " + explanation.layer : prepared.method_label;
  explanation.run.output = output_kind_name(prepared.ig.output());
  explanation.run.baseline = prepared.baseline_description;
  explanation.run.seconds = seconds;
  explanation.attributions = attribution.values;
  explanation.counts = attribution.counts;
  const bool input_shaped = modality_ == Modality::Image && (!is_layer_method(method) || method == "neuron-conductance");
  const torch::Tensor values = attribution.values.detach().to(torch::kCPU, torch::kDouble);
  const torch::Tensor pixels = modality_ == Modality::Image ? prepared.inputs.detach().to(torch::kCPU, torch::kDouble)
                                                            : torch::Tensor();
  for (size_t b = 0; b < attribution.examples.size(); ++b) {
    const int64_t row = static_cast<int64_t>(b);
    ExampleExplanation example;
    example.id = request.ids.empty() ? "" : request.ids[b];
    example.report = attribution.examples[b];
    example.prediction = prepared.predictions[b];
    if (prepared.probabilities.defined()) {
      example.probability = prepared.probabilities[row][example.prediction].item<double>();
      example.prediction_label = label(example.prediction);
      example.target_label = label(example.report.target);
    }
    if (prepared.baselines.defined()) {
      example.baseline_count = prepared.baselines.size(prepared.baselines.dim() > prepared.inputs.dim() ? 1 : 0);
      if (!sum_standard_errors.empty()) example.sum_standard_error = sum_standard_errors[b];
    }
    if (modality_ == Modality::Text) {
      const Encoding& encoding = prepared.text.encodings[b];
      example.text = request.texts[b];
      example.tokens = encoding.tokens;
      example.token_ids = encoding.ids;
      example.truncated = encoding.truncated;
      const int64_t length = static_cast<int64_t>(encoding.ids.size());
      example.token_scores = array_from_tensor(text.token_scores[row].narrow(0, 0, length)).values;
      if (options.words.value_or(false)) example.words = sum_scores_by_word(example.tokens, example.token_scores);
      if (!text.token_reports.empty()) example.token_reports = text.token_reports[b];
      if (!text.anchors.empty()) {
        for (size_t t = 0; t < encoding.tokens.size(); ++t) {
          std::vector<std::string> words;
          for (int64_t word : text.anchors[b][t]) words.push_back(text_->tokenizer().id_to_token(word));
          example.dig_anchors.push_back(std::move(words));
        }
      }
    }
    if (modality_ == Modality::Image) {
      example.image = prepared.image_names[b];
      example.picture = array_from_tensor(pixels[row].mean(0));
      if (input_shaped) example.pixel_attributions = array_from_tensor(values[row].sum(0));
      if (!input_shaped) {
        const torch::Tensor neurons = values[row];
        example.channel_sums = array_from_tensor(neurons.dim() >= 2 ? neurons.flatten(1).sum(1) : neurons).values;
      }
      if (!patch_inside.empty()) example.patch_input_attribution = patch_inside[b];
    }
    explanation.examples.push_back(std::move(example));
  }
  return explanation;
}

}  // namespace igx
