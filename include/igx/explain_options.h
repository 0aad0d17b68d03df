#pragma once
// The options of an explanation request, by name. One table of names, placeholders, defaults and
// help texts serves every front end: igx explain's flags (--max-steps), igx serve's JSON fields
// and the Python package's keyword arguments (max_steps) are the same options with the same
// defaults, parsed and checked here once.

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace igx {

/// What a request asks for besides its inputs. Every field is optional: unset means the default
/// for the input and the method (explain_option_table() states it); a field that is set but does
/// not apply to the input or the method is an error when the request runs, never ignored.
/// Values are checked when set through set_explain_option() and again when the request runs.
struct ExplainOptions {
  /// IG with a quadrature rule (riemann_left, riemann_right, riemann_middle, riemann_trapezoid,
  /// gausslegendre), saliency, inputxgradient; texts: dig-greedy, dig-maxcount, sig; images: the
  /// layer methods conductance, internal-influence, layer-ig, patch, neuron-conductance.
  /// Unset: IG, integrated adaptively (or with Gauss-Legendre for fixed steps).
  std::optional<std::string> method;
  std::optional<std::string> strategy;      ///< adaptive | doubling | fixed; unset: auto
  std::optional<double> tolerance;          ///< relative completeness error to certify
  std::optional<std::string> certify;       ///< adaptive: completeness | panels
  /// adaptive, doubling: estimated relative L1 error of the attribution vector to certify too;
  /// 0 = completeness alone
  std::optional<double> attribution_tolerance;
  std::optional<int64_t> scan_points;       ///< adaptive, doubling: forward-only scan of F; 0 = none
  std::optional<int64_t> max_steps;         ///< most gradient evaluations per example
  std::optional<int64_t> initial_intervals; ///< adaptive: Simpson panels of the first round
  std::optional<int64_t> memory_budget;     ///< adaptive: bytes of kept gradients; 0 = no bound
  std::optional<int64_t> steps;             ///< fixed quadrature nodes per example
  std::optional<int64_t> batch_size;        ///< most rows per forward+backward; 0 = no bound
  std::optional<int64_t> anchors;           ///< DIG: m
  std::optional<int64_t> neighbours;        ///< DIG: K
  std::optional<int64_t> upscale;           ///< DIG: sub-intervals per anchor interval
  std::optional<std::string> dig_score;     ///< DIG: word | point, what candidates are scored against
  /// Text pad|mask|unk|zero; image black|blur[:SIGMA]|noise[:SEED]; tensor zero|VALUE|FILE;
  /// text and image also max-entropy[:data|:optimize].
  std::optional<std::string> baseline;
  std::optional<std::string> baselines;     ///< a distribution: FILE | train:N | noise:N[:SIGMA]
  std::optional<int64_t> expected_gradients;  ///< with baselines: samples of Expected Gradients
  std::optional<uint64_t> seed;             ///< of train:N, noise:N and Expected Gradients' draws
  std::optional<std::string> target;        ///< pred | K | K1,K2,... (one per example)
  std::optional<std::string> output;        ///< logit | prob | logprob
  std::optional<bool> words;                ///< texts: also sum ## pieces into word scores
  std::optional<std::string> layer;         ///< layer methods: the split point (default: the bundle's)
  std::optional<std::string> patch;         ///< patch: x0,y0,x1,y1 in pixels (x1, y1 excluded)
  std::optional<std::string> neuron;        ///< neuron-conductance: J or J1,J2,... flat indices
  /// IG: also run RULE with N fixed steps ("riemann_right:1000") and report it next to the
  /// explanation, with the per-feature difference (step_comparison.h).
  std::optional<std::string> compare_steps;
};

/// One option as front ends present it.
struct ExplainOptionInfo {
  std::string name;           ///< "max-steps": the flag without "--"; JSON and Python write "max_steps"
  std::string placeholder;    ///< "N", shown in help texts
  std::string default_value;  ///< as help shows it ("4096"); "" when there is none to show
  std::string help;           ///< one sentence, defaults that depend on the input included
  bool is_flag = false;       ///< takes no value on a command line (words)
};

/// Every option of ExplainOptions, in the order help texts list them.
const std::vector<ExplainOptionInfo>& explain_option_table();

/// The table entry of `name` ("max-steps" or "max_steps"); igx::Error listing the names for an
/// unknown one.
const ExplainOptionInfo& explain_option(const std::string& name);

/// Sets the option `name` ("max-steps" or "max_steps") from its text, as a command line gives it;
/// igx::Error naming the option, the text and what was expected ("--tolerance 'x' is not valid;
/// expected a positive number"). Flags take "true"/"false" (or "1"/"0").
void set_explain_option(ExplainOptions& options, const std::string& name, const std::string& value);

/// The options of a JSON object ({"method": "sig", "max_steps": 512, "words": true, ...}):
/// strings, numbers and booleans, keys as set_explain_option takes them. igx::Error for an
/// unknown key or a value of another type.
ExplainOptions explain_options_from_json(const nlohmann::json& object);

/// The options that are set, as a JSON object with snake_case keys (explain_options_from_json
/// reads it back). Two requests whose options give equal JSON ask for the same computation.
nlohmann::json to_json(const ExplainOptions& options);

// ---- Option values -----------------------------------------------------------------------
// One reading and one wording of numbers for every option and flag of every front end: a bad
// value is "--NAME: expected WHAT, got VALUE" (a UsageError), e.g. "--steps: expected an integer
// ≥ 1, got 0".

/// "expected WHAT, got VALUE": VALUE as given, clipped to a readable length, quoted unless it
/// reads as a number.
std::string expected_got(const std::string& expected, const std::string& text);

/// "" when `text` is an integer from `minimum` to `maximum` written in full (no blank, fraction,
/// exponent or value beyond 64 bits), else what was expected ("expected an integer ≥ 1, got 0").
std::string integer_value_problem(const std::string& text, int64_t minimum,
                                  int64_t maximum = std::numeric_limits<int64_t>::max());

/// "" when `text` is a finite number above `lower` and below `upper` (or at them, when
/// `upper_included`, `lower_included`), else what was expected ("inf", "nan" and 1e999 are never
/// numbers here).
std::string number_value_problem(const std::string& text, double lower,
                                 double upper = std::numeric_limits<double>::infinity(), bool upper_included = false,
                                 bool lower_included = false);

/// A request's distribution of baselines (options.baselines), parsed.
struct BaselinesSpec {
  enum class Kind { File, Train, Noise };
  Kind kind = Kind::File;
  std::string path;    ///< File: .npy or .json, [M, ...] or [B, M, ...]
  int64_t count = 0;   ///< Train, Noise: N
  double sigma = 0.5;  ///< Noise: the Gaussian's standard deviation

  /// "FILE", "train:N" or "noise:N[:SIGMA]"; igx::Error naming the text otherwise. A FILE must
  /// exist.
  static BaselinesSpec parse(const std::string& text);
};

/// "3,-1,7" -> {3, -1, 7}; none when an item is not an integer ("" -> {}).
std::optional<std::vector<int64_t>> parse_integer_list(const std::string& text);

/// "x0,y0,x1,y1" (four integers); igx::Error naming `option` and the text otherwise.
std::array<int64_t, 4> parse_corners(const std::string& text, const std::string& option);

/// "J" or "J1,J2,...": flat neuron indices; igx::Error for anything else or an empty list.
std::vector<int64_t> parse_neurons(const std::string& text);

}  // namespace igx
