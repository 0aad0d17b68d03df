// Layer attributions: conductance, layer IG, internal influence and patch -> neuron IG, checked
// against completeness, closed forms, and input-space IG.
#include <gtest/gtest.h>

#include "igx/igx.h"
#include "igx/image.h"
#include "igx/layer.h"
#include "igx/text.h"
#include "test_models.h"
#include "test_support.h"

namespace {

using igx::IgOptions;
using igx_test::error_of;

// F = upper(lower(x)): lower = tanh(A x), upper = v . tanh(h) (one output), float64.
struct TanhSplit {
  TanhSplit() {
    torch::manual_seed(11);
    const torch::Tensor a = torch::randn({6, 4}, torch::kDouble);
    const torch::Tensor v = torch::randn({6}, torch::kDouble);
    split.lower = std::make_shared<igx::FunctionModel>(
        [a](const torch::Tensor& x) { return torch::tanh(torch::matmul(x, a.t())); }, "lower");
    split.upper = std::make_shared<igx::FunctionModel>(
        [v](const torch::Tensor& h) { return torch::matmul(torch::tanh(h), v).unsqueeze(1); }, "upper");
    split.layer = "tanh";
  }
  igx::SplitModel split;
};

TEST(Conductance, SumsToTheOutputChange) {
  TanhSplit model;
  torch::manual_seed(12);
  const torch::Tensor inputs = torch::randn({3, 4}, torch::kDouble);
  const auto coarse = igx::layer_conductance(model.split, inputs, IgOptions().n_steps(8));
  const auto fine = igx::layer_conductance(model.split, inputs, IgOptions().n_steps(2000));
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_EQ(fine.values[b].sizes(), (std::vector<int64_t>{6}));
    EXPECT_LT(std::abs(fine.examples[b].delta), 2e-3 * std::abs(fine.examples[b].output_input - fine.examples[b].output_baseline) + 1e-9);
    EXPECT_LT(std::abs(fine.examples[b].delta), std::abs(coarse.examples[b].delta) + 1e-12);  // first order: it shrinks
    EXPECT_NEAR(fine.values[b].sum().item<double>(), fine.examples[b].attribution_sum, 1e-9);
  }
}

// With a linear upper part G(h) = u . h, internal influence is u and layer IG is u (.) (h - h').
TEST(InternalInfluence, LinearUpperPartClosedForm) {
  const torch::Tensor a = torch::tensor({1.0, 2.0, -1.0, 0.5, 0.0, 3.0}, torch::kDouble).view({3, 2});
  const torch::Tensor u = torch::tensor({0.5, -1.0, 2.0}, torch::kDouble);
  igx::SplitModel split;
  split.lower = std::make_shared<igx::FunctionModel>([a](const torch::Tensor& x) { return torch::relu(torch::matmul(x, a.t())); });
  split.upper = std::make_shared<igx::FunctionModel>([u](const torch::Tensor& h) { return torch::matmul(h, u).unsqueeze(1); });
  const torch::Tensor inputs = torch::tensor({1.0, 1.0, 2.0, -1.0}, torch::kDouble).view({2, 2});
  const auto influence = igx::internal_influence(split, inputs, IgOptions().n_steps(5));
  EXPECT_TRUE(torch::allclose(influence.values, u.expand({2, 3})));
  const auto layer_ig = igx::layer_integrated_gradients(split, inputs, IgOptions().n_steps(5));
  const torch::Tensor hidden = torch::relu(torch::matmul(inputs, a.t()));
  EXPECT_TRUE(torch::allclose(layer_ig.values, u * hidden));  // zero baseline: h' = relu(0) = 0
  for (const auto& report : layer_ig.examples) EXPECT_NEAR(report.delta, 0.0, 1e-12);
}

class MnistLayers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::ImageClassifier>(
        igx::ImageClassifier::load(std::string(IGX_SOURCE_DIR) + "/models/mnist-cnn"));
  }
  static torch::Tensor digit(int label) {
    return classifier_->read_image(std::string(IGX_SOURCE_DIR) + "/models/mnist-cnn/samples/digit_" +
                                   std::to_string(label) + "_0.png");
  }
  static std::unique_ptr<igx::ImageClassifier> classifier_;
};
std::unique_ptr<igx::ImageClassifier> MnistLayers::classifier_;

// Sum over neurons of IG_{S,j} = sum over the patch's pixels of input IG: the chain rule holds at
// every node, so with the same rule and n the two agree to rounding.
TEST_F(MnistLayers, PatchNeuronAttributionsSumToThePatchsInputAttributions) {
  igx::SplitModel split = classifier_->split();
  const torch::Tensor pixels = torch::cat({digit(3), digit(8)});
  const auto options = IgOptions().n_steps(16).internal_batch_size(20);
  const torch::Tensor patch = igx::rectangle_patch({1, 28, 28}, 8, 6, 20, 14);
  const auto neurons = igx::patch_neuron_attribution(split, pixels, patch, options);
  const auto input_ig = igx::integrated_gradients(classifier_->model(), pixels, options);
  EXPECT_EQ(neurons.values.sizes(), (std::vector<int64_t>{2, 32, 7, 7}));
  for (int64_t b = 0; b < 2; ++b) {
    const double patch_sum = (input_ig.values[b] * patch).sum().item<double>();
    EXPECT_NEAR(neurons.values[b].sum().item<double>(), patch_sum, 1e-3 * (1 + std::abs(patch_sum)));
    EXPECT_EQ(neurons.examples[b].target, input_ig.examples[b].target);
  }
  // The whole image as the patch gives input IG's total.
  const auto everything = igx::patch_neuron_attribution(split, pixels, torch::ones({1, 28, 28}), options);
  EXPECT_NEAR(everything.values[0].sum().item<double>(), input_ig.examples[0].attribution_sum, 1e-3);
  EXPECT_NE(error_of([&] { igx::patch_neuron_attribution(split, pixels, torch::ones({28, 28}), options); }).find("[28, 28]"),
            std::string::npos);
  EXPECT_NE(error_of([] { igx::rectangle_patch({1, 28, 28}, 5, 5, 40, 10); }).find("5,5,40,10"), std::string::npos);
}

TEST_F(MnistLayers, ConductanceOfTheFeatureMapIsComplete) {
  igx::SplitModel split = classifier_->split("features");
  const auto result = igx::layer_conductance(split, digit(7), IgOptions().n_steps(256));
  const auto& report = result.examples[0];
  ASSERT_TRUE(report.relative_error.has_value());
  EXPECT_LT(*report.relative_error, 0.05);
  EXPECT_NE(error_of([&] { classifier_->split("conv9"); }).find("features"), std::string::npos);
}

// Layer IG at the embedding layer equals IG on precomputed embeddings: the embedding layer as a
// one-hot product with the embedding matrix, against the text pipeline.
TEST(LayerIg, EmbeddingLayerEqualsIgOnEmbeddings) {
  auto classifier = igx::TextClassifier::load(std::string(IGX_SOURCE_DIR) + "/models/spam-transformer");
  const igx::TextBatch batch = classifier.encode({"free money, click now"});
  const torch::Tensor matrix = classifier.embedding_matrix();
  const int64_t vocab = matrix.size(0);
  igx::SplitModel split;
  split.lower = std::make_shared<igx::FunctionModel>([matrix](const torch::Tensor& one_hot) { return torch::matmul(one_hot, matrix); });
  split.upper = std::shared_ptr<igx::Model>(&classifier.embedding_model(), [](igx::Model*) {});
  const torch::Tensor one_hot = torch::one_hot(batch.ids, vocab).to(torch::kFloat);
  const torch::Tensor baseline_ids = torch::where(
      batch.ids.eq(classifier.tokenizer().cls_id()).logical_or(batch.ids.eq(classifier.tokenizer().sep_id())), batch.ids,
      torch::full_like(batch.ids, classifier.tokenizer().pad_id()));
  const auto options = IgOptions().n_steps(32);
  const auto layer = igx::layer_integrated_gradients(
      split, one_hot, IgOptions(options).baseline(igx::Baseline::tensor(torch::one_hot(baseline_ids, vocab).to(torch::kFloat))),
      {batch.mask});
  const auto text = igx::explain_text(classifier, {"free money, click now"}, "gausslegendre", options);
  EXPECT_TRUE(torch::allclose(layer.values, text.attribution.values, 1e-4, 1e-5));
  EXPECT_NEAR(layer.examples[0].delta, text.attribution.examples[0].delta, 1e-4);
}

}  // namespace
