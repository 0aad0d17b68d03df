// The maximum-entropy baseline: entropies in closed form, the data form's choice, the optimised
// form's ascent within its box, and both forms on the shipped text and image models.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/max_entropy.h"
#include "shipped_mnist.h"
#include "test_support.h"

namespace {

using igx_test::contains;
using igx_test::error_of;

// Two logits, [w . x + bias, 0]: the entropy is largest (log 2) where w . x = -bias.
igx::FunctionModel two_class_linear(torch::Tensor w, double bias = 0.0) {
  return igx::FunctionModel(
      [w, bias](const torch::Tensor& x) {
        const torch::Tensor score = (x.flatten(1) * w.to(x.dtype())).sum(1) + bias;
        return torch::stack({score, torch::zeros_like(score)}, 1);
      },
      "two-class linear");
}

double binary_entropy(double p) { return -(p * std::log(p) + (1 - p) * std::log(1 - p)); }

TEST(OutputEntropy, ClosedForm) {
  const torch::Tensor outputs = torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 1.0, 1.0}, torch::kDouble).view({3, 2});
  const torch::Tensor entropy = igx::output_entropy(outputs);
  EXPECT_NEAR(entropy[0].item<double>(), std::log(2.0), 1e-15);
  EXPECT_NEAR(entropy[1].item<double>(), binary_entropy(0.75), 1e-15);
  EXPECT_NEAR(entropy[2].item<double>(), std::log(2.0), 1e-15);
  EXPECT_NEAR(igx::output_entropy(torch::zeros({1, 5}))[0].item<double>(), std::log(5.0), 1e-12);
  EXPECT_TRUE(contains(error_of([] { igx::output_entropy(torch::zeros({4, 1})); }), "[4, 1]"));
  EXPECT_TRUE(contains(error_of([] { igx::parse_max_entropy_form("best"); }), "'best'"));
  EXPECT_EQ(igx::parse_max_entropy_form("optimize"), igx::MaxEntropyForm::Optimize);
}

TEST(MostUncertain, TakesTheCandidateNearestUniformFirstAmongEquals) {
  auto model = two_class_linear(torch::tensor({1.0, 2.0}, torch::kDouble));
  // Scores 3, -0.5, 0.1, -0.1, 0.1: rows 2, 3 and 4 tie at the largest entropy.
  const torch::Tensor candidates =
      torch::tensor({1.0, 1.0, -0.5, 0.0, 0.1, 0.0, -0.1, 0.0, 0.1, 0.0}, torch::kDouble).view({5, 2});
  for (int64_t batch : {0, 1, 2}) {
    const igx::EntropyChoice choice =
        igx::most_uncertain(model, candidates, {}, igx::MaxEntropyOptions().internal_batch_size(batch));
    EXPECT_EQ(choice.index, 2) << batch;
    EXPECT_NEAR(choice.entropy, binary_entropy(1 / (1 + std::exp(-0.1))), 1e-14);
    EXPECT_NEAR(choice.outputs[0].item<double>(), 0.1, 1e-15);
  }
  // Extra inputs given for one row reach every candidate: shifted by 0.5, the scores are 1.5, 0,
  // 0.6, 0.4, 0.6.
  igx::FunctionModel shifted(
      [](const torch::Tensor& x, const igx::ExtraInputs& extras) {
        const torch::Tensor score = x.select(1, 0) + extras[0].to(x.dtype());
        return torch::stack({score, torch::zeros_like(score)}, 1);
      },
      "shifted");
  EXPECT_EQ(igx::most_uncertain(shifted, candidates, {torch::tensor({0.5})}).index, 1);
  EXPECT_TRUE(contains(error_of([&] { igx::most_uncertain(model, torch::zeros({0, 2})); }), "at least one"));
}

TEST(MaximizeEntropy, ReachesUniformInsideTheBoxMovingOnlyWhatMayMove) {
  auto model = two_class_linear(torch::tensor({1.0, 1.0, 1.0}, torch::kDouble));
  // Example 0 starts at score 2, example 1 at -1.5; the last entry of each may not move.
  const torch::Tensor start = torch::tensor({1.0, 0.5, 0.5, -0.5, -0.5, -0.5}, torch::kDouble).view({2, 3});
  const torch::Tensor movable = torch::tensor({true, true, false}).view({1, 3});
  const auto result = igx::maximize_entropy(model, start, torch::full({1}, -1.0), torch::full({1}, 1.0), movable, {},
                                            igx::MaxEntropyOptions().step_size(0.01).entropy_gap(1e-4));
  EXPECT_NEAR(result.max_entropy, std::log(2.0), 1e-15);
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_GE(result.entropy[b], std::log(2.0) - 1e-4) << b;
    EXPECT_LT(result.chosen[b], 300) << b;  // reached before the last iteration
    EXPECT_EQ(result.baseline[b][2].item<double>(), start[b][2].item<double>());
    EXPECT_NEAR(result.baseline[b].sum().item<double>(), 0.0, 0.03);  // the score is ~0: gap = score^2 / 8
    EXPECT_NEAR(result.outputs[b][0].item<double>(), result.baseline[b].sum().item<double>(), 1e-12);
  }
  EXPECT_TRUE(result.baseline.abs().le(1.0).all().item<bool>());
}

TEST(MaximizeEntropy, StopsAtTheBoxWhenUniformIsOutOfReach) {
  // Score x + 5 with x in [0, 1]: the entropy grows as x falls, and x = 0 is the best in reach.
  auto model = two_class_linear(torch::tensor({1.0}, torch::kDouble), 5.0);
  const auto result = igx::maximize_entropy(model, torch::full({1, 1}, 0.2, torch::kDouble), torch::zeros({1}),
                                            torch::ones({1}), {}, {}, igx::MaxEntropyOptions().max_iterations(400));
  EXPECT_EQ(result.baseline.item<double>(), 0.0);
  EXPECT_NEAR(result.entropy[0], binary_entropy(1 / (1 + std::exp(-5.0))), 1e-12);
  EXPECT_EQ(result.chosen[0], 400);  // never within the gap
}

class ShippedText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::TextClassifier>(
        igx::TextClassifier::load(std::string(IGX_SOURCE_DIR) + "/models/spam-transformer"));
  }
  static void TearDownTestSuite() { classifier_.reset(); }
  static inline std::unique_ptr<igx::TextClassifier> classifier_;
};

TEST_F(ShippedText, DataFormPutsTheMostUncertainCandidateInTheTextsPlace) {
  igx::TextClassifier& classifier = *classifier_;
  const igx::TextBatch batch = classifier.encode({"win a free cruise now, click here", "see you at the meeting"});
  const std::vector<std::string> candidates = {"cheap meds online", "the minutes of monday's call are attached",
                                               "hello", "free money free money free money free money"};
  const auto result = igx::max_entropy_text_baseline(classifier, batch, igx::MaxEntropyForm::Data, candidates);
  const torch::Tensor ordinary = classifier.ordinary_tokens(batch);
  const igx::TextBatch encoded = classifier.encode(candidates);
  const torch::Tensor pieces = classifier.ordinary_tokens(encoded);
  for (int64_t b = 0; b < 2; ++b) {
    // Every candidate put in text b's place, by hand, and its entropy.
    std::vector<double> entropies;
    torch::Tensor best_ids;
    for (int64_t k = 0; k < 4; ++k) {
      const torch::Tensor own = encoded.ids[k].masked_select(pieces[k]);
      torch::Tensor ids = batch.ids[b].clone();
      int64_t j = 0;
      for (int64_t t = 0; t < ids.size(0); ++t) {
        if (!ordinary[b][t].item<bool>()) continue;
        ids[t] = j < own.numel() ? own[j].item<int64_t>() : classifier.tokenizer().pad_id();
        ++j;
      }
      const torch::Tensor logits = classifier.logits(ids.unsqueeze(0), batch.mask[b].unsqueeze(0));
      entropies.push_back(igx::output_entropy(logits)[0].item<double>());
      if (k == result.chosen[b]) best_ids = ids;
    }
    ASSERT_TRUE(best_ids.defined());
    EXPECT_EQ(*std::max_element(entropies.begin(), entropies.end()), entropies[result.chosen[b]]);
    EXPECT_NEAR(result.entropy[b], entropies[result.chosen[b]], 1e-5);
    EXPECT_TRUE(torch::allclose(result.baseline[b], classifier.embed(best_ids.unsqueeze(0))[0]));
  }
  EXPECT_TRUE(contains(error_of([&] { igx::max_entropy_text_baseline(classifier, batch, igx::MaxEntropyForm::Data); }),
                       "candidate texts"));
}

TEST_F(ShippedText, OptimizeFormRaisesTheEntropyWithinTheVocabularyBox) {
  igx::TextClassifier& classifier = *classifier_;
  const igx::TextBatch batch = classifier.encode({"URGENT: claim your prize money today", "lunch tomorrow?"});
  const auto options = igx::MaxEntropyOptions().max_iterations(150);
  const auto result = igx::max_entropy_text_baseline(classifier, batch, igx::MaxEntropyForm::Optimize, {}, options);
  const torch::Tensor pad = classifier.baseline_embeddings(batch, igx::TextBaseline::Pad);
  const torch::Tensor pad_entropy =
      igx::output_entropy(classifier.embedding_model().forward(pad, {batch.mask}).detach());
  const torch::Tensor vocabulary = classifier.embedding_matrix();
  const torch::Tensor low = std::get<0>(vocabulary.min(0)), high = std::get<0>(vocabulary.max(0));
  const torch::Tensor ordinary = classifier.ordinary_tokens(batch);
  const torch::Tensor recomputed =
      igx::output_entropy(classifier.embedding_model().forward(result.baseline, {batch.mask}).detach());
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_GE(result.entropy[b], pad_entropy[b].item<double>());
    EXPECT_GE(result.entropy[b], std::log(2.0) - 1e-6) << "within the default gap of log 2";
    EXPECT_LT(result.chosen[b], 150);
    EXPECT_NEAR(result.entropy[b], recomputed[b].item<double>(), 1e-5);
    for (int64_t t = 0; t < batch.ids.size(1); ++t) {
      const torch::Tensor row = result.baseline[b][t];
      if (ordinary[b][t].item<bool>()) {
        EXPECT_TRUE(row.ge(low).logical_and(row.le(high)).all().item<bool>()) << t;
      } else {
        EXPECT_TRUE(torch::equal(row, pad[b][t])) << t;  // [CLS], [SEP], padding stay
      }
    }
  }
}

class MaxEntropyImage : public igx_test::ShippedMnist {};

TEST_F(MaxEntropyImage, BothFormsOnTheShippedDigits) {
  igx::ImageClassifier& classifier = *classifier_;
  const torch::Tensor pixels = torch::cat({digit(3), digit(7)});
  std::vector<torch::Tensor> pool = {torch::zeros({1, 1, 28, 28})};
  for (int label = 0; label < 10; ++label) pool.push_back(digit(label));
  const torch::Tensor candidates = torch::cat(pool);
  const auto data = igx::max_entropy_image_baseline(classifier, pixels, igx::MaxEntropyForm::Data, candidates);
  const torch::Tensor entropies = igx::output_entropy(classifier.model().forward(candidates, {}).detach());
  EXPECT_EQ(data.chosen[0], entropies.argmax().item<int64_t>());
  EXPECT_EQ(data.chosen[1], data.chosen[0]);
  EXPECT_NEAR(data.entropy[0], entropies.max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::equal(data.baseline[1], candidates[data.chosen[0]]));
  EXPECT_NEAR(data.max_entropy, std::log(10.0), 1e-12);

  const auto optimized = igx::max_entropy_image_baseline(classifier, pixels, igx::MaxEntropyForm::Optimize, {},
                                                         igx::MaxEntropyOptions().max_iterations(40));
  const double black = entropies[0].item<double>();
  for (int64_t b = 0; b < 2; ++b) EXPECT_GT(optimized.entropy[b], black);
  EXPECT_TRUE(optimized.baseline.ge(0).logical_and(optimized.baseline.le(1)).all().item<bool>());
  EXPECT_TRUE(contains(error_of([&] {
                         igx::max_entropy_image_baseline(classifier, pixels, igx::MaxEntropyForm::Data,
                                                         torch::zeros({3, 28, 28}));
                       }),
                       "[3, 28, 28]"));
}

}  // namespace
