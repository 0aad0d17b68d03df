#include "igx/sequential_ig.h"

#include <cmath>
#include <limits>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// Folds one token's optional verdict into the example's: none until a token has one, then true
// only while every token that has one holds.
void all_of(std::optional<bool>& example, const std::optional<bool>& token) {
  if (token) example = example.value_or(true) && *token;
}

// The example's report from its tokens' (see SequentialAttribution).
ExampleReport aggregate(const std::vector<TokenReport>& tokens, int64_t target, double output_input,
                        double attribution_sum, const IgOptions& options, torch::ScalarType dtype) {
  ExampleReport report;
  report.target = target;
  report.output_input = output_input;
  report.attribution_sum = attribution_sum;
  const double epsilon = dtype == torch::kDouble ? std::numeric_limits<double>::epsilon()
                                                 : std::numeric_limits<float>::epsilon();
  double gap_sum = 0.0, absolute_gaps = 0.0, absolute_deltas = 0.0, noise = 0.0, bounds = 0.0;
  bool all_bounded = true;
  for (const TokenReport& token : tokens) {
    const ExampleReport& own = token.report;
    const double gap = own.output_input - own.output_baseline;
    gap_sum += gap;
    absolute_gaps += std::abs(gap);
    absolute_deltas += std::abs(own.delta);
    // The same float-noise floor relative_error() applies to one gap, summed over the tokens.
    noise += 64.0 * epsilon * std::max(std::abs(own.output_input), std::abs(own.output_baseline));
    report.steps += own.steps;
    report.forward_steps += own.forward_steps;
    if (own.scan_resolution) report.scan_resolution = std::max(report.scan_resolution.value_or(0.0), *own.scan_resolution);
    report.precision_limited = report.precision_limited || own.precision_limited;
    all_of(report.certified, own.certified);
    all_of(report.completeness_certified, own.completeness_certified);
    all_of(report.attribution_certified, own.attribution_certified);
    if (own.error_bound) {
      bounds += *own.error_bound * std::abs(gap);
    } else {
      all_bounded = false;
    }
  }
  report.output_baseline = output_input - gap_sum;
  report.delta = attribution_sum - gap_sum;
  if (absolute_gaps > std::max(options.min_output_gap(), noise)) {
    report.relative_error = absolute_deltas / absolute_gaps;
    if (all_bounded && !tokens.empty()) report.error_bound = bounds / absolute_gaps;
  }
  return report;
}

}  // namespace

SequentialAttribution sequential_integrated_gradients(Model& model, const torch::Tensor& inputs,
                                                      const torch::Tensor& baselines, const torch::Tensor& moving,
                                                      const IgOptions& options, const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  if (inputs.dim() < 2) {
    throw Error("SIG inputs have shape " + shape_string(inputs) + "; expected sequences [B, T, ...]");
  }
  require_floating(baselines, "SIG baselines");
  if (baselines.sizes() != inputs.sizes()) {
    throw Error("SIG baselines have shape " + shape_string(baselines) + "; expected " + shape_string(inputs) +
                " like the inputs");
  }
  require_finite(baselines, "SIG baselines");
  const int64_t batch_size = inputs.size(0), length = inputs.size(1);
  if (moving.sizes() != inputs.sizes().slice(0, 2) || moving.scalar_type() != torch::kBool) {
    throw Error("SIG moving-token mask has shape " + shape_string(moving) + " and dtype " +
                std::string(c10::toString(moving.scalar_type())) + "; expected bool " +
                shape_string(inputs.sizes().slice(0, 2)));
  }
  const torch::Tensor targets = options.target().is_predicted()
                                    ? predict(model, inputs, options.internal_batch_size(), extras)
                                    : options.target().resolve(batch_size);

  // Every moving token is one IG problem: the input against the input with that token at its
  // baseline. One call integrates all of them, batched together.
  const torch::Tensor cpu_moving = moving.to(torch::kCPU).contiguous();
  std::vector<int64_t> owner, position, pair_targets;
  for (int64_t b = 0; b < batch_size; ++b) {
    for (int64_t t = 0; t < length; ++t) {
      if (!cpu_moving.data_ptr<bool>()[b * length + t]) continue;
      owner.push_back(b);
      position.push_back(t);
      pair_targets.push_back(targets[b].item<int64_t>());
    }
  }
  SequentialAttribution result;
  result.tokens.resize(static_cast<size_t>(batch_size));
  torch::Tensor values = torch::zeros_like(inputs);
  std::vector<double> output_input(static_cast<size_t>(batch_size), std::numeric_limits<double>::quiet_NaN());
  if (!owner.empty()) {
    const torch::Tensor owners = torch::tensor(owner, torch::kLong).to(inputs.device());
    const torch::Tensor pair_inputs = inputs.index_select(0, owners);
    torch::Tensor pair_baselines = pair_inputs.clone();
    for (size_t p = 0; p < owner.size(); ++p) pair_baselines[p][position[p]].copy_(baselines[owner[p]][position[p]]);
    ExtraInputs pair_extras;
    for (const torch::Tensor& extra : extras) pair_extras.push_back(extra.index_select(0, owners.to(extra.device())));
    const Attribution pairs = integrated_gradients(
        model, pair_inputs,
        IgOptions(options).baseline(Baseline::tensor(pair_baselines)).target(Target::per_example(pair_targets)),
        pair_extras);
    for (size_t p = 0; p < owner.size(); ++p) {
      values[owner[p]][position[p]].copy_(pairs.values[p][position[p]]);
      result.tokens[owner[p]].push_back({position[p], pairs.examples[p]});
      output_input[owner[p]] = pairs.examples[p].output_input;
    }
    result.attribution.counts = pairs.counts;
  }
  // Examples without a moving token still need F(x).
  std::vector<int64_t> still;
  for (int64_t b = 0; b < batch_size; ++b) {
    if (result.tokens[b].empty()) still.push_back(b);
  }
  if (!still.empty()) {
    Integrator integrator(model, extras, options.output(), options.internal_batch_size());
    integrator.set_targets(targets);
    const torch::Tensor examples = torch::tensor(still, torch::kLong);
    const torch::Tensor outputs = integrator.values(inputs.index_select(0, examples.to(inputs.device())), examples);
    for (size_t i = 0; i < still.size(); ++i) output_input[still[i]] = outputs[static_cast<int64_t>(i)].item<double>();
    result.attribution.counts.forward_rows += integrator.counts().forward_rows;
    result.attribution.counts.batches += integrator.counts().batches;
  }
  for (int64_t b = 0; b < batch_size; ++b) {
    double attribution_sum = 0.0;  // in float64, as each token's report has it
    for (const TokenReport& token : result.tokens[b]) attribution_sum += token.report.attribution_sum;
    result.attribution.examples.push_back(aggregate(result.tokens[b], targets[b].item<int64_t>(), output_input[b],
                                                    attribution_sum, options, inputs.scalar_type()));
  }
  result.attribution.values = values;
  return result;
}

}  // namespace igx
