#include "igx/text_render.h"
#include "igx/markup.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "igx/error.h"

namespace igx {
namespace {

constexpr Rgb kNeutral = {255, 255, 255};
constexpr Rgb kPositive = {26, 152, 80};  // ColorBrewer RdYlGn ends: readable in print too
constexpr Rgb kNegative = {215, 48, 39};

const std::string kContinuationPrefix = "##";

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

void check_sizes(const TextExplanationView& view) {
  if (view.tokens.size() != view.scores.size()) {
    throw Error("text explanation has " + std::to_string(view.tokens.size()) + " tokens but " +
                std::to_string(view.scores.size()) + " scores; expected one score per token");
  }
}

/// Scores divided by the largest finite |score|, so that the strongest token is fully coloured.
std::vector<double> normalise_by_max_abs(const std::vector<double>& scores) {
  double max_abs = 0.0;
  for (double score : scores) {
    if (std::isfinite(score)) max_abs = std::max(max_abs, std::abs(score));
  }
  std::vector<double> normalised;
  normalised.reserve(scores.size());
  for (double score : scores) normalised.push_back(max_abs > 0.0 ? score / max_abs : 0.0);
  return normalised;
}

bool is_continuation(const std::string& token) { return token.rfind(kContinuationPrefix, 0) == 0; }

/// How token i is drawn: a continuation piece loses its "##" and the space before it.
struct DrawnToken {
  bool space_before;
  std::string text;
};

DrawnToken drawn_token(const std::vector<std::string>& tokens, size_t i) {
  const std::string& token = tokens[i];
  if (i > 0 && is_continuation(token) && token.size() > kContinuationPrefix.size()) {
    return {false, token.substr(kContinuationPrefix.size())};
  }
  return {i > 0, token};
}

std::string relative_error_text(const TextExplanationView& view) {
  if (!view.relative_error) return "n/a (|F(x)\u2212F(x')| too small)";
  return format("%.3g", *view.relative_error);
}

std::string certified_text(const TextExplanationView& view) {
  if (!view.certified) return "n/a";
  return *view.certified ? "yes" : "no";
}

std::string css_colour(Rgb colour) {
  return "rgb(" + std::to_string(colour.r) + "," + std::to_string(colour.g) + "," +
         std::to_string(colour.b) + ")";
}

std::string html_tokens(const TextExplanationView& view) {
  const std::vector<double> normalised = normalise_by_max_abs(view.scores);
  std::string html;
  for (size_t i = 0; i < view.tokens.size(); ++i) {
    const DrawnToken drawn = drawn_token(view.tokens, i);
    if (drawn.space_before) html += ' ';  // outside the mark: only the token is coloured
    html += "<mark class=\"igx-token\" data-score=\"" + format("%.9g", view.scores[i]) +
            "\" title=\"" + escape_markup(view.tokens[i]) + ": " + format("%+.6g", view.scores[i]) +
            "\" style=\"background-color:" + css_colour(attribution_colour(normalised[i])) +
            "\">" + escape_markup(drawn.text) + "</mark>";
  }
  return html;
}

std::string table_cell(const std::string& text) { return "<td>" + escape_markup(text) + "</td>"; }

constexpr char kStyle[] = R"(body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
mark { color: #000; padding: 1px 2px; border-radius: 3px; }
.igx-words { line-height: 1.9; max-width: 60em; }
.igx-legend { margin: 1em 0; }
)";

}  // namespace

Rgb attribution_colour(double normalised_score) {
  if (std::isnan(normalised_score)) return kNeutral;
  const double t = std::clamp(normalised_score, -1.0, 1.0);
  const Rgb& end = t >= 0.0 ? kPositive : kNegative;
  auto mix = [weight = std::abs(t)](uint8_t from, uint8_t to) {
    return static_cast<uint8_t>(std::lround(from + weight * (to - from)));
  };
  return {mix(kNeutral.r, end.r), mix(kNeutral.g, end.g), mix(kNeutral.b, end.b)};
}

std::string render_terminal(const TextExplanationView& view, bool colour) {
  check_sizes(view);
  std::string summary;
  if (view.difference) {
    summary = view.method + ": sum " + format("%+.4g", view.attribution_sum);
  } else {
    summary = "predicted " + view.predicted_label + " (" + format("%.3f", view.predicted_probability) + "), target " +
              view.target_label;
    if (view.true_label) summary += ", true " + *view.true_label;
    summary += ", sum " + format("%+.4g", view.attribution_sum) + ", delta " + format("%+.3g", view.delta) +
               ", relative error " + relative_error_text(view);
    if (view.certified) summary += ", certified " + certified_text(view);
    summary += ", " + view.method + " (" + std::to_string(view.steps) + " steps)";
  }

  std::string tokens;
  if (colour) {
    const std::vector<double> normalised = normalise_by_max_abs(view.scores);
    for (size_t i = 0; i < view.tokens.size(); ++i) {
      const DrawnToken drawn = drawn_token(view.tokens, i);
      if (drawn.space_before) tokens += ' ';
      const Rgb background = attribution_colour(normalised[i]);
      // 24-bit background, black text (readable on every shade), then reset.
      tokens += "\x1b[48;2;" + std::to_string(background.r) + ";" +
                std::to_string(background.g) + ";" + std::to_string(background.b) +
                "m\x1b[38;2;0;0;0m" + drawn.text + "\x1b[0m";
    }
  } else {
    for (size_t i = 0; i < view.tokens.size(); ++i) {
      if (i > 0) tokens += ' ';
      tokens += view.tokens[i] + "(" + format("%+.3g", view.scores[i]) + ")";
    }
  }
  return summary + "\n" + tokens + "\n";
}

std::string render_html(const std::vector<TextExplanationView>& views, const std::string& title) {
  auto legend_item = [](double normalised_score, const char* name) {
    return "<mark style=\"background-color:" + css_colour(attribution_colour(normalised_score)) +
           "\">" + name + "</mark>";
  };
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>" + escape_markup(title) + "</title>\n<style>\n" + kStyle + "</style>\n";
  html += "</head>\n<body>\n<h1>" + escape_markup(title) + "</h1>\n";
  html += "<p class=\"igx-legend\">Legend: " + legend_item(-1.0, "negative") + " " +
          legend_item(0.0, "neutral") + " " + legend_item(1.0, "positive") + "</p>\n";
  html += "<table>\n<thead><tr><th>True label</th><th>Predicted label</th>"
          "<th>Attribution label</th><th>Attribution score</th><th>Delta</th>"
          "<th>Relative error</th><th>Certified</th><th>Method</th><th>Word importance</th>"
          "</tr></thead>\n<tbody>\n";
  for (const TextExplanationView& view : views) {
    check_sizes(view);
    const std::string prediction =
        view.predicted_label + " (" + format("%.2f", view.predicted_probability) + ")";
    const std::string none = "\u2014";
    html += "<tr>" + table_cell(view.true_label.value_or("n/a")) + table_cell(prediction) +
            table_cell(view.target_label) + table_cell(format("%.4g", view.attribution_sum)) +
            table_cell(view.difference ? none : format("%.3g", view.delta)) +
            table_cell(view.difference ? none : relative_error_text(view)) +
            table_cell(view.difference ? none : certified_text(view)) +
            table_cell(view.difference ? view.method : view.method + ", " + std::to_string(view.steps) + " steps") +
            "<td class=\"igx-words\">" + html_tokens(view) + "</td></tr>\n";
  }
  html += "</tbody>\n</table>\n</body>\n</html>\n";
  return html;
}

}  // namespace igx
