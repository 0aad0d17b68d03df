#include "igx/explain_options.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>

#include "igx/error.h"
#include "igx/integrated_gradients.h"
#include "igx/json_text.h"
#include "igx/layer.h"
#include "igx/step_comparison.h"
#include "igx/target.h"
#include "igx/text.h"

namespace igx {
namespace {

std::string snake_case(std::string name) {
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

std::string kebab_case(std::string name) {
  for (char& c : name) {
    if (c == '_') c = '-';
  }
  return name;
}

// Every bad option value reads alike, whichever front end gave it: "--steps: expected an integer
// ≥ 1, got 0". A usage error: the request is wrong and nothing ran.
[[noreturn]] void invalid(const std::string& name, const std::string& text, const std::string& expected) {
  throw UsageError("--" + name + ": " + expected_got(expected, text));
}

int64_t parse_integer(const std::string& name, const std::string& text, int64_t minimum) {
  const std::string problem = integer_value_problem(text, minimum);
  if (!problem.empty()) throw UsageError("--" + name + ": " + problem);
  return std::strtoll(text.c_str(), nullptr, 10);
}

double parse_number(const std::string& name, const std::string& text, double lower, double upper) {
  const std::string problem = number_value_problem(text, lower, upper);
  if (!problem.empty()) throw UsageError("--" + name + ": " + problem);
  return std::strtod(text.c_str(), nullptr);
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// `text` as a number: whole, not blank; none otherwise.
std::optional<double> read_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

double parse_non_negative(const std::string& name, const std::string& text) {
  const std::string problem = number_value_problem(text, 0, std::numeric_limits<double>::infinity(),
                                                   /*upper_included=*/false, /*lower_included=*/true);
  if (!problem.empty()) throw UsageError("--" + name + ": " + problem);
  return std::strtod(text.c_str(), nullptr);
}

// Bytes: digits with an optional binary K, M or G suffix ("512M").
int64_t parse_bytes(const std::string& name, const std::string& text) {
  const char suffix = text.empty() ? '\0' : text.back();
  const int shift = suffix == 'K' ? 10 : suffix == 'M' ? 20 : suffix == 'G' ? 30 : 0;
  const std::string digits = shift == 0 ? text : text.substr(0, text.size() - 1);
  if (integer_value_problem(digits, 0).empty()) {
    const int64_t value = std::strtoll(digits.c_str(), nullptr, 10);
    if (value <= (std::numeric_limits<int64_t>::max() >> shift)) return value << shift;
  }
  invalid(name, text, "bytes ≥ 0, as digits with an optional K, M or G (512M)");
}

bool parse_bool(const std::string& name, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  invalid(name, text, "true or false");
}

std::string join(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// Every method some modality knows.
std::vector<std::string> all_method_names() {
  std::vector<std::string> names = text_method_names();
  for (const std::string& name : layer_method_names()) names.push_back(name);
  return names;
}

// How each option is read from text and written to JSON.
struct OptionCodec {
  std::function<void(ExplainOptions&, const std::string&)> set;
  std::function<nlohmann::json(const ExplainOptions&)> get;  // null when unset
};

template <typename T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

const std::vector<std::pair<ExplainOptionInfo, OptionCodec>>& options_with_codecs() {
  using Info = ExplainOptionInfo;
  static const std::vector<std::pair<Info, OptionCodec>> table = {
      {Info{"method", "NAME", "gausslegendre",
            "IG with a quadrature rule (riemann_left, riemann_right, riemann_middle, riemann_trapezoid, "
            "gausslegendre), or saliency, inputxgradient; texts also: dig-greedy, dig-maxcount (Discretized IG), "
            "sig (Sequential IG)"},
       {[](ExplainOptions& o, const std::string& v) {
          const std::vector<std::string> names = all_method_names();
          if (std::find(names.begin(), names.end(), v) == names.end()) {
            throw UsageError("unknown attribution method '" + clip_text(v) + "'; expected one of: " + join(names));
          }
          o.method = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.method); }}},
      {Info{"steps", "N", "50", "Fixed integration steps (IG); without it igx integrates adaptively"},
       {[](ExplainOptions& o, const std::string& v) { o.steps = parse_integer("steps", v, 1); },
        [](const ExplainOptions& o) { return optional_json(o.steps); }}},
      {Info{"strategy", "NAME", "auto",
            "adaptive (Simpson panels refined where the exact interval error is), doubling (n, 2n, ... nested "
            "nodes), fixed; auto = adaptive unless --steps or an IG --method is given"},
       {[](ExplainOptions& o, const std::string& v) {
          if (v != "auto") parse_strategy(v);
          o.strategy = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.strategy); }}},
      {Info{"tolerance", "TOL", "0.01", "Relative completeness error to certify (adaptive, doubling)"},
       {[](ExplainOptions& o, const std::string& v) { o.tolerance = parse_number("tolerance", v, 0.0, 1.0); },
        [](const ExplainOptions& o) { return optional_json(o.tolerance); }}},
      {Info{"certify", "WHAT", "completeness",
            "adaptive: what must be within --tolerance: completeness (|delta| itself, against F(x) and F(x') in "
            "float64 when the model allows, as doubling certifies) or panels (the sum of the Simpson panels' "
            "|errors|, a bound on |delta| that does not count on cancellation; in float32 it counts F's rounding at "
            "every panel end)"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_certify(v);
          o.certify = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.certify); }}},
      {Info{"attribution-tolerance", "TOL", "0.05",
            "adaptive, doubling: the estimated relative L1 error of the attribution vector must also be within "
            "this to certify (completeness cannot see errors of features that cancel); 0 = completeness alone"},
       {[](ExplainOptions& o, const std::string& v) {
          o.attribution_tolerance = parse_non_negative("attribution-tolerance", v);
        },
        [](const ExplainOptions& o) { return optional_json(o.attribution_tolerance); }}},
      {Info{"scan-points", "N", "64",
            "adaptive, doubling: the grid k/N of forward-only evaluations of F along each path, so that the "
            "nodes do not miss where F moves (adaptive: every other point k/N, the others where F around "
            "does not rise or fall with one curvature, then the grid k/4N between two nodes where those "
            "show F move); 0 = none"},
       {[](ExplainOptions& o, const std::string& v) { o.scan_points = parse_integer("scan-points", v, 0); },
        [](const ExplainOptions& o) { return optional_json(o.scan_points); }}},
      {Info{"max-steps", "N", "4096", "Most gradient evaluations per example (adaptive, doubling)"},
       {[](ExplainOptions& o, const std::string& v) { o.max_steps = parse_integer("max-steps", v, 1); },
        [](const ExplainOptions& o) { return optional_json(o.max_steps); }}},
      {Info{"initial-intervals", "K", "4",
            "adaptive: Simpson panels of the first round (2 K + 1 gradient evaluations); sig starts from 1"},
       {[](ExplainOptions& o, const std::string& v) {
          o.initial_intervals = parse_integer("initial-intervals", v, 1);
        },
        [](const ExplainOptions& o) { return optional_json(o.initial_intervals); }}},
      {Info{"memory-budget", "BYTES", "2G",
            "adaptive: most memory the gradients kept for refinement may take (512M, 4G; each example of a batch an "
            "equal share); beyond it the panels with the smallest errors are no longer refined, and an example may "
            "end uncertified; 0 = no bound"},
       {[](ExplainOptions& o, const std::string& v) { o.memory_budget = parse_bytes("memory-budget", v); },
        [](const ExplainOptions& o) { return optional_json(o.memory_budget); }}},
      {Info{"batch-size", "B", "256", "Most rows per forward+backward (bounds memory; on the CPU igx picks fewer when a row is large); 0 = no bound"},
       {[](ExplainOptions& o, const std::string& v) { o.batch_size = parse_integer("batch-size", v, 0); },
        [](const ExplainOptions& o) { return optional_json(o.batch_size); }}},
      {Info{"anchors", "M", "30", "DIG: anchor words per token (m)"},
       {[](ExplainOptions& o, const std::string& v) { o.anchors = parse_integer("anchors", v, 1); },
        [](const ExplainOptions& o) { return optional_json(o.anchors); }}},
      {Info{"neighbours", "K", "500", "DIG: nearest vocabulary words searched per anchor (K)"},
       {[](ExplainOptions& o, const std::string& v) { o.neighbours = parse_integer("neighbours", v, 1); },
        [](const ExplainOptions& o) { return optional_json(o.neighbours); }}},
      {Info{"upscale", "U", "1", "DIG: sub-intervals per anchor interval (1 = the anchors only)"},
       {[](ExplainOptions& o, const std::string& v) { o.upscale = parse_integer("upscale", v, 1); },
        [](const ExplainOptions& o) { return optional_json(o.upscale); }}},
      {Info{"dig-score", "word|point", "word",
            "DIG: what the candidates for the next anchor are scored against: the previous anchor word (as the "
            "authors' code does) or the current path point"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_anchor_score(v);
          o.dig_score = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.dig_score); }}},
      {Info{"baseline", "SPEC", "auto",
            "Baseline x'. Text: pad|mask|unk|zero (auto = pad; sig: mask). Image: black|blur[:SIGMA]|noise[:SEED] "
            "(auto = black). Tensor: zero|VALUE|FILE (auto = zero). Text and image, IG: max-entropy[:data|:optimize], "
            "the input whose output is closest to uniform: data (the default) chooses it from the model's test split "
            "(needs scripts/fetch_data.sh), optimize ascends the output entropy from pad/black within the input "
            "domain"},
       {[](ExplainOptions& o, const std::string& v) { o.baseline = v; },
        [](const ExplainOptions& o) { return optional_json(o.baseline); }}},
      {Info{"baselines", "SPEC", "",
            "Image, tensor: a distribution of baselines instead of one (Lundstrom et al. 2022): FILE (.npy/.json, "
            "[M, ...]), train:N (N training images, mnist-cnn; needs scripts/fetch_data.sh) or noise:N[:SIGMA] (N "
            "Gaussian baselines around each input, SIGMA 0.5, images clipped to [0, 1]); distribution IG, complete "
            "in expectation: sum = F(x) - mean F(X')"},
       {[](ExplainOptions& o, const std::string& v) {
          BaselinesSpec::parse(v);
          o.baselines = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.baselines); }}},
      {Info{"expected-gradients", "S", "0",
            "With --baselines: Expected Gradients with S samples (random baseline and alpha each), with standard "
            "errors; 0 = the deterministic average"},
       {[](ExplainOptions& o, const std::string& v) {
          o.expected_gradients = parse_integer("expected-gradients", v, 0);
        },
        [](const ExplainOptions& o) { return optional_json(o.expected_gradients); }}},
      {Info{"seed", "N", "0", "Seed of train:N, noise:N and --expected-gradients draws"},
       {[](ExplainOptions& o, const std::string& v) {
          o.seed = static_cast<uint64_t>(parse_integer("seed", v, 0));
        },
        [](const ExplainOptions& o) { return optional_json(o.seed); }}},
      {Info{"target", "pred|K|LIST", "pred", "Class to explain: pred (the predicted one), K, or K1,K2,... per example"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_target(v);
          o.target = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.target); }}},
      {Info{"output", "KIND", "logit", "Explained output: logit, prob (softmax) or logprob"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_output_kind(v);
          o.output = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.output); }}},
      {Info{"words", "", "", "Text: sum ## pieces into words", true},
       {[](ExplainOptions& o, const std::string& v) { o.words = parse_bool("words", v); },
        [](const ExplainOptions& o) { return optional_json(o.words); }}},
      {Info{"layer", "NAME", "", "Layer methods: split point from the bundle's igx.json layers (default: its split_point)"},
       {[](ExplainOptions& o, const std::string& v) { o.layer = v; },
        [](const ExplainOptions& o) { return optional_json(o.layer); }}},
      {Info{"patch", "RECT", "", "Input patch for --method patch: x0,y0,x1,y1 in pixels (x1, y1 excluded)"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_corners(v, "--patch");
          o.patch = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.patch); }}},
      {Info{"neuron", "J", "",
            "Neurons for --method neuron-conductance: J or J1,J2,... (summed), flat indices c*H*W + y*W + x into "
            "the layer's [C, H, W]"},
       {[](ExplainOptions& o, const std::string& v) {
          parse_neurons(v);
          o.neuron = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.neuron); }}},
      {Info{"compare-steps", "RULE:N", "",
            "IG: also integrate with RULE and N fixed steps (e.g. riemann_right:1000) and show it next to the "
            "explanation, with its relative error and the per-feature difference"},
       {[](ExplainOptions& o, const std::string& v) {
          StepCount::parse(v);
          o.compare_steps = v;
        },
        [](const ExplainOptions& o) { return optional_json(o.compare_steps); }}},
  };
  return table;
}

const std::pair<ExplainOptionInfo, OptionCodec>& find_option(const std::string& name) {
  const std::string wanted = kebab_case(name);
  for (const auto& entry : options_with_codecs()) {
    if (entry.first.name == wanted) return entry;
  }
  std::vector<std::string> names;
  for (const auto& entry : options_with_codecs()) names.push_back(entry.first.name);
  throw UsageError("unknown option '" + clip_text(name) + "'; expected one of: " + join(names));
}

}  // namespace

std::string expected_got(const std::string& expected, const std::string& text) {
  const std::string shown = clip_text(text, 40);
  return "expected " + expected + ", got " + (read_number(text) ? shown : "'" + shown + "'");
}

std::string integer_value_problem(const std::string& text, int64_t minimum, int64_t maximum) {
  const std::string expected = maximum == std::numeric_limits<int64_t>::max()
                                   ? "an integer ≥ " + std::to_string(minimum)
                                   : "an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum);
  // Digits only (a leading minus allowed): std::stoll would skip a blank and stop at a dot.
  const size_t digits_from = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() > digits_from && text.find_first_not_of("0123456789", digits_from) == std::string::npos) {
    errno = 0;
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno != ERANGE && value >= minimum && value <= maximum) return "";
  }
  return expected_got(expected, text);
}

std::string number_value_problem(const std::string& text, double lower, double upper, bool upper_included,
                                 bool lower_included) {
  const std::optional<double> value = read_number(text);
  if (value && std::isfinite(*value) && (lower_included ? *value >= lower : *value > lower) &&
      (upper_included ? *value <= upper : *value < upper)) {
    return "";
  }
  const std::string expected =
      std::isinf(upper) ? "a finite number " + std::string(lower_included ? "≥ " : "> ") + number_text(lower)
                        : "a number in " + std::string(lower_included ? "[" : "(") + number_text(lower) + ", " +
                              number_text(upper) + (upper_included ? "]" : ")");
  return expected_got(expected, text);
}

const std::vector<ExplainOptionInfo>& explain_option_table() {
  static const std::vector<ExplainOptionInfo> table = [] {
    std::vector<ExplainOptionInfo> infos;
    for (const auto& entry : options_with_codecs()) infos.push_back(entry.first);
    return infos;
  }();
  return table;
}

const ExplainOptionInfo& explain_option(const std::string& name) { return find_option(name).first; }

void set_explain_option(ExplainOptions& options, const std::string& name, const std::string& value) {
  find_option(name).second.set(options, value);
}

ExplainOptions explain_options_from_json(const nlohmann::json& object) {
  if (!object.is_object()) {
    throw UsageError("options must be a JSON object of names and values; got " + std::string(object.type_name()));
  }
  ExplainOptions options;
  for (const auto& [key, value] : object.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "true" : "false";
    } else if (value.is_number_integer()) {
      text = value.dump();
    } else if (value.is_number_float()) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.17g", value.get<double>());
      text = buffer;
    } else {
      throw UsageError("option '" + clip_text(key) + "' is a JSON " + value.type_name() + "; expected a string, number or boolean");
    }
    set_explain_option(options, key, text);
  }
  return options;
}

nlohmann::json to_json(const ExplainOptions& options) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [info, codec] : options_with_codecs()) {
    nlohmann::json value = codec.get(options);
    if (!value.is_null()) object[snake_case(info.name)] = std::move(value);
  }
  return object;
}

BaselinesSpec BaselinesSpec::parse(const std::string& text) {
  constexpr const char* kForms = "FILE (.npy or .json), train:N or noise:N[:SIGMA]";
  BaselinesSpec spec;
  const bool train = text.rfind("train:", 0) == 0, noise = text.rfind("noise:", 0) == 0;
  if (!train && !noise) {
    if (text.empty()) throw UsageError("--baselines is empty; expected " + std::string(kForms));
    spec.path = text;
    return spec;
  }
  spec.kind = train ? Kind::Train : Kind::Noise;
  const std::string rest = text.substr(6);
  const size_t colon = rest.find(':');
  const std::string count = rest.substr(0, colon);
  try {
    size_t used = 0;
    spec.count = std::stoll(count, &used);
    if (used != count.size() || spec.count < 1) throw std::invalid_argument(count);
    if (colon != std::string::npos) {
      if (train) throw std::invalid_argument(rest);
      const std::string sigma = rest.substr(colon + 1);
      spec.sigma = std::stod(sigma, &used);
      if (used != sigma.size() || !(spec.sigma > 0.0) || !std::isfinite(spec.sigma)) throw std::invalid_argument(sigma);
    }
  } catch (const std::exception&) {
    throw UsageError("--baselines '" + clip_text(text) + "' is not valid; expected " + kForms + " with a count N >= 1 and SIGMA > 0");
  }
  return spec;
}

std::optional<std::vector<int64_t>> parse_integer_list(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stoll(item, &used));
      if (used != item.size()) return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return values;
}

std::array<int64_t, 4> parse_corners(const std::string& text, const std::string& option) {
  const auto corners = parse_integer_list(text);
  if (!corners || corners->size() != 4) {
    throw UsageError(option + " '" + clip_text(text) + "' is not valid; expected x0,y0,x1,y1 (pixels, x1 and y1 excluded)");
  }
  return {(*corners)[0], (*corners)[1], (*corners)[2], (*corners)[3]};
}

std::vector<int64_t> parse_neurons(const std::string& text) {
  const auto neurons = parse_integer_list(text);
  if (!neurons || neurons->empty()) {
    throw UsageError("--neuron '" + clip_text(text) + "' is not valid; expected J or J1,J2,... (flat indices c*H*W + y*W + x)");
  }
  return *neurons;
}

}  // namespace igx
