// Bad input gets an igx::Error that names the value and what was expected.
#include <gtest/gtest.h>

#include "igx/igx.h"
#include "test_models.h"
#include "test_support.h"

namespace {

using igx_test::error_of;

using igx::IgOptions;

// Runs `action`, expects an igx::Error, and returns its message.
igx::FunctionModel small_linear() {
  return igx_test::linear(torch::ones({2, 3}, torch::kDouble), torch::zeros({2}, torch::kDouble));
}

TEST(Errors, WrongBaselineShapeNamesBothShapes) {
  auto model = small_linear();
  const std::string message = error_of([&] {
    igx::integrated_gradients(model, torch::ones({2, 3}, torch::kDouble),
                              IgOptions().baseline(igx::Baseline::tensor(torch::zeros({2, 4}, torch::kDouble))));
  });
  EXPECT_NE(message.find("[2, 4]"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
}

TEST(Errors, TargetOutOfRange) {
  auto model = small_linear();
  const std::string message = error_of([&] {
    igx::integrated_gradients(model, torch::ones({1, 3}, torch::kDouble), IgOptions().target(igx::Target::index(5)));
  });
  EXPECT_NE(message.find("target 5"), std::string::npos) << message;
  EXPECT_NE(message.find("0..1"), std::string::npos) << message;
  EXPECT_NE(error_of([&] {
              igx::integrated_gradients(model, torch::ones({2, 3}, torch::kDouble),
                                        IgOptions().target(igx::Target::per_example({0})));
            }).find("1 targets for 2 examples"),
            std::string::npos);
}

TEST(Errors, NonFiniteInputsNameTheIndex) {
  auto model = small_linear();
  torch::Tensor inputs = torch::ones({2, 3}, torch::kDouble);
  inputs[1][2] = std::nan("");
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, inputs); }).find("NaN at [1, 2]"), std::string::npos);
  inputs[1][2] = -INFINITY;
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, inputs); }).find("-Inf at [1, 2]"), std::string::npos);
  torch::Tensor baseline = torch::zeros({3}, torch::kDouble);
  baseline[0] = INFINITY;
  EXPECT_NE(error_of([&] {
              igx::integrated_gradients(model, torch::ones({1, 3}, torch::kDouble),
                                        IgOptions().baseline(igx::Baseline::tensor(baseline)));
            }).find("baseline has +Inf at [0, 0]"),
            std::string::npos);
}

TEST(Errors, BadOptionsAndShapes) {
  auto model = small_linear();
  const torch::Tensor inputs = torch::ones({1, 3}, torch::kDouble);
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, inputs, IgOptions().n_steps(0)); }).find("at least 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, inputs, IgOptions().internal_batch_size(-3)); })
                .find("-3"),
            std::string::npos);
  EXPECT_NE(error_of([&] { igx::integrated_gradients(model, torch::ones({1, 3}, torch::kLong)); }).find("floating"),
            std::string::npos);
  // The network itself fails on a wrong feature count: one line naming the model and the batch
  // (the first call holds the input and its baseline).
  const std::string message = error_of([&] { igx::integrated_gradients(model, torch::ones({1, 4}, torch::kDouble)); });
  EXPECT_NE(message.find("linear failed on a batch of shape [2, 4]"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Errors, ModelOutputOfTheWrongShape) {
  auto model = igx::FunctionModel([](const torch::Tensor& x) { return x.sum(); }, "scalar_model");
  const std::string message = error_of([&] { igx::integrated_gradients(model, torch::ones({2, 3}, torch::kDouble)); });
  EXPECT_NE(message.find("scalar_model returned shape []"), std::string::npos) << message;
}

TEST(Errors, UnknownNames) {
  EXPECT_NE(error_of([] { igx::parse_output_kind("softmax"); }).find("logit, prob or logprob"), std::string::npos);
  EXPECT_NE(error_of([] { igx::parse_device("tpu"); }).find("'tpu'"), std::string::npos);
  EXPECT_NE(error_of([] { igx::set_num_threads(-1); }).find("-1"), std::string::npos);
}

}  // namespace
