#pragma once
// Where a fixed step count's error sits (seed 001, §4.2): the same IG with a fixed rule and n
// next to an accurate (certified) one, the difference per feature, and how concentrated the
// difference is — a few tokens or pixels carrying most of it, or all of them a little.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "igx/integrated_gradients.h"
#include "igx/quadrature.h"

namespace igx {

/// A fixed-step IG run to compare with: a rule and a step count, written "RULE:N"
/// ("riemann_right:1000").
struct StepCount {
  Rule rule = Rule::RiemannRight;
  int64_t steps = 1000;

  /// "RULE:N" with a rule name and N >= 1 (>= 2 for riemann_trapezoid); igx::Error naming the
  /// text and what was expected otherwise.
  static StepCount parse(const std::string& text);
  std::string describe() const;  ///< "riemann_right:1000"
};

/// The fractions of the features whose share of the total |difference| concentration() reports
/// by default: the top 1 %, 3 % and 10 %.
const std::vector<double>& default_concentration_fractions();

/// For each fraction f, the share of sum_i |d_i| carried by the ceil(f n) largest |d_i| of the n
/// entries of `difference` (any shape, flattened; at least one of them counts). 1 when every
/// |d_i| is 0 (nothing to spread). A share near f means the difference is spread evenly; near 1,
/// that a few features carry it. igx::Error for a fraction outside (0, 1] or no entries.
std::vector<double> concentration(const torch::Tensor& difference,
                                  const std::vector<double>& fractions = default_concentration_fractions());

/// The fixed-step run and its difference from an accurate one.
struct StepComparisonResult {
  StepCount step_count;
  Attribution fixed;         ///< IG with step_count's rule and n, the reference's targets and baseline
  torch::Tensor difference;  ///< fixed.values - reference.values, [B, ...]
};

/// Runs IG with `step_count` on the inputs of `reference` (computed with `options`, any strategy):
/// the same baseline, output kind and batch size, and each example's target as the reference
/// explained it.
StepComparisonResult compare_steps(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                   const Attribution& reference, const StepCount& step_count,
                                   const ExtraInputs& extras = {});

}  // namespace igx
