#pragma once
// Small SVG charts for study reports (igx sweep): lines, grouped box plots and grouped bars, on
// linear or base-10 logarithmic axes. The output is one self-contained SVG 1.1 document: no
// scripts, no external fonts or styles, every text XML-escaped.

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace igx {

struct PlotAxis {
  std::string label;          ///< axis title, e.g. "steps n"
  bool log = false;           ///< base-10 logarithmic; values <= 0 cannot be drawn and are counted in a note
  bool percent = false;       ///< tick labels as percentages (0.05 -> "5%")
  double min = std::nan("");  ///< lower end; NaN = from the data
  double max = std::nan("");  ///< upper end; NaN = from the data
};

struct PlotOptions {
  std::string title;
  std::string subtitle;  ///< one smaller line under the title ("" for none)
  PlotAxis x;            ///< categorical charts use only its label
  PlotAxis y;
  int width = 760;
  int height = 440;
  /// Dashed horizontal lines with a label at their right end, e.g. {0.05, "5%"}.
  std::vector<std::pair<double, std::string>> reference_lines;
};

/// A polyline through (x[k], y[k]); a NaN y (or one a log axis cannot draw) breaks the line.
struct LineSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  std::string colour;  ///< CSS colour; "" = the palette's colour for the series' index
  bool dashed = false;
  bool markers = true;
};

/// Box plots: samples[c] are the values of this group at category c.
struct BoxSeries {
  std::string name;
  std::vector<std::vector<double>> samples;
  std::string colour;
};

/// Bars: values[c] is this group's bar at category c (NaN = no bar).
struct BarSeries {
  std::string name;
  std::vector<double> values;
  std::string colour;
};

/// Tukey's box of a sample: quartiles (linear interpolation between order statistics), whiskers
/// at the most extreme values within 1.5 interquartile ranges of the box, the values beyond
/// them, and the mean. An empty sample gives count 0 and NaN elsewhere.
struct BoxStatistics {
  size_t count = 0;
  double q1 = std::nan(""), median = std::nan(""), q3 = std::nan("");
  double whisker_low = std::nan(""), whisker_high = std::nan("");
  double mean = std::nan("");
  std::vector<double> outliers;
};
BoxStatistics box_statistics(std::vector<double> values);

/// One tick of an axis.
struct AxisTick {
  double value;
  std::string label;  ///< "" for an unlabelled minor tick
  bool major;
};

/// Ticks covering [low, high]. Linear: "nice" steps (1, 2 or 5 times a power of 10), about six
/// of them. Log: every power of 10 (labelled), with 2..9 times it as minor ticks; when the range
/// spans at most two decades, 2 and 5 times each power are labelled too; when it spans more
/// than six, only every k-th power is labelled so that at most seven labels remain.
std::vector<AxisTick> axis_ticks(double low, double high, bool log, bool percent = false);

/// A number as a tick label: "0.001", "20", "1e-05", "5%" ...
std::string format_tick(double value, bool percent = false);

/// The default colour of series `index` (a colour-blind-safe palette, repeating).
std::string plot_colour(size_t index);

std::string svg_line_plot(const PlotOptions& options, const std::vector<LineSeries>& series);
/// Grouped box plots: at each category one box per series, side by side; the mean is a diamond.
std::string svg_box_plot(const PlotOptions& options, const std::vector<std::string>& categories,
                         const std::vector<BoxSeries>& series);
/// Grouped bars from 0 (or from the axis minimum on a log axis), the value written above each.
std::string svg_bar_plot(const PlotOptions& options, const std::vector<std::string>& categories,
                         const std::vector<BarSeries>& series);

}  // namespace igx
