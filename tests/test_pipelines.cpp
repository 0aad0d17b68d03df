// The shipped bundles through the text and image pipelines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "igx/igx.h"
#include "igx/image.h"
#include "igx/image_io.h"
#include "igx/text.h"
#include "cli_test.h"
#include "test_support.h"

namespace {

using igx_test::error_of;
using igx_test::shipped_model;

namespace fs = std::filesystem;

const std::string kSpam = "Congratulations! You have WON a free cruise. Click here to claim your prize now";

class TextPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::TextClassifier>(igx::TextClassifier::load(shipped_model("spam-transformer")));
  }
  static std::unique_ptr<igx::TextClassifier> classifier_;
};
std::unique_ptr<igx::TextClassifier> TextPipeline::classifier_;

TEST_F(TextPipeline, ForwardEmbedsOfEmbedEqualsForward) {
  const igx::TextBatch batch = classifier_->encode({kSpam, "see you at lunch tomorrow"});
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = classifier_->logits(batch.ids, batch.mask);
  const torch::Tensor via_embeddings =
      classifier_->embedding_model().forward(classifier_->embed(batch.ids), {batch.mask});
  EXPECT_TRUE(torch::allclose(logits, via_embeddings, 1e-5, 1e-5));
  EXPECT_EQ(classifier_->embedding_matrix().size(0), static_cast<int64_t>(classifier_->tokenizer().vocab_size()));
}

TEST_F(TextPipeline, TokenScoresAddUpAndSpecialTokensGetNothing) {
  const auto explanation = igx::explain_text(*classifier_, {kSpam}, "gausslegendre", igx::IgOptions().n_steps(100));
  const auto& report = explanation.attribution.examples[0];
  const torch::Tensor scores = explanation.token_scores[0];
  EXPECT_NEAR(scores.sum().item<double>(), report.attribution_sum, 1e-4);
  EXPECT_EQ(scores[0].item<double>(), 0.0);  // [CLS] is on a constant path
  EXPECT_EQ(scores[static_cast<int64_t>(explanation.batch.encodings[0].ids.size()) - 1].item<double>(), 0.0);
  ASSERT_TRUE(report.relative_error.has_value());
  EXPECT_LT(*report.relative_error, 0.05);
  EXPECT_EQ(report.target, explanation.predictions[0]);
  EXPECT_NEAR(explanation.probabilities[0].sum().item<double>(), 1.0, 1e-6);
}

// Padding a short text to a long one's length must not change its attributions: the attention
// mask follows every path point of its example.
TEST_F(TextPipeline, BatchingWithPaddingEqualsOneByOne) {
  const std::string short_text = "meeting moved to friday";
  const auto options = igx::IgOptions().n_steps(20).internal_batch_size(16);
  const auto together = igx::explain_text(*classifier_, {kSpam, short_text}, "riemann_trapezoid", options);
  const auto alone = igx::explain_text(*classifier_, {short_text}, "riemann_trapezoid", options);
  const int64_t length = alone.token_scores.size(1);
  EXPECT_TRUE(torch::allclose(together.token_scores[1].narrow(0, 0, length), alone.token_scores[0], 1e-4, 1e-5));
  EXPECT_TRUE(torch::all(together.token_scores[1].narrow(0, length, together.token_scores.size(1) - length) == 0)
                  .item<bool>());
  EXPECT_NEAR(together.attribution.examples[1].delta, alone.attribution.examples[0].delta, 1e-4);
}

TEST_F(TextPipeline, BaselinesDifferAndKeepSpecialTokens) {
  const igx::TextBatch batch = classifier_->encode({"hello world"});
  const torch::Tensor input = classifier_->embed(batch.ids);
  for (auto baseline : {igx::TextBaseline::Pad, igx::TextBaseline::Mask, igx::TextBaseline::Unk, igx::TextBaseline::Zero}) {
    const torch::Tensor embeddings = classifier_->baseline_embeddings(batch, baseline);
    EXPECT_TRUE(torch::equal(embeddings[0][0], input[0][0])) << igx::text_baseline_name(baseline);  // [CLS]
    EXPECT_TRUE(torch::equal(embeddings[0][3], input[0][3])) << igx::text_baseline_name(baseline);  // [SEP]
    EXPECT_FALSE(torch::equal(embeddings[0][1], input[0][1])) << igx::text_baseline_name(baseline);
  }
  const torch::Tensor mask_row = classifier_->embedding_matrix()[classifier_->tokenizer().mask_id()];
  EXPECT_TRUE(torch::allclose(classifier_->baseline_embeddings(batch, igx::TextBaseline::Mask)[0][1], mask_row));
  EXPECT_TRUE(torch::all(classifier_->baseline_embeddings(batch, igx::TextBaseline::Zero)[0][2] == 0).item<bool>());
}

TEST_F(TextPipeline, BadTextIsNamed) {
  EXPECT_NE(error_of([&] { classifier_->encode({"   \t "}); }).find("no token"), std::string::npos);
  EXPECT_NE(error_of([&] { classifier_->encode({"ok", std::string("bad \xff byte")}); }).find("UTF-8"), std::string::npos);
  EXPECT_NE(error_of([&] { classifier_->encode({}); }).find("no text"), std::string::npos);
  const igx::TextBatch long_text = classifier_->encode({std::string(2000, 'a') + std::string(" word", 0) +
                                                        [] { std::string s; for (int i = 0; i < 300; ++i) s += " spam"; return s; }()});
  EXPECT_TRUE(long_text.encodings[0].truncated);
  EXPECT_EQ(long_text.ids.size(1), classifier_->max_length());
}

TEST(Bundles, MissingPiecesAreNamed) {
  const fs::path broken = fs::temp_directory_path() / ("igx_broken_bundle_" + std::to_string(::getpid()));
  fs::remove_all(broken);
  fs::copy(shipped_model("spam-transformer"), broken);
  fs::remove(broken / "vocab.txt");
  EXPECT_NE(error_of([&] { igx::TextClassifier::load(broken.string()); }).find("lacks the file 'vocab.txt'"),
            std::string::npos);
  fs::remove(broken / "model.pt");
  EXPECT_NE(error_of([&] { igx::TextClassifier::load(broken.string()); }).find("lacks model.pt"), std::string::npos);
  fs::remove_all(broken);
  EXPECT_NE(error_of([&] { igx::TextClassifier::load(shipped_model("mnist-cnn")); }).find("expected a text model"),
            std::string::npos);
  EXPECT_NE(error_of([&] { igx::find_bundle("no-such-model"); }).find("'no-such-model'"), std::string::npos);
  EXPECT_EQ(fs::path(igx::find_bundle(shipped_model("mnist-cnn"))), fs::path(shipped_model("mnist-cnn")));
}

class ImagePipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    classifier_ = std::make_unique<igx::ImageClassifier>(igx::ImageClassifier::load(shipped_model("mnist-cnn")));
  }
  static std::unique_ptr<igx::ImageClassifier> classifier_;
};
std::unique_ptr<igx::ImageClassifier> ImagePipeline::classifier_;

TEST_F(ImagePipeline, SamplesAreClassifiedAndCompletenessHolds) {
  int correct = 0;
  for (int digit = 0; digit < 10; ++digit) {
    const torch::Tensor pixels =
        classifier_->read_image(shipped_model("mnist-cnn") + "/samples/digit_" + std::to_string(digit) + "_0.png");
    ASSERT_EQ(pixels.sizes(), (std::vector<int64_t>{1, 1, 28, 28}));
    EXPECT_GE(pixels.min().item<float>(), 0.0f);
    EXPECT_LE(pixels.max().item<float>(), 1.0f);
    correct += igx::predict(classifier_->model(), pixels)[0].item<int64_t>() == digit;
    if (digit % 3 == 0) {
      const auto result = igx::integrated_gradients(classifier_->model(), pixels, igx::IgOptions().n_steps(256));
      ASSERT_TRUE(result.examples[0].relative_error.has_value());
      EXPECT_LT(*result.examples[0].relative_error, 0.02) << "digit " << digit;
    }
  }
  EXPECT_GE(correct, 9);
}

TEST_F(ImagePipeline, NormalisationRunsInsideTheModel) {
  const torch::Tensor pixels = torch::rand({2, 1, 28, 28});
  auto network = igx::TorchScriptModel::load(shipped_model("mnist-cnn") + "/model.pt");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(classifier_->model().forward(pixels, {}),
                              network->forward((pixels - 0.1307) / 0.3081, {}), 1e-4, 1e-5));
}

TEST_F(ImagePipeline, Baselines) {
  const torch::Tensor pixels = torch::rand({1, 1, 28, 28});
  EXPECT_TRUE(torch::all(classifier_->baseline(pixels, igx::ImageBaseline::parse("black")) == 0).item<bool>());
  // A Gaussian blur keeps a constant picture and smooths a random one.
  const torch::Tensor constant = torch::full({1, 1, 28, 28}, 0.25);
  EXPECT_TRUE(torch::allclose(igx::gaussian_blur(constant, 3.0), constant, 1e-6, 1e-6));
  const torch::Tensor blurred = classifier_->baseline(pixels, igx::ImageBaseline::parse("blur:2"));
  EXPECT_EQ(blurred.sizes(), pixels.sizes());
  EXPECT_LT(blurred.std().item<double>(), 0.5 * pixels.std().item<double>());
  const torch::Tensor noise = classifier_->baseline(pixels, igx::ImageBaseline::parse("noise:7"));
  EXPECT_TRUE(torch::equal(noise, classifier_->baseline(pixels, igx::ImageBaseline::parse("noise:7"))));
  EXPECT_FALSE(torch::equal(noise, classifier_->baseline(pixels, igx::ImageBaseline::parse("noise:8"))));
  EXPECT_GE(noise.min().item<float>(), 0.0f);
  EXPECT_LE(noise.max().item<float>(), 1.0f);
  EXPECT_NE(error_of([] { igx::ImageBaseline::parse("blur:-1"); }).find("'blur:-1'"), std::string::npos);
}

TEST_F(ImagePipeline, WrongSizeImageIsNamed) {
  const std::string path = (fs::temp_directory_path() / "igx_wrong_size.png").string();
  igx::Image image;
  image.width = 32;
  image.height = 30;
  image.channels = 1;
  image.pixels.assign(32 * 30, 128);
  igx::write_png(path, image);
  const std::string message = error_of([&] { classifier_->read_image(path); });
  EXPECT_NE(message.find("32x30"), std::string::npos) << message;
  EXPECT_NE(message.find("28x28"), std::string::npos) << message;
  fs::remove(path);
}

}  // namespace
