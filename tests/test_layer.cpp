// Layer attributions: conductance, layer IG, internal influence and patch -> neuron IG, checked
// against completeness, closed forms, and input-space IG.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/igx.h"
#include "igx/image.h"
#include "igx/layer.h"
#include "igx/text.h"
#include "shipped_mnist.h"
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

class MnistLayers : public igx_test::ShippedMnist {};

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

// Neuron conductance on F = h1 h2 with h = (x1^2, x1 x2), from the zero baseline: along the path
// h1 = a^2 x1^2 and h2 = a^2 x1 x2, so
//   NC_{1,1} = int h2 * (2 a x1) * x1 da = x1^3 x2 / 2,         NC_{1,2} = 0,
//   NC_{2,1} = int h1 * (a x2) * x1 da   = x1^3 x2 / 4 = NC_{2,2},
// cubic in a, so 4 Gauss-Legendre nodes are exact; all four sum to F(x) - F(0) = x1^3 x2.
TEST(NeuronConductance, ClosedFormOnAProductOfMonomials) {
  igx::SplitModel split;
  split.lower = std::make_shared<igx::FunctionModel>([](const torch::Tensor& x) {
    return torch::stack({x.select(1, 0) * x.select(1, 0), x.select(1, 0) * x.select(1, 1)}, 1);
  });
  split.upper = std::make_shared<igx::FunctionModel>(
      [](const torch::Tensor& h) { return (h.select(1, 0) * h.select(1, 1)).unsqueeze(1); });
  split.layer = "monomials";
  const torch::Tensor inputs = torch::tensor({1.5, -2.0, 0.5, 3.0}, torch::kDouble).view({2, 2});
  const auto options = IgOptions().n_steps(4);
  const auto first = igx::neuron_conductance(split, inputs, {0}, options);
  const auto second = igx::neuron_conductance(split, inputs, {1}, options);
  const auto both = igx::neuron_conductance(split, inputs, {1, 0}, options);
  for (int64_t b = 0; b < 2; ++b) {
    const double x1 = inputs[b][0].item<double>(), x2 = inputs[b][1].item<double>();
    const double change = x1 * x1 * x1 * x2;
    EXPECT_NEAR(first.values[b][0].item<double>(), change / 2, 1e-12);
    EXPECT_NEAR(first.values[b][1].item<double>(), 0.0, 1e-12);
    EXPECT_NEAR(second.values[b][0].item<double>(), change / 4, 1e-12);
    EXPECT_NEAR(second.values[b][1].item<double>(), change / 4, 1e-12);
    EXPECT_TRUE(std::isnan(first.examples[b].delta));  // one neuron of two: no completeness claim
    EXPECT_NEAR(both.examples[b].attribution_sum, change, 1e-12);
    EXPECT_NEAR(both.examples[b].delta, 0.0, 1e-12);  // the whole layer: IG's completeness
  }
  EXPECT_NE(error_of([&] { igx::neuron_conductance(split, inputs, {2}, options); }).find("neuron 2 is not in layer 'monomials' of shape [2]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { igx::neuron_conductance(split, inputs, {1, 1}, options); }).find("twice"), std::string::npos);
  EXPECT_NE(error_of([&] { igx::neuron_conductance(split, inputs, {}, options); }).find("at least one neuron"),
            std::string::npos);
}

std::shared_ptr<igx::FunctionModel> composed(const igx::SplitModel& split) {
  return std::make_shared<igx::FunctionModel>(
      [split](const torch::Tensor& x) { return split.upper->forward(split.lower->forward(x, {}), {}); }, "composed");
}

// Summed over the inputs, neuron conductance is the neuron's conductance in derivative form
// (patch -> neuron with the whole input); summed over the neurons it is input IG. Both are the
// chain rule at every node, so with the same rule and n they agree to rounding.
TEST(NeuronConductance, SumsOverInputsToConductanceAndOverNeuronsToIg) {
  TanhSplit model;
  torch::manual_seed(13);
  const torch::Tensor inputs = torch::randn({3, 4}, torch::kDouble);
  for (const igx::Rule rule : {igx::Rule::GaussLegendre, igx::Rule::RiemannTrapezoid, igx::Rule::RiemannLeft}) {
    const auto options = IgOptions().n_steps(24).method(rule).internal_batch_size(10);
    const auto conductance = igx::patch_neuron_attribution(model.split, inputs, torch::ones({4}), options);
    torch::Tensor over_neurons = torch::zeros_like(inputs);
    for (int64_t j = 0; j < 6; ++j) {
      const auto neuron = igx::neuron_conductance(model.split, inputs, {j}, options);
      EXPECT_EQ(neuron.values.sizes(), inputs.sizes());
      for (int64_t b = 0; b < 3; ++b) {
        EXPECT_NEAR(neuron.values[b].sum().item<double>(), conductance.values[b][j].item<double>(), 1e-12);
        EXPECT_EQ(neuron.examples[b].target, conductance.examples[b].target);
      }
      over_neurons += neuron.values;
    }
    const auto ig = igx::integrated_gradients(*composed(model.split), inputs, options);
    EXPECT_TRUE(torch::allclose(over_neurons, ig.values, 1e-10, 1e-12));
    const auto layer = igx::neuron_conductance(model.split, inputs, {0, 1, 2, 3, 4, 5}, options);
    EXPECT_TRUE(torch::allclose(layer.values, ig.values, 1e-10, 1e-12));
    for (int64_t b = 0; b < 3; ++b) EXPECT_NEAR(layer.examples[b].delta, ig.examples[b].delta, 1e-12);
  }
}

// Against layer_conductance (differences h_j(a_{k+1}) - h_j(a_k) at a_k = k/n): the left-Riemann
// rule with the same n is the same sum when `lower` is linear, so they agree to rounding; with a
// curved `lower` the two discretisations differ by O(1/n).
TEST(NeuronConductance, MatchesLayerConductance) {
  torch::manual_seed(14);
  const torch::Tensor a = torch::randn({5, 3}, torch::kDouble);
  const torch::Tensor v = torch::randn({5}, torch::kDouble);
  igx::SplitModel linear;
  linear.lower = std::make_shared<igx::FunctionModel>([a](const torch::Tensor& x) { return torch::matmul(x, a.t()); });
  linear.upper = std::make_shared<igx::FunctionModel>(
      [v](const torch::Tensor& h) { return torch::matmul(torch::tanh(h), v).unsqueeze(1); });
  const torch::Tensor inputs = torch::randn({2, 3}, torch::kDouble);
  const auto options = IgOptions().n_steps(40).method(igx::Rule::RiemannLeft);
  const auto conductance = igx::layer_conductance(linear, inputs, options);
  for (int64_t j = 0; j < 5; ++j) {
    const auto neuron = igx::neuron_conductance(linear, inputs, {j}, options);
    for (int64_t b = 0; b < 2; ++b) {
      const double expected = conductance.values[b][j].item<double>();
      EXPECT_NEAR(neuron.values[b].sum().item<double>(), expected, 1e-5 * std::abs(expected) + 1e-12);
    }
  }
  TanhSplit curved;
  const torch::Tensor wide = torch::randn({2, 4}, torch::kDouble);
  auto gap = [&](int64_t steps) {
    const auto options = IgOptions().n_steps(steps).method(igx::Rule::RiemannLeft);
    const auto conductance = igx::layer_conductance(curved.split, wide, options);
    const auto neuron = igx::neuron_conductance(curved.split, wide, {2}, options);
    return (neuron.values.flatten(1).sum(1) - conductance.values.select(1, 2)).abs().max().item<double>();
  };
  const double coarse = gap(50), fine = gap(500);
  EXPECT_LT(fine, 1e-3);
  EXPECT_LT(fine, 0.2 * coarse);  // first order: ten times the steps, about a tenth of the gap
}

TEST_F(MnistLayers, NeuronConductanceOfTheFeatureMap) {
  igx::SplitModel split = classifier_->split();
  const torch::Tensor pixels = digit(3);
  const auto options = IgOptions().n_steps(16).internal_batch_size(64);
  const int64_t neuron = 5 * 49 + 3 * 7 + 4;  // channel 5, row 3, column 4
  const auto one = igx::neuron_conductance(split, pixels, {neuron}, options);
  EXPECT_EQ(one.values.sizes(), (std::vector<int64_t>{1, 1, 28, 28}));
  const auto conductance = igx::patch_neuron_attribution(split, pixels, torch::ones({1, 28, 28}), options);
  const double expected = conductance.values[0][5][3][4].item<double>();
  EXPECT_NE(expected, 0.0);
  EXPECT_NEAR(one.values.sum().item<double>(), expected, 1e-4 * (1 + std::abs(expected)));
  // A conv-pool neuron sees a receptive field of 10 x 10 pixels: nothing outside it.
  EXPECT_EQ(one.values[0][0].slice(0, 0, 3).abs().sum().item<double>(), 0.0);
  std::vector<int64_t> all(32 * 7 * 7);
  for (size_t j = 0; j < all.size(); ++j) all[j] = static_cast<int64_t>(j);
  const auto layer = igx::neuron_conductance(split, pixels, all, options);
  const auto input_ig = igx::integrated_gradients(classifier_->model(), pixels, options);
  EXPECT_TRUE(torch::allclose(layer.values, input_ig.values, 1e-3, 1e-5));
  EXPECT_NEAR(layer.examples[0].delta, input_ig.examples[0].delta, 1e-3);
  EXPECT_NE(error_of([&] { igx::neuron_conductance(split, pixels, {1568}, options); }).find("[32, 7, 7]"),
            std::string::npos);
}

}  // namespace
