// Error-controlled Integrated Gradients: per example, spend gradient evaluations until the
// completeness error is certified below the tolerance, or the budget is spent.
//
// Both strategies rest on one fact (DESIGN.md §2): along the straight path,
// s(a) = grad F(gamma(a)) . (x - x') is dF(gamma(a))/da, so the exact integral of s over any
// [a, b] is F(gamma(b)) - F(gamma(a)), which the forward passes give for free.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ig_detail.h"
#include "igx/error.h"

namespace igx::detail {
namespace {

// A gradient evaluation kept for refinement.
struct Node {
  double alpha;
  double value;           // F(gamma(alpha))
  double slope;           // s(alpha) = grad . (x - x')
  torch::Tensor gradient;  // example shape, the model's dtype
};

// Simpson on [left, right] with its midpoint; indices into the example's nodes.
struct Interval {
  size_t left, middle, right;
  double signed_error;  // Simpson of s - (F(right) - F(left)): exact, not an estimate
  double error;         // its absolute value
  double vector_error;  // ||(Simpson - trapezoid) (.) (x - x')||_1: estimates the trapezoid's error
};

struct ExampleState {
  torch::Tensor difference;  // x - x', example shape, model dtype
  double output_baseline = 0.0;  // F(x') = F at alpha = 0, from the first round
  double output_input = 0.0;     // F(x) = F at alpha = 1, from the first round
  std::vector<Node> nodes;  // in the order evaluated: refinement appends, so only the first round's are sorted
  std::vector<Interval> intervals;
  bool finished = false;
  bool certified = false;
};

// The absolute completeness error we may accept for example `b`: its absolute target when one is
// given, else tolerance * |F(x) - F(x')|, or, when the gap is too small for a relative error, the
// gap floor itself.
double error_target(int64_t b, double output_input, double output_baseline, const IgOptions& options,
                    torch::ScalarType dtype) {
  if (!options.absolute_targets().empty() && options.absolute_targets()[b] > 0.0) return options.absolute_targets()[b];
  const double gap = std::abs(output_input - output_baseline);
  if (relative_error(0.0, output_input, output_baseline, options.min_output_gap(), dtype)) {
    return options.tolerance() * gap;
  }
  return std::max(options.min_output_gap(), gap);
}

std::vector<double> slopes(const PathResult& result, const torch::Tensor& difference) {
  const torch::Tensor flat = result.gradients.reshape({result.gradients.size(0), -1}).to(torch::kDouble);
  return to_vector(torch::mv(flat, difference.reshape({-1}).to(flat.device(), torch::kDouble)));
}

void append_nodes(ExampleState& state, const std::vector<double>& alphas, const PathResult& result) {
  const std::vector<double> s = slopes(result, state.difference);
  for (size_t k = 0; k < alphas.size(); ++k) {
    state.nodes.push_back({alphas[k], result.values[k], s[k], result.gradients[static_cast<int64_t>(k)]});
  }
}

Interval make_interval(const ExampleState& state, size_t left, size_t middle, size_t right) {
  const Node& a = state.nodes[left];
  const Node& m = state.nodes[middle];
  const Node& b = state.nodes[right];
  const double width = b.alpha - a.alpha;
  const double simpson = width / 6.0 * (a.slope + 4.0 * m.slope + b.slope);
  const torch::Tensor second_difference =
      (2.0 * m.gradient.to(torch::kDouble) - a.gradient.to(torch::kDouble) - b.gradient.to(torch::kDouble)) *
      state.difference.to(m.gradient.device(), torch::kDouble);
  const double error = simpson - (b.value - a.value);
  return {left, middle, right, error, std::abs(error), width / 12.0 * second_difference.abs().sum().item<double>()};
}

// The error that must meet the target: sum |e_I|, or |sum e_I| (= |delta|).
double certified_error(const ExampleState& state, Certify certify) {
  double sum = 0.0;
  for (const Interval& interval : state.intervals) {
    sum += certify == Certify::PanelSum ? interval.error : interval.signed_error;
  }
  return std::abs(sum);
}

// Composite Simpson over the example's intervals, as a weighted sum of its nodes' gradients.
torch::Tensor simpson_gradient_sum(const ExampleState& state) {
  std::vector<double> weights(state.nodes.size(), 0.0);
  for (const Interval& interval : state.intervals) {
    const double width = state.nodes[interval.right].alpha - state.nodes[interval.left].alpha;
    weights[interval.left] += width / 6.0;
    weights[interval.middle] += 4.0 * width / 6.0;
    weights[interval.right] += width / 6.0;
  }
  std::vector<torch::Tensor> gradients;
  gradients.reserve(state.nodes.size());
  for (const Node& node : state.nodes) gradients.push_back(node.gradient);
  const torch::Tensor stacked = torch::stack(gradients).to(torch::kDouble);
  const torch::Tensor weight_tensor = torch::tensor(weights, torch::kDouble).to(stacked.device());
  return torch::matmul(weight_tensor.unsqueeze(0), stacked.reshape({stacked.size(0), -1}))
      .reshape(stacked.sizes().slice(1));
}

bool has_nested_nodes(Rule rule) {
  return rule == Rule::RiemannLeft || rule == Rule::RiemannRight || rule == Rule::RiemannTrapezoid;
}

void check_budget(const IgOptions& options, int64_t batch_size) {
  if (!(options.tolerance() > 0.0)) {
    throw Error("tolerance must be positive, got " + std::to_string(options.tolerance()));
  }
  const std::vector<double>& targets = options.absolute_targets();
  if (!targets.empty()) {
    if (static_cast<int64_t>(targets.size()) != batch_size) {
      throw Error("absolute_targets has " + std::to_string(targets.size()) + " entries for " +
                  std::to_string(batch_size) + " examples");
    }
    for (double target : targets) {
      if (!(target >= 0.0) || !std::isfinite(target)) {
        throw Error("absolute_targets must be finite and >= 0 (0: the relative target), got " + std::to_string(target));
      }
    }
  }
  if (options.max_steps() < 1) throw Error("max_steps must be at least 1, got " + std::to_string(options.max_steps()));
}

}  // namespace

Attribution integrate_adaptively(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                 const ExtraInputs& extras) {
  check_budget(options, inputs.size(0));
  if (options.initial_intervals() < 1) {
    throw Error("initial_intervals must be at least 1, got " + std::to_string(options.initial_intervals()));
  }
  if (options.max_steps() < 3) {
    throw Error("max_steps " + std::to_string(options.max_steps()) + " is below 3, the fewest nodes of one Simpson panel");
  }
  const int64_t batch_size = inputs.size(0);
  const torch::Tensor baselines = options.baseline().resolve(inputs);
  Integrator integrator(model, extras, options.output(), options.internal_batch_size());
  set_targets(integrator, options.target(), options.output(), inputs, false);

  std::vector<ExampleState> states(batch_size);
  for (int64_t b = 0; b < batch_size; ++b) states[b].difference = inputs[b] - baselines[b];

  // Evaluates new nodes of several examples in one batched pass; `alphas[b]` may be empty.
  auto evaluate = [&](const std::vector<std::vector<double>>& alphas) {
    std::vector<StraightLinePath> paths;
    std::vector<int64_t> owners;
    paths.reserve(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      if (alphas[b].empty()) continue;
      paths.emplace_back(baselines[b], inputs[b], Quadrature{alphas[b], std::vector<double>(alphas[b].size(), 0.0)});
      owners.push_back(b);
    }
    std::vector<PathJob> jobs;
    for (size_t p = 0; p < paths.size(); ++p) jobs.push_back({&paths[p], owners[p], true});
    const std::vector<PathResult> results = integrator.integrate(jobs);
    for (size_t p = 0; p < paths.size(); ++p) append_nodes(states[owners[p]], alphas[owners[p]], results[p]);
  };

  // The first partition: initial_intervals Simpson panels, end points included (they give F(x')
  // and F(x) exactly, so no forward-only pass is needed).
  const int64_t panels = std::min<int64_t>(options.initial_intervals(), (options.max_steps() - 1) / 2);
  std::vector<double> first(2 * panels + 1);
  for (int64_t k = 0; k <= 2 * panels; ++k) first[k] = static_cast<double>(k) / static_cast<double>(2 * panels);
  evaluate(std::vector<std::vector<double>>(batch_size, first));
  for (ExampleState& state : states) {
    state.output_baseline = state.nodes.front().value;  // alpha = 0, exactly x'
    state.output_input = state.nodes[2 * panels].value;  // alpha = 1, exactly x
    for (int64_t i = 0; i < panels; ++i) state.intervals.push_back(make_interval(state, 2 * i, 2 * i + 1, 2 * i + 2));
  }

  const torch::ScalarType dtype = inputs.scalar_type();
  while (true) {
    std::vector<std::vector<double>> new_alphas(batch_size);
    std::vector<std::vector<size_t>> split(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      ExampleState& state = states[b];
      if (state.finished) continue;
      const double target = error_target(b, state.output_input, state.output_baseline, options, dtype);
      const double total_error = certified_error(state, options.certify());
      bool vector_met = true;
      double vector_target = 0.0;
      if (options.attribution_tolerance() > 0.0) {
        const double total_vector_error = std::accumulate(state.intervals.begin(), state.intervals.end(), 0.0,
                                                          [](double sum, const Interval& i) { return sum + i.vector_error; });
        vector_target = options.attribution_tolerance() *
                        (simpson_gradient_sum(state) * state.difference.to(torch::kDouble)).abs().sum().item<double>();
        vector_met = total_vector_error <= vector_target;
      }
      if (total_error <= target && vector_met) {
        state.finished = state.certified = true;
        continue;
      }
      // Bisect the worst intervals until what is left unrefined is within half the target.
      const bool by_vector = total_error <= target;
      std::vector<size_t> order(state.intervals.size());
      std::iota(order.begin(), order.end(), 0);
      auto error_of = [&](size_t i) { return by_vector ? state.intervals[i].vector_error : state.intervals[i].error; };
      std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return error_of(i) > error_of(j); });
      double remaining = 0.0;
      for (size_t i : order) remaining += error_of(i);
      const double goal = 0.5 * (by_vector ? vector_target : target);
      int64_t budget = options.max_steps() - static_cast<int64_t>(state.nodes.size());
      for (size_t i : order) {
        if (remaining <= goal || budget < 2) break;
        const Interval& interval = state.intervals[i];
        const double a = state.nodes[interval.left].alpha;
        const double m = state.nodes[interval.middle].alpha;
        const double c = state.nodes[interval.right].alpha;
        new_alphas[b].push_back(0.5 * (a + m));
        new_alphas[b].push_back(0.5 * (m + c));
        split[b].push_back(i);
        remaining -= error_of(i);
        budget -= 2;
      }
      if (split[b].empty()) state.finished = true;  // the budget is spent: not certified
    }
    if (std::all_of(split.begin(), split.end(), [](const auto& s) { return s.empty(); })) break;

    evaluate(new_alphas);
    for (int64_t b = 0; b < batch_size; ++b) {
      ExampleState& state = states[b];
      // The k-th split interval's two new nodes were appended at first_new + 2k, first_new + 2k + 1.
      const size_t first_new = state.nodes.size() - new_alphas[b].size();
      std::vector<int64_t> split_rank(state.intervals.size(), -1);
      for (size_t k = 0; k < split[b].size(); ++k) split_rank[split[b][k]] = static_cast<int64_t>(k);
      std::vector<Interval> refined;
      for (size_t i = 0; i < state.intervals.size(); ++i) {
        const Interval& interval = state.intervals[i];
        if (split_rank[i] < 0) {
          refined.push_back(interval);
          continue;
        }
        const size_t left_node = first_new + 2 * static_cast<size_t>(split_rank[i]);
        refined.push_back(make_interval(state, interval.left, left_node, interval.middle));
        refined.push_back(make_interval(state, interval.middle, left_node + 1, interval.right));
      }
      state.intervals = std::move(refined);
    }
  }

  Attribution attribution;
  std::vector<torch::Tensor> values;
  for (int64_t b = 0; b < batch_size; ++b) {
    const ExampleState& state = states[b];
    const torch::Tensor integrated = simpson_gradient_sum(state);
    const torch::Tensor multiplied = integrated * state.difference.to(integrated.device(), torch::kDouble);
    values.push_back(options.multiply_by_inputs() ? multiplied : integrated);
    ExampleReport report;
    report.target = integrator.targets()[b].item<int64_t>();
    report.output_baseline = state.output_baseline;
    report.output_input = state.output_input;
    report.attribution_sum = multiplied.sum().item<double>();
    report.steps = static_cast<int64_t>(state.nodes.size());
    complete_report(report, options, dtype);
    const double gap = std::abs(report.output_input - report.output_baseline);
    double total_vector_error = 0.0;
    for (const Interval& interval : state.intervals) total_vector_error += interval.vector_error;
    report.certified = state.certified;
    // The quantity that was certified: sum |e_I| (a bound on |delta|), or |delta| itself.
    report.absolute_error_bound = certified_error(state, options.certify());
    if (report.relative_error) report.error_bound = *report.absolute_error_bound / gap;
    const double attribution_norm = multiplied.abs().sum().item<double>();
    if (attribution_norm > 0) report.attribution_error = total_vector_error / attribution_norm;
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.counts = integrator.counts();
  return attribution;
}

Attribution integrate_by_doubling(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                  const ExtraInputs& extras) {
  check_budget(options, inputs.size(0));
  const Rule rule = options.method();
  if (!has_nested_nodes(rule)) {
    throw Error("doubling needs nested nodes: riemann_left, riemann_right or riemann_trapezoid; got " + rule_name(rule));
  }
  if (options.initial_steps() < (rule == Rule::RiemannTrapezoid ? 2 : 1)) {
    throw Error("initial_steps " + std::to_string(options.initial_steps()) + " is too small for " + rule_name(rule));
  }
  const int64_t batch_size = inputs.size(0);
  const torch::Tensor baselines = options.baseline().resolve(inputs);
  const torch::Tensor examples = torch::arange(batch_size, torch::kLong);
  Integrator integrator(model, extras, options.output(), options.internal_batch_size());
  // F at the end the rule lacks comes from one forward pass (F(x) also from finding the class).
  const bool has_input_node = rule != Rule::RiemannLeft;
  std::vector<double> output_input = set_targets(integrator, options.target(), options.output(), inputs, !has_input_node);
  std::vector<double> output_baseline;
  if (rule == Rule::RiemannRight) output_baseline = to_vector(integrator.values(baselines, examples));

  // Intervals m: the rule's nodes are k/m (left: k < m, right: k > 0, trapezoid: all), and the
  // attribution is (x - x') * (sum of weighted gradients) / m. Doubling m adds the odd k only.
  const int64_t first_intervals = rule == Rule::RiemannTrapezoid ? options.initial_steps() - 1 : options.initial_steps();
  std::vector<torch::Tensor> sums(batch_size);
  std::vector<int64_t> intervals(batch_size, first_intervals), steps(batch_size, 0);
  std::vector<bool> active(batch_size, true), certified(batch_size, false);
  output_input.resize(batch_size);
  output_baseline.resize(batch_size);
  Attribution attribution;
  attribution.examples.resize(batch_size);
  const torch::ScalarType dtype = inputs.scalar_type();

  bool first_round = true;
  while (std::find(active.begin(), active.end(), true) != active.end()) {
    std::vector<Quadrature> rounds(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      if (!active[b]) continue;
      const int64_t m = intervals[b];
      Quadrature& q = rounds[b];
      if (first_round) {
        const int64_t begin = rule == Rule::RiemannRight ? 1 : 0;
        const int64_t end = rule == Rule::RiemannLeft ? m - 1 : m;
        for (int64_t k = begin; k <= end; ++k) {
          q.nodes.push_back(static_cast<double>(k) / m);
          q.weights.push_back(rule == Rule::RiemannTrapezoid && (k == 0 || k == m) ? 0.5 : 1.0);
        }
      } else {
        for (int64_t k = 1; k < 2 * m; k += 2) {
          q.nodes.push_back(static_cast<double>(k) / (2 * m));
          q.weights.push_back(1.0);
        }
      }
    }
    std::vector<StraightLinePath> paths;
    std::vector<int64_t> owners;
    paths.reserve(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      if (!active[b]) continue;
      paths.emplace_back(baselines[b], inputs[b], rounds[b]);
      owners.push_back(b);
    }
    std::vector<PathJob> jobs;
    for (size_t p = 0; p < paths.size(); ++p) jobs.push_back({&paths[p], owners[p]});
    const std::vector<PathResult> results = integrator.integrate(jobs);

    for (size_t p = 0; p < paths.size(); ++p) {
      const int64_t b = owners[p];
      const Quadrature& q = rounds[b];
      sums[b] = sums[b].defined() ? sums[b] + results[p].weighted_gradient_sum : results[p].weighted_gradient_sum;
      steps[b] += static_cast<int64_t>(q.nodes.size());
      if (!first_round) intervals[b] *= 2;
      if (first_round) {
        if (q.nodes.front() == 0.0) output_baseline[b] = results[p].values.front();
        if (q.nodes.back() == 1.0) output_input[b] = results[p].values.back();
      }
      ExampleReport& report = attribution.examples[b];
      report.output_input = output_input[b];
      report.output_baseline = output_baseline[b];
      report.attribution_sum =
          (sums[b] * (inputs[b] - baselines[b]).to(sums[b].device(), torch::kDouble)).sum().item<double>() /
          static_cast<double>(intervals[b]);
      complete_report(report, options, dtype);
      const double target = error_target(b, report.output_input, report.output_baseline, options, dtype);
      certified[b] = std::abs(report.delta) <= target;
      // The next level adds m nodes.
      if (certified[b] || steps[b] + intervals[b] > options.max_steps()) active[b] = false;
    }
    first_round = false;
  }

  std::vector<torch::Tensor> values;
  for (int64_t b = 0; b < batch_size; ++b) {
    const torch::Tensor integrated = sums[b] / static_cast<double>(intervals[b]);
    const torch::Tensor multiplied = integrated * (inputs[b] - baselines[b]).to(integrated.device(), torch::kDouble);
    values.push_back(options.multiply_by_inputs() ? multiplied : integrated);
    ExampleReport& report = attribution.examples[b];
    report.target = integrator.targets()[b].item<int64_t>();
    report.steps = steps[b];
    report.certified = certified[b];
    report.error_bound = report.relative_error;
    report.absolute_error_bound = std::abs(report.delta);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.counts = integrator.counts();
  return attribution;
}

}  // namespace igx::detail
