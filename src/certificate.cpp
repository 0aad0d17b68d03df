#include "certificate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "ig_detail.h"
#include "igx/cancellation.h"
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
    // log p_t moves by (1 - p_t) dz_t - sum_{j != t} p_j dz_j under errors dz of the logits: at
    // most 2 (1 - p_t) |dz|; the log of the softmax's sum (in [1, classes]) adds about eps.
    const double p = std::exp(std::min(value, 0.0));
    propagated = 1.0 + 2.0 * (1.0 - p) * largest_output_;
  }
  return std::abs(value) + propagated;
}

double Rounding::gradient_scale(double value) const {
  // A saturated log-softmax's gradient 1 - exp(F) is computed from F rounded to about eps, and
  // the network's Jacobian carries that error at the scale of its raw outputs: 2 Z, not the
  // (1 - p_t) Z of F's own rounding.
  return output_ == OutputKind::LogProbability ? std::abs(value) + 2.0 * largest_output_ : scale(value);
}

double Rounding::of_gradients(double value) const {
  return output_ == OutputKind::Logit ? 0.0 : kRoundingFactor * epsilon_ * gradient_scale(value);
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
  } catch (const Cancelled&) {
    throw;  // the request was cancelled, not the float64 form refused
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

double PathScan::hidden_variation(const std::vector<double>& node_alphas, const std::vector<double>& node_values,
                                  const Rounding& rounding) const {
  if (values.empty() || node_alphas.size() < 2) return 0.0;
  const double a = node_alphas.front(), b = node_alphas.back();
  double merged = 0.0, seen = 0.0, previous = node_values.front(), allowance = 0.0;
  size_t node = 1;
  // The scan points strictly inside (a, b) that are not nodes themselves, merged with the nodes.
  for (auto k = std::upper_bound(alphas.begin(), alphas.end(), a); k != alphas.end() && *k < b; ++k) {
    while (node < node_alphas.size() && node_alphas[node] <= *k) {
      merged += std::abs(node_values[node] - previous);
      previous = node_values[node];
      ++node;
    }
    if (node_alphas[node - 1] == *k) continue;  // a node sits on this scan point
    const double value = values[static_cast<size_t>(k - alphas.begin())];
    merged += std::abs(value - previous);
    previous = value;
    allowance += 2.0 * rounding.of_value(previous);
  }
  for (; node < node_alphas.size(); ++node) {
    merged += std::abs(node_values[node] - previous);
    previous = node_values[node];
  }
  for (size_t i = 1; i < node_values.size(); ++i) seen += std::abs(node_values[i] - node_values[i - 1]);
  return std::max(0.0, merged - seen - allowance);
}

namespace {

// Forward-only rows per model call: on the shipped spam-transformer a forward-only row costs
// about 1.5 times as much in batches of 32 rows or more as in batches of 16 (docs/benchmarks.md).
constexpr int64_t kScanRowsPerCall = 16;

// Evaluates F at grid indices `wanted[b]` (increasing) of every example's path and merges them
// into its scan, at most `rows_per_call` rows per model call.
void evaluate_scan_points(Integrator& integrator, const torch::Tensor& baselines, const torch::Tensor& inputs,
                          const std::vector<std::vector<int64_t>>& wanted, int64_t points, OutputKind output,
                          int64_t rows_per_call, std::vector<PathScan>& scans) {
  const auto batch_size = static_cast<int64_t>(wanted.size());
  std::vector<StraightLinePath> paths;
  std::vector<int64_t> owners;
  for (int64_t b = 0; b < batch_size; ++b) {
    if (wanted[b].empty()) continue;
    std::vector<double> alphas;
    for (int64_t k : wanted[b]) alphas.push_back(static_cast<double>(k) / static_cast<double>(points));
    paths.emplace_back(baselines[b], inputs[b], Quadrature{alphas, std::vector<double>(alphas.size(), 0.0)});
    owners.push_back(b);
  }
  std::vector<std::vector<double>> values(static_cast<size_t>(batch_size));
  std::vector<double> magnitudes(static_cast<size_t>(batch_size), 0.0);
  // Pieces (path, first point, end) of one model call.
  std::vector<std::array<int64_t, 3>> call;
  int64_t call_rows = 0;
  auto flush = [&] {
    if (call.empty()) return;
    std::vector<int64_t> shape = inputs.sizes().vec();
    shape[0] = call_rows;
    torch::Tensor buffer = torch::empty(shape, inputs.options());
    std::vector<int64_t> example_of_row;
    int64_t row = 0;
    for (const auto& [path, begin, end] : call) {
      paths[static_cast<size_t>(path)].write_points(begin, end, buffer.narrow(0, row, end - begin));
      example_of_row.insert(example_of_row.end(), static_cast<size_t>(end - begin), owners[static_cast<size_t>(path)]);
      row += end - begin;
    }
    const torch::Tensor examples = torch::tensor(example_of_row, torch::kLong);
    const torch::Tensor outputs = integrator.outputs(buffer, examples);
    check_targets(integrator.targets(), outputs.dim() == 1 ? 1 : outputs.size(1));
    const std::vector<double> selected = to_vector(
        select_output(outputs, integrator.targets().index_select(0, examples), output).to(torch::kCPU, torch::kDouble));
    const std::vector<double> largest =
        to_vector(outputs.detach().abs().reshape({outputs.size(0), -1}).amax(1).to(torch::kCPU, torch::kDouble));
    for (size_t r = 0; r < selected.size(); ++r) {
      const auto b = static_cast<size_t>(example_of_row[r]);
      values[b].push_back(selected[r]);
      magnitudes[b] = std::max(magnitudes[b], largest[r]);
    }
    call.clear();
    call_rows = 0;
  };
  for (size_t p = 0; p < paths.size(); ++p) {
    const int64_t size = paths[p].size();
    for (int64_t begin = 0; begin < size;) {
      const int64_t take = std::min(size - begin, rows_per_call - call_rows);
      call.push_back({static_cast<int64_t>(p), begin, begin + take});
      call_rows += take;
      begin += take;
      if (call_rows == rows_per_call) flush();
    }
  }
  flush();
  for (int64_t b = 0; b < batch_size; ++b) {
    if (wanted[b].empty()) continue;
    PathScan& scan = scans[static_cast<size_t>(b)];
    // Merge the new points into the scan's, keeping alphas increasing.
    std::vector<std::pair<double, double>> merged;
    for (size_t i = 0; i < scan.alphas.size(); ++i) merged.emplace_back(scan.alphas[i], scan.values[i]);
    for (size_t i = 0; i < wanted[b].size(); ++i) {
      merged.emplace_back(static_cast<double>(wanted[b][i]) / static_cast<double>(points), values[b][i]);
    }
    std::sort(merged.begin(), merged.end());
    scan.alphas.clear();
    scan.values.clear();
    for (const auto& [alpha, value] : merged) {
      scan.alphas.push_back(alpha);
      scan.values.push_back(value);
    }
    scan.output_magnitude = std::max(scan.output_magnitude, magnitudes[static_cast<size_t>(b)]);
  }
}

// The grid indices strictly between two nodes at alphas p < q.
std::pair<int64_t, int64_t> grid_between(double p, double q, int64_t points) {
  const auto scaled = static_cast<double>(points);
  int64_t first = static_cast<int64_t>(std::floor(p * scaled));
  while (static_cast<double>(first) / scaled <= p) ++first;
  int64_t last = static_cast<int64_t>(std::ceil(q * scaled));
  while (static_cast<double>(last) / scaled >= q) --last;
  return {first, last};
}

// Whether F on the stretch between known points j and j + 1 (nodes and scan points merged,
// increasing alpha) follows from the values around it: its difference of F and its neighbours' (one
// each side where there is one; at least two in all) all exceed rounding and have one sign, and their
// slopes are monotone to rounding: F rises (or falls) there with one curvature. An excursion of F (up
// and back) between two points shows as a difference of the other sign or, where its flanks reach
// the points around it beyond rounding, as slopes that rise and fall; F that changes curvature there
// (a smooth sigmoid's middle) is not told apart from one and is looked at too.
bool follows_from_neighbours(const std::vector<std::pair<double, double>>& known, size_t j, const Rounding& rounding) {
  std::vector<double> slopes, slacks;
  bool rising = false, falling = false;
  for (size_t i = j == 0 ? 0 : j - 1; i <= j + 1 && i + 1 < known.size(); ++i) {
    const auto& [p, f_p] = known[i];
    const auto& [q, f_q] = known[i + 1];
    const double difference = f_q - f_p, allowance = rounding.of_value(f_p) + rounding.of_value(f_q);
    if (!(std::abs(difference) > allowance)) return false;
    (difference > 0 ? rising : falling) = true;
    slopes.push_back(difference / (q - p));
    slacks.push_back(allowance / (q - p));
  }
  if (slopes.size() < 2 || (rising && falling)) return false;
  bool increasing = true, decreasing = true;
  for (size_t i = 1; i < slopes.size(); ++i) {
    const double slack = slacks[i] + slacks[i - 1];
    increasing = increasing && slopes[i] >= slopes[i - 1] - slack;
    decreasing = decreasing && slopes[i] <= slopes[i - 1] + slack;
  }
  return increasing || decreasing;
}

}  // namespace

std::vector<PathScan> scan_paths(Integrator& integrator, const torch::Tensor& baselines, const torch::Tensor& inputs,
                                 const std::vector<ScanStart>& starts, int64_t points, OutputKind output,
                                 int64_t internal_batch_size) {
  const int64_t batch_size = inputs.size(0);
  std::vector<PathScan> scans(static_cast<size_t>(batch_size));
  if (points <= 0) return scans;
  const int64_t rows_per_call =
      internal_batch_size > 0 ? std::min(internal_batch_size, kScanRowsPerCall) : kScanRowsPerCall;
  auto start_of = [&](int64_t b) -> const ScanStart* {
    return static_cast<size_t>(b) < starts.size() && !starts[b].alphas.empty() ? &starts[b] : nullptr;
  };
  // Adaptive paths (given nodes) work on the grid k / (points * kRefinement); its points k / points
  // are the scan's resolution, every kCoarseStep-th of them its first pass. Paths without nodes
  // (doubling) are scanned on k / points alone.
  const int64_t grid = points * kRefinement;
  const auto scaled = static_cast<double>(grid);
  // The grid indices evaluated on each path, increasing.
  std::vector<std::vector<int64_t>> evaluated(static_cast<size_t>(batch_size));
  auto evaluate = [&](std::vector<std::vector<int64_t>>& wanted) {
    evaluate_scan_points(integrator, baselines, inputs, wanted, grid, output, rows_per_call, scans);
    for (int64_t b = 0; b < batch_size; ++b) {
      evaluated[b].insert(evaluated[b].end(), wanted[b].begin(), wanted[b].end());
      std::sort(evaluated[b].begin(), evaluated[b].end());
    }
  };
  // The point k / points nearest the middle of (p, q), strictly inside; none: -1.
  auto middle_point = [&](double p, double q) -> int64_t {
    const auto [first, last] = grid_between(p, q, grid);
    int64_t best = -1;
    for (int64_t k = first + (kRefinement - first % kRefinement) % kRefinement; k <= last; k += kRefinement) {
      if (best < 0 || std::abs(static_cast<double>(k) / scaled - (p + q) / 2) <
                          std::abs(static_cast<double>(best) / scaled - (p + q) / 2)) {
        best = k;
      }
    }
    return best;
  };
  // First pass: every kCoarseStep-th point k / points between two nodes (the point k / points
  // nearest the middle where none is); every point k / points before the first node and after the
  // last, and on paths without nodes.
  std::vector<std::vector<int64_t>> wanted(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    const ScanStart* start = start_of(b);
    if (!start) {
      for (int64_t k = 0; k <= points; ++k) wanted[b].push_back(k * kRefinement);
      continue;
    }
    const std::vector<double>& nodes = start->alphas;
    for (int64_t k = 0; static_cast<double>(k) / scaled < nodes.front(); k += kRefinement) wanted[b].push_back(k);
    for (size_t i = 1; i < nodes.size(); ++i) {
      const auto [first, last] = grid_between(nodes[i - 1], nodes[i], grid);
      const size_t before = wanted[b].size();
      for (int64_t k = first; k <= last; ++k) {
        if (k % (kRefinement * kCoarseStep) == 0) wanted[b].push_back(k);
      }
      if (wanted[b].size() == before) {
        // No point k / points between these nodes: the one nearest the middle, else the middle
        // point of the finer grid (nodes closer than 1 / points, from many initial intervals).
        const int64_t middle = middle_point(nodes[i - 1], nodes[i]);
        if (middle >= 0) {
          wanted[b].push_back(middle);
        } else if (first <= last) {
          wanted[b].push_back((first + last) / 2);
        }
      }
    }
    for (int64_t k = grid; k >= 0 && static_cast<double>(k) / scaled > nodes.back(); k -= kRefinement) {
      wanted[b].push_back(k);
    }
    std::sort(wanted[b].begin(), wanted[b].end());
  }
  evaluate(wanted);
  // Then, pass by pass, the point k / points nearest the middle of every stretch between two known
  // points (nodes and scan points) where F does not follow from the values around it, until every
  // stretch does or holds no point k / points.
  for (bool more = true; more;) {
    more = false;
    for (int64_t b = 0; b < batch_size; ++b) {
      wanted[b].clear();
      const ScanStart* start = start_of(b);
      if (!start) continue;
      std::vector<std::pair<double, double>> known;
      for (size_t i = 0; i < start->alphas.size(); ++i) known.emplace_back(start->alphas[i], start->values[i]);
      const PathScan& scan = scans[static_cast<size_t>(b)];
      for (size_t i = 0; i < scan.alphas.size(); ++i) known.emplace_back(scan.alphas[i], scan.values[i]);
      std::sort(known.begin(), known.end());
      Rounding rounding = *start->rounding;  // with the scan's outputs in its scale
      rounding.see(scan.output_magnitude);
      for (size_t j = 0; j + 1 < known.size(); ++j) {
        const int64_t middle = middle_point(known[j].first, known[j + 1].first);
        if (middle >= 0 && !follows_from_neighbours(known, j, rounding)) wanted[b].push_back(middle);
      }
      more = more || !wanted[b].empty();
    }
    if (more) evaluate(wanted);
  }
  // Fine: the rest of the grid between two nodes where the points k / points show what they do not.
  std::vector<std::vector<int64_t>> fine(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    const ScanStart* start = start_of(b);
    if (!start) continue;
    const std::vector<double>& nodes = start->alphas;
    for (size_t i = 1; i < nodes.size(); ++i) {
      const double hidden = scans[b].hidden_variation({nodes[i - 1], nodes[i]}, {start->values[i - 1], start->values[i]},
                                                      *start->rounding);
      if (!(hidden > 0.0)) continue;
      const auto [first, last] = grid_between(nodes[i - 1], nodes[i], grid);
      for (int64_t k = first; k <= last; ++k) {
        if (!std::binary_search(evaluated[b].begin(), evaluated[b].end(), k)) fine[b].push_back(k);
      }
    }
  }
  evaluate_scan_points(integrator, baselines, inputs, fine, grid, output, rows_per_call, scans);
  return scans;
}

double widest_unsampled_stretch(std::vector<double> alphas) {
  alphas.push_back(0.0);
  alphas.push_back(1.0);
  std::sort(alphas.begin(), alphas.end());
  double widest = 0.0;
  for (size_t i = 1; i < alphas.size(); ++i) widest = std::max(widest, alphas[i] - alphas[i - 1]);
  return widest;
}

bool ErrorStanding::vector_met(double attribution_tolerance) const {
  if (!(attribution_tolerance > 0.0)) return true;
  return vector_error && *vector_error <= std::max(attribution_tolerance * attribution_norm, vector_floor);
}

bool ErrorStanding::vector_precision_limited(double attribution_tolerance) const {
  if (!(attribution_tolerance > 0.0) || !vector_error) return false;
  return vector_rounding > std::max(attribution_tolerance * (attribution_norm + *vector_error), vector_floor);
}

void write_certificate(ExampleReport& report, const ErrorStanding& standing, const IgOptions& options) {
  const double gap = std::abs(report.output_input - report.output_baseline);
  report.completeness_certified = standing.completeness_met();
  report.absolute_error_bound = standing.completeness_bound;
  if (report.relative_error) report.error_bound = standing.completeness_bound / gap;
  report.precision_limited =
      standing.precision_limited || standing.vector_precision_limited(options.attribution_tolerance());
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
