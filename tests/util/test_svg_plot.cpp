// The SVG chart helper: well-formed documents, log-scale ticks, escaped labels, box statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "igx/svg_plot.h"

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t found = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}

// Checks that tags nest and close, that attribute values are quoted and that no raw '&' or '<'
// appears in text: enough of XML to catch what a string-building writer gets wrong.
void expect_well_formed(const std::string& svg) {
  ASSERT_EQ(svg.rfind("<?xml", 0), 0u);
  ASSERT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  std::vector<std::string> open;
  size_t at = svg.find("?>") + 2;
  while (at < svg.size()) {
    const size_t tag = svg.find('<', at);
    const std::string text = svg.substr(at, tag == std::string::npos ? std::string::npos : tag - at);
    for (size_t amp = text.find('&'); amp != std::string::npos; amp = text.find('&', amp + 1)) {
      EXPECT_TRUE(std::regex_search(text.substr(amp), std::regex("^&(amp|lt|gt|quot|#39);"))) << text;
    }
    if (tag == std::string::npos) break;
    const size_t end = svg.find('>', tag);
    ASSERT_NE(end, std::string::npos);
    const std::string element = svg.substr(tag + 1, end - tag - 1);
    ASSERT_EQ(element.find('<'), std::string::npos) << element;
    EXPECT_EQ(count(element, "\"") % 2, 0u) << element;
    if (element[0] == '/') {
      ASSERT_FALSE(open.empty()) << element;
      EXPECT_EQ(open.back(), element.substr(1));
      open.pop_back();
    } else if (element.back() != '/') {
      open.push_back(element.substr(0, element.find(' ')));
    }
    at = end + 1;
  }
  EXPECT_TRUE(open.empty());
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

std::vector<std::string> labels(const std::vector<igx::AxisTick>& ticks) {
  std::vector<std::string> result;
  for (const auto& tick : ticks) {
    if (!tick.label.empty()) result.push_back(tick.label);
  }
  return result;
}

TEST(SvgPlot, LogTicksArePowersOfTenWithUnlabelledMinorTicks) {
  const auto ticks = igx::axis_ticks(1e-4, 10, true);
  EXPECT_EQ(labels(ticks), (std::vector<std::string>{"0.0001", "0.001", "0.01", "0.1", "1", "10"}));
  size_t minor = 0;
  for (const auto& tick : ticks) {
    if (!tick.major) {
      ++minor;
      EXPECT_TRUE(tick.label.empty());
    } else {
      EXPECT_NEAR(std::log10(tick.value), std::round(std::log10(tick.value)), 1e-12);
    }
  }
  EXPECT_EQ(minor, 5u * 8u);  // 2..9 in each of the five full decades
}

TEST(SvgPlot, LogTicksOnShortAndLongRanges) {
  // Two decades or less: 2 and 5 are labelled too.
  EXPECT_EQ(labels(igx::axis_ticks(10, 1000, true)), (std::vector<std::string>{"10", "20", "50", "100", "200", "500", "1000"}));
  // Sixteen decades: every third power labelled, at most seven labels, no minor ticks.
  const auto long_axis = igx::axis_ticks(1e-12, 1e4, true);
  EXPECT_LE(labels(long_axis).size(), 7u);
  EXPECT_EQ(labels(long_axis).front(), "1e-12");
  for (const auto& tick : long_axis) EXPECT_TRUE(tick.major);
  // Percent labels.
  EXPECT_EQ(labels(igx::axis_ticks(1e-3, 1, true, true)), (std::vector<std::string>{"0.1%", "1%", "10%", "100%"}));
}

TEST(SvgPlot, LinearTicksAreNiceNumbers) {
  EXPECT_EQ(labels(igx::axis_ticks(0, 100, false)), (std::vector<std::string>{"0", "20", "40", "60", "80", "100"}));
  EXPECT_EQ(labels(igx::axis_ticks(-1, 1, false)), (std::vector<std::string>{"-1", "-0.5", "0", "0.5", "1"}));
  const auto ticks = igx::axis_ticks(0, 1, false);
  EXPECT_EQ(ticks.front().label, "0");
  EXPECT_EQ(ticks.back().label, "1");
  EXPECT_EQ(ticks[1].label, "0.2");
}

TEST(SvgPlot, FormatsTicks) {
  EXPECT_EQ(igx::format_tick(1e-5), "1e-5");
  EXPECT_EQ(igx::format_tick(1e6), "1e6");
  EXPECT_EQ(igx::format_tick(0.3000000000000001), "0.3");
  EXPECT_EQ(igx::format_tick(5000), "5000");
  EXPECT_EQ(igx::format_tick(0.05, true), "5%");
  EXPECT_EQ(igx::format_tick(0), "0");
}

TEST(SvgPlot, EscapesEveryText) {
  igx::PlotOptions options;
  options.title = "RE <5% & \"steps\"";
  options.subtitle = "n < 10 & > 2";
  options.x.label = "steps <n>";
  options.y.label = "|delta| / |F(x) - F(x')|";
  options.reference_lines = {{0.05, "RE < 5%"}};
  igx::LineSeries series{"rule <a&b>", {1, 2, 3}, {0.1, 0.2, 0.3}, "", false, true};
  const std::string svg = igx::svg_line_plot(options, {series});
  expect_well_formed(svg);
  EXPECT_NE(svg.find("RE &lt;5% &amp; &quot;steps&quot;"), std::string::npos);
  EXPECT_NE(svg.find("rule &lt;a&amp;b&gt;"), std::string::npos);
  EXPECT_NE(svg.find("F(x&#39;)"), std::string::npos);
  EXPECT_EQ(svg.find("<a&b>"), std::string::npos);
  EXPECT_EQ(svg.find("RE <5%"), std::string::npos);
}

TEST(SvgPlot, LineChartOnLogAxesDrawsEachSeriesAndSkipsWhatItCannot) {
  igx::PlotOptions options;
  options.title = "mean relative error";
  options.x = {"steps n", true};
  options.y = {"relative error", true, true};
  igx::LineSeries right{"riemann_right", {16, 32, 64, 128}, {0.5, 0.25, 0.125, 0.0625}, "", false, true};
  igx::LineSeries gauss{"gausslegendre", {16, 32, 64, 128}, {1e-3, 0.0, std::nan(""), 1e-6}, "#123456", true, true};
  const std::string svg = igx::svg_line_plot(options, {right, gauss});
  expect_well_formed(svg);
  EXPECT_EQ(count(svg, "<path "), 2u);
  EXPECT_EQ(count(svg, "<circle "), 4u + 2u);  // the zero and the NaN are not drawn
  EXPECT_NE(svg.find("stroke-dasharray=\"6 4\""), std::string::npos);
  EXPECT_NE(svg.find("#123456"), std::string::npos);
  EXPECT_NE(svg.find("1 value &lt;= 0 not drawn on the log axis"), std::string::npos);
  // The log x axis is labelled with powers of ten and the y axis with percentages.
  EXPECT_NE(svg.find(">100</text>"), std::string::npos);
  EXPECT_NE(svg.find(">10%</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.0001%</text>"), std::string::npos);
}

TEST(SvgPlot, BoxStatisticsFollowTukey) {
  const igx::BoxStatistics stats = igx::box_statistics({1, 2, 3, 4, 5, 6, 7, 8, 100, std::nan("")});
  EXPECT_EQ(stats.count, 9u);
  EXPECT_DOUBLE_EQ(stats.q1, 3);
  EXPECT_DOUBLE_EQ(stats.median, 5);
  EXPECT_DOUBLE_EQ(stats.q3, 7);
  EXPECT_DOUBLE_EQ(stats.whisker_low, 1);
  EXPECT_DOUBLE_EQ(stats.whisker_high, 8);
  EXPECT_EQ(stats.outliers, std::vector<double>{100});
  EXPECT_DOUBLE_EQ(stats.mean, 136.0 / 9.0);
  EXPECT_EQ(igx::box_statistics({}).count, 0u);
}

TEST(SvgPlot, BoxAndBarChartsAreWellFormed) {
  igx::PlotOptions options;
  options.title = "boxes";
  options.y = {"relative error", true};
  const std::vector<std::string> categories = {"16", "32"};
  igx::BoxSeries a{"a", {{0.1, 0.2, 0.3, 0.4, 50}, {0.01, 0.02}}, ""};
  igx::BoxSeries b{"b", {{}, {0.5, 0.6, 0.7}}, ""};
  const std::string boxes = igx::svg_box_plot(options, categories, {a, b});
  expect_well_formed(boxes);
  EXPECT_EQ(count(boxes, "<polygon "), 3u + 1u);  // three means and the legend's diamond
  EXPECT_NE(boxes.find(">mean</text>"), std::string::npos);

  options.y = {"instances", false};
  igx::BarSeries bars{"right", {3, 0, std::nan("")}, ""};
  const std::string chart = igx::svg_bar_plot(options, {"16", "32", "never"}, {bars});
  expect_well_formed(chart);
  EXPECT_NE(chart.find(">never</text>"), std::string::npos);
  EXPECT_NE(chart.find(">3</text>"), std::string::npos);
}

}  // namespace
