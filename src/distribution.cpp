#include "igx/distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/memory.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// The class of every example, fixed before the inputs are expanded into copies.
std::vector<int64_t> fixed_targets(Model& model, const torch::Tensor& inputs, const Target& target,
                                   int64_t internal_batch_size, const ExtraInputs& extras) {
  const torch::Tensor resolved = target.is_predicted() ? predict(model, inputs, internal_batch_size, extras)
                                                       : target.resolve(inputs.size(0));
  return {resolved.data_ptr<int64_t>(), resolved.data_ptr<int64_t>() + resolved.numel()};
}

std::vector<int64_t> repeat_each(const std::vector<int64_t>& values, int64_t times) {
  std::vector<int64_t> repeated;
  repeated.reserve(values.size() * times);
  for (int64_t value : values) repeated.insert(repeated.end(), times, value);
  return repeated;
}

ExtraInputs repeat_each(const ExtraInputs& extras, int64_t times) {
  ExtraInputs repeated;
  for (const auto& extra : extras) repeated.push_back(extra.repeat_interleave(times, 0));
  return repeated;
}

// The baseline sets as [B, M, ...] on the inputs' device and dtype: a shared set [M, ...] is
// expanded (no copy) to every example.
torch::Tensor check_baselines(const torch::Tensor& baselines, const torch::Tensor& inputs) {
  require_floating(baselines, "baselines");
  const std::string example_shape = shape_string(inputs.sizes().slice(1)).substr(1);
  const bool shared = baselines.dim() == inputs.dim() && baselines.size(0) >= 1 &&
                      baselines.sizes().slice(1) == inputs.sizes().slice(1);
  const bool per_example = baselines.dim() == inputs.dim() + 1 && baselines.size(0) == inputs.size(0) &&
                           baselines.size(1) >= 1 && baselines.sizes().slice(2) == inputs.sizes().slice(1);
  if (!shared && !per_example) {
    throw Error("baselines have shape " + shape_string(baselines) + "; expected [M, " + example_shape +
                " (one set for every example) or [" + std::to_string(inputs.size(0)) + ", M, " + example_shape +
                " (a set per example), with M >= 1");
  }
  require_finite(baselines, "baselines");
  if (per_example) return baselines.to(inputs.device(), inputs.scalar_type());
  std::vector<int64_t> sets_shape = baselines.sizes().vec();
  sets_shape.insert(sets_shape.begin(), inputs.size(0));
  return baselines.to(inputs.device(), inputs.scalar_type()).unsqueeze(0).expand(sets_shape);
}

// Combines `copies` consecutive reports of the same example: F(x) is theirs, F(x') their mean,
// steps their sum; delta and relative error are recomputed for the combination. `vector_error`:
// the L1 norm of the pairs' mean per-feature error estimate (negative when there is none), and
// `attribution_norm` the L1 norm of the mean attributions.
ExampleReport combine(const std::vector<ExampleReport>& reports, int64_t first, int64_t copies, double attribution_sum,
                      double vector_error, double attribution_norm, const IgOptions& options, torch::ScalarType dtype) {
  ExampleReport combined;
  combined.target = reports[first].target;
  double error_sum = 0.0;
  bool bounded = true, all_certified = true, any_certificate = false, vectors_certified = true;
  for (int64_t j = first; j < first + copies; ++j) {
    const ExampleReport& report = reports[j];
    combined.output_input += report.output_input / static_cast<double>(copies);
    combined.output_baseline += report.output_baseline / static_cast<double>(copies);
    combined.steps += report.steps;
    combined.forward_steps += report.forward_steps;
    if (report.scan_resolution) combined.scan_resolution = std::max(combined.scan_resolution.value_or(0.0), *report.scan_resolution);
    combined.precision_limited = combined.precision_limited || report.precision_limited;
    if (report.certified) {
      any_certificate = true;
      all_certified = all_certified && *report.certified;
    }
    vectors_certified = vectors_certified && report.attribution_certified.value_or(true);
    if (report.absolute_error_bound) {
      error_sum += *report.absolute_error_bound;
    } else {
      bounded = false;
    }
  }
  combined.attribution_sum = attribution_sum;
  detail::complete_report(combined, options, dtype);
  if (!any_certificate) return combined;
  // The mean's per-feature error is at most the mean of the pairs' estimates.
  if (vector_error >= 0.0 && attribution_norm > 0.0) combined.attribution_error = vector_error / attribution_norm;
  if (options.attribution_tolerance() > 0.0) {
    combined.attribution_certified =
        vectors_certified && combined.attribution_error && *combined.attribution_error <= options.attribution_tolerance();
  }
  // |mean of deltas| <= mean of the pairs' absolute bounds: that bound, relative to
  // F(x) - E[F(X')], is what is certified. When every pair met tolerance * |F(x) - E[F(X')]|
  // it is within the tolerance; it may be too when some pair ran out of budget.
  if (bounded && combined.relative_error) {
    combined.absolute_error_bound = error_sum / static_cast<double>(copies);
    combined.error_bound = *combined.absolute_error_bound / std::abs(combined.output_input - combined.output_baseline);
    combined.completeness_certified = *combined.error_bound <= options.tolerance();
    combined.certified = *combined.completeness_certified && combined.attribution_certified.value_or(true);
  } else {
    combined.certified = all_certified;  // no relative error in expectation: the pairs' own certificates
  }
  return combined;
}

}  // namespace

Attribution distribution_integrated_gradients(Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                              const IgOptions& options, const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  const torch::Tensor checked = check_baselines(baselines, inputs);
  const int64_t batch_size = inputs.size(0), count = checked.size(1);
  const std::vector<int64_t> targets =
      fixed_targets(model, inputs, options.target(), options.internal_batch_size(), extras);
  const torch::ScalarType dtype = inputs.scalar_type();
  IgOptions pair_options = IgOptions(options)
                               .baseline(Baseline::tensor(checked.flatten(0, 1)))
                               .target(Target::per_example(repeat_each(targets, count)))
                               .absolute_targets({});

  // Error control: what matters is the error of the mean, |mean_j delta_j| <= mean_j |delta_j|, so
  // every pair is integrated to the absolute error tolerance * |F(x) - E[F(X')]| rather than to
  // the tolerance of its own gap |F(x) - F(x'_j)|, which is tiny for a baseline whose output is
  // close to the input's (a training image of the same class) and would cost a huge number of
  // steps. F(x) and every F(x'_j) come first, from one batched forward pass.
  EvaluationCounts forward_counts;
  if (options.strategy() != Strategy::Fixed) {
    Integrator integrator(model, extras, options.output(), options.internal_batch_size());
    integrator.set_targets(torch::tensor(targets, torch::kLong));
    const torch::Tensor examples = torch::arange(batch_size, torch::kLong);
    const std::vector<double> outputs = detail::to_vector(integrator.values(
        torch::cat({inputs, checked.flatten(0, 1)}), torch::cat({examples, examples.repeat_interleave(count)})));
    forward_counts = integrator.counts();
    std::vector<double> absolute_targets(batch_size * count, 0.0);
    for (int64_t b = 0; b < batch_size; ++b) {
      double mean_baseline_output = 0.0;
      for (int64_t j = 0; j < count; ++j) {
        mean_baseline_output += outputs[batch_size + b * count + j] / static_cast<double>(count);
      }
      // When F(x) - E[F(X')] is itself below the gap floor (min_output_gap or float noise), there
      // is no relative error in expectation to certify: the pairs keep their own relative targets
      // (entries of 0), the behaviour before this scheme.
      if (!relative_error(0.0, outputs[b], mean_baseline_output, options.min_output_gap(), dtype)) continue;
      const double target = options.tolerance() * std::abs(outputs[b] - mean_baseline_output);
      std::fill_n(absolute_targets.begin() + b * count, count, target);
    }
    pair_options.absolute_targets(std::move(absolute_targets));
  }

  // Every (example, baseline) pair is one IG problem; one call integrates them all, batched.
  const Attribution pairs =
      integrated_gradients(model, inputs.repeat_interleave(count, 0), pair_options, repeat_each(extras, count));

  std::vector<int64_t> grouped_shape = inputs.sizes().vec();
  grouped_shape.insert(grouped_shape.begin() + 1, count);
  Attribution attribution;
  attribution.values = pairs.values.view(grouped_shape).mean(1);
  attribution.counts = pairs.counts;
  attribution.counts.forward_rows += forward_counts.forward_rows;
  attribution.counts.batches += forward_counts.batches;
  if (pairs.errors.defined()) attribution.errors = pairs.errors.view(grouped_shape).mean(1);
  const torch::Tensor sums = attribution.values.to(torch::kDouble).flatten(1).sum(1).cpu();
  const torch::Tensor norms = attribution.values.to(torch::kDouble).abs().flatten(1).sum(1).cpu();
  for (int64_t b = 0; b < batch_size; ++b) {
    const double vector_error = attribution.errors.defined() ? attribution.errors[b].nan_to_num(0.0).sum().item<double>() : -1.0;
    attribution.examples.push_back(combine(pairs.examples, b * count, count, sums[b].item<double>(), vector_error,
                                           norms[b].item<double>(), options, dtype));
  }
  return attribution;
}

ExpectedGradients expected_gradients(Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                     const ExpectedGradientsOptions& options, const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  const torch::Tensor checked = check_baselines(baselines, inputs);
  if (options.samples() < 2) {
    throw UsageError("expected gradients needs at least 2 samples for a standard error, got " +
                     std::to_string(options.samples()));
  }
  const int64_t batch_size = inputs.size(0), count = checked.size(1), samples = options.samples();
  // Per sample: its point, its difference, its float64 weights and its kept gradient.
  require_memory(static_cast<double>(samples) * static_cast<double>(inputs.numel()) *
                     (2.0 * static_cast<double>(inputs.element_size()) + 8.0 + static_cast<double>(inputs.element_size())),
                 std::to_string(samples) + " Expected Gradients samples per example (" + std::to_string(batch_size) +
                     " examples of " + std::to_string(inputs.numel() / std::max<int64_t>(1, batch_size)) + " features)");
  Integrator integrator(model, extras, options.output(), options.internal_batch_size());
  const std::vector<double> output_input =
      detail::set_targets(integrator, options.target(), options.output(), inputs, true);

  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  std::vector<PointListPath> paths;
  std::vector<torch::Tensor> differences;
  paths.reserve(batch_size);
  for (int64_t b = 0; b < batch_size; ++b) {
    const torch::Tensor drawn = torch::randint(count, {samples}, generator, torch::kLong);
    std::vector<int64_t> alpha_shape(inputs.dim(), 1);
    alpha_shape[0] = samples;
    const torch::Tensor alphas = torch::rand({samples}, generator, torch::kDouble).view(alpha_shape);
    const torch::Tensor starts = checked[b].index_select(0, drawn.to(checked.device()));
    const torch::Tensor difference = inputs[b].unsqueeze(0) - starts;  // [S, ...]
    differences.push_back(difference);
    paths.emplace_back(starts + alphas.to(starts.options()) * difference, difference.to(torch::kDouble) / samples);
  }
  std::vector<PathJob> jobs;
  for (int64_t b = 0; b < batch_size; ++b) jobs.push_back({&paths[b], b, true});
  const std::vector<PathResult> results = integrator.integrate(jobs);

  ExpectedGradients result;
  std::vector<torch::Tensor> values, errors;
  for (int64_t b = 0; b < batch_size; ++b) {
    const torch::Tensor contributions =
        results[b].gradients.to(torch::kDouble) * differences[b].to(results[b].gradients.device(), torch::kDouble);
    values.push_back(results[b].weighted_gradient_sum);
    errors.push_back(contributions.std(0, /*unbiased=*/true) / std::sqrt(static_cast<double>(samples)));
    const torch::Tensor per_sample_sums = contributions.flatten(1).sum(1);
    result.sum_standard_error.push_back(per_sample_sums.std().item<double>() / std::sqrt(static_cast<double>(samples)));

    ExampleReport report;
    report.target = integrator.targets()[b].item<int64_t>();
    report.output_input = output_input[b];
    // E[F(X')] over the example's whole baseline set, for its class.
    report.output_baseline = integrator.values(checked[b], torch::full({count}, b, torch::kLong)).mean().item<double>();
    report.attribution_sum = results[b].weighted_gradient_sum.sum().item<double>();
    report.steps = samples;
    detail::complete_report(report, IgOptions(), inputs.scalar_type());
    result.attribution.examples.push_back(report);
  }
  result.attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  result.standard_error = torch::stack(errors).to(torch::kCPU);
  result.attribution.counts = integrator.counts();
  return result;
}

NoiseAggregate parse_noise_aggregate(const std::string& name) {
  if (name == "smoothgrad") return NoiseAggregate::SmoothGrad;
  if (name == "smoothgrad_sq") return NoiseAggregate::SmoothGradSq;
  if (name == "vargrad") return NoiseAggregate::VarGrad;
  throw UsageError("unknown noise aggregate '" + name + "'; expected smoothgrad, smoothgrad_sq or vargrad");
}

Attribution noise_tunnel(Model& model, const torch::Tensor& inputs, const std::string& method, const IgOptions& options,
                         const NoiseOptions& noise, const ExtraInputs& extras) {
  detail::check_inputs(inputs, extras);
  if (noise.samples() < 1) throw Error("noise samples must be at least 1, got " + std::to_string(noise.samples()));
  if (!(noise.stddev() >= 0.0)) throw Error("noise stddev must be >= 0, got " + std::to_string(noise.stddev()));
  const int64_t batch_size = inputs.size(0), copies = noise.samples();
  const std::vector<int64_t> targets =
      fixed_targets(model, inputs, options.target(), options.internal_batch_size(), extras);
  const torch::Tensor baselines = options.baseline().resolve(inputs).repeat_interleave(copies, 0);

  auto generator = at::make_generator<at::CPUGeneratorImpl>(noise.seed());
  const torch::Tensor repeated = inputs.repeat_interleave(copies, 0);
  const torch::Tensor noisy =
      repeated + noise.stddev() * torch::randn(repeated.sizes(), generator, torch::kDouble).to(repeated.options());
  const Attribution copies_attribution =
      attribute(model, noisy, method,
                IgOptions(options).baseline(Baseline::tensor(baselines)).target(Target::per_example(repeat_each(targets, copies))),
                repeat_each(extras, copies));

  std::vector<int64_t> grouped_shape = inputs.sizes().vec();
  grouped_shape.insert(grouped_shape.begin() + 1, copies);
  const torch::Tensor grouped = copies_attribution.values.view(grouped_shape);
  Attribution attribution;
  switch (noise.aggregate()) {
    case NoiseAggregate::SmoothGrad:
      attribution.values = grouped.mean(1);
      break;
    case NoiseAggregate::SmoothGradSq:
      attribution.values = (grouped * grouped).mean(1);
      break;
    case NoiseAggregate::VarGrad:
      attribution.values = (grouped * grouped).mean(1) - grouped.mean(1).pow(2);
      break;
  }
  attribution.counts = copies_attribution.counts;
  for (int64_t b = 0; b < batch_size; ++b) {
    ExampleReport report;
    report.target = targets[b];
    constexpr double kNotApplicable = std::numeric_limits<double>::quiet_NaN();
    double delta = 0.0;
    for (int64_t c = 0; c < copies; ++c) {
      const ExampleReport& copy = copies_attribution.examples[b * copies + c];
      report.output_input += copy.output_input / static_cast<double>(copies);
      report.output_baseline += copy.output_baseline / static_cast<double>(copies);
      report.attribution_sum += copy.attribution_sum / static_cast<double>(copies);
      delta += copy.delta / static_cast<double>(copies);
      report.steps += copy.steps;
    }
    // Completeness carries over to the mean of the copies only (SmoothGrad of a complete method).
    if (noise.aggregate() == NoiseAggregate::SmoothGrad && std::isfinite(delta)) {
      detail::complete_report(report, options, inputs.scalar_type());
    } else {
      report.output_baseline = report.attribution_sum = report.delta = kNotApplicable;
    }
    attribution.examples.push_back(report);
  }
  return attribution;
}

}  // namespace igx
