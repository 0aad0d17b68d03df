#include "igx/step_comparison.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "igx/error.h"
#include "igx/explain_options.h"
#include "igx/json_text.h"
#include "igx/tensor_checks.h"

namespace igx {

StepCount StepCount::parse(const std::string& text) {
  const size_t colon = text.rfind(':');
  const std::string expected = "; expected RULE:N, e.g. riemann_right:1000";
  if (colon == std::string::npos) throw UsageError("step count '" + clip_text(text) + "' has no ':'" + expected);
  StepCount result;
  result.rule = parse_rule(text.substr(0, colon));
  const std::string number = text.substr(colon + 1);
  const int64_t least = result.rule == Rule::RiemannTrapezoid ? 2 : 1;
  // Written in full, as every integer option: no blank, sign or fraction std::stoll would pass.
  if (!integer_value_problem(number, least).empty()) {
    throw UsageError("step count '" + clip_text(text) + "' has N = '" + clip_text(number) + "'" + expected + " with N >= " + std::to_string(least));
  }
  result.steps = std::strtoll(number.c_str(), nullptr, 10);
  return result;
}

std::string StepCount::describe() const { return rule_name(rule) + ":" + std::to_string(steps); }

const std::vector<double>& default_concentration_fractions() {
  static const std::vector<double> fractions = {0.01, 0.03, 0.10};
  return fractions;
}

std::vector<double> concentration(const torch::Tensor& difference, const std::vector<double>& fractions) {
  if (!difference.defined() || difference.numel() < 1) {
    throw Error("no features to measure the concentration of; expected at least one");
  }
  torch::Tensor magnitudes = difference.detach().to(torch::kCPU, torch::kDouble).abs().flatten();
  magnitudes = std::get<0>(magnitudes.sort(0, /*descending=*/true)).contiguous();
  const double* sorted = magnitudes.data_ptr<double>();
  const int64_t count = magnitudes.numel();
  std::vector<double> prefix(static_cast<size_t>(count) + 1, 0.0);
  for (int64_t i = 0; i < count; ++i) prefix[i + 1] = prefix[i] + sorted[i];
  std::vector<double> shares;
  for (double fraction : fractions) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw Error("concentration fraction " + std::to_string(fraction) + " is outside (0, 1]");
    }
    const int64_t top = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(fraction * static_cast<double>(count) - 1e-9)),
                                            1, count);
    shares.push_back(prefix[count] > 0 ? prefix[top] / prefix[count] : 1.0);
  }
  return shares;
}

StepComparisonResult compare_steps(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                   const Attribution& reference, const StepCount& step_count,
                                   const ExtraInputs& extras) {
  if (!reference.values.defined() || reference.values.sizes() != inputs.sizes() ||
      reference.examples.size() != static_cast<size_t>(inputs.size(0))) {
    throw Error("the attribution to compare with has values of shape " +
                (reference.values.defined() ? shape_string(reference.values) : std::string("(none)")) + " and " +
                std::to_string(reference.examples.size()) + " reports; expected " + shape_string(inputs) +
                " like the inputs, one report per example");
  }
  std::vector<int64_t> targets;
  for (const ExampleReport& report : reference.examples) targets.push_back(report.target);
  StepComparisonResult result;
  result.step_count = step_count;
  result.fixed = integrated_gradients(model, inputs,
                                      IgOptions(options)
                                          .strategy(Strategy::Fixed)
                                          .method(step_count.rule)
                                          .n_steps(step_count.steps)
                                          .target(Target::per_example(targets)),
                                      extras);
  result.difference = result.fixed.values - reference.values.to(result.fixed.values.device());
  return result;
}

}  // namespace igx
