// The papers' settings through the explanation service and the command line: the maximum-entropy
// baseline (--baseline max-entropy[:data|:optimize]), the fixed-step comparison
// (--compare-steps RULE:N) and DIG's candidate score (--dig-score word|point).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "igx/datasets.h"
#include "igx/explainer.h"
#include "igx/max_entropy.h"

#include "test_explainers.h"
#include "cli_test.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::digit;
using igx_test::error_of;
using igx_test::mnist;
using igx_test::run_igx;
using igx_test::spam;
using igx_test::with_options;
using igx_test::shipped_model;

double sum(const std::vector<double>& values) { return std::accumulate(values.begin(), values.end(), 0.0); }

TEST(MaxEntropyRequest, OptimizedTextBaselineIsUniformAndReported) {
  // With the probability as output, a uniform baseline has F(x') = 1/2 for either class.
  igx::ExplainRequest request = with_options({{"baseline", "max-entropy:optimize"}, {"output", "prob"}});
  request.texts = {"win a free cruise, click here now", "the minutes of the meeting are attached"};
  const igx::Explanation explanation = spam()->explain(request);
  EXPECT_EQ(explanation.run.baseline, "max-entropy:optimize");
  for (const igx::ExampleExplanation& example : explanation.examples) {
    ASSERT_TRUE(example.baseline_entropy.has_value());
    EXPECT_NEAR(*example.max_entropy, std::log(2.0), 1e-12);
    // The ascent stops within 1e-6 of log 2 or after 300 steps: on these texts, within 1e-4.
    EXPECT_GE(*example.baseline_entropy, std::log(2.0) - 1e-4);
    EXPECT_LE(*example.baseline_entropy, std::log(2.0) + 1e-12);
    EXPECT_NEAR(example.report.output_baseline, 0.5, 2e-3);
    EXPECT_TRUE(contains(example.baseline_source, "ascent steps"));
  }
  const nlohmann::json json = igx::to_json(explanation);
  EXPECT_NEAR(json["examples"][0]["baseline"]["entropy"].get<double>(), *explanation.examples[0].baseline_entropy, 0);
  EXPECT_EQ(json["examples"][0]["baseline"]["output"].get<double>(), explanation.examples[0].report.output_baseline);
}

TEST(MaxEntropyRequest, DataFormChoosesTheTestImageOfLargestEntropy) {
  const std::string data = igx::find_data_directory();
  if (!fs::exists(fs::path(data) / "mnist" / "test.npy")) GTEST_SKIP() << "needs scripts/fetch_data.sh";
  igx::ExplainRequest request = with_options({{"baseline", "max-entropy"}, {"steps", "8"}});
  request.image_paths = {digit(3)};
  const igx::Explanation explanation = mnist()->explain(request);
  const igx::ExampleExplanation& example = explanation.examples[0];
  // Every test image's entropy, computed here: the chosen one has the largest.
  const igx::ImageDataset test = igx::read_mnist_split(data, "test");
  torch::NoGradGuard no_grad;
  const torch::Tensor entropies =
      igx::output_entropy(mnist()->image_classifier().model().forward(test.images, {}));
  EXPECT_NEAR(*example.baseline_entropy, entropies.max().item<double>(), 1e-5);
  EXPECT_EQ(example.baseline_source, "test image " + std::to_string(entropies.argmax().item<int64_t>()));
  EXPECT_EQ(explanation.run.baseline, "max-entropy:data");
}

TEST(MaxEntropyRequest, WhereItDoesNotApply) {
  const auto error = [](const std::shared_ptr<igx::Explainer>& explainer,
                        const std::vector<std::pair<std::string, std::string>>& options) {
    igx::ExplainRequest request = with_options(options);
    request.texts = {"hello there"};
    return error_of([&] { explainer->explain(request); });
  };
  EXPECT_TRUE(contains(error(spam(), {{"baseline", "max-entropy"}, {"method", "dig-greedy"}}), "a vocabulary word"));
  EXPECT_TRUE(contains(error(spam(), {{"baseline", "max-entropy:best"}}), "max-entropy:optimize"));
  EXPECT_TRUE(contains(error(spam(), {{"dig-score", "point"}}), "--dig-score does not apply here"));
  EXPECT_TRUE(contains(error(spam(), {{"method", "sig"}, {"compare-steps", "riemann_right:8"}}),
                       "--compare-steps does not apply here"));
  igx::ExplainRequest tensor = with_options({{"baseline", "max-entropy:optimize"}});
  tensor.inputs = torch::ones({1, 3});
  const auto linear = igx::Explainer::from_model(
      std::make_shared<igx::FunctionModel>([](const torch::Tensor& x) { return x.narrow(1, 0, 2); }), "two");
  EXPECT_TRUE(contains(error_of([&] { linear->explain(tensor); }), "applies to texts and images"));
}

TEST(CompareStepsRequest, FixedRunAndDifferencePerToken) {
  igx::ExplainRequest request = with_options({{"compare-steps", "riemann_right:4"}});
  request.texts = {"congratulations, you have won a free cruise"};
  const igx::Explanation explanation = spam()->explain(request);
  const igx::ExampleExplanation& example = explanation.examples[0];
  ASSERT_TRUE(example.step_comparison.has_value());
  const igx::FixedStepComparison& compared = *example.step_comparison;
  // The same as IG with that rule and n run on its own.
  igx::ExplainRequest fixed = with_options({{"method", "riemann_right"}, {"steps", "4"}});
  fixed.texts = request.texts;
  const igx::ExampleExplanation alone = spam()->explain(fixed).examples[0];
  EXPECT_EQ(compared.step_count, "riemann_right:4");
  EXPECT_EQ(compared.report.steps, 4);
  EXPECT_NEAR(compared.report.delta, alone.report.delta, 1e-6);
  ASSERT_EQ(compared.token_scores.size(), example.tokens.size());
  for (size_t t = 0; t < example.tokens.size(); ++t) {
    EXPECT_NEAR(compared.token_scores[t], alone.token_scores[t], 1e-6);
    EXPECT_NEAR(compared.difference[t], compared.token_scores[t] - example.token_scores[t], 1e-6);
  }
  // Both runs start at the same F(x'), so the per-token differences add up to the deltas' difference.
  EXPECT_NEAR(sum(compared.difference), compared.report.delta - example.report.delta, 1e-5);
  ASSERT_EQ(compared.concentration.size(), 3u);
  EXPECT_LE(compared.concentration[0], compared.concentration[1]);
  EXPECT_LE(compared.concentration[1], compared.concentration[2]);
  EXPECT_LE(compared.concentration[2], 1.0);
  const nlohmann::json json = igx::to_json(explanation)["examples"][0]["compare_steps"];
  EXPECT_EQ(json["step_count"], "riemann_right:4");
  EXPECT_EQ(json["difference"].size(), example.tokens.size());
  EXPECT_EQ(json["concentration"]["top_10_percent"].get<double>(), compared.concentration[2]);
  // The page's rows (igx explain's HTML, Python's html()): the explanation, the fixed run, the difference.
  const std::vector<igx::TextExplanationView> page = igx::text_page_views(explanation);
  ASSERT_EQ(page.size(), 3u);
  EXPECT_FALSE(page[1].difference);
  EXPECT_TRUE(page[2].difference);
  EXPECT_EQ(page[1].steps, 4);
  ASSERT_EQ(page[2].scores.size(), compared.difference.size());
  for (size_t t = 0; t < page[2].scores.size(); ++t) EXPECT_EQ(page[2].scores[t], compared.difference[t]);
  EXPECT_NEAR(page[2].attribution_sum, compared.report.attribution_sum - example.report.attribution_sum, 1e-12);
}

TEST(DigScoreRequest, TheScoreReachesThePaths) {
  // On the shipped model the two scores agree on every first anchor and part with the second.
  igx::ExplainRequest word = with_options({{"method", "dig-greedy"}, {"anchors", "6"}, {"neighbours", "60"}});
  word.texts = {"click here to claim your free prize money"};
  igx::ExplainRequest point = word;
  igx::set_explain_option(point.options, "dig-score", "point");
  const igx::ExampleExplanation by_word = spam()->explain(word).examples[0];
  const igx::ExampleExplanation by_point = spam()->explain(point).examples[0];
  size_t later_differ = 0;
  for (size_t t = 1; t + 1 < by_word.tokens.size(); ++t) {
    EXPECT_EQ(by_word.dig_anchors[t].front(), by_point.dig_anchors[t].front()) << by_word.tokens[t];
    later_differ += by_word.dig_anchors[t] != by_point.dig_anchors[t];
  }
  EXPECT_GT(later_differ, 0u);
}

using PapersCli = igx_test::TempFolderTest;

TEST_F(PapersCli, CompareStepsSideBySideInTheTerminalHtmlAndHeatMaps) {
  const auto text = run_igx("explain --compare-steps riemann_right:8 --no-color \"win a free cruise\" --model " +
                            shipped_model("spam-transformer") + " --out-dir " + path("text"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_TRUE(contains(text.output, "with riemann_right:8: relative error")) << text.output;
  EXPECT_TRUE(contains(text.output, "difference, riemann_right:8 minus the explanation above")) << text.output;
  std::ifstream html_file(path("text/explanation.html"));
  const std::string html((std::istreambuf_iterator<char>(html_file)), std::istreambuf_iterator<char>());
  size_t rows = 0;
  for (size_t at = html.find("<tr><td>"); at != std::string::npos; at = html.find("<tr><td>", at + 1)) ++rows;
  EXPECT_EQ(rows, 3u);  // the explanation, the fixed run, the difference

  const auto image = run_igx("explain --compare-steps gausslegendre:4 --image " + igx_test::digit(7) + " --out-dir " +
                             path("image"));
  ASSERT_EQ(image.exit_code, 0) << image.output;
  EXPECT_TRUE(fs::exists(path("image/heatmap-digit_7_0-fixed.png")));
  EXPECT_TRUE(fs::exists(path("image/heatmap-digit_7_0-difference.png")));
  EXPECT_TRUE(contains(image.output, "of the pixels carry")) << image.output;

  const auto bad = run_igx("explain --compare-steps simpson:4 \"hello\"");
  EXPECT_EQ(bad.exit_code, igx::kExitUsage);
  EXPECT_TRUE(contains(bad.output, "simpson")) << bad.output;
}

}  // namespace
