#include "igx/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/json_text.h"
#include "igx/memory.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

constexpr double kNotApplicable = std::numeric_limits<double>::quiet_NaN();

// Index of the node equal to `alpha`, if the rule has one (end points are exact by construction).
std::optional<size_t> node_at(const Quadrature& quadrature, double alpha) {
  const auto it = std::find(quadrature.nodes.begin(), quadrature.nodes.end(), alpha);
  if (it == quadrature.nodes.end()) return std::nullopt;
  return static_cast<size_t>(it - quadrature.nodes.begin());
}

}  // namespace

namespace detail {

void check_inputs(const torch::Tensor& inputs, const ExtraInputs& extras) {
  require_floating(inputs, "input");
  if (inputs.dim() < 1 || inputs.size(0) < 1) {
    throw Error("input has shape " + shape_string(inputs) +
                "; expected a batch [B, ...] with at least one example");
  }
  require_finite(inputs, "input");
  for (size_t i = 0; i < extras.size(); ++i) {
    if (!extras[i].defined() || extras[i].dim() < 1 || extras[i].size(0) != inputs.size(0)) {
      throw Error("extra model input " + std::to_string(i) + " has shape " +
                  (extras[i].defined() ? shape_string(extras[i]) : std::string("(none)")) +
                  "; expected one row per example, [" + std::to_string(inputs.size(0)) + ", ...]");
    }
  }
}

EndValues set_targets_and_end_values(Integrator& integrator, const Target& target, OutputKind output,
                                     const torch::Tensor& inputs, const torch::Tensor& baselines, bool need_input,
                                     bool need_baseline) {
  const int64_t batch_size = inputs.size(0);
  const bool evaluate_inputs = need_input || target.is_predicted();
  EndValues ends;
  if (!evaluate_inputs && !need_baseline) {
    integrator.set_targets(target.resolve(batch_size));
    return ends;
  }
  const torch::Tensor examples = torch::arange(batch_size, torch::kLong);
  const torch::Tensor points = evaluate_inputs && need_baseline ? torch::cat({inputs, baselines})
                               : evaluate_inputs                ? inputs
                                                                : baselines;
  const torch::Tensor rows = evaluate_inputs && need_baseline ? torch::cat({examples, examples}) : examples;
  torch::Tensor values;
  if (target.is_predicted()) {
    // The class is picked from all of x's outputs, so all of them must be finite; the baselines'
    // rows share the call and their outputs are held to the same rule (it names the example and
    // the forward-only point).
    const torch::Tensor outputs = integrator.outputs(points, rows);
    integrator.set_targets(target.resolve(batch_size, outputs.narrow(0, 0, batch_size)));
    values = select_output(outputs, integrator.targets().index_select(0, rows), output);
  } else {
    integrator.set_targets(target.resolve(batch_size));
    values = integrator.values(points, rows);
  }
  const std::vector<double> all = to_vector(values);
  if (evaluate_inputs) ends.input.assign(all.begin(), all.begin() + batch_size);
  if (need_baseline) ends.baseline.assign(all.end() - batch_size, all.end());
  return ends;
}

std::vector<double> set_targets(Integrator& integrator, const Target& target, OutputKind output,
                                const torch::Tensor& inputs, bool need_output_input) {
  return set_targets_and_end_values(integrator, target, output, inputs, torch::Tensor(), need_output_input, false).input;
}

std::vector<double> to_vector(const torch::Tensor& tensor) {
  const torch::Tensor values = tensor.to(torch::kCPU, torch::kDouble).contiguous();
  return {values.data_ptr<double>(), values.data_ptr<double>() + values.numel()};
}

namespace {

template <typename T>
void multiply_rows(const std::vector<PathResult>& results, const T* inputs, const T* baselines, int64_t row_size,
                   bool multiply, T* values, std::vector<double>& sums) {
  for (size_t b = 0; b < results.size(); ++b) {
    const double* integrated = results[b].weighted_gradient_sum.data_ptr<double>();
    const T* input = inputs + b * row_size;
    const T* baseline = baselines + b * row_size;
    T* value = values + b * row_size;
    double sum = 0;
    for (int64_t i = 0; i < row_size; ++i) {
      // x - x' in the examples' precision, as the tensor expression inputs - baselines gives it.
      const T difference = input[i] - baseline[i];
      const double attribution = integrated[i] * static_cast<double>(difference);
      sum += attribution;
      value[i] = static_cast<T>(multiply ? attribution : integrated[i]);
    }
    sums[b] = sum;
  }
}

}  // namespace

torch::Tensor multiply_by_differences(const std::vector<PathResult>& results, const torch::Tensor& inputs,
                                      const torch::Tensor& baselines, bool multiply, std::vector<double>& sums) {
  const auto batch_size = static_cast<int64_t>(results.size());
  sums.assign(batch_size, 0.0);
  const auto dtype = inputs.scalar_type();
  bool on_cpu = inputs.device().is_cpu() && baselines.device().is_cpu() && baselines.scalar_type() == dtype &&
                (dtype == torch::kFloat || dtype == torch::kDouble) && inputs.is_contiguous() && baselines.is_contiguous();
  for (const PathResult& result : results) {
    on_cpu = on_cpu && result.weighted_gradient_sum.device().is_cpu() && result.weighted_gradient_sum.is_contiguous();
  }
  if (on_cpu) {
    // One pass per example: the whole-batch tensor expression below takes ~10 operations, ~1.5 %
    // of a small MLP's IG call (docs/benchmarks.md, session 7).
    torch::Tensor values = torch::empty(inputs.sizes(), inputs.options());
    const int64_t row_size = inputs.numel() / batch_size;
    if (dtype == torch::kFloat) {
      multiply_rows(results, inputs.data_ptr<float>(), baselines.data_ptr<float>(), row_size, multiply,
                    values.data_ptr<float>(), sums);
    } else {
      multiply_rows(results, inputs.data_ptr<double>(), baselines.data_ptr<double>(), row_size, multiply,
                    values.data_ptr<double>(), sums);
    }
    return values;
  }
  std::vector<torch::Tensor> integrated_rows;
  integrated_rows.reserve(batch_size);
  for (const PathResult& result : results) integrated_rows.push_back(result.weighted_gradient_sum);
  const torch::Tensor integrated = torch::stack(integrated_rows);
  const torch::Tensor multiplied = integrated * (inputs - baselines).to(integrated.device(), torch::kDouble);
  sums = to_vector(multiplied.reshape({batch_size, -1}).sum(1));
  return (multiply ? multiplied : integrated).to(inputs.device(), dtype);
}

void complete_report(ExampleReport& report, const IgOptions& options, torch::ScalarType dtype) {
  report.delta = report.attribution_sum - (report.output_input - report.output_baseline);
  report.relative_error = relative_error(report.delta, report.output_input, report.output_baseline,
                                         options.min_output_gap(), dtype);
}

}  // namespace detail

std::string strategy_name(Strategy strategy) {
  switch (strategy) {
    case Strategy::Fixed:
      return "fixed";
    case Strategy::Doubling:
      return "doubling";
    case Strategy::IntervalAdaptive:
      return "adaptive";
  }
  return "fixed";
}

Strategy parse_strategy(const std::string& name) {
  if (name == "fixed") return Strategy::Fixed;
  if (name == "doubling") return Strategy::Doubling;
  if (name == "adaptive" || name == "interval-adaptive") return Strategy::IntervalAdaptive;
  throw UsageError("unknown integration strategy '" + clip_text(name) + "'; expected fixed, doubling or adaptive");
}

std::string certify_name(Certify certify) {
  return certify == Certify::Completeness ? "completeness" : "panels";
}

Certify parse_certify(const std::string& name) {
  if (name == "panels") return Certify::PanelSum;
  if (name == "completeness") return Certify::Completeness;
  throw UsageError("unknown certification criterion '" + clip_text(name) + "'; expected panels (sum of the Simpson panels' |errors|) "
                   "or completeness (|delta| itself)");
}

std::optional<double> relative_error(double delta, double output_input, double output_baseline,
                                     double min_gap, torch::ScalarType dtype) {
  const double gap = output_input - output_baseline;
  const double epsilon = dtype == torch::kDouble ? std::numeric_limits<double>::epsilon()
                                                 : std::numeric_limits<float>::epsilon();
  // Below a few hundred ulps of the outputs, the gap is rounding noise, not a signal.
  const double noise = 64.0 * epsilon * std::max(std::abs(output_input), std::abs(output_baseline));
  if (std::abs(gap) <= std::max(min_gap, noise)) return std::nullopt;
  return std::abs(delta) / std::abs(gap);
}

Attribution integrated_gradients(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                 const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  if (options.strategy() == Strategy::Doubling) return detail::integrate_by_doubling(model, inputs, options, extras);
  if (options.strategy() == Strategy::IntervalAdaptive) return detail::integrate_adaptively(model, inputs, options, extras);

  const int64_t batch_size = inputs.size(0);
  // Every example's path holds the nodes and weights (16 bytes a step), and F at each node.
  require_memory(static_cast<double>(options.n_steps()) * (24.0 * static_cast<double>(batch_size) + 16.0),
                 std::to_string(options.n_steps()) + " integration steps per example (" + std::to_string(batch_size) +
                     " examples)");
  const Quadrature quadrature = make_quadrature(options.method(), options.n_steps());
  const torch::Tensor baselines = options.baseline().resolve(inputs);
  const std::optional<size_t> input_node = node_at(quadrature, 1.0);
  const std::optional<size_t> baseline_node = node_at(quadrature, 0.0);

  Integrator integrator(model, extras, options.output(), options.internal_batch_size(), options.batch_sizing());
  // F(x) and F(x') come from the path when the rule has nodes at 1 and 0, else from one forward
  // call; the predicted class needs F at x first, and that pass then gives F(x) too.
  const detail::EndValues ends = detail::set_targets_and_end_values(
      integrator, options.target(), options.output(), inputs, baselines, !input_node, !baseline_node);

  std::vector<StraightLinePath> paths;
  paths.reserve(batch_size);
  for (int64_t b = 0; b < batch_size; ++b) paths.emplace_back(baselines[b], inputs[b], quadrature);
  std::vector<PathJob> jobs;
  for (int64_t b = 0; b < batch_size; ++b) jobs.push_back({&paths[b], b});
  const std::vector<PathResult> results = integrator.integrate(jobs);

  Attribution attribution;
  std::vector<double> attribution_sums;
  attribution.values = detail::multiply_by_differences(results, inputs, baselines, options.multiply_by_inputs(),
                                                       attribution_sums);
  const std::vector<double> targets = detail::to_vector(integrator.targets());
  for (int64_t b = 0; b < batch_size; ++b) {
    ExampleReport report;
    report.target = static_cast<int64_t>(targets[b]);
    report.output_input = ends.input.empty() ? results[b].values[*input_node] : ends.input[b];
    report.output_baseline = ends.baseline.empty() ? results[b].values[*baseline_node] : ends.baseline[b];
    report.attribution_sum = attribution_sums[b];
    report.steps = static_cast<int64_t>(quadrature.nodes.size());
    detail::complete_report(report, options, inputs.scalar_type());
    attribution.examples.push_back(report);
  }
  attribution.counts = integrator.counts();
  return attribution;
}

torch::Tensor predict(Model& model, const torch::Tensor& inputs, int64_t internal_batch_size,
                      const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  Integrator integrator(model, extras, OutputKind::Logit, internal_batch_size);
  return Target::predicted().resolve(inputs.size(0),
                                     integrator.outputs(inputs, torch::arange(inputs.size(0))));
}

Attribution saliency(Model& model, const torch::Tensor& inputs, const GradientOptions& options,
                     const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  const int64_t batch_size = inputs.size(0);
  Integrator integrator(model, extras, options.output(), options.internal_batch_size());
  detail::set_targets(integrator, options.target(), options.output(), inputs, false);

  // The gradient at x is a one-point path with weight 1.
  std::vector<PointListPath> paths;
  paths.reserve(batch_size);
  for (int64_t b = 0; b < batch_size; ++b) {
    paths.emplace_back(inputs[b].unsqueeze(0), torch::ones({1}, torch::kDouble));
  }
  std::vector<PathJob> jobs;
  for (int64_t b = 0; b < batch_size; ++b) jobs.push_back({&paths[b], b});
  const std::vector<PathResult> results = integrator.integrate(jobs);

  Attribution attribution;
  std::vector<torch::Tensor> values;
  for (int64_t b = 0; b < batch_size; ++b) {
    const torch::Tensor gradient = results[b].weighted_gradient_sum;
    values.push_back(options.absolute() ? gradient.abs() : gradient);
    ExampleReport report;
    report.target = integrator.targets()[b].item<int64_t>();
    report.output_input = results[b].values[0];
    report.output_baseline = report.attribution_sum = report.delta = kNotApplicable;
    report.steps = 1;
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.counts = integrator.counts();
  return attribution;
}

Attribution input_x_gradient(Model& model, const torch::Tensor& inputs,
                             const GradientOptions& options, const ExtraInputs& extras) {
  return integrated_gradients(model, inputs,
                              IgOptions()
                                  .n_steps(1)
                                  .method(Rule::RiemannRight)
                                  .baseline(Baseline::zero())
                                  .target(options.target())
                                  .output(options.output())
                                  .internal_batch_size(options.internal_batch_size()),
                              extras);
}

}  // namespace igx
