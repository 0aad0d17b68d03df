// Doubling: n, 2n, 4n, ... nested nodes of a rule with nested nodes until the example is
// certified (certificate.h) or the next level would exceed the budget. Each level evaluates only
// its new nodes, so the result equals the fixed rule at the final n exactly.
#include <algorithm>
#include <cmath>
#include <optional>

#include "certificate.h"
#include "ig_detail.h"
#include "igx/error.h"

namespace igx::detail {
namespace {

bool has_nested_nodes(Rule rule) {
  return rule == Rule::RiemannLeft || rule == Rule::RiemannRight || rule == Rule::RiemannTrapezoid;
}

// The nodes of one level: all of the first level (left: k < m, right: k > 0, trapezoid: all of
// k / m, end weights halved), then only the odd k / 2m that doubling m adds.
Quadrature level_nodes(Rule rule, int64_t intervals, bool first_level) {
  Quadrature q;
  if (first_level) {
    const int64_t begin = rule == Rule::RiemannRight ? 1 : 0;
    const int64_t end = rule == Rule::RiemannLeft ? intervals - 1 : intervals;
    for (int64_t k = begin; k <= end; ++k) {
      q.nodes.push_back(static_cast<double>(k) / static_cast<double>(intervals));
      q.weights.push_back(rule == Rule::RiemannTrapezoid && (k == 0 || k == intervals) ? 0.5 : 1.0);
    }
  } else {
    for (int64_t k = 1; k < 2 * intervals; k += 2) {
      q.nodes.push_back(static_cast<double>(k) / static_cast<double>(2 * intervals));
      q.weights.push_back(1.0);
    }
  }
  return q;
}

struct DoublingState {
  torch::Tensor sum;           // sum of the weighted gradients so far (divide by intervals)
  torch::Tensor attributions;  // of the current level, float64
  torch::Tensor change;        // |attributions - the previous level's|: per-feature error estimate
  double previous_change = std::nan("");  // ||change||_1 of the level before (NaN: none yet)
  double estimate_factor = std::nan("");  // what multiplies change into the estimate; NaN: no estimate
  std::vector<std::pair<double, double>> values;  // (alpha, F) at every node and both ends
  int64_t intervals = 0;
  int64_t steps = 0;
  PathScan scan;
  Rounding rounding;
  ErrorStanding standing;
  bool active = true;

  DoublingState(torch::ScalarType dtype, OutputKind output) : rounding(dtype, output) {}

  // What the scan sees move between consecutive nodes that the nodes do not.
  double hidden_variation() {
    std::sort(values.begin(), values.end());
    double hidden = 0.0;
    for (size_t k = 1; k < values.size(); ++k) {
      hidden += scan.hidden_variation({values[k - 1].first, values[k].first}, {values[k - 1].second, values[k].second},
                                      rounding);
    }
    return hidden;
  }
};

}  // namespace

Attribution integrate_by_doubling(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                  const ExtraInputs& extras) {
  check_error_control_options(options, inputs.size(0));
  const Rule rule = options.method();
  if (!has_nested_nodes(rule)) {
    throw UsageError("doubling needs nested nodes: riemann_left, riemann_right or riemann_trapezoid; got " + rule_name(rule));
  }
  if (options.initial_steps() < (rule == Rule::RiemannTrapezoid ? 2 : 1)) {
    throw UsageError("initial_steps " + std::to_string(options.initial_steps()) + " is too small for " + rule_name(rule));
  }
  const int64_t batch_size = inputs.size(0);
  const torch::ScalarType dtype = inputs.scalar_type();
  const torch::Tensor baselines = options.baseline().resolve(inputs);
  Integrator integrator(model, extras, options.output(), options.internal_batch_size(), options.batch_sizing());
  // F at the end the rule lacks comes from one forward call (F(x) also from finding the class).
  EndValues ends = set_targets_and_end_values(integrator, options.target(), options.output(), inputs, baselines,
                                              rule == Rule::RiemannLeft, rule == Rule::RiemannRight);
  std::vector<double> output_input = std::move(ends.input);
  std::vector<double> output_baseline = std::move(ends.baseline);
  output_input.resize(batch_size);
  output_baseline.resize(batch_size);

  std::vector<DoublingState> states(static_cast<size_t>(batch_size), DoublingState(dtype, options.output()));
  std::vector<PathScan> scans =
      scan_paths(integrator, baselines, inputs, {}, options.scan_points(), options.output(), options.internal_batch_size());
  // The change of the last doubling is the leading term of a first-order rule's error (left,
  // right) and three times the trapezoid's: twice it for the former leaves a margin for the rest.
  const double change_factor = rule == Rule::RiemannTrapezoid ? 1.0 : 2.0;
  const int64_t first_intervals = rule == Rule::RiemannTrapezoid ? options.initial_steps() - 1 : options.initial_steps();
  for (int64_t b = 0; b < batch_size; ++b) {
    states[b].intervals = first_intervals;
    states[b].scan = std::move(scans[b]);
    states[b].rounding.see(states[b].scan.output_magnitude);
  }
  Attribution attribution;
  attribution.examples.resize(batch_size);
  // F at the ends in float64, when the model has a float64 form: completeness is then checked
  // against ends free of the model's rounding, and that rounding is measured.
  const std::optional<Float64Ends> exact = float64_ends(model, inputs, baselines, integrator.targets(), options, extras);

  bool first_level = true;
  while (std::any_of(states.begin(), states.end(), [](const DoublingState& s) { return s.active; })) {
    std::vector<StraightLinePath> paths;
    std::vector<int64_t> owners;
    paths.reserve(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      if (!states[b].active) continue;
      paths.emplace_back(baselines[b], inputs[b], level_nodes(rule, states[b].intervals, first_level));
      owners.push_back(b);
    }
    std::vector<PathJob> jobs;
    for (size_t p = 0; p < paths.size(); ++p) jobs.push_back({&paths[p], owners[p]});
    const std::vector<PathResult> results = integrator.integrate(jobs);

    for (size_t p = 0; p < paths.size(); ++p) {
      const int64_t b = owners[p];
      DoublingState& state = states[b];
      const Quadrature& q = paths[p].quadrature();
      state.sum = state.sum.defined() ? state.sum + results[p].weighted_gradient_sum : results[p].weighted_gradient_sum;
      state.steps += static_cast<int64_t>(q.nodes.size());
      if (!first_level) state.intervals *= 2;
      for (size_t k = 0; k < q.nodes.size(); ++k) {
        state.values.emplace_back(q.nodes[k], results[p].values[k]);
        state.rounding.see(results[p].output_magnitudes[k]);
      }
      if (first_level) {
        if (q.nodes.front() == 0.0) output_baseline[b] = results[p].values.front();
        if (q.nodes.back() == 1.0) output_input[b] = results[p].values.back();
        if (q.nodes.front() != 0.0) state.values.emplace_back(0.0, output_baseline[b]);
        if (q.nodes.back() != 1.0) state.values.emplace_back(1.0, output_input[b]);
        if (exact) {
          state.rounding.calibrate(output_input[b], exact->output_input[b]);
          state.rounding.calibrate(output_baseline[b], exact->output_baseline[b]);
        }
      }
      const torch::Tensor current = state.sum / static_cast<double>(state.intervals) *
                                    (inputs[b] - baselines[b]).to(state.sum.device(), torch::kDouble);
      if (state.attributions.defined()) {
        if (state.change.defined()) state.previous_change = state.change.sum().item<double>();
        state.change = (current - state.attributions).abs();
      }
      state.attributions = current;

      ExampleReport& report = attribution.examples[b];
      report.output_input = exact ? exact->output_input[b] : output_input[b];
      report.output_baseline = exact ? exact->output_baseline[b] : output_baseline[b];
      report.attribution_sum = current.sum().item<double>();
      complete_report(report, options, dtype);

      // Completeness: |delta| plus the rounding of the two ends (none against float64 ends) and of
      // the attributions' cast.
      ErrorStanding& standing = state.standing;
      standing.attribution_norm = current.abs().sum().item<double>();
      standing.vector_floor = vector_floor(b, options);
      const double cast = dtype == torch::kDouble ? 0.0 : 0.5 * state.rounding.epsilon() * standing.attribution_norm;
      standing.completeness_target = error_target(b, report.output_input, report.output_baseline, options, dtype);
      standing.completeness_floor =
          exact ? cast : state.rounding.of_value(report.output_input) + state.rounding.of_value(report.output_baseline) + cast;
      standing.completeness_bound = std::abs(report.delta) + standing.completeness_floor;
      standing.precision_limited =
          !standing.completeness_met() && standing.completeness_floor >= standing.completeness_target;
      // Doubling goes on while |delta| is more than rounding (it can still remove error).
      standing.refinable = std::abs(report.delta) > standing.completeness_floor;
      // The vector: what the last doubling changed estimates the error of the finer level (first
      // order rules: it is the error's leading term; the trapezoid's is a third of it), once the
      // levels converge: the last change smaller than the one before, by a ratio r, so that the
      // changes still to come sum to r / (1 - r) of it if they keep shrinking so. Before (the first
      // two levels, or a change that grew: right Riemann on a float64 saturating MLP changed by
      // 1.5 % then 2.5 % at n = 128, 8.6 % off, where twice the last change said 5 %) there is no
      // estimate; nor for a level between whose nodes the scan sees F move: F's hidden variation
      // only bounds the vector's error there from below (features cancel in F).
      // The gradients' rounding follows F where they were computed (certificate.h).
      for (const auto& [alpha, value] : state.values) {
        standing.vector_rounding = std::max(standing.vector_rounding, state.rounding.of_gradients(value));
      }
      standing.vector_error.reset();  // this level's estimate, or none
      state.estimate_factor = std::nan("");
      if (state.change.defined() && state.previous_change >= 0.0) {
        const double change = state.change.sum().item<double>();
        const double ratio = change == 0.0 ? 0.0 : change / state.previous_change;
        if (ratio < 1.0) state.estimate_factor = std::max(change_factor, ratio / (1.0 - ratio));
      }
      if (!std::isnan(state.estimate_factor) && !(state.hidden_variation() > 0.0)) {
        standing.vector_error =
            std::max(state.estimate_factor * state.change.sum().item<double>() + standing.vector_rounding,
                     std::abs(report.delta));
      }
      const bool done = standing.completeness_met() && standing.vector_met(options.attribution_tolerance());
      // The next level adds `intervals` nodes.
      const bool only_rounding_left = (standing.precision_limited && !standing.refinable) ||
                                      (standing.completeness_met() &&
                                       standing.vector_precision_limited(options.attribution_tolerance()));
      if (done || only_rounding_left || state.steps + state.intervals > options.max_steps()) state.active = false;
    }
    first_level = false;
  }

  std::vector<torch::Tensor> values, errors;
  for (int64_t b = 0; b < batch_size; ++b) {
    const DoublingState& state = states[b];
    const torch::Tensor integrated = state.sum / static_cast<double>(state.intervals);
    values.push_back(options.multiply_by_inputs() ? state.attributions : integrated);
    errors.push_back(!std::isnan(state.estimate_factor) ? state.estimate_factor * state.change
                                            : torch::full_like(state.attributions, std::nan("")));
    ExampleReport& report = attribution.examples[b];
    report.target = integrator.targets()[b].item<int64_t>();
    report.steps = state.steps;
    report.forward_steps = static_cast<int64_t>(state.scan.values.size());
    std::vector<double> sampled = state.scan.alphas;
    for (const auto& [alpha, value] : state.values) sampled.push_back(alpha);
    report.scan_resolution = widest_unsampled_stretch(std::move(sampled));
    write_certificate(report, state.standing, options);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.errors = torch::stack(errors).to(torch::kCPU);
  attribution.counts = integrator.counts();
  if (exact) {
    attribution.counts.forward_rows += exact->counts.forward_rows;
    attribution.counts.batches += exact->counts.batches;
  }
  return attribution;
}

}  // namespace igx::detail
