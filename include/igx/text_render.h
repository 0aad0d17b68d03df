#pragma once
// Token heat-maps of text attributions: a terminal line and a self-contained HTML report in the
// manner of Captum's visualize_text. No LibTorch: the caller fills a TextExplanationView.
//
// Colours: a token's score is normalised by the largest |score| of its example, then mapped
// from white (0) towards green (positive, +1) or red (negative, -1).
// WordPiece continuation pieces ("##able") are drawn joined to the previous token, without the
// "##" and without a space, so that words read as words; the raw token stays visible in the
// HTML title and in the plain terminal output.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "igx/colour.h"

namespace igx {

/// Colour of a normalised score in [-1, 1] (clamped; NaN is neutral): white at 0, green towards
/// +1, red towards -1.
Rgb attribution_colour(double normalised_score);

/// What the renderers show of one explained text.
struct TextExplanationView {
  std::vector<std::string> tokens;       ///< WordPiece tokens, specials included
  std::vector<double> scores;            ///< one attribution per token
  std::string predicted_label;           ///< label of the model's top class
  double predicted_probability = 0.0;    ///< its probability
  std::string target_label;              ///< label whose output is attributed
  std::optional<std::string> true_label; ///< ground truth, when known
  double attribution_sum = 0.0;          ///< sum of the attributions
  double delta = 0.0;                    ///< sum of attributions - (F(x) - F(x'))
  std::optional<double> relative_error;  ///< |delta| / |F(x) - F(x')|; empty when that is too small
  std::optional<bool> certified;         ///< whether the requested tolerance was certified
  std::string method;                    ///< e.g. "ig/gausslegendre"
  int steps = 0;                         ///< gradient evaluations used
  /// The row is the difference of two explanations of the text (scores = one minus the other):
  /// it has no completeness of its own, so delta, relative error and certificate are not shown,
  /// and `method` says what was subtracted.
  bool difference = false;
};

/// Two lines: a summary, then the tokens. With colour, tokens get an ANSI 24-bit background;
/// without, each token is written `token(+0.12)`. Throws igx::Error if tokens and scores differ
/// in size.
std::string render_terminal(const TextExplanationView& view, bool colour);

/// A complete HTML page (inline CSS, no external resources): a legend and one table row per
/// example. Each token is a `<mark class="igx-token" data-score="...">` whose title holds the
/// raw token and its exact score. Throws igx::Error if tokens and scores differ in size.
std::string render_html(const std::vector<TextExplanationView>& views, const std::string& title);

}  // namespace igx
