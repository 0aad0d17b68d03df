#include "igx/heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "igx/error.h"

namespace igx {
namespace {

// Layout, in output pixels; heatmap.h documents how these add up.
constexpr int kMargin = 16;
constexpr int kPanelGap = 16;
constexpr int kTitleGap = 12;     // between the title and the captions
constexpr int kCaptionGap = 6;    // between a caption and its panel
constexpr int kColourBarGap = 8;  // between the last panel and the colour bar
constexpr int kColourBarWidth = 20;
constexpr int kTickLength = 8;       // ticks from the colour bar towards its labels
constexpr int kLabelCharacters = 9;  // "-1.23e-05"
constexpr int kTargetPictureSide = 280;

// Text: a 5×8 bitmap font (capitals and digits in rows 0-6, row 7 for descenders) drawn with
// 2×2 squares per font pixel, so that it stays readable next to upscaled images.
constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 8;
constexpr int kTextScale = 2;
constexpr int kCharacterAdvance = (kGlyphWidth + 1) * kTextScale;
constexpr int kLineHeight = kGlyphHeight * kTextScale;
constexpr int kCapitalHeight = 7 * kTextScale;
// Larger pictures are almost certainly a mistake (a huge pixels_per_cell) and would exhaust memory.
constexpr int kLargestPanelSide = 16384;

const Rgb kBackground{255, 255, 255};
const Rgb kInk{32, 32, 32};
const Rgb kFrame{150, 150, 150};

struct Glyph {
  char character;
  uint8_t rows[kGlyphHeight];  // top row first; bit 4 is the leftmost column
};

constexpr Glyph kFont[] = {
    {' ', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00}},
    {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x00}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00}},
    {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00}},
    {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00}},
    {'c', {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00}},
    {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00}},
    {'f', {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00}},
    {'g', {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
    {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00}},
    {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00}},
    {'j', {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00}},
    {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00}},
    {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00}},
    {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00}},
    {'p', {0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10}},
    {'q', {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01}},
    {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00}},
    {'s', {0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E, 0x00}},
    {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00}},
    {'v', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00}},
    {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00}},
    {'x', {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00}},
    {'y', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
    {'z', {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x08}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, 0x00}},
    {';', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x08, 0x00}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00}},
    {'[', {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E, 0x00}},
    {']', {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E, 0x00}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
    {'|', {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'!', {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00}},
    {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00}},
    {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00}},
    {'*', {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00}},
    {'\'', {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00}},
};

const Glyph& glyph_for(char character) {
  for (const Glyph& glyph : kFont) {
    if (glyph.character == character) return glyph;
  }
  return glyph_for('?');
}

int text_width(const std::string& text) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * kCharacterAdvance - kTextScale;
}

/// An RGB picture to draw on; drawing outside it is clipped.
class Canvas {
 public:
  Canvas(int width, int height, Rgb background) : image_{width, height, 3, {}} {
    image_.pixels.resize(static_cast<size_t>(width) * height * 3);
    fill(0, 0, width, height, background);
  }

  void fill(int left, int top, int width, int height, Rgb colour) {
    for (int y = std::max(top, 0); y < std::min(top + height, image_.height); ++y) {
      for (int x = std::max(left, 0); x < std::min(left + width, image_.width); ++x) {
        uint8_t* pixel = &image_.pixels[(static_cast<size_t>(y) * image_.width + x) * 3];
        pixel[0] = colour.r;
        pixel[1] = colour.g;
        pixel[2] = colour.b;
      }
    }
  }

  /// A one-pixel frame just outside the given rectangle.
  void frame(int left, int top, int width, int height, Rgb colour) {
    fill(left - 1, top - 1, width + 2, 1, colour);
    fill(left - 1, top + height, width + 2, 1, colour);
    fill(left - 1, top, 1, height, colour);
    fill(left + width, top, 1, height, colour);
  }

  /// Draws `line` with its top-left corner at (left, top), leaving out characters that would
  /// reach beyond left + max_width.
  void text(int left, int top, const std::string& line, Rgb colour,
            int max_width = std::numeric_limits<int>::max()) {
    for (size_t i = 0; i < line.size(); ++i) {
      const int x = left + static_cast<int>(i) * kCharacterAdvance;
      if (x - left + kGlyphWidth * kTextScale > max_width) return;
      const Glyph& glyph = glyph_for(line[i]);
      for (int row = 0; row < kGlyphHeight; ++row) {
        for (int column = 0; column < kGlyphWidth; ++column) {
          if (glyph.rows[row] & (0x10 >> column)) {
            fill(x + column * kTextScale, top + row * kTextScale, kTextScale, kTextScale, colour);
          }
        }
      }
    }
  }

  Image take() { return std::move(image_); }

 private:
  Image image_;
};

/// "[0, 3, 5]": the position of the flat index `flat` in an array of shape `shape`.
std::string position_string(const std::vector<int64_t>& shape, size_t flat) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = static_cast<int64_t>(flat % shape[d]);
    flat /= shape[d];
  }
  std::string text = "[";
  for (size_t d = 0; d < index.size(); ++d) text += (d > 0 ? ", " : "") + std::to_string(index[d]);
  return text + "]";
}

std::string number_string(double value, const char* format = "%g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

void check_consistent(const NdArray& array, const std::string& name) {
  if (array.values.size() != array.numel()) {
    throw Error(name + " have " + std::to_string(array.values.size()) + " values but shape " +
                array.shape_string() + " needs " + std::to_string(array.numel()));
  }
}

/// The (rows, columns) of an array of shape (rows, columns), optionally with leading 1s.
std::pair<int, int> plane_size(const NdArray& array, const std::string& name) {
  size_t first = 0;
  while (first < array.shape.size() && array.shape[first] == 1 && array.shape.size() - first > 2) ++first;
  if (array.shape.size() - first != 2 || array.shape[first] < 1 || array.shape[first + 1] < 1) {
    throw Error(name + " have shape " + array.shape_string() +
                "; expected (height, width), optionally with leading 1s such as (1, 1, 28, 28)");
  }
  return {static_cast<int>(array.shape[first]), static_cast<int>(array.shape[first + 1])};
}

void check_options(const HeatmapOptions& options) {
  if (options.pixels_per_cell < 0) {
    throw Error("heat-map pixels_per_cell is " + std::to_string(options.pixels_per_cell) +
                "; expected 0 (automatic) or more");
  }
  if (!(options.scale_percentile > 0 && options.scale_percentile <= 100)) {
    throw Error("heat-map scale_percentile is " + number_string(options.scale_percentile) +
                "; expected a value in (0, 100]");
  }
  if (!(options.fixed_scale >= 0 && std::isfinite(options.fixed_scale))) {
    throw Error("heat-map fixed_scale is " + number_string(options.fixed_scale) +
                "; expected 0 (unset) or a positive number");
  }
  if (!(options.input_visibility >= 0 && options.input_visibility <= 1)) {
    throw Error("heat-map input_visibility is " + number_string(options.input_visibility) +
                "; expected a value in [0, 1]");
  }
}

/// "+0.0123", "0", "-1.5e-05": colour-bar labels, at most kLabelCharacters long.
std::string label_string(double value) { return value == 0 ? "0" : number_string(value, "%+.3g"); }

/// Above the colour bar: where its ends come from ("p99" = the 99th percentile of |attribution|).
std::string scale_caption(const HeatmapOptions& options) {
  if (options.fixed_scale > 0) return "fixed scale";
  if (options.scale_percentile == 100) return "max scale";
  return "p" + number_string(options.scale_percentile) + " scale";
}

uint8_t to_byte(double level) { return static_cast<uint8_t>(std::lround(std::clamp(level, 0.0, 255.0))); }

}  // namespace

Rgb diverging_colour(double t) {
  if (std::isnan(t)) throw Error("diverging_colour: t is nan; expected a number in [-1, 1]");
  // ColorBrewer RdBu from blue to red, its light grey centre replaced by white so that zero
  // attribution is drawn as nothing at all.
  static const Rgb kStops[] = {{5, 48, 97},     {33, 102, 172},  {67, 147, 195},  {146, 197, 222},
                               {209, 229, 240}, {255, 255, 255}, {253, 219, 199}, {244, 165, 130},
                               {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};
  constexpr int kIntervals = 10;
  const double position = (std::clamp(t, -1.0, 1.0) + 1.0) / 2.0 * kIntervals;
  const int lower = std::min(static_cast<int>(position), kIntervals - 1);
  const double fraction = position - lower;
  const Rgb& from = kStops[lower];
  const Rgb& to = kStops[lower + 1];
  return {to_byte(from.r + fraction * (to.r - from.r)), to_byte(from.g + fraction * (to.g - from.g)),
          to_byte(from.b + fraction * (to.b - from.b))};
}

HeatmapLayout heatmap_layout(int rows, int columns, const HeatmapOptions& options) {
  check_options(options);
  if (rows < 1 || columns < 1) {
    throw Error("heat-map input is " + std::to_string(rows) + "x" + std::to_string(columns) +
                "; expected at least 1x1");
  }
  HeatmapLayout layout;
  layout.pixels_per_cell =
      options.pixels_per_cell > 0
          ? options.pixels_per_cell
          : std::max(1, static_cast<int>(std::lround(double(kTargetPictureSide) / std::max(rows, columns))));
  if (int64_t{layout.pixels_per_cell} * std::max(rows, columns) > kLargestPanelSide) {
    throw Error("heat-map panels would be " + std::to_string(int64_t{layout.pixels_per_cell} * columns) +
                "x" + std::to_string(int64_t{layout.pixels_per_cell} * rows) + " pixels; expected at most " +
                std::to_string(kLargestPanelSide) + " on a side (lower pixels_per_cell)");
  }
  layout.panel_width = layout.pixels_per_cell * columns;
  layout.panel_height = layout.pixels_per_cell * rows;
  layout.panel_top =
      kMargin + (options.title.empty() ? 0 : kLineHeight + kTitleGap) + kLineHeight + kCaptionGap;
  const int panel_count = options.show_attribution_panel ? 3 : 2;
  for (int i = 0; i < panel_count; ++i)
    layout.panel_left.push_back(kMargin + i * (layout.panel_width + kPanelGap));
  layout.colour_bar_left = kMargin + panel_count * (layout.panel_width + kPanelGap) + kColourBarGap;
  layout.colour_bar_width = kColourBarWidth;
  const int labels_right =
      layout.colour_bar_left + kColourBarWidth + kTickLength + kLabelCharacters * kCharacterAdvance;
  layout.width = std::max(labels_right + kMargin, kMargin + text_width(options.title) + kMargin);
  layout.height = layout.panel_top + layout.panel_height + kMargin;
  return layout;
}

double attribution_scale(const NdArray& attributions, const HeatmapOptions& options) {
  check_options(options);
  check_consistent(attributions, "attributions");
  std::vector<double> magnitudes(attributions.values.size());
  for (size_t i = 0; i < magnitudes.size(); ++i) {
    const double value = attributions.values[i];
    if (!std::isfinite(value)) {
      throw Error("attribution at " + position_string(attributions.shape, i) + " is " + number_string(value) +
                  "; expected a finite number");
    }
    magnitudes[i] = std::fabs(value);
  }
  if (options.fixed_scale > 0) return options.fixed_scale;
  if (magnitudes.empty()) return 0;
  std::sort(magnitudes.begin(), magnitudes.end());
  const double rank = options.scale_percentile / 100.0 * (magnitudes.size() - 1);
  const size_t lower = static_cast<size_t>(rank);
  const size_t upper = std::min(lower + 1, magnitudes.size() - 1);
  return magnitudes[lower] + (rank - lower) * (magnitudes[upper] - magnitudes[lower]);
}

Image render_attribution_heatmap(const NdArray& greyscale_input, const NdArray& attributions,
                                 const HeatmapOptions& options) {
  check_consistent(greyscale_input, "greyscale input values");
  const auto [rows, columns] = plane_size(greyscale_input, "greyscale input values");
  if (plane_size(attributions, "attributions") != std::make_pair(rows, columns)) {
    throw Error("greyscale input is " + greyscale_input.shape_string() + " but attributions are " +
                attributions.shape_string() + "; expected the same height and width");
  }
  for (size_t i = 0; i < greyscale_input.values.size(); ++i) {
    const double level = greyscale_input.values[i];
    if (!(level >= 0 && level <= 1)) {
      throw Error("greyscale input at " + position_string(greyscale_input.shape, i) + " is " +
                  number_string(level) + "; expected a value in [0, 1]");
    }
  }
  const double scale = attribution_scale(attributions, options);
  const HeatmapLayout layout = heatmap_layout(rows, columns, options);
  const int cell = layout.pixels_per_cell;

  Canvas canvas(layout.width, layout.height, kBackground);
  if (!options.title.empty()) canvas.text(kMargin, kMargin, options.title, kInk);
  const char* const captions[] = {"input", "attribution on input", "attribution"};
  const int caption_top = layout.panel_top - kCaptionGap - kLineHeight;
  for (size_t panel = 0; panel < layout.panel_left.size(); ++panel) {
    canvas.text(layout.panel_left[panel], caption_top, captions[panel], kInk, layout.panel_width + kPanelGap);
    canvas.frame(layout.panel_left[panel], layout.panel_top, layout.panel_width, layout.panel_height, kFrame);
  }

  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      const size_t index = static_cast<size_t>(row) * columns + column;
      const double level = greyscale_input.values[index];
      const Rgb colour = diverging_colour(scale > 0 ? attributions.values[index] / scale : 0.0);
      // The overlay multiplies the colour by a faint copy of the input: hue stays readable,
      // and the shape of the input shows through as brightness.
      const double backdrop = 1.0 - options.input_visibility * (1.0 - level);
      const Rgb grey{to_byte(255 * level), to_byte(255 * level), to_byte(255 * level)};
      const Rgb overlay{to_byte(colour.r * backdrop), to_byte(colour.g * backdrop),
                        to_byte(colour.b * backdrop)};
      const Rgb panel_colours[] = {grey, overlay, colour};
      for (size_t panel = 0; panel < layout.panel_left.size(); ++panel) {
        canvas.fill(layout.panel_left[panel] + column * cell, layout.panel_top + row * cell, cell, cell,
                    panel_colours[panel]);
      }
    }
  }

  const int bar_left = layout.colour_bar_left;
  const int bar_height = layout.panel_height;
  for (int y = 0; y < bar_height; ++y) {
    const double t = 1.0 - 2.0 * (y + 0.5) / bar_height;  // +1 at the top, -1 at the bottom
    canvas.fill(bar_left, layout.panel_top + y, kColourBarWidth, 1, diverging_colour(t));
  }
  canvas.frame(bar_left, layout.panel_top, kColourBarWidth, bar_height, kFrame);
  canvas.text(bar_left, caption_top, scale_caption(options), kInk);
  const int tick_left = bar_left + kColourBarWidth;
  const int label_left = tick_left + kTickLength;
  const int bar_bottom = layout.panel_top + bar_height - 1;
  const int bar_middle = layout.panel_top + bar_height / 2;
  // The top and bottom labels stay within the bar's height, the middle one is centred on zero.
  const std::pair<int, int> tick_and_label_top[] = {{layout.panel_top, layout.panel_top},
                                                    {bar_middle, bar_middle - kCapitalHeight / 2},
                                                    {bar_bottom, bar_bottom + 1 - kCapitalHeight}};
  const double label_values[] = {scale, 0.0, -scale};
  for (int i = 0; i < 3; ++i) {
    if (i == 1 && bar_height < 4 * kCapitalHeight) continue;  // no room for "0" between the other two
    canvas.fill(tick_left, tick_and_label_top[i].first, kTickLength / 2, 1, kInk);
    canvas.text(label_left, tick_and_label_top[i].second, label_string(label_values[i]), kInk);
  }
  return canvas.take();
}

void write_attribution_heatmap(const std::string& path, const NdArray& greyscale_input,
                               const NdArray& attributions, const HeatmapOptions& options) {
  write_png(path, render_attribution_heatmap(greyscale_input, attributions, options));
}

}  // namespace igx

namespace igx {

Image render_channel_grid(const NdArray& channels, int cell) {
  check_consistent(channels, "channel attributions");
  if (channels.shape.size() != 3 || channels.numel() == 0) {
    throw Error("channel attributions have shape " + channels.shape_string() + "; expected (C, H, W)");
  }
  if (cell < 1 || cell > 64) throw Error("grid cell size " + std::to_string(cell) + " is outside 1..64");
  const int count = static_cast<int>(channels.shape[0]);
  const int rows = static_cast<int>(channels.shape[1]), columns = static_cast<int>(channels.shape[2]);
  double scale = 0.0;
  for (double value : channels.values) {
    if (!std::isfinite(value)) throw Error("channel attributions contain a non-finite value");
    scale = std::max(scale, std::abs(value));
  }
  if (scale == 0.0) scale = 1.0;
  const int per_row = std::min(count, 8);
  const int grid_rows = (count + per_row - 1) / per_row;
  const int label_height = kGlyphHeight * kTextScale + 6;
  const int tile_width = std::max(columns * cell, text_width(std::to_string(count - 1) + " +0.00") + 6);
  const int tile_height = rows * cell + label_height;
  const int margin = 12;
  Canvas canvas(margin + per_row * (tile_width + margin), margin + label_height + grid_rows * (tile_height + margin),
                Rgb{255, 255, 255});
  canvas.text(margin, margin, "channels, scale +-" + number_string(scale, "%.3g"), Rgb{0, 0, 0});
  const size_t plane = static_cast<size_t>(rows) * columns;
  for (int c = 0; c < count; ++c) {
    const int left = margin + (c % per_row) * (tile_width + margin);
    const int top = margin + label_height + (c / per_row) * (tile_height + margin);
    double sum = 0.0;
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < columns; ++x) {
        const double value = channels.values[c * plane + static_cast<size_t>(y) * columns + x];
        sum += value;
        canvas.fill(left + x * cell, top + label_height + y * cell, cell, cell, diverging_colour(value / scale));
      }
    }
    canvas.frame(left, top + label_height, columns * cell, rows * cell, Rgb{160, 160, 160});
    canvas.text(left, top, std::to_string(c) + " " + number_string(sum, "%+.2g"), Rgb{0, 0, 0}, tile_width);
  }
  return canvas.take();
}

}  // namespace igx
