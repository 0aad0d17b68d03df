#pragma once
// A test fixture with the shipped mnist-cnn bundle, loaded once per test suite.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "igx/image.h"

#include "cli_test.h"

namespace igx_test {

class ShippedMnist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::ImageClassifier>(
        igx::ImageClassifier::load(shipped_model("mnist-cnn")));
  }
  static void TearDownTestSuite() { classifier_.reset(); }
  /// The shipped sample models/mnist-cnn/samples/digit_<label>_0.png as [1, 1, 28, 28].
  static torch::Tensor digit(int label) {
    return classifier_->read_image(igx_test::digit(label));
  }
  static inline std::unique_ptr<igx::ImageClassifier> classifier_;
};

}  // namespace igx_test
