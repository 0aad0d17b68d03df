#include "igx/markup.h"
#include "igx/text_render.h"

#include <gtest/gtest.h>

#include <cmath>

#include "igx/error.h"

namespace {

igx::TextExplanationView example_view() {
  igx::TextExplanationView view;
  view.tokens = {"[CLS]", "un", "##aff", "##able", "!", "[SEP]"};
  view.scores = {0.0, 0.5, -0.25, 1.0, -2.0, 0.0};
  view.predicted_label = "spam";
  view.predicted_probability = 0.97;
  view.target_label = "spam";
  view.true_label = "ham";
  view.attribution_sum = -0.75;
  view.delta = 0.001;
  view.relative_error = 0.0125;
  view.certified = true;
  view.method = "ig/gausslegendre";
  view.steps = 64;
  return view;
}

size_t count_occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(AttributionColour, GreenForPositiveRedForNegativeWhiteForZero) {
  const igx::Rgb positive = igx::attribution_colour(1.0);
  EXPECT_GT(positive.g, positive.r);
  EXPECT_GT(positive.g, positive.b);
  const igx::Rgb negative = igx::attribution_colour(-1.0);
  EXPECT_GT(negative.r, negative.g);
  EXPECT_GT(negative.r, negative.b);
  const igx::Rgb zero = igx::attribution_colour(0.0);
  EXPECT_EQ(zero.r, 255);
  EXPECT_EQ(zero.g, 255);
  EXPECT_EQ(zero.b, 255);
  const igx::Rgb not_a_number = igx::attribution_colour(std::nan(""));
  EXPECT_EQ(not_a_number.r + not_a_number.g + not_a_number.b, 3 * 255);
}

TEST(AttributionColour, IntensityGrowsWithMagnitudeAndIsClamped) {
  EXPECT_GT(igx::attribution_colour(0.2).r, igx::attribution_colour(0.8).r);
  EXPECT_GT(igx::attribution_colour(-0.2).g, igx::attribution_colour(-0.8).g);
  EXPECT_EQ(igx::attribution_colour(5.0).g, igx::attribution_colour(1.0).g);
  EXPECT_EQ(igx::attribution_colour(-5.0).r, igx::attribution_colour(-1.0).r);
}

TEST(HtmlEscape, EscapesMarkupAndQuotes) {
  EXPECT_EQ(igx::escape_markup("<script>alert(\"x\") & 'y'</script>"),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;");
}

TEST(RenderHtml, IsSelfContainedAndEscapesTokens) {
  igx::TextExplanationView view = example_view();
  view.tokens[1] = "<script>";
  view.tokens[4] = "\"&'";
  const std::string html = igx::render_html({view}, "Spam <report>");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(contains(html, "<meta charset=\"utf-8\">"));
  EXPECT_TRUE(contains(html, "<title>Spam &lt;report&gt;</title>"));
  EXPECT_FALSE(contains(html, "<script>"));
  EXPECT_TRUE(contains(html, ">&lt;script&gt;</mark>"));
  EXPECT_TRUE(contains(html, ">&quot;&amp;&#39;</mark>"));
  EXPECT_FALSE(contains(html, "http://"));
  EXPECT_FALSE(contains(html, "https://"));
  EXPECT_FALSE(contains(html, "<link"));
}

TEST(RenderHtml, OneMarkPerTokenWithScoreAndColour) {
  const igx::TextExplanationView view = example_view();
  igx::TextExplanationView other = example_view();
  other.tokens = {"[CLS]", "hello", "[SEP]"};
  other.scores = {0.0, 0.1, 0.0};
  const std::string html = igx::render_html({view, other}, "report");
  EXPECT_EQ(count_occurrences(html, "class=\"igx-token\""),
            view.tokens.size() + other.tokens.size());
  EXPECT_TRUE(contains(html, "data-score=\"-2\""));
  EXPECT_TRUE(contains(html, "title=\"##aff: -0.25\""));
  // "##aff" is drawn as "aff", joined to "un"; the largest |score| (-2 on "!") is fully red.
  EXPECT_TRUE(contains(html, ">un</mark><mark"));
  EXPECT_TRUE(contains(html, ">aff</mark>"));
  const igx::Rgb full_red = igx::attribution_colour(-1.0);
  EXPECT_TRUE(contains(html, "rgb(" + std::to_string(full_red.r) + "," +
                                 std::to_string(full_red.g) + "," +
                                 std::to_string(full_red.b) + ")\">!</mark>"));
  EXPECT_TRUE(contains(html, "negative</mark>"));
  EXPECT_TRUE(contains(html, "neutral</mark>"));
  EXPECT_TRUE(contains(html, "positive</mark>"));
}

TEST(RenderHtml, ShowsLabelsAndErrors) {
  igx::TextExplanationView view = example_view();
  std::string html = igx::render_html({view}, "report");
  EXPECT_TRUE(contains(html, "<td>ham</td>"));
  EXPECT_TRUE(contains(html, "<td>spam (0.97)</td>"));
  EXPECT_TRUE(contains(html, "<td>0.0125</td>"));
  EXPECT_TRUE(contains(html, "<td>yes</td>"));
  EXPECT_TRUE(contains(html, "<td>ig/gausslegendre, 64 steps</td>"));

  view.relative_error.reset();
  view.true_label.reset();
  view.certified = false;
  html = igx::render_html({view}, "report");
  EXPECT_TRUE(contains(html, "<td>n/a (|F(x)\u2212F(x&#39;)| too small)</td>"));
  EXPECT_TRUE(contains(html, "<td>n/a</td>"));
  EXPECT_TRUE(contains(html, "<td>no</td>"));
}

TEST(RenderHtml, RejectsMismatchedScores) {
  igx::TextExplanationView view = example_view();
  view.scores.pop_back();
  EXPECT_THROW(igx::render_html({view}, "report"), igx::Error);
  EXPECT_THROW(igx::render_terminal(view, false), igx::Error);
}

TEST(RenderTerminal, PlainFallbackWritesScores) {
  const std::string text = igx::render_terminal(example_view(), /*colour=*/false);
  EXPECT_FALSE(contains(text, "\x1b["));
  EXPECT_TRUE(contains(text, "[CLS](+0) un(+0.5) ##aff(-0.25) ##able(+1) !(-2) [SEP](+0)\n"));
  EXPECT_TRUE(contains(text, "predicted spam (0.970), target spam, true ham"));
  EXPECT_TRUE(contains(text, "relative error 0.0125"));
  EXPECT_TRUE(contains(text, "certified yes"));
}

TEST(RenderTerminal, ColourUsesTrueColourBackgrounds) {
  const std::string text = igx::render_terminal(example_view(), /*colour=*/true);
  EXPECT_EQ(count_occurrences(text, "\x1b[48;2;"), example_view().tokens.size());
  EXPECT_FALSE(contains(text, "##"));
  EXPECT_TRUE(contains(text, "un\x1b[0m\x1b[48;2;"));  // "aff" follows "un" without a space
  const igx::Rgb full_red = igx::attribution_colour(-1.0);
  EXPECT_TRUE(contains(text, "\x1b[48;2;" + std::to_string(full_red.r) + ";" +
                                 std::to_string(full_red.g) + ";" +
                                 std::to_string(full_red.b) + "m"));
}

TEST(RenderTerminal, AllZeroScoresAreNeutral) {
  igx::TextExplanationView view = example_view();
  view.scores.assign(view.tokens.size(), 0.0);
  const std::string text = igx::render_terminal(view, true);
  EXPECT_EQ(count_occurrences(text, "\x1b[48;2;255;255;255m"), view.tokens.size());
}

}  // namespace
