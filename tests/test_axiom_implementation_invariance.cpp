// Axiom: implementation invariance. Two networks that compute the same function get the same
// attributions: ReLU(ReLU(x1) - 1 - ReLU(x2)) and ReLU(ReLU(x1 - 1) - ReLU(x2)).
#include <gtest/gtest.h>

#include "igx/igx.h"
#include "test_models.h"

namespace {

using igx::IgOptions;
using igx::Rule;

const torch::Tensor kInputs = torch::tensor({3.0, 1.0, 2.0, 0.5, -1.0, 4.0}, torch::kDouble).view({3, 2});

TEST(ImplementationInvariance, EveryRuleAndStrategy) {
  auto network_a = igx_test::two_relu_a();
  auto network_b = igx_test::two_relu_b();
  std::vector<IgOptions> all;
  for (Rule rule : {Rule::RiemannLeft, Rule::RiemannRight, Rule::RiemannMiddle, Rule::RiemannTrapezoid, Rule::GaussLegendre}) {
    for (int64_t n : {7, 64}) all.push_back(IgOptions().n_steps(n).method(rule));
  }
  all.push_back(IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-4));
  all.push_back(IgOptions().strategy(igx::Strategy::Doubling).method(Rule::RiemannRight));
  for (const IgOptions& options : all) {
    const auto a = igx::integrated_gradients(network_a, kInputs, IgOptions(options).target(igx::Target::index(0)));
    const auto b = igx::integrated_gradients(network_b, kInputs, IgOptions(options).target(igx::Target::index(0)));
    EXPECT_TRUE(torch::allclose(a.values, b.values, 0, 1e-12)) << igx::rule_name(options.method());
    for (size_t e = 0; e < a.examples.size(); ++e) EXPECT_EQ(a.examples[e].steps, b.examples[e].steps);
  }
}

// The closed form at (3, 1): along (3a, a), f = ReLU(2a - 1), so IG = (1.5, -0.5).
TEST(ImplementationInvariance, ClosedFormAtThreeOne) {
  auto network_b = igx_test::two_relu_b();
  const auto result = igx::integrated_gradients(network_b, kInputs.narrow(0, 0, 1),
                                                IgOptions().n_steps(50).method(Rule::RiemannMiddle));
  EXPECT_NEAR(result.values[0][0].item<double>(), 1.5, 1e-12);
  EXPECT_NEAR(result.values[0][1].item<double>(), -0.5, 1e-12);
}

}  // namespace
