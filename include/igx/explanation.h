#pragma once
// The result of an explanation request (explainer.h) and its one JSON form, versioned
// "schema": "igx.explanation/1" (docs/explanation-api.md): what igx explain writes, igx serve
// answers and the Python package returns. Plain structs; tensors only where the data is one.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "igx/integrated_gradients.h"
#include "igx/npy.h"
#include "igx/report.h"
#include "igx/sequential_ig.h"
#include "igx/text_render.h"
#include "igx/tokenizer.h"

namespace igx {

/// The value of the JSON's "schema" field.
inline constexpr const char* kExplanationSchema = "igx.explanation/1";

/// What a model explains: texts (a text bundle), images (an image bundle) or tensors (any
/// TorchScript model, or a C++ Model).
enum class Modality { Text, Image, Tensor };
std::string modality_name(Modality modality);  ///< "text", "image", "tensor"

/// The same IG with a fixed rule and step count (--compare-steps), next to an explanation: where
/// a fixed step count's error sits (step_comparison.h).
struct FixedStepComparison {
  std::string step_count;            ///< "riemann_right:1000"
  ExampleReport report;              ///< of the fixed-step run: its delta and relative error
  std::vector<double> token_scores;  ///< texts: its attributions summed per token
  NdArray pixel_attributions;        ///< images: [H, W] summed over channels
  /// Per feature (texts: token, images: pixel, tensors: entry), fixed-step attribution minus
  /// the explanation's.
  std::vector<double> difference;
  /// The share of sum |difference| on the largest 1 %, 3 % and 10 % of the features.
  std::vector<double> concentration;
};

/// One explained example.
struct ExampleExplanation {
  std::string id;               ///< the request's id of this example; "" when it gave none
  ExampleReport report;         ///< F(x), F(x'), delta, relative error, steps, certified, bound
  int64_t prediction = 0;       ///< the class the model predicts at the input (argmax)
  std::optional<double> probability;  ///< bundles: the softmax probability of the prediction
  std::string prediction_label; ///< bundles: the prediction's label
  std::string target_label;     ///< bundles: the explained class's label

  // Texts.
  std::string text;                   ///< the text as given
  std::vector<std::string> tokens;    ///< WordPiece tokens, [CLS] and [SEP] included
  std::vector<int64_t> token_ids;     ///< their vocabulary ids
  std::vector<double> token_scores;   ///< attributions summed over the embedding, one per token
  /// adaptive, doubling: each token's estimated |error| (attribution_errors summed over the
  /// embedding); empty for the other strategies
  std::vector<double> token_errors;
  WordScores words;                   ///< ## pieces summed into words (when the request asked)
  bool truncated = false;             ///< only the text's beginning fitted the model
  std::vector<TokenReport> token_reports;           ///< sig: each moving token's own completeness
  std::vector<std::vector<std::string>> dig_anchors;  ///< dig-*: per token its anchor words

  // Images.
  std::string image;            ///< the file, when the request named one
  NdArray picture;              ///< [H, W] the input in grey (channel mean), values in [0, 1]
  NdArray pixel_attributions;   ///< [H, W] attributions summed over channels (input-shaped methods)

  // Distribution baselines: completeness in expectation, report.output_baseline = mean F(x'_j).
  std::optional<int64_t> baseline_count;     ///< M
  std::optional<double> sum_standard_error;  ///< Expected Gradients: of sum_i A_i

  // Maximum-entropy baselines (--baseline max-entropy[:data|:optimize]).
  std::optional<double> baseline_entropy;  ///< entropy of softmax(F(x')), nats; log C is the most
  std::optional<double> max_entropy;       ///< log C
  /// data: the id of the test example chosen; optimize: "N ascent steps".
  std::string baseline_source;

  std::optional<FixedStepComparison> step_comparison;  ///< --compare-steps

  // Layer methods.
  std::vector<double> channel_sums;               ///< attributions summed per channel of the layer
  std::optional<double> patch_input_attribution;  ///< patch: sum of input IG inside the patch
};

struct Explanation {
  Modality modality = Modality::Tensor;
  RunDescription run;           ///< model, method, output, baseline (in words), seconds
  /// [B, ...] in the inputs' dtype: texts [B, T, D] on the word embeddings (T the longest text,
  /// zeros after each text's end); images [B, C, H, W] on the pixels; tensors like the inputs;
  /// layer methods other than neuron-conductance: the layer's activation shape.
  torch::Tensor attributions;
  torch::Tensor standard_errors;  ///< Expected Gradients: [B, ...] like attributions; else undefined
  /// adaptive, doubling: [B, ...] like attributions, float64, each feature's estimated |error|
  /// (Attribution::errors); else undefined
  torch::Tensor attribution_errors;
  EvaluationCounts counts;        ///< model rows of the whole request
  std::vector<ExampleExplanation> examples;

  // Layer methods (images).
  std::string layer;                ///< the split point
  std::vector<int64_t> layer_shape; ///< one example's activation shape
  std::vector<int64_t> neurons;     ///< neuron-conductance: the neurons explained
  std::string patch;                ///< patch: "x0,y0,x1,y1"
};

/// The explanation as JSON (schema igx.explanation/1): "schema", "modality", "run",
/// "evaluations", "shape" and one object per example with its report, prediction, labels,
/// attributions (nested like one example; texts give per-token scores instead) and the extras
/// of its modality and method. docs/explanation-api.md lists every field.
nlohmann::json to_json(const Explanation& explanation);

/// Examples [begin, begin + count) as an explanation of their own, e.g. one record per input
/// of a batch. Texts are cut to their own length (T of that example). `counts` stays the
/// whole request's (the model ran on all examples at once).
Explanation select_examples(const Explanation& explanation, size_t begin, size_t count);

/// The explanation's report rows as the engine gives them: values and reports, for code that
/// takes an Attribution (report.h's summarize, say).
Attribution as_attribution(const Explanation& explanation);

/// What the text renderers (text_render.h: terminal line, HTML page) show of each example of a
/// text explanation: its word scores when the request asked for words, else its token scores,
/// with the prediction, the report and the method. igx::Error for other modalities.
std::vector<TextExplanationView> text_views(const Explanation& explanation);

/// The rows a fixed-step comparison (--compare-steps) adds under `view`, the example's own row:
/// the fixed-step explanation, then the difference (fixed minus the explanation), per word when
/// `view` is per word. Empty when the example has no comparison.
std::vector<TextExplanationView> step_comparison_views(const ExampleExplanation& example,
                                                       const TextExplanationView& view);

/// The rows of a text explanation's HTML page: each example's row (text_views) followed by its
/// step_comparison_views.
std::vector<TextExplanationView> text_page_views(const Explanation& explanation);

/// A few terminal lines per example (report.h's summarize): prediction and target, F(x), F(x'),
/// delta, relative error, and the `top` largest attributions. At most `max_examples`.
std::string summarize(const Explanation& explanation, int top = 10, int max_examples = 5);

}  // namespace igx
