#include "certificate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/target.h"

namespace igx::detail {

void check_error_control_options(const IgOptions& options, int64_t batch_size) {
  if (!(options.tolerance() > 0.0) || !std::isfinite(options.tolerance())) {
    throw UsageError("tolerance must be positive, got " + std::to_string(options.tolerance()));
  }
  if (!(options.attribution_tolerance() >= 0.0) || !std::isfinite(options.attribution_tolerance())) {
    throw UsageError("attribution_tolerance must be >= 0 (0: completeness alone), got " +
                     std::to_string(options.attribution_tolerance()));
  }
  if (options.scan_points() < 0) {
    throw UsageError("scan_points must be >= 0 (0: no scan), got " + std::to_string(options.scan_points()));
  }
  const std::vector<double>& targets = options.absolute_targets();
  if (!targets.empty()) {
    if (static_cast<int64_t>(targets.size()) != batch_size) {
      throw UsageError("absolute_targets has " + std::to_string(targets.size()) + " entries for " +
                       std::to_string(batch_size) + " examples");
    }
    for (double target : targets) {
      if (!(target >= 0.0) || !std::isfinite(target)) {
        throw UsageError("absolute_targets must be finite and >= 0 (0: the relative target), got " + std::to_string(target));
      }
    }
  }
  if (options.max_steps() < 1) throw UsageError("max_steps must be at least 1, got " + std::to_string(options.max_steps()));
}

double error_target(int64_t b, double output_input, double output_baseline, const IgOptions& options,
                    torch::ScalarType dtype) {
  if (!options.absolute_targets().empty() && options.absolute_targets()[b] > 0.0) return options.absolute_targets()[b];
  const double gap = std::abs(output_input - output_baseline);
  if (relative_error(0.0, output_input, output_baseline, options.min_output_gap(), dtype)) {
    return options.tolerance() * gap;
  }
  return std::max(options.min_output_gap(), gap);
}

double vector_floor(int64_t b, const IgOptions& options) {
  return options.absolute_targets().empty() ? 0.0 : options.absolute_targets()[b];
}

Rounding::Rounding(torch::ScalarType dtype, OutputKind output)
    : epsilon_(dtype == torch::kDouble  ? std::numeric_limits<double>::epsilon()
               : dtype == torch::kFloat ? std::numeric_limits<float>::epsilon()
               : dtype == torch::kHalf  ? 1.0 / 1024.0
                                        : 1.0 / 128.0),  // bfloat16
      output_(output) {}

double Rounding::scale(double value) const {
  double propagated = largest_output_;  // a logit's own rounding
  if (output_ == OutputKind::Probability) {
    const double p = std::clamp(value, 0.0, 1.0);
    propagated = 2.0 * p * (1.0 - p) * largest_output_;
  } else if (output_ == OutputKind::LogProbability) {
    propagated = 2.0 * largest_output_;
  }
  return std::abs(value) + propagated;
}

void Rounding::calibrate(double value, double float64_value) {
  const double unit = epsilon_ * scale(value);
  const double ratio = unit > 0.0 ? std::abs(value - float64_value) / unit : 0.0;
  const double measured = kCalibratedMargin * std::max(1.0, ratio);
  factor_ = calibrated_ ? std::max(factor_, measured) : measured;
  calibrated_ = true;
}

std::optional<Float64Ends> float64_ends(Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                        const torch::Tensor& targets, const IgOptions& options,
                                        const ExtraInputs& extras) {
  if (!options.float64_ends() || inputs.scalar_type() == torch::kDouble) return std::nullopt;
  std::shared_ptr<Model> twin = model.in_float64();
  if (!twin) return std::nullopt;
  ExtraInputs float64_extras;
  for (const torch::Tensor& extra : extras) {
    float64_extras.push_back(extra.is_floating_point() ? extra.to(torch::kDouble) : extra);
  }
  const int64_t batch_size = inputs.size(0);
  const torch::Tensor examples = torch::arange(batch_size, torch::kLong);
  const torch::Tensor both = torch::cat({examples, examples});
  Integrator integrator(*twin, float64_extras, options.output(), options.internal_batch_size(), options.batch_sizing());
  torch::Tensor outputs;
  try {
    outputs = integrator.outputs(torch::cat({inputs, baselines}).to(torch::kDouble), both);
  } catch (const std::exception&) {
    return std::nullopt;  // a form that does not run in float64 (weights it keeps in float32, say)
  }
  if (outputs.scalar_type() != torch::kDouble) return std::nullopt;  // it computes in its own dtype
  const std::vector<double> values = to_vector(select_output(outputs, targets.index_select(0, both), options.output()));
  Float64Ends ends;
  ends.output_input.assign(values.begin(), values.begin() + batch_size);
  ends.output_baseline.assign(values.begin() + batch_size, values.end());
  ends.counts = integrator.counts();
  return ends;
}

double PathScan::hidden_variation(const std::vector<double>& alphas, const std::vector<double>& node_values,
                                  const Rounding& rounding) const {
  if (values.empty() || alphas.size() < 2) return 0.0;
  const double points = static_cast<double>(values.size() - 1);
  const double a = alphas.front(), b = alphas.back();
  // Scan indices strictly inside (a, b) that are not nodes themselves.
  const auto first = static_cast<int64_t>(std::floor(a * points)) + 1;
  const auto last = static_cast<int64_t>(std::ceil(b * points)) - 1;
  double merged = 0.0, seen = 0.0, previous = node_values.front(), allowance = 0.0;
  size_t node = 1;
  for (int64_t k = first; k <= last; ++k) {
    const double alpha = static_cast<double>(k) / points;
    if (alpha <= a || alpha >= b) continue;
    while (node < alphas.size() && alphas[node] <= alpha) {
      merged += std::abs(node_values[node] - previous);
      previous = node_values[node];
      ++node;
    }
    if (alphas[node - 1] == alpha) continue;  // a node sits on this scan point
    merged += std::abs(values[static_cast<size_t>(k)] - previous);
    previous = values[static_cast<size_t>(k)];
    allowance += 2.0 * rounding.of_value(previous);
  }
  for (; node < alphas.size(); ++node) {
    merged += std::abs(node_values[node] - previous);
    previous = node_values[node];
  }
  for (size_t i = 1; i < node_values.size(); ++i) seen += std::abs(node_values[i] - node_values[i - 1]);
  return std::max(0.0, merged - seen - allowance);
}

std::vector<PathScan> scan_paths(Integrator& integrator, const torch::Tensor& baselines, const torch::Tensor& inputs,
                                 int64_t points, OutputKind output, int64_t internal_batch_size) {
  const int64_t batch_size = inputs.size(0);
  std::vector<PathScan> scans(static_cast<size_t>(batch_size));
  if (points <= 0) return scans;
  const int64_t per_path = points + 1;
  std::vector<double> alphas(static_cast<size_t>(per_path));
  for (int64_t k = 0; k < per_path; ++k) alphas[k] = static_cast<double>(k) / static_cast<double>(points);
  const Quadrature nodes{alphas, std::vector<double>(alphas.size(), 0.0)};
  // Whole paths per model call, as many as fit in the batch size (at least one).
  const int64_t paths_per_call =
      internal_batch_size > 0 ? std::max<int64_t>(1, internal_batch_size / per_path) : batch_size;
  for (int64_t begin = 0; begin < batch_size; begin += paths_per_call) {
    const int64_t count = std::min(paths_per_call, batch_size - begin);
    std::vector<int64_t> shape = inputs.sizes().vec();
    shape[0] = count * per_path;
    torch::Tensor buffer = torch::empty(shape, inputs.options());
    std::vector<int64_t> example_of_row;
    for (int64_t b = begin; b < begin + count; ++b) {
      StraightLinePath(baselines[b], inputs[b], nodes)
          .write_points(0, per_path, buffer.narrow(0, (b - begin) * per_path, per_path));
      example_of_row.insert(example_of_row.end(), per_path, b);
    }
    const torch::Tensor examples = torch::tensor(example_of_row, torch::kLong);
    const torch::Tensor outputs = integrator.outputs(buffer, examples);
    check_targets(integrator.targets(), outputs.dim() == 1 ? 1 : outputs.size(1));
    const torch::Tensor selected =
        select_output(outputs, integrator.targets().index_select(0, examples), output).to(torch::kCPU, torch::kDouble);
    const torch::Tensor magnitudes =
        outputs.detach().abs().reshape({outputs.size(0), -1}).amax(1).to(torch::kCPU, torch::kDouble);
    const std::vector<double> values = to_vector(selected);
    const std::vector<double> largest = to_vector(magnitudes);
    for (int64_t b = begin; b < begin + count; ++b) {
      PathScan& scan = scans[static_cast<size_t>(b)];
      const auto offset = static_cast<size_t>((b - begin) * per_path);
      scan.values.assign(values.begin() + offset, values.begin() + offset + per_path);
      scan.output_magnitude = *std::max_element(largest.begin() + offset, largest.begin() + offset + per_path);
    }
  }
  return scans;
}

bool ErrorStanding::vector_met(double attribution_tolerance) const {
  if (!(attribution_tolerance > 0.0)) return true;
  return vector_error && *vector_error <= std::max(attribution_tolerance * attribution_norm, vector_floor);
}

void write_certificate(ExampleReport& report, const ErrorStanding& standing, const IgOptions& options) {
  const double gap = std::abs(report.output_input - report.output_baseline);
  report.completeness_certified = standing.completeness_met();
  report.absolute_error_bound = standing.completeness_bound;
  if (report.relative_error) report.error_bound = standing.completeness_bound / gap;
  report.precision_limited = standing.precision_limited;
  if (standing.precision_limited) {
    report.attainable_error_bound =
        report.relative_error ? standing.completeness_floor / gap : standing.completeness_floor;
  }
  if (standing.vector_error && standing.attribution_norm > 0.0) {
    report.attribution_error = *standing.vector_error / standing.attribution_norm;
  }
  bool certified = *report.completeness_certified;
  if (options.attribution_tolerance() > 0.0) {
    report.attribution_certified = standing.vector_met(options.attribution_tolerance());
    certified = certified && *report.attribution_certified;
  }
  report.certified = certified;
}

}  // namespace igx::detail
