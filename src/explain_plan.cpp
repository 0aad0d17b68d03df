// What a request's options resolve to: the method, the strategy, the IG options and the label
// of the record, with every option checked against the input and the method.
#include <algorithm>

#include "explain_detail.h"
#include "igx/error.h"
#include "igx/json_text.h"
#include "igx/layer.h"

namespace igx::detail {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_ig_rule(const std::string& method) { return contains(rule_names(), method); }
// Methods that integrate along a straight path with a rule or a strategy.
bool integrates(const std::string& method) { return is_ig_rule(method) || method == "sig"; }

// Error-controlled integration is the default; --steps or an IG rule in --method ask for fixed
// steps instead. Methods that do not integrate along a refinable path are fixed.
Strategy strategy_of(const ExplainOptions& options, const std::string& method) {
  if (!integrates(method)) return Strategy::Fixed;
  if (options.strategy && *options.strategy != "auto") return parse_strategy(*options.strategy);
  return options.steps || (options.method && is_ig_rule(*options.method)) ? Strategy::Fixed
                                                                          : Strategy::IntervalAdaptive;
}

[[noreturn]] void does_not_apply(const std::string& option, const std::string& why) {
  throw UsageError("--" + option + " does not apply here: " + why);
}

}  // namespace

bool is_dig(const std::string& method) { return method == "dig-greedy" || method == "dig-maxcount"; }

std::optional<MaxEntropyForm> max_entropy_form(const ExplainOptions& options) {
  const std::string name = options.baseline.value_or("auto");
  if (name == "max-entropy") return MaxEntropyForm::Data;
  if (name.rfind("max-entropy:", 0) != 0) return std::nullopt;
  const std::string form = name.substr(12);
  if (form != "data" && form != "optimize") {
    throw UsageError("--baseline '" + clip_text(name) + "' is not valid; expected max-entropy, max-entropy:data or max-entropy:optimize");
  }
  return parse_max_entropy_form(form);
}
bool is_layer_method(const std::string& method) { return contains(layer_method_names(), method); }

Plan plan_request(const ExplainOptions& options, Modality modality, bool baselines_tensor) {
  Plan plan;
  plan.method_given = options.method.has_value();
  std::string method = options.method.value_or("gausslegendre");
  if (!plan.method_given && options.strategy && *options.strategy == "doubling") method = "riemann_right";
  plan.method = method;
  if ((is_dig(method) || method == "sig") && modality != Modality::Text) {
    throw UsageError("--method " + method + " explains texts (paths through word embeddings), not " + modality_name(modality) +
                     "s; give texts");
  }
  if (is_layer_method(method) && modality != Modality::Image) {
    throw UsageError("--method " + method + " attributes to the layers of image bundles, not to " + modality_name(modality) +
                     "s; give images");
  }
  plan.strategy = strategy_of(options, method);
  plan.distribution = options.baselines.has_value() || baselines_tensor;
  plan.expected_gradients = options.expected_gradients.value_or(0);
  const std::string named = "--method " + method;

  if (options.strategy && *options.strategy != "auto" && !integrates(method)) {
    does_not_apply("strategy", named + " does not integrate along a refinable path");
  }
  if (plan.strategy == Strategy::IntervalAdaptive && plan.method_given && is_ig_rule(method)) {
    throw UsageError("--method " + method + " sets the rule of fixed steps or doubling; the adaptive strategy "
                     "integrates with Simpson panels (drop --method, or add --strategy fixed|doubling)");
  }
  if (plan.expected_gradients > 0) {
    if (!plan.distribution) throw UsageError("--expected-gradients needs --baselines FILE|train:N|noise:N");
    for (const auto& [given, name] : {std::pair{options.steps.has_value(), "steps"},
                                      std::pair{options.strategy.has_value(), "strategy"},
                                      std::pair{options.tolerance.has_value(), "tolerance"},
                                      std::pair{options.max_steps.has_value(), "max-steps"},
                                      std::pair{options.certify.has_value(), "certify"},
                                      std::pair{options.attribution_tolerance.has_value(), "attribution-tolerance"},
                                      std::pair{options.scan_points.has_value(), "scan-points"},
                                      std::pair{options.initial_intervals.has_value(), "initial-intervals"},
                                      std::pair{options.memory_budget.has_value(), "memory-budget"}}) {
      if (given) does_not_apply(name, "--expected-gradients draws its own samples (random baseline and alpha each)");
    }
  }
  if (options.steps) {
    if (!integrates(method) && !is_layer_method(method)) does_not_apply("steps", named + " takes no integration steps");
    if (plan.strategy != Strategy::Fixed) {
      does_not_apply("steps", "--strategy " + strategy_name(plan.strategy) + " chooses the steps itself (to --tolerance)");
    }
  }
  if (plan.strategy == Strategy::Fixed || plan.expected_gradients > 0) {
    const std::string why = integrates(method) ? "fixed steps certify nothing (drop --steps or the IG --method)"
                                               : named + " is not integrated to a tolerance";
    if (options.tolerance) does_not_apply("tolerance", why);
    if (options.max_steps) does_not_apply("max-steps", why);
    if (options.attribution_tolerance) does_not_apply("attribution-tolerance", why);
    if (options.scan_points) does_not_apply("scan-points", why);
  }
  if (plan.strategy != Strategy::IntervalAdaptive) {
    const std::string why = "it sets the adaptive strategy's Simpson panels";
    if (options.certify) does_not_apply("certify", why);
    if (options.initial_intervals) does_not_apply("initial-intervals", why);
    if (options.memory_budget) does_not_apply("memory-budget", "it bounds the gradients the adaptive strategy keeps");
  }
  if (!is_dig(method)) {
    for (const auto& [given, name] : {std::pair{options.anchors.has_value(), "anchors"},
                                      std::pair{options.neighbours.has_value(), "neighbours"},
                                      std::pair{options.upscale.has_value(), "upscale"},
                                      std::pair{options.dig_score.has_value(), "dig-score"}}) {
      if (given) does_not_apply(name, "it sets DIG's paths (--method dig-greedy|dig-maxcount)");
    }
  }
  if (plan.distribution) {
    if (modality == Modality::Text) {
      throw UsageError("--baselines applies to --image and --input; texts take one baseline (--baseline pad|mask|unk|zero)");
    }
    if (options.baseline && *options.baseline != "auto") {
      throw UsageError("--baseline " + *options.baseline + " and --baselines " + options.baselines.value_or("(a tensor)") +
                       " both name the baseline; give one of them");
    }
    if (!is_ig_rule(method)) {
      throw UsageError("--baselines averages IG over a distribution of baselines; --method " + method +
                       " does not take them (use an IG rule, or no --method)");
    }
  }
  if (options.baseline && *options.baseline != "auto" && (method == "saliency" || method == "inputxgradient")) {
    does_not_apply("baseline", named + (method == "saliency" ? " takes no baseline" : " starts from zero"));
  }
  const bool drawn = plan.expected_gradients > 0 ||
                     (options.baselines && BaselinesSpec::parse(*options.baselines).kind != BaselinesSpec::Kind::File);
  if (options.seed && !drawn) does_not_apply("seed", "it seeds --baselines train:N|noise:N and --expected-gradients");
  if (options.words && modality != Modality::Text) does_not_apply("words", "it sums word pieces of texts");
  if (options.layer && !is_layer_method(method)) does_not_apply("layer", named + " attributes to the input");
  if (options.patch && method != "patch") does_not_apply("patch", "it is the input patch of --method patch");
  if (options.neuron && method != "neuron-conductance") {
    does_not_apply("neuron", "it names the neurons of --method neuron-conductance");
  }
  if (max_entropy_form(options)) {
    if (modality == Modality::Tensor) {
      throw UsageError("--baseline " + *options.baseline + " applies to texts and images (bundles whose test data igx "
                       "knows, or the optimised form); for tensors give the baseline as a FILE");
    }
    if (!is_ig_rule(method)) {
      throw UsageError("--baseline " + *options.baseline + " is IG's baseline (seed: Tan 2023); --method " + method +
                       " takes " + (is_dig(method) ? "a vocabulary word (pad, mask, unk)" : "another baseline"));
    }
  }
  if (options.compare_steps && (!is_ig_rule(method) || plan.distribution)) {
    does_not_apply("compare-steps", "it compares IG with one baseline against fixed steps; " + named +
                                        (plan.distribution ? " averages over a distribution of baselines" : " is not IG"));
  }
  if (method == "patch" && !options.patch) throw UsageError("--method patch needs --patch x0,y0,x1,y1");
  if (method == "neuron-conductance" && !options.neuron) {
    throw UsageError("--method neuron-conductance needs --neuron J (a flat index into the layer)");
  }
  return plan;
}

IgOptions ig_options_of(const ExplainOptions& options, const Plan& plan) {
  IgOptions ig = IgOptions()
                     .n_steps(options.steps.value_or(50))
                     .strategy(plan.strategy)
                     .tolerance(options.tolerance.value_or(0.01))
                     .certify(options.certify ? parse_certify(*options.certify) : IgOptions().certify())
                     .max_steps(options.max_steps.value_or(4096))
                     .memory_budget(options.memory_budget.value_or(IgOptions().memory_budget()))
                     .target(parse_target(options.target.value_or("pred")))
                     .output(parse_output_kind(options.output.value_or("logit")))
                     .internal_batch_size(options.batch_size.value_or(256));
  // SIG integrates with the options' own rule: Gauss-Legendre for fixed steps, and the nested
  // right-Riemann rule for doubling (IG methods name their rule instead).
  if (plan.strategy == Strategy::Doubling) ig.method(Rule::RiemannRight);
  // A token's own path is short and smooth: one Simpson panel, whose completeness error is
  // exact, refined only where needed, costs a third of the usual four (docs/faithfulness.md).
  if (plan.method == "sig") ig.initial_intervals(1);
  if (options.initial_intervals) ig.initial_intervals(*options.initial_intervals);
  if (options.attribution_tolerance) ig.attribution_tolerance(*options.attribution_tolerance);
  if (options.scan_points) ig.scan_points(*options.scan_points);
  if (is_ig_rule(plan.method)) ig.method(parse_rule(plan.method));
  return ig;
}

std::string method_label(const ExplainOptions& options, const Plan& plan, const DigOptions& dig) {
  const std::string& method = plan.method;
  if (plan.expected_gradients > 0) {
    return "expected gradients (" + std::to_string(plan.expected_gradients) + " samples, seed " +
           std::to_string(options.seed.value_or(0)) + ")";
  }
  if (method == "saliency" || method == "inputxgradient") return method;
  if (is_dig(method)) {
    return "dig " + method.substr(4) + " (m=" + std::to_string(dig.anchors()) + ", K=" + std::to_string(dig.neighbours()) +
           ", upscale " + std::to_string(dig.upscale()) + ")";
  }
  const std::string tolerance = std::to_string(options.tolerance.value_or(0.01)).substr(0, 6);
  const std::string family = method == "sig" ? "sig" : "ig";
  std::string label;
  switch (plan.strategy) {
    case Strategy::IntervalAdaptive:
      label = family + " adaptive (tolerance " + tolerance + ")";
      break;
    case Strategy::Doubling:
      label = family + " doubling " + (method == "sig" ? "riemann_right" : method) + " (tolerance " + tolerance + ")";
      break;
    case Strategy::Fixed:
      label = method == "sig" ? "sig gausslegendre" : "ig " + method;
      break;
  }
  return plan.distribution ? "distribution " + label : label;
}

}  // namespace igx::detail
