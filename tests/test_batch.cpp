// Explaining data sets (igx/batch.h): reading JSONL, .npy stacks and picture folders, one record
// per input equal to the explanation of that input, failures isolated to their input, and the
// statistics of the records. igx batch's runs, resume and MPI are tests/python/test_batch.py.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "igx/batch.h"
#include "igx/tensor_io.h"

#include "test_models.h"
#include "cli_test.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::error_of;
using igx_test::shipped_model;
using nlohmann::json;

class BatchData : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("igx_batch_data_" + std::to_string(::getpid()) + "_" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string path = (folder_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  fs::path folder_;
};

// F(x) = W x + b with W [2, 3]: IG from 0 is W[c] * x exactly.
std::shared_ptr<igx::Explainer> linear_explainer() {
  const torch::Tensor weight = torch::tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.25}}, torch::kDouble);
  const torch::Tensor bias = torch::tensor({0.5, 0.0}, torch::kDouble);
  return igx::Explainer::from_model(std::make_shared<igx::FunctionModel>(igx_test::linear(weight, bias)), "linear");
}

TEST_F(BatchData, JsonlTextsWithIdsLabelsAndLineNumbers) {
  const std::string path =
      write("texts.jsonl", "{\"id\": \"a\", \"text\": \"free cruise\", \"label\": 1}\n\n"
                           "{\"text\": \"see you at lunch\", \"source\": \"x\"}\n{\"id\": 7, \"text\": \"hi\"}\n");
  const igx::BatchData data = igx::read_batch_data(path, igx::Modality::Text);
  EXPECT_EQ(data.format, "jsonl");
  EXPECT_EQ(data.ids, (std::vector<std::string>{"a", "3", "7"}));  // no id: the line number
  EXPECT_EQ(data.texts, (std::vector<std::string>{"free cruise", "see you at lunch", "hi"}));
  EXPECT_EQ(data.labels[0], 1);
  EXPECT_TRUE(data.labels[1].is_null());
  const igx::ExplainRequest request = data.request(1, 2);
  EXPECT_EQ(request.texts, (std::vector<std::string>{"see you at lunch", "hi"}));
  EXPECT_EQ(request.ids, (std::vector<std::string>{"3", "7"}));
  EXPECT_TRUE(contains(error_of([&] { data.request(2, 2); }), "not in a data set of 3"));

  // The fingerprint follows the bytes.
  const std::string before = data.fingerprint;
  EXPECT_EQ(igx::content_fingerprint(path), before);
  write("texts.jsonl", "{\"id\": \"a\", \"text\": \"free cruise!\"}\n");
  EXPECT_NE(igx::read_batch_data(path, igx::Modality::Text).fingerprint, before);
}

TEST_F(BatchData, BadDataNamesTheFileLineAndWhatWasExpected) {
  const auto error_for = [&](const std::string& content, igx::Modality modality = igx::Modality::Text) {
    return error_of([&] { igx::read_batch_data(write("bad.jsonl", content), modality); });
  };
  EXPECT_TRUE(contains(error_for("{\"text\": \"a\"}\n{\"image\": \"b.png\"}\n"), "bad.jsonl line 2 has \"image\""));
  EXPECT_TRUE(contains(error_for("{\"id\": 1, \"text\": \"a\"}\n{\"id\": \"1\", \"text\": \"b\"}\n"),
                       "id '1' is given to inputs 0 and 1"));
  EXPECT_TRUE(contains(error_for("{\"text\": \"a\"}\nnot json\n"), "line 2 is not JSON"));
  EXPECT_TRUE(contains(error_for("{\"text\": 3}\n"), "\"text\" must be a string"));
  EXPECT_TRUE(contains(error_for("{\"id\": [1], \"text\": \"a\"}\n"), "\"id\" must be a string or an integer"));
  EXPECT_TRUE(contains(error_for("\n\n"), "holds no inputs"));
  EXPECT_TRUE(contains(error_for("{\"input\": [1, 2]}\n{\"input\": [1, 2, 3]}\n", igx::Modality::Tensor),
                       "line 2: \"input\" has shape"));
  EXPECT_TRUE(contains(error_of([&] { igx::read_batch_data((folder_ / "absent.jsonl").string(), igx::Modality::Text); }),
                       "does not exist"));
  EXPECT_TRUE(contains(error_of([&] { igx::read_batch_data(write("data.csv", "a,b\n"), igx::Modality::Text); }),
                       "neither .jsonl, nor .npy, nor a folder"));
  igx::write_tensor_npy((folder_ / "rows.npy").string(), torch::zeros({2, 3}));
  EXPECT_TRUE(contains(error_of([&] { igx::read_batch_data((folder_ / "rows.npy").string(), igx::Modality::Text); }),
                       "the model explains texts"));
  EXPECT_TRUE(contains(error_of([&] { igx::read_batch_data(folder_.string(), igx::Modality::Tensor); }),
                       "is a folder of pictures"));
}

TEST_F(BatchData, TensorRowsFromNpyAndJsonlAndPicturesFromAFolder) {
  const torch::Tensor rows = torch::arange(12, torch::kFloat).reshape({4, 3});
  igx::write_tensor_npy((folder_ / "rows.npy").string(), rows);
  const igx::BatchData stack = igx::read_batch_data((folder_ / "rows.npy").string(), igx::Modality::Tensor);
  EXPECT_EQ(stack.ids, (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_TRUE(torch::equal(stack.request(2, 2).inputs, rows.narrow(0, 2, 2)));

  const igx::BatchData lines = igx::read_batch_data(
      write("rows.jsonl", "{\"id\": \"x\", \"input\": [1, 2, 3]}\n{\"id\": \"y\", \"input\": [4, 5, 6]}\n"),
      igx::Modality::Tensor);
  EXPECT_EQ(lines.rows.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(lines.rows[1][2].item<double>(), 6.0);

  const fs::path pictures = folder_ / "pictures";
  fs::create_directories(pictures);
  for (const char* name : {"digit_7_0.png", "digit_1_0.png"}) {
    fs::copy_file(shipped_model("mnist-cnn") + "/samples/" + name, pictures / name);
  }
  std::ofstream(pictures / "notes.txt") << "not a picture";
  const igx::BatchData folder = igx::read_batch_data(pictures.string(), igx::Modality::Image);
  EXPECT_EQ(folder.format, "folder");
  EXPECT_EQ(folder.ids, (std::vector<std::string>{"digit_1_0.png", "digit_7_0.png"}));
  EXPECT_EQ(folder.request(1, 1).image_paths, (std::vector<std::string>{(pictures / "digit_7_0.png").string()}));
  const std::string before = folder.fingerprint;
  fs::rename(pictures / "digit_7_0.png", pictures / "digit_9_0.png");
  EXPECT_NE(igx::read_batch_data(pictures.string(), igx::Modality::Image).fingerprint, before);
}

TEST_F(BatchData, RecordsAreEachInputsExplanationWithItsIdAndAFailureStaysWithItsInput) {
  const auto explainer = linear_explainer();
  torch::Tensor rows = torch::tensor({{1.0, 2.0, -1.0}, {0.5, 0.5, 0.5}, {3.0, 0.0, 1.0}}, torch::kDouble);
  igx::write_tensor_npy((folder_ / "rows.npy").string(), rows);
  const igx::BatchData data = igx::read_batch_data((folder_ / "rows.npy").string(), igx::Modality::Tensor);
  igx::ExplainOptions options;
  igx::set_explain_option(options, "target", "0");
  const std::vector<json> records = igx::explain_records(*explainer, data, options, 1, 2);
  ASSERT_EQ(records.size(), 2u);
  double seconds = 0;
  for (size_t k = 0; k < 2; ++k) {
    const json& record = records[k];
    EXPECT_EQ(record["schema"], "igx.explanation/1");
    EXPECT_EQ(record["id"], std::to_string(k + 1));
    EXPECT_EQ(record["item"], k + 1);
    ASSERT_EQ(record["examples"].size(), 1u);
    EXPECT_EQ(record["examples"][0]["id"], std::to_string(k + 1));
    const std::vector<double> attributions = record["examples"][0]["attributions"];
    for (int64_t j = 0; j < 3; ++j) {  // IG of a linear model: W[0] * x
      EXPECT_NEAR(attributions[j], (j + 1) * data.rows[static_cast<int64_t>(k) + 1][j].item<double>(), 1e-12);
    }
    seconds += record["seconds"].get<double>();
    EXPECT_NEAR(record["seconds"].get<double>(),
                record["run"]["seconds"].get<double>() * record["examples"][0]["steps"].get<double>() /
                    (records[0]["examples"][0]["steps"].get<double>() + records[1]["examples"][0]["steps"].get<double>()),
                1e-12);
  }
  EXPECT_NEAR(seconds, records[0]["run"]["seconds"].get<double>(), 1e-9);

  // A non-finite input fails alone; the others of its request are explained as before.
  rows[1][1] = std::nan("");
  igx::write_tensor_npy((folder_ / "rows.npy").string(), rows);
  const igx::BatchData spoiled = igx::read_batch_data((folder_ / "rows.npy").string(), igx::Modality::Tensor);
  const std::vector<json> mixed = igx::explain_records(*explainer, spoiled, options, 0, 3);
  ASSERT_EQ(mixed.size(), 3u);
  EXPECT_EQ(mixed[1]["id"], "1");
  EXPECT_TRUE(contains(mixed[1].value("error", ""), "NaN")) << mixed[1].dump();
  EXPECT_FALSE(mixed[0].contains("error"));
  EXPECT_NEAR(mixed[2]["examples"][0]["attributions"][0].get<double>(), 3.0, 1e-12);

  igx::BatchSummary summary;
  for (const json& record : mixed) summary.add(record);
  const json statistics = summary.to_json();
  EXPECT_EQ(statistics["records"], 3);
  EXPECT_EQ(statistics["explained"], 2);
  EXPECT_EQ(statistics["failed_ids"], json::array({"1"}));
  EXPECT_EQ(statistics["certifiable"], 2);  // adaptive by default
  EXPECT_EQ(statistics["certified_fraction"], 1.0);
  EXPECT_EQ(statistics["steps"]["max"], std::max(mixed[0]["examples"][0]["steps"].get<double>(),
                                                 mixed[2]["examples"][0]["steps"].get<double>()));
}

}  // namespace
