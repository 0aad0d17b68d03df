// The command line of the text path methods: igx explain --method dig-*|sig and igx eval.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "igx/text.h"

#include "cli_test.h"

namespace {

namespace fs = std::filesystem;

using igx_test::CommandResult;
using igx_test::run_igx;

using TextMethodsCli = igx_test::TempFolderTest;

const std::string kModel = " --model " + std::string(IGX_SOURCE_DIR) + "/models/spam-transformer";

TEST_F(TextMethodsCli, ExplainWithDigAndSigWritesTheirPathsAndTokenReports) {
  auto dig = run_igx("explain --method dig-maxcount --anchors 8 --neighbours 50 --no-color \"win a free prize\"" + kModel +
                     " --out-dir " + path("dig"));
  ASSERT_EQ(dig.exit_code, 0) << dig.output;
  EXPECT_NE(dig.output.find("dig maxcount (m=8, K=50, upscale 1)"), std::string::npos) << dig.output;
  nlohmann::json json = nlohmann::json::parse(std::ifstream(path("dig/explanation.json")));
  const auto& example = json["examples"][0];
  EXPECT_EQ(example["steps"], 10);
  const auto& anchors = example["dig_anchors"];
  ASSERT_EQ(anchors.size(), example["tokens"].size());
  EXPECT_TRUE(anchors[0]["anchors"].empty());  // [CLS] stays
  EXPECT_EQ(anchors[1]["anchors"].size(), 8u);

  auto sig = run_igx("explain --method sig --no-color \"win a free prize\"" + kModel + " --out-dir " + path("sig"));
  ASSERT_EQ(sig.exit_code, 0) << sig.output;
  json = nlohmann::json::parse(std::ifstream(path("sig/explanation.json")));
  EXPECT_EQ(json["run"]["baseline"], "mask (per token)");
  const auto& tokens = json["examples"][0]["token_completeness"];
  ASSERT_EQ(tokens.size(), json["examples"][0]["tokens"].size() - 2);
  double sum = 0.0;
  for (const auto& token : tokens) sum += token["attribution_sum"].get<double>();
  EXPECT_NEAR(sum, json["examples"][0]["attribution_sum"].get<double>(), 1e-9);

  auto image = run_igx("explain --method sig --image nothing.png");
  EXPECT_EQ(image.exit_code, igx::kExitUsage);
  EXPECT_NE(image.output.find("explains texts"), std::string::npos) << image.output;
}

TEST_F(TextMethodsCli, EvalWritesTheTableAndTheCommandThatReproducesIt) {
  std::ofstream(path("texts.jsonl")) << "{\"id\": \"a\", \"text\": \"win a free prize now, click here to claim it\"}\n"
                                     << "{\"id\": \"b\", \"text\": \"the meeting moved to friday, see the agenda\"}\n";
  const auto result = run_igx("eval --methods random,dig-greedy --anchors 5 --neighbours 40 --n 2 --data " +
                              path("texts.jsonl") + kModel + " --out " + path("table.md") + " --json " + path("eval.json"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::ifstream markdown(path("table.md"));
  const std::string table((std::istreambuf_iterator<char>(markdown)), std::istreambuf_iterator<char>());
  EXPECT_NE(table.find("Reproduce: `igx eval --methods random,dig-greedy --n 2"), std::string::npos) << table;
  EXPECT_NE(table.find("| dig-greedy |"), std::string::npos) << table;
  const nlohmann::json json = nlohmann::json::parse(std::ifstream(path("eval.json")));
  ASSERT_EQ(json["examples"]["dig-greedy"].size(), 2u);
  EXPECT_EQ(json["examples"]["dig-greedy"][1]["id"], "b");
  EXPECT_TRUE(json["summary"][0]["mean_relative_error"].is_null());  // random claims no completeness

  const auto unknown = run_igx("eval --methods ig,best --n 1" + kModel);
  EXPECT_EQ(unknown.exit_code, igx::kExitUsage);
  EXPECT_NE(unknown.output.find("--methods: expected some of: ig, random, "), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("got 'best'"), std::string::npos) << unknown.output;
}

}  // namespace
