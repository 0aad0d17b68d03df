// JSON from outside: errors name the source and stay one short line.
#include <gtest/gtest.h>

#include "igx/error.h"
#include "igx/json_array.h"
#include "igx/json_text.h"
#include "../test_support.h"

namespace {

using igx_test::contains;
using igx_test::error_of;

TEST(JsonText, NumberOverflowNamesTheSource) {
  const std::string message = error_of([] { igx::parse_json("[1, 1e999]", "x.json"); });
  EXPECT_EQ(message.rfind("x.json: invalid JSON: number overflow parsing '1e999'", 0), 0u) << message;
  EXPECT_TRUE(contains(message, "1.8e308")) << message;
  // The same through the tensor reader, which once let nlohmann's message through without the file.
  EXPECT_TRUE(contains(error_of([] { igx::parse_json_array("[[1e400]]", "input.json"); }), "input.json: invalid JSON"));
}

TEST(JsonText, DeepNestingIsRefusedInOneShortLine) {
  const std::string deep(300000, '[');
  const std::string message = error_of([&] { igx::parse_json(deep + "1" + std::string(300000, ']'), "deep.json"); });
  EXPECT_EQ(message, "deep.json: invalid JSON: arrays and objects nested more than 256 levels deep; expected data "
                     "nested at most 256 levels");
  const std::string tensor = error_of([&] { igx::parse_json_array(deep, "t.json"); });
  EXPECT_LT(tensor.size(), 200u) << tensor.substr(0, 300);
  EXPECT_NO_THROW(igx::parse_json(std::string(100, '[') + std::string(100, ']'), "ok.json"));
}

TEST(JsonText, LongTokensAreClipped) {
  const std::string message = error_of([] { igx::parse_json("{\"a\": \"" + std::string(100000, 'x'), "long.json"); });
  EXPECT_TRUE(contains(message, "long.json: invalid JSON: parse error at line 1, column")) << message;
  EXPECT_LT(message.size(), 400u);
  EXPECT_TRUE(contains(message, "...")) << message;
  EXPECT_TRUE(contains(error_of([] { igx::parse_json("[1, NaN]", "n.json"); }), "JSON has no NaN or Infinity"));
}

TEST(JsonText, ClipKeepsUtf8Whole) {
  EXPECT_EQ(igx::clip_text("abc", 5), "abc");
  EXPECT_EQ(igx::clip_text("abcdef", 3), "abc...");
  EXPECT_EQ(igx::clip_text("ab\xc3\xa9z", 3), "ab...");  // é is not cut in half
}

}  // namespace
