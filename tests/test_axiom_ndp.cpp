// Axiom: non-decreasing positivity (NDP; Lundstrom, Huang and Razaviyayn, ICML 2022, §3, the axiom
// they add to recover the uniqueness of path methods).
//
// The statement tested. A path from x' to x is monotone when each coordinate moves monotonically
// from x'_i to x_i. F is non-decreasing from x' to x when F(gamma(a)) is non-decreasing in a along
// every monotone path gamma from x' to x; for differentiable F this is (x_i - x'_i) dF/dx_i >= 0 on
// the box between x' and x, for every i. NDP: if F is non-decreasing from x' to x, then
// A_i(x, x', F) >= 0 for every feature i.
//
// Why IG claims it: the straight line is a monotone path inside the box, so every
// IG_i = (x_i - x'_i) * integral dF/dx_i(gamma(a)) da integrates a non-negative function. igx's
// quadratures keep it exactly, not only in the limit: every rule (Riemann, trapezoid,
// Gauss-Legendre, the adaptive Simpson panels) has positive weights, so each A_i is a positive
// combination of non-negative numbers. The same argument gives it to
//   - distribution IG and Expected Gradients, when F is non-decreasing from every baseline to x
//     (each pair, or each sample, is non-negative);
//   - attributions at a layer, F = G o H: when H is non-decreasing from x' to x and G from
//     H(x') to H(x), the activation path H(gamma(a)) is monotone, so conductance (a path method on
//     G along that path; each term dG/dh_j (h_j(a_{k+1}) - h_j(a_k)) >= 0), layer IG, neuron
//     conductance and patch -> neuron IG are all >= 0.
//
// And where it is not claimed, the tests show it failing:
//   - the hypothesis matters: F = 3 x1 - x2 rises along the straight path from 0 to (1, 1), but
//     not along every monotone path, and IG_2 = -1;
//   - the path must be monotone: conductance follows the activation path H(gamma), which need not
//     be monotone; with a neuron that rises and falls back, G non-decreasing in every neuron on
//     the whole region visited still gives that neuron conductance -1 (closed form below);
//   - signed saliency is not a baseline attribution: where x_i < x'_i and F decreases in x_i (so
//     F is non-decreasing from x' to x), its value dF/dx_i is negative.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/distribution.h"
#include "igx/igx.h"
#include "igx/layer.h"
#include "test_models.h"

namespace {

using igx::IgOptions;

constexpr double kPi = 3.14159265358979323846;

// F(x) = sum_c v_c softplus(W2 tanh(W1 (s * x) + b1) + b2)_c with W1, W2, v > 0: non-decreasing in
// s_i x_i for every i, everywhere. With x' = x - s * d, d >= 0, F is non-decreasing from x' to x.
struct MonotoneNetwork {
  MonotoneNetwork() {
    torch::manual_seed(21);
    w1 = torch::rand({8, 5}, torch::kDouble) + 0.05;
    b1 = torch::randn({8}, torch::kDouble);
    w2 = torch::rand({6, 8}, torch::kDouble) + 0.05;
    b2 = torch::randn({6}, torch::kDouble);
    v = torch::rand({6}, torch::kDouble) + 0.05;
    signs = torch::tensor({1.0, -1.0, 1.0, -1.0, 1.0}, torch::kDouble);
  }
  torch::Tensor lower(const torch::Tensor& x) const { return torch::tanh(torch::matmul(x * signs, w1.t()) + b1); }
  torch::Tensor upper(const torch::Tensor& h) const {
    return torch::matmul(torch::softplus(torch::matmul(h, w2.t()) + b2), v).unsqueeze(1);
  }
  igx::FunctionModel model() const {
    return igx::FunctionModel([this](const torch::Tensor& x) { return upper(lower(x)); }, "monotone");
  }
  igx::SplitModel split() const {
    igx::SplitModel split;
    split.lower = std::make_shared<igx::FunctionModel>([this](const torch::Tensor& x) { return lower(x); }, "lower");
    split.upper = std::make_shared<igx::FunctionModel>([this](const torch::Tensor& h) { return upper(h); }, "upper");
    split.layer = "tanh";
    return split;
  }
  // Inputs, and baselines behind them in the direction F grows: x' = x - s * d, d in [0.2, 2.2].
  std::pair<torch::Tensor, torch::Tensor> inputs_and_baselines(int64_t count, uint64_t seed) const {
    torch::manual_seed(seed);
    const torch::Tensor inputs = torch::randn({count, 5}, torch::kDouble);
    return {inputs, inputs - signs * (torch::rand({count, 5}, torch::kDouble) * 2 + 0.2)};
  }
  torch::Tensor w1, b1, w2, b2, v, signs;
};

double smallest(const torch::Tensor& values) { return values.min().item<double>(); }

TEST(NonDecreasingPositivity, IgKeepsItWithEveryRuleAndStrategy) {
  const MonotoneNetwork network;
  auto model = network.model();
  const auto [inputs, baselines] = network.inputs_and_baselines(6, 22);
  const igx::Baseline baseline = igx::Baseline::tensor(baselines);
  for (const igx::Rule rule : {igx::Rule::RiemannLeft, igx::Rule::RiemannRight, igx::Rule::RiemannMiddle,
                               igx::Rule::RiemannTrapezoid, igx::Rule::GaussLegendre}) {
    for (int64_t steps : {1, 2, 7, 64}) {
      if (rule == igx::Rule::RiemannTrapezoid && steps < 2) continue;
      const auto result = igx::integrated_gradients(model, inputs, IgOptions().n_steps(steps).method(rule).baseline(baseline));
      EXPECT_GT(smallest(result.values), 0.0) << igx::rule_name(rule) << " n=" << steps;
    }
  }
  for (const auto& options : {IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-6),
                              IgOptions().strategy(igx::Strategy::Doubling).method(igx::Rule::RiemannRight)}) {
    const auto result = igx::integrated_gradients(model, inputs, IgOptions(options).baseline(baseline));
    EXPECT_GT(smallest(result.values), 0.0);
    for (const auto& report : result.examples) EXPECT_GT(report.output_input, report.output_baseline);
  }
  // Gradient x input is IG with one right-Riemann step from zero, so it keeps NDP too where F is
  // non-decreasing from 0 to x.
  const torch::Tensor away_from_zero = network.signs * torch::rand({4, 5}, torch::kDouble);
  EXPECT_GE(smallest(igx::input_x_gradient(model, away_from_zero).values), 0.0);
}

TEST(NonDecreasingPositivity, DistributionBaselinesKeepItInEveryDrawnPair) {
  const MonotoneNetwork network;
  auto model = network.model();
  const torch::Tensor inputs = network.inputs_and_baselines(3, 23).first;
  // Baselines behind every input: x'_j = min over the inputs (in the growing direction) minus a margin.
  torch::manual_seed(24);
  const torch::Tensor floor = std::get<0>((inputs * network.signs).min(0));
  const torch::Tensor baselines = network.signs * (floor - torch::rand({5, 5}, torch::kDouble) - 0.1);
  for (const auto& options : {IgOptions().n_steps(16), IgOptions().strategy(igx::Strategy::IntervalAdaptive)}) {
    const auto result = igx::distribution_integrated_gradients(model, inputs, baselines, options);
    EXPECT_GT(smallest(result.values), 0.0);
  }
  const auto sampled = igx::expected_gradients(model, inputs, baselines, igx::ExpectedGradientsOptions().samples(50).seed(3));
  EXPECT_GT(smallest(sampled.attribution.values), 0.0);  // every sample's term is >= 0, not only their mean
}

TEST(NonDecreasingPositivity, LayerAttributionsKeepItWhenHAndGAreMonotone) {
  const MonotoneNetwork network;
  igx::SplitModel split = network.split();
  const auto [inputs, baselines] = network.inputs_and_baselines(4, 25);
  const auto options = IgOptions().n_steps(12).baseline(igx::Baseline::tensor(baselines));
  const auto conductance = igx::layer_conductance(split, inputs, options);
  EXPECT_GT(smallest(conductance.values), 0.0);
  EXPECT_GT(smallest(igx::layer_integrated_gradients(split, inputs, options).values), 0.0);
  EXPECT_GT(smallest(igx::patch_neuron_attribution(split, inputs, torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0}), options).values), 0.0);
  // Neuron conductance: every (neuron, input) pair, dG/dh_j * dh_j/dx_i * (x_i - x'_i) >= 0.
  for (int64_t neuron : {0, 3, 7}) {
    EXPECT_GT(smallest(igx::neuron_conductance(split, inputs, {neuron}, options).values), 0.0) << neuron;
  }
}

// Without NDP's hypothesis, no claim: F = 3 x1 - x2 rises along the straight path from 0 to (1, 1)
// (F = 2a), yet falls along the monotone path that moves x2 first, and IG_2 = -1.
TEST(NonDecreasingPositivity, RisingAlongTheStraightPathIsNotEnough) {
  auto model = igx_test::linear(torch::tensor({{3.0, -1.0}}, torch::kDouble), torch::zeros({1}, torch::kDouble));
  const torch::Tensor input = torch::tensor({{1.0, 1.0}}, torch::kDouble);
  const auto result = igx::integrated_gradients(model, input, IgOptions().n_steps(4));
  EXPECT_NEAR(result.values[0][0].item<double>(), 3.0, 1e-12);
  EXPECT_NEAR(result.values[0][1].item<double>(), -1.0, 1e-12);
}

// Conductance is a path method on G along H(gamma), which need not be monotone. Input x from 0 to
// 1, h1 = x, h2 = 1 - cos(2 pi x) (rises to 2, falls back to 0), G = h2 (1 + h1). On everything
// the path visits (h1 in [0, 1], h2 >= 0) G is non-decreasing in both neurons, and H(x') = (0, 0),
// H(x) = (1, 0). Yet cond_2 = int (1 + a) d(1 - cos 2 pi a) = int (1 + a) 2 pi sin(2 pi a) da = -1:
// h2 falls where dG/dh2 is larger than where it rose. cond_1 = int h2 da = 1, the sum 0 = F(1) - F(0).
// Layer IG takes the straight (monotone) activation path instead and gives (0, 0).
TEST(NonDecreasingPositivity, ConductanceNeedsAMonotoneActivationPath) {
  igx::SplitModel split;
  split.lower = std::make_shared<igx::FunctionModel>(
      [](const torch::Tensor& x) { return torch::cat({x, 1 - torch::cos(2 * kPi * x)}, 1); }, "lower");
  split.upper = std::make_shared<igx::FunctionModel>(
      [](const torch::Tensor& h) { return (h.select(1, 1) * (1 + h.select(1, 0))).unsqueeze(1); }, "upper");
  const torch::Tensor input = torch::tensor({{1.0}}, torch::kDouble);
  const auto conductance = igx::layer_conductance(split, input, IgOptions().n_steps(4000));
  EXPECT_NEAR(conductance.values[0][0].item<double>(), 1.0, 1e-3);
  EXPECT_NEAR(conductance.values[0][1].item<double>(), -1.0, 1e-3);
  const auto neuron = igx::neuron_conductance(split, input, {1}, IgOptions().n_steps(32));
  EXPECT_NEAR(neuron.values.item<double>(), -1.0, 1e-9);  // Gauss-Legendre on a smooth integrand
  const auto layer_ig = igx::layer_integrated_gradients(split, input, IgOptions().n_steps(8));
  EXPECT_NEAR(layer_ig.values[0][0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(layer_ig.values[0][1].item<double>(), 0.0, 1e-12);
}

// Signed saliency looks at dF/dx only, not at the direction from x' to x: F decreasing in x_i with
// x_i < x'_i is non-decreasing from x' to x, and its saliency there is negative where IG is positive.
TEST(NonDecreasingPositivity, SignedSaliencyDoesNotClaimIt) {
  const MonotoneNetwork network;
  auto model = network.model();
  const auto [inputs, baselines] = network.inputs_and_baselines(3, 26);
  const auto gradient = igx::saliency(model, inputs, igx::GradientOptions().absolute(false));
  EXPECT_LT(gradient.values.select(1, 1).max().item<double>(), 0.0);  // s_2 = -1: F falls in x_2
  const auto ig = igx::integrated_gradients(model, inputs, IgOptions().n_steps(16).baseline(igx::Baseline::tensor(baselines)));
  EXPECT_GT(ig.values.select(1, 1).min().item<double>(), 0.0);
}

}  // namespace
