// The pruning study: the masked model is the model with neurons removed (no more, no less), the
// rankings are what they claim, and `igx prune-study` writes rows that agree with `igx explain`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "igx/igx.h"
#include "igx/image.h"
#include "igx/layer.h"
#include "igx/npy.h"
#include "igx/prune.h"
#include "shipped_mnist.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using igx::IgOptions;
using igx_test::error_of;

class Pruning : public igx_test::ShippedMnist {
 protected:
  // One mask row per example.
  static torch::Tensor masks_for(const torch::Tensor& mask, int64_t rows) {
    return mask.unsqueeze(0).expand({rows, 32, 7, 7}).contiguous();
  }
};

TEST_F(Pruning, AllOnesMaskIsTheOriginalModel) {
  igx::PrunedModel pruned(classifier_->split());
  const torch::Tensor pixels = torch::cat({digit(2), digit(6)});
  const torch::Tensor ones = masks_for(torch::ones({32, 7, 7}), 2);
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(pruned.forward(pixels, {ones}), classifier_->model().forward(pixels, {}), 1e-5, 1e-5));
  }
  const auto options = IgOptions().n_steps(16);
  const auto masked = igx::integrated_gradients(pruned, pixels, options, {ones});
  const auto original = igx::integrated_gradients(classifier_->model(), pixels, options);
  EXPECT_TRUE(torch::allclose(masked.values, original.values, 1e-4, 1e-6));
  for (int64_t b = 0; b < 2; ++b) EXPECT_EQ(masked.examples[b].target, original.examples[b].target);
}

// With every neuron zeroed the head sees 0 whatever the input: a constant output, head(0), and
// no gradient to integrate.
TEST_F(Pruning, ZeroingEveryNeuronLeavesTheHeadsConstant) {
  igx::SplitModel split = classifier_->split();
  igx::PrunedModel pruned(split);
  const torch::Tensor pixels = torch::cat({digit(0), digit(9)});
  const torch::Tensor zeros = masks_for(torch::zeros({32, 7, 7}), 2);
  torch::Tensor outputs, head_of_zero;
  {
    torch::NoGradGuard no_grad;
    outputs = pruned.forward(pixels, {zeros});
    head_of_zero = split.upper->forward(torch::zeros({1, 32, 7, 7}), {});
  }
  EXPECT_TRUE(torch::allclose(outputs, head_of_zero.expand_as(outputs)));
  const auto attribution = igx::integrated_gradients(pruned, pixels, IgOptions().n_steps(8).target(igx::Target::index(3)), {zeros});
  EXPECT_EQ(attribution.values.abs().max().item<double>(), 0.0);
  EXPECT_EQ(attribution.examples[0].output_input, attribution.examples[0].output_baseline);
}

TEST_F(Pruning, ZeroingAChannelEqualsZeroingItByHand) {
  igx::SplitModel split = classifier_->split();
  igx::PrunedModel pruned(split);
  const int64_t channel = 5;
  igx::FunctionModel by_hand(
      [split, channel](const torch::Tensor& x) {
        torch::Tensor hidden = split.lower->forward(x, {});
        hidden = torch::cat({hidden.narrow(1, 0, channel), torch::zeros_like(hidden.narrow(1, channel, 1)),
                             hidden.narrow(1, channel + 1, hidden.size(1) - channel - 1)},
                            1);
        return split.upper->forward(hidden, {});
      },
      "by hand");
  const torch::Tensor mask = igx::prune_mask({32, 7, 7}, igx::PruneUnit::Channel, {channel});
  EXPECT_EQ(mask.sum().item<double>(), 31 * 49);
  EXPECT_EQ(mask[channel].sum().item<double>(), 0);
  const torch::Tensor pixels = digit(4);
  const auto options = IgOptions().n_steps(16).target(igx::Target::index(4));
  const auto masked = igx::integrated_gradients(pruned, pixels, options, {mask.unsqueeze(0)});
  const auto manual = igx::integrated_gradients(by_hand, pixels, options);
  EXPECT_TRUE(torch::allclose(masked.values, manual.values, 1e-5, 1e-7));
  EXPECT_NEAR(masked.examples[0].output_input, manual.examples[0].output_input, 1e-5);

  // One neuron: channel 2, row 3, column 4 is unit 2 * 49 + 3 * 7 + 4.
  const torch::Tensor neuron = igx::prune_mask({32, 7, 7}, igx::PruneUnit::Neuron, {2 * 49 + 3 * 7 + 4});
  EXPECT_EQ(neuron.sum().item<double>(), 32 * 49 - 1);
  EXPECT_EQ(neuron[2][3][4].item<double>(), 0);
  EXPECT_EQ(igx::unit_count({32, 7, 7}, igx::PruneUnit::Neuron), 1568);
  EXPECT_NE(error_of([] { igx::prune_mask({32, 7, 7}, igx::PruneUnit::Channel, {32}); }).find("unit 32"), std::string::npos);
  EXPECT_NE(error_of([] { igx::parse_prune_unit("layer"); }).find("'layer'"), std::string::npos);
  EXPECT_NE(error_of([&] { pruned.forward(pixels, {}); }).find("mask"), std::string::npos);
}

TEST_F(Pruning, RankingsAreTheArgsortsOfTheirAttributions) {
  igx::SplitModel split = classifier_->split();
  const torch::Tensor pixels = digit(3);
  const torch::Tensor patch = igx::rectangle_patch({1, 28, 28}, 8, 6, 20, 14);
  const auto options =
      igx::PruneStudyOptions().ig(IgOptions().n_steps(16)).unit(igx::PruneUnit::Channel).max_k(3).seed(7);
  const igx::PruneStudy study = igx::prune_study(split, pixels, patch, options);
  EXPECT_EQ(study.target, 3);
  EXPECT_EQ(study.units, 32);
  ASSERT_EQ(study.ranking_names, (std::vector<std::string>{"patch-ig", "conductance", "random"}));

  const auto ig = IgOptions().n_steps(16).target(igx::Target::index(3));
  const torch::Tensor patch_channels =
      igx::patch_neuron_attribution(split, pixels, patch, ig).values[0].to(torch::kDouble).flatten(1).sum(1);
  const torch::Tensor conductance_channels =
      igx::layer_conductance(split, pixels, ig).values[0].to(torch::kDouble).flatten(1).sum(1);
  EXPECT_TRUE(torch::equal(study.rankings[0], patch_channels.argsort(0, true)));
  EXPECT_TRUE(torch::equal(study.rankings[1], conductance_channels.argsort(0, true)));
  // Best first: the scores along the ranking never increase.
  const torch::Tensor ordered = study.patch_scores.index_select(0, study.rankings[0]);
  EXPECT_TRUE(ordered.slice(0, 1).le(ordered.slice(0, 0, -1)).all().item<bool>());
  EXPECT_TRUE(torch::equal(study.rankings[2], igx::random_ranking(32, 7)));

  // k = 0 is the unpruned model: its patch attribution is what the neurons share out, and what
  // input IG puts in the patch.
  ASSERT_EQ(study.records.size(), 3u * 4u);
  const igx::PruneRecord& unpruned = study.records[0];
  const auto input_ig = igx::integrated_gradients(classifier_->model(), pixels, ig);
  const double patch_sum = (input_ig.values[0].to(torch::kDouble) * patch).sum().item<double>();
  EXPECT_NEAR(unpruned.inside, patch_sum, 1e-4 * (1 + std::abs(patch_sum)));
  EXPECT_NEAR(unpruned.inside, study.patch_neuron_sum, 1e-3 * (1 + std::abs(patch_sum)));
  EXPECT_NEAR(unpruned.inside + unpruned.outside, input_ig.examples[0].attribution_sum, 1e-3);
  EXPECT_NEAR(unpruned.inside_share + unpruned.outside_share, 1.0, 1e-12);
  EXPECT_EQ(unpruned.predicted, 3);
  for (size_t r = 0; r < 3; ++r) {
    const igx::PruneRecord& first = study.records[r * 4];
    EXPECT_EQ(first.k, 0);
    EXPECT_EQ(first.inside, unpruned.inside);
    EXPECT_EQ(study.records[r * 4 + 3].k, 3);
    EXPECT_EQ(study.records[r * 4 + 3].ranking, study.ranking_names[r]);
  }

  // A record is the pruned model explained by hand: the top 2 channels of the patch ranking.
  const igx::PruneRecord& two = study.records[2];
  const torch::Tensor mask = igx::prune_mask(
      {32, 7, 7}, igx::PruneUnit::Channel, {study.rankings[0][0].item<int64_t>(), study.rankings[0][1].item<int64_t>()});
  igx::PrunedModel pruned(split);
  const auto by_hand = igx::integrated_gradients(pruned, pixels, ig, {mask.unsqueeze(0)});
  const double inside = (by_hand.values[0].to(torch::kDouble) * patch).sum().item<double>();
  EXPECT_NEAR(two.inside, inside, 1e-4 * (1 + std::abs(inside)));
  EXPECT_NEAR(two.outside, by_hand.examples[0].attribution_sum - inside, 1e-3);
  EXPECT_NEAR(two.logit, by_hand.examples[0].output_input, 1e-4);
}

TEST_F(Pruning, NeuronUnitsAndBadOptions) {
  igx::SplitModel split = classifier_->split();
  const torch::Tensor pixels = digit(7);
  const torch::Tensor patch = igx::rectangle_patch({1, 28, 28}, 10, 4, 18, 12);
  const auto options = igx::PruneStudyOptions().ig(IgOptions().n_steps(8)).unit(igx::PruneUnit::Neuron).max_k(2);
  const igx::PruneStudy study = igx::prune_study(split, pixels, patch, options);
  EXPECT_EQ(study.units, 1568);
  EXPECT_EQ(study.patch_scores.numel(), 1568);
  EXPECT_EQ(study.rankings[0][0].item<int64_t>(), study.patch_scores.argmax().item<int64_t>());
  const auto channels = igx::PruneStudyOptions().unit(igx::PruneUnit::Channel);
  EXPECT_NE(error_of([&] { igx::prune_study(split, pixels, patch, igx::PruneStudyOptions(channels).max_k(33)); }).find("max_k 33"),
            std::string::npos);
  EXPECT_NE(error_of([&] { igx::prune_study(split, torch::cat({pixels, pixels}), patch); }).find("one example"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              igx::prune_study(split, pixels, patch,
                               igx::PruneStudyOptions().ig(IgOptions().strategy(igx::Strategy::IntervalAdaptive)));
            }).find("fixed steps"),
            std::string::npos);
}

TEST(PruneRankings, RandomIsASeededPermutation) {
  const torch::Tensor first = igx::random_ranking(32, 3);
  EXPECT_TRUE(torch::equal(first, igx::random_ranking(32, 3)));
  EXPECT_FALSE(torch::equal(first, igx::random_ranking(32, 4)));
  EXPECT_TRUE(torch::equal(std::get<0>(first.sort()), torch::arange(32, torch::kLong)));
  // Ties keep their index order; by magnitude, large negative scores come first.
  const torch::Tensor scores = torch::tensor({0.0, 2.0, 0.0, -3.0, 2.0}, torch::kDouble);
  EXPECT_TRUE(torch::equal(igx::rank_by_score(scores), torch::tensor({1, 4, 0, 2, 3}, torch::kLong)));
  EXPECT_TRUE(torch::equal(igx::rank_by_score(scores, true), torch::tensor({3, 1, 4, 0, 2}, torch::kLong)));
}

TEST(PruneRankings, DensestWindowFindsTheInk) {
  torch::Tensor image = torch::zeros({1, 10, 12});
  image.index_put_({0, torch::indexing::Slice(5, 8), torch::indexing::Slice(6, 9)}, 1.0);
  EXPECT_EQ(igx::densest_window(image, 3), (std::array<int64_t, 4>{6, 5, 9, 8}));
  // A blank image: the first window.
  EXPECT_EQ(igx::densest_window(torch::zeros({1, 10, 12}), 4), (std::array<int64_t, 4>{0, 0, 4, 4}));
  EXPECT_NE(error_of([&] { igx::densest_window(image, 11); }).find("window size 11"), std::string::npos);
}

// `igx prune-study` rows, and its k = 0 patch attribution against `igx explain` with the same rule.
TEST(PruneStudyCli, WritesRowsThatAgreeWithExplain) {
  const fs::path directory = fs::temp_directory_path() / ("igx_prune_test_" + std::to_string(::getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  const std::string digit = std::string(IGX_SOURCE_DIR) + "/models/mnist-cnn/samples/digit_5_0.png";
  const std::string out_dir = (directory / "study").string();
  const auto result = igx_test::run_igx("prune-study --image " + digit +
                                        " --patch 6,6,16,16 --unit channel --max-k 3 --steps 16 --out-dir " + out_dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("patch-ig"), std::string::npos) << result.output;
  for (const char* file : {"prune-study.csv", "prune-study.json", "inside-attribution.svg", "prediction.svg", "index.html"}) {
    EXPECT_TRUE(fs::exists(out_dir + "/" + file)) << file;
  }

  std::ifstream csv(out_dir + "/prune-study.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("ranking,k,pruned_unit,inside,outside,", 0), 0u) << header;
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(csv, line);) {
    std::vector<std::string> cells;
    std::stringstream stream(line);
    for (std::string cell; std::getline(stream, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  ASSERT_EQ(rows.size(), 3u * 4u);
  const std::vector<std::string> names = {"patch-ig", "conductance", "random"};
  for (size_t r = 0; r < 3; ++r) {
    for (size_t k = 0; k <= 3; ++k) {
      EXPECT_EQ(rows[r * 4 + k][0], names[r]);
      EXPECT_EQ(rows[r * 4 + k][1], std::to_string(k));
    }
  }
  const double inside_at_zero = std::stod(rows[0][3]);

  const auto explain = igx_test::run_igx("explain --image " + digit + " --method gausslegendre --steps 16 --npy " +
                                         (directory / "a.npy").string() + " --out-dir " + (directory / "explain").string());
  ASSERT_EQ(explain.exit_code, 0) << explain.output;
  const igx::NdArray values = igx::read_npy((directory / "a.npy").string());
  ASSERT_EQ(values.shape, (std::vector<int64_t>{1, 1, 28, 28}));
  double patch_sum = 0;
  for (int64_t y = 6; y < 16; ++y) {
    for (int64_t x = 6; x < 16; ++x) patch_sum += values.values[y * 28 + x];
  }
  EXPECT_NEAR(inside_at_zero, patch_sum, 1e-4 * (1 + std::abs(patch_sum)));

  const nlohmann::json json = nlohmann::json::parse(std::ifstream(out_dir + "/prune-study.json"));
  EXPECT_EQ(json["target"], 5);
  EXPECT_EQ(json["rankings"]["patch-ig"].size(), 32u);
  EXPECT_EQ(json["records"].size(), 12u);

  // A second run replaces the first one's files only with --force; bad flags give one readable line.
  EXPECT_EQ(igx_test::run_igx("prune-study --image " + digit + " --max-k 1 --steps 4 --force --out-dir " + out_dir).exit_code,
            0);
  const auto again = igx_test::run_igx("prune-study --image " + digit + " --max-k 1 --steps 4 --out-dir " + out_dir);
  EXPECT_EQ(again.exit_code, igx::kExitUsage);
  EXPECT_NE(again.output.find("inside-attribution.svg' already exists; igx replaces files only with --force"),
            std::string::npos)
      << again.output;
  const auto too_many =
      igx_test::run_igx("prune-study --image " + digit + " --unit channel --max-k 40 --force --out-dir " + out_dir);
  EXPECT_EQ(too_many.exit_code, 1);
  EXPECT_NE(too_many.output.find("40"), std::string::npos) << too_many.output;
  const auto bad_unit = igx_test::run_igx("prune-study --image " + digit + " --unit layer --force --out-dir " + out_dir);
  EXPECT_EQ(bad_unit.exit_code, igx::kExitUsage);
  EXPECT_NE(bad_unit.output.find("'layer'"), std::string::npos) << bad_unit.output;
  fs::remove_all(directory);
}

}  // namespace
