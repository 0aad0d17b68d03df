#include "igx/layer.h"

#include <algorithm>
#include <limits>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

constexpr double kNotApplicable = std::numeric_limits<double>::quiet_NaN();

// upper(lower(x)): used to find the explained class and F(x), F(x').
class ComposedModel : public Model {
 public:
  explicit ComposedModel(SplitModel& split) : split_(split) {}
  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override {
    return split_.upper->forward(split_.lower->forward(points, extras), extras);
  }
  std::string describe() const override { return split_.upper->describe() + " after " + split_.layer; }
  torch::Device device() const override { return split_.upper->device(); }

 private:
  SplitModel& split_;
};

// sum_j c_j h_j(x) with h = lower(x): one output per row, whose input gradient is the
// vector-Jacobian product c^T dh/dx. The coefficients c of every row come as the last extra
// input, so that each node of each path gets its own (neuron_conductance's dG/dh there).
class ContractedLower : public Model {
 public:
  explicit ContractedLower(SplitModel& split) : split_(split) {}
  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override {
    const ExtraInputs own(extras.begin(), extras.end() - 1);
    const torch::Tensor hidden = split_.lower->forward(points, own);
    return (hidden * extras.back().to(hidden.device(), hidden.scalar_type())).flatten(1).sum(1);
  }
  std::string describe() const override { return split_.layer + " weighted by dG/dh"; }
  torch::Device device() const override { return split_.lower->device(); }

 private:
  SplitModel& split_;
};

void check_split(const SplitModel& model) {
  if (!model.lower || !model.upper) throw Error("split model at '" + model.layer + "' lacks its lower or upper part");
}

ExtraInputs rows_of(const ExtraInputs& extras, const torch::Tensor& examples) {
  ExtraInputs rows;
  for (const auto& extra : extras) rows.push_back(extra.index_select(0, examples.to(extra.device())));
  return rows;
}

// The points of every example's input path at `alphas`: [B * K, ...], example-major, and the
// example of each row.
std::pair<torch::Tensor, torch::Tensor> path_points(const torch::Tensor& inputs, const torch::Tensor& baselines,
                                                   const std::vector<double>& alphas) {
  std::vector<int64_t> shape(inputs.dim() + 1, 1);
  shape[1] = static_cast<int64_t>(alphas.size());
  const torch::Tensor alpha = torch::tensor(alphas, torch::kDouble).view(shape).to(inputs.options());
  const torch::Tensor points = torch::lerp(baselines.unsqueeze(1), inputs.unsqueeze(1), alpha);
  const int64_t count = static_cast<int64_t>(alphas.size());
  return {points.flatten(0, 1), torch::arange(inputs.size(0), torch::kLong).repeat_interleave(count)};
}

// lower at every point, forward only, at most `max_rows` rows at a time.
torch::Tensor activations(SplitModel& model, const torch::Tensor& points, const torch::Tensor& examples,
                          const ExtraInputs& extras, int64_t max_rows) {
  torch::NoGradGuard no_grad;
  if (max_rows <= 0) max_rows = points.size(0);
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < points.size(0); begin += max_rows) {
    const int64_t count = std::min(max_rows, points.size(0) - begin);
    chunks.push_back(model.lower->forward(points.narrow(0, begin, count).to(model.lower->device()),
                                          rows_of(extras, examples.narrow(0, begin, count))));
  }
  return torch::cat(chunks);
}

// lower at every point and its directional derivative along `directions` (same shape as the
// points): J v by the double-backward trick, v^T J being linear in the dummy u, so d(u^T J v)/du = J v.
std::pair<torch::Tensor, torch::Tensor> activations_and_directional_derivatives(
    SplitModel& model, const torch::Tensor& points, const torch::Tensor& directions, const torch::Tensor& examples,
    const ExtraInputs& extras, int64_t max_rows) {
  if (max_rows <= 0) max_rows = points.size(0);
  std::vector<torch::Tensor> values, derivatives;
  for (int64_t begin = 0; begin < points.size(0); begin += max_rows) {
    const int64_t count = std::min(max_rows, points.size(0) - begin);
    const torch::Tensor rows =
        points.narrow(0, begin, count).to(model.lower->device()).detach().requires_grad_(true);
    const torch::Tensor hidden = model.lower->forward(rows, rows_of(extras, examples.narrow(0, begin, count)));
    const torch::Tensor dummy = torch::zeros_like(hidden).requires_grad_(true);
    const torch::Tensor pulled_back =
        torch::autograd::grad({hidden}, {rows}, {dummy}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    const torch::Tensor pushed_forward =
        torch::autograd::grad({pulled_back}, {dummy}, {directions.narrow(0, begin, count).to(rows.device())})[0];
    values.push_back(hidden.detach());
    derivatives.push_back(pushed_forward.detach());
  }
  return {torch::cat(values), torch::cat(derivatives)};
}

struct LayerProblem {
  torch::Tensor baselines;
  torch::Tensor targets;
  std::vector<double> output_input;
  std::vector<double> output_baseline;
};

LayerProblem prepare(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options, const ExtraInputs& extras) {
  check_split(model);
  detail::check_inputs(inputs, extras);
  LayerProblem problem;
  problem.baselines = options.baseline().resolve(inputs);
  ComposedModel full(model);
  Integrator integrator(full, extras, options.output(), options.internal_batch_size());
  detail::EndValues ends = detail::set_targets_and_end_values(integrator, options.target(), options.output(), inputs,
                                                              problem.baselines, true, true);
  problem.output_input = std::move(ends.input);
  problem.output_baseline = std::move(ends.baseline);
  problem.targets = integrator.targets();
  return problem;
}

// Runs the Integrator on `upper` over one activation-space path per example.
Attribution integrate_upper(SplitModel& model, const LayerProblem& problem, std::vector<PointListPath>& paths,
                            const IgOptions& options, const ExtraInputs& extras, bool completeness,
                            torch::ScalarType dtype) {
  Integrator integrator(*model.upper, extras, options.output(), options.internal_batch_size());
  integrator.set_targets(problem.targets);
  std::vector<PathJob> jobs;
  for (size_t b = 0; b < paths.size(); ++b) jobs.push_back({&paths[b], static_cast<int64_t>(b)});
  const std::vector<PathResult> results = integrator.integrate(jobs);
  Attribution attribution;
  std::vector<torch::Tensor> values;
  for (size_t b = 0; b < paths.size(); ++b) {
    values.push_back(results[b].weighted_gradient_sum);
    ExampleReport report;
    report.target = problem.targets[static_cast<int64_t>(b)].item<int64_t>();
    report.output_input = problem.output_input[b];
    report.output_baseline = problem.output_baseline[b];
    report.attribution_sum = results[b].weighted_gradient_sum.sum().item<double>();
    report.steps = paths[b].size();
    if (completeness) {
      detail::complete_report(report, options, dtype);
    } else {
      report.delta = kNotApplicable;
    }
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(dtype);
  attribution.counts = integrator.counts();
  return attribution;
}

std::vector<int64_t> activation_shape(const torch::Tensor& hidden) { return hidden.sizes().slice(1).vec(); }

}  // namespace

const std::vector<std::string>& layer_method_names() {
  static const std::vector<std::string> names = {"conductance", "internal-influence", "layer-ig", "patch",
                                                 "neuron-conductance"};
  return names;
}

Attribution layer_integrated_gradients(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options,
                                       const ExtraInputs& extras) {
  check_split(model);
  detail::check_inputs(inputs, extras);
  const torch::Tensor examples = torch::arange(inputs.size(0), torch::kLong);
  const int64_t rows = options.internal_batch_size();
  const torch::Tensor hidden = activations(model, inputs, examples, extras, rows);
  const torch::Tensor hidden_baseline = activations(model, options.baseline().resolve(inputs), examples, extras, rows);
  // The class is the full model's, which is upper's at lower(x).
  return integrated_gradients(*model.upper, hidden, IgOptions(options).baseline(Baseline::tensor(hidden_baseline)),
                              extras);
}

Attribution layer_conductance(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options,
                              const ExtraInputs& extras) {
  const LayerProblem problem = prepare(model, inputs, options, extras);
  const int64_t steps = options.n_steps();
  if (steps < 1) throw UsageError("conductance needs at least 1 step, got " + std::to_string(steps));
  std::vector<double> alphas(steps + 1);
  for (int64_t k = 0; k <= steps; ++k) alphas[k] = static_cast<double>(k) / static_cast<double>(steps);
  const auto [points, examples] = path_points(inputs, problem.baselines, alphas);
  const torch::Tensor hidden = activations(model, points, examples, extras, options.internal_batch_size());
  std::vector<int64_t> grouped = activation_shape(hidden);
  grouped.insert(grouped.begin(), {inputs.size(0), steps + 1});
  const torch::Tensor per_example = hidden.view(grouped);

  std::vector<PointListPath> paths;
  for (int64_t b = 0; b < inputs.size(0); ++b) {
    const torch::Tensor h = per_example[b];
    paths.emplace_back(h.narrow(0, 0, steps), (h.narrow(0, 1, steps) - h.narrow(0, 0, steps)).to(torch::kDouble));
  }
  return integrate_upper(model, problem, paths, options, extras, true, inputs.scalar_type());
}

Attribution internal_influence(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options,
                               const ExtraInputs& extras) {
  const LayerProblem problem = prepare(model, inputs, options, extras);
  const Quadrature quadrature = make_quadrature(options.method(), options.n_steps());
  const auto [points, examples] = path_points(inputs, problem.baselines, quadrature.nodes);
  const torch::Tensor hidden = activations(model, points, examples, extras, options.internal_batch_size());
  const int64_t count = static_cast<int64_t>(quadrature.nodes.size());
  std::vector<PointListPath> paths;
  for (int64_t b = 0; b < inputs.size(0); ++b) {
    paths.emplace_back(hidden.narrow(0, b * count, count), torch::tensor(quadrature.weights, torch::kDouble));
  }
  return integrate_upper(model, problem, paths, options, extras, false, inputs.scalar_type());
}

Attribution patch_neuron_attribution(SplitModel& model, const torch::Tensor& inputs, const torch::Tensor& patch,
                                     const IgOptions& options, const ExtraInputs& extras) {
  const LayerProblem problem = prepare(model, inputs, options, extras);
  if (patch.sizes() != inputs.sizes().slice(1)) {
    throw UsageError("patch has shape " + shape_string(patch) + "; expected one example's shape " +
                     shape_string(inputs.sizes().slice(1)));
  }
  const Quadrature quadrature = make_quadrature(options.method(), options.n_steps());
  const int64_t count = static_cast<int64_t>(quadrature.nodes.size());
  const auto [points, examples] = path_points(inputs, problem.baselines, quadrature.nodes);
  const torch::Tensor inside = patch.ne(0).to(inputs.options());
  const torch::Tensor directions = ((inputs - problem.baselines) * inside).repeat_interleave(count, 0);
  const auto [hidden, derivatives] = activations_and_directional_derivatives(model, points, directions, examples, extras,
                                                                            options.internal_batch_size());
  std::vector<int64_t> weight_shape(hidden.dim(), 1);
  weight_shape[0] = count;
  const torch::Tensor weights = torch::tensor(quadrature.weights, torch::kDouble).view(weight_shape);
  std::vector<PointListPath> paths;
  for (int64_t b = 0; b < inputs.size(0); ++b) {
    paths.emplace_back(hidden.narrow(0, b * count, count),
                       derivatives.narrow(0, b * count, count).to(torch::kDouble) * weights);
  }
  return integrate_upper(model, problem, paths, options, extras, false, inputs.scalar_type());
}

Attribution neuron_conductance(SplitModel& model, const torch::Tensor& inputs, const std::vector<int64_t>& neurons,
                               const IgOptions& options, const ExtraInputs& extras) {
  const LayerProblem problem = prepare(model, inputs, options, extras);
  const Quadrature quadrature = make_quadrature(options.method(), options.n_steps());
  const int64_t count = static_cast<int64_t>(quadrature.nodes.size()), batch_size = inputs.size(0);
  const auto [points, examples] = path_points(inputs, problem.baselines, quadrature.nodes);
  const torch::Tensor hidden = activations(model, points, examples, extras, options.internal_batch_size());

  const int64_t layer_size = hidden.numel() / hidden.size(0);
  if (neurons.empty()) throw UsageError("neuron conductance needs at least one neuron of layer '" + model.layer + "'");
  std::vector<double> chosen(layer_size, 0.0);
  for (int64_t neuron : neurons) {
    if (neuron < 0 || neuron >= layer_size) {
      throw UsageError("neuron " + std::to_string(neuron) + " is not in layer '" + model.layer + "' of shape " +
                       shape_string(hidden.sizes().slice(1)) + "; expected a flat index 0.." + std::to_string(layer_size - 1));
    }
    if (chosen[neuron] != 0.0) throw UsageError("neuron " + std::to_string(neuron) + " is listed twice; expected each once");
    chosen[neuron] = 1.0;
  }
  const torch::Tensor selected = torch::tensor(chosen, torch::kDouble);
  const bool whole_layer = static_cast<int64_t>(neurons.size()) == layer_size;

  // dG/dh_j at every node: the Integrator on `upper` along the activation path, keeping each
  // point's gradient (its weighted sum would be internal influence).
  Integrator upper(*model.upper, extras, options.output(), options.internal_batch_size());
  upper.set_targets(problem.targets);
  std::vector<PointListPath> activation_paths;
  for (int64_t b = 0; b < batch_size; ++b) {
    activation_paths.emplace_back(hidden.narrow(0, b * count, count), torch::tensor(quadrature.weights, torch::kDouble));
  }
  std::vector<PathJob> upper_jobs;
  for (int64_t b = 0; b < batch_size; ++b) upper_jobs.push_back({&activation_paths[b], b, true});
  const std::vector<PathResult> upper_results = upper.integrate(upper_jobs);

  // c_k = w_k dG/dh(h(a_k)) restricted to S: the coefficients of each node's row.
  std::vector<torch::Tensor> gradients;
  for (const PathResult& result : upper_results) gradients.push_back(result.gradients.to(torch::kCPU, torch::kDouble));
  std::vector<int64_t> weight_shape(hidden.dim(), 1);
  weight_shape[0] = batch_size * count;
  const torch::Tensor weights =
      torch::tensor(quadrature.weights, torch::kDouble).repeat({batch_size}).view(weight_shape);
  const torch::Tensor coefficients =
      (torch::cat(gradients) * weights * selected.view(hidden.sizes().slice(1))).to(hidden.scalar_type());

  // sum_k c_k . dh/dx at every node: the same Integrator on lower contracted with c_k, one
  // single-point path per node so that every row meets its own coefficients. Its block weight
  // matrix is nodes x rows per batch, so batches stay bounded even when the caller's are not.
  ExtraInputs node_extras = rows_of(extras, examples);
  node_extras.push_back(coefficients);
  ContractedLower contracted(model);
  constexpr int64_t kMaxNodeRows = 512;
  const int64_t node_rows = options.internal_batch_size() > 0 ? std::min(options.internal_batch_size(), kMaxNodeRows)
                                                               : kMaxNodeRows;
  Integrator lower(contracted, node_extras, OutputKind::Logit, node_rows);
  lower.set_targets(torch::zeros({batch_size * count}, torch::kLong));
  std::vector<PointListPath> node_paths;
  node_paths.reserve(batch_size * count);
  for (int64_t r = 0; r < batch_size * count; ++r) {
    node_paths.emplace_back(points.narrow(0, r, 1), torch::ones({1}, torch::kDouble));
  }
  std::vector<PathJob> node_jobs;
  for (int64_t r = 0; r < batch_size * count; ++r) node_jobs.push_back({&node_paths[r], r});
  const std::vector<PathResult> node_results = lower.integrate(node_jobs);

  Attribution attribution;
  std::vector<torch::Tensor> values;
  const torch::Tensor differences = (inputs - problem.baselines).to(torch::kCPU, torch::kDouble);
  for (int64_t b = 0; b < batch_size; ++b) {
    torch::Tensor gradient_sum = torch::zeros_like(differences[b]);
    for (int64_t k = 0; k < count; ++k) gradient_sum += node_results[b * count + k].weighted_gradient_sum.cpu();
    values.push_back(gradient_sum * differences[b]);
    ExampleReport report;
    report.target = problem.targets[b].item<int64_t>();
    report.output_input = problem.output_input[b];
    report.output_baseline = problem.output_baseline[b];
    report.attribution_sum = values.back().sum().item<double>();
    report.steps = count;
    if (whole_layer) {
      detail::complete_report(report, options, inputs.scalar_type());
    } else {
      report.delta = kNotApplicable;
    }
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.counts = upper.counts();
  attribution.counts.gradient_rows += lower.counts().gradient_rows;
  attribution.counts.forward_rows += lower.counts().forward_rows + points.size(0);  // + lower at the nodes
  attribution.counts.batches += lower.counts().batches;
  return attribution;
}

torch::Tensor rectangle_patch(c10::IntArrayRef image_shape, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  if (image_shape.size() != 3) {
    throw UsageError("a rectangle patch needs an image shape [C, H, W], got " + shape_string(image_shape));
  }
  const int64_t height = image_shape[1], width = image_shape[2];
  if (!(0 <= x0 && x0 < x1 && x1 <= width && 0 <= y0 && y0 < y1 && y1 <= height)) {
    throw UsageError("patch " + std::to_string(x0) + "," + std::to_string(y0) + "," + std::to_string(x1) + "," +
                     std::to_string(y1) + " is not a rectangle inside the " + std::to_string(width) + "x" +
                     std::to_string(height) + " image; expected 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H");
  }
  torch::Tensor mask = torch::zeros(image_shape, torch::kFloat);
  mask.index_put_({torch::indexing::Slice(), torch::indexing::Slice(y0, y1), torch::indexing::Slice(x0, x1)}, 1.0);
  return mask;
}

}  // namespace igx
