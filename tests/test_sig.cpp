// Sequential IG against closed forms: per-token completeness, equality with IG where the two
// must agree, and the shipped text model's tokens checked against direct forward passes.
#include <gtest/gtest.h>

#include "igx/igx.h"
#include "igx/sequential_ig.h"
#include "igx/text.h"
#include "test_support.h"

namespace {

using igx::IgOptions;
using igx_test::contains;
using igx_test::error_of;

struct Sequences {
  torch::Tensor inputs, baselines, moving;
};

// Two sequences of 4 tokens in 3 dimensions; the first token stays.
Sequences make_sequences() {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  Sequences s;
  s.inputs = torch::randn({2, 4, 3}, generator, torch::kDouble);
  s.baselines = torch::randn({2, 4, 3}, generator, torch::kDouble) * 0.3;
  s.moving = torch::ones({2, 4}, torch::kBool);
  s.moving.select(1, 0).fill_(false);
  return s;
}

const torch::Tensor kW = torch::tensor({0.5, -1.0, 2.0}, torch::kDouble);

// F(x) = (sum_t w . x_t)^2, one output: quadratic along every straight path.
igx::FunctionModel squared_sum() {
  return igx::FunctionModel([](const torch::Tensor& x) { return torch::matmul(x, kW.to(x.dtype())).sum(1).pow(2).unsqueeze(1); },
                            "squared_sum");
}

TEST(SequentialIg, LinearModelGivesEachTokenItsOwnShare) {
  const Sequences s = make_sequences();
  const torch::Tensor weight = torch::randn({2, 4, 3}, torch::kDouble);
  igx::FunctionModel model([weight](const torch::Tensor& x) { return torch::einsum("btd,ctd->bc", {x, weight}); },
                           "linear");
  const auto result = igx::sequential_integrated_gradients(model, s.inputs, s.baselines, s.moving,
                                                           IgOptions().n_steps(3).target(igx::Target::index(1)));
  const torch::Tensor expected = weight[1] * (s.inputs - s.baselines) * s.moving.unsqueeze(2);
  EXPECT_TRUE(torch::allclose(result.attribution.values, expected, 0, 1e-12));
  for (int64_t b = 0; b < 2; ++b) {
    ASSERT_EQ(result.tokens[b].size(), 3u);
    for (const igx::TokenReport& token : result.tokens[b]) {
      const int64_t t = token.position;
      EXPECT_GE(t, 1);
      const double gap = (weight[1][t] * (s.inputs[b][t] - s.baselines[b][t])).sum().item<double>();
      EXPECT_NEAR(token.report.output_input - token.report.output_baseline, gap, 1e-12);
      EXPECT_NEAR(token.report.attribution_sum, gap, 1e-12);
      EXPECT_EQ(token.report.steps, 3);
    }
    const auto& report = result.attribution.examples[b];
    EXPECT_NEAR(report.output_input, (weight[1] * s.inputs[b]).sum().item<double>(), 1e-12);
    EXPECT_NEAR(report.attribution_sum, expected[b].sum().item<double>(), 1e-12);
    EXPECT_NEAR(report.delta, 0.0, 1e-12);
    EXPECT_EQ(report.steps, 9);
  }
}

// For F = S^2 with S = sum_t w . x_t, token t's path changes S from S_t' = S - w.(x_t - x'_t) to
// S, so A_t = w (.) (x_t - x'_t) (S + S_t') and sum A_t = S^2 - S_t'^2, exactly with two
// Gauss-Legendre nodes (the integrand is linear in alpha).
TEST(SequentialIg, QuadraticModelClosedForm) {
  const Sequences s = make_sequences();
  auto model = squared_sum();
  const auto result =
      igx::sequential_integrated_gradients(model, s.inputs, s.baselines, s.moving, IgOptions().n_steps(2));
  for (int64_t b = 0; b < 2; ++b) {
    const double total = torch::matmul(s.inputs[b], kW).sum().item<double>();
    double gaps = 0.0;
    for (int64_t t = 1; t < 4; ++t) {
      const double shift = torch::dot(kW, s.inputs[b][t] - s.baselines[b][t]).item<double>();
      const double without = total - shift;
      const torch::Tensor expected = kW * (s.inputs[b][t] - s.baselines[b][t]) * (total + without);
      EXPECT_TRUE(torch::allclose(result.attribution.values[b][t], expected, 0, 1e-10)) << b << " " << t;
      const igx::TokenReport& token = result.tokens[b][t - 1];
      EXPECT_NEAR(token.report.output_baseline, without * without, 1e-10);
      EXPECT_NEAR(token.report.delta, 0.0, 1e-10);
      gaps += total * total - without * without;
    }
    const auto& report = result.attribution.examples[b];
    EXPECT_NEAR(report.output_baseline, total * total - gaps, 1e-9);  // F(x) - sum of the gaps
    EXPECT_NEAR(report.delta, 0.0, 1e-9);
    EXPECT_EQ(result.attribution.values[b][0].abs().sum().item<double>(), 0.0);
  }
}

TEST(SequentialIg, EqualsIgForOneTokenAndDiffersWithInteractions) {
  const Sequences s = make_sequences();
  auto model = squared_sum();
  const auto options = IgOptions().n_steps(8);
  const torch::Tensor one = torch::ones({2, 1}, torch::kBool);
  const auto sequential = igx::sequential_integrated_gradients(model, s.inputs.narrow(1, 1, 1),
                                                               s.baselines.narrow(1, 1, 1), one, options);
  const auto ig = igx::integrated_gradients(model, s.inputs.narrow(1, 1, 1),
                                            IgOptions(options).baseline(igx::Baseline::tensor(s.baselines.narrow(1, 1, 1))));
  EXPECT_TRUE(torch::allclose(sequential.attribution.values, ig.values, 0, 1e-12));
  // With several moving tokens IG shares S^2 - S'^2 out jointly; SIG does not.
  const torch::Tensor all = torch::ones({2, 4}, torch::kBool);
  const auto joint = igx::integrated_gradients(model, s.inputs, IgOptions(options).baseline(igx::Baseline::tensor(s.baselines)));
  const auto each = igx::sequential_integrated_gradients(model, s.inputs, s.baselines, all, options);
  EXPECT_FALSE(torch::allclose(joint.values, each.attribution.values, 1e-3, 1e-3));
}

TEST(SequentialIg, AdaptiveIntegrationCertifiesEveryToken) {
  const Sequences s = make_sequences();
  auto model = igx::FunctionModel([](const torch::Tensor& x) { return torch::tanh(3 * x.sum({1, 2})).unsqueeze(1); }, "tanh");
  const auto result = igx::sequential_integrated_gradients(
      model, s.inputs, s.baselines, s.moving, IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-4));
  for (int64_t b = 0; b < 2; ++b) {
    double absolute_deltas = 0.0, absolute_gaps = 0.0;
    for (const igx::TokenReport& token : result.tokens[b]) {
      ASSERT_TRUE(token.report.certified.has_value());
      EXPECT_TRUE(*token.report.certified);
      absolute_deltas += std::abs(token.report.delta);
      absolute_gaps += std::abs(token.report.output_input - token.report.output_baseline);
    }
    const auto& report = result.attribution.examples[b];
    ASSERT_TRUE(report.relative_error.has_value());
    EXPECT_NEAR(*report.relative_error, absolute_deltas / absolute_gaps, 1e-15);
    EXPECT_LE(*report.relative_error, 1e-4);
    EXPECT_TRUE(report.certified.value_or(false));
    EXPECT_TRUE(report.completeness_certified.value_or(false));
    EXPECT_TRUE(report.attribution_certified.value_or(false));
  }
}

TEST(SequentialIg, AnExampleHoldsACriterionOnlyWhenEveryTokenDoes) {
  const Sequences s = make_sequences();
  auto model = igx::FunctionModel([](const torch::Tensor& x) { return torch::tanh(3 * x.sum({1, 2})).unsqueeze(1); }, "tanh");
  // Too few evaluations for 1e-9: some tokens cannot certify.
  const auto result = igx::sequential_integrated_gradients(
      model, s.inputs, s.baselines, s.moving,
      IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-9).max_steps(9));
  for (int64_t b = 0; b < 2; ++b) {
    bool completeness = true, attribution = true, certified = true;
    for (const igx::TokenReport& token : result.tokens[b]) {
      completeness = completeness && token.report.completeness_certified.value();
      attribution = attribution && token.report.attribution_certified.value();
      certified = certified && token.report.certified.value();
    }
    const auto& report = result.attribution.examples[b];
    EXPECT_EQ(report.completeness_certified.value(), completeness);
    EXPECT_EQ(report.attribution_certified.value(), attribution);
    EXPECT_EQ(report.certified.value(), certified);
    EXPECT_FALSE(certified);
  }
}

TEST(SequentialIg, RejectsMismatchedShapes) {
  const Sequences s = make_sequences();
  auto model = squared_sum();
  EXPECT_TRUE(contains(error_of([&] {
                         igx::sequential_integrated_gradients(model, s.inputs, s.baselines.narrow(1, 0, 2), s.moving);
                       }),
                       "[2, 2, 3]"));
  EXPECT_TRUE(contains(
      error_of([&] { igx::sequential_integrated_gradients(model, s.inputs, s.baselines, s.moving.to(torch::kLong)); }),
      "expected bool [2, 4]"));
}

TEST(SequentialIgText, EachTokenGapIsTheOutputWithThatTokenMasked) {
  auto classifier = igx::TextClassifier::load(std::string(IGX_SOURCE_DIR) + "/models/spam-transformer");
  const auto explanation = igx::explain_text(classifier, {"win a free prize now, click here"}, "sig",
                                             IgOptions().strategy(igx::Strategy::IntervalAdaptive).tolerance(1e-2),
                                             igx::TextBaseline::Mask);
  const auto& encoding = explanation.batch.encodings[0];
  const int64_t target = explanation.predictions[0];
  ASSERT_EQ(explanation.token_reports[0].size(), encoding.ids.size() - 2);  // all but [CLS], [SEP]
  const torch::Tensor ids = explanation.batch.ids, mask = explanation.batch.mask;
  const double output = classifier.logits(ids, mask)[0][target].item<double>();
  for (const igx::TokenReport& token : explanation.token_reports[0]) {
    torch::Tensor masked = ids.clone();
    masked[0][token.position] = classifier.tokenizer().mask_id();
    const double without = classifier.logits(masked, mask)[0][target].item<double>();
    EXPECT_NEAR(token.report.output_input, output, 1e-4);
    EXPECT_NEAR(token.report.output_baseline, without, 1e-4);
    EXPECT_NEAR(explanation.token_scores[0][token.position].item<double>(), token.report.attribution_sum, 1e-4);
    EXPECT_TRUE(token.report.certified.value_or(false)) << encoding.tokens[token.position];
  }
  EXPECT_EQ(explanation.token_scores[0][0].item<double>(), 0.0);
}

}  // namespace
