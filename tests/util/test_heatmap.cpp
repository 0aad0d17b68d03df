#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>

#include "igx/error.h"
#include "igx/heatmap.h"
#include "../test_support.h"

namespace {

using igx_test::error_of;
using igx_test::contains;

igx::Rgb pixel_at(const igx::Image& image, int x, int y) {
  const uint8_t* pixel = &image.pixels[(static_cast<size_t>(y) * image.width + x) * image.channels];
  return {pixel[0], pixel[1], pixel[2]};
}

bool is_red(igx::Rgb colour) { return colour.r > colour.g + 40 && colour.r > colour.b + 40; }
bool is_blue(igx::Rgb colour) { return colour.b > colour.r + 40 && colour.b > colour.g; }
bool is_grey(igx::Rgb colour) { return colour.r == colour.g && colour.g == colour.b; }

/// A 4×4 input, bright in its left half, with one positive, one negative and one zero attribution.
struct Example {
  igx::NdArray input{{4, 4}, {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}, "f4"};
  igx::NdArray attributions{{4, 4}, std::vector<double>(16, 0.0), "f8"};
  Example() {
    attributions.values[1 * 4 + 1] = 0.5;   // positive, row 1, column 1
    attributions.values[2 * 4 + 3] = -0.5;  // negative, row 2, column 3
  }
};

/// The centre of the cell (row, column) of a panel.
igx::Rgb cell_colour(const igx::Image& image, const igx::HeatmapLayout& layout, int panel, int row,
                     int column) {
  const int half = layout.pixels_per_cell / 2;
  return pixel_at(image, layout.panel_left[panel] + column * layout.pixels_per_cell + half,
                  layout.panel_top + row * layout.pixels_per_cell + half);
}

TEST(DivergingColour, IsBlueWhiteRed) {
  const igx::Rgb white = igx::diverging_colour(0.0);
  EXPECT_EQ(white.r + white.g + white.b, 3 * 255);
  EXPECT_TRUE(is_red(igx::diverging_colour(0.5)));
  EXPECT_TRUE(is_blue(igx::diverging_colour(-0.5)));
  const igx::Rgb darkest_red = igx::diverging_colour(1.0);
  EXPECT_EQ(darkest_red.r, 103);
  EXPECT_EQ(darkest_red.b, 31);
  const igx::Rgb clamped = igx::diverging_colour(7.0);
  EXPECT_EQ(clamped.r, darkest_red.r);
  EXPECT_EQ(clamped.g, darkest_red.g);
  EXPECT_EQ(igx::diverging_colour(-1.0).b, 97);
  // Symmetric in lightness: a small positive and a small negative value are equally faint.
  const igx::Rgb faint_red = igx::diverging_colour(0.1), faint_blue = igx::diverging_colour(-0.1);
  EXPECT_NEAR(faint_red.r + faint_red.g + faint_red.b, faint_blue.r + faint_blue.g + faint_blue.b, 40);
  EXPECT_TRUE(contains(error_of([] { igx::diverging_colour(std::nan("")); }), "nan"));
}

TEST(Heatmap, LayoutIsAsDocumented) {
  igx::HeatmapOptions options;
  options.title = "pred 7 (p=0.99) target 7  delta=1.2e-3";
  const igx::HeatmapLayout layout = igx::heatmap_layout(28, 28, options);
  EXPECT_EQ(layout.pixels_per_cell, 10);  // a 28×28 digit becomes 280 px
  EXPECT_EQ(layout.panel_width, 280);
  EXPECT_EQ(layout.panel_height, 280);
  EXPECT_EQ(layout.panel_top, 16 + 16 + 12 + 16 + 6);
  EXPECT_EQ(layout.panel_left, (std::vector<int>{16, 16 + 296, 16 + 2 * 296}));
  EXPECT_EQ(layout.colour_bar_left, 16 + 3 * 296 + 8);
  EXPECT_EQ(layout.colour_bar_width, 20);
  EXPECT_EQ(layout.width, layout.colour_bar_left + 20 + 8 + 108 + 16);
  EXPECT_EQ(layout.height, layout.panel_top + 280 + 16);

  options.title.clear();
  options.show_attribution_panel = false;
  const igx::HeatmapLayout compact = igx::heatmap_layout(8, 8, options);
  EXPECT_EQ(compact.pixels_per_cell, 35);
  EXPECT_EQ(compact.panel_top, 16 + 16 + 6);
  EXPECT_EQ(compact.panel_left.size(), 2u);
  EXPECT_EQ(compact.colour_bar_left, 16 + 2 * (280 + 16) + 8);

  options.title = std::string(120, 'x');  // wider than the panels: the picture grows to fit it
  EXPECT_EQ(igx::heatmap_layout(8, 8, options).width, 16 + 120 * 12 - 2 + 16);
  options.pixels_per_cell = 3;
  EXPECT_EQ(igx::heatmap_layout(8, 8, options).panel_width, 24);
}

TEST(Heatmap, RenderedPictureHasTheLayoutsSize) {
  const Example example;
  igx::HeatmapOptions options;
  options.title = "target 3";
  const igx::Image image = igx::render_attribution_heatmap(example.input, example.attributions, options);
  const igx::HeatmapLayout layout = igx::heatmap_layout(4, 4, options);
  EXPECT_EQ(image.width, layout.width);
  EXPECT_EQ(image.height, layout.height);
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels.size(), static_cast<size_t>(image.width) * image.height * 3);
}

TEST(Heatmap, ColoursShowTheSignOfEachAttribution) {
  const Example example;
  const igx::HeatmapOptions options;
  const igx::Image image = igx::render_attribution_heatmap(example.input, example.attributions, options);
  const igx::HeatmapLayout layout = igx::heatmap_layout(4, 4, options);
  enum { kInputPanel, kOverlayPanel, kAttributionPanel };

  EXPECT_EQ(cell_colour(image, layout, kInputPanel, 1, 1).r, 255);  // the input, as it is
  EXPECT_EQ(cell_colour(image, layout, kInputPanel, 1, 3).r, 0);
  EXPECT_TRUE(is_grey(cell_colour(image, layout, kInputPanel, 0, 0)));

  for (int panel : {kOverlayPanel, kAttributionPanel}) {
    EXPECT_TRUE(is_red(cell_colour(image, layout, panel, 1, 1))) << "panel " << panel;
    EXPECT_TRUE(is_blue(cell_colour(image, layout, panel, 2, 3))) << "panel " << panel;
    EXPECT_TRUE(is_grey(cell_colour(image, layout, panel, 0, 3))) << "panel " << panel;
  }
  // Zero attribution: white alone; over the input, white on its bright half, darker on its dark half.
  EXPECT_EQ(cell_colour(image, layout, kAttributionPanel, 0, 3).r, 255);
  EXPECT_EQ(cell_colour(image, layout, kOverlayPanel, 0, 0).r, 255);
  EXPECT_LT(cell_colour(image, layout, kOverlayPanel, 0, 3).r, 200);
}

TEST(Heatmap, ScaleIsAPercentileOfMagnitudes) {
  igx::NdArray attributions{{101}, {}, "f8"};
  for (int i = 0; i <= 100; ++i) attributions.values.push_back(i % 2 ? -i : i);
  igx::HeatmapOptions options;
  options.scale_percentile = 99;
  EXPECT_DOUBLE_EQ(igx::attribution_scale(attributions, options), 99.0);
  options.scale_percentile = 99.5;
  EXPECT_DOUBLE_EQ(igx::attribution_scale(attributions, options), 99.5);
  options.scale_percentile = 100;
  EXPECT_DOUBLE_EQ(igx::attribution_scale(attributions, options), 100.0);
  options.fixed_scale = 0.25;
  EXPECT_DOUBLE_EQ(igx::attribution_scale(attributions, options), 0.25);
}

TEST(Heatmap, OutliersBeyondTheScaleSaturate) {
  Example example;
  example.attributions.values[0] = 100.0;  // far beyond the others
  igx::HeatmapOptions options;
  options.fixed_scale = 0.5;
  const igx::Image image = igx::render_attribution_heatmap(example.input, example.attributions, options);
  const igx::HeatmapLayout layout = igx::heatmap_layout(4, 4, options);
  const igx::Rgb outlier = cell_colour(image, layout, 2, 0, 0);
  const igx::Rgb at_scale = cell_colour(image, layout, 2, 1, 1);
  EXPECT_EQ(outlier.r, at_scale.r);
  EXPECT_EQ(outlier.g, at_scale.g);
  EXPECT_EQ(outlier.b, at_scale.b);
}

TEST(Heatmap, AcceptsLeadingUnitDimensions) {
  Example example;
  example.attributions.shape = {1, 1, 4, 4};
  example.input.shape = {1, 4, 4};
  const igx::Image image = igx::render_attribution_heatmap(example.input, example.attributions);
  EXPECT_EQ(image.width, igx::heatmap_layout(4, 4).width);
}

TEST(Heatmap, RejectsMismatchedShapesNamingBoth) {
  const Example example;
  const igx::NdArray narrower{{4, 3}, std::vector<double>(12, 0.0), "f8"};
  std::string message = error_of([&] { igx::render_attribution_heatmap(example.input, narrower); });
  EXPECT_TRUE(contains(message, "(4, 4)") && contains(message, "(4, 3)")) << message;
  const igx::NdArray colour{{3, 4, 4}, std::vector<double>(48, 0.0), "f8"};
  message = error_of([&] { igx::render_attribution_heatmap(example.input, colour); });
  EXPECT_TRUE(contains(message, "(3, 4, 4)") && contains(message, "expected (height, width)")) << message;
}

TEST(Heatmap, RejectsNonFiniteAndOutOfRangeValues) {
  Example example;
  example.attributions.values[2 * 4 + 1] = std::numeric_limits<double>::quiet_NaN();
  std::string message =
      error_of([&] { igx::render_attribution_heatmap(example.input, example.attributions); });
  EXPECT_TRUE(contains(message, "attribution at [2, 1] is nan")) << message;
  example.attributions.values[2 * 4 + 1] = std::numeric_limits<double>::infinity();
  message = error_of([&] { igx::render_attribution_heatmap(example.input, example.attributions); });
  EXPECT_TRUE(contains(message, "[2, 1] is inf")) << message;

  Example normalised;
  normalised.input.values[5] = 2.8;  // e.g. an input after mean/std normalisation
  message = error_of([&] { igx::render_attribution_heatmap(normalised.input, normalised.attributions); });
  EXPECT_TRUE(contains(message, "greyscale input at [1, 1] is 2.8") && contains(message, "[0, 1]"))
      << message;

  igx::HeatmapOptions options;
  options.scale_percentile = 0;
  const Example valid;
  message = error_of([&] { igx::render_attribution_heatmap(valid.input, valid.attributions, options); });
  EXPECT_TRUE(contains(message, "scale_percentile is 0")) << message;
}

TEST(Heatmap, WritesAPng) {
  const Example example;
  const std::string path = ::testing::TempDir() + "igx_heatmap.png";
  igx::write_attribution_heatmap(path, example.input, example.attributions);
  const igx::Image image = igx::read_image(path);
  EXPECT_EQ(image.width, igx::heatmap_layout(4, 4).width);
  EXPECT_EQ(image.channels, 3);
  std::remove(path.c_str());
  const std::string message = error_of(
      [&] { igx::write_attribution_heatmap("/nonexistent/map.png", example.input, example.attributions); });
  EXPECT_TRUE(contains(message, "/nonexistent/map.png")) << message;
}

}  // namespace
