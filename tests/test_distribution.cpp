// Distribution baselines, Expected Gradients and noise averaging, against closed forms.
#include <gtest/gtest.h>

#include "igx/distribution.h"
#include "igx/igx.h"
#include "test_models.h"
#include "test_support.h"

namespace {

using igx::IgOptions;
using igx_test::error_of;

torch::Tensor doubles(std::vector<double> values) { return torch::tensor(values, torch::kDouble); }

const torch::Tensor kWeight = torch::tensor({1.0, -2.0, 0.5, 3.0, 0.0, 1.0}, torch::kDouble).view({2, 3});

TEST(DistributionBaselines, LinearModelAttributesAgainstTheMeanBaseline) {
  auto model = igx_test::linear(kWeight, doubles({0.25, -0.5}));
  const torch::Tensor inputs = doubles({1.0, 2.0, 3.0, -1.0, 0.0, 2.0}).view({2, 3});
  const torch::Tensor baselines = doubles({0.0, 0.0, 0.0, 1.0, 1.0, -1.0, 0.5, 2.0, 0.0}).view({3, 3});
  const auto result = igx::distribution_integrated_gradients(
      model, inputs, baselines, IgOptions().target(igx::Target::index(0)).n_steps(4));
  const torch::Tensor expected = kWeight[0] * (inputs - baselines.mean(0));
  EXPECT_TRUE(torch::allclose(result.values, expected, 1e-12, 1e-12));
  for (int64_t b = 0; b < 2; ++b) {
    const auto& report = result.examples[b];
    // F(x) - E[F(X')] and completeness in expectation.
    const double mean_baseline_output = (torch::matmul(baselines, kWeight[0]) + 0.25).mean().item<double>();
    EXPECT_NEAR(report.output_baseline, mean_baseline_output, 1e-12);
    EXPECT_NEAR(report.delta, 0.0, 1e-12);
    EXPECT_EQ(report.steps, 3 * 4);
  }
}

TEST(DistributionBaselines, IsTheMeanOfIgAgainstEachBaseline) {
  auto mlp = std::make_shared<igx_test::Mlp>(4, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(7);
  const torch::Tensor inputs = torch::randn({2, 4}, torch::kDouble);
  const torch::Tensor baselines = torch::randn({3, 4}, torch::kDouble);
  const auto options = IgOptions().n_steps(32).target(igx::Target::index(1));
  const auto together = igx::distribution_integrated_gradients(model, inputs, baselines, options);
  torch::Tensor mean = torch::zeros_like(inputs);
  for (int64_t j = 0; j < 3; ++j) {
    mean += igx::integrated_gradients(model, inputs, IgOptions(options).baseline(igx::Baseline::tensor(baselines[j]))).values / 3.0;
  }
  EXPECT_TRUE(torch::allclose(together.values, mean, 1e-12, 1e-12));
  // Adaptive integration per pair: certified in expectation too.
  const auto adaptive = igx::distribution_integrated_gradients(
      model, inputs, baselines, IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-3));
  for (const auto& report : adaptive.examples) {
    ASSERT_TRUE(report.certified.has_value());
    if (*report.certified && report.relative_error) EXPECT_LE(*report.relative_error, 1e-3 + 1e-12);
  }
  EXPECT_NE(error_of([&] { igx::distribution_integrated_gradients(model, inputs, torch::zeros({3, 5}, torch::kDouble)); })
                .find("[3, 5]"),
            std::string::npos);
}

TEST(ExpectedGradients, ExactForOneBaselineOfALinearModel) {
  auto model = igx_test::linear(kWeight, doubles({0.0, 0.0}));
  const torch::Tensor inputs = doubles({1.0, 2.0, 3.0}).unsqueeze(0);
  const torch::Tensor baseline = doubles({0.5, 0.5, 0.5}).unsqueeze(0);
  const auto result = igx::expected_gradients(model, inputs, baseline,
                                              igx::ExpectedGradientsOptions().samples(10).target(igx::Target::index(0)));
  EXPECT_TRUE(torch::allclose(result.attribution.values[0], kWeight[0] * (inputs[0] - baseline[0]), 1e-12, 1e-12));
  EXPECT_NEAR(result.standard_error.abs().max().item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(result.attribution.examples[0].delta, 0.0, 1e-12);
}

// F = sum x_i^2: every sample is unbiased for the IG integral, and the sum's error is within a
// few standard errors of completeness in expectation.
TEST(ExpectedGradients, CompleteInExpectationWithinItsStandardError) {
  auto model = igx::FunctionModel([](const torch::Tensor& x) { return (x * x).sum(1, true); }, "square");
  torch::manual_seed(8);
  const torch::Tensor inputs = torch::randn({2, 5}, torch::kDouble);
  const torch::Tensor baselines = torch::randn({20, 5}, torch::kDouble);
  const auto options = igx::ExpectedGradientsOptions().samples(400).seed(3);
  const auto result = igx::expected_gradients(model, inputs, baselines, options);
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_GT(result.sum_standard_error[b], 0.0);
    EXPECT_LT(std::abs(result.attribution.examples[b].delta), 4.0 * result.sum_standard_error[b]);
  }
  const auto again = igx::expected_gradients(model, inputs, baselines, options);
  EXPECT_TRUE(torch::equal(result.attribution.values, again.attribution.values));  // seeded
  EXPECT_THROW(igx::expected_gradients(model, inputs, baselines, igx::ExpectedGradientsOptions().samples(1)), igx::Error);
}

TEST(NoiseTunnel, SaliencyOfALinearModelIsNoiseFree) {
  auto model = igx_test::linear(kWeight, doubles({0.0, 0.0}));
  const torch::Tensor inputs = doubles({1.0, 2.0, 3.0, 0.0, 0.0, 1.0}).view({2, 3});
  const auto options = IgOptions().target(igx::Target::index(0));
  auto run = [&](igx::NoiseAggregate aggregate) {
    return igx::noise_tunnel(model, inputs, "saliency", options,
                             igx::NoiseOptions().samples(8).stddev(0.5).aggregate(aggregate)).values;
  };
  EXPECT_TRUE(torch::allclose(run(igx::NoiseAggregate::SmoothGrad), kWeight[0].abs().expand({2, 3})));
  EXPECT_TRUE(torch::allclose(run(igx::NoiseAggregate::SmoothGradSq), kWeight[0].pow(2).expand({2, 3})));
  EXPECT_TRUE(torch::allclose(run(igx::NoiseAggregate::VarGrad), torch::zeros({2, 3}, torch::kDouble), 0, 1e-12));
}

TEST(NoiseTunnel, SmoothGradOfIgKeepsCompletenessOfTheCopies) {
  auto mlp = std::make_shared<igx_test::Mlp>(4, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(9);
  const torch::Tensor inputs = torch::randn({3, 4}, torch::kDouble);
  const auto result = igx::noise_tunnel(model, inputs, "gausslegendre", IgOptions().n_steps(64),
                                        igx::NoiseOptions().samples(5).stddev(0.1));
  for (const auto& report : result.examples) {
    EXPECT_NEAR(report.delta, 0.0, 1e-6);
    EXPECT_EQ(report.steps, 5 * 64);
  }
  // The explained class is the clean input's, for every copy.
  const torch::Tensor predicted = igx::predict(model, inputs);
  for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(result.examples[b].target, predicted[b].item<int64_t>());
  EXPECT_NE(error_of([] { igx::parse_noise_aggregate("mean"); }).find("'mean'"), std::string::npos);
}

// A baseline set per example ([B, M, ...], e.g. noise around each input) is each example's own
// distribution IG / Expected Gradients against its own set.
TEST(DistributionBaselines, ASetPerExample) {
  auto mlp = std::make_shared<igx_test::Mlp>(4, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(8);
  const torch::Tensor inputs = torch::randn({2, 4}, torch::kDouble);
  const torch::Tensor sets = torch::randn({2, 3, 4}, torch::kDouble);
  const auto options = IgOptions().n_steps(16).target(igx::Target::index(2));
  const auto together = igx::distribution_integrated_gradients(model, inputs, sets, options);
  const auto sampled = igx::expected_gradients(model, inputs, sets, igx::ExpectedGradientsOptions().samples(20).target(igx::Target::index(2)));
  for (int64_t b = 0; b < 2; ++b) {
    const torch::Tensor one = inputs.narrow(0, b, 1);
    const auto alone = igx::distribution_integrated_gradients(model, one, sets[b], options);
    EXPECT_TRUE(torch::allclose(together.values[b], alone.values[0], 1e-12, 1e-12));
    EXPECT_NEAR(together.examples[b].output_baseline, alone.examples[0].output_baseline, 1e-12);
    EXPECT_NEAR(sampled.attribution.examples[b].output_baseline, alone.examples[0].output_baseline, 1e-12);
  }
  const std::string message =
      error_of([&] { igx::distribution_integrated_gradients(model, inputs, torch::zeros({3, 3, 4}, torch::kDouble)); });
  EXPECT_NE(message.find("[3, 3, 4]"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, M, 4]"), std::string::npos) << message;
}

}  // namespace
