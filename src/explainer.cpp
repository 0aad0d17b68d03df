// The explanation service: loading a model, preparing requests (explain_plan.cpp,
// explain_inputs.cpp), running the method they name and assembling the Explanation.
#include "igx/explainer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include "explain_detail.h"
#include "igx/attribute.h"
#include "igx/bundle.h"
#include "igx/cancellation.h"
#include "igx/distribution.h"
#include "igx/error.h"
#include "igx/integrator.h"
#include "igx/layer.h"
#include "igx/max_entropy.h"
#include "igx/step_comparison.h"
#include "igx/tensor_checks.h"
#include "igx/tensor_io.h"

namespace igx {

using detail::example_count;
using detail::is_dig;
using detail::is_layer_method;

namespace {

namespace fs = std::filesystem;

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

// Texts: the options' baseline, else the method's own (mask for SIG, pad otherwise). A
// maximum-entropy baseline starts from [PAD] (its optimised form ascends from there).
TextBaseline text_baseline_of(const ExplainOptions& options, const detail::Plan& plan) {
  if (detail::max_entropy_form(options)) return TextBaseline::Pad;
  const std::string name = options.baseline.value_or("auto");
  return parse_text_baseline(name != "auto" ? name : plan.method == "sig" ? "mask" : "pad");
}

DigOptions dig_options_of(const ExplainOptions& options) {
  return DigOptions()
      .anchors(options.anchors.value_or(30))
      .neighbours(options.neighbours.value_or(500))
      .upscale(options.upscale.value_or(1))
      .score(parse_anchor_score(options.dig_score.value_or("word")));
}

// Each anchor is a vocabulary word: more anchors than words cannot be chosen (and the memory
// estimate of DIG's paths is made for the anchors actually asked for).
void check_anchors(const DigOptions& dig, const detail::Plan& plan, const TextClassifier& text) {
  const int64_t words = static_cast<int64_t>(text.tokenizer().vocab_size());
  if (is_dig(plan.method) && dig.anchors() > words) {
    throw UsageError("--anchors: expected an integer from 1 to " + std::to_string(words) +
                     " (the vocabulary's words), got " + std::to_string(dig.anchors()));
  }
}

// Images without a baseline tensor: the options' baseline, else black (a maximum-entropy
// baseline is made later, from the inputs).
ImageBaseline image_baseline_of(const ExplainOptions& options) {
  if (detail::max_entropy_form(options)) return ImageBaseline{};
  return ImageBaseline::parse(options.baseline.value_or("auto") == "auto" ? "black" : *options.baseline);
}

// One example's fixed-step comparison: the fixed run's scores and the difference per feature
// (texts: token, images: pixel, tensors: entry) and its concentration.
FixedStepComparison compared_example(const StepComparisonResult& comparison, Modality modality,
                                     const ExampleExplanation& example, int64_t row) {
  FixedStepComparison compared;
  compared.step_count = comparison.step_count.describe();
  compared.report = comparison.fixed.examples.at(static_cast<size_t>(row));
  const torch::Tensor fixed = comparison.fixed.values[row].detach().to(torch::kCPU, torch::kDouble);
  torch::Tensor difference = comparison.difference[row].detach().to(torch::kCPU, torch::kDouble);
  if (modality == Modality::Text) {
    const int64_t length = static_cast<int64_t>(example.tokens.size());
    compared.token_scores = array_from_tensor(fixed.sum(1).narrow(0, 0, length)).values;
    difference = difference.sum(1).narrow(0, 0, length);
  } else if (modality == Modality::Image) {
    compared.pixel_attributions = array_from_tensor(fixed.sum(0));
    difference = difference.sum(0);
  }
  compared.difference = array_from_tensor(difference.flatten()).values;
  compared.concentration = concentration(difference);
  return compared;
}

}  // namespace

std::vector<BatchOutcome> Explainer::explain_batch(const std::vector<ExplainRequest>& requests) {
  std::vector<BatchOutcome> outcomes(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) outcomes[r].group = r;
  const auto explain_alone = [&](size_t r) {
    try {
      outcomes[r].explanation = explain(requests[r]);
    } catch (...) {
      outcomes[r].error = std::current_exception();
    }
  };
  // Requests that fail their own checks, or are cancelled already, never join a group.
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t r = 0; r < requests.size(); ++r) {
    try {
      if (requests[r].cancelled) {
        CancellationGuard guard(requests[r].cancelled);
        throw_if_cancelled();
      }
      check(requests[r]);
    } catch (...) {
      outcomes[r].error = std::current_exception();
      continue;
    }
    const std::string key = join_key(requests[r]);
    if (key.empty()) {
      explain_alone(r);
    } else {
      groups[key].push_back(r);
    }
  }
  for (const auto& [key, members] : groups) {
    if (members.size() == 1) {
      explain_alone(members[0]);
      continue;
    }
    std::vector<const ExplainRequest*> parts;
    for (size_t r : members) parts.push_back(&requests[r]);
    ExplainRequest joint = joined(parts);
    // The joint call is wanted while any of its requests is.
    joint.cancelled = [&requests, &members] {
      return std::all_of(members.begin(), members.end(),
                         [&](size_t r) { return requests[r].cancelled && requests[r].cancelled(); });
    };
    Explanation explanation;
    try {
      explanation = explain(joint);
    } catch (const Cancelled&) {
      for (size_t r : members) outcomes[r].error = std::current_exception();
      continue;
    } catch (...) {
      // Something one request brings that its checks cannot see (a model that fails on its
      // input, say): each runs alone, so that the error stays with the request that caused it.
      for (size_t r : members) explain_alone(r);
      continue;
    }
    size_t begin = 0;
    for (size_t r : members) {
      const size_t count = example_count(requests[r], modality_);
      outcomes[r].group = members.front();
      outcomes[r].explanation = select_examples(explanation, begin, count);
      begin += count;
    }
  }
  return outcomes;
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
  throw UsageError("tensor inputs need a model: a TorchScript file (--model FILE.pt)");
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
    throw UsageError("--entry " + options.entry() + " applies to TorchScript files; bundle '" + config.name +
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
  detail::check_inputs(request, modality_, name_);
  const ExplainOptions& options = request.options;
  const detail::Plan plan = detail::plan_request(options, modality_, request.baselines.defined());
  PreparedRequest prepared;
  prepared.modality = modality_;
  prepared.method = plan.method;
  prepared.ig = detail::ig_options_of(options, plan);
  prepared.dig = dig_options_of(options);
  prepared.method_label = detail::method_label(options, plan, prepared.dig);
  prepared.expected_gradients = plan.expected_gradients;
  prepared.seed = options.seed.value_or(0);

  const std::optional<MaxEntropyForm> max_entropy = detail::max_entropy_form(options);
  if (modality_ == Modality::Text) {
    check_anchors(prepared.dig, plan, *text_);
    prepared.text_baseline = text_baseline_of(options, plan);
    PreparedTexts texts = prepare_texts(*text_, request.texts, prepared.text_baseline);
    prepared.model = &text_->embedding_model();
    prepared.text = std::move(texts.batch);
    prepared.inputs = texts.inputs;
    prepared.baseline = texts.baselines;
    prepared.extras = texts.extras;
    prepared.probabilities = texts.probabilities;
    prepared.predictions = texts.predictions;
    prepared.baseline_description = text_baseline_name(prepared.text_baseline);
    if (max_entropy) detail::use_max_entropy_baseline(prepared, *max_entropy, name_, text_.get(), nullptr);
  } else if (modality_ == Modality::Image) {
    const ImageBaseline baseline = request.baseline.defined() ? ImageBaseline{} : image_baseline_of(options);
    prepared.model = &image_->model();
    prepared.inputs = detail::image_tensor(request, *image_).to(device_);
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
    if (max_entropy) detail::use_max_entropy_baseline(prepared, *max_entropy, name_, nullptr, image_.get());
  } else {
    prepared.model = tensor_model_.get();
    prepared.inputs = request.inputs.to(device_);
    prepared.baseline = detail::tensor_baseline(request).resolve(prepared.inputs);
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
        detail::distribution_baselines(request, prepared.inputs, modality_, name_, prepared.baseline_description);
  }
  if (plan.method == "saliency") prepared.baseline_description = "none";
  if (plan.method == "inputxgradient") prepared.baseline_description = "zero";
  if (plan.method == "sig") prepared.baseline_description += " (per token)";
  return prepared;
}

void Explainer::check(const ExplainRequest& request) {
  detail::check_inputs(request, modality_, name_);
  const ExplainOptions& options = request.options;
  const detail::Plan plan = detail::plan_request(options, modality_, request.baselines.defined());
  const IgOptions ig = detail::ig_options_of(options, plan);
  if (!ig.target().is_predicted()) {
    const torch::Tensor targets = ig.target().resolve(static_cast<int64_t>(example_count(request, modality_)));
    const std::vector<std::string>& labels = text_ ? text_->config().labels : image_ ? image_->config().labels
                                                                                     : std::vector<std::string>{};
    if (!labels.empty()) check_targets(targets, static_cast<int64_t>(labels.size()));
  }
  if (modality_ == Modality::Text) {
    check_anchors(dig_options_of(options), plan, *text_);
    text_baseline_of(options, plan);
    text_->encode(request.texts);
  } else if (modality_ == Modality::Image) {
    if (!request.baseline.defined()) image_baseline_of(options);
    if (request.images.defined()) detail::image_tensor(request, *image_);
  } else {
    detail::tensor_baseline(request);
  }
  if (plan.distribution && !request.baselines.defined()) detail::baselines_spec(request, modality_);
}

Prediction Explainer::predict(const ExplainRequest& request) {
  detail::check_inputs(request, modality_, name_);
  Prediction prediction;
  torch::Tensor outputs;
  if (modality_ == Modality::Text) {
    const TextBatch batch = text_->encode(request.texts);
    outputs = text_->logits(batch.ids, batch.mask);
  } else {
    const torch::Tensor inputs = modality_ == Modality::Image ? detail::image_tensor(request, *image_).to(device_)
                                                              : request.inputs.to(device_);
    Model& model = modality_ == Modality::Image ? image_->model() : *tensor_model_;
    Integrator integrator(model, {}, OutputKind::Logit, request.options.batch_size.value_or(256));
    outputs = integrator.outputs(inputs, torch::arange(inputs.size(0), torch::kLong));
  }
  prediction.outputs = outputs.detach().to(torch::kCPU, torch::kDouble);
  const torch::Tensor classes = Target::predicted().resolve(prediction.outputs.size(0), prediction.outputs);
  prediction.classes.assign(classes.data_ptr<int64_t>(), classes.data_ptr<int64_t>() + classes.numel());
  if (modality_ != Modality::Tensor) {
    prediction.probabilities = torch::softmax(prediction.outputs, 1);
    for (int64_t index : prediction.classes) prediction.labels.push_back(label(index));
  }
  return prediction;
}

Explanation Explainer::explain(const ExplainRequest& request) {
  PreparedRequest prepared = prepare(request);
  return explain(prepared, request);
}

Explanation Explainer::explain(PreparedRequest& prepared, const ExplainRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<CancellationGuard> cancellation;
  if (request.cancelled) cancellation.emplace(request.cancelled);
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

  // --compare-steps: the same IG with a fixed rule and step count, and its difference per feature.
  std::optional<StepComparisonResult> comparison;
  if (options.compare_steps) {
    comparison = compare_steps(*prepared.model, prepared.inputs, prepared.ig, attribution,
                               StepCount::parse(*options.compare_steps), prepared.extras);
  }

  // Tensor models: with the predicted class as target the engine already knows the prediction.
  if (prepared.predictions.empty()) {
    if (prepared.ig.target().is_predicted()) {
      for (const ExampleReport& report : attribution.examples) prepared.predictions.push_back(report.target);
    } else {
      const torch::Tensor predicted =
          igx::predict(*prepared.model, prepared.inputs, prepared.ig.internal_batch_size()).to(torch::kCPU);
      prepared.predictions.assign(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel());
    }
  }

  explanation.run.model = name_;
  explanation.run.method = is_layer_method(method) ? method + " at " + explanation.layer : prepared.method_label;
  explanation.run.output = output_kind_name(prepared.ig.output());
  explanation.run.baseline = prepared.baseline_description;
  explanation.run.seconds = seconds;
  explanation.attributions = attribution.values;
  explanation.attribution_errors = attribution.errors;
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
      if (text.token_errors.defined()) {
        example.token_errors = array_from_tensor(text.token_errors[row].narrow(0, 0, length)).values;
      }
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
    if (!prepared.baseline_entropy.empty()) {
      example.baseline_entropy = prepared.baseline_entropy[b];
      example.max_entropy = prepared.max_entropy;
      example.baseline_source = prepared.baseline_sources.at(b);
    }
    if (comparison) example.step_comparison = compared_example(*comparison, modality_, example, row);
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
