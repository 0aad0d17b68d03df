#include "igx/explanation.h"

#include <algorithm>

#include "igx/error.h"
#include "igx/tensor_io.h"
#include "igx/tokenizer.h"

namespace igx {
namespace {

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

torch::Tensor predictions_of(const Explanation& explanation) {
  std::vector<int64_t> predictions;
  for (const ExampleExplanation& example : explanation.examples) predictions.push_back(example.prediction);
  return torch::tensor(predictions, torch::kLong);
}

// SIG's completeness is per token: gap = F(x) - F(x with the token at the baseline).
nlohmann::json token_completeness(const ExampleExplanation& example) {
  nlohmann::json tokens = nlohmann::json::array();
  for (const TokenReport& token : example.token_reports) {
    const ExampleReport& own = token.report;
    nlohmann::json item = {{"position", token.position},
                           {"token", example.tokens.at(static_cast<size_t>(token.position))},
                           {"attribution_sum", own.attribution_sum},
                           {"output_without_token", own.output_baseline},
                           {"gap", own.output_input - own.output_baseline},
                           {"delta", own.delta},
                           {"steps", own.steps},
                           {"relative_error", optional_number(own.relative_error)}};
    if (own.certified) item["certified"] = *own.certified;
    tokens.push_back(std::move(item));
  }
  return tokens;
}

void add_example_fields(nlohmann::json& entry, const ExampleExplanation& example, const Explanation& explanation,
                        size_t b) {
  if (!example.id.empty()) entry["id"] = example.id;
  entry["prediction"] = example.prediction;
  if (example.probability) {
    entry["probability"] = *example.probability;
    entry["prediction_label"] = example.prediction_label;
    entry["target_label"] = example.target_label;
  }
  if (explanation.modality == Modality::Text) {
    entry["text"] = example.text;
    entry["tokens"] = example.tokens;
    entry["token_ids"] = example.token_ids;
    entry["token_scores"] = example.token_scores;
    if (!example.token_errors.empty()) entry["token_errors"] = example.token_errors;
    entry["truncated"] = example.truncated;
    if (!example.words.words.empty()) entry["words"] = {{"words", example.words.words}, {"scores", example.words.scores}};
    if (!example.token_reports.empty()) entry["token_completeness"] = token_completeness(example);
    if (!example.dig_anchors.empty()) {
      nlohmann::json paths = nlohmann::json::array();
      for (size_t t = 0; t < example.dig_anchors.size(); ++t) {
        paths.push_back({{"token", example.tokens.at(t)}, {"anchors", example.dig_anchors[t]}});
      }
      entry["dig_anchors"] = paths;
    }
  }
  if (!example.image.empty()) entry["image"] = example.image;
  if (example.baseline_count) {
    // Completeness in expectation: the report's F(x') is the mean over the baselines.
    entry["baseline_count"] = *example.baseline_count;
    entry["expected_output_baseline"] = example.report.output_baseline;
    entry["gap_in_expectation"] = example.report.output_input - example.report.output_baseline;
  }
  if (example.sum_standard_error) {
    entry["sum_standard_error"] = *example.sum_standard_error;
    entry["standard_errors"] = array_from_tensor(explanation.standard_errors[static_cast<int64_t>(b)]).values;
  }
  if (example.baseline_entropy) {
    // The maximum-entropy baseline: how near uniform the model's output at x' is.
    entry["baseline"] = {{"entropy", *example.baseline_entropy},
                         {"max_entropy", optional_number(example.max_entropy)},
                         {"output", example.report.output_baseline},
                         {"source", example.baseline_source}};
  }
  if (example.step_comparison) {
    const FixedStepComparison& compared = *example.step_comparison;
    nlohmann::json item = {{"step_count", compared.step_count},
                           {"steps", compared.report.steps},
                           {"attribution_sum", compared.report.attribution_sum},
                           {"delta", compared.report.delta},
                           {"relative_error", optional_number(compared.report.relative_error)},
                           {"difference", compared.difference},
                           {"concentration", {{"top_1_percent", compared.concentration.at(0)},
                                              {"top_3_percent", compared.concentration.at(1)},
                                              {"top_10_percent", compared.concentration.at(2)}}}};
    if (!compared.token_scores.empty()) item["token_scores"] = compared.token_scores;
    if (!compared.pixel_attributions.values.empty()) {
      item["pixel_attributions"] = compared.pixel_attributions.values;  // [H, W], rows one after another
      item["pixel_shape"] = compared.pixel_attributions.shape;
    }
    entry["compare_steps"] = std::move(item);
  }
  if (!example.channel_sums.empty()) entry["channel_sums"] = example.channel_sums;
  if (example.patch_input_attribution) entry["patch_input_attribution"] = *example.patch_input_attribution;
}

}  // namespace

std::string modality_name(Modality modality) {
  switch (modality) {
    case Modality::Text:
      return "text";
    case Modality::Image:
      return "image";
    case Modality::Tensor:
      return "tensor";
  }
  return "tensor";
}

Attribution as_attribution(const Explanation& explanation) {
  Attribution attribution;
  attribution.values = explanation.attributions;
  attribution.errors = explanation.attribution_errors;
  attribution.counts = explanation.counts;
  for (const ExampleExplanation& example : explanation.examples) attribution.examples.push_back(example.report);
  return attribution;
}

nlohmann::json to_json(const Explanation& explanation) {
  // Texts give their scores per token; the [B, T, D] values stay in the tensor (and --npy).
  const bool include_values = explanation.modality != Modality::Text;
  nlohmann::json json =
      attribution_to_json(as_attribution(explanation), explanation.run, predictions_of(explanation), include_values);
  json["schema"] = kExplanationSchema;
  json["modality"] = modality_name(explanation.modality);
  for (size_t b = 0; b < explanation.examples.size(); ++b) {
    add_example_fields(json["examples"][b], explanation.examples[b], explanation, b);
  }
  if (!explanation.layer.empty()) {
    json["layer"] = explanation.layer;
    json["layer_shape"] = explanation.layer_shape;
  }
  if (!explanation.neurons.empty()) json["neurons"] = explanation.neurons;
  if (!explanation.patch.empty()) json["patch"] = explanation.patch;
  return json;
}

Explanation select_examples(const Explanation& explanation, size_t begin, size_t count) {
  if (begin + count > explanation.examples.size() || count == 0) {
    throw Error("examples " + std::to_string(begin) + " to " + std::to_string(begin + count) +
                " (excluded) are not in an explanation of " + std::to_string(explanation.examples.size()) +
                "; expected a non-empty range inside it");
  }
  Explanation selected = explanation;
  selected.examples.assign(explanation.examples.begin() + static_cast<std::ptrdiff_t>(begin),
                           explanation.examples.begin() + static_cast<std::ptrdiff_t>(begin + count));
  const auto rows = [&](const torch::Tensor& tensor) {
    if (!tensor.defined()) return tensor;
    torch::Tensor part = tensor.narrow(0, static_cast<int64_t>(begin), static_cast<int64_t>(count));
    if (explanation.modality == Modality::Text) {
      size_t length = 0;
      for (const ExampleExplanation& example : selected.examples) length = std::max(length, example.tokens.size());
      part = part.narrow(1, 0, static_cast<int64_t>(length));
    }
    return part.clone();
  };
  selected.attributions = rows(explanation.attributions);
  selected.standard_errors = rows(explanation.standard_errors);
  selected.attribution_errors = rows(explanation.attribution_errors);
  return selected;
}

std::vector<TextExplanationView> text_views(const Explanation& explanation) {
  if (explanation.modality != Modality::Text) {
    throw Error("a " + modality_name(explanation.modality) +
                " explanation has no token heat-map; expected a text explanation");
  }
  std::vector<TextExplanationView> views;
  for (const ExampleExplanation& example : explanation.examples) {
    TextExplanationView view;
    const bool words = !example.words.words.empty();
    view.tokens = words ? example.words.words : example.tokens;
    view.scores = words ? example.words.scores : example.token_scores;
    view.predicted_label = example.prediction_label;
    view.predicted_probability = example.probability.value_or(0.0);
    view.target_label = example.target_label;
    view.attribution_sum = example.report.attribution_sum;
    view.delta = example.report.delta;
    view.relative_error = example.report.relative_error;
    view.certified = example.report.certified;
    view.method = explanation.run.method;
    view.steps = static_cast<int>(example.report.steps);
    views.push_back(std::move(view));
  }
  return views;
}

std::vector<TextExplanationView> step_comparison_views(const ExampleExplanation& example,
                                                       const TextExplanationView& view) {
  if (!example.step_comparison) return {};
  const FixedStepComparison& compared = *example.step_comparison;
  const bool words = !example.words.words.empty();
  const auto by_word = [&](const std::vector<double>& scores) {
    return words ? sum_scores_by_word(example.tokens, scores).scores : scores;
  };
  TextExplanationView fixed = view;
  fixed.scores = by_word(compared.token_scores);
  fixed.attribution_sum = compared.report.attribution_sum;
  fixed.delta = compared.report.delta;
  fixed.relative_error = compared.report.relative_error;
  fixed.certified.reset();
  fixed.method = "ig " + compared.step_count + " (fixed steps)";
  fixed.steps = static_cast<int>(compared.report.steps);
  TextExplanationView difference = fixed;
  difference.difference = true;
  difference.scores = by_word(compared.difference);
  difference.attribution_sum = compared.report.attribution_sum - example.report.attribution_sum;
  difference.method = "difference, " + compared.step_count + " minus the explanation above";
  return {std::move(fixed), std::move(difference)};
}

std::vector<TextExplanationView> text_page_views(const Explanation& explanation) {
  const std::vector<TextExplanationView> views = text_views(explanation);
  std::vector<TextExplanationView> page;
  for (size_t b = 0; b < views.size(); ++b) {
    page.push_back(views[b]);
    for (TextExplanationView& row : step_comparison_views(explanation.examples[b], views[b])) {
      page.push_back(std::move(row));
    }
  }
  return page;
}

std::string summarize(const Explanation& explanation, int top, int max_examples) {
  return summarize(as_attribution(explanation), explanation.run, predictions_of(explanation), top, max_examples);
}

}  // namespace igx
