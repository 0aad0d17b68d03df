#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "igx/error.h"
#include "igx/json_array.h"
#include "../test_support.h"

namespace {

using igx_test::error_of;
using igx_test::contains;

std::string parse_error(const std::string& text) {
  return error_of([&] { igx::parse_json_array(text, "input.json"); });
}

TEST(JsonArray, InfersTheShapeOfNestedArrays) {
  const igx::NdArray matrix = igx::parse_json_array("[[1, 2, 3], [4, 5, 6]]", "input.json");
  EXPECT_EQ(matrix.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(matrix.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(matrix.dtype, "i8");

  const igx::NdArray flat = igx::parse_json_array("[0.5, -1e-3, 2]", "input.json");
  EXPECT_EQ(flat.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(flat.values, (std::vector<double>{0.5, -1e-3, 2}));
  EXPECT_EQ(flat.dtype, "f8");

  const igx::NdArray cube = igx::parse_json_array("[[[1], [2]], [[3], [4]]]", "input.json");
  EXPECT_EQ(cube.shape, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(cube.values, (std::vector<double>{1, 2, 3, 4}));
}

TEST(JsonArray, AcceptsTheShapeAndDataForm) {
  const igx::NdArray array =
      igx::parse_json_array(R"({"shape": [2, 2], "data": [1, 2.5, 3, 4]})", "input.json");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(array.values, (std::vector<double>{1, 2.5, 3, 4}));
  EXPECT_EQ(array.dtype, "f8");
}

TEST(JsonArray, ConvertsAParsedField) {
  const nlohmann::json request = nlohmann::json::parse(R"({"input": [[0, 1]], "target": 3})");
  const igx::NdArray input = igx::json_to_array(request["input"], "request.input");
  EXPECT_EQ(input.shape, (std::vector<int64_t>{1, 2}));
  const std::string message = error_of([] {
    igx::json_to_array(nlohmann::json::array({1.0, std::numeric_limits<double>::quiet_NaN()}),
                       "request.input");
  });
  EXPECT_TRUE(contains(message, "request.input: [1]") && contains(message, "finite")) << message;
}

TEST(JsonArray, NamesThePathOfARaggedElement) {
  std::string message = parse_error("[[1, 2], [3, 4, 5]]");
  EXPECT_TRUE(contains(message, "input.json") && contains(message, "ragged") &&
              contains(message, "[1] has 3 elements but [0] has 2"))
      << message;
  message = parse_error("[[[1], [2]], [[3], 4]]");
  EXPECT_TRUE(contains(message, "[1][1] is a number but [0][0] is an array of 1")) << message;
  message = parse_error("[[1, 2], [3, [4]]]");
  EXPECT_TRUE(contains(message, "[1][1] is an array of 1 but [0][0] is a number")) << message;
}

TEST(JsonArray, NamesThePathAndTypeOfANonNumber) {
  std::string message = parse_error(R"([[1, 2], [3, "x"]])");
  EXPECT_TRUE(contains(message, "[1][1] is the string \"x\", expected a number")) << message;
  message = parse_error("[[1, true]]");
  EXPECT_TRUE(contains(message, "[0][1] is true, expected a number")) << message;
  message = parse_error("[1, null]");
  EXPECT_TRUE(contains(message, "[1] is null")) << message;
  message = parse_error(R"([[1, 2], {"a": 1}])");
  EXPECT_TRUE(contains(message, "[1] is an object, expected an array of 2 like [0]")) << message;
  message = parse_error("7");
  EXPECT_TRUE(contains(message, "expected an array of numbers") && contains(message, "got a number"))
      << message;
}

TEST(JsonArray, RejectsNonFiniteNumbersInEveryDisguise) {
  std::string message = parse_error("[1, NaN]");
  EXPECT_TRUE(contains(message, "invalid JSON") && contains(message, "line 1, column") &&
              contains(message, "no NaN or Infinity"))
      << message;
  message = parse_error("[1, -Infinity]");
  EXPECT_TRUE(contains(message, "no NaN or Infinity")) << message;
  message = parse_error(R"([1, "NaN"])");
  EXPECT_TRUE(contains(message, "[1] is the string \"NaN\"") && contains(message, "no NaN or Infinity"))
      << message;
  message = parse_error(R"({"shape": [2], "data": [1, "-Infinity"]})");
  EXPECT_TRUE(contains(message, "data[1] is the string \"-Infinity\"")) << message;
}

TEST(JsonArray, RejectsEmptyArrays) {
  EXPECT_TRUE(contains(parse_error("[]"), "the array is empty")) << parse_error("[]");
  EXPECT_TRUE(contains(parse_error("[[], []]"), "[0] is empty")) << parse_error("[[], []]");
  EXPECT_TRUE(contains(parse_error(R"({"shape": [], "data": []})"), "shape is an array of 0"));
}

TEST(JsonArray, ChecksTheShapeAndDataForm) {
  std::string message = parse_error(R"({"shape": [2, 3], "data": [1, 2, 3]})");
  EXPECT_TRUE(contains(message, "data has 3 numbers but shape [2,3] needs 6")) << message;
  message = parse_error(R"({"shape": [2, -3], "data": [1]})");
  EXPECT_TRUE(contains(message, "shape[1] is -3, expected a positive integer")) << message;
  message = parse_error(R"({"shape": [2], "data": [[1], [2]]})");
  EXPECT_TRUE(contains(message, "data[0] is an array of 1, expected a number")) << message;
  message = parse_error(R"({"shape": [1], "values": [1]})");
  EXPECT_TRUE(contains(message, "unexpected key \"values\"")) << message;
  message = parse_error(R"({"data": [1]})");
  EXPECT_TRUE(contains(message, "needs both \"shape\" and \"data\"")) << message;
}

TEST(JsonArray, RejectsIntegersADoubleCannotHold) {
  const std::string message = parse_error("[1, 9007199254740993]");
  EXPECT_TRUE(contains(message, "[1] is 9007199254740993") && contains(message, "2^53")) << message;
  EXPECT_EQ(igx::parse_json_array("[-9007199254740992]", "x").values,
            (std::vector<double>{-9007199254740992.0}));
}

TEST(JsonArray, ReadsAFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "igx_json_array_input.json";
  std::ofstream(path) << "{\"shape\": [1, 2],\n \"data\": [0.25, 0.75]}\n";
  EXPECT_EQ(igx::read_json_array(path).values, (std::vector<double>{0.25, 0.75}));

  std::ofstream(path) << "[[1, 2],\n [3, 4,]]\n";
  std::string message = error_of([&] { igx::read_json_array(path); });
  EXPECT_TRUE(contains(message, path) && contains(message, "invalid JSON") && contains(message, "line 2"))
      << message;
  std::remove(path.c_str());

  message = error_of([] { igx::read_json_array("/nonexistent/input.json"); });
  EXPECT_TRUE(contains(message, "/nonexistent/input.json") && contains(message, "cannot open")) << message;
}

}  // namespace
