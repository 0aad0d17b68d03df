// Axiom: sensitivity(a). If x and x' differ in one feature and F(x) != F(x'), that feature gets a
// non-zero attribution. f(x) = 1 - ReLU(1 - x) at x = 2 from 0: the gradient at x is 0, yet f
// changes by 1. Methods that integrate along the path satisfy it; gradient x input and saliency,
// which look at x only, fail it.
#include <gtest/gtest.h>

#include "igx/distribution.h"
#include "igx/igx.h"
#include "test_models.h"

namespace {

using igx::IgOptions;

const torch::Tensor kInput = torch::tensor({2.0}, torch::kDouble).view({1, 1});

TEST(Sensitivity, IgGivesTheWholeChangeWithEveryStrategy) {
  auto model = igx_test::saturating();
  // Midpoint nodes never hit the kink at 1/2, so the fixed rule is exact here.
  EXPECT_NEAR(igx::integrated_gradients(model, kInput, IgOptions().n_steps(10).method(igx::Rule::RiemannMiddle)).values.item<double>(),
              1.0, 1e-12);
  const auto adaptive = igx::integrated_gradients(model, kInput, IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-6));
  EXPECT_NEAR(adaptive.values.item<double>(), 1.0, 1e-6);
  EXPECT_TRUE(*adaptive.examples[0].certified);
  const auto doubling = igx::integrated_gradients(
      model, kInput, IgOptions().strategy(igx::Strategy::Doubling).method(igx::Rule::RiemannTrapezoid).tolerance(1e-3));
  EXPECT_NEAR(doubling.values.item<double>(), 1.0, 1e-3);
  // Against a distribution of baselines {0, 0.5}: F(x) - E F(X') = 1 - (0 + 0.5) / 2.
  const auto distribution = igx::distribution_integrated_gradients(
      model, kInput, torch::tensor({0.0, 0.5}, torch::kDouble).view({2, 1}),
      IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-8));
  EXPECT_NEAR(distribution.values.item<double>(), 0.75, 1e-7);
  EXPECT_TRUE(*distribution.examples[0].certified);
}

TEST(Sensitivity, GradientMethodsFailIt) {
  auto model = igx_test::saturating();
  const auto gradient_x_input = igx::input_x_gradient(model, kInput);
  EXPECT_EQ(gradient_x_input.values.item<double>(), 0.0);
  EXPECT_NEAR(gradient_x_input.examples[0].delta, -1.0, 1e-12);  // it misses the whole change
  ASSERT_TRUE(gradient_x_input.examples[0].relative_error.has_value());
  EXPECT_NEAR(*gradient_x_input.examples[0].relative_error, 1.0, 1e-12);
  EXPECT_EQ(igx::saliency(model, kInput).values.item<double>(), 0.0);
}

}  // namespace
