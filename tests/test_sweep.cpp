// igx sweep: its CSV rows are what the library computes for the same instance, rule and n; it
// writes every report file into a folder of its own.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "igx/explainer.h"
#include "igx/igx.h"
#include "igx/image.h"
#include "igx/npy.h"
#include "igx/tensor_io.h"
#include "igx/text.h"

#include "cli_test.h"
#include "test_explainers.h"

namespace {

namespace fs = std::filesystem;

using igx_test::CommandResult;
using igx_test::run_igx;
using igx_test::shipped_model;

using CsvRow = std::map<std::string, std::string>;

std::vector<CsvRow> read_csv(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
  auto split = [](const std::string& text) {
    std::vector<std::string> fields;
    std::stringstream stream(text);
    std::string field;
    while (std::getline(stream, field, ',')) fields.push_back(field);
    if (!text.empty() && text.back() == ',') fields.emplace_back();
    return fields;
  };
  if (std::getline(file, line)) header = split(line);
  while (std::getline(file, line)) {
    const std::vector<std::string> fields = split(line);
    EXPECT_EQ(fields.size(), header.size()) << line;
    CsvRow row;
    for (size_t k = 0; k < std::min(fields.size(), header.size()); ++k) row[header[k]] = fields[k];
    rows.push_back(row);
  }
  return rows;
}

class Sweep : public igx_test::TempFolderTest {
 protected:
  void SetUp() override {
    // The sweeps below run with --threads 1; the library's results they are compared with must
    // come from the same thread pools (OpenBLAS's included), hence the same float rounding.
    igx::set_num_threads(1);
    TempFolderTest::SetUp();
  }
};

TEST_F(Sweep, CsvRelativeErrorsAreTheLibrarys) {
  // Two shipped sample digits as a float [2, 28, 28] stack in [0, 1].
  igx::ImageClassifier classifier = igx::ImageClassifier::load(shipped_model("mnist-cnn"));
  const torch::Tensor pixels = torch::cat({classifier.read_image(shipped_model("mnist-cnn") + "/samples/digit_3_0.png"),
                                           classifier.read_image(shipped_model("mnist-cnn") + "/samples/digit_8_1.png")});
  igx::write_tensor_npy(path("digits.npy"), pixels.squeeze(1));

  const auto result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --data " + path("digits.npy") +
                              " --n 2 --steps 8,4 --rules riemann_right,gausslegendre --tolerances 0.05 --threads 1"
                              " --out-dir " + path("out"));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const std::vector<CsvRow> rows = read_csv(path("out/sweep.csv"));
  ASSERT_EQ(rows.size(), 2u * 2u * 2u);  // instances x rules x n
  for (const CsvRow& row : rows) {
    const int64_t instance = std::stoll(row.at("instance"));
    const torch::Tensor input = pixels[instance].unsqueeze(0);
    const int64_t predicted = igx::predict(classifier.model(), input).item<int64_t>();
    EXPECT_EQ(std::stoll(row.at("prediction")), predicted);
    const igx::Attribution expected = igx::integrated_gradients(
        classifier.model(), input,
        igx::IgOptions()
            .method(igx::parse_rule(row.at("rule")))
            .n_steps(std::stoll(row.at("n")))
            .baseline(igx::Baseline::zero())
            .target(igx::Target::index(predicted))
            .internal_batch_size(256));
    const igx::ExampleReport& report = expected.examples[0];
    ASSERT_TRUE(report.relative_error.has_value());
    EXPECT_NEAR(std::stod(row.at("relative_error")), *report.relative_error, 1e-9 * *report.relative_error + 1e-15)
        << row.at("rule") << " n=" << row.at("n");
    EXPECT_NEAR(std::stod(row.at("delta")), report.delta, 1e-9 * std::abs(report.delta) + 1e-15);
    EXPECT_EQ(std::stoll(row.at("gradient_evaluations")), std::stoll(row.at("n")));
  }
  // Step counts come out sorted.
  EXPECT_EQ(rows[0].at("n"), "4");
  EXPECT_EQ(rows[1].at("n"), "8");

  const std::vector<CsvRow> strategies = read_csv(path("out/adaptive.csv"));
  ASSERT_EQ(strategies.size(), 2u * 2u);  // instances x strategies (doubling, adaptive) x one tolerance
  for (const CsvRow& row : strategies) {
    EXPECT_EQ(row.at("tolerance"), "0.05");
    EXPECT_LE(std::stoll(row.at("gradient_evaluations")), 4096);
    if (row.at("certified") == "true") EXPECT_LE(std::stod(row.at("relative_error")), 0.05);
  }

  const nlohmann::json summary = nlohmann::json::parse(std::ifstream(path("out/summary.json")));
  EXPECT_EQ(summary["instances"], 2);
  EXPECT_EQ(summary["fixed"]["riemann_right"].size(), 2u);
  EXPECT_EQ(summary["strategy_results"].size(), 2u);
  const auto& histogram = summary["ideal_steps"]["gausslegendre"]["0.05"]["histogram"];
  EXPECT_EQ(histogram["4"].get<int>() + histogram["8"].get<int>() + histogram["never"].get<int>(), 2);
  for (const char* file : {"index.html", "mean-relative-error.svg", "relative-error-riemann_right.svg",
                           "relative-error-gausslegendre.svg", "ideal-steps-5pct.svg", "gradient-evaluations.svg"}) {
    EXPECT_TRUE(fs::exists(path("out/") + file)) << file;
  }
  std::ifstream html_file(path("out/index.html"));
  const std::string html((std::istreambuf_iterator<char>(html_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<img src=\"gradient-evaluations.svg\""), std::string::npos);
}

TEST_F(Sweep, TextsFromJsonLines) {
  std::ofstream(path("texts.jsonl")) << "{\"id\": \"a\", \"label\": 1, \"text\": \"WIN a free cruise now, click here\"}\n"
                                     << "{\"id\": \"b\", \"label\": 0, \"text\": \"see you at the meeting\"}\n";
  const auto result = run_igx("sweep --model " + shipped_model("spam-transformer") + " --data " + path("texts.jsonl") +
                              " --n 1 --steps 4 --rules riemann_trapezoid --strategies none --threads 1 --out-dir " +
                              path("out"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::vector<CsvRow> rows = read_csv(path("out/sweep.csv"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("id"), "a");
  EXPECT_EQ(rows[0].at("label"), "1");
  EXPECT_GT(std::stoll(rows[0].at("tokens")), 2);

  igx::TextClassifier classifier = igx::TextClassifier::load(shipped_model("spam-transformer"));
  const igx::TextExplanation explanation = igx::explain_text(
      classifier, {"WIN a free cruise now, click here"}, "riemann_trapezoid", igx::IgOptions().n_steps(4).internal_batch_size(256));
  const igx::ExampleReport& report = explanation.attribution.examples[0];
  EXPECT_EQ(std::stoll(rows[0].at("prediction")), explanation.predictions[0]);
  EXPECT_NEAR(std::stod(rows[0].at("relative_error")), *report.relative_error, 1e-6 * *report.relative_error + 1e-12);
  EXPECT_EQ(read_csv(path("out/adaptive.csv")).size(), 0u);
  // --replot rewrites the reports of a sweep's folder from its CSV files.
  fs::create_directories(path("copy"));
  fs::copy_file(path("out/sweep.csv"), path("copy/sweep.csv"));
  fs::copy_file(path("out/adaptive.csv"), path("copy/adaptive.csv"));
  CommandResult replot = run_igx("sweep --replot " + path("copy"));
  ASSERT_EQ(replot.exit_code, 0) << replot.output;
  EXPECT_TRUE(fs::exists(path("copy/summary.json")));
  EXPECT_TRUE(fs::exists(path("copy/index.html")));
  // Its reports exist now: replotting again replaces them only with --force.
  replot = run_igx("sweep --replot " + path("copy"));
  EXPECT_EQ(replot.exit_code, igx::kExitUsage);
  EXPECT_NE(replot.output.find("--replot: '" + path("copy") + "/summary.json' already exists"), std::string::npos)
      << replot.output;
  EXPECT_EQ(run_igx("sweep --replot " + path("copy") + " --force").exit_code, 0);
}

// The study with the seed's settings: probability of a fixed class, maximum-entropy baseline.
// Its rows are what the explanation service gives for the same options; the heavy-tail counts
// and the where-the-error-sits figures follow from the rows.
TEST_F(Sweep, ExplainOptionsChangeTheStudy) {
  // (The first text needs more gradient evaluations when its attribution vector is certified too.)
  const std::vector<std::string> texts = {"click here to claim your free prize", "see you at the meeting tomorrow"};
  std::ofstream(path("texts.jsonl")) << "{\"id\": \"a\", \"label\": 1, \"text\": \"" << texts[0] << "\"}\n"
                                     << "{\"id\": \"b\", \"label\": 0, \"text\": \"" << texts[1] << "\"}\n";
  const auto result = run_igx("sweep --model " + shipped_model("spam-transformer") + " --data " + path("texts.jsonl") +
                              " --n 2 --steps 2,8 --rules riemann_right --tolerances 0.05 --strategies adaptive"
                              " --output prob --baseline max-entropy:optimize --target 1 --show 1 --threads 1"
                              " --attribution-tolerance 0 --out-dir " + path("out"));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const auto explainer = igx::Explainer::load(shipped_model("spam-transformer"));
  // The adaptive runs certify the sum only (--attribution-tolerance 0): the library's run with
  // the same options, and not the default one, which also certifies the attribution vector.
  const std::vector<CsvRow> adaptive = read_csv(path("out/adaptive.csv"));
  ASSERT_EQ(adaptive.size(), 2u);
  int differ_from_default = 0;
  for (const CsvRow& row : adaptive) {
    std::vector<std::pair<std::string, std::string>> options = {
        {"strategy", "adaptive"}, {"tolerance", "0.05"}, {"output", "prob"}, {"baseline", "max-entropy:optimize"},
        {"target", "1"}};
    igx::ExplainRequest vector_certified = igx_test::with_options(options);
    options.emplace_back("attribution-tolerance", "0");
    igx::ExplainRequest sum_only = igx_test::with_options(options);
    sum_only.texts = vector_certified.texts = {texts[std::stoi(row.at("instance"))]};
    const igx::Explanation expected = explainer->explain(sum_only);
    EXPECT_EQ(std::stoll(row.at("gradient_evaluations")), expected.counts.gradient_rows);
    EXPECT_NEAR(std::stod(row.at("relative_error")), *expected.examples[0].report.relative_error, 1e-9);
    differ_from_default += explainer->explain(vector_certified).counts.gradient_rows != expected.counts.gradient_rows;
  }
  EXPECT_GT(differ_from_default, 0);
  const std::vector<CsvRow> rows = read_csv(path("out/sweep.csv"));
  ASSERT_EQ(rows.size(), 4u);
  std::map<std::pair<int, std::string>, double> errors;  // (instance, n) -> relative error
  for (const CsvRow& row : rows) {
    const int instance = std::stoi(row.at("instance"));
    igx::ExplainRequest request;
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"method", "riemann_right"}, {"steps", row.at("n")}, {"output", "prob"},
             {"baseline", "max-entropy:optimize"}, {"target", "1"}}) {
      igx::set_explain_option(request.options, name, value);
    }
    request.texts = {texts[instance]};
    const igx::ExampleExplanation expected = explainer->explain(request).examples[0];
    EXPECT_EQ(row.at("target"), "1");
    EXPECT_NEAR(std::stod(row.at("baseline_entropy")), *expected.baseline_entropy, 1e-9);
    EXPECT_NEAR(std::stod(row.at("output_baseline")), expected.report.output_baseline, 1e-6);
    EXPECT_NEAR(std::stod(row.at("output_baseline")), 0.5, 2e-3);  // uniform over two classes
    EXPECT_NEAR(std::stod(row.at("relative_error")), *expected.report.relative_error,
                1e-6 * *expected.report.relative_error + 1e-9);
    errors[{instance, row.at("n")}] = std::stod(row.at("relative_error"));
  }

  const nlohmann::json summary = nlohmann::json::parse(std::ifstream(path("out/summary.json")));
  EXPECT_EQ(summary["output"], "prob");
  EXPECT_EQ(summary["target"], "1");
  EXPECT_EQ(summary["baseline"], "max-entropy:optimize");
  EXPECT_EQ(summary["attribution_tolerance"], 0.0);
  // The heavy tail at the largest n (1000 is not in the list): the instances above 5 %, and those
  // whose error grows from n = 2 to n = 8.
  const nlohmann::json& tail = summary["heavy_tail"]["riemann_right"];
  EXPECT_EQ(tail["n"], 8);
  int above = 0, growing = 0;
  for (int instance : {0, 1}) {
    above += errors[{instance, "8"}] > 0.05;
    growing += errors[{instance, "8"}] > errors[{instance, "2"}] && errors[{instance, "8"}] > 1e-5;
  }
  EXPECT_EQ(tail["above"].get<int>(), above);
  EXPECT_EQ(tail["non_monotone"].get<int>(), growing);
  // Where the error sits: the instance of largest error at n = 8 is the one shown.
  const nlohmann::json& where = summary["where"]["riemann_right"];
  ASSERT_EQ(where["worst"].size(), 1u);
  const int worst = errors[{0, "8"}] >= errors[{1, "8"}] ? 0 : 1;
  EXPECT_EQ(where["worst"][0]["instance"].get<int>(), worst);
  EXPECT_TRUE(fs::exists(path("out/where-riemann_right.html")));

  // features.jsonl: the fixed run's token attributions at n = 8 add up to its attribution sum, and
  // the accurate (adaptive 5 %) ones to F(x) - F(x') within the certified 5 %.
  std::ifstream features(path("out/features.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(features, line); ++lines) {
    const nlohmann::json row = nlohmann::json::parse(line);
    const int instance = row["instance"].get<int>();
    const std::vector<double> fixed = row["fixed"]["riemann_right"].get<std::vector<double>>();
    double sum = 0;
    for (double value : fixed) sum += value;
    for (const CsvRow& csv : rows) {
      if (std::stoi(csv.at("instance")) == instance && csv.at("n") == "8") {
        EXPECT_NEAR(sum, std::stod(csv.at("attribution_sum")), 1e-6);
      }
    }
    EXPECT_EQ(row["tokens"].size(), fixed.size());
    EXPECT_EQ(row["reference_label"], "adaptive 0.05");
  }
  EXPECT_EQ(lines, 2);
  std::ifstream html_file(path("out/index.html"));
  const std::string html((std::istreambuf_iterator<char>(html_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("Where the error sits"), std::string::npos);
  EXPECT_NE(html.find("The heavy tail"), std::string::npos);
}

// The heavy tail's "RE growing with n" counts errors that grow to above the float32 rounding
// level (1e-5), not Gauss-Legendre wandering between 6e-8 and 3e-7 once it has converged: the
// summary of crafted errors, through --replot.
TEST_F(Sweep, GrowingErrorsAtTheRoundingLevelAreNoTail) {
  std::ofstream(path("texts.jsonl")) << "{\"id\": \"a\", \"label\": 1, \"text\": \"WIN a free cruise now\"}\n"
                                     << "{\"id\": \"b\", \"label\": 0, \"text\": \"see you at the meeting\"}\n";
  const auto result = run_igx("sweep --model " + shipped_model("spam-transformer") + " --data " + path("texts.jsonl") +
                              " --n 2 --steps 2,4 --rules gausslegendre --tolerances 0.05 --strategies none"
                              " --threads 1 --out-dir " + path("out"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // (instance, n) -> the relative error written into sweep.csv.
  const std::map<std::pair<std::string, std::string>, std::string> crafted = {
      {{"0", "2"}, "6e-08"}, {{"0", "4"}, "3e-07"}, {{"1", "2"}, "0.01"}, {{"1", "4"}, "0.02"}};
  std::ifstream in(path("out/sweep.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream stream(line);
    for (std::string field; std::getline(stream, field, ',');) header.push_back(field);
  }
  std::ostringstream rewritten;
  rewritten << line << "\n";
  int replaced = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream stream(line);
    for (std::string field; std::getline(stream, field, ',');) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    ASSERT_EQ(fields.size(), header.size()) << line;
    std::map<std::string, size_t> column;
    for (size_t k = 0; k < header.size(); ++k) column[header[k]] = k;
    fields[column.at("relative_error")] = crafted.at({fields[column.at("instance")], fields[column.at("n")]});
    ++replaced;
    for (size_t k = 0; k < fields.size(); ++k) rewritten << (k ? "," : "") << fields[k];
    rewritten << "\n";
  }
  ASSERT_EQ(replaced, 4);
  in.close();
  std::ofstream(path("out/sweep.csv")) << rewritten.str();
  const auto replot = run_igx("sweep --replot " + path("out") + " --force");
  ASSERT_EQ(replot.exit_code, 0) << replot.output;
  const nlohmann::json summary = nlohmann::json::parse(std::ifstream(path("out/summary.json")));
  const nlohmann::json& tail = summary["heavy_tail"]["gausslegendre"];
  EXPECT_EQ(tail["n"], 4);
  EXPECT_EQ(tail["above"].get<int>(), 0);         // 3e-7 and 2 % are within 5 %
  EXPECT_EQ(tail["non_monotone"].get<int>(), 1);  // instance 1 only
  EXPECT_EQ(tail["rounding_level"].get<double>(), 1e-5);
}

TEST_F(Sweep, RefusesToReplaceAnEarlierSweepAndBadFlags) {
  fs::create_directories(path("earlier"));
  std::ofstream(path("earlier/sweep.csv")) << "precious\n";
  auto result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --data " + path("none.npy") + " --out-dir " + path("earlier"));
  EXPECT_EQ(result.exit_code, igx::kExitUsage);
  EXPECT_NE(result.output.find("sweep.csv' already exists; igx replaces files only with --force"), std::string::npos)
      << result.output;
  result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --tolerances 5 --out-dir " + path("o"));
  EXPECT_EQ(result.exit_code, igx::kExitUsage);
  EXPECT_NE(result.output.find("igx: error: --tolerances: expected a number in (0, 1), got 5"), std::string::npos)
      << result.output;
  result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --steps 16,1 --out-dir " + path("o"));
  EXPECT_EQ(result.exit_code, igx::kExitUsage);
  EXPECT_NE(result.output.find("--steps: expected an integer ≥ 2, got 1"), std::string::npos) << result.output;
  result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --rules simpson --out-dir " + path("o"));
  EXPECT_EQ(result.exit_code, igx::kExitUsage);
  EXPECT_NE(result.output.find("simpson"), std::string::npos) << result.output;
  result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --target 1,2 --out-dir " + path("o"));
  EXPECT_EQ(result.exit_code, igx::kExitUsage);
  EXPECT_NE(result.output.find("one class for every instance"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(path("o")));  // refused runs leave no folder behind
  result = run_igx("sweep --model " + shipped_model("mnist-cnn") + " --data " + path("missing.npy") + " --out-dir " + path("o"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("missing.npy"), std::string::npos) << result.output;
}

}  // namespace
