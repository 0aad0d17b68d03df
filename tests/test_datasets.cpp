// Readers of the fixed data splits, on small files written here (CI may lack .cache/data).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "igx/datasets.h"
#include "igx/npy.h"
#include "cli_test.h"

namespace {

namespace fs = std::filesystem;

using igx_test::contains;
using igx_test::error_of;

class Datasets : public igx_test::TempFolderTest {
 protected:
  void SetUp() override {
    TempFolderTest::SetUp();
    fs::create_directories(directory_ / "spam");
    fs::create_directories(directory_ / "mnist");
  }
  // [count, 2, 3] uint8 images whose pixel k of image i is 10 * i + k, and labels 7 - i.
  void write_mnist(int64_t count) const {
    igx::NdArray images{{count, 2, 3}, {}, "f8"};
    igx::NdArray labels{{count}, {}, "i8"};
    for (int64_t i = 0; i < count; ++i) {
      for (int k = 0; k < 6; ++k) images.values.push_back(10.0 * i + k);
      labels.values.push_back(7.0 - i);
    }
    write_u1(path("mnist/test.npy"), images);
    igx::write_npy(path("mnist/test_labels.npy"), labels);
  }
  // write_npy writes floats and int64 only; the split is uint8, so write its header by hand.
  static void write_u1(const std::string& file, const igx::NdArray& array) {
    std::string shape = "(";
    for (int64_t extent : array.shape) shape += std::to_string(extent) + ", ";
    shape = shape.substr(0, shape.size() - 2) + ")";
    std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    for (double value : array.values) bytes += static_cast<char>(static_cast<uint8_t>(value));
    std::ofstream(file, std::ios::binary) << bytes;
  }
};

TEST_F(Datasets, ReadsTheSpamSplit) {
  write("spam/test.jsonl",
        "{\"id\": \"spam-1/0001.abc\", \"label\": 1, \"text\": \"WIN a \\\"free\\\" cruise\\nnow\"}\n"
        "\n"
        "{\"id\": \"easy-ham-1/0002.def\", \"label\": 0, \"text\": \"Meeting at 3, caf\\u00e9\"}\n");
  const igx::TextDataset data = igx::read_spam_split(directory_.string());
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data.ids, (std::vector<std::string>{"spam-1/0001.abc", "easy-ham-1/0002.def"}));
  EXPECT_EQ(data.labels, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(data.texts[0], "WIN a \"free\" cruise\nnow");
  EXPECT_EQ(data.texts[1], "Meeting at 3, caf\xc3\xa9");
}

TEST_F(Datasets, TextLinesWithoutIdOrLabelGetTheLineNumberAndMinusOne) {
  const std::string file = write("texts.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\", \"id\": 42}\n");
  const igx::TextDataset data = igx::read_text_jsonl(file);
  EXPECT_EQ(data.ids, (std::vector<std::string>{"1", "42"}));
  EXPECT_EQ(data.labels, (std::vector<int64_t>{-1, -1}));
}

TEST_F(Datasets, BadTextLinesAreNamed) {
  const std::string not_json = write("bad.jsonl", "{\"text\": \"ok\"}\n{text: oops}\n");
  EXPECT_TRUE(contains(error_of([&] { igx::read_text_jsonl(not_json); }), "bad.jsonl line 2: invalid JSON: parse error"));
  const std::string no_text = write("notext.jsonl", "{\"body\": \"x\"}\n");
  EXPECT_TRUE(contains(error_of([&] { igx::read_text_jsonl(no_text); }), "expected an object with a string \"text\""));
  const std::string bad_label = write("label.jsonl", "{\"text\": \"x\", \"label\": \"spam\"}\n");
  EXPECT_EQ(error_of([&] { igx::read_text_jsonl(bad_label); }),
            bad_label + " line 1 (id 1): \"label\" is \"spam\"; expected an integer class index");
  // An empty text is named by file, line and id, not found later by the tokenizer.
  const std::string blank = write("blank.jsonl", "{\"text\": \"fine\"}\n{\"id\": \"b\", \"text\": \" \\n \"}\n");
  EXPECT_EQ(error_of([&] { igx::read_text_jsonl(blank); }),
            blank + " line 2 (id b): \"text\" is empty; expected a text to explain");
  const std::string empty = write("empty.jsonl", "\n\n");
  EXPECT_TRUE(contains(error_of([&] { igx::read_text_jsonl(empty); }), "holds no texts"));
}

TEST_F(Datasets, ReadsTheMnistSplitScaledToTheUnitInterval) {
  write_mnist(3);
  const igx::ImageDataset data = igx::read_mnist_split(directory_.string());
  ASSERT_EQ(data.size(), 3);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{3, 1, 2, 3}));
  EXPECT_EQ(data.images.scalar_type(), torch::kFloat);
  EXPECT_FLOAT_EQ(data.images[2][0][1][2].item<float>(), 25.0f / 255.0f);
  EXPECT_FLOAT_EQ(data.images[0][0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(data.labels, (std::vector<int64_t>{7, 6, 5}));
}

TEST_F(Datasets, FloatImagesMustLieInTheUnitInterval) {
  igx::NdArray images{{1, 1, 2, 2}, {0.0, 0.25, 0.5, 1.0}, "f4"};
  igx::write_npy(path("ok.npy"), images);
  const igx::ImageDataset data = igx::read_image_npy(path("ok.npy"));
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_FLOAT_EQ(data.images[0][0][0][1].item<float>(), 0.25f);
  EXPECT_EQ(data.labels, std::vector<int64_t>{-1});

  images.values[3] = 255.0;
  igx::write_npy(path("bytes_as_float.npy"), images);
  EXPECT_TRUE(contains(error_of([&] { igx::read_image_npy(path("bytes_as_float.npy")); }), "must lie in [0, 1]"));
  igx::write_npy(path("flat.npy"), igx::NdArray{{4}, {0, 0, 0, 0}, "f4"});
  EXPECT_TRUE(contains(error_of([&] { igx::read_image_npy(path("flat.npy")); }), "expected [N, H, W] or [N, C, H, W]"));
}

TEST_F(Datasets, LabelCountMustMatch) {
  write_mnist(2);
  igx::write_npy(path("three_labels.npy"), igx::NdArray{{3}, {1, 2, 3}, "i8"});
  EXPECT_TRUE(contains(error_of([&] { igx::read_image_npy(path("mnist/test.npy"), path("three_labels.npy")); }),
                       "expected (2,), one per image"));
}

TEST_F(Datasets, MissingSplitsSayHowToFetchThem) {
  const std::string spam = error_of([&] { igx::read_spam_split(directory_.string()); });
  EXPECT_TRUE(contains(spam, path("spam/test.jsonl"))) << spam;
  EXPECT_TRUE(contains(spam, "run scripts/fetch_data.sh")) << spam;
  const std::string mnist = error_of([&] { igx::read_mnist_split(directory_.string()); });
  EXPECT_TRUE(contains(mnist, path("mnist/test.npy"))) << mnist;
  EXPECT_TRUE(contains(mnist, "run scripts/fetch_data.sh")) << mnist;
  EXPECT_TRUE(contains(error_of([&] { igx::read_spam_split(directory_.string(), "dev"); }), "expected train, validation or test"));
}

TEST_F(Datasets, DataDirectoryComesFromTheEnvironmentFirst) {
  ::setenv("IGX_DATA_DIR", directory_.c_str(), 1);
  EXPECT_EQ(igx::find_data_directory(), directory_.string());
  ::unsetenv("IGX_DATA_DIR");
}

}  // namespace
