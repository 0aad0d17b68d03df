// Axiom: completeness, sum_i A_i = F(x) - F(x'). Every IG-family method reports its delta; the
// tests check that it is what the method claims, and show it failing for gradient x input.
#include <gtest/gtest.h>

#include "igx/distribution.h"
#include "igx/igx.h"
#include "igx/layer.h"
#include "test_models.h"

namespace {

using igx::IgOptions;

class Completeness : public ::testing::Test {
 protected:
  std::shared_ptr<igx_test::Mlp> mlp = std::make_shared<igx_test::Mlp>(6, 24, 3, torch::kDouble, 3);
  igx::FunctionModel model = igx_test::as_model(mlp);
  torch::Tensor inputs = [] {
    torch::manual_seed(15);
    return torch::randn({5, 6}, torch::kDouble) * 2;
  }();
  static double gap(const igx::ExampleReport& report) { return report.output_input - report.output_baseline; }
};

TEST_F(Completeness, ReportedDeltaIsTheTrueCompletenessError) {
  for (const auto& options : {IgOptions().n_steps(7), IgOptions().strategy(igx::Strategy::IntervalAdaptive),
                              IgOptions().strategy(igx::Strategy::Doubling).method(igx::Rule::RiemannRight)}) {
    const auto result = igx::integrated_gradients(model, inputs, options);
    const torch::Tensor outputs = mlp->forward(inputs);
    const torch::Tensor baseline_outputs = mlp->forward(torch::zeros_like(inputs));
    for (int64_t b = 0; b < 5; ++b) {
      const auto& report = result.examples[b];
      const double true_gap = outputs[b][report.target].item<double>() - baseline_outputs[b][report.target].item<double>();
      EXPECT_NEAR(result.values[b].sum().item<double>() - true_gap, report.delta, 1e-10);
    }
  }
}

TEST_F(Completeness, CertifiedResultsAreComplete) {
  for (double tolerance : {1e-2, 1e-4}) {
    const auto result = igx::integrated_gradients(model, inputs, IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(tolerance));
    for (const auto& report : result.examples) {
      EXPECT_TRUE(*report.certified);
      EXPECT_LE(std::abs(report.delta), tolerance * std::abs(gap(report)) + 1e-12);
    }
  }
}

TEST_F(Completeness, InExpectationForDistributionBaselines) {
  torch::manual_seed(16);
  const torch::Tensor baselines = torch::randn({4, 6}, torch::kDouble);
  const auto result = igx::distribution_integrated_gradients(model, inputs, baselines, IgOptions().n_steps(400));
  for (int64_t b = 0; b < 5; ++b) {
    const auto& report = result.examples[b];
    const double expected_baseline =
        mlp->forward(baselines).select(1, report.target).mean().item<double>();
    EXPECT_NEAR(report.output_baseline, expected_baseline, 1e-12);
    EXPECT_LT(std::abs(report.delta), 1e-6 * (1 + std::abs(gap(report))));
  }
}

TEST_F(Completeness, ConductanceSumsToTheChange) {
  igx::SplitModel split;
  auto rest = mlp;
  split.lower = std::make_shared<igx::FunctionModel>([rest](const torch::Tensor& x) { return torch::tanh(rest->first(x)); });
  split.upper = std::make_shared<igx::FunctionModel>(
      [rest](const torch::Tensor& h) { return rest->out(torch::tanh(rest->second(h))); });
  const auto result = igx::layer_conductance(split, inputs, IgOptions().n_steps(1000));
  for (const auto& report : result.examples) EXPECT_LT(std::abs(report.delta), 1e-2 * std::abs(gap(report)) + 1e-9);
}

TEST_F(Completeness, GradientTimesInputDoesNotClaimIt) {
  const auto result = igx::input_x_gradient(model, inputs);
  double worst = 0.0;
  for (const auto& report : result.examples) worst = std::max(worst, report.relative_error.value_or(0.0));
  EXPECT_GT(worst, 0.05);  // far from complete on a curved model
}

}  // namespace
