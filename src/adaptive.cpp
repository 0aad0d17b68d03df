// Interval-adaptive Integrated Gradients: per example, Simpson panels on [0, 1], bisected where
// the error is, until the example is certified or the budget is spent.
//
// The completeness error rests on one fact (DESIGN.md §2): along the straight path,
// s(a) = grad F(gamma(a)) . (x - x') is dF(gamma(a))/da, so the exact integral of s over a panel
// [a, b] is F(gamma(b)) - F(gamma(a)), which the forward passes give for free: each panel's
// quadrature error is known, up to the rounding of F. The attribution vector's error has no such
// exact value; it is estimated per feature from the gradients at the nodes, and a forward-only
// scan of F finds what happens between nodes (certificate.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <type_traits>

#include "certificate.h"
#include "ig_detail.h"
#include "igx/error.h"

namespace igx::detail {
namespace {

constexpr size_t kNoParent = std::numeric_limits<size_t>::max();

// A gradient evaluation kept for refinement.
struct Node {
  double alpha;
  double value;            // F(gamma(alpha))
  double slope;            // s(alpha) = grad . (x - x')
  double slope_magnitude;  // sum_i |grad_i (x_i - x'_i)|: the scale of the slope's rounding
  torch::Tensor gradient;  // example shape, the model's dtype
};

// Simpson on [left, right] with its midpoint; indices into the example's nodes.
struct Panel {
  size_t left, middle, right;
  // A panel made by bisection: the parent's third node (its other end), and which half this is.
  size_t parent_far = kNoParent;
  bool left_half = false;
  // A panel made by splitting a parent at a located switch point (locate_switch), or whose three
  // nodes share one linear region (same_gradient): its estimate is the bound for an integrand
  // monotone between nodes, not the comparison with a parent quadratic (whose far node may lie in
  // another region: the panel itself is exact).
  bool around_kink = false;
  double signed_error = 0;     // Simpson of s - (F(right) - F(left)), as computed
  double vector_error = 0;     // L1 norm of the per-feature estimate (panel_feature_errors)
  double hidden_variation = 0; // variation of F inside that the scan sees and the nodes do not
  // |e| of each half (the panel's quadratic of s over it against F's exact change there), summed,
  // less the rounding of F at the three nodes: what the nodes' gradients do not explain.
  double half_errors = 0;
  double slope_magnitude = 0;  // Simpson of the nodes' slope magnitudes (rounding of the attributions)
  // Folded to keep within the memory budget: its gradients are summed into the example's
  // accumulators and it is not bisected again; its errors still count.
  bool frozen = false;

  double error() const { return std::abs(signed_error); }
  // What the attribution-vector criterion counts for this panel: infinite (no estimate) while the
  // scan sees F vary inside where its nodes do not. F's hidden variation is only a lower bound of
  // the vector error there (||A||_1 >= |sum A|): the features can cancel in F by any factor (8000
  // on a saturated BERT), so the panel is bisected until its nodes see what F does.
  // Likewise while the halves' errors exceed twice the estimate: the nodes see F move (1 -> 0 -> 1
  // at the three nodes of a float32 saturated MLP) where their gradients are ~0 on both sides of
  // narrow walls, so the estimate from those gradients is ~0 and says nothing. A single kink of s
  // (ReLU) gives at most 4/3 of the estimate of a panel with a parent (all but an unpaired first
  // one), a smooth s a vanishing fraction (higher order). Otherwise the halves' errors are a floor:
  // the estimate does not count on errors of the two halves cancelling, as the panel sum does not
  // count on panels' (for one kink they are never below the panel's true error, which the estimate
  // alone misses by up to 4/3).
  double vector_share() const {
    if (hidden_variation > 0.0 || half_errors > 2.0 * vector_error) return std::numeric_limits<double>::infinity();
    return std::max(vector_error, half_errors);
  }
};

struct ExampleState {
  torch::Tensor difference;  // x - x', example shape, model dtype
  torch::Tensor absolute_difference;  // |x - x'|, float64
  double output_baseline = 0.0;  // F(x') = F at alpha = 0, from the first round
  double output_input = 0.0;     // F(x) = F at alpha = 1, from the first round
  // F(x) and F(x') in float64 (float64_ends), which completeness is checked against when known.
  std::optional<double> float64_input, float64_baseline;
  std::vector<Node> nodes;  // in the order evaluated: refinement appends, so only the first round's are sorted
  std::vector<Panel> panels;  // in path order
  PathScan scan;
  Rounding rounding;
  ErrorStanding standing;
  bool finished = false;
  // Frozen panels' share of the Simpson gradient sum and of the per-feature error estimate
  // (float64, example shape); undefined until a panel is frozen.
  torch::Tensor folded_sum, folded_errors;
  // Once finished: the Simpson gradient sum and the per-feature errors (the gradients are let go).
  torch::Tensor integrated, feature_errors;

  ExampleState(torch::ScalarType dtype, OutputKind output) : rounding(dtype, output) {}
};

// A round's gradients kSlopeChunk at a time: their float64 copy (and its |.|) is then a few
// nodes' memory, not several times the round's.
std::vector<double> slopes(const torch::Tensor& gradients, const torch::Tensor& difference, bool magnitude) {
  constexpr int64_t kSlopeChunk = 32;
  torch::Tensor d = difference.reshape({-1}).to(gradients.device(), torch::kDouble);
  if (magnitude) d = d.abs();
  std::vector<double> result;
  result.reserve(static_cast<size_t>(gradients.size(0)));
  for (int64_t begin = 0; begin < gradients.size(0); begin += kSlopeChunk) {
    const int64_t count = std::min(kSlopeChunk, gradients.size(0) - begin);
    const torch::Tensor flat = gradients.narrow(0, begin, count).reshape({count, -1}).to(torch::kDouble);
    const std::vector<double> part = to_vector(torch::mv(magnitude ? flat.abs() : flat, d));
    result.insert(result.end(), part.begin(), part.end());
  }
  return result;
}

void append_nodes(ExampleState& state, const std::vector<double>& alphas, const PathResult& result) {
  const std::vector<double> s = slopes(result.gradients, state.difference, false);
  const std::vector<double> magnitudes = slopes(result.gradients, state.difference, true);
  for (size_t k = 0; k < alphas.size(); ++k) {
    state.nodes.push_back({alphas[k], result.values[k], s[k], magnitudes[k], result.gradients[static_cast<int64_t>(k)]});
    state.rounding.see(result.output_magnitudes[k]);
  }
}

template <typename Value>
Value absolute(const Value& x) {
  if constexpr (std::is_same_v<Value, double>) {
    return std::abs(x);
  } else {
    return x.abs();
  }
}

// The larger of two, NaN if either is (as torch::maximum).
template <typename Value>
Value larger(const Value& x, const Value& y) {
  if constexpr (std::is_same_v<Value, double>) {
    return std::isnan(x) || std::isnan(y) ? std::nan("") : std::max(x, y);
  } else {
    return torch::maximum(x, y);
  }
}

// Each feature's estimated |error| on a panel of `width` (gradients at its nodes ga, gm, gb), in
// gradient units: Simpson against the composite trapezoid on the same three nodes (which
// estimates the trapezoid's error, so overestimates Simpson's on smooth stretches), and, for a
// panel made by bisection (`far`: the parent's third node), Simpson against the parent's
// quadratic integrated over this half (Richardson: what the last bisection changed here). The
// larger of the two, feature by feature. A panel around a located switch point (around_kink) has
// no parent quadratic; its estimate is width / 3 (|gm - ga| + |gb - gm|), what Simpson can be off
// by when the integrand is monotone between consecutive nodes (a half of width h holds the
// integral between h ga and h gm, Simpson gives it h/3 ga + 2h/3 gm): 0 when the three nodes
// lie in one linear region, 4 times the trapezoid comparison around one switch. One formula for
// one feature (double, the CPU loop) and for all features at once (tensors), so both give the
// same bits.
template <typename Value>
Value feature_error(const Value& ga, const Value& gm, const Value& gb, const Value* far, double width, bool left_half,
                    bool around_kink) {
  if (around_kink) return width / 3.0 * (absolute(gm - ga) + absolute(gb - gm));
  Value estimate = absolute(width / 12.0 * (2.0 * gm - ga - gb));
  if (far != nullptr) {
    const Value simpson = width / 6.0 * (ga + 4.0 * gm + gb);
    // The parent (width 2h) had nodes far, a, b (right half) or a, b, far (left half); its
    // quadratic integrated over this half is 2h/24 (5 g_near_end + 8 g_shared - g_far) mirrored.
    const Value parent_part = left_half ? width / 12.0 * (5.0 * ga + 8.0 * gb - *far)
                                        : width / 12.0 * (-*far + 8.0 * ga + 5.0 * gb);
    estimate = larger(estimate, absolute(simpson - parent_part));
  }
  return estimate;
}

// feature_error of every feature in one pass over contiguous CPU gradients: the tensor form costs
// two dozen small tensor operations per panel, which dominated the adaptive loop's own time on
// small models.
template <typename Scalar>
torch::Tensor feature_errors_on_cpu(const torch::Tensor& ga, const torch::Tensor& gm, const torch::Tensor& gb,
                                    const torch::Tensor* far, double width, bool left_half, bool around_kink,
                                    const torch::Tensor& absolute_difference) {
  torch::Tensor errors = torch::empty_like(absolute_difference);
  const Scalar *a = ga.data_ptr<Scalar>(), *m = gm.data_ptr<Scalar>(), *b = gb.data_ptr<Scalar>();
  const Scalar* f = far != nullptr ? far->data_ptr<Scalar>() : nullptr;
  const double* scale = absolute_difference.data_ptr<double>();
  double* out = errors.data_ptr<double>();
  for (int64_t i = 0, count = errors.numel(); i < count; ++i) {
    const double far_value = f != nullptr ? static_cast<double>(f[i]) : 0.0;
    out[i] = feature_error<double>(a[i], m[i], b[i], f != nullptr ? &far_value : nullptr, width, left_half,
                                   around_kink) *
             scale[i];
  }
  return errors;
}

// Each feature's estimated |error| on the panel, in attribution units (feature_error times
// |x_i - x'_i|).
torch::Tensor panel_feature_errors(const ExampleState& state, const Panel& panel) {
  const Node& a = state.nodes[panel.left];
  const Node& m = state.nodes[panel.middle];
  const Node& b = state.nodes[panel.right];
  const double width = b.alpha - a.alpha;
  const torch::Tensor* far = panel.parent_far != kNoParent ? &state.nodes[panel.parent_far].gradient : nullptr;
  const torch::ScalarType type = a.gradient.scalar_type();
  const bool on_cpu = state.absolute_difference.is_contiguous() && state.absolute_difference.device().is_cpu();
  const auto fits = [&](const torch::Tensor& g) {
    return g.device().is_cpu() && g.is_contiguous() && g.scalar_type() == type && g.numel() == state.absolute_difference.numel();
  };
  if (on_cpu && (type == torch::kFloat || type == torch::kDouble) && fits(a.gradient) && fits(m.gradient) &&
      fits(b.gradient) && (far == nullptr || fits(*far))) {
    return type == torch::kFloat
               ? feature_errors_on_cpu<float>(a.gradient, m.gradient, b.gradient, far, width, panel.left_half,
                                              panel.around_kink, state.absolute_difference)
               : feature_errors_on_cpu<double>(a.gradient, m.gradient, b.gradient, far, width, panel.left_half,
                                               panel.around_kink, state.absolute_difference);
  }
  const torch::Tensor ga = a.gradient.to(torch::kDouble), gm = m.gradient.to(torch::kDouble),
                      gb = b.gradient.to(torch::kDouble);
  const torch::Tensor far_double = far != nullptr ? far->to(torch::kDouble) : torch::Tensor();
  const torch::Tensor estimate =
      feature_error<torch::Tensor>(ga, gm, gb, far != nullptr ? &far_double : nullptr, width, panel.left_half,
                                   panel.around_kink);
  return estimate * state.absolute_difference.to(estimate.device());
}

// Defined below, with the located switch points.
bool same_gradient(const ExampleState& state, const Node& p, const Node& q);

Panel make_panel(const ExampleState& state, size_t left, size_t middle, size_t right, size_t parent_far = kNoParent,
                 bool left_half = false, bool around_kink = false) {
  const Node& a = state.nodes[left];
  const Node& m = state.nodes[middle];
  const Node& b = state.nodes[right];
  const double width = b.alpha - a.alpha;
  Panel panel{left, middle, right, parent_far, left_half, around_kink};
  if (!around_kink && same_gradient(state, a, m) && same_gradient(state, m, b)) panel.around_kink = true;
  panel.signed_error = width / 6.0 * (a.slope + 4.0 * m.slope + b.slope) - (b.value - a.value);
  panel.slope_magnitude = width / 6.0 * (a.slope_magnitude + 4.0 * m.slope_magnitude + b.slope_magnitude);
  panel.vector_error = panel_feature_errors(state, panel).sum().item<double>();
  panel.hidden_variation = state.scan.hidden_variation({a.alpha, m.alpha, b.alpha}, {a.value, m.value, b.value},
                                                       state.rounding);
  // The panel's quadratic of s integrated over its left half: width / 24 (5 s(a) + 8 s(m) - s(b)).
  const double left_error = width / 24.0 * (5.0 * a.slope + 8.0 * m.slope - b.slope) - (m.value - a.value);
  const double right_error = panel.signed_error - left_error;
  const double rounding = state.rounding.of_value(a.value) + 2.0 * state.rounding.of_value(m.value) +
                          state.rounding.of_value(b.value) + state.rounding.of_sum(panel.slope_magnitude);
  panel.half_errors = std::max(0.0, std::abs(left_error) + std::abs(right_error) - rounding);
  return panel;
}

// Composite Simpson over the example's panels, as a weighted sum of its nodes' gradients (the
// frozen panels' share is folded already).
torch::Tensor simpson_gradient_sum(const ExampleState& state) {
  std::vector<double> weights(state.nodes.size(), 0.0);
  for (const Panel& panel : state.panels) {
    if (panel.frozen) continue;
    const double width = state.nodes[panel.right].alpha - state.nodes[panel.left].alpha;
    weights[panel.left] += width / 6.0;
    weights[panel.middle] += 4.0 * width / 6.0;
    weights[panel.right] += width / 6.0;
  }
  // kSumChunk nodes at a time: a float64 copy of every node at once would take three times the
  // memory the nodes themselves take.
  constexpr size_t kSumChunk = 32;
  torch::Tensor sum = state.folded_sum;
  std::vector<torch::Tensor> gradients;
  std::vector<double> chunk_weights;
  auto add_chunk = [&] {
    if (gradients.empty()) return;
    const torch::Tensor stacked = torch::stack(gradients).to(torch::kDouble);
    const torch::Tensor weight_tensor = torch::tensor(chunk_weights, torch::kDouble).to(stacked.device());
    const torch::Tensor part = torch::matmul(weight_tensor.unsqueeze(0), stacked.reshape({stacked.size(0), -1}))
                                   .reshape(stacked.sizes().slice(1));
    sum = sum.defined() ? sum + part : part;
    gradients.clear();
    chunk_weights.clear();
  };
  for (size_t i = 0; i < state.nodes.size(); ++i) {
    if (!state.nodes[i].gradient.defined()) continue;  // only frozen panels used it
    gradients.push_back(state.nodes[i].gradient);
    chunk_weights.push_back(weights[i]);
    if (gradients.size() == kSumChunk) add_chunk();
  }
  add_chunk();
  return sum.defined() ? sum : torch::zeros_like(state.absolute_difference);
}

// The per-feature error estimate of the whole example.
torch::Tensor example_feature_errors(const ExampleState& state) {
  torch::Tensor errors = torch::zeros_like(state.absolute_difference);
  if (state.folded_errors.defined()) errors += state.folded_errors;
  for (const Panel& panel : state.panels) {
    if (!panel.frozen) errors += panel_feature_errors(state, panel);
  }
  return errors;
}

// Lets go of the gradients that no panel still being refined needs (a frozen panel's are folded).
// A node's gradient is a row of its round's tensor: the rows still needed of a tensor that lost
// some are copied out, so that the rows let go free their memory (unbounded runs copy nothing).
void release_unreferenced(ExampleState& state) {
  std::vector<bool> needed(state.nodes.size(), false);
  for (const Panel& panel : state.panels) {
    if (panel.frozen) continue;
    needed[panel.left] = needed[panel.middle] = needed[panel.right] = true;
    if (panel.parent_far != kNoParent) needed[panel.parent_far] = true;  // its feature errors use it
  }
  std::map<const void*, size_t> needed_bytes;  // per storage
  for (size_t i = 0; i < state.nodes.size(); ++i) {
    torch::Tensor& gradient = state.nodes[i].gradient;
    if (!gradient.defined()) continue;
    if (needed[i]) {
      needed_bytes[gradient.storage().data()] += gradient.numel() * gradient.element_size();
    } else {
      gradient = torch::Tensor();
    }
  }
  for (Node& node : state.nodes) {
    if (node.gradient.defined() && needed_bytes[node.gradient.storage().data()] < node.gradient.storage().nbytes()) {
      node.gradient = node.gradient.clone();
    }
  }
}

// Folds panel `i` into the accumulators: its Simpson share of the gradient sum and its feature
// errors. It is not bisected again.
void freeze(ExampleState& state, size_t i) {
  Panel& panel = state.panels[i];
  const Node& a = state.nodes[panel.left];
  const Node& m = state.nodes[panel.middle];
  const Node& b = state.nodes[panel.right];
  const double width = b.alpha - a.alpha;
  const torch::Tensor share = width / 6.0 * (a.gradient.to(torch::kDouble) + 4.0 * m.gradient.to(torch::kDouble) +
                                             b.gradient.to(torch::kDouble));
  const torch::Tensor errors = panel_feature_errors(state, panel);
  state.folded_sum = state.folded_sum.defined() ? state.folded_sum + share : share;
  state.folded_errors = state.folded_errors.defined() ? state.folded_errors + errors : errors;
  panel.frozen = true;
}

// The example's result, computed once it is finished; its gradients are let go.
void finish(ExampleState& state) {
  state.finished = true;
  state.integrated = simpson_gradient_sum(state);
  state.feature_errors = example_feature_errors(state);
  for (Node& node : state.nodes) node.gradient = torch::Tensor();
  state.folded_sum = state.folded_errors = torch::Tensor();
}

// Bytes of refinement state the example holds: its nodes' gradients and the accumulators.
int64_t kept_bytes(const ExampleState& state) {
  if (state.finished) return 0;
  int64_t bytes = 0;
  for (const Node& node : state.nodes) {
    if (node.gradient.defined()) bytes += node.gradient.numel() * static_cast<int64_t>(node.gradient.element_size());
  }
  if (state.folded_sum.defined()) bytes += 2 * state.folded_sum.numel() * static_cast<int64_t>(sizeof(double));
  return bytes;
}

// One panel refined this round: bisected (new nodes at its quarter points), or split around a
// located switch point `kink` (locate_switch) into three panels, [a, kink - gap],
// [kink - gap, kink + gap] and [kink + gap, b], with their midpoints.
struct Refinement {
  size_t panel;
  double kink = 0.0;
  double gap = 0.0;  // 0: bisected

  bool at_kink() const { return gap > 0.0; }
  size_t new_nodes() const { return at_kink() ? 5 : 2; }
  std::vector<double> alphas(const ExampleState& state) const {
    const Panel& p = state.panels[panel];
    const double a = state.nodes[p.left].alpha, m = state.nodes[p.middle].alpha, b = state.nodes[p.right].alpha;
    if (!at_kink()) return {0.5 * (a + m), 0.5 * (m + b)};
    return {0.5 * (a + kink - gap), kink - gap, kink, kink + gap, 0.5 * (kink + gap + b)};
  }
};

size_t new_node_count(const std::vector<Refinement>& refinements) {
  size_t count = 0;
  for (const Refinement& refinement : refinements) count += refinement.new_nodes();
  return count;
}

// Piecewise-linear models (ReLU, max-pool, no other non-linearity on the way to F) are affine on
// each linear region, a convex polytope, so a region meets the straight path in one interval, where
// the gradient is constant and F linear in alpha. Two nodes whose gradients agree (to the rounding
// of s) are taken to share a region. Not where F is flat (s's terms all 0): a smooth model
// saturated in float32 has gradients exactly 0 on both sides of a transition, which is no switch.
bool same_gradient(const ExampleState& state, const Node& p, const Node& q) {
  if (!(p.slope_magnitude > 0.0 && q.slope_magnitude > 0.0)) return false;
  const torch::Tensor difference = (p.gradient.to(torch::kDouble) - q.gradient.to(torch::kDouble)).abs();
  const double distance = (difference * state.absolute_difference.to(difference.device())).sum().item<double>();
  return distance <= state.rounding.of_sum(p.slope_magnitude + q.slope_magnitude);
}

// How far F(q) - F(p) may be from the slope at p (or q) times q - p by rounding alone.
double line_allowance(const ExampleState& state, const Node& p, const Node& q) {
  const Rounding& rounding = state.rounding;
  return rounding.of_value(p.value) + rounding.of_value(q.value) +
         rounding.of_sum(std::max(p.slope_magnitude, q.slope_magnitude)) * (q.alpha - p.alpha);
}

// Whether F at the scan points strictly inside (from, to) follows `predicted` to rounding.
template <typename Predicted>
bool scan_follows(const ExampleState& state, double from, double to, double allowance, const Predicted& predicted) {
  const PathScan& scan = state.scan;
  for (auto k = std::upper_bound(scan.alphas.begin(), scan.alphas.end(), from); k != scan.alphas.end() && *k < to; ++k) {
    const double value = scan.values[static_cast<size_t>(k - scan.alphas.begin())];
    if (std::abs(value - predicted(*k)) > allowance + state.rounding.of_value(value)) return false;
  }
  return true;
}

// The switch point of a panel whose nodes show a piecewise-linear integrand switching once: two
// nodes in one linear region (same_gradient), F linear between them (and at the scan points
// there), the third node in another region. If the other half holds one switch, F there is two
// lines, F(p) + s(p) (alpha - p) up to the switch and F(q) - s(q) (q - alpha) after it, which meet
// where F(q) - F(p) = s(p) (kink - p) + s(q) (q - kink); the scan points inside must lie on them.
// The panel is then split around that point, the small middle panel 2 gap wide (more than the
// point's uncertainty from rounding), so that the outer panels lie in one region each, which their
// nodes confirm (around_kink: their estimate is 0 then) or refute (it is not, and refinement goes
// on). None when the nodes show no such switch.
constexpr double kKinkGapFraction = 1e-3;  // the middle panel's half-width, as a fraction of the half's
std::optional<Refinement> locate_switch(const ExampleState& state, size_t index) {
  const Panel& panel = state.panels[index];
  const Node& a = state.nodes[panel.left];
  const Node& m = state.nodes[panel.middle];
  const Node& b = state.nodes[panel.right];
  const bool left_same = same_gradient(state, a, m);
  if (left_same == same_gradient(state, m, b)) return std::nullopt;  // no switch seen, or one in each half
  const Node& line_from = left_same ? a : m;
  const Node& line_to = left_same ? m : b;
  const double line_slack = line_allowance(state, line_from, line_to);
  auto on_line = [&](double alpha) { return line_from.value + line_from.slope * (alpha - line_from.alpha); };
  if (std::abs(line_to.value - on_line(line_to.alpha)) > line_slack ||
      !scan_follows(state, line_from.alpha, line_to.alpha, line_slack, on_line)) {
    return std::nullopt;
  }
  const Node& p = left_same ? m : a;
  const Node& q = left_same ? b : m;
  const double width = q.alpha - p.alpha;
  const double jump = p.slope - q.slope;
  const double slack = line_allowance(state, p, q);
  if (!(std::abs(jump) * width > 4.0 * slack)) return std::nullopt;  // the slopes cannot say where
  const double uncertainty = slack / std::abs(jump);
  double kink = p.alpha + (q.value - p.value - q.slope * width) / jump;
  // A switch at a node (the middle one of a panel split around it before) shows within rounding of
  // it, on either side.
  if (!(kink > p.alpha - uncertainty && kink < q.alpha + uncertainty)) return std::nullopt;
  kink = std::clamp(kink, p.alpha, q.alpha);
  const double gap = std::max(4.0 * uncertainty, kKinkGapFraction * width);
  // The five new nodes distinct from each other and inside the panel.
  if (!(kink - gap > a.alpha && kink + gap < b.alpha &&
        a.alpha < 0.5 * (a.alpha + kink - gap) && 0.5 * (a.alpha + kink - gap) < kink - gap && kink - gap < kink &&
        kink < kink + gap && kink + gap < 0.5 * (kink + gap + b.alpha) && 0.5 * (kink + gap + b.alpha) < b.alpha)) {
    return std::nullopt;
  }
  auto two_lines = [&](double alpha) {
    return alpha < kink ? p.value + p.slope * (alpha - p.alpha) : q.value - q.slope * (q.alpha - alpha);
  };
  if (!scan_follows(state, p.alpha, q.alpha, slack, two_lines)) return std::nullopt;
  return Refinement{index, kink, gap};
}

// Keeps the example's refinement state after this round within `memory_share` bytes: freezes the
// panels not being refined, smallest error first, then, if that is not enough, refines fewer
// panels this round (at least one, so refinement always progresses). Returns whether it had to.
template <typename ErrorOf>
bool fit_in_memory(ExampleState& state, std::vector<Refinement>& split, int64_t memory_share, int64_t node_bytes,
                   const ErrorOf& error_of) {
  auto new_bytes = [&] { return static_cast<int64_t>(new_node_count(split)) * node_bytes; };
  auto projected = [&] {
    const int64_t folding = state.folded_sum.defined() ? 0 : 4 * node_bytes;  // float64 accumulators, if new
    return kept_bytes(state) + new_bytes() + folding;
  };
  if (kept_bytes(state) + new_bytes() <= memory_share) return false;
  std::vector<bool> splitting(state.panels.size(), false);
  for (const Refinement& refinement : split) splitting[refinement.panel] = true;
  while (projected() > memory_share) {
    size_t cheapest = kNoParent;
    for (size_t i = 0; i < state.panels.size(); ++i) {
      if (state.panels[i].frozen || splitting[i]) continue;
      if (cheapest == kNoParent || error_of(i) < error_of(cheapest)) cheapest = i;
    }
    if (cheapest != kNoParent) {
      freeze(state, cheapest);
      release_unreferenced(state);
    } else if (split.size() > 1) {
      splitting[split.back().panel] = false;  // the least urgent refinement waits (or is frozen next)
      split.pop_back();
    } else {
      break;  // one bisection and nothing else held: the share is below what refinement needs
    }
  }
  return true;
}

// How far rounding of F may move a panel's computed error: F at its two ends.
double panel_rounding(const ExampleState& state, const Panel& panel) {
  return state.rounding.of_value(state.nodes[panel.left].value) + state.rounding.of_value(state.nodes[panel.right].value);
}

// How far rounding may move delta through F(x) and F(x').
double ends_rounding(const ExampleState& state) {
  return state.rounding.of_value(state.output_input) + state.rounding.of_value(state.output_baseline);
}

// A panel whose computed error is within what rounding of F can make: bisecting it cannot tell
// the quadrature error from noise, so completeness refinement leaves it.
bool resolvable(const ExampleState& state, const Panel& panel) { return panel.error() > panel_rounding(state, panel); }

// Measures the example against both criteria (certificate.h). The rounding of F enters the
// completeness bound per value of F it uses: both ends of every panel for the panel sum, F(x)
// and F(x') for |delta| (the interior values cancel in delta); casting the attributions to the
// model's dtype (round to nearest) adds eps / 2 * ||A||_1.
ErrorStanding stand(const ExampleState& state, double target, const IgOptions& options, torch::ScalarType dtype) {
  ErrorStanding standing;
  const torch::Tensor attributions = simpson_gradient_sum(state) * state.difference.to(torch::kDouble);
  standing.attribution_norm = attributions.abs().sum().item<double>();
  const double attribution_sum = attributions.sum().item<double>();
  const double delta = attribution_sum - (state.output_input - state.output_baseline);
  const double cast = dtype == torch::kDouble ? 0.0 : 0.5 * state.rounding.epsilon() * standing.attribution_norm;
  standing.completeness_target = target;
  double error_sum = 0.0, unresolved = 0.0, vector_sum = 0.0, magnitude = 0.0, panel_roundings = 0.0;
  bool any_resolvable = false;
  for (const Panel& panel : state.panels) {
    error_sum += panel.error();
    vector_sum += panel.vector_share();
    magnitude += panel.slope_magnitude;
    panel_roundings += panel_rounding(state, panel);
    if (resolvable(state, panel)) {
      any_resolvable = true;
    } else {
      unresolved += panel.error();
    }
  }
  if (options.certify() == Certify::PanelSum) {
    standing.completeness_bound = error_sum + panel_roundings + cast;
    standing.completeness_floor = panel_roundings + unresolved + cast;
  } else {
    standing.completeness_bound = std::abs(delta) + ends_rounding(state) + cast;
    standing.completeness_floor = ends_rounding(state) + cast;
  }
  if (state.float64_input) {
    // Against float64 ends the completeness error is what an independent check computes: only the
    // attributions' own rounding (in them already, and in their cast) is left.
    const double exact_delta = attribution_sum - (*state.float64_input - *state.float64_baseline);
    if (options.certify() == Certify::Completeness) {
      standing.completeness_bound = std::abs(exact_delta) + cast;
      standing.completeness_floor = cast;
    }
  }
  // Refinement goes on while some panel's error is more than rounding (it can still remove
  // error), even when rounding alone already exceeds the target: the report then says so.
  if (!standing.completeness_met()) {
    standing.refinable = any_resolvable;
    standing.precision_limited = standing.completeness_floor >= target || !any_resolvable;
    if (!any_resolvable) standing.completeness_floor = standing.completeness_bound;
  }
  // ||A - IG||_1 >= |sum (A - IG)| = |delta|: never estimate below it. None while a panel has no
  // estimate (vector_share). The gradients' rounding follows F where they are computed.
  for (const Node& node : state.nodes) {
    standing.vector_rounding = std::max(standing.vector_rounding, state.rounding.of_gradients(node.value));
  }
  if (std::isfinite(vector_sum)) {
    standing.vector_error =
        std::max(vector_sum + state.rounding.of_sum(magnitude) + standing.vector_rounding, std::abs(delta));
  }
  return standing;
}

void check_adaptive_options(const IgOptions& options) {
  if (options.initial_intervals() < 1) {
    throw UsageError("initial_intervals must be at least 1, got " + std::to_string(options.initial_intervals()));
  }
  if (options.max_steps() < 3) {
    throw UsageError("max_steps " + std::to_string(options.max_steps()) + " is below 3, the fewest nodes of one Simpson panel");
  }
  if (options.memory_budget() < 0) {
    throw UsageError("memory_budget " + std::to_string(options.memory_budget()) +
                     " is negative; expected bytes, or 0 for no bound");
  }
}

}  // namespace

Attribution integrate_adaptively(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                 const ExtraInputs& extras) {
  check_error_control_options(options, inputs.size(0));
  check_adaptive_options(options);
  const int64_t batch_size = inputs.size(0);
  const torch::ScalarType dtype = inputs.scalar_type();
  const torch::Tensor baselines = options.baseline().resolve(inputs);
  Integrator integrator(model, extras, options.output(), options.internal_batch_size(), options.batch_sizing());
  set_targets(integrator, options.target(), options.output(), inputs, false);

  std::vector<ExampleState> states(static_cast<size_t>(batch_size), ExampleState(dtype, options.output()));
  for (int64_t b = 0; b < batch_size; ++b) {
    ExampleState& state = states[b];
    state.difference = inputs[b] - baselines[b];
    state.absolute_difference = state.difference.to(torch::kDouble).abs();
  }
  // Each example may keep an equal share of the budget, so that its result does not depend on the
  // others'.
  const int64_t memory_share = options.memory_budget() > 0 ? std::max<int64_t>(1, options.memory_budget() / batch_size) : 0;
  const int64_t node_bytes = inputs[0].numel() * static_cast<int64_t>(inputs.element_size());
  int64_t peak_kept_bytes = 0;
  auto measure_kept = [&] {
    int64_t total = 0;
    for (const ExampleState& state : states) total += kept_bytes(state);
    peak_kept_bytes = std::max(peak_kept_bytes, total);
  };

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
  const int64_t first_panels = std::min<int64_t>(options.initial_intervals(), (options.max_steps() - 1) / 2);
  std::vector<double> first(2 * first_panels + 1);
  for (int64_t k = 0; k <= 2 * first_panels; ++k) first[k] = static_cast<double>(k) / static_cast<double>(2 * first_panels);
  evaluate(std::vector<std::vector<double>>(batch_size, first));
  measure_kept();
  for (ExampleState& state : states) {
    state.output_baseline = state.nodes.front().value;   // alpha = 0, exactly x'
    state.output_input = state.nodes[2 * first_panels].value;  // alpha = 1, exactly x
  }
  // F at the ends in float64, when the model has a float64 form: the rounding of the model's own
  // values is then measured rather than assumed.
  const std::optional<Float64Ends> exact = float64_ends(model, inputs, baselines, integrator.targets(), options, extras);
  std::vector<ScanStart> scan_starts(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    ExampleState& state = states[b];
    if (exact) {
      state.float64_input = exact->output_input[b];
      state.float64_baseline = exact->output_baseline[b];
      state.rounding.calibrate(state.output_input, *state.float64_input);
      state.rounding.calibrate(state.output_baseline, *state.float64_baseline);
    }
    for (const Node& node : state.nodes) {
      scan_starts[b].alphas.push_back(node.alpha);
      scan_starts[b].values.push_back(node.value);
    }
    scan_starts[b].rounding = &state.rounding;
  }
  // The scan of F between the first nodes (certificate.h: coarse to fine).
  std::vector<PathScan> scans = scan_paths(integrator, baselines, inputs, scan_starts, options.scan_points(),
                                           options.output(), options.internal_batch_size());
  for (int64_t b = 0; b < batch_size; ++b) {
    ExampleState& state = states[b];
    state.scan = std::move(scans[b]);
    state.rounding.see(state.scan.output_magnitude);
    // Pairs of first panels are the halves of a coarser panel: the Richardson estimate needs no
    // bisection to start (a last, unpaired panel has only its own three nodes).
    for (int64_t i = 0; i < first_panels; ++i) {
      const size_t left = 2 * i, right = 2 * i + 2;
      const bool paired = i % 2 == 0 ? i + 1 < first_panels : true;
      const size_t far = !paired ? kNoParent : i % 2 == 0 ? right + 2 : left - 2;
      state.panels.push_back(make_panel(state, left, left + 1, right, far, i % 2 == 0));
    }
  }

  while (true) {
    std::vector<std::vector<double>> new_alphas(batch_size);
    std::vector<std::vector<Refinement>> split(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      ExampleState& state = states[b];
      if (state.finished) continue;
      const double target = error_target(b, state.float64_input.value_or(state.output_input),
                                         state.float64_baseline.value_or(state.output_baseline), options, dtype);
      state.standing = stand(state, target, options, dtype);
      state.standing.vector_floor = vector_floor(b, options);
      const ErrorStanding& standing = state.standing;
      const bool completeness_met = standing.completeness_met();
      if (completeness_met && standing.vector_met(options.attribution_tolerance())) {
        finish(state);
        continue;
      }
      if (!completeness_met && !standing.refinable) {
        finish(state);  // only rounding is left: more nodes would add noise, not remove error
        continue;
      }
      if (completeness_met && standing.vector_precision_limited(options.attribution_tolerance())) {
        finish(state);  // the gradients' rounding alone exceeds what the vector may have
        continue;
      }
      // Bisect the worst panels of the criterion not met until what is left unrefined is within
      // half its target. Completeness leaves the panels whose error is rounding.
      const bool by_vector = completeness_met;
      // Frozen panels (memory budget) stay as they are; their error counts as left unrefined.
      std::vector<size_t> order;
      double frozen_error = 0.0;
      auto error_of = [&](size_t i) { return by_vector ? state.panels[i].vector_share() : state.panels[i].error(); };
      for (size_t i = 0; i < state.panels.size(); ++i) {
        if (!(by_vector ? state.panels[i].vector_share() > 0.0 : resolvable(state, state.panels[i]))) continue;
        if (state.panels[i].frozen) {
          frozen_error += error_of(i);
        } else {
          order.push_back(i);
        }
      }
      std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return error_of(i) > error_of(j); });
      // Panels without an estimate (infinite vector share) are bisected whatever the others leave.
      double remaining = 0.0;
      for (size_t i : order) {
        if (std::isfinite(error_of(i))) remaining += error_of(i);
      }
      remaining += frozen_error;
      const double goal = by_vector ? 0.5 * std::max(options.attribution_tolerance() * standing.attribution_norm,
                                                     standing.vector_floor)
                                    : 0.5 * std::max(0.0, target - standing.completeness_floor);
      // When the frozen panels' errors alone exceed what the criterion allows, nodes elsewhere
      // cannot certify the example: it ends here rather than spend the step budget in vain.
      const bool frozen_out = frozen_error > 2.0 * goal;
      int64_t budget = options.max_steps() - static_cast<int64_t>(state.nodes.size());
      for (size_t i : order) {
        const bool estimated = std::isfinite(error_of(i));
        if (frozen_out || (estimated && remaining <= goal) || budget < 2) break;
        std::optional<Refinement> at_kink = budget >= 5 ? locate_switch(state, i) : std::nullopt;
        split[b].push_back(at_kink ? *at_kink : Refinement{i});
        if (estimated) remaining -= error_of(i);
        budget -= static_cast<int64_t>(split[b].back().new_nodes());
      }
      if (split[b].empty()) {
        // Not certified: the step budget is spent, the panels left to refine are frozen (memory
        // budget), or only rounding is left to refine.
        if (!completeness_met && budget >= 2 && frozen_error == 0.0) {
          state.standing.precision_limited = true;
          state.standing.completeness_floor = state.standing.completeness_bound;
        }
        finish(state);
      } else if (memory_share > 0) {
        fit_in_memory(state, split[b], memory_share, node_bytes, error_of);
      }
      for (const Refinement& refinement : split[b]) {
        const std::vector<double> alphas = refinement.alphas(state);
        new_alphas[b].insert(new_alphas[b].end(), alphas.begin(), alphas.end());
      }
    }
    if (std::all_of(split.begin(), split.end(), [](const auto& s) { return s.empty(); })) break;

    evaluate(new_alphas);
    measure_kept();
    for (int64_t b = 0; b < batch_size; ++b) {
      ExampleState& state = states[b];
      if (split[b].empty()) continue;
      // The refinements' new nodes were appended in their order, new_nodes() each.
      std::vector<const Refinement*> refinement_of(state.panels.size(), nullptr);
      std::vector<size_t> first_node(state.panels.size(), 0);
      size_t next = state.nodes.size() - new_alphas[b].size();
      for (const Refinement& refinement : split[b]) {
        refinement_of[refinement.panel] = &refinement;
        first_node[refinement.panel] = next;
        next += refinement.new_nodes();
      }
      std::vector<Panel> refined;
      for (size_t i = 0; i < state.panels.size(); ++i) {
        const Panel& panel = state.panels[i];
        const size_t k = first_node[i];
        if (refinement_of[i] == nullptr) {
          refined.push_back(panel);
        } else if (refinement_of[i]->at_kink()) {
          refined.push_back(make_panel(state, panel.left, k, k + 1, kNoParent, false, true));
          refined.push_back(make_panel(state, k + 1, k + 2, k + 3, kNoParent, false, true));
          refined.push_back(make_panel(state, k + 3, k + 4, panel.right, kNoParent, false, true));
        } else {
          refined.push_back(make_panel(state, panel.left, k, panel.middle, panel.right, true));
          refined.push_back(make_panel(state, panel.middle, k + 1, panel.right, panel.left, false));
        }
      }
      state.panels = std::move(refined);
    }
  }

  Attribution attribution;
  std::vector<torch::Tensor> values, errors;
  for (int64_t b = 0; b < batch_size; ++b) {
    const ExampleState& state = states[b];
    const torch::Tensor& integrated = state.integrated;
    const torch::Tensor multiplied = integrated * state.difference.to(integrated.device(), torch::kDouble);
    values.push_back(options.multiply_by_inputs() ? multiplied : integrated);
    errors.push_back(state.feature_errors);
    ExampleReport report;
    report.target = integrator.targets()[b].item<int64_t>();
    report.output_baseline = state.float64_baseline.value_or(state.output_baseline);
    report.output_input = state.float64_input.value_or(state.output_input);
    report.attribution_sum = multiplied.sum().item<double>();
    report.steps = static_cast<int64_t>(state.nodes.size());
    report.forward_steps = static_cast<int64_t>(state.scan.values.size());
    std::vector<double> sampled = state.scan.alphas;
    for (const Node& node : state.nodes) sampled.push_back(node.alpha);
    report.scan_resolution = widest_unsampled_stretch(std::move(sampled));
    complete_report(report, options, dtype);
    write_certificate(report, state.standing, options);
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.errors = torch::stack(errors).to(torch::kCPU);
  attribution.counts = integrator.counts();
  attribution.peak_kept_bytes = peak_kept_bytes;
  if (exact) {
    attribution.counts.forward_rows += exact->counts.forward_rows;
    attribution.counts.batches += exact->counts.batches;
  }
  return attribution;
}

}  // namespace igx::detail
