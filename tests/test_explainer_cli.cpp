// The library and the command line give the same explanation: for each modality and method, a
// request built with the library and `igx explain` (or `igx layer`) on the same input and
// options must produce the same JSON, number for number.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "igx/explainer.h"
#include "igx/runtime.h"
#include "igx/tensor_io.h"

#include "cli_test.h"
#include "test_support.h"

namespace {

using igx_test::shipped_model;

namespace fs = std::filesystem;

using Options = std::vector<std::pair<std::string, std::string>>;

struct Case {
  std::string name;
  std::string command;  // "explain" or "layer"
  std::string model;    // bundle folder or .pt file
  std::vector<std::string> texts;
  std::vector<std::string> images;
  std::string input;  // tensor file, written by the fixture
  Options options;
};

// Test names show the case's name, not its bytes.
void PrintTo(const Case& test, std::ostream* out) { *out << test.name; }

const std::string kSpam = shipped_model("spam-transformer");
const std::string kMnist = shipped_model("mnist-cnn");
const std::string kMlp = std::string(IGX_TEST_MODELS_DIR) + "/mlp.pt";
std::string digit(int label) { return kMnist + "/samples/digit_" + std::to_string(label) + "_0.png"; }

const std::vector<std::string> kTexts = {"win a free prize now", "see you at lunch"};
const std::vector<std::string> kDigits = {digit(3), digit(7)};

std::vector<Case> cases() {
  return {
      {"text_adaptive", "explain", kSpam, kTexts, {}, "", {{"tolerance", "0.05"}, {"max-steps", "64"}, {"words", "true"}}},
      {"text_gausslegendre", "explain", kSpam, kTexts, {}, "", {{"method", "gausslegendre"}, {"steps", "8"}}},
      {"text_saliency", "explain", kSpam, kTexts, {}, "", {{"method", "saliency"}}},
      {"text_inputxgradient", "explain", kSpam, kTexts, {}, "", {{"method", "inputxgradient"}}},
      {"text_dig_greedy", "explain", kSpam, kTexts, {}, "", {{"method", "dig-greedy"}, {"anchors", "4"}, {"neighbours", "20"}}},
      {"text_dig_maxcount", "explain", kSpam, kTexts, {}, "",
       {{"method", "dig-maxcount"}, {"anchors", "4"}, {"neighbours", "20"}, {"upscale", "2"}}},
      {"text_sig", "explain", kSpam, kTexts, {}, "", {{"method", "sig"}, {"steps", "4"}, {"baseline", "unk"}}},
      {"image_adaptive", "explain", kMnist, {}, kDigits, "", {{"tolerance", "0.05"}}},
      {"image_trapezoid", "explain", kMnist, {}, kDigits, "",
       {{"method", "riemann_trapezoid"}, {"steps", "8"}, {"baseline", "blur:2"}}},
      {"image_saliency", "explain", kMnist, {}, kDigits, "", {{"method", "saliency"}, {"output", "prob"}}},
      {"image_inputxgradient", "explain", kMnist, {}, kDigits, "", {{"method", "inputxgradient"}, {"target", "1"}}},
      {"image_noise_baselines", "explain", kMnist, {}, kDigits, "", {{"baselines", "noise:3:0.2"}, {"steps", "4"}, {"seed", "1"}}},
      {"image_expected_gradients", "explain", kMnist, {}, kDigits, "",
       {{"baselines", "noise:3"}, {"expected-gradients", "20"}, {"seed", "2"}}},
      {"layer_conductance", "layer", kMnist, {}, {digit(5)}, "", {{"method", "conductance"}, {"steps", "8"}}},
      {"layer_internal_influence", "layer", kMnist, {}, {digit(5)}, "", {{"method", "internal-influence"}, {"steps", "8"}}},
      {"layer_ig", "layer", kMnist, {}, {digit(5)}, "", {{"method", "layer-ig"}, {"steps", "8"}}},
      {"layer_patch", "layer", kMnist, {}, {digit(5)}, "", {{"method", "patch"}, {"patch", "4,4,16,16"}, {"steps", "8"}}},
      {"layer_neuron_conductance", "layer", kMnist, {}, {digit(5)}, "",
       {{"method", "neuron-conductance"}, {"neuron", "705,12"}, {"steps", "8"}}},
      {"tensor_adaptive", "explain", kMlp, {}, {}, "x.json", {}},
      {"tensor_doubling", "explain", kMlp, {}, {}, "x.json", {{"strategy", "doubling"}, {"tolerance", "0.001"}}},
      {"tensor_riemann_middle", "explain", kMlp, {}, {}, "x.json", {{"method", "riemann_middle"}, {"steps", "16"}, {"target", "1"}}},
      {"tensor_saliency", "explain", kMlp, {}, {}, "x.json", {{"method", "saliency"}, {"output", "logprob"}}},
      {"tensor_file_baselines", "explain", kMlp, {}, {}, "x.json", {{"baselines", "BASELINES"}, {"steps", "8"}}},
      {"tensor_expected_gradients", "explain", kMlp, {}, {}, "x.json",
       {{"baselines", "BASELINES"}, {"expected-gradients", "30"}, {"seed", "4"}}},
  };
}

class ExplainerMatchesTheCli : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    directory_ = fs::temp_directory_path() / ("igx_explainer_cli_" + std::to_string(::getpid()));
    fs::create_directories(directory_);
    std::ofstream(path("x.json")) << "[[1,2,3,4,5,6,7,8], [0.5,-1,0,2,1,1,-3,0.25]]";
    std::ofstream(path("baselines.json")) << "[[0,0,0,0,0,0,0,0], [1,1,1,1,-1,-1,-1,-1], [0.5,0,0.5,0,0.5,0,0.5,0]]";
    // The command runs on all cores; so does this process, so that every reduction splits alike.
    igx::set_num_threads(0);
  }
  static void TearDownTestSuite() { fs::remove_all(directory_); }
  static std::string path(const std::string& name) { return (directory_ / name).string(); }
  static inline fs::path directory_;
};

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// Removes what differs by nature: the wall time, and the files a command writes.
nlohmann::json comparable(nlohmann::json json) {
  json["run"].erase("seconds");
  json.erase("picture");
  for (auto& example : json["examples"]) example.erase("heatmap");
  return json;
}

// Equal JSON, numbers equal to the last bits a different process may round differently.
void expect_same(const nlohmann::json& cli, const nlohmann::json& library, const std::string& where) {
  if (cli.is_number() && library.is_number()) {
    // A parsed 3 is unsigned, a written one signed; a float stays a float.
    ASSERT_EQ(cli.is_number_float(), library.is_number_float()) << where;
    const double a = cli.get<double>(), b = library.get<double>();
    EXPECT_NEAR(a, b, 1e-12 * std::max(1.0, std::abs(a))) << where;
    return;
  }
  ASSERT_EQ(cli.type(), library.type()) << where;
  if (cli.is_object()) {
    for (const auto& [key, value] : cli.items()) {
      ASSERT_TRUE(library.contains(key)) << where << "/" << key << " only in the command's JSON";
      expect_same(value, library[key], where + "/" + key);
    }
    for (const auto& [key, value] : library.items()) {
      EXPECT_TRUE(cli.contains(key)) << where << "/" << key << " only in the library's JSON";
    }
  } else if (cli.is_array()) {
    ASSERT_EQ(cli.size(), library.size()) << where;
    for (size_t i = 0; i < cli.size(); ++i) expect_same(cli[i], library[i], where + "/" + std::to_string(i));
  } else {
    EXPECT_EQ(cli, library) << where;
  }
}

TEST_P(ExplainerMatchesTheCli, SameJson) {
  const Case& test = GetParam();
  const std::string out = path(test.name);
  igx::ExplainRequest request;
  request.texts = test.texts;
  request.image_paths = test.images;
  std::string arguments = test.command + " --model " + quoted(test.model);
  for (const std::string& text : test.texts) arguments += " " + quoted(text);
  for (const std::string& image : test.images) arguments += " --image " + quoted(image);
  if (!test.input.empty()) {
    arguments += " --input " + quoted(path(test.input)) + " --out " + quoted(out + ".json");
    request.inputs = igx::read_tensor(path(test.input));
  } else {
    arguments += " --out-dir " + quoted(out);
  }
  for (const auto& [name, given] : test.options) {
    const std::string value = given == "BASELINES" ? path("baselines.json") : given;
    igx::set_explain_option(request.options, name, value);
    arguments += name == "words" ? " --words" : " --" + name + " " + quoted(value);
  }
  const igx_test::CommandResult result = igx_test::run_igx(arguments);
  ASSERT_EQ(result.exit_code, 0) << arguments << "\n" << result.output;
  const std::string written = !test.input.empty()           ? out + ".json"
                              : test.command == "layer" ? out + "/layer.json"
                                                        : out + "/explanation.json";
  const nlohmann::json cli = nlohmann::json::parse(std::ifstream(written));

  const igx::Explanation explanation = igx::Explainer::load(test.model)->explain(request);
  const nlohmann::json library = igx::to_json(explanation);
  EXPECT_EQ(library["schema"], "igx.explanation/1");
  expect_same(comparable(cli), comparable(library), test.name);
}

INSTANTIATE_TEST_SUITE_P(EveryModalityAndMethod, ExplainerMatchesTheCli, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ExplanationDocs, EveryOptionIsDocumented) {
  std::ifstream file(std::string(IGX_SOURCE_DIR) + "/docs/explanation-api.md");
  const std::string page((std::istreambuf_iterator<char>(file)), {});
  for (const igx::ExplainOptionInfo& option : igx::explain_option_table()) {
    EXPECT_NE(page.find("`--" + option.name + "`"), std::string::npos) << option.name;
  }
}

}  // namespace
