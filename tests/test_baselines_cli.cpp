// igx explain --baselines FILE|train:N|noise:N[:SIGMA] and --expected-gradients: distribution
// baselines on the command line, checked against closed forms; none of it needs .cache data.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "igx/datasets.h"
#include "igx/npy.h"

#include "cli_test.h"

namespace {

namespace fs = std::filesystem;

using igx_test::CommandResult;
using igx_test::digit;
using igx_test::run_igx;

class BaselinesCli : public igx_test::TempFolderTest {
 protected:
  void SetUp() override {
    TempFolderTest::SetUp();
    write("x.json", "[[1.0, 2.0, -1.0], [0.5, 0.5, 0.5]]");
    // Mean baseline (1, 1/3, 0).
    write("b.json", "[[0, 0, 0], [1, 1, -1], [2, 0, 1]]");
  }
  static std::string model(const std::string& name) { return igx_test::test_model(name); }
  nlohmann::json run_json(const std::string& arguments, const std::string& out) const {
    const CommandResult result = run_igx(arguments + " --out " + path(out));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    last_output_ = result.output;
    return nlohmann::json::parse(std::ifstream(path(out)));
  }
  mutable std::string last_output_;
};

// F = W x + b, W[0] = (1, 2, 3), b[0] = 0.5: distribution IG = W[0] * (x - mean x'), and
// F(x) - E[F(X')] = W[0] . (x - mean x') exactly.
TEST_F(BaselinesCli, FileBaselinesOnATensorMatchTheClosedForm) {
  const nlohmann::json json = run_json(
      "explain --model " + model("linear3") + " --input " + path("x.json") + " --target 0 --baselines " + path("b.json"),
      "r.json");
  EXPECT_NE(last_output_.find("in expectation over 3 baselines"), std::string::npos) << last_output_;
  EXPECT_NE(json["run"]["baseline"].get<std::string>().find("3 from"), std::string::npos);
  const auto& first = json["examples"][0];
  const std::vector<double> expected = {0.0, 2.0 * (2.0 - 1.0 / 3.0), -3.0};
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(first["attributions"][i].get<double>(), expected[i], 1e-5) << i;
  EXPECT_NEAR(first["output_baseline"].get<double>(), 1.0 + 2.0 / 3.0 + 0.5, 1e-5);
  EXPECT_NEAR(first["gap_in_expectation"].get<double>(), 2.5 - (1.0 + 2.0 / 3.0 + 0.5), 1e-5);
  EXPECT_NEAR(first["delta"].get<double>(), 0.0, 1e-5);
  EXPECT_EQ(first["baseline_count"], 3);
  EXPECT_EQ(first["certified"], true);  // adaptive by default, per pair
}

TEST_F(BaselinesCli, ExpectedGradientsReportStandardErrors) {
  const std::string base =
      "explain --model " + model("linear3") + " --input " + path("x.json") + " --target 0 --baselines " + path("b.json");
  const nlohmann::json json = run_json(base + " --expected-gradients 400 --seed 3", "eg.json");
  EXPECT_NE(json["run"]["method"].get<std::string>().find("expected gradients (400 samples"), std::string::npos);
  EXPECT_NE(last_output_.find("standard error"), std::string::npos) << last_output_;
  const auto& first = json["examples"][0];
  EXPECT_EQ(first["steps"], 400);
  ASSERT_EQ(first["standard_errors"].size(), 3u);
  // Each feature's estimate lies within a few standard errors of the exact value. For a linear
  // model alpha does not matter, only the drawn baseline, and every feature of x' varies over them.
  const std::vector<double> expected = {0.0, 2.0 * (2.0 - 1.0 / 3.0), -3.0};
  for (size_t i = 0; i < 3; ++i) {
    const double error = first["standard_errors"][i].get<double>();
    EXPECT_GT(error, 0.0) << i;
    EXPECT_LT(std::abs(first["attributions"][i].get<double>() - expected[i]), 5 * error + 1e-6) << i;
  }
  EXPECT_GT(first["sum_standard_error"].get<double>(), 0.0);
  // The same seed gives the same draws; another seed others.
  const nlohmann::json again = run_json(base + " --expected-gradients 400 --seed 3", "eg2.json");
  const nlohmann::json other = run_json(base + " --expected-gradients 400 --seed 4", "eg3.json");
  EXPECT_EQ(again["examples"][0]["attributions"], first["attributions"]);
  EXPECT_NE(other["examples"][0]["attributions"], first["attributions"]);
}

TEST_F(BaselinesCli, NoiseAroundTheInputIsCompleteInExpectation) {
  const std::string base = "explain --model " + model("mlp") + " --input " + write("m.json", "[[1,2,3,4,5,6,7,8]]");
  const nlohmann::json json = run_json(base + " --baselines noise:6:0.3 --seed 2 --tolerance 0.001", "n.json");
  const auto& first = json["examples"][0];
  EXPECT_EQ(first["baseline_count"], 6);
  EXPECT_EQ(first["certified"], true);
  EXPECT_LE(std::abs(first["delta"].get<double>()), 1e-3 * std::abs(first["gap_in_expectation"].get<double>()) + 1e-6);
  EXPECT_NE(json["run"]["baseline"].get<std::string>().find("Gaussian around the input (sigma 0.3, seed 2)"),
            std::string::npos);
}

TEST_F(BaselinesCli, ImagesWithNoiseAndFileBaselines) {
  const nlohmann::json noise = run_json("explain --image " + digit(3) + " --baselines noise:4 --steps 16 --out-dir " +
                                            path("img"),
                                        "noise.json");
  EXPECT_TRUE(fs::exists(path("img") + "/heatmap-digit_3_0.png"));
  EXPECT_EQ(noise["examples"][0]["baseline_count"], 4);
  EXPECT_EQ(noise["examples"][0]["prediction_label"], "3");
  EXPECT_EQ(noise["examples"][0]["steps"], 4 * 16);

  // Two images as a stack [M, H, W] of floats in [0, 1]: black and mid-grey.
  igx::NdArray stack;
  stack.shape = {2, 28, 28};
  stack.values.assign(2 * 28 * 28, 0.0);
  std::fill(stack.values.begin() + 28 * 28, stack.values.end(), 0.5);
  stack.dtype = "f4";
  igx::write_npy(path("grey.npy"), stack);
  const nlohmann::json file = run_json("explain --image " + digit(7) + " --baselines " + path("grey.npy") +
                                           " --tolerance 0.01 --out-dir " + path("img2"),
                                       "file.json");
  const auto& first = file["examples"][0];
  EXPECT_EQ(first["baseline_count"], 2);
  EXPECT_EQ(first["certified"], true);
  EXPECT_LE(std::abs(first["delta"].get<double>()), 1e-2 * std::abs(first["gap_in_expectation"].get<double>()) + 1e-5);
  // F at the black baseline is the plain run's F(x'); the mean with grey differs from it.
  const nlohmann::json black = run_json("explain --image " + digit(7) + " --steps 8 --out-dir " + path("img3"), "black.json");
  EXPECT_NE(first["output_baseline"].get<double>(), black["examples"][0]["output_baseline"].get<double>());
}

TEST_F(BaselinesCli, TrainingBaselinesNeedTheData) {
  const std::string missing = path("no-data");
  ::setenv("IGX_DATA_DIR", missing.c_str(), 1);
  const CommandResult result = run_igx("explain --image " + digit(3) + " --baselines train:8 --out-dir " + path("t"));
  ::unsetenv("IGX_DATA_DIR");
  expect_one_line_error(result, "bash scripts/fetch_data.sh", igx::kExitFailure);
  EXPECT_NE(result.output.find(missing), std::string::npos) << result.output;
  // With the data (after scripts/fetch_data.sh), 8 training images are drawn.
  if (fs::exists(fs::path(igx::find_data_directory()) / "mnist" / "train.npy")) {
    const nlohmann::json json =
        run_json("explain --image " + digit(3) + " --baselines train:8 --steps 8 --out-dir " + path("t2"), "train.json");
    EXPECT_EQ(json["examples"][0]["baseline_count"], 8);
    EXPECT_NE(json["run"]["baseline"].get<std::string>().find("8 training images"), std::string::npos);
  }
}

TEST_F(BaselinesCli, BadSpecsGiveOneReadableLine) {
  const std::string tensor = "explain --model " + model("linear3") + " --input " + path("x.json");
  expect_one_line_error(run_igx(tensor + " --baselines nowhere.npy"), "'nowhere.npy' is not an existing file",
                        igx::kExitFailure);
  expect_one_line_error(run_igx(tensor + " --baselines noise:0"), "'noise:0' is not valid", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines noise:4:-1"), "SIGMA > 0", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines train:4"), "image bundle", igx::kExitUsage);
  // Finite numbers float32 cannot hold: named as the user wrote them, not as a later +Inf.
  expect_one_line_error(run_igx(tensor + " --baselines noise:4:1e39"), "noise:4:1e+39 draws baselines beyond the range",
                        igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baseline 1e39"), "baseline value 1e+39 is beyond the range",
                        igx::kExitFailure);
  expect_one_line_error(run_igx(tensor + " --expected-gradients 10"), "needs --baselines", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines noise:4 --method saliency"), "--method saliency", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines noise:4 --baseline 1"), "give one of them", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines noise:4 --expected-gradients 1"), "at least 2 samples", igx::kExitUsage);
  expect_one_line_error(run_igx(tensor + " --baselines " + write("wide.json", "[[1, 2]]")), "baselines have shape [1, 2]",
                        igx::kExitFailure);
  expect_one_line_error(run_igx("explain hello --baselines noise:4 --out-dir " + path("o")), "texts take one baseline", igx::kExitUsage);
  const auto help = run_igx("explain --help");
  for (const char* fragment : {"--baselines", "train:N", "noise:N[:SIGMA]", "--expected-gradients", "--seed"}) {
    EXPECT_NE(help.output.find(fragment), std::string::npos) << fragment;
  }
}

}  // namespace
