// The TorchScript adapter: models exported by tests/models/export_test_models.py.
#include <gtest/gtest.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include "igx/igx.h"
#include "cli_test.h"
#include "test_models.h"
#include "test_support.h"

namespace {

using igx_test::error_of;

using igx::IgOptions;

TEST(TorchScript, LinearModelClosedForm) {
  auto model = igx::TorchScriptModel::load(igx_test::test_model("linear3"));
  const torch::Tensor inputs = torch::tensor({1.0f, 2.0f, -1.0f, 0.5f, 0.5f, 0.5f}).view({2, 3});
  const auto result = igx::integrated_gradients(*model, inputs, IgOptions().target(igx::Target::index(0)));
  const torch::Tensor expected = torch::tensor({1.0f, 2.0f, 3.0f}) * inputs;
  EXPECT_TRUE(torch::allclose(result.values, expected, 1e-5, 1e-6));
  EXPECT_NEAR(result.examples[0].output_input, 1.0 + 4.0 - 3.0 + 0.5, 1e-5);
  EXPECT_NEAR(result.examples[0].output_baseline, 0.5, 1e-6);
}

TEST(TorchScript, AnyMethodWithExtraInputs) {
  auto model = igx::TorchScriptModel::load(igx_test::test_model("linear3"), "logits_scaled");
  const torch::Tensor inputs = torch::ones({2, 3});
  const torch::Tensor scale = torch::tensor({2.0f, -1.0f});
  const auto result = igx::integrated_gradients(*model, inputs, IgOptions().target(igx::Target::index(1)), {scale});
  const torch::Tensor expected = torch::tensor({-1.0f, 0.5f, 0.0f}).unsqueeze(0) * scale.unsqueeze(1);
  EXPECT_TRUE(torch::allclose(result.values, expected, 1e-5, 1e-6));
}

TEST(TorchScript, TwoReluNetworksAgreeWithTheCppOnes) {
  auto scripted_a = igx::TorchScriptModel::load(igx_test::test_model("two_relu_a"));
  auto scripted_b = igx::TorchScriptModel::load(igx_test::test_model("two_relu_b"));
  const torch::Tensor x = torch::tensor({3.0f, 1.0f}).unsqueeze(0);
  const auto options = IgOptions().n_steps(50).method(igx::Rule::RiemannMiddle);
  const auto a = igx::integrated_gradients(*scripted_a, x, options);
  const auto b = igx::integrated_gradients(*scripted_b, x, options);
  EXPECT_NEAR(a.values[0][0].item<double>(), 1.5, 1e-5);
  EXPECT_NEAR(a.values[0][1].item<double>(), -0.5, 1e-5);
  EXPECT_TRUE(torch::allclose(a.values, b.values));
}

TEST(TorchScript, MlpCompleteness) {
  auto model = igx::TorchScriptModel::load(igx_test::test_model("mlp"));
  torch::manual_seed(3);
  const torch::Tensor inputs = torch::randn({5, 8});
  const auto result = igx::integrated_gradients(*model, inputs, IgOptions().n_steps(300).internal_batch_size(64));
  for (const auto& report : result.examples) {
    ASSERT_TRUE(report.relative_error.has_value());
    EXPECT_LT(*report.relative_error, 1e-3);
  }
}

TEST(TorchScript, LoadErrorsNameTheFileAndMethod) {
  EXPECT_NE(error_of([] { igx::TorchScriptModel::load("/nonexistent/model.pt"); }).find("'/nonexistent/model.pt' does not exist"),
            std::string::npos);
  const std::string not_a_model = error_of([] { igx::TorchScriptModel::load(igx_test::test_model("not_a_model")); });
  EXPECT_NE(not_a_model.find("cannot load"), std::string::npos) << not_a_model;
  EXPECT_EQ(not_a_model.find('\n'), std::string::npos) << not_a_model;
  const std::string missing_method = error_of([] { igx::TorchScriptModel::load(igx_test::test_model("linear3"), "embed"); });
  EXPECT_NE(missing_method.find("no method 'embed'"), std::string::npos) << missing_method;
  EXPECT_NE(missing_method.find("logits_scaled"), std::string::npos) << missing_method;
}

// igx runs TorchScript unoptimised by default (no re-specialisation per batch shape); either
// executor gives the same attributions, and a model call leaves the caller's thread setting as
// it found it.
TEST(TorchScript, ExecutorSettingChangesNothingButSpeed) {
  auto model = igx::TorchScriptModel::load(igx_test::test_model("mlp"));
  EXPECT_FALSE(model->optimized_execution());
  torch::manual_seed(4);
  const torch::Tensor inputs = torch::randn({3, 8});
  const auto options = IgOptions().n_steps(20).internal_batch_size(7);
  const bool caller_setting = torch::jit::getGraphExecutorOptimize();
  const auto plain = igx::integrated_gradients(*model, inputs, options);
  EXPECT_EQ(torch::jit::getGraphExecutorOptimize(), caller_setting);
  model->set_optimized_execution(true);
  EXPECT_TRUE(model->with_method("forward")->optimized_execution());
  torch::jit::setGraphExecutorOptimize(false);
  const auto optimized = igx::integrated_gradients(*model, inputs, options);
  EXPECT_FALSE(torch::jit::getGraphExecutorOptimize());
  torch::jit::setGraphExecutorOptimize(caller_setting);
  EXPECT_TRUE(torch::allclose(plain.values, optimized.values, 1e-6, 1e-7));
}

TEST(TorchScript, TupleOutputIsRejected) {
  auto model = igx::TorchScriptModel::load(igx_test::test_model("returns_tuple"));
  const std::string message = error_of([&] { igx::integrated_gradients(*model, torch::ones({1, 2})); });
  EXPECT_NE(message.find("expected a tensor"), std::string::npos) << message;
}

}  // namespace
