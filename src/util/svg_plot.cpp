#include "igx/svg_plot.h"
#include "igx/markup.h"
#include "igx/statistics.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

namespace igx {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kLegendSwatch = 22;
constexpr double kCharWidth = 6.6;  // average width of a 12 px sans-serif character

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);  // a tenth of a pixel is plenty
  return buffer;
}

double nice_step(double range, int target_ticks) {
  const double raw = range / std::max(1, target_ticks);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0}) {
    if (factor * magnitude >= raw) return factor * magnitude;
  }
  return 10.0 * magnitude;
}

// An axis: the data range widened to tick boundaries, and the map to pixels.
class Scale {
 public:
  Scale(const PlotAxis& axis, std::vector<double> values, bool include_zero, double pixel_low, double pixel_high)
      : log_(axis.log), percent_(axis.percent), pixel_low_(pixel_low), pixel_high_(pixel_high) {
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (double value : values) {
      if (!std::isfinite(value) || (log_ && value <= 0)) continue;
      low = std::min(low, value);
      high = std::max(high, value);
    }
    if (!log_ && include_zero) {
      low = std::min(low, 0.0);
      high = std::max(high, 0.0);
    }
    if (!std::isfinite(low)) low = high = log_ ? 1.0 : 0.0;
    if (log_) {
      low_ = std::floor(std::log10(low));
      high_ = std::ceil(std::log10(high));
      if (high_ <= low_) high_ = low_ + 1;
    } else {
      if (high <= low) {
        const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
        low -= pad;
        high += pad;
      }
      const double step = nice_step(high - low, 6);
      low_ = std::floor(low / step + 1e-9) * step;
      high_ = std::ceil(high / step - 1e-9) * step;
    }
    if (std::isfinite(axis.min)) low_ = log_ ? std::log10(axis.min) : axis.min;
    if (std::isfinite(axis.max)) high_ = log_ ? std::log10(axis.max) : axis.max;
  }

  bool drawable(double value) const { return std::isfinite(value) && (!log_ || value > 0); }
  double axis_value(double value) const { return log_ ? std::log10(value) : value; }  // data -> axis space
  double pixel_of_axis(double axis) const {
    return pixel_low_ + (axis - low_) / (high_ - low_) * (pixel_high_ - pixel_low_);
  }
  double pixel(double value) const { return pixel_of_axis(axis_value(value)); }
  double low_value() const { return log_ ? std::pow(10.0, low_) : low_; }
  double high_value() const { return log_ ? std::pow(10.0, high_) : high_; }
  std::vector<AxisTick> ticks() const { return axis_ticks(low_value(), high_value(), log_, percent_); }
  bool log() const { return log_; }

 private:
  bool log_, percent_;
  double low_ = 0, high_ = 1;  // in axis space (log10 of the value on a log axis)
  double pixel_low_, pixel_high_;
};

struct LegendEntry {
  std::string name;
  std::string colour;
  enum class Swatch { Line, DashedLine, Box, Diamond } swatch;
};

// The frame every chart shares: title, plot area, legend on the right.
class Canvas {
 public:
  Canvas(const PlotOptions& options, const std::vector<LegendEntry>& legend) : options_(options), legend_(legend) {
    size_t longest = 0;
    for (const LegendEntry& entry : legend) longest = std::max(longest, entry.name.size());
    const double legend_width = legend.empty() ? 0.0 : kLegendSwatch + 14 + kCharWidth * static_cast<double>(longest);
    left_ = 78;
    right_ = options.width - 20 - legend_width;
    top_ = options.subtitle.empty() ? 44 : 62;
    bottom_ = options.height - 58;
    out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\"" << options.height
         << "\" viewBox=\"0 0 " << options.width << " " << options.height
         << "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" font-size=\"12\">\n"
         << "<title>" << escape_markup(options.title) << "</title>\n"
         << "<rect x=\"0\" y=\"0\" width=\"" << options.width << "\" height=\"" << options.height
         << "\" fill=\"white\"/>\n";
    text(options.width / 2.0, 24, options.title, "middle", "font-size=\"16\" font-weight=\"bold\"");
    if (!options.subtitle.empty()) text(options.width / 2.0, 44, options.subtitle, "middle", "font-size=\"12\" fill=\"#444\"");
  }

  double left() const { return left_; }
  double right() const { return right_; }
  double top() const { return top_; }
  double bottom() const { return bottom_; }
  std::ostringstream& out() { return out_; }

  void text(double x, double y, const std::string& content, const std::string& anchor, const std::string& extra = "") {
    out_ << "<text x=\"" << number(x) << "\" y=\"" << number(y) << "\" text-anchor=\"" << anchor << "\""
         << (extra.empty() ? "" : " " + extra) << ">" << escape_markup(content) << "</text>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
            const std::string& extra = "") {
    out_ << "<line x1=\"" << number(x1) << "\" y1=\"" << number(y1) << "\" x2=\"" << number(x2) << "\" y2=\""
         << number(y2) << "\" stroke=\"" << stroke << "\" stroke-width=\"" << number(width) << "\""
         << (extra.empty() ? "" : " " + extra) << "/>\n";
  }
  void rect(double x, double y, double width, double height, const std::string& fill, const std::string& extra = "") {
    out_ << "<rect x=\"" << number(x) << "\" y=\"" << number(y) << "\" width=\"" << number(std::max(0.0, width))
         << "\" height=\"" << number(std::max(0.0, height)) << "\" fill=\"" << fill << "\""
         << (extra.empty() ? "" : " " + extra) << "/>\n";
  }
  void diamond(double x, double y, double radius, const std::string& fill, const std::string& stroke) {
    out_ << "<polygon points=\"" << number(x) << "," << number(y - radius) << " " << number(x + radius) << ","
         << number(y) << " " << number(x) << "," << number(y + radius) << " " << number(x - radius) << ","
         << number(y) << "\" fill=\"" << fill << "\" stroke=\"" << stroke << "\" stroke-width=\"1.2\"/>\n";
  }

  // Grid, tick labels and title of the y axis (and of a numeric x axis when given).
  void y_axis(const Scale& scale) {
    for (const AxisTick& tick : scale.ticks()) {
      const double y = scale.pixel(tick.value);
      if (y < top_ - 0.5 || y > bottom_ + 0.5) continue;
      line(left_, y, right_, y, tick.major ? "#d9d9d9" : "#efefef", 1);
      line(left_ - (tick.major ? 6 : 3), y, left_, y, "#333", 1);
      if (!tick.label.empty()) text(left_ - 9, y + 4, tick.label, "end", "font-size=\"11\"");
    }
    const double middle = (top_ + bottom_) / 2;
    out_ << "<text x=\"18\" y=\"" << number(middle) << "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 "
         << number(middle) << ")\">" << escape_markup(options_.y.label) << "</text>\n";
  }
  void x_axis(const Scale& scale) {
    for (const AxisTick& tick : scale.ticks()) {
      const double x = scale.pixel(tick.value);
      if (x < left_ - 0.5 || x > right_ + 0.5) continue;
      line(x, top_, x, bottom_, tick.major ? "#d9d9d9" : "#efefef", 1);
      line(x, bottom_, x, bottom_ + (tick.major ? 6 : 3), "#333", 1);
      if (!tick.label.empty()) text(x, bottom_ + 19, tick.label, "middle", "font-size=\"11\"");
    }
    x_title();
  }
  void categories(const std::vector<std::string>& names, double width) {
    for (size_t c = 0; c < names.size(); ++c) {
      const double x = left_ + (static_cast<double>(c) + 0.5) * width;
      line(x, bottom_, x, bottom_ + 5, "#333", 1);
      text(x, bottom_ + 19, names[c], "middle", "font-size=\"11\"");
    }
    x_title();
  }
  void reference_lines(const Scale& scale) {
    for (const auto& [value, label] : options_.reference_lines) {
      if (!scale.drawable(value)) continue;
      const double y = scale.pixel(value);
      if (y < top_ || y > bottom_) continue;
      line(left_, y, right_, y, "#7f7f7f", 1.2, "stroke-dasharray=\"5 4\"");
      text(right_ - 4, y - 4, label, "end", "font-size=\"11\" fill=\"#555\"");
    }
  }
  void note(const std::string& content) { text(left_, options_.height - 8, content, "start", "font-size=\"11\" fill=\"#555\""); }

  std::string finish() {
    out_ << "<rect x=\"" << number(left_) << "\" y=\"" << number(top_) << "\" width=\"" << number(right_ - left_)
         << "\" height=\"" << number(bottom_ - top_) << "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n";
    double y = top_ + 6;
    const double x = right_ + 14;
    for (const LegendEntry& entry : legend_) {
      switch (entry.swatch) {
        case LegendEntry::Swatch::Line:
        case LegendEntry::Swatch::DashedLine:
          line(x, y + 6, x + kLegendSwatch, y + 6, entry.colour, 2.2,
               entry.swatch == LegendEntry::Swatch::DashedLine ? "stroke-dasharray=\"6 4\"" : "");
          break;
        case LegendEntry::Swatch::Box:
          rect(x + 3, y, kLegendSwatch - 6, 12, entry.colour, "fill-opacity=\"0.45\" stroke=\"" + entry.colour + "\"");
          break;
        case LegendEntry::Swatch::Diamond:
          diamond(x + kLegendSwatch / 2.0, y + 6, 5, "white", entry.colour);
          break;
      }
      text(x + kLegendSwatch + 6, y + 10, entry.name, "start");
      y += 20;
    }
    out_ << "</svg>\n";
    return out_.str();
  }

 private:
  void x_title() {
    text((left_ + right_) / 2, options_.height - 24, options_.x.label, "middle", "font-size=\"13\"");
  }
  const PlotOptions& options_;
  std::vector<LegendEntry> legend_;
  std::ostringstream out_;
  double left_, right_, top_, bottom_;
};

std::string colour_of(const std::string& colour, size_t index) { return colour.empty() ? plot_colour(index) : colour; }

std::vector<double> reference_values(const PlotOptions& options) {
  std::vector<double> values;
  for (const auto& line : options.reference_lines) values.push_back(line.first);
  return values;
}

std::string count_note(size_t hidden) {
  return std::to_string(hidden) + (hidden == 1 ? " value" : " values") + " <= 0 not drawn on the log axis";
}

}  // namespace

BoxStatistics box_statistics(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  BoxStatistics stats;
  stats.count = values.size();
  if (values.empty()) return stats;
  std::sort(values.begin(), values.end());
  stats.q1 = quantile(values, 0.25);
  stats.median = quantile(values, 0.5);
  stats.q3 = quantile(values, 0.75);
  stats.mean = mean(values);
  const double reach = 1.5 * (stats.q3 - stats.q1);
  stats.whisker_low = stats.q1;
  stats.whisker_high = stats.q3;
  for (double value : values) {
    if (value < stats.q1 - reach || value > stats.q3 + reach) {
      stats.outliers.push_back(value);
    } else {
      stats.whisker_low = std::min(stats.whisker_low, value);
      stats.whisker_high = std::max(stats.whisker_high, value);
    }
  }
  return stats;
}

std::string format_tick(double value, bool percent) {
  if (percent) value *= 100.0;
  if (value == 0) return percent ? "0%" : "0";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  std::string text = buffer;
  // "1e-05" -> "1e-5", "1e+06" -> "1e6"
  const size_t e = text.find('e');
  if (e != std::string::npos) {
    std::string mantissa = text.substr(0, e);
    std::string exponent = text.substr(e + 1);
    const bool negative = !exponent.empty() && exponent[0] == '-';
    if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) exponent.erase(0, 1);
    exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
    text = mantissa + "e" + (negative ? "-" : "") + exponent;
  }
  return percent ? text + "%" : text;
}

std::vector<AxisTick> axis_ticks(double low, double high, bool log, bool percent) {
  std::vector<AxisTick> ticks;
  if (!(high > low) || !std::isfinite(low) || !std::isfinite(high)) return ticks;
  if (!log) {
    const double step = nice_step(high - low, 6);
    for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1) {
      const double value = std::abs(k) < 1e-12 ? 0.0 : k * step;
      ticks.push_back({value, format_tick(value, percent), true});
    }
    return ticks;
  }
  if (low <= 0) return ticks;
  const int first = static_cast<int>(std::floor(std::log10(low) + 1e-9));
  const int last = static_cast<int>(std::ceil(std::log10(high) - 1e-9));
  const int decades = last - first;
  const int label_every = std::max(1, (decades + 7) / 7);  // at most seven labelled powers
  const bool label_2_5 = std::log10(high / low) <= 2.0 + 1e-9;
  const auto inside = [&](double value) { return value >= low * (1 - 1e-9) && value <= high * (1 + 1e-9); };
  for (int power = first; power <= last; ++power) {
    const double decade = std::pow(10.0, power);
    if (inside(decade)) {
      const bool labelled = ((power - first) % label_every) == 0;
      ticks.push_back({decade, labelled ? format_tick(decade, percent) : "", true});
    }
    if (decades > 6) continue;  // minor ticks would only blur a long axis
    for (int factor = 2; factor <= 9; ++factor) {
      const double value = factor * decade;
      if (!inside(value)) continue;
      const bool labelled = label_2_5 && (factor == 2 || factor == 5);
      ticks.push_back({value, labelled ? format_tick(value, percent) : "", false});
    }
  }
  return ticks;
}

std::string plot_colour(size_t index) {
  // Okabe & Ito's colour-blind-safe palette, without its yellow (too light on white).
  static const char* const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
  return palette[index % (sizeof palette / sizeof palette[0])];
}

std::string svg_line_plot(const PlotOptions& options, const std::vector<LineSeries>& series) {
  std::vector<LegendEntry> legend;
  std::vector<double> xs, ys = reference_values(options);
  for (size_t s = 0; s < series.size(); ++s) {
    legend.push_back({series[s].name, colour_of(series[s].colour, s),
                      series[s].dashed ? LegendEntry::Swatch::DashedLine : LegendEntry::Swatch::Line});
    xs.insert(xs.end(), series[s].x.begin(), series[s].x.end());
    ys.insert(ys.end(), series[s].y.begin(), series[s].y.end());
  }
  Canvas canvas(options, legend);
  const Scale x(options.x, xs, false, canvas.left(), canvas.right());
  const Scale y(options.y, ys, false, canvas.bottom(), canvas.top());
  canvas.y_axis(y);
  canvas.x_axis(x);
  canvas.reference_lines(y);
  size_t hidden = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    const LineSeries& line = series[s];
    const std::string colour = colour_of(line.colour, s);
    std::string path;
    bool pen_down = false;
    std::ostringstream markers;
    for (size_t k = 0; k < std::min(line.x.size(), line.y.size()); ++k) {
      if (!x.drawable(line.x[k]) || !y.drawable(line.y[k])) {
        if (!std::isnan(line.y[k])) ++hidden;
        pen_down = false;
        continue;
      }
      const double px = x.pixel(line.x[k]), py = y.pixel(line.y[k]);
      path += (pen_down ? " L" : " M") + number(px) + " " + number(py);
      pen_down = true;
      if (line.markers) {
        markers << "<circle cx=\"" << number(px) << "\" cy=\"" << number(py) << "\" r=\"3.2\" fill=\"" << colour
                << "\"/>\n";
      }
    }
    if (!path.empty()) {
      canvas.out() << "<path d=\"" << path.substr(1) << "\" fill=\"none\" stroke=\"" << colour
                   << "\" stroke-width=\"2\"" << (line.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>\n";
    }
    canvas.out() << markers.str();
  }
  if (hidden > 0) canvas.note(count_note(hidden));
  return canvas.finish();
}

std::string svg_box_plot(const PlotOptions& options, const std::vector<std::string>& categories,
                         const std::vector<BoxSeries>& series) {
  std::vector<LegendEntry> legend;
  std::vector<double> ys = reference_values(options);
  for (size_t s = 0; s < series.size(); ++s) {
    legend.push_back({series[s].name, colour_of(series[s].colour, s), LegendEntry::Swatch::Box});
    for (const auto& sample : series[s].samples) ys.insert(ys.end(), sample.begin(), sample.end());
  }
  legend.push_back({"mean", "#222", LegendEntry::Swatch::Diamond});
  Canvas canvas(options, legend);
  const Scale y(options.y, ys, false, canvas.bottom(), canvas.top());
  const double category_width = (canvas.right() - canvas.left()) / std::max<size_t>(1, categories.size());
  canvas.y_axis(y);
  canvas.categories(categories, category_width);
  canvas.reference_lines(y);
  const double slot = 0.8 * category_width / std::max<size_t>(1, series.size());
  const double box_width = std::min(0.75 * slot, 46.0);
  size_t hidden = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string colour = colour_of(series[s].colour, s);
    for (size_t c = 0; c < std::min(categories.size(), series[s].samples.size()); ++c) {
      // Statistics in axis space, so that whiskers and outliers match what the eye sees.
      std::vector<double> axis_values;
      double sum = 0;
      for (double value : series[s].samples[c]) {
        if (std::isnan(value)) continue;
        if (!y.drawable(value)) {
          ++hidden;
          continue;
        }
        axis_values.push_back(y.axis_value(value));
        sum += value;
      }
      const BoxStatistics stats = box_statistics(axis_values);
      if (stats.count == 0) continue;
      const double centre = canvas.left() + c * category_width + 0.1 * category_width + (s + 0.5) * slot;
      const double half = box_width / 2;
      const auto py = [&](double axis) { return y.pixel_of_axis(axis); };
      canvas.line(centre, py(stats.whisker_low), centre, py(stats.q1), colour, 1.3);
      canvas.line(centre, py(stats.q3), centre, py(stats.whisker_high), colour, 1.3);
      canvas.line(centre - half / 2, py(stats.whisker_low), centre + half / 2, py(stats.whisker_low), colour, 1.3);
      canvas.line(centre - half / 2, py(stats.whisker_high), centre + half / 2, py(stats.whisker_high), colour, 1.3);
      canvas.rect(centre - half, py(stats.q3), box_width, py(stats.q1) - py(stats.q3), colour,
                  "fill-opacity=\"0.35\" stroke=\"" + colour + "\" stroke-width=\"1.3\"");
      canvas.line(centre - half, py(stats.median), centre + half, py(stats.median), colour, 2.6);
      for (double outlier : stats.outliers) {
        canvas.out() << "<circle cx=\"" << number(centre) << "\" cy=\"" << number(py(outlier))
                     << "\" r=\"2.2\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1\"/>\n";
      }
      const double mean = sum / static_cast<double>(stats.count);
      if (y.drawable(mean)) canvas.diamond(centre, y.pixel(mean), 4.5, "white", "#222");
    }
  }
  canvas.note((hidden > 0 ? count_note(hidden) + "; " : std::string()) +
              "box: quartiles and median; whiskers: 1.5 IQR" + (y.log() ? " on the log scale" : "") +
              "; circles: values beyond");
  return canvas.finish();
}

std::string svg_bar_plot(const PlotOptions& options, const std::vector<std::string>& categories,
                         const std::vector<BarSeries>& series) {
  std::vector<LegendEntry> legend;
  std::vector<double> ys = reference_values(options);
  for (size_t s = 0; s < series.size(); ++s) {
    legend.push_back({series[s].name, colour_of(series[s].colour, s), LegendEntry::Swatch::Box});
    ys.insert(ys.end(), series[s].values.begin(), series[s].values.end());
  }
  if (series.size() == 1) legend.clear();  // one series needs no legend
  // Room above the tallest bar for its number.
  double tallest = 0;
  for (double value : ys) {
    if (std::isfinite(value)) tallest = std::max(tallest, value);
  }
  if (!options.y.log && tallest > 0) ys.push_back(tallest * 1.08);
  Canvas canvas(options, legend);
  const Scale y(options.y, ys, true, canvas.bottom(), canvas.top());
  const double category_width = (canvas.right() - canvas.left()) / std::max<size_t>(1, categories.size());
  canvas.y_axis(y);
  canvas.categories(categories, category_width);
  canvas.reference_lines(y);
  const double slot = 0.8 * category_width / std::max<size_t>(1, series.size());
  const double base = y.log() ? canvas.bottom() : y.pixel(0.0);
  size_t hidden = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string colour = colour_of(series[s].colour, s);
    for (size_t c = 0; c < std::min(categories.size(), series[s].values.size()); ++c) {
      const double value = series[s].values[c];
      if (!y.drawable(value)) {
        if (!std::isnan(value)) ++hidden;
        continue;
      }
      const double left = canvas.left() + c * category_width + 0.1 * category_width + s * slot + 0.08 * slot;
      const double top = y.pixel(value);
      canvas.rect(left, std::min(top, base), 0.84 * slot, std::abs(base - top), colour, "fill-opacity=\"0.85\"");
      if (value == 0) continue;  // an empty bar needs no number
      char label[32];
      std::snprintf(label, sizeof label, "%.3g", value);
      canvas.text(left + 0.42 * slot, std::min(top, base) - 3, label, "middle", "font-size=\"10\" fill=\"#333\"");
    }
  }
  if (hidden > 0) canvas.note(count_note(hidden));
  return canvas.finish();
}

}  // namespace igx
