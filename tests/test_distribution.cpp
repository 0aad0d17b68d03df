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

// An even function with kinks (as a ReLU network has): F(x) = sum_i |x_i - c_i| + |x_i + c_i| +
// (sum_i x_i)^2 / 2. x' = -x has F(x') = F(x) on a far path across every kink; nudged, it is a
// baseline whose output is nearly the input's, a pair whose own gap is tiny.
igx::FunctionModel kinked_even(torch::Tensor c) {
  return igx::FunctionModel(
      [c](const torch::Tensor& x) {
        return ((x - c).abs() + (x + c).abs()).sum(1, true) + 0.5 * x.sum(1, true).pow(2);
      },
      "kinked_even");
}

// F(x) - mean_j F(x'_j), straight from the model.
double gap_in_expectation(igx::Model& model, const torch::Tensor& input, const torch::Tensor& baselines, int64_t target) {
  torch::NoGradGuard no_grad;
  const double output_input = model.forward(input.unsqueeze(0), {})[0][target].item<double>();
  return output_input - model.forward(baselines, {}).select(1, target).mean().item<double>();
}

// With error control, every pair is integrated to tolerance * |F(x) - E[F(X')]| (absolute), not to
// the tolerance of its own gap: a baseline nearly as high as the input no longer costs the earth.
TEST(DistributionBaselines, AdaptiveCertifiesTheMeanNotEachPair) {
  torch::manual_seed(11);
  auto model = kinked_even(0.4 * torch::rand({5}, torch::kDouble));
  const torch::Tensor input = torch::rand({1, 5}, torch::kDouble) + 0.5;
  const torch::Tensor baselines =
      torch::cat({torch::randn({4, 5}, torch::kDouble), -input + 1e-4 * torch::randn({1, 5}, torch::kDouble)});
  const double tolerance = 1e-3;
  const double gap = gap_in_expectation(model, input[0], baselines, 0);
  for (const auto& [strategy, method] : {std::pair{igx::Strategy::IntervalAdaptive, igx::Rule::GaussLegendre},
                                         std::pair{igx::Strategy::Doubling, igx::Rule::RiemannTrapezoid}}) {
    SCOPED_TRACE(igx::strategy_name(strategy));
    const auto options = IgOptions().strategy(strategy).method(method).tolerance(tolerance).max_steps(1 << 16);
    const auto result = igx::distribution_integrated_gradients(model, input, baselines, options);
    const auto& report = result.examples[0];
    ASSERT_TRUE(report.certified.has_value());
    EXPECT_TRUE(*report.certified);
    ASSERT_TRUE(report.error_bound.has_value());
    EXPECT_LE(*report.error_bound, tolerance);
    const double error = std::abs(result.values.sum().item<double>() - gap) / std::abs(gap);
    EXPECT_LE(error, tolerance);
    EXPECT_LE(error, *report.error_bound + 1e-12);
    // Each pair to its own relative tolerance (the scheme before): the near pair dominates.
    const auto each = igx::integrated_gradients(model, input.expand({5, 5}),
                                                IgOptions(options).baseline(igx::Baseline::tensor(baselines)));
    int64_t each_steps = 0;
    for (const auto& pair : each.examples) each_steps += pair.steps;
    // Measured: doubling 920 rows against 62 345 (the near pair alone runs to 61 441 without
    // meeting its own target); interval-adaptive 277 against 345 (Simpson bisects this model's
    // few kinks at a cost logarithmic in the target, so the near pair is cheap either way).
    if (strategy == igx::Strategy::Doubling) {
      EXPECT_LT(20 * report.steps, each_steps) << report.steps << " against " << each_steps;
    } else {
      EXPECT_LT(report.steps, each_steps) << report.steps << " against " << each_steps;
    }
  }
  // The absolute targets themselves: one per example, finite and >= 0.
  const auto adaptive = IgOptions().strategy(igx::Strategy::IntervalAdaptive);
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, input, IgOptions(adaptive).absolute_targets({1e-3, 1e-3})); })
                .find("absolute_targets has 2 entries for 1 examples"),
            std::string::npos);
  EXPECT_THROW(igx::integrated_gradients(model, input, IgOptions(adaptive).absolute_targets({-1.0})), igx::Error);
}

// Certified means the attributions' sum is within the tolerance of F(x) - E[F(X')], whatever the
// pairs' own gaps.
TEST(DistributionBaselines, CertifiedMeansTheMeanIsWithinTolerance) {
  int64_t certified = 0, reports = 0;
  for (int seed = 0; seed < 6; ++seed) {
    torch::manual_seed(100 + seed);
    auto mlp = std::make_shared<igx_test::Mlp>(4, 16, 3, torch::kDouble);
    auto model = igx_test::as_model(mlp);
    const torch::Tensor inputs = torch::randn({2, 4}, torch::kDouble);
    const torch::Tensor baselines = torch::randn({6, 4}, torch::kDouble);
    for (const auto strategy : {igx::Strategy::IntervalAdaptive, igx::Strategy::Doubling}) {
      const auto options = IgOptions()
                               .strategy(strategy)
                               .method(strategy == igx::Strategy::Doubling ? igx::Rule::RiemannTrapezoid
                                                                           : igx::Rule::GaussLegendre)
                               .tolerance(1e-3)
                               .target(igx::Target::index(1));
      const auto result = igx::distribution_integrated_gradients(model, inputs, baselines, options);
      for (int64_t b = 0; b < 2; ++b) {
        const auto& report = result.examples[b];
        ++reports;
        ASSERT_TRUE(report.certified.has_value());
        if (!*report.certified) continue;
        ++certified;
        const double gap = gap_in_expectation(model, inputs[b], baselines, 1);
        EXPECT_LE(std::abs(result.values[b].sum().item<double>() - gap), 1e-3 * std::abs(gap) + 1e-12)
            << "seed " << seed << " " << igx::strategy_name(strategy);
        ASSERT_TRUE(report.error_bound.has_value());
        EXPECT_LE(*report.error_bound, 1e-3);
      }
    }
  }
  EXPECT_GT(certified, reports / 2);
}

// Fixed steps: every pair with the same rule, exactly as integrating the pairs one call.
TEST(DistributionBaselines, FixedStepsAreThePairsUnchanged) {
  auto mlp = std::make_shared<igx_test::Mlp>(4, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(12);
  const torch::Tensor inputs = torch::randn({2, 4}, torch::kDouble);
  const torch::Tensor baselines = torch::randn({3, 4}, torch::kDouble);
  const auto options = IgOptions().n_steps(24).target(igx::Target::index(0));
  const auto result = igx::distribution_integrated_gradients(model, inputs, baselines, options);
  const auto pairs = igx::integrated_gradients(model, inputs.repeat_interleave(3, 0),
                                               IgOptions(options).baseline(igx::Baseline::tensor(baselines.repeat({2, 1}))));
  EXPECT_TRUE(torch::equal(result.values, pairs.values.view({2, 3, 4}).mean(1)));
  EXPECT_EQ(result.counts.gradient_rows, pairs.counts.gradient_rows);
  EXPECT_EQ(result.counts.forward_rows, pairs.counts.forward_rows);
  for (const auto& report : result.examples) {
    EXPECT_EQ(report.steps, 3 * 24);
    EXPECT_FALSE(report.certified.has_value());
    EXPECT_FALSE(report.error_bound.has_value());
  }
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
