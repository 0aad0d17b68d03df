#pragma once
// The explanation service's parts (not a public header): what a request's options resolve to,
// checked against the input and the method (explain_plan.cpp), and its inputs and baselines on
// the attribution space (explain_inputs.cpp). explainer.cpp puts them together.

#include <torch/torch.h>

#include <optional>
#include <string>

#include "igx/explainer.h"
#include "igx/max_entropy.h"

namespace igx::detail {

bool is_dig(const std::string& method);           ///< dig-greedy, dig-maxcount
bool is_layer_method(const std::string& method);  ///< conductance, ..., neuron-conductance

/// What the options of a request resolve to, before any input is read.
struct Plan {
  std::string method;
  bool method_given = false;
  Strategy strategy = Strategy::Fixed;
  bool distribution = false;  // baselines by spec or tensor
  int64_t expected_gradients = 0;
};

/// The form of a maximum-entropy --baseline ("max-entropy" is the data form); none for other
/// baselines, igx::Error for an unknown form.
std::optional<MaxEntropyForm> max_entropy_form(const ExplainOptions& options);

/// Checks the method against the modality and every set option against the method: an option
/// that would be ignored is an igx::Error.
Plan plan_request(const ExplainOptions& options, Modality modality, bool baselines_tensor);

/// The IG options the request asks for (baseline and target still to be resolved).
IgOptions ig_options_of(const ExplainOptions& options, const Plan& plan);

/// The method as the record names it: "ig adaptive (tolerance 0.0100)", "dig greedy (m=30, ...)".
std::string method_label(const ExplainOptions& options, const Plan& plan, const DigOptions& dig);

/// The examples of the request's inputs for an explainer of `modality`.
size_t example_count(const ExplainRequest& request, Modality modality);

/// The request carries the inputs of the explainer's modality, and only those; ids fit; a
/// baseline is given once.
void check_inputs(const ExplainRequest& request, Modality modality, const std::string& name);

/// The request's images as pixels [B, C, H, W] in [0, 1] (read from files, or checked).
torch::Tensor image_tensor(const ExplainRequest& request, ImageClassifier& classifier);

/// Tensor models: the baseline tensor, zero, a number everywhere, or a file.
Baseline tensor_baseline(const ExplainRequest& request);

/// The request's options.baselines, parsed and allowed for its modality and its file rule.
BaselinesSpec baselines_spec(const ExplainRequest& request, Modality modality);

/// The distribution of baselines of an image or tensor request, [M, ...] or [B, M, ...], on the
/// inputs' device; `description` says what it is, for the record.
torch::Tensor distribution_baselines(const ExplainRequest& request, const torch::Tensor& inputs, Modality modality,
                                     const std::string& bundle, std::string& description);

/// The maximum-entropy baseline of texts or images (`inputs`: pixels [B, C, H, W]; texts use
/// `batch`), chosen from the test split of the shipped bundle `bundle` (the data form) or by
/// ascent; what the baseline of each example came from is added to `prepared`.
void use_max_entropy_baseline(PreparedRequest& prepared, MaxEntropyForm form, const std::string& bundle,
                              TextClassifier* text, ImageClassifier* image);

}  // namespace igx::detail
