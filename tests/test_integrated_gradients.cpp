// Integrated Gradients against closed forms, the axioms it must satisfy, and its bookkeeping.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/igx.h"
#include "test_models.h"

namespace {

using igx::BatchSizing;
using igx::IgOptions;
using igx::Rule;
using torch::indexing::Slice;

const std::vector<Rule> kAllRules = {Rule::RiemannLeft, Rule::RiemannRight, Rule::RiemannMiddle,
                                     Rule::RiemannTrapezoid, Rule::GaussLegendre};

torch::Tensor doubles(std::vector<double> values) { return torch::tensor(values, torch::kDouble); }

// Along (3a, a), f = ReLU(2a - 1): dF/dx = (1, -1) for a > 1/2, 0 before. The midpoint rule with
// an even n never evaluates at the kink, so it integrates the step exactly.
TEST(IntegratedGradients, TwoReluNetworkClosedForm) {
  auto model = igx_test::two_relu_a();
  const auto result = igx::integrated_gradients(
      model, doubles({3.0, 1.0}).unsqueeze(0), IgOptions().n_steps(50).method(Rule::RiemannMiddle));
  EXPECT_NEAR(result.values[0][0].item<double>(), 1.5, 1e-12);
  EXPECT_NEAR(result.values[0][1].item<double>(), -0.5, 1e-12);
  EXPECT_NEAR(result.examples[0].output_input, 1.0, 1e-12);
  EXPECT_NEAR(result.examples[0].output_baseline, 0.0, 1e-12);
  EXPECT_NEAR(result.examples[0].delta, 0.0, 1e-12);
}

TEST(IntegratedGradients, LinearModelIsExactWithEveryRule) {
  const torch::Tensor weight = doubles({1.0, -2.0, 0.5, 3.0, 0.0, 1.0, 2.0, 2.0}).view({2, 4});
  auto model = igx_test::linear(weight, doubles({0.1, -0.3}));
  const torch::Tensor inputs = doubles({1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 2.0}).view({2, 4});
  const torch::Tensor baseline = doubles({0.5, 0.5, -0.5, 1.0});
  for (Rule rule : kAllRules) {
    for (int64_t n : {2, 3, 50}) {
      const auto result = igx::integrated_gradients(
          model, inputs,
          IgOptions().n_steps(n).method(rule).baseline(igx::Baseline::tensor(baseline))
              .target(igx::Target::per_example({1, 0})));
      const torch::Tensor expected = torch::stack({weight[1], weight[0]}) * (inputs - baseline);
      EXPECT_TRUE(torch::allclose(result.values, expected, 0, 1e-12)) << igx::rule_name(rule);
      for (const auto& report : result.examples) EXPECT_NEAR(report.delta, 0.0, 1e-12);
      EXPECT_EQ(result.examples[0].target, 1);
      EXPECT_EQ(result.examples[1].target, 0);
    }
  }
}

// F(x) = (w.x)^p from 0: F(gamma(a)) = (a c)^p with c = w.x, so every rule's delta is
// c^p (p * Q[a^(p-1)] - 1), Q being the rule's quadrature of a^(p-1).
TEST(IntegratedGradients, PolynomialDeltaEqualsEachRulesClosedFormError) {
  const torch::Tensor w = doubles({0.5, -1.0, 2.0});
  const torch::Tensor x = doubles({1.0, 0.25, 1.0}).unsqueeze(0);
  const double c = 0.5 - 0.25 + 2.0;
  auto cube = igx_test::power_of_linear(w, 3);
  for (int64_t n : {1, 4, 33}) {
    const double nd = static_cast<double>(n);
    const std::vector<std::pair<Rule, double>> square_errors = {
        {Rule::RiemannLeft, -1.0 / (2 * nd) + 1.0 / (6 * nd * nd)},
        {Rule::RiemannRight, 1.0 / (2 * nd) + 1.0 / (6 * nd * nd)},
        {Rule::RiemannMiddle, -1.0 / (12 * nd * nd)},
    };
    for (const auto& [rule, error] : square_errors) {
      const auto result = igx::integrated_gradients(cube, x, IgOptions().n_steps(n).method(rule));
      EXPECT_NEAR(result.examples[0].delta, c * c * c * 3.0 * error, 1e-12)
          << igx::rule_name(rule) << " n=" << n;
      // The attribution itself: w_i x_i c^2 * 3 Q[a^2].
      const torch::Tensor expected = w * x[0] * (c * c * 3.0 * (1.0 / 3.0 + error));
      EXPECT_TRUE(torch::allclose(result.values[0], expected, 0, 1e-12));
    }
  }
  // Gauss-Legendre with n points is exact up to degree 2n - 1 in a, i.e. for p <= 2n ...
  for (int power : {2, 3, 4}) {
    auto model = igx_test::power_of_linear(w, power);
    const auto result = igx::integrated_gradients(model, x, IgOptions().n_steps(2).method(Rule::GaussLegendre));
    EXPECT_NEAR(result.examples[0].delta, 0.0, 1e-12) << "power " << power;
  }
  // ... and for p = 5 two points give Q[a^4] = 7/36, so delta = c^5 (5 * 7/36 - 1) = -c^5 / 36.
  auto quintic = igx_test::power_of_linear(w, 5);
  const auto result = igx::integrated_gradients(quintic, x, IgOptions().n_steps(2).method(Rule::GaussLegendre));
  EXPECT_NEAR(result.examples[0].delta, -std::pow(c, 5) / 36.0, 1e-12);
}

TEST(IntegratedGradients, MlpCompletenessAtLargeN) {
  auto mlp = std::make_shared<igx_test::Mlp>(10, 32, 4, torch::kFloat);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(1);
  const torch::Tensor inputs = torch::randn({6, 10}) * 2;
  const auto coarse = igx::integrated_gradients(model, inputs, IgOptions().n_steps(2).method(Rule::RiemannRight));
  const auto fine = igx::integrated_gradients(model, inputs, IgOptions().n_steps(2000));
  for (size_t b = 0; b < fine.examples.size(); ++b) {
    ASSERT_TRUE(fine.examples[b].relative_error.has_value());
    EXPECT_LT(*fine.examples[b].relative_error, 1e-4) << "example " << b;
    // Completeness is a real check: the coarse rule misses it on most examples.
    EXPECT_LT(std::abs(fine.examples[b].delta), std::abs(coarse.examples[b].delta) + 1e-6);
    EXPECT_NEAR(fine.values[b].sum().item<double>(), fine.examples[b].attribution_sum, 1e-3);
  }
}

TEST(IntegratedGradients, InternalBatchSizeDoesNotChangeTheResult) {
  auto mlp = std::make_shared<igx_test::Mlp>(5, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  torch::manual_seed(2);
  const torch::Tensor inputs = torch::randn({4, 5}, torch::kDouble);
  const auto options = IgOptions().n_steps(30).baseline(igx::Baseline::scalar(-0.5)).batch_sizing(BatchSizing::Fixed);
  const auto all = igx::integrated_gradients(model, inputs, options);
  EXPECT_EQ(all.counts.batches, 2);  // outputs at x and F at the baselines in one call, the path
  for (int64_t batch_size : {1, 7, 120, 1000}) {
    for (BatchSizing sizing : {BatchSizing::Fixed, BatchSizing::Automatic}) {
      const auto batched = igx::integrated_gradients(
          model, inputs, IgOptions(options).internal_batch_size(batch_size).batch_sizing(sizing));
      EXPECT_TRUE(torch::allclose(batched.values, all.values, 0, 1e-12)) << "batch " << batch_size;
      for (size_t b = 0; b < all.examples.size(); ++b) {
        EXPECT_NEAR(batched.examples[b].delta, all.examples[b].delta, 1e-12);
      }
      EXPECT_EQ(batched.counts.gradient_rows, 4 * 30);
      if (sizing == BatchSizing::Fixed) {
        EXPECT_EQ(batched.counts.batches, (120 + batch_size - 1) / batch_size + (8 + batch_size - 1) / batch_size);
      }
    }
  }
}

TEST(IntegratedGradients, AutomaticBatchesFillTheCacheAfterMeasuringTheFirst) {
  EXPECT_EQ(igx::rows_fitting(1000, 32000, 256), 32);
  EXPECT_EQ(igx::rows_fitting(1000, 31999, 256), 16);
  EXPECT_EQ(igx::rows_fitting(1, int64_t{1} << 40, 100), 100);  // the bound wins
  EXPECT_EQ(igx::rows_fitting(int64_t{1} << 40, 32 << 20, 256), 1);  // never below one row
  EXPECT_GE(igx::last_level_cache_bytes(), 1 << 16);

  // A row of this MLP takes a few kilobytes: after the first batch of 16 rows, the other 104 of
  // the 120 path points fit in one batch.
  auto mlp = std::make_shared<igx_test::Mlp>(5, 16, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  const torch::Tensor inputs = torch::randn({4, 5}, torch::kDouble);
  igx::Integrator integrator(model, {}, igx::OutputKind::Logit, 0, BatchSizing::Automatic);
  integrator.set_targets(torch::zeros({4}, torch::kLong));
  std::vector<igx::StraightLinePath> paths;
  for (int64_t b = 0; b < 4; ++b) {
    paths.emplace_back(torch::zeros({5}, torch::kDouble), inputs[b], igx::make_quadrature(Rule::RiemannMiddle, 30));
  }
  std::vector<igx::PathJob> jobs;
  for (int64_t b = 0; b < 4; ++b) jobs.push_back({&paths[b], b});
  integrator.integrate(jobs);
  EXPECT_GT(integrator.bytes_per_row(), 0);
  EXPECT_LT(integrator.bytes_per_row(), 1 << 16);
  EXPECT_EQ(integrator.counts().batches, 2);
  EXPECT_EQ(integrator.counts().gradient_rows, 120);
}

// The model runs once per path point and at most once more per end point not on the path.
TEST(IntegratedGradients, NoRedundantForwardPasses) {
  auto mlp = std::make_shared<igx_test::Mlp>(5, 8, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  const torch::Tensor inputs = torch::randn({3, 5}, torch::kDouble);
  const auto given = IgOptions().n_steps(10).target(igx::Target::index(2)).batch_sizing(BatchSizing::Fixed);
  auto counts = [&](IgOptions options) { return igx::integrated_gradients(model, inputs, options).counts; };
  EXPECT_EQ(counts(IgOptions(given).method(Rule::RiemannTrapezoid)).forward_rows, 0);
  EXPECT_EQ(counts(IgOptions(given).method(Rule::RiemannRight)).forward_rows, 3);   // F(x')
  EXPECT_EQ(counts(IgOptions(given).method(Rule::RiemannLeft)).forward_rows, 3);    // F(x)
  EXPECT_EQ(counts(IgOptions(given).method(Rule::GaussLegendre)).forward_rows, 6);  // both
  EXPECT_EQ(counts(IgOptions(given).method(Rule::GaussLegendre)).gradient_rows, 30);
  // Both ends in one model call, and the path's 30 rows in another.
  EXPECT_EQ(counts(IgOptions(given).method(Rule::GaussLegendre)).batches, 2);
  // The predicted class needs F at x first, which then serves as F(x); F(x') shares its call.
  EXPECT_EQ(counts(IgOptions(given).method(Rule::RiemannTrapezoid).target(igx::Target::predicted())).forward_rows, 3);
  const auto predicted = counts(IgOptions(given).method(Rule::GaussLegendre).target(igx::Target::predicted()));
  EXPECT_EQ(predicted.forward_rows, 6);
  EXPECT_EQ(predicted.batches, 2);
}

// Points are written by torch::lerp in runs of rows small enough to stay on the calling thread
// (no OpenMP region for small batches): bit for bit one lerp over all rows, exactly x' at
// alpha = 0 and x at alpha = 1, in float and double, into a contiguous or a strided buffer, for
// rows that fit one call, rows split over 7 calls (64 x 64 entries) and rows above the grain.
TEST(IntegratedGradients, StraightLinePointsAreLerpBitForBit) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{3, 5, 7}, std::vector<int64_t>{64, 64}, std::vector<int64_t>{60000}}) {
      torch::manual_seed(3);
      const torch::Tensor baseline = torch::randn(shape, dtype) * 3;
      const torch::Tensor input = torch::randn(shape, dtype) * 100;
      igx::Quadrature quadrature = igx::make_quadrature(Rule::RiemannTrapezoid, 41);  // 0, 1/40, ..., 1
      const igx::Quadrature legendre = igx::make_quadrature(Rule::GaussLegendre, 7);
      quadrature.nodes.insert(quadrature.nodes.end(), legendre.nodes.begin(), legendre.nodes.end());
      quadrature.weights.insert(quadrature.weights.end(), legendre.weights.begin(), legendre.weights.end());
      const auto rows = static_cast<int64_t>(quadrature.nodes.size());
      const igx::StraightLinePath path(baseline, input, quadrature);
      std::vector<int64_t> column(shape.size() + 1, 1);
      column[0] = rows;
      const torch::Tensor alphas = torch::tensor(quadrature.nodes, torch::kDouble).to(dtype).view(column);
      const torch::Tensor expected = torch::lerp(baseline.unsqueeze(0), input.unsqueeze(0), alphas);
      const torch::Tensor points = path.points(0, rows);
      EXPECT_TRUE(torch::equal(points, expected)) << "dtype " << dtype << ", " << input.numel() << " entries";
      EXPECT_TRUE(torch::equal(points[0], baseline));
      EXPECT_TRUE(torch::equal(points[40], input));
      EXPECT_TRUE(torch::equal(path.points(20, 23), expected.narrow(0, 20, 3)));
      // A strided buffer (every other row of a larger one).
      std::vector<int64_t> doubled = column;
      std::copy(shape.begin(), shape.end(), doubled.begin() + 1);
      doubled[0] = 2 * rows;
      const torch::Tensor strided = torch::zeros(doubled, dtype).slice(0, 0, 2 * rows, 2);
      ASSERT_FALSE(strided.is_contiguous());
      path.write_points(0, rows, strided);
      EXPECT_TRUE(torch::equal(strided, expected));
    }
  }
}

// Each path's weighted gradient sum is accumulated in float64 from the gradients as the model
// gives them (float32 here): it equals sum_k w_k grad F(point_k) computed in float64 to 1e-13 of
// sum_k |w_k grad F| entry by entry, whether the path's points fill one batch, span several, or
// share a batch with other paths. (A sum in float32 is ~1e-7 off; a gradient evaluated at a point
// one ulp away differs far more than 1e-13.)
TEST(IntegratedGradients, WeightedGradientSumsAreFloat64) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(5);
    const torch::Tensor scale = torch::randn({37}, dtype) * 10;
    auto model = igx::FunctionModel([scale](const torch::Tensor& x) {
      return torch::stack({torch::tanh(x * scale).sum(1), torch::sin(x * scale).pow(2).sum(1)}, 1);
    });
    const torch::Tensor inputs = torch::randn({3, 37}, dtype);
    const torch::Tensor baselines = torch::randn({3, 37}, dtype) * 0.1;
    for (const int64_t batch_rows : {0, 10, 7}) {
      igx::Integrator integrator(model, {}, igx::OutputKind::Logit, batch_rows, BatchSizing::Fixed);
      integrator.set_targets(torch::tensor({0, 1, 0}, torch::kLong));
      std::vector<igx::StraightLinePath> paths;
      for (int64_t b = 0; b < 3; ++b) paths.emplace_back(baselines[b], inputs[b], igx::make_quadrature(Rule::GaussLegendre, 23));
      std::vector<igx::PathJob> jobs;
      for (int64_t b = 0; b < 3; ++b) jobs.push_back({&paths[b], b});
      const std::vector<igx::PathResult> results = integrator.integrate(jobs);
      for (int64_t b = 0; b < 3; ++b) {
        const torch::Tensor points = paths[b].points(0, 23).requires_grad_(true);
        const torch::Tensor values = model.forward(points, {}).select(1, b == 1 ? 1 : 0);
        const torch::Tensor gradients = torch::autograd::grad({values.sum()}, {points})[0].to(torch::kDouble);
        const torch::Tensor weights = paths[b].weights(0, 23).unsqueeze(1);
        const torch::Tensor expected = (weights * gradients).sum(0);
        const torch::Tensor scale_of_sum = (weights * gradients).abs().sum(0);
        ASSERT_EQ(results[b].weighted_gradient_sum.scalar_type(), torch::kDouble);
        EXPECT_TRUE(((results[b].weighted_gradient_sum - expected).abs() <= 1e-13 * scale_of_sum).all().item<bool>())
            << "dtype " << dtype << ", batches of " << batch_rows << " rows, example " << b << ": largest difference "
            << (results[b].weighted_gradient_sum - expected).abs().max().item<double>();
      }
    }
  }
}

// Gradients are checked through their weighted sums: an infinite gradient at a point whose weight
// is 0 still stops the computation (0 * Inf is NaN), named where it happened.
TEST(IntegratedGradients, NonFiniteGradientIsFoundThroughAZeroWeight) {
  auto model = igx::FunctionModel([](const torch::Tensor& x) { return torch::sqrt(x.select(1, 0)) + x.select(1, 1); });
  igx::Integrator integrator(model, {}, igx::OutputKind::Logit, 0, BatchSizing::Fixed);
  integrator.set_targets(torch::zeros({1}, torch::kLong));
  const igx::PointListPath path(torch::tensor({{1.0f, 2.0f}, {0.0f, 2.0f}}), torch::tensor({1.0, 0.0}, torch::kDouble));
  try {
    integrator.integrate({{&path, 0}});
    FAIL() << "an infinite gradient passed";
  } catch (const igx::Error& error) {
    EXPECT_NE(std::string(error.what()).find("+Inf in 1 of its 2 entries for example 0 at path point 1 of 2"),
              std::string::npos)
        << error.what();
  }
}

TEST(IntegratedGradients, EndPointValuesMatchTheModel) {
  auto mlp = std::make_shared<igx_test::Mlp>(5, 8, 3, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  const torch::Tensor inputs = torch::randn({2, 5}, torch::kDouble);
  for (Rule rule : kAllRules) {
    const auto result = igx::integrated_gradients(
        model, inputs,
        IgOptions().n_steps(4).method(rule).output(igx::OutputKind::LogProbability)
            .baseline(igx::Baseline::scalar(0.25)));
    const torch::Tensor log_probabilities = torch::log_softmax(mlp->forward(inputs), 1);
    const torch::Tensor baseline_log_probabilities =
        torch::log_softmax(mlp->forward(torch::full_like(inputs, 0.25)), 1);
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t target = result.examples[b].target;
      EXPECT_EQ(target, mlp->forward(inputs).argmax(1)[b].item<int64_t>());
      EXPECT_NEAR(result.examples[b].output_input, log_probabilities[b][target].item<double>(), 1e-12);
      EXPECT_NEAR(result.examples[b].output_baseline, baseline_log_probabilities[b][target].item<double>(), 1e-12);
    }
  }
}

TEST(IntegratedGradients, BaselineForms) {
  const torch::Tensor weight = doubles({1.0, 2.0, 3.0}).view({1, 3});
  auto model = igx_test::linear(weight, doubles({0.0}));
  const torch::Tensor inputs = doubles({1.0, 1.0, 1.0, 2.0, 2.0, 2.0}).view({2, 3});
  auto ig = [&](igx::Baseline baseline) {
    return igx::integrated_gradients(model, inputs, IgOptions().n_steps(3).baseline(baseline)).values;
  };
  const torch::Tensor one_row = doubles({0.0, 1.0, 2.0});
  const torch::Tensor expected_shared = weight * (inputs - one_row);
  EXPECT_TRUE(torch::allclose(ig(igx::Baseline::tensor(one_row)), expected_shared));
  EXPECT_TRUE(torch::allclose(ig(igx::Baseline::tensor(one_row.unsqueeze(0))), expected_shared));
  const torch::Tensor per_example = doubles({0.0, 0.0, 0.0, 1.0, 1.0, 1.0}).view({2, 3});
  EXPECT_TRUE(torch::allclose(ig(igx::Baseline::tensor(per_example)), weight * (inputs - per_example)));
  EXPECT_TRUE(torch::allclose(ig(igx::Baseline::scalar(1.0)), weight * (inputs - 1.0)));
  EXPECT_TRUE(torch::allclose(ig(igx::Baseline::zero()), weight * inputs));
}

TEST(IntegratedGradients, MultiplyByInputsOff) {
  const torch::Tensor weight = doubles({1.0, -2.0, 3.0}).view({1, 3});
  auto model = igx_test::linear(weight, doubles({0.0}));
  const torch::Tensor inputs = doubles({4.0, 5.0, 6.0}).view({1, 3});
  const auto result = igx::integrated_gradients(model, inputs, IgOptions().multiply_by_inputs(false));
  EXPECT_TRUE(torch::allclose(result.values, weight));
  EXPECT_NEAR(result.examples[0].delta, 0.0, 1e-12);  // completeness is still checked
}

TEST(IntegratedGradients, RelativeErrorUndefinedForATinyGap) {
  auto mlp = std::make_shared<igx_test::Mlp>(3, 8, 2, torch::kDouble);
  auto model = igx_test::as_model(mlp);
  const torch::Tensor inputs = torch::randn({1, 3}, torch::kDouble);
  const auto same = igx::integrated_gradients(model, inputs, IgOptions().baseline(igx::Baseline::tensor(inputs)));
  EXPECT_FALSE(same.examples[0].relative_error.has_value());
  EXPECT_EQ(same.examples[0].delta, 0.0);
  EXPECT_FALSE(igx::relative_error(1e-9, 1.0, 1.0 - 1e-7, 1e-6, torch::kDouble).has_value());
  EXPECT_FALSE(igx::relative_error(1e-9, 100.0, 100.0 - 1e-4, 1e-6, torch::kFloat).has_value());
  EXPECT_NEAR(*igx::relative_error(-0.01, 2.0, 1.0, 1e-6, torch::kFloat), 0.01, 1e-15);
}

TEST(IntegratedGradients, ProbabilityOutputOfASingleLogitIsTheSigmoid) {
  const torch::Tensor weight = doubles({1.0, 1.0}).view({1, 2});
  auto model = igx::FunctionModel([weight](const torch::Tensor& x) { return torch::matmul(x, weight.t()).squeeze(1); });
  const torch::Tensor inputs = doubles({1.0, 2.0}).view({1, 2});
  const auto result = igx::integrated_gradients(
      model, inputs, IgOptions().n_steps(500).output(igx::OutputKind::Probability));
  EXPECT_NEAR(result.examples[0].output_input, 1.0 / (1.0 + std::exp(-3.0)), 1e-12);
  EXPECT_NEAR(result.examples[0].output_baseline, 0.5, 1e-12);
  EXPECT_NEAR(result.examples[0].delta, 0.0, 1e-10);
}

TEST(GradientMethods, SaliencyAndInputXGradientOnALinearModel) {
  const torch::Tensor weight = doubles({1.0, -2.0, 3.0, 0.5, 0.5, -0.5}).view({2, 3});
  auto model = igx_test::linear(weight, doubles({0.0, 0.0}));
  const torch::Tensor inputs = doubles({1.0, 2.0, 3.0}).view({1, 3});
  const auto options = igx::GradientOptions().target(igx::Target::index(0));
  EXPECT_TRUE(torch::allclose(igx::saliency(model, inputs, options).values[0], weight[0].abs()));
  EXPECT_TRUE(torch::allclose(igx::saliency(model, inputs, igx::GradientOptions(options).absolute(false)).values[0], weight[0]));
  EXPECT_TRUE(torch::allclose(igx::input_x_gradient(model, inputs, options).values[0], weight[0] * inputs[0]));
  EXPECT_TRUE(std::isnan(igx::saliency(model, inputs, options).examples[0].delta));
}

TEST(ExtraInputs, RowsFollowTheirExamplesAcrossBatches) {
  // F(x) = scale * sum(x): the scale of each example must reach every one of its path points.
  auto model = igx::FunctionModel(
      [](const torch::Tensor& x, const igx::ExtraInputs& extras) {
        return (extras.at(0) * x.sum(1)).unsqueeze(1);
      },
      "scaled_sum");
  const torch::Tensor inputs = torch::ones({3, 2}, torch::kDouble);
  const torch::Tensor scales = doubles({1.0, 10.0, 100.0});
  const auto result = igx::integrated_gradients(model, inputs, IgOptions().n_steps(5).internal_batch_size(4), {scales});
  EXPECT_TRUE(torch::allclose(result.values, scales.unsqueeze(1).expand({3, 2})));
}

}  // namespace
