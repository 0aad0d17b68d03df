// Discretized IG: nearest-neighbour lists, the Greedy and MaxCount rules on a hand-made
// vocabulary, monotone paths through real words, and completeness up to the reported error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "igx/dig.h"
#include "igx/igx.h"
#include "igx/text.h"
#include "test_support.h"

namespace {

using igx::AnchorStrategy;
using igx::DigOptions;
using igx_test::contains;
using igx_test::error_of;

torch::Tensor doubles(const std::vector<double>& values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).view(shape);
}

torch::Tensor ids_of(const std::vector<int64_t>& ids, int64_t rows = 1) {
  return torch::tensor(ids, torch::kLong).view({rows, -1});
}

torch::Tensor all_moving(const torch::Tensor& ids) { return torch::ones(ids.sizes(), torch::kBool); }

// The neighbours of `word` by direct float64 distances, ties by id.
std::vector<int64_t> brute_force_neighbours(const torch::Tensor& vocabulary, int64_t word, int64_t count) {
  const torch::Tensor distances = (vocabulary.to(torch::kDouble) - vocabulary[word].to(torch::kDouble)).pow(2).sum(1);
  std::vector<int64_t> order(static_cast<size_t>(vocabulary.size(0)));
  std::iota(order.begin(), order.end(), 0);
  const double* d = distances.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return d[a] < d[b]; });
  order.erase(std::find(order.begin(), order.end(), word));
  order.resize(static_cast<size_t>(count));
  return order;
}

TEST(NeighbourIndex, NearestOtherWordsNearestFirstEqualDistancesById) {
  // Words on a line at 0, 1, 3, 7, -1, and word 5 at 1 again.
  igx::NeighbourIndex index(doubles({0, 1, 3, 7, -1, 1}, {6, 1}), 3);
  EXPECT_EQ(index.of(0), (std::vector<int64_t>{1, 4, 5}));  // all at distance 1
  EXPECT_EQ(index.of(1), (std::vector<int64_t>{5, 0, 2}));  // 0, 1, then 2 before 4 (both 2)
  EXPECT_EQ(index.of(3), (std::vector<int64_t>{2, 1, 5}));
  EXPECT_EQ(index.known(), 3);
  igx::NeighbourIndex everyone(doubles({0, 1, 3, 7, -1, 1}, {6, 1}), 10);  // more than exist
  EXPECT_EQ(everyone.of(2), (std::vector<int64_t>{1, 5, 0, 3, 4}));
}

TEST(NeighbourIndex, OnDemandEqualsPrecomputedEqualsBruteForce) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const torch::Tensor vocabulary = torch::randn({300, 8}, generator, torch::kFloat);
  igx::NeighbourIndex all(vocabulary, 20), on_demand(vocabulary, 20);
  all.prepare_all();
  EXPECT_EQ(all.known(), 300);
  on_demand.prepare({7, 7, 299, 0});
  EXPECT_EQ(on_demand.known(), 3);
  for (int64_t word : {299, 0, 150, 7, 42}) {
    EXPECT_EQ(on_demand.of(word), all.of(word)) << word;
    EXPECT_EQ(all.of(word), brute_force_neighbours(vocabulary, word, 20)) << word;
  }
}

TEST(NeighbourIndex, ExactOrderWhereTheFloat32ScreenCannotTellDistancesApart) {
  // Word 0 at the origin; words 1..10 at squared distances 100 + (10 - id) 1e-9 from it, which
  // float32 cannot tell apart; 2000 more words far away, so that the screen's sampled threshold
  // runs. The exact order is by id, backwards.
  std::vector<double> values = {0, 0};
  for (int64_t id = 1; id <= 10; ++id) {
    values.push_back(std::sqrt(100 + static_cast<double>(10 - id) * 1e-9));
    values.push_back(0);
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const torch::Tensor far = torch::rand({2000, 2}, generator, torch::kDouble) * 100 + 1000;
  const torch::Tensor vocabulary = torch::cat({doubles(values, {11, 2}), far});
  igx::NeighbourIndex index(vocabulary, 5);
  EXPECT_EQ(index.of(0), (std::vector<int64_t>{10, 9, 8, 7, 6}));
  for (int64_t word : {1, 11, 700, 2010}) EXPECT_EQ(index.of(word), brute_force_neighbours(vocabulary, word, 5)) << word;
}

TEST(NeighbourIndex, LargeVocabularyEqualsBruteForce) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  const torch::Tensor vocabulary = torch::randn({3000, 16}, generator, torch::kFloat);
  igx::NeighbourIndex index(vocabulary, 12);
  index.prepare({0, 1, 2999, 1234, 77});
  for (int64_t word : {0, 1, 2999, 1234, 77}) {
    EXPECT_EQ(index.of(word), brute_force_neighbours(vocabulary, word, 12)) << word;
  }
}

TEST(NeighbourIndex, ExactWhereTheFloat32ScreenIsNoise) {
  // Every word is 1000 + 0.01 noise in 16 dimensions: squared norms near 1.6e7, where float32's
  // spacing is 1 and the squared distances are near 0.003, so the screened values are mostly
  // rounding error. The sampled threshold then leaves out words that are among the nearest;
  // the screen's error bound must bring them back.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const torch::Tensor vocabulary = torch::randn({3000, 16}, generator, torch::kDouble) * 0.01 + 1000;
  igx::NeighbourIndex index(vocabulary, 8);
  index.prepare({0, 5, 1500, 2999});
  for (int64_t word : {0, 5, 1500, 2999}) EXPECT_EQ(index.of(word), brute_force_neighbours(vocabulary, word, 8)) << word;
}

TEST(NeighbourIndex, RejectsBadInput) {
  EXPECT_TRUE(contains(error_of([] { igx::NeighbourIndex(torch::zeros({5}), 2); }), "[5]"));
  EXPECT_TRUE(contains(error_of([] { igx::NeighbourIndex(torch::zeros({5, 2}, torch::kLong), 2); }), "Long"));
  EXPECT_TRUE(contains(error_of([] { igx::NeighbourIndex(torch::zeros({5, 2}), 0); }), "got 0"));
  igx::NeighbourIndex index(torch::zeros({5, 2}), 2);
  EXPECT_TRUE(contains(error_of([&] { index.of(5); }), "word id 5"));
}

// Word 0 is the baseline (the origin), word 1 the input w = (4, 4, 4). Its neighbours: Q =
// (4.1, 4.1, 3) at distance 1.01, P = (3, 3, 5) at 1.73. With m = 10 a non-monotone dimension
// moves to 4 - 4/10 = 3.6. Q' = (3.6, 3.6, 3) is 0.71 from Q with 1 monotone dimension;
// P' = (3, 3, 3.6) is 1.4 from P with 2. Greedy takes Q, MaxCount P; after the other of the two
// no candidate is left (w is on the path, the baseline is never a candidate) and the path goes
// to the baseline.
class HandMadeVocabulary : public ::testing::Test {
 protected:
  const torch::Tensor vocabulary = doubles({0, 0, 0, 4, 4, 4, 3, 3, 5, 4.1, 4.1, 3, 9, 9, 9}, {5, 3});
  static constexpr int64_t kBaseline = 0, kW = 1, kP = 2, kQ = 3, kStays = 4;
  DigOptions options(AnchorStrategy strategy) const { return DigOptions().strategy(strategy).anchors(10).neighbours(3); }
};

TEST_F(HandMadeVocabulary, GreedyTakesTheCandidateNearestItsMonotonizedVector) {
  igx::NeighbourIndex index(vocabulary, 3);
  EXPECT_EQ(index.of(kW), (std::vector<int64_t>{kQ, kP, kBaseline}));
  const torch::Tensor ids = ids_of({kStays, kW});
  const auto paths = igx::build_dig_paths(index, ids, torch::tensor({false, true}).view({1, 2}), kBaseline,
                                          options(AnchorStrategy::Greedy));
  std::vector<int64_t> expected{kQ, kP};
  expected.resize(10, kBaseline);
  EXPECT_EQ(paths[0].anchors[1], expected);
  EXPECT_TRUE(paths[0].anchors[0].empty());
  const torch::Tensor points = paths[0].points.select(1, 1);  // the moving token, [12, 3]
  ASSERT_EQ(paths[0].points.sizes(), (std::vector<int64_t>{12, 2, 3}));
  EXPECT_TRUE(torch::equal(points[11], vocabulary[kW]));
  EXPECT_TRUE(torch::allclose(points[10], doubles({3.6, 3.6, 3}, {3}), 0, 1e-15));
  // From Q' = (3.6, 3.6, 3), P's third dimension moves 1/10 of the way: 3 - 0.3.
  EXPECT_TRUE(torch::allclose(points[9], doubles({3, 3, 2.7}, {3}), 0, 1e-15));
  for (int64_t k = 0; k < 9; ++k) EXPECT_TRUE(torch::equal(points[k], vocabulary[kBaseline])) << k;
  for (int64_t k = 0; k < 12; ++k) EXPECT_TRUE(torch::equal(paths[0].points[k][0], vocabulary[kStays])) << k;
}

TEST_F(HandMadeVocabulary, MaxCountTakesTheCandidateWithTheMostMonotoneDimensions) {
  igx::NeighbourIndex index(vocabulary, 3);
  const auto paths = igx::build_dig_paths(index, ids_of({kW}), all_moving(ids_of({kW})), kBaseline,
                                          options(AnchorStrategy::MaxCount));
  std::vector<int64_t> expected{kP, kQ};
  expected.resize(10, kBaseline);
  EXPECT_EQ(paths[0].anchors[0], expected);
  const torch::Tensor points = paths[0].points.select(1, 0);
  EXPECT_TRUE(torch::allclose(points[10], doubles({3, 3, 3.6}, {3}), 0, 1e-15));
  EXPECT_TRUE(torch::allclose(points[9], doubles({2.7, 2.7, 3}, {3}), 0, 1e-15));
}

TEST_F(HandMadeVocabulary, AttributionOfALinearModelIsExact) {
  // F_c(x) = sum_t a_{c,t} . x_t: the left sum telescopes, so DIG = a (.) (x - x') exactly.
  const torch::Tensor weight = doubles({1, -2, 0.5, 3, 0.25, -1, 0, 1, 2, -1, 1, 1}, {2, 2, 3});
  igx::FunctionModel model([weight](const torch::Tensor& x) { return torch::einsum("btd,ctd->bc", {x, weight}); },
                           "linear");
  igx::NeighbourIndex index(vocabulary, 3);
  const torch::Tensor ids = ids_of({kW, kP});
  const auto result = igx::discretized_integrated_gradients(model, index, ids, all_moving(ids), kBaseline,
                                                            options(AnchorStrategy::Greedy).target(igx::Target::index(1)));
  const torch::Tensor inputs = vocabulary.index_select(0, ids[0]);
  const torch::Tensor baselines = vocabulary[kBaseline].expand_as(inputs);
  EXPECT_TRUE(torch::allclose(result.values[0], weight[1] * (inputs - baselines), 0, 1e-12));
  const auto& report = result.examples[0];
  EXPECT_EQ(report.target, 1);
  EXPECT_NEAR(report.output_input, (weight[1] * inputs).sum().item<double>(), 1e-12);
  EXPECT_NEAR(report.output_baseline, (weight[1] * baselines).sum().item<double>(), 1e-12);
  EXPECT_NEAR(report.delta, 0.0, 1e-12);
  ASSERT_TRUE(report.error_bound.has_value());
  EXPECT_NEAR(*report.error_bound, 0.0, 1e-12);
  EXPECT_EQ(report.steps, 12);
  EXPECT_FALSE(report.certified.has_value());
}

// Where the two scores choose differently. Word 0 is the baseline b = (0, 0), word 1 the input
// w = (4, 10); K = 2, m = 2 (a non-monotone dimension moves half way). The neighbours of w are
// X = (5, 12) and A = (-1, 9); A wins (one monotone dimension against none) and the first
// point is A monotonized, p = (2, 9). The neighbours of A are C = (-0.5, 5) and D = (1.5, 5).
// Scored against the word A (bounds [-1, 0] x [0, 9]), C is monotone in both dimensions and D
// in one; scored against the point p (bounds [0, 2] x [0, 9]), the other way round. The
// authors' monotonic_paths.py, run on this vocabulary with kneighbors_graph(V, 2), returns the
// word path [w, A, C] and the points (4, 10), (2, 9), (1, 5), (0, 0) for both strategies.
class ScoreChoosesTheAnchor : public ::testing::Test {
 protected:
  const torch::Tensor vocabulary = doubles({0, 0, 4, 10, -1, 9, 5, 12, -0.5, 5, 1.5, 5}, {6, 2});
  static constexpr int64_t kBaseline = 0, kW = 1, kA = 2, kX = 3, kC = 4, kD = 5;
  std::vector<igx::DigPath> paths(AnchorStrategy strategy, igx::AnchorScore score) const {
    igx::NeighbourIndex index(vocabulary, 2);
    EXPECT_EQ(index.of(kW), (std::vector<int64_t>{kX, kA}));
    EXPECT_EQ(index.of(kA), (std::vector<int64_t>{kC, kD}));
    return igx::build_dig_paths(index, ids_of({kW}), all_moving(ids_of({kW})), kBaseline,
                                DigOptions().strategy(strategy).score(score).anchors(2).neighbours(2));
  }
};

TEST_F(ScoreChoosesTheAnchor, WordScoreGivesTheReferenceAnchorsAndPoints) {
  EXPECT_EQ(DigOptions().score(), igx::AnchorScore::Word);  // the reference's rule is the default
  for (auto strategy : {AnchorStrategy::Greedy, AnchorStrategy::MaxCount}) {
    const auto path = paths(strategy, igx::AnchorScore::Word);
    EXPECT_EQ(path[0].anchors[0], (std::vector<int64_t>{kA, kC})) << igx::anchor_strategy_name(strategy);
    EXPECT_TRUE(torch::equal(path[0].points.select(1, 0), doubles({0, 0, 1, 5, 2, 9, 4, 10}, {4, 2})));
  }
}

TEST_F(ScoreChoosesTheAnchor, PointScoreTakesTheOtherWord) {
  for (auto strategy : {AnchorStrategy::Greedy, AnchorStrategy::MaxCount}) {
    const auto path = paths(strategy, igx::AnchorScore::Point);
    EXPECT_EQ(path[0].anchors[0], (std::vector<int64_t>{kA, kD})) << igx::anchor_strategy_name(strategy);
    // D is monotone against p, so the path passes through it.
    EXPECT_TRUE(torch::equal(path[0].points.select(1, 0), doubles({0, 0, 1.5, 5, 2, 9, 4, 10}, {4, 2})));
  }
  EXPECT_EQ(igx::parse_anchor_score("point"), igx::AnchorScore::Point);
  EXPECT_EQ(igx::anchor_score_name(igx::AnchorScore::Word), "word");
  EXPECT_TRUE(contains(error_of([] { igx::parse_anchor_score("anchor"); }), "'anchor'"));
}

// A random vocabulary and a non-linear model with interactions between tokens.
class RandomVocabulary : public ::testing::Test {
 protected:
  void SetUp() override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
    vocabulary = torch::randn({300, 8}, generator, torch::kFloat);
    ids = torch::randint(1, 300, {3, 6}, generator, torch::kLong);
    moving = torch::ones({3, 6}, torch::kBool);
    moving.select(1, 0).fill_(false);  // a [CLS]-like first token stays
    mixing = torch::randn({8, 8}, generator, torch::kFloat) * 0.5;
  }
  igx::FunctionModel model() const {
    const torch::Tensor w = mixing;
    return igx::FunctionModel(
        [w](const torch::Tensor& x) {
          const torch::Tensor pooled = torch::tanh(torch::matmul(x, w.to(x.dtype()))).mean(1);  // [B, 8]
          return torch::stack({pooled.sum(1), pooled.select(1, 0) * pooled.select(1, 1) + pooled.select(1, 2)}, 1);
        },
        "mixer");
  }
  torch::Tensor vocabulary, ids, moving, mixing;
  static constexpr int64_t kBaseline = 0;
};

TEST_F(RandomVocabulary, EveryPointIsMonotoneBetweenBaselineAndInput) {
  igx::NeighbourIndex index(vocabulary, 40);
  for (auto strategy : {AnchorStrategy::Greedy, AnchorStrategy::MaxCount}) {
    const auto options = DigOptions().strategy(strategy).neighbours(40).anchors(30);
    const auto paths = igx::build_dig_paths(index, ids, moving, kBaseline, options);
    const auto upscaled = igx::build_dig_paths(index, ids, moving, kBaseline, DigOptions(options).upscale(3));
    for (int64_t b = 0; b < 3; ++b) {
      const torch::Tensor points = paths[b].points;  // [32, 6, 8]
      ASSERT_EQ(points.size(0), 32);
      const torch::Tensor input = points[31];
      EXPECT_TRUE(torch::equal(input, vocabulary.index_select(0, ids[b])));
      torch::Tensor baseline = vocabulary[kBaseline].expand_as(input).clone();
      baseline[0] = input[0];
      EXPECT_TRUE(torch::equal(points[0], baseline));
      const torch::Tensor low = torch::minimum(baseline, input), high = torch::maximum(baseline, input);
      // Every point between baseline and input, and each one between the previous one and the input.
      EXPECT_TRUE(points.ge(low).logical_and(points.le(high)).all().item<bool>());
      const torch::Tensor previous = points.narrow(0, 0, 31), following = points.narrow(0, 1, 31);
      EXPECT_TRUE(following.ge(torch::minimum(previous, input)).logical_and(following.le(torch::maximum(previous, input)))
                      .all().item<bool>());
      // Upscaling inserts points: every third point of the upscaled path is the path's.
      ASSERT_EQ(upscaled[b].points.size(0), 31 * 3 + 1);
      EXPECT_TRUE(torch::equal(upscaled[b].points.slice(0, 0, 94, 3), points));
      const torch::Tensor fine = upscaled[b].points;
      EXPECT_TRUE(fine.ge(low).logical_and(fine.le(high)).all().item<bool>());

      for (int64_t t = 1; t < 6; ++t) {
        const std::vector<int64_t>& anchors = paths[b].anchors[t];
        ASSERT_EQ(anchors.size(), 30u);
        const int64_t word = ids[b][t].item<int64_t>();
        for (size_t j = 0; j < anchors.size(); ++j) {
          // Anchors are vocabulary words, never the input word, each at most once.
          ASSERT_GE(anchors[j], 0);
          ASSERT_LT(anchors[j], 300);
          EXPECT_NE(anchors[j], word);
          if (anchors[j] != kBaseline) EXPECT_EQ(std::count(anchors.begin(), anchors.end(), anchors[j]), 1);
          // The path goes through the anchor word in every dimension where that is monotone.
          const torch::Tensor point = points[30 - static_cast<int64_t>(j)][t];
          const torch::Tensor before = points[31 - static_cast<int64_t>(j)][t];
          const torch::Tensor anchor = vocabulary[anchors[j]];
          const torch::Tensor monotone = anchor.ge(torch::minimum(before, baseline[t]))
                                             .logical_and(anchor.le(torch::maximum(before, baseline[t])));
          EXPECT_TRUE(torch::equal(point.masked_select(monotone), anchor.masked_select(monotone)));
        }
      }
    }
  }
}

TEST_F(RandomVocabulary, AttributionsSumToTheOutputGapUpToTheReportedError) {
  auto model = this->model();
  igx::NeighbourIndex index(vocabulary, 40);
  std::vector<double> bounds;
  for (int64_t upscale : {1, 4}) {
    const auto options = DigOptions().neighbours(40).anchors(20).upscale(upscale).internal_batch_size(17);
    const auto result = igx::discretized_integrated_gradients(model, index, ids, moving, kBaseline, options);
    double bound_sum = 0.0;
    for (int64_t b = 0; b < 3; ++b) {
      const auto& report = result.examples[b];
      ASSERT_TRUE(report.relative_error.has_value());
      ASSERT_TRUE(report.error_bound.has_value());
      EXPECT_NEAR(report.attribution_sum, result.values[b].sum().item<double>(), 1e-4);
      EXPECT_NEAR(report.delta, report.attribution_sum - (report.output_input - report.output_baseline), 1e-12);
      // |delta| = |sum of the segments' errors| <= the sum of their absolute values.
      EXPECT_LE(*report.relative_error, *report.error_bound + 1e-9);
      EXPECT_EQ(report.steps, 21 * upscale + 1);
      // The fixed target is the class predicted at the input.
      const torch::Tensor input = vocabulary.index_select(0, ids[b]).unsqueeze(0);
      EXPECT_EQ(report.target, model.forward(input, {}).argmax(1).item<int64_t>());
      EXPECT_NEAR(report.output_input, model.forward(input, {})[0][report.target].item<double>(), 1e-6);
      // Tokens that stay get nothing.
      EXPECT_EQ(result.values[b][0].abs().sum().item<double>(), 0.0);
      bound_sum += *report.error_bound;
    }
    bounds.push_back(bound_sum);
  }
  EXPECT_LT(bounds[1], bounds[0]);  // smaller segments, smaller left-sum error
}

TEST_F(RandomVocabulary, BatchedSequencesEqualEachAlone) {
  igx::NeighbourIndex index(vocabulary, 40);
  const auto options = DigOptions().neighbours(40).anchors(10).strategy(AnchorStrategy::MaxCount);
  const auto together = igx::build_dig_paths(index, ids, moving, kBaseline, options);
  for (int64_t b = 0; b < 3; ++b) {
    const auto alone = igx::build_dig_paths(index, ids.narrow(0, b, 1), moving.narrow(0, b, 1), kBaseline, options);
    EXPECT_TRUE(torch::equal(alone[0].points, together[b].points));
    EXPECT_EQ(alone[0].anchors, together[b].anchors);
  }
}

TEST(DigErrors, NameTheBadValue) {
  igx::NeighbourIndex index(torch::randn({10, 2}), 3);
  const torch::Tensor ids = ids_of({1, 2});
  const torch::Tensor moving = all_moving(ids);
  const auto options = DigOptions().neighbours(3);
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids, moving, 10, options); }), "baseline word 10"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids_of({1, 12}), moving, 0, options); }), "token id 12"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids, moving, 0, DigOptions(options).anchors(0)); }),
                       "got 0"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids, moving, 0, DigOptions(options).upscale(0)); }),
                       "upscale"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids, moving, 0, DigOptions()); }), "500 neighbours"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids, torch::ones({1, 3}, torch::kBool), 0, options); }),
                       "[1, 3]"));
  EXPECT_TRUE(contains(error_of([&] { igx::build_dig_paths(index, ids.to(torch::kInt), moving, 0, options); }), "int64"));
  EXPECT_TRUE(contains(error_of([] { igx::parse_anchor_strategy("best"); }), "'best'"));
}

// The shipped text model.
class DigText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::TextClassifier>(
        igx::TextClassifier::load(std::string(IGX_SOURCE_DIR) + "/models/spam-transformer"));
  }
  static std::unique_ptr<igx::TextClassifier> classifier_;
};
std::unique_ptr<igx::TextClassifier> DigText::classifier_;

TEST_F(DigText, ExplainsTextsThroughRealWords) {
  const std::vector<std::string> texts = {"Congratulations! You have WON a free cruise. Click here to claim your prize",
                                          "the meeting moved to friday"};
  for (const std::string method : {"dig-greedy", "dig-maxcount"}) {
    const auto explanation = igx::explain_text(*classifier_, texts, method, igx::IgOptions(), igx::TextBaseline::Pad,
                                               DigOptions().anchors(12).neighbours(100));
    ASSERT_EQ(explanation.anchors.size(), 2u);
    for (size_t b = 0; b < texts.size(); ++b) {
      const auto& report = explanation.attribution.examples[b];
      const auto& encoding = explanation.batch.encodings[b];
      const int64_t length = static_cast<int64_t>(encoding.ids.size());
      EXPECT_EQ(report.target, explanation.predictions[b]);
      EXPECT_EQ(report.steps, 14);
      ASSERT_TRUE(report.error_bound.has_value());
      EXPECT_LE(std::abs(report.delta), *report.error_bound * std::abs(report.output_input - report.output_baseline) + 1e-6);
      EXPECT_NEAR(explanation.token_scores[b].sum().item<double>(), report.attribution_sum, 1e-4);
      EXPECT_EQ(explanation.token_scores[b][0].item<double>(), 0.0);           // [CLS]
      EXPECT_EQ(explanation.token_scores[b][length - 1].item<double>(), 0.0);  // [SEP]
      EXPECT_TRUE(explanation.anchors[b][0].empty());
      for (int64_t t = 1; t + 1 < length; ++t) {
        for (int64_t anchor : explanation.anchors[b][t]) EXPECT_NE(anchor, encoding.ids[t]);
        EXPECT_EQ(explanation.anchors[b][t].size(), 12u);
      }
    }
  }
  EXPECT_TRUE(contains(error_of([&] {
                         igx::explain_text(*classifier_, texts, "dig-greedy", igx::IgOptions(), igx::TextBaseline::Zero);
                       }),
                       "vocabulary word"));
  EXPECT_TRUE(contains(error_of([&] { igx::explain_text(*classifier_, texts, "dig", igx::IgOptions()); }),
                       "dig-greedy, dig-maxcount, sig"));
}

}  // namespace
