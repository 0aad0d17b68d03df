// Comparing a fixed step count with an accurate IG: parsing RULE:N, the closed-form difference
// of right Riemann sums on a quadratic model, and the concentration of a difference.
#include <gtest/gtest.h>

#include "igx/igx.h"
#include "igx/step_comparison.h"
#include "test_support.h"

namespace {

using igx_test::contains;
using igx_test::error_of;

TEST(StepCount, ParsesRuleAndSteps) {
  const igx::StepCount parsed = igx::StepCount::parse("riemann_right:1000");
  EXPECT_EQ(parsed.rule, igx::Rule::RiemannRight);
  EXPECT_EQ(parsed.steps, 1000);
  EXPECT_EQ(parsed.describe(), "riemann_right:1000");
  EXPECT_EQ(igx::StepCount::parse("gausslegendre:7").rule, igx::Rule::GaussLegendre);
  EXPECT_TRUE(contains(error_of([] { igx::StepCount::parse("riemann_right"); }), "RULE:N"));
  EXPECT_TRUE(contains(error_of([] { igx::StepCount::parse("riemann_right:0"); }), "N >= 1"));
  EXPECT_TRUE(contains(error_of([] { igx::StepCount::parse("riemann_right:10x"); }), "'10x'"));
  // N written in full, as every integer option (std::stoll took a blank, a sign, and 64-bit overflow).
  for (const char* bad : {"riemann_right: 100", "riemann_right:+100", "riemann_right:99999999999999999999"}) {
    EXPECT_TRUE(contains(error_of([bad] { igx::StepCount::parse(bad); }), "expected RULE:N")) << bad;
  }
  EXPECT_TRUE(contains(error_of([] { igx::StepCount::parse("riemann_trapezoid:1"); }), "N >= 2"));
  EXPECT_TRUE(contains(error_of([] { igx::StepCount::parse("simpson:10"); }), "simpson"));
}

TEST(Concentration, ShareOfTheLargestDifferences) {
  torch::Tensor difference = torch::zeros({100}, torch::kDouble);
  difference[7] = 4;
  difference[50] = -3;
  difference[99] = 2;
  difference[0] = 1;
  const std::vector<double> shares = igx::concentration(difference);  // top 1, 3, 10 of 100
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_DOUBLE_EQ(shares[0], 0.4);
  EXPECT_DOUBLE_EQ(shares[1], 0.9);
  EXPECT_DOUBLE_EQ(shares[2], 1.0);
  // Spread evenly, the top f carry f (at least one feature counts).
  EXPECT_DOUBLE_EQ(igx::concentration(torch::ones({2, 100}), {0.01, 0.5})[0], 0.01);
  EXPECT_DOUBLE_EQ(igx::concentration(torch::ones({2, 100}), {0.01, 0.5})[1], 0.5);
  EXPECT_DOUBLE_EQ(igx::concentration(torch::ones({3}), {0.01})[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(igx::concentration(torch::zeros({5}), {0.1})[0], 1.0);
  EXPECT_TRUE(contains(error_of([] { igx::concentration(torch::ones({5}), {1.5}); }), "outside (0, 1]"));
  EXPECT_TRUE(contains(error_of([] { igx::concentration(torch::zeros({0})); }), "at least one"));
}

TEST(CompareSteps, RightRiemannOnAQuadraticIsOffByExactlyOneNth) {
  // F = [(w . x)^2, 0]: from the zero baseline IG_i = w_i x_i (w . x), and the right Riemann sum
  // with n steps is (n + 1) / n times it, so the difference is IG / n.
  const torch::Tensor w = torch::tensor({1.0, -2.0, 0.5}, torch::kDouble);
  igx::FunctionModel model(
      [w](const torch::Tensor& x) {
        const torch::Tensor s = (x * w).sum(1);
        return torch::stack({s * s, torch::zeros_like(s)}, 1);
      },
      "quadratic");
  const torch::Tensor inputs = torch::tensor({1.0, 2.0, 3.0, -1.0, 0.5, 2.0}, torch::kDouble).view({2, 3});
  const igx::IgOptions options =
      igx::IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-6).target(igx::Target::index(0));
  const igx::Attribution reference = igx::integrated_gradients(model, inputs, options);
  const torch::Tensor exact = inputs * w * (inputs * w).sum(1, true);
  ASSERT_TRUE(torch::allclose(reference.values, exact, 1e-12, 1e-12));
  const auto comparison =
      igx::compare_steps(model, inputs, options, reference, igx::StepCount::parse("riemann_right:8"));
  EXPECT_TRUE(torch::allclose(comparison.difference, exact / 8, 1e-12, 1e-12));
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_EQ(comparison.fixed.examples[b].steps, 8);
    EXPECT_EQ(comparison.fixed.examples[b].target, 0);
    EXPECT_NEAR(*comparison.fixed.examples[b].relative_error, 1.0 / 8, 1e-12);
  }
  EXPECT_TRUE(contains(error_of([&] {
                         igx::compare_steps(model, inputs.narrow(0, 0, 1), options, reference, igx::StepCount{});
                       }),
                       "[2, 3]"));
}

}  // namespace
