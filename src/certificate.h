#pragma once
// What the error-controlled strategies (interval-adaptive and doubling) share to decide whether an
// example is certified: the error target, the rounding of F in the model's dtype, the forward-only
// scan of F along the path, and the report's certificate fields. Not a public header.

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx::detail {

/// Checks the options both strategies use: tolerance, attribution_tolerance, scan_points,
/// max_steps and absolute_targets (one per example).
void check_error_control_options(const IgOptions& options, int64_t batch_size);

/// The absolute completeness error example `b` may have: its absolute target when one is given,
/// else tolerance * |F(x) - F(x')|, or, when the gap is too small for a relative error, the gap
/// floor max(min_output_gap, |gap|).
double error_target(int64_t b, double output_input, double output_baseline, const IgOptions& options,
                    torch::ScalarType dtype);

/// The absolute L1 error of example `b`'s attribution vector that certifies whatever its norm: its
/// absolute completeness target when one is given, else 0. Distribution IG gives every pair the
/// target tolerance * |F(x) - E[F(X')]|, and a pair whose own attributions nearly vanish (a
/// baseline where F is as at x) then needs its vector only that accurate, not to a fraction of
/// its own tiny norm.
double vector_floor(int64_t b, const IgOptions& options);

/// Rounding of F in the model's dtype. A float32 network does not compute F to within eps |F|:
/// the error follows the magnitude Z of what it computes (its raw outputs, before a softmax), and
/// the output kind shapes it: a logit's error is about eps (|F| + Z), a probability's
/// eps (|F| + 2 F (1 - F) Z) (small where the softmax saturates), a log-probability's
/// eps (|F| + 1 + 2 (1 - e^F) Z) (about eps where the softmax saturates at F = 0: an error of the
/// logits moves log p by at most 2 (1 - p) times it, and the sum inside the log adds about eps).
/// On the saturated BERT test models in float32 the measured error reached 46 times that for a
/// logit, 31 for a probability, 26 for a log-probability (20 against its scale before session 6,
/// eps (|F| + 2 Z); bench/certificates/rounding.py); igx allows kRoundingFactor times it.
/// When F(x) and F(x') are known in float64 too (float64_ends), the factor is measured instead:
/// kCalibratedMargin times the larger ratio |F - F64| / (eps scale) of the two ends, at least
/// kCalibratedMargin.
class Rounding {
 public:
  static constexpr double kRoundingFactor = 128.0;
  static constexpr double kCalibratedMargin = 4.0;
  Rounding(torch::ScalarType dtype, OutputKind output);
  /// Widens Z to include `magnitude`, a raw model output's |value| seen on this path.
  void see(double magnitude) { largest_output_ = std::max(largest_output_, std::abs(magnitude)); }
  /// Measures the factor from F computed in the model's dtype and in float64 at one point; the
  /// first call replaces the default factor, later ones can only widen it.
  void calibrate(double value, double float64_value);
  double epsilon() const { return epsilon_; }
  /// How far rounding may move one computed value F of the model's output.
  double of_value(double value) const { return factor_ * epsilon_ * scale(value); }
  /// How far it may move a quantity computed from terms of total magnitude `magnitude`.
  double of_sum(double magnitude) const { return factor_ * epsilon_ * magnitude; }
  /// How far rounding may move the attribution vector (L1, output units) through gradients computed
  /// where F = `value`, beyond of_sum of their own magnitude: for a probability or log-probability
  /// kRoundingFactor eps scale(F), never calibrated (the ends measure F's rounding, not the
  /// gradients'); 0 for a logit. A float32 softmax saturated at F = 1 computes dF/dz_t = F (1 - F)
  /// as 0 where it is 1e-9 (a log-probability's 1 - exp(F) likewise), so its gradients are off by
  /// about eps scale(F), not by eps times themselves. Over the float32 random saturating MLPs of
  /// tests/test_certificates.cpp (seeds 0-399, 1200 examples), float32 Gauss-Legendre 3000 against
  /// float64 was off by at most 14 eps scale(F) where the error exceeded 1 % of the vector, 132 on
  /// any example (log-probability: 19); a logit's gradients were within 7 eps of their own norm.
  double of_gradients(double value) const;

 private:
  double scale(double value) const;
  double gradient_scale(double value) const;
  double epsilon_;
  OutputKind output_;
  double largest_output_ = 0.0;
  double factor_ = kRoundingFactor;
  bool calibrated_ = false;
};

/// F(x) and F(x') of every example evaluated again by the model's float64 form, when
/// options.float64_ends() is set, the inputs are not float64 already, and the model has one.
struct Float64Ends {
  std::vector<double> output_input;     ///< F(x) per example, float64
  std::vector<double> output_baseline;  ///< F(x') per example, float64
  EvaluationCounts counts;              ///< the float64 model's rows
};
std::optional<Float64Ends> float64_ends(Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                        const torch::Tensor& targets, const IgOptions& options,
                                        const ExtraInputs& extras);

/// F along one straight path at some points of a grid alpha = k / n, from forward passes only
/// (scan_paths says which).
struct PathScan {
  std::vector<double> alphas;      ///< the scan points evaluated, increasing; empty when there was no scan
  std::vector<double> values;      ///< F at them
  double output_magnitude = 0.0;   ///< the largest |raw model output| over the scan (rounding scale)

  bool empty() const { return values.empty(); }
  /// The variation of F on [a, b] that the nodes `alphas` (sorted, a first, b last) with values
  /// `node_values` do not see: the total variation of the scan points strictly inside (a, b)
  /// merged with the nodes, minus the nodes' own, minus what rounding allows per scan point.
  /// A narrow excursion of F between two nodes (0 -> 1 -> 0 where the nodes see 0) shows here.
  double hidden_variation(const std::vector<double>& alphas, const std::vector<double>& node_values,
                          const Rounding& rounding) const;
};

/// What one path's scan starts from: the nodes evaluated already (alphas increasing, with their F)
/// and the rounding of F on that path. No nodes: the whole scan at once.
struct ScanStart {
  std::vector<double> alphas;
  std::vector<double> values;
  const Rounding* rounding = nullptr;
};

/// Scans every example's straight path from baselines[b] to inputs[b] on the grid k / points,
/// forward only, a few rows per model call (forward-only rows cost least in small batches). No
/// scan when points is 0. A point where a node of starts[b] sits is not evaluated again. Given
/// nodes, the scan goes coarse to fine: first every kCoarseStep-th grid point k / points (at least
/// one point between each two consecutive nodes); then, pass by pass, the point k / points in the
/// middle of each stretch between two known points (nodes and scan points) where F and its
/// neighbouring stretches do not rise (or fall) beyond rounding with monotone slopes; then, between
/// two nodes where those show variation the nodes do not (PathScan::hidden_variation > 0), every
/// point of the finer grid k / (points * kRefinement). Without nodes, the grid k / points.
/// kCoarseStep 4 (first pass k / 16 by default) missed an excursion of F on a random saturating
/// MLP (seed 287 of tests/test_certificates.cpp's property: a spike to 0.015 on 7/32 between the
/// first pass's points and a node, whose flanks stayed below 2e-5 at them); 2 holds over the 400.
constexpr int64_t kRefinement = 4;
constexpr int64_t kCoarseStep = 2;
std::vector<PathScan> scan_paths(Integrator& integrator, const torch::Tensor& baselines, const torch::Tensor& inputs,
                                 const std::vector<ScanStart>& starts, int64_t points, OutputKind output,
                                 int64_t internal_batch_size);

/// The widest stretch of [0, 1] that holds none of `alphas` (points where F was evaluated; the ends
/// count as evaluated): ExampleReport::scan_resolution.
double widest_unsampled_stretch(std::vector<double> alphas);

/// Where one example stands against its two criteria; all quantities absolute (output units for
/// completeness, attribution units for the vector).
struct ErrorStanding {
  double completeness_bound = 0;    ///< bound on the recomputed |delta| (rounding of F included)
  double completeness_floor = 0;    ///< the part of that bound refinement cannot remove
  double completeness_target = 0;   ///< what it must be within
  std::optional<double> vector_error;  ///< estimated L1 error of the attributions; none: not estimable yet
  double attribution_norm = 0;      ///< ||attributions||_1
  double vector_floor = 0;          ///< absolute vector error always accepted (vector_floor() below)
  double vector_rounding = 0;       ///< the part of vector_error the gradients' rounding accounts for
  bool precision_limited = false;   ///< rounding of F keeps the completeness bound above its target
  bool refinable = true;            ///< some part of the completeness error is more than rounding

  bool completeness_met() const { return completeness_bound <= completeness_target; }
  /// Within attribution_tolerance * ||A||_1, or within vector_floor when that is larger; always
  /// met when the tolerance is 0 (not requested).
  bool vector_met(double attribution_tolerance) const;
  /// The gradients' rounding alone keeps the vector from being met, even if ||A||_1 were larger by
  /// the whole estimate: more evaluations cannot certify it.
  bool vector_precision_limited(double attribution_tolerance) const;
};

/// Writes certified, the criteria, error bounds and attribution_error into `report` (whose delta
/// and F values are already set).
void write_certificate(ExampleReport& report, const ErrorStanding& standing, const IgOptions& options);

}  // namespace igx::detail
