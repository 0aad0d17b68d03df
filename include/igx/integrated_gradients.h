#pragma once
// Integrated Gradients over a batch of examples, with the completeness error of every example,
// and the gradient methods it generalises (Saliency, Input x Gradient).

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "igx/baseline.h"
#include "igx/integrator.h"
#include "igx/model.h"
#include "igx/quadrature.h"
#include "igx/target.h"

namespace igx {

/// How the number of steps is chosen.
enum class Strategy {
  Fixed,             ///< n_steps nodes of `method` for every example
  Doubling,          ///< n, 2n, 4n, ... nested nodes of `method` until the relative error <= tolerance
  IntervalAdaptive,  ///< Simpson on intervals of [0, 1], bisected where the exact per-interval error is
};

std::string strategy_name(Strategy strategy);          ///< "fixed", "doubling", "adaptive"
Strategy parse_strategy(const std::string& name);

/// What IntervalAdaptive certifies against the tolerance. Both are exact up to the rounding of F:
/// each Simpson panel's error e_I = Simpson_I(s) - (F(b) - F(a)) is known from the forward passes.
enum class Certify {
  /// sum_I |e_I| <= tolerance * |gap|: a bound on |delta| that never relies on the panels'
  /// errors cancelling, so every part of the path is integrated to the tolerance. It counts the
  /// rounding of F at every panel's ends, so in float32 precision limits it sooner.
  PanelSum,
  /// |delta| = |sum_I e_I| <= tolerance * |gap|: the completeness error itself, the criterion
  /// Doubling uses (the default). The panels' errors may cancel in it; the attribution tolerance
  /// watches the vector feature by feature instead.
  Completeness,
};
std::string certify_name(Certify certify);  ///< "panels", "completeness"
Certify parse_certify(const std::string& name);

struct IgOptions {
  TORCH_ARG(int64_t, n_steps) = 50;                        ///< quadrature nodes per example (Fixed)
  TORCH_ARG(Rule, method) = Rule::GaussLegendre;           ///< quadrature rule
  TORCH_ARG(Baseline, baseline) = Baseline::zero();        ///< the path's start x'
  TORCH_ARG(Target, target) = Target::predicted();         ///< the explained class
  TORCH_ARG(OutputKind, output) = OutputKind::Logit;       ///< form of the explained output F
  TORCH_ARG(int64_t, internal_batch_size) = 0;             ///< most rows per model call; 0 = all
  /// Automatic: rows per call chosen from the memory a row takes (integrator.h), up to
  /// internal_batch_size; Fixed: internal_batch_size rows.
  TORCH_ARG(BatchSizing, batch_sizing) = BatchSizing::Automatic;
  TORCH_ARG(bool, multiply_by_inputs) = true;              ///< false: return the path-integrated gradient
  /// |F(x) - F(x')| at or below this (or below float noise) makes the relative error undefined.
  TORCH_ARG(double, min_output_gap) = 1e-6;
  TORCH_ARG(Strategy, strategy) = Strategy::Fixed;         ///< fixed steps, or integrate to a tolerance
  /// Doubling and IntervalAdaptive: the relative completeness error to certify.
  TORCH_ARG(double, tolerance) = 0.01;
  TORCH_ARG(int64_t, max_steps) = 4096;                    ///< budget of gradient evaluations per example
  TORCH_ARG(int64_t, initial_steps) = 16;                  ///< Doubling: the first n
  TORCH_ARG(int64_t, initial_intervals) = 4;               ///< IntervalAdaptive: the first partition
  TORCH_ARG(Certify, certify) = Certify::Completeness;     ///< IntervalAdaptive: what must meet the tolerance
  /// IntervalAdaptive: the most bytes the node gradients kept for refinement may take, each example
  /// of the call an equal share (at least its first round's 2 initial_intervals + 1 gradients).
  /// Where refinement would keep more, the panels with the smallest errors are folded into a
  /// running sum and not bisected again: their errors still count, so the example may end
  /// uncertified instead. Results are unchanged while the budget is not reached. 0: no bound.
  TORCH_ARG(int64_t, memory_budget) = int64_t{2} << 30;
  /// Doubling and IntervalAdaptive: the estimated relative L1 error of the attribution vector,
  /// ||A - IG||_1 / ||A||_1, must also be at most this to certify; 0 certifies completeness alone.
  /// Completeness cannot see errors of features that cancel in the sum.
  TORCH_ARG(double, attribution_tolerance) = 0.05;
  /// Doubling: forward-only evaluations of F on the grid k / scan_points. IntervalAdaptive: every
  /// other point of it, the others where F around does not rise or fall with one curvature, then
  /// k / (4 scan_points) between two nodes where those show F move as the nodes do not (0 -> 1 -> 0).
  /// The path is refined where the scan sees F move between nodes. 0: no scan.
  TORCH_ARG(int64_t, scan_points) = 64;
  /// Doubling and IntervalAdaptive: evaluate F(x) and F(x') once more in float64 when the model
  /// has a float64 form (Model::in_float64), so completeness is checked against ends free of its
  /// rounding, and that rounding is measured; false: the model's own values, with an allowance.
  TORCH_ARG(bool, float64_ends) = true;
  /// Doubling and IntervalAdaptive: per example, an absolute completeness error to certify in
  /// place of tolerance * |F(x) - F(x')|; empty, or an entry of 0, keeps the relative target.
  /// Distribution IG sets it so that every pair is integrated to tolerance * |F(x) - E[F(X')]|.
  TORCH_ARG(std::vector<double>, absolute_targets) = {};
};

/// The completeness report of one example.
struct ExampleReport {
  int64_t target = 0;         ///< explained class
  double output_input = 0;    ///< F(x)
  double output_baseline = 0; ///< F(x')
  double attribution_sum = 0; ///< sum_i A_i (of the attributions multiplied by x - x')
  double delta = 0;           ///< attribution_sum - (F(x) - F(x')), signed
  /// |delta| / |F(x) - F(x')|, or none when |F(x) - F(x')| is too small for a relative error.
  std::optional<double> relative_error;
  int64_t steps = 0;          ///< gradient evaluations spent on this example
  int64_t forward_steps = 0;  ///< forward-only evaluations spent on it (the scan of F along the path)
  /// Doubling and IntervalAdaptive: completeness_certified, and attribution_certified when an
  /// attribution tolerance is set. Never true when either is not.
  std::optional<bool> certified;
  /// Doubling and IntervalAdaptive: the completeness error bound (rounding of F included) is
  /// within the tolerance, so the relative completeness error recomputed from the returned
  /// attributions and F evaluated independently is within it too.
  std::optional<bool> completeness_certified;
  /// When attribution_tolerance > 0: attribution_error is within it.
  std::optional<bool> attribution_certified;
  /// The relative completeness error bound, rounding of F included. IntervalAdaptive, certify
  /// panels: sum over panels of |quadrature - (F(b) - F(a))| / |F(x) - F(x')|, which does not
  /// count on the panels' errors cancelling; certify completeness and Doubling: |delta| / |gap|.
  std::optional<double> error_bound;
  /// The same bound in output units (defined even when the gap is too small for a relative one).
  std::optional<double> absolute_error_bound;
  /// The rounding of F in the model's dtype keeps error_bound above the tolerance: more gradient
  /// evaluations cannot certify it. attainable_error_bound says how low it can go.
  bool precision_limited = false;
  /// When precision_limited: the part of error_bound that rounding alone accounts for (relative,
  /// or absolute when the gap is too small).
  std::optional<double> attainable_error_bound;
  /// Doubling and IntervalAdaptive: estimated relative L1 error of the attribution vector,
  /// ||A - IG||_1 / ||A||_1 — an estimate, not a bound (docs/methods.md says how it is made).
  /// Attribution::errors holds it per feature.
  std::optional<double> attribution_error;
  /// Doubling and IntervalAdaptive: the widest stretch of the path (in alpha) holding no point where
  /// F was evaluated (gradient nodes, the ends, the scan's forward-only points): an excursion of F
  /// wider than this covers one of them; a narrower one may go unseen (docs/methods.md).
  std::optional<double> scan_resolution;
};

struct Attribution {
  torch::Tensor values;                ///< [B, ...] like the inputs, in their dtype
  /// Doubling and IntervalAdaptive: [B, ...] float64, each feature's estimated |error| (which
  /// features carry attribution_error); undefined for the other strategies.
  torch::Tensor errors;
  std::vector<ExampleReport> examples; ///< one per example
  EvaluationCounts counts;             ///< rows the model was run on
  /// IntervalAdaptive: the most bytes of node gradients (and folded sums) kept at once, what
  /// IgOptions::memory_budget bounds; 0 for the other strategies.
  int64_t peak_kept_bytes = 0;
};

/// IG_i = (x_i - x'_i) * integral_0^1 dF/dx_i(x' + a (x - x')) da by the chosen rule.
/// `inputs` [B, ...]; `extras` are passed to the model with the rows of their examples.
Attribution integrated_gradients(Model& model, const torch::Tensor& inputs,
                                 const IgOptions& options = {}, const ExtraInputs& extras = {});

struct GradientOptions {
  TORCH_ARG(Target, target) = Target::predicted();
  TORCH_ARG(OutputKind, output) = OutputKind::Logit;
  TORCH_ARG(int64_t, internal_batch_size) = 0;
  TORCH_ARG(bool, absolute) = true;  ///< Saliency only: |dF/dx| (the usual) or the signed gradient
};

/// dF/dx at the inputs (absolute by default). Reports carry F(x); completeness does not apply.
Attribution saliency(Model& model, const torch::Tensor& inputs, const GradientOptions& options = {},
                     const ExtraInputs& extras = {});

/// x * dF/dx: IG with one right-Riemann step from the zero baseline, reported as such.
Attribution input_x_gradient(Model& model, const torch::Tensor& inputs,
                             const GradientOptions& options = {}, const ExtraInputs& extras = {});

/// The model's predicted class (argmax of its outputs; 0 for a single output) for each input,
/// forward only, at most `internal_batch_size` rows at a time (0 = all).
torch::Tensor predict(Model& model, const torch::Tensor& inputs, int64_t internal_batch_size = 0,
                      const ExtraInputs& extras = {});

/// The relative error |delta| / |gap|, or none when the gap is too small to divide by: at most
/// `min_gap`, or within float noise of the outputs' magnitude for `dtype`.
std::optional<double> relative_error(double delta, double output_input, double output_baseline,
                                     double min_gap, torch::ScalarType dtype);

}  // namespace igx
