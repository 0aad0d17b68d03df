// The igx command line: results that match the library, and one readable line for bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "igx/explain_options.h"
#include "igx/igx.h"
#include "igx/npy.h"

#include "cli_test.h"

namespace {

namespace fs = std::filesystem;

using igx_test::CommandResult;
using igx_test::run_igx;

class Cli : public igx_test::TempFolderTest {
 protected:
  void SetUp() override {
    TempFolderTest::SetUp();
    write("x.json", "[[1.0, 2.0, -1.0], [0.5, 0.5, 0.5]]");
  }
  static std::string model(const std::string& name) { return igx_test::test_model(name); }
};

TEST_F(Cli, ExplainWritesJsonThatMatchesTheClosedForm) {
  const auto result = run_igx("explain --model " + model("linear3") + " --input " + path("x.json") +
                              " --target 0 --out " + path("r.json") + " --npy " + path("a.npy"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("relative error"), std::string::npos);
  EXPECT_NE(result.output.find("top features"), std::string::npos);
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("r.json")));
  ASSERT_EQ(json["examples"].size(), 2u);
  const auto& first = json["examples"][0];
  EXPECT_EQ(first["target"], 0);
  EXPECT_EQ(first["prediction"], 0);  // 1 + 4 - 3 + 0.5 = 2.5 beats -1 + 1 - 0.25
  EXPECT_NEAR(first["attributions"][1].get<double>(), 4.0, 1e-5);  // w = 2, x = 2
  EXPECT_NEAR(first["output_input"].get<double>(), 2.5, 1e-5);
  EXPECT_NEAR(first["delta"].get<double>(), 0.0, 1e-5);
  // Adaptive by default: a linear model is exact on the first Simpson panels (9 nodes).
  EXPECT_EQ(first["steps"], 9);
  EXPECT_EQ(first["certified"], true);
  const igx::NdArray npy = igx::read_npy(path("a.npy"));
  EXPECT_EQ(npy.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_NEAR(npy.values[2], -3.0, 1e-5);
}

TEST_F(Cli, FixedStepsAndStrategies) {
  const std::string base = "explain --model " + model("mlp") + " --input " + write("m.json", "[[1,2,3,4,5,6,7,8]]");
  auto steps_of = [&](const std::string& flags, const std::string& out) {
    const auto result = run_igx(base + " " + flags + " --out " + path(out));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return nlohmann::json::parse(std::ifstream(path(out)))["examples"][0];
  };
  EXPECT_EQ(steps_of("--steps 20", "a.json")["steps"], 20);
  EXPECT_FALSE(steps_of("--steps 20", "b.json").contains("certified"));
  EXPECT_EQ(steps_of("--method riemann_trapezoid", "c.json")["steps"], 50);
  const auto doubling = steps_of("--strategy doubling --tolerance 0.001", "d.json");
  EXPECT_EQ(doubling["certified"], true);
  EXPECT_LE(doubling["relative_error"].get<double>(), 0.001);
  const auto adaptive = steps_of("--tolerance 0.0001 --max-steps 1000 --certify panels", "e.json");
  EXPECT_EQ(adaptive["certified"], true);
  EXPECT_LE(adaptive["error_bound"].get<double>(), 0.0001);
  // --certify completeness (the default) reports |delta| against float64 ends as the bound, plus
  // the rounding of casting the attributions to float32, and never spends more than the panel sum.
  const auto completeness = steps_of("--tolerance 0.0001 --max-steps 1000 --certify completeness", "f.json");
  EXPECT_EQ(completeness["certified"], true);
  EXPECT_GE(completeness["error_bound"].get<double>(), completeness["relative_error"].get<double>());
  EXPECT_NEAR(completeness["error_bound"].get<double>(), completeness["relative_error"].get<double>(), 1e-6);
  EXPECT_LE(completeness["steps"].get<int64_t>(), adaptive["steps"].get<int64_t>());
  expect_one_line_error(run_igx(base + " --certify delta"), "'delta'", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --strategy adaptive --method gausslegendre"), "Simpson", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --strategy doubling --method gausslegendre"), "nested nodes", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --strategy sometimes"), "'sometimes'", igx::kExitUsage);
}

TEST_F(Cli, HelpShowsDefaults) {
  const auto result = run_igx("explain --help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* fragment : {"--steps", "=50", "--batch-size", "=256", "=gausslegendre", "--threads", "=pred",
                               "--tolerance", "=0.01", "--max-steps", "=4096", "--strategy", "=auto"}) {
    EXPECT_NE(result.output.find(fragment), std::string::npos) << fragment;
  }
  // Every option of an explanation request is a flag of igx explain or igx layer.
  const std::string flags = result.output + run_igx("layer --help").output;
  for (const igx::ExplainOptionInfo& option : igx::explain_option_table()) {
    EXPECT_NE(flags.find("--" + option.name + " "), std::string::npos) << option.name;
  }
}

TEST_F(Cli, BadInputGivesOneReadableLine) {
  const std::string x = path("x.json");
  expect_one_line_error(run_igx("explain --model /no/such.pt --input " + x), "'/no/such.pt' does not exist", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("not_a_model") + " --input " + x), "cannot load", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --entry embed --input " + x),
                        "no method 'embed'", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + x + " --target 9"),
                        "target 9", igx::kExitUsage);
  expect_one_line_error(
      run_igx("explain --model " + model("linear3") + " --input " + x + " --baseline " + write("b.json", "[1, 2]")),
      "baseline has shape [2]", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + path("missing.npy")),
                        "missing.npy", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + write("bad.json", "[[1, ")),
                        "bad.json", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + x + " --method simpson"),
                        "'simpson'", igx::kExitUsage);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + x + " --output softmax"),
                        "'softmax'", igx::kExitUsage);
  // The network itself rejects 4 features.
  expect_one_line_error(
      run_igx("explain --model " + model("linear3") + " --input " + write("wide.json", "[[1, 2, 3, 4]]")),
      "failed on a batch of shape", igx::kExitFailure);
}

TEST_F(Cli, NonFiniteInputIsRejected) {
  igx::NdArray array;
  array.shape = {1, 3};
  array.values = {1.0, std::nan(""), 0.0};
  array.dtype = "f4";
  igx::write_npy(path("nan.npy"), array);
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + path("nan.npy")),
                        "input has NaN at [0, 1]", igx::kExitFailure);
  // 1e39 is a finite number in the file but an infinity in float32: refused by its own value,
  // index and file, not reported later as an infinity the user never wrote.
  const CommandResult beyond =
      run_igx("explain --model " + model("linear3") + " --input " + write("big.json", "[[1, 2, 3], [0.5, -1e39, 0]]"));
  expect_one_line_error(beyond, "value -1e+39 at [1, 1] is beyond float32's range", igx::kExitFailure);
  EXPECT_NE(beyond.output.find("big.json"), std::string::npos) << beyond.output;
}

TEST_F(Cli, ExistingOutputIsNotOverwrittenWithoutForce) {
  const std::string out = write("r.json", "precious");
  expect_one_line_error(run_igx("explain --model " + model("linear3") + " --input " + path("x.json") + " --out " + out),
                        "already exists", igx::kExitUsage);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(*std::make_unique<std::ifstream>(out)), {}), "precious");
  EXPECT_EQ(run_igx("explain --model " + model("linear3") + " --input " + path("x.json") + " --out " + out + " --force")
                .exit_code,
            0);
}

TEST_F(Cli, TextWithTheShippedModelWritesHtmlAndJson) {
  const std::string out_dir = path("report");
  const auto result = run_igx("explain \"Click here to claim your FREE prize now\" --no-color --steps 32 --out-dir " + out_dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("predicted spam"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("free("), std::string::npos) << result.output;
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(out_dir + "/explanation.json"));
  const auto& example = json["examples"][0];
  EXPECT_EQ(example["tokens"][0], "[CLS]");
  EXPECT_EQ(example["tokens"].size(), example["token_scores"].size());
  EXPECT_EQ(example["prediction_label"], "spam");
  double sum = 0;
  for (const auto& score : example["token_scores"]) sum += score.get<double>();
  EXPECT_NEAR(sum, example["attribution_sum"].get<double>(), 1e-4);
  std::ifstream html(out_dir + "/explanation.html");
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  EXPECT_NE(page.find("igx-token"), std::string::npos);
  // A second run does not replace the first one's files, unless --force.
  expect_one_line_error(run_igx("explain \"hello again\" --steps 8 --out-dir " + out_dir), "already exists",
                        igx::kExitUsage);
  EXPECT_EQ(run_igx("explain \"hello again\" --steps 8 --force --out-dir " + out_dir).exit_code, 0);
}

TEST_F(Cli, ImageWithTheShippedModelWritesAHeatmap) {
  const std::string digit = igx_test::digit(3);
  const auto result = run_igx("explain --image " + digit + " --baseline blur:3 --out-dir " + path("img"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("predicted class 3"), std::string::npos) << result.output;
  EXPECT_TRUE(fs::exists(path("img") + "/heatmap-digit_3_0.png"));
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("img") + "/explanation.json"));
  EXPECT_EQ(json["examples"][0]["prediction_label"], "3");
  EXPECT_EQ(json["shape"], (std::vector<int64_t>{1, 1, 28, 28}));
}

TEST_F(Cli, BadTextsAndImagesGiveOneReadableLine) {
  expect_one_line_error(run_igx("explain \"   \" --out-dir " + path("o")), "no token", igx::kExitFailure);
  expect_one_line_error(run_igx("explain \"$(printf 'bad \\377 byte')\" --out-dir " + path("o")), "UTF-8", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --image " + write("notes.png", "not a picture") + " --out-dir " + path("o")),
                        "notes.png", igx::kExitFailure);
  expect_one_line_error(run_igx("explain"), "nothing to explain", igx::kExitUsage);
  expect_one_line_error(run_igx("explain hello --model no-such-model"), "'no-such-model'", igx::kExitFailure);
  expect_one_line_error(run_igx("explain hello --baseline black --out-dir " + path("o")), "'black'", igx::kExitUsage);
  // A file of the user's is not replaced unasked, wherever it is.
  fs::create_directories(path("mine"));
  write("mine/explanation.html", "precious");
  expect_one_line_error(run_igx("explain hello --out-dir " + path("mine")), "explanation.html' already exists",
                        igx::kExitUsage);
  std::ifstream kept(path("mine/explanation.html"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "precious");
  EXPECT_FALSE(fs::exists(path("mine/explanation.json")));
}

TEST_F(Cli, FlagsThatDoNotApplyToTheInputAreErrors) {
  const std::string digit = igx_test::digit(3);
  const std::string tensor = "explain --model " + model("linear3") + " --input " + path("x.json");
  expect_one_line_error(run_igx("explain hello --heatmap " + path("h.png") + " --out-dir " + path("o1")),
                        "--heatmap applies to images", igx::kExitUsage);
  expect_one_line_error(run_igx("explain --image " + digit + " --html " + path("h.html") + " --out-dir " + path("o2")),
                        "--html applies to texts", igx::kExitUsage);
  expect_one_line_error(run_igx("explain --image " + digit + " --words --out-dir " + path("o3")),
                        "--words does not apply here", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --out-dir " + path("o4")), "--out-dir applies to texts and images", igx::kExitUsage);
  expect_one_line_error(run_igx("explain hello --entry embed --out-dir " + path("o5")), "--entry applies to --input", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --anchors 8"), "--anchors does not apply here", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --steps 8 --tolerance 0.01"), "--tolerance does not apply here", igx::kExitUsage);
  EXPECT_FALSE(fs::exists(path("o1")));  // refused before any folder is made
  // --npy with texts writes the attributions on the word embeddings, [B, T, D].
  const auto result = run_igx("explain \"free prize\" \"hi\" --steps 4 --out-dir " + path("t") + " --npy " + path("t.npy"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const igx::NdArray npy = igx::read_npy(path("t.npy"));
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("t") + "/explanation.json"));
  EXPECT_EQ(npy.shape, json["shape"].get<std::vector<int64_t>>());
  EXPECT_EQ(npy.shape[1], static_cast<int64_t>(json["examples"][0]["tokens"].size()));
}

TEST_F(Cli, LayerPatchNeuronsShareOutThePatch) {
  const std::string digit = igx_test::digit(5);
  const auto result = run_igx("layer --image " + digit + " --method patch --patch 4,4,16,16 --steps 16 --out-dir " + path("layer"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("layer") + "/layer.json"));
  EXPECT_EQ(json["layer"], "features");
  EXPECT_EQ(json["examples"][0]["channel_sums"].size(), 32u);
  EXPECT_NEAR(json["examples"][0]["attribution_sum"].get<double>(),
              json["examples"][0]["patch_input_attribution"].get<double>(), 1e-3);
  EXPECT_TRUE(fs::exists(path("layer") + "/layer-patch.png"));
  expect_one_line_error(run_igx("layer --image " + digit + " --method patch --out-dir " + path("l2")), "--patch",
                        igx::kExitUsage);
  expect_one_line_error(run_igx("layer --image " + digit + " --layer conv9 --out-dir " + path("l3")), "'conv9'", igx::kExitUsage);
  expect_one_line_error(run_igx("layer --image " + digit + " --method patch --patch 1,2,3 --out-dir " + path("l4")), "x0,y0,x1,y1", igx::kExitUsage);
}

// Neuron conductance of channel 14, y 2, x 5 of mnist-cnn's feature map (flat 14*49 + 2*7 + 5 =
// 705, the neuron with the largest conductance for this digit): its pixels sum to that neuron's
// conductance, which patch -> neuron IG with the whole image as the patch gives too.
TEST_F(Cli, LayerNeuronConductanceDrawsThePixels) {
  const std::string digit = igx_test::digit(5);
  const auto result =
      run_igx("layer --image " + digit + " --method neuron-conductance --neuron 705 --steps 8 --out-dir " + path("nc"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("neuron 705 (channel 14, y 2, x 5)"), std::string::npos) << result.output;
  EXPECT_TRUE(fs::exists(path("nc") + "/layer-neuron-conductance.png"));
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("nc") + "/layer.json"));
  EXPECT_EQ(json["shape"], (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(json["neurons"], (std::vector<int64_t>{705}));
  EXPECT_EQ(json["layer_shape"], (std::vector<int64_t>{32, 7, 7}));
  const double sum = json["examples"][0]["attribution_sum"].get<double>();
  ASSERT_EQ(run_igx("layer --image " + digit + " --method patch --patch 0,0,28,28 --steps 8 --out-dir " + path("nc2")).exit_code, 0);
  const nlohmann::json patch = nlohmann::json::parse(std::ifstream(path("nc2") + "/layer.json"));
  const double expected = patch["examples"][0]["attributions"][14][2][5].get<double>();
  EXPECT_GT(std::abs(expected), 0.1);
  EXPECT_NEAR(sum, expected, 1e-4 * (1 + std::abs(expected)));
  expect_one_line_error(run_igx("layer --image " + digit + " --method neuron-conductance --out-dir " + path("nc3")), "--neuron J", igx::kExitUsage);
  expect_one_line_error(run_igx("layer --image " + digit + " --method neuron-conductance --neuron 1568 --out-dir " + path("nc4")),
                        "neuron 1568 is not in layer 'features'", igx::kExitUsage);
  expect_one_line_error(run_igx("layer --image " + digit + " --method neuron-conductance --neuron x --out-dir " + path("nc5")),
                        "--neuron 'x'", igx::kExitUsage);
}

}  // namespace
