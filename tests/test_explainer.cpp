// The explanation service (igx/explainer.h): options by name, requests on every modality, the
// JSON schema, several threads on one Explainer, batching of requests, and one record per input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <thread>

#include "igx/cancellation.h"
#include "igx/explainer.h"
#include "igx/faithfulness.h"
#include "igx/runtime.h"

#include "test_explainers.h"
#include "test_models.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::digit;
using igx_test::error_of;
using igx_test::mnist;
using igx_test::spam;
using igx_test::with_options;

// F(x) = W x + b with W [2, 3]: IG from x' is W[c] * (x - x') exactly, whatever the rule.
std::shared_ptr<igx::Explainer> linear_explainer() {
  const torch::Tensor weight = torch::tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.25}}, torch::kDouble);
  const torch::Tensor bias = torch::tensor({0.5, 0.0}, torch::kDouble);
  return igx::Explainer::from_model(std::make_shared<igx::FunctionModel>(igx_test::linear(weight, bias)), "linear");
}

TEST(ExplainOptions, EveryOptionRoundTripsThroughJsonByItsName) {
  // One value per option, written as a command line writes it.
  const std::map<std::string, std::string> values = {
      {"method", "sig"},         {"steps", "12"},          {"strategy", "doubling"},  {"tolerance", "0.002"},
      {"certify", "panels"},     {"attribution-tolerance", "0.02"}, {"scan-points", "0"}, {"max-steps", "300"},
      {"initial-intervals", "2"}, {"memory-budget", "512M"}, {"batch-size", "0"},
      {"anchors", "7"},          {"neighbours", "40"},     {"upscale", "3"},          {"baseline", "mask"},
      {"baselines", "noise:4:0.25"}, {"expected-gradients", "50"}, {"seed", "9"},     {"target", "1,0"},
      {"output", "prob"},        {"words", "true"},        {"layer", "features"},     {"patch", "1,2,3,4"},
      {"neuron", "5,6"},         {"dig-score", "point"},   {"compare-steps", "riemann_right:100"}};
  igx::ExplainOptions options;
  for (const igx::ExplainOptionInfo& info : igx::explain_option_table()) {
    ASSERT_TRUE(values.count(info.name)) << "no test value for option " << info.name;
    igx::set_explain_option(options, info.name, values.at(info.name));
  }
  EXPECT_EQ(values.size(), igx::explain_option_table().size());
  const nlohmann::json json = igx::to_json(options);
  EXPECT_EQ(json["max_steps"], 300);
  EXPECT_EQ(json["tolerance"], 0.002);
  EXPECT_EQ(json["words"], true);
  EXPECT_EQ(json["memory_budget"], int64_t{512} << 20);
  EXPECT_EQ(json["target"], "1,0");
  EXPECT_EQ(json.size(), values.size());
  EXPECT_EQ(igx::to_json(igx::explain_options_from_json(json)), json);
  // Snake and kebab case name the same option.
  igx::ExplainOptions other;
  igx::set_explain_option(other, "max_steps", "300");
  EXPECT_EQ(other.max_steps, 300);
}

TEST(ExplainOptions, BadValuesNameTheOptionAndWhatWasExpected) {
  igx::ExplainOptions options;
  // One style for every bad value, a usage error (nothing ran): "--NAME: expected ..., got ...".
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "tolerance", "-1"); }),
            "--tolerance: expected a number in (0, 1), got -1");
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "tolerance", "inf"); }),
            "--tolerance: expected a number in (0, 1), got inf");
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "steps", "0"); }), "--steps: expected an integer ≥ 1, got 0");
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "steps", "12x"); }),
            "--steps: expected an integer ≥ 1, got '12x'");
  // Integers are written in full: no fraction, exponent, blank or value beyond 64 bits.
  for (const char* text : {"2.0", "1e3", " 5", "99999999999999999999", "-"}) {
    EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "max-steps", text); }),
                         "--max-steps: expected an integer ≥ 1, got"))
        << text;
  }
  // A negative seed is refused, not wrapped around to 2^64 - 5.
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "seed", "-5"); }), "--seed: expected an integer ≥ 0, got -5");
  EXPECT_THROW(igx::set_explain_option(options, "batch-size", "-1"), igx::UsageError);
  EXPECT_EQ(error_of([&] { igx::set_explain_option(options, "memory-budget", "2T"); }),
            "--memory-budget: expected bytes ≥ 0, as digits with an optional K, M or G (512M), got '2T'");
  for (const char* text : {"-1G", "M", " 5M", "1.5G", "99999999999G"}) {
    EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "memory-budget", text); }),
                         "--memory-budget: expected bytes"))
        << text;
  }
  EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "method", "simpson"); }), "'simpson'"));
  EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "output", "softmax"); }), "'softmax'"));
  EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "baselines", "noise:0"); }), "'noise:0'"));
  EXPECT_TRUE(contains(error_of([&] { igx::set_explain_option(options, "colour", "red"); }),
                       "unknown option 'colour'; expected one of: method"));
  EXPECT_TRUE(contains(error_of([] { igx::explain_options_from_json({{"steps", {1, 2}}}); }), "'steps' is a JSON array"));
  EXPECT_FALSE(options.tolerance.has_value());  // a failed set leaves the option unset
}

TEST(Explainer, TensorRequestsMatchTheClosedForm) {
  const auto explainer = linear_explainer();
  igx::ExplainRequest request = with_options({{"target", "0"}, {"baseline", "0.5"}});
  request.inputs = torch::tensor({{1.0, 2.0, -1.0}, {0.5, 0.5, 0.5}}, torch::kDouble);
  request.ids = {"first", "second"};
  const igx::Explanation explanation = explainer->explain(request);
  ASSERT_EQ(explanation.examples.size(), 2u);
  const torch::Tensor expected =
      torch::tensor({1.0, 2.0, 3.0}, torch::kDouble) * (request.inputs - 0.5);
  EXPECT_TRUE(torch::allclose(explanation.attributions, expected, 1e-12, 1e-12));
  EXPECT_EQ(explanation.examples[1].id, "second");
  EXPECT_EQ(explanation.examples[0].report.certified, true);  // adaptive by default
  EXPECT_EQ(explanation.examples[0].prediction, 0);           // 2.5 beats -0.25
  EXPECT_EQ(explanation.run.baseline, "0.5");
  EXPECT_EQ(explanation.run.method, "ig adaptive (tolerance 0.0100)");
  const nlohmann::json json = igx::to_json(explanation);
  EXPECT_EQ(json["schema"], "igx.explanation/1");
  EXPECT_EQ(json["modality"], "tensor");
  EXPECT_EQ(json["examples"][1]["id"], "second");
  EXPECT_NEAR(json["examples"][0]["attributions"][2].get<double>(), 3.0 * (-1.0 - 0.5), 1e-12);

  // A distribution of baselines: IG against their mean, F(x) - mean F(x'_j) in expectation.
  igx::ExplainRequest distribution = with_options({{"target", "0"}, {"steps", "4"}});
  distribution.inputs = request.inputs;
  distribution.baselines = torch::tensor({{0.0, 0.0, 0.0}, {1.0, 1.0, -1.0}, {2.0, 0.0, 1.0}}, torch::kDouble);
  const igx::Explanation averaged = explainer->explain(distribution);
  const torch::Tensor mean = distribution.baselines.mean(0);
  EXPECT_TRUE(torch::allclose(averaged.attributions,
                              torch::tensor({1.0, 2.0, 3.0}, torch::kDouble) * (request.inputs - mean), 1e-12, 1e-12));
  EXPECT_EQ(averaged.examples[0].baseline_count, 3);
  EXPECT_EQ(averaged.run.method, "distribution ig gausslegendre");
}

TEST(Explainer, OptionsThatDoNotApplyAreErrors) {
  const auto explainer = linear_explainer();
  const auto error = [&](const std::vector<std::pair<std::string, std::string>>& options) {
    igx::ExplainRequest request = with_options(options);
    request.inputs = torch::ones({1, 3}, torch::kDouble);
    return error_of([&] { explainer->explain(request); });
  };
  EXPECT_TRUE(contains(error({{"anchors", "8"}}), "--anchors does not apply here"));
  EXPECT_TRUE(contains(error({{"strategy", "doubling"}, {"memory-budget", "1G"}}), "--memory-budget does not apply here"));
  EXPECT_TRUE(contains(error({{"steps", "8"}, {"tolerance", "0.01"}}), "--tolerance does not apply here"));
  EXPECT_TRUE(contains(error({{"strategy", "doubling"}, {"steps", "8"}}), "--steps does not apply here"));
  EXPECT_TRUE(contains(error({{"method", "saliency"}, {"baseline", "1"}}), "--baseline does not apply here"));
  EXPECT_TRUE(contains(error({{"method", "saliency"}, {"strategy", "fixed"}}), "--strategy does not apply here"));
  EXPECT_TRUE(contains(error({{"seed", "3"}}), "--seed does not apply here"));
  EXPECT_TRUE(contains(error({{"words", "true"}}), "--words does not apply here"));
  EXPECT_TRUE(contains(error({{"method", "sig"}}), "explains texts"));
  EXPECT_TRUE(contains(error({{"method", "conductance"}}), "image bundles"));
  EXPECT_TRUE(contains(error({{"expected-gradients", "10"}}), "needs --baselines"));
  EXPECT_TRUE(contains(error({{"baselines", "train:4"}}), "image bundle's training data"));
  EXPECT_TRUE(contains(error({{"baselines", "noise:4"}, {"method", "saliency"}}), "does not take them"));
  // Inputs of another modality, and ids that do not fit.
  igx::ExplainRequest texts;
  texts.texts = {"hello"};
  EXPECT_TRUE(contains(error_of([&] { explainer->explain(texts); }), "the request has texts"));
  igx::ExplainRequest ids;
  ids.inputs = torch::ones({2, 3}, torch::kDouble);
  ids.ids = {"only one"};
  EXPECT_TRUE(contains(error_of([&] { explainer->explain(ids); }), "1 ids for 2 examples"));
  // A server reads no files for its requests.
  igx::ExplainRequest file = with_options({{"baseline", "/etc/hostname"}});
  file.inputs = torch::ones({1, 3}, torch::kDouble);
  file.allow_files = false;
  EXPECT_TRUE(contains(error_of([&] { explainer->explain(file); }), "reads no files"));
  // The request's own faults are usage errors (exit code 2 on the command line; nothing ran).
  igx::ExplainRequest anchors = with_options({{"anchors", "8"}});
  anchors.inputs = torch::ones({1, 3}, torch::kDouble);
  EXPECT_THROW(explainer->explain(anchors), igx::UsageError);
  EXPECT_THROW(explainer->explain(texts), igx::UsageError);
  EXPECT_THROW(explainer->explain(ids), igx::UsageError);
}

TEST(Explainer, DigAnchorsAreBoundedByTheVocabulary) {
  igx::ExplainRequest request = with_options({{"method", "dig-greedy"}, {"anchors", "100000"}});
  request.texts = {"win a prize"};
  const size_t words = spam()->text_classifier().tokenizer().vocab_size();
  try {
    spam()->prepare(request);
    ADD_FAILURE() << "100000 anchors were accepted";
  } catch (const igx::UsageError& error) {
    EXPECT_EQ(std::string(error.what()), "--anchors: expected an integer from 1 to " + std::to_string(words) +
                                             " (the vocabulary's words), got 100000");
  }
}

TEST(Explainer, TextsCarryTokensWordsAndTheMethodsExtras) {
  igx::ExplainRequest request = with_options({{"method", "sig"}, {"steps", "4"}, {"words", "true"}});
  request.texts = {"click here to claim a fabulous prize", "see you at the meeting"};
  const igx::Explanation sig = spam()->explain(request);
  ASSERT_EQ(sig.examples.size(), 2u);
  const igx::ExampleExplanation& first = sig.examples[0];
  EXPECT_EQ(first.tokens.front(), "[CLS]");
  EXPECT_EQ(first.tokens.size(), first.token_scores.size());
  EXPECT_EQ(first.token_reports.size(), first.tokens.size() - 2);  // every ordinary token moves alone
  double sum = 0;
  for (double score : first.token_scores) sum += score;
  EXPECT_NEAR(sum, first.report.attribution_sum, 1e-6 * (1 + std::abs(sum)));  // scores are float32 sums
  double words = 0;
  for (double score : first.words.scores) words += score;
  EXPECT_NEAR(words, sum, 1e-9);
  EXPECT_LT(first.words.words.size(), first.tokens.size());  // "fabulous" is several pieces
  EXPECT_EQ(sig.run.baseline, "mask (per token)");
  EXPECT_EQ(first.prediction_label, "spam");
  // [B, T, D] on the word embeddings; the shorter text is zero after its end.
  EXPECT_EQ(sig.attributions.dim(), 3);
  EXPECT_EQ(sig.attributions.size(1),
            static_cast<int64_t>(std::max(sig.examples[0].tokens.size(), sig.examples[1].tokens.size())));

  igx::ExplainRequest dig = with_options({{"method", "dig-greedy"}, {"anchors", "5"}, {"neighbours", "30"}});
  dig.texts = {"win a prize"};
  const igx::Explanation paths = spam()->explain(dig);
  ASSERT_EQ(paths.examples[0].dig_anchors.size(), paths.examples[0].tokens.size());
  EXPECT_TRUE(paths.examples[0].dig_anchors.front().empty());  // [CLS] stays
  EXPECT_EQ(paths.examples[0].dig_anchors[1].size(), 5u);
  EXPECT_EQ(paths.examples[0].report.steps, 7);
}

TEST(Explainer, ImagesAndLayersOfTheShippedDigitModel) {
  igx::ExplainRequest request = with_options({{"steps", "16"}, {"baseline", "blur:3"}});
  request.image_paths = {digit(3), digit(7)};
  const igx::Explanation explanation = mnist()->explain(request);
  ASSERT_EQ(explanation.examples.size(), 2u);
  EXPECT_EQ(explanation.examples[0].prediction_label, "3");
  EXPECT_EQ(explanation.examples[1].prediction_label, "7");
  EXPECT_EQ(explanation.examples[1].picture.shape, (std::vector<int64_t>{28, 28}));
  EXPECT_NEAR(std::accumulate(explanation.examples[1].pixel_attributions.values.begin(),
                              explanation.examples[1].pixel_attributions.values.end(), 0.0),
              explanation.examples[1].report.attribution_sum, 1e-4);
  // The same pixels as a tensor give the same explanation.
  igx::ExplainRequest tensor = request;
  tensor.image_paths.clear();
  tensor.images = torch::cat({mnist()->image_classifier().read_image(digit(3)),
                              mnist()->image_classifier().read_image(digit(7))});
  EXPECT_TRUE(torch::equal(mnist()->explain(tensor).attributions, explanation.attributions));
  tensor.images = tensor.images * 2;
  EXPECT_TRUE(contains(error_of([&] { mnist()->explain(tensor); }), "outside [0, 1]"));

  // Patch -> neuron IG shares out exactly the input IG inside the patch (DESIGN.md §2).
  igx::ExplainRequest patch = with_options({{"method", "patch"}, {"patch", "4,4,16,16"}, {"steps", "16"}});
  patch.image_paths = {digit(5)};
  const igx::Explanation neurons = mnist()->explain(patch);
  EXPECT_EQ(neurons.layer, "features");
  EXPECT_EQ(neurons.layer_shape, (std::vector<int64_t>{32, 7, 7}));
  EXPECT_EQ(neurons.examples[0].channel_sums.size(), 32u);
  EXPECT_NEAR(neurons.examples[0].report.attribution_sum, *neurons.examples[0].patch_input_attribution, 1e-3);
  EXPECT_TRUE(contains(error_of([&] {
                         igx::ExplainRequest missing = with_options({{"method", "patch"}});
                         missing.image_paths = {digit(5)};
                         mnist()->explain(missing);
                       }),
                       "needs --patch"));
}

TEST(Explainer, OneExplainerServesSeveralThreadsAtOnce) {
  const std::vector<std::string> texts = {"win a free cruise now", "the agenda for friday", "claim your prize",
                                          "lunch at noon?"};
  const auto request_for = [&](size_t i) {
    igx::ExplainRequest request = with_options({{"method", i % 2 ? "dig-maxcount" : "gausslegendre"}});
    if (i % 2) {
      igx::set_explain_option(request.options, "anchors", "4");
      igx::set_explain_option(request.options, "neighbours", "25");
    } else {
      igx::set_explain_option(request.options, "steps", "6");
    }
    request.texts = {texts[i]};
    return request;
  };
  std::vector<igx::Explanation> alone;
  for (size_t i = 0; i < texts.size(); ++i) alone.push_back(spam()->explain(request_for(i)));
  std::vector<igx::Explanation> together(texts.size());
  std::vector<std::string> errors(texts.size());
  for (int round = 0; round < 2; ++round) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < texts.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          together[i] = spam()->explain(request_for(i));
        } catch (const std::exception& error) {
          errors[i] = error.what();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t i = 0; i < texts.size(); ++i) {
      ASSERT_EQ(errors[i], "") << i;
      EXPECT_TRUE(torch::allclose(together[i].attributions, alone[i].attributions, 1e-6, 1e-9)) << i;
      EXPECT_EQ(together[i].examples[0].report.steps, alone[i].examples[0].report.steps) << i;
      EXPECT_EQ(together[i].examples[0].dig_anchors, alone[i].examples[0].dig_anchors) << i;
    }
  }
}

TEST(Explainer, BatchedRequestsEqualTheirOwnExplanations) {
  const auto explainer = linear_explainer();
  // Three requests for the predicted class, two with a class per example, one of saliency.
  std::vector<igx::ExplainRequest> requests;
  const torch::Tensor x = torch::tensor({{1.0, 2.0, -1.0}, {-2.0, 0.5, 4.0}}, torch::kDouble);
  for (const auto& [rows, target] : std::vector<std::pair<int64_t, std::string>>{
           {1, "pred"}, {2, "pred"}, {1, "pred"}, {2, "1,0"}, {2, "0,0"}}) {
    igx::ExplainRequest request = with_options({{"steps", "8"}, {"target", target}});
    request.inputs = x.narrow(0, 0, rows) * static_cast<double>(requests.size() + 1);
    for (int64_t row = 0; row < rows; ++row) request.ids.push_back(std::to_string(requests.size()) + "." + std::to_string(row));
    requests.push_back(request);
  }
  igx::ExplainRequest other = with_options({{"method", "saliency"}});
  other.inputs = torch::ones({2, 3}, torch::kDouble);
  requests.push_back(other);
  std::vector<igx::Explanation> batched;
  for (const igx::BatchOutcome& outcome : explainer->explain_batch(requests)) {
    ASSERT_FALSE(outcome.error);
    batched.push_back(outcome.explanation);
  }
  ASSERT_EQ(batched.size(), requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const igx::Explanation own = explainer->explain(requests[r]);
    ASSERT_EQ(batched[r].examples.size(), own.examples.size()) << r;
    EXPECT_TRUE(torch::allclose(batched[r].attributions, own.attributions, 1e-12, 1e-12)) << r;
    for (size_t b = 0; b < own.examples.size(); ++b) {
      EXPECT_EQ(batched[r].examples[b].id, own.examples[b].id);
      EXPECT_EQ(batched[r].examples[b].report.target, own.examples[b].report.target);
      const double delta = own.examples[b].report.delta;  // NaN for saliency: no completeness
      if (std::isnan(delta)) EXPECT_TRUE(std::isnan(batched[r].examples[b].report.delta));
      if (!std::isnan(delta)) EXPECT_NEAR(batched[r].examples[b].report.delta, delta, 1e-12);
    }
  }
  // The requests for the predicted class ran as one engine call over four rows, 8 gradient rows
  // each; those with a class per example as another.
  EXPECT_EQ(batched[0].counts.gradient_rows, 4 * 8);
  EXPECT_EQ(batched[3].counts.gradient_rows, 4 * 8);
  EXPECT_EQ(batched[4].examples[0].report.target, 0);
  EXPECT_EQ(batched[3].examples[0].report.target, 1);

  // Texts of different lengths, padded together: the same up to rounding.
  igx::ExplainRequest short_text = with_options({{"steps", "4"}});
  short_text.texts = {"hi"};
  igx::ExplainRequest long_text = short_text;
  long_text.texts = {"claim your free cruise today, winners are waiting"};
  const std::vector<igx::BatchOutcome> texts = spam()->explain_batch({short_text, long_text});
  const igx::Explanation alone = spam()->explain(short_text);
  EXPECT_EQ(texts[0].explanation.attributions.sizes(), alone.attributions.sizes());
  EXPECT_TRUE(torch::allclose(texts[0].explanation.attributions, alone.attributions, 1e-4, 1e-6));
  EXPECT_EQ(texts[0].group, texts[1].group);
}

// A server packs whatever arrives together: a request's adaptive explanation must not depend on
// its batch-mates (their texts, lengths, number, or their errors).
TEST(Explainer, ABatchedRequestDoesNotDependOnItsBatchMates) {
  const auto request_of = [](const std::vector<std::string>& texts) {
    igx::ExplainRequest request;
    request.texts = texts;
    igx::set_explain_option(request.options, "tolerance", "0.01");
    return request;
  };
  const igx::ExplainRequest mine = request_of({"claim your FREE prize now"});
  const igx::Explanation alone = spam()->explain(mine);
  igx::ExplainRequest failing = request_of({"ok"});
  igx::set_explain_option(failing.options, "target", "5");  // no class 5: fails its own checks
  igx::ExplainRequest other_options = request_of({"hello there"});
  igx::set_explain_option(other_options.options, "tolerance", "0.05");
  const std::vector<std::vector<igx::ExplainRequest>> batches = {
      {mine},
      {request_of({"hi"}), mine},
      {mine, request_of({"urgent: verify your account password at this link today or lose access forever", "x"})},
      {request_of({"see you at lunch"}), failing, mine, other_options, request_of({"free free free"})},
  };
  for (size_t k = 0; k < batches.size(); ++k) {
    const std::vector<igx::BatchOutcome> outcomes = spam()->explain_batch(batches[k]);
    for (size_t r = 0; r < outcomes.size(); ++r) {
      if (batches[k][r].options.target) {  // `failing`
        ASSERT_TRUE(outcomes[r].error) << k;
        EXPECT_TRUE(contains(error_of([&] { std::rethrow_exception(outcomes[r].error); }), "target 5"));
        continue;
      }
      ASSERT_FALSE(outcomes[r].error) << k << " " << r;
      if (batches[k][r].texts != mine.texts) continue;
      const igx::ExampleExplanation& got = outcomes[r].explanation.examples.at(0);
      EXPECT_EQ(got.report.steps, alone.examples[0].report.steps) << k;
      EXPECT_EQ(got.report.certified, alone.examples[0].report.certified) << k;
      EXPECT_EQ(got.tokens, alone.examples[0].tokens) << k;
      EXPECT_TRUE(torch::allclose(outcomes[r].explanation.attributions, alone.attributions, 1e-4, 1e-7)) << k;
      EXPECT_NEAR(got.report.delta, alone.examples[0].report.delta, 1e-5) << k;
    }
  }
}

TEST(Explainer, ACancelledRequestStopsAndLeavesItsBatchMates) {
  igx::ExplainRequest kept;
  kept.texts = {"free cruise"};
  igx::ExplainRequest cancelled = kept;
  cancelled.texts = {"lunch at noon"};
  cancelled.cancelled = [] { return true; };
  const std::vector<igx::BatchOutcome> outcomes = spam()->explain_batch({cancelled, kept});
  ASSERT_TRUE(outcomes[0].error);
  EXPECT_THROW(std::rethrow_exception(outcomes[0].error), igx::Cancelled);
  ASSERT_FALSE(outcomes[1].error);
  EXPECT_EQ(outcomes[1].explanation.examples[0].text, "free cruise");
  // Alone, the check before every model call stops it.
  EXPECT_THROW(spam()->explain(cancelled), igx::Cancelled);
  int calls = 0;
  cancelled.cancelled = [&calls] { return ++calls > 1; };  // stop before the second model batch
  EXPECT_THROW(spam()->explain(cancelled), igx::Cancelled);
  EXPECT_EQ(calls, 2);
}

TEST(Explainer, SelectedExamplesAreRecordsOfTheirOwn) {
  igx::ExplainRequest request = with_options({{"steps", "4"}});
  request.texts = {"a much longer text than the other one here", "short"};
  request.ids = {"long", "short"};
  const igx::Explanation explanation = spam()->explain(request);
  const igx::Explanation record = igx::select_examples(explanation, 1, 1);
  ASSERT_EQ(record.examples.size(), 1u);
  EXPECT_EQ(record.examples[0].id, "short");
  EXPECT_EQ(record.attributions.size(0), 1);
  EXPECT_EQ(record.attributions.size(1), static_cast<int64_t>(record.examples[0].tokens.size()));
  const nlohmann::json json = igx::to_json(record);
  EXPECT_EQ(json["examples"].size(), 1u);
  EXPECT_EQ(json["examples"][0]["id"], "short");
  EXPECT_EQ(json["shape"][1], record.examples[0].tokens.size());
  EXPECT_TRUE(contains(error_of([&] { igx::select_examples(explanation, 1, 2); }), "not in an explanation of 2"));
  // Faithfulness reads the explanation's token scores.
  const auto scores = igx::faithfulness(spam()->text_classifier(), explanation);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].predicted, explanation.examples[0].prediction);
}

}  // namespace
