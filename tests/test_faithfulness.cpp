// Faithfulness metrics on a hand-made classifier whose probabilities can be written down: a
// bag of words whose weights grow with the position, so that deleting (which renumbers the
// positions) and replacing by [PAD] (which does not) differ.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/faithfulness.h"
#include "test_support.h"

namespace {

using igx_test::contains;
using igx_test::error_of;

constexpr int kPad = 0, kCls = 2, kSep = 3;

// Word weights: [PAD] 0, [CLS] 0.2, [SEP] -0.1, words 5..9.
double weight_of(int64_t id) {
  switch (id) {
    case kPad: return 0.0;
    case kCls: return 0.2;
    case kSep: return -0.1;
    case 5: return 1.0;
    case 6: return -0.5;
    case 7: return 0.8;
    case 8: return 0.3;
    case 9: return -1.2;
    default: return 0.0;
  }
}

// Logits (0, sum_t weight(id_t) (1 + t / 10)) over the attended tokens.
double spam_logit(const std::vector<int64_t>& sequence) {
  double logit = 0.0;
  for (size_t t = 0; t < sequence.size(); ++t) logit += weight_of(sequence[t]) * (1.0 + 0.1 * static_cast<double>(t));
  return logit;
}

torch::Tensor classify(const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::Tensor logits = torch::zeros({ids.size(0), 2}, torch::kDouble);
  for (int64_t b = 0; b < ids.size(0); ++b) {
    std::vector<int64_t> sequence;
    for (int64_t t = 0; t < ids.size(1); ++t) sequence.push_back(mask[b][t].item<int64_t>() ? ids[b][t].item<int64_t>() : kPad);
    logits[b][1] = spam_logit(sequence);
  }
  return logits;
}

// p(class | sequence) of the hand-made classifier.
double probability(const std::vector<int64_t>& sequence, int64_t label) {
  const double spam = 1.0 / (1.0 + std::exp(-spam_logit(sequence)));
  return label == 1 ? spam : 1.0 - spam;
}

TEST(TopTokens, FloorOfThePercentHighestFirstEarlierOnTies) {
  const torch::Tensor scores = torch::tensor({9.0, 0.5, 0.9, 0.5, -1.0, 9.0}, torch::kDouble);
  const torch::Tensor rankable = torch::tensor({false, true, true, true, true, false});
  EXPECT_EQ(igx::top_tokens(scores, rankable, 50.0), (std::vector<int64_t>{2, 1}));        // 4 tokens: 2
  EXPECT_EQ(igx::top_tokens(scores, rankable, 100.0), (std::vector<int64_t>{2, 1, 3, 4}));
  EXPECT_TRUE(igx::top_tokens(scores, rankable, 20.0).empty());                            // floor(0.8) = 0
  EXPECT_TRUE(contains(error_of([&] { igx::top_tokens(scores, rankable, 0.0); }), "outside (0, 100]"));
}

TEST(Faithfulness, DefinitionsOnAHandMadeClassifier) {
  // [CLS] 5 6 7 8 9 [SEP], then padding; scores rank 5 > 7 > 8 > 6 > 9.
  const torch::Tensor ids = torch::tensor({kCls, 5, 6, 7, 8, 9, kSep, kPad}, torch::kLong).view({1, 8});
  const torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1, 1, 1, 0}, torch::kLong).view({1, 8});
  const torch::Tensor rankable = torch::tensor({false, true, true, true, true, true, false, false}).view({1, 8});
  const torch::Tensor scores = torch::tensor({0.0, 0.9, -0.2, 0.5, 0.1, -0.7, 0.0, 3.0}, torch::kDouble).view({1, 8});
  const auto results = igx::faithfulness(classify, ids, mask, rankable, scores, kPad, igx::FaithfulnessOptions().batch_size(3));
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results[0];

  const std::vector<int64_t> input{kCls, 5, 6, 7, 8, 9, kSep};
  const int64_t label = spam_logit(input) > 0 ? 1 : 0;
  const double p = probability(input, label);
  EXPECT_EQ(r.predicted, label);
  EXPECT_NEAR(r.probability, p, 1e-12);
  // 20 % of 5 tokens is 1: word 5 (position 1).
  EXPECT_NEAR(r.log_odds, std::log(probability({kCls, kPad, 6, 7, 8, 9, kSep}, label)) - std::log(p), 1e-12);
  EXPECT_NEAR(r.comprehensiveness, p - probability({kCls, 6, 7, 8, 9, kSep}, label), 1e-12);
  EXPECT_NEAR(r.sufficiency, p - probability({kCls, 5, kSep}, label), 1e-12);
  // AOPC over 1, 5, 10, 20, 50 %: 0, 0, 0, 1 and 2 tokens removed.
  const double two_deleted = p - probability({kCls, 6, 8, 9, kSep}, label);
  const double two_kept = p - probability({kCls, 5, 7, kSep}, label);
  EXPECT_NEAR(r.aopc_comprehensiveness, (r.comprehensiveness + two_deleted) / 5.0, 1e-12);
  EXPECT_NEAR(r.aopc_sufficiency, (r.sufficiency + two_kept) / 5.0, 1e-12);
}

TEST(Faithfulness, BatchedEqualsAloneAndNothingRemovedScoresZero) {
  const torch::Tensor ids = torch::tensor({kCls, 5, 6, 7, 8, 9, kSep, kCls, 9, kSep, kPad, kPad, kPad, kPad},
                                          torch::kLong).view({2, 7});
  const torch::Tensor mask = ids.ne(kPad).to(torch::kLong);
  const torch::Tensor rankable = mask.to(torch::kBool).logical_and(ids.ne(kCls)).logical_and(ids.ne(kSep));
  const torch::Tensor scores = torch::tensor({0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0},
                                             torch::kDouble).view({2, 7});
  const auto together = igx::faithfulness(classify, ids, mask, rankable, scores, kPad);
  const auto first = igx::faithfulness(classify, ids.narrow(0, 0, 1), mask.narrow(0, 0, 1), rankable.narrow(0, 0, 1),
                                       scores.narrow(0, 0, 1), kPad);
  EXPECT_NEAR(together[0].comprehensiveness, first[0].comprehensiveness, 1e-12);
  EXPECT_NEAR(together[0].aopc_sufficiency, first[0].aopc_sufficiency, 1e-12);
  // One ordinary token: 20 % of it is none, 50 % too, so nothing is ever removed.
  EXPECT_EQ(together[1].log_odds, 0.0);
  EXPECT_EQ(together[1].comprehensiveness, 0.0);
  EXPECT_EQ(together[1].sufficiency, 0.0);
  EXPECT_EQ(together[1].aopc_comprehensiveness, 0.0);
}

TEST(Faithfulness, RejectsMismatchedInput) {
  const torch::Tensor ids = torch::tensor({kCls, 5, kSep}, torch::kLong).view({1, 3});
  const torch::Tensor mask = torch::ones({1, 3}, torch::kLong);
  const torch::Tensor rankable = torch::tensor({false, true, false}).view({1, 3});
  EXPECT_TRUE(contains(error_of([&] {
                         igx::faithfulness(classify, ids, mask, rankable, torch::zeros({1, 4}, torch::kDouble), kPad);
                       }),
                       "token scores has shape [1, 4]"));
  EXPECT_TRUE(contains(error_of([&] {
                         igx::faithfulness(classify, ids, mask, rankable, torch::zeros({1, 3}, torch::kDouble), kPad,
                                           igx::FaithfulnessOptions().percent(150));
                       }),
                       "150"));
}

}  // namespace
