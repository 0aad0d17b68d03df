#pragma once
/// The heat-map picture of an image attribution, written as one PNG:
///
///     title line (optional)
///     input            attribution on input     attribution (optional)     ┃ +scale
///     [greyscale]      [colours over a faint     [colours alone]           ┃ 0
///                       copy of the input]                                  ┃ -scale
///
/// Red is positive evidence for the target, blue negative, white none. The colour scale is
/// symmetric around zero, so equal colours mean equal magnitudes on both sides.

#include <cstdint>
#include <string>
#include <vector>

#include "igx/image_io.h"
#include "igx/npy.h"

#include "igx/colour.h"

namespace igx {

/// An 8-bit sRGB colour.
/// Diverging colour map for t in [-1, 1] (clamped): -1 dark blue, 0 white, +1 dark red.
/// ColorBrewer's RdBu with a pure white centre, interpolated linearly between its 11 colours.
Rgb diverging_colour(double t);

/// How to draw a heat map. The defaults suit a 28×28 digit.
struct HeatmapOptions {
  /// Line above the panels, e.g. "pred 7 (p=0.99) target 7  delta=1.2e-3"; empty for none.
  std::string title;
  /// Side in pixels of the square drawn for one input pixel; 0 picks round(280 / longer side), at least 1.
  int pixels_per_cell = 0;
  /// The colour scale is this percentile of |attribution|, in (0, 100]; larger magnitudes are drawn at
  /// full colour, so that a few outliers do not wash out the rest.
  double scale_percentile = 99.0;
  /// If > 0, the colour scale, overriding scale_percentile: to draw several heat maps on one scale.
  double fixed_scale = 0.0;
  /// How strongly the input shows through the colours of the overlay panel: 0 not at all, 1 fully.
  double input_visibility = 0.4;
  /// Adds a third panel with the attributions alone.
  bool show_attribution_panel = true;
};

/// Where the parts of the picture lie, in pixels from its top-left corner. With p =
/// pixels_per_cell, n panels and an input of `rows` × `columns`:
///   panel_width = p · columns, panel_height = p · rows;
///   panel_top = 16 (margin) + [16 (title) + 12 if there is a title] + 16 (captions) + 6;
///   panel_left[i] = 16 + i · (panel_width + 16);
///   colour_bar_left = 16 + n · (panel_width + 16) + 8, colour_bar_width = 20;
///   width = colour_bar_left + 20 + 8 (ticks) + 108 (labels, 9 characters) + 16, widened if needed
///   to fit the title; height = panel_top + panel_height + 16.
struct HeatmapLayout {
  int pixels_per_cell = 0;      ///< side of the square that shows one input pixel
  int width = 0;                ///< of the whole picture
  int height = 0;               ///< of the whole picture
  int panel_width = 0;          ///< of each panel
  int panel_height = 0;         ///< of each panel, and of the colour bar
  int panel_top = 0;            ///< first row of the panels and of the colour bar
  std::vector<int> panel_left;  ///< first column of each panel, left to right
  int colour_bar_left = 0;      ///< first column of the colour bar
  int colour_bar_width = 0;     ///< of the colour bar
};

/// The layout of a heat map for an input of `rows` × `columns`.
HeatmapLayout heatmap_layout(int rows, int columns, const HeatmapOptions& options = {});

/// The colour scale the heat map uses: options.fixed_scale if set, else the scale_percentile-th
/// percentile of |attribution| (linear interpolation between ranks, as numpy.percentile).
double attribution_scale(const NdArray& attributions, const HeatmapOptions& options = {});

/// Draws the heat map. `greyscale_input` holds values in [0, 1] (1 = white) and `attributions`
/// finite values, both of shape (rows, columns), leading 1s allowed: (1, 28, 28), (1, 1, 28, 28).
/// Throws igx::Error naming both shapes if they differ, and naming the position of any NaN,
/// infinite or out-of-range value.
Image render_attribution_heatmap(const NdArray& greyscale_input, const NdArray& attributions,
                                 const HeatmapOptions& options = {});

/// Draws the heat map and writes it as a PNG; errors as render_attribution_heatmap and write_png.
void write_attribution_heatmap(const std::string& path, const NdArray& greyscale_input,
                               const NdArray& attributions, const HeatmapOptions& options = {});

/// Per-channel attributions [C, H, W] as a grid of small diverging heat-maps (one per channel, a
/// shared symmetric scale, each labelled with its channel index and sum), `cell` pixels per value.
Image render_channel_grid(const NdArray& channels, int cell = 8);

}  // namespace igx
