// Axiom: linearity. For F = a F1 + b F2, the attributions are a A(F1) + b A(F2), for every method
// whose nodes do not depend on F (fixed rules, saliency's signed gradient, distribution IG).
// Error-controlled integration chooses its nodes from F, so it is linear only up to its tolerance.
#include <gtest/gtest.h>

#include "igx/distribution.h"
#include "igx/igx.h"
#include "test_models.h"

namespace {

using igx::IgOptions;

struct Pair {
  std::shared_ptr<igx_test::Mlp> first = std::make_shared<igx_test::Mlp>(5, 12, 2, torch::kDouble, 1);
  std::shared_ptr<igx_test::Mlp> second = std::make_shared<igx_test::Mlp>(5, 12, 2, torch::kDouble, 2);
};

TEST(Linearity, HoldsForFixedRulesAndDistributionIg) {
  Pair pair;
  auto f1 = igx_test::as_model(pair.first);
  auto f2 = igx_test::as_model(pair.second);
  auto combined = igx::FunctionModel([&](const torch::Tensor& x) { return 2.0 * pair.first->forward(x) - 0.5 * pair.second->forward(x); });
  torch::manual_seed(13);
  const torch::Tensor inputs = torch::randn({4, 5}, torch::kDouble);
  for (igx::Rule rule : {igx::Rule::RiemannTrapezoid, igx::Rule::GaussLegendre}) {
    const auto options = IgOptions().n_steps(20).method(rule).target(igx::Target::index(1));
    const torch::Tensor expected =
        2.0 * igx::integrated_gradients(f1, inputs, options).values - 0.5 * igx::integrated_gradients(f2, inputs, options).values;
    EXPECT_TRUE(torch::allclose(igx::integrated_gradients(combined, inputs, options).values, expected, 1e-12, 1e-12));
    const torch::Tensor baselines = torch::randn({3, 5}, torch::kDouble);
    const torch::Tensor expected_distribution = 2.0 * igx::distribution_integrated_gradients(f1, inputs, baselines, options).values -
                                                0.5 * igx::distribution_integrated_gradients(f2, inputs, baselines, options).values;
    EXPECT_TRUE(torch::allclose(igx::distribution_integrated_gradients(combined, inputs, baselines, options).values,
                                expected_distribution, 1e-12, 1e-12));
  }
  const auto signed_gradient = igx::GradientOptions().target(igx::Target::index(0)).absolute(false);
  EXPECT_TRUE(torch::allclose(igx::saliency(combined, inputs, signed_gradient).values,
                              2.0 * igx::saliency(f1, inputs, signed_gradient).values -
                                  0.5 * igx::saliency(f2, inputs, signed_gradient).values,
                              1e-12, 1e-12));
}

TEST(Linearity, AdaptiveIsLinearOnlyWithinItsTolerance) {
  Pair pair;
  auto f1 = igx_test::as_model(pair.first);
  auto f2 = igx_test::as_model(pair.second);
  auto combined = igx::FunctionModel([&](const torch::Tensor& x) { return pair.first->forward(x) + pair.second->forward(x); });
  torch::manual_seed(14);
  const torch::Tensor inputs = torch::randn({3, 5}, torch::kDouble) * 3;
  const auto options = IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-6).target(igx::Target::index(0));
  const auto a = igx::integrated_gradients(f1, inputs, options);
  const auto b = igx::integrated_gradients(f2, inputs, options);
  const auto sum = igx::integrated_gradients(combined, inputs, options);
  const torch::Tensor difference = sum.values - a.values - b.values;
  EXPECT_LT(difference.abs().max().item<double>(), 1e-4);
}

}  // namespace
