// "Certified" is a contract: whatever the error-controlled strategies call certified must hold
// when recomputed independently of the integrator (F at the two ends from a plain forward pass,
// the attributions summed here).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "igx/igx.h"
#include "igx/report.h"
#include "test_models.h"

namespace {

using igx::Certify;
using igx::IgOptions;
using igx::Rule;
using igx::Strategy;

// F(x) for `target` of the model's output `kind`, by one forward pass outside the integrator.
std::vector<double> outputs_of(igx::Model& model, const torch::Tensor& points, const torch::Tensor& targets,
                               igx::OutputKind kind) {
  torch::NoGradGuard no_grad;
  const torch::Tensor selected = igx::select_output(model.forward(points, {}), targets, kind).to(torch::kDouble);
  return {selected.data_ptr<double>(), selected.data_ptr<double>() + selected.numel()};
}

// The relative completeness error of example b recomputed from scratch, or -1 when the gap is
// below `min_gap` (no relative error to check).
double recomputed_relative_error(igx::Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                 const igx::Attribution& result, int64_t b, igx::OutputKind kind, double min_gap) {
  const torch::Tensor target = torch::tensor({result.examples[b].target}, torch::kLong);
  const double at_input = outputs_of(model, inputs[b].unsqueeze(0), target, kind)[0];
  const double at_baseline = outputs_of(model, baselines[b].unsqueeze(0), target, kind)[0];
  const double gap = at_input - at_baseline;
  if (std::abs(gap) <= min_gap) return -1.0;
  const double sum = result.values[b].to(torch::kDouble).sum().item<double>();
  return std::abs(sum - gap) / std::abs(gap);
}

// Along the path from 0 to x with c = w . x = 1, F(gamma(a)) = slope a + height sin^2(5 pi a^2):
// F(x) = slope and F(x') = 0, but F is far from both at most nodes inside the path. The error
// target is tolerance * |F(x) - F(x')|, whatever F is at the nodes refinement adds.
igx::FunctionModel bumps(double height, double slope) {
  const torch::Tensor w = torch::tensor({0.25, 0.75}, torch::kDouble);
  return igx::FunctionModel(
      [w, height, slope](const torch::Tensor& x) {
        const torch::Tensor c = torch::matmul(x, w.to(x.dtype()));
        return (slope * c + height * torch::sin(5.0 * M_PI * c * c).pow(2)).unsqueeze(1);
      },
      "bumps");
}

// Refinement over several rounds on a path where the nodes it adds have F far from F(x): the
// certificate must be measured against the real gap F(x) - F(x'), checked from outside.
TEST(Certificates, TargetIsTheRealGapAfterSeveralRounds) {
  auto model = bumps(20.0, 1.0);
  const torch::Tensor x = torch::tensor({1.0, 1.0}, torch::kDouble).unsqueeze(0);  // c = 1
  const torch::Tensor zero = torch::zeros_like(x);
  for (Certify certify : {Certify::PanelSum, Certify::Completeness}) {
    for (double tolerance : {1e-2, 1e-4}) {
      const auto result = igx::integrated_gradients(
          model, x,
          IgOptions().strategy(Strategy::IntervalAdaptive).certify(certify).tolerance(tolerance)
              .target(igx::Target::index(0)).max_steps(4097));
      const auto& report = result.examples[0];
      SCOPED_TRACE(igx::certify_name(certify) + " tolerance " + std::to_string(tolerance));
      // One batch per round and some for the scan of F (no batch limit): several rounds happened.
      EXPECT_GE(result.counts.batches, 5);
      // The scan only (the ends are nodes); no point evaluated twice or where a first node (k / 8)
      // is: the 24 points k / 32 that are not nodes, at most the 32 points k / 64 between them, and
      // at most 24 finer points k / 256 in each of the 8 intervals between first nodes.
      EXPECT_EQ(result.counts.forward_rows, report.forward_steps);
      EXPECT_GE(report.forward_steps, 24);
      EXPECT_LE(report.forward_steps, 24 + 32 + 8 * 24);
      ASSERT_TRUE(report.certified.value_or(false));
      EXPECT_NEAR(report.output_input, 1.0, 1e-12);
      EXPECT_NEAR(report.output_baseline, 0.0, 1e-12);
      EXPECT_LE(*report.absolute_error_bound, tolerance * 1.0);
      EXPECT_LE(*report.error_bound, tolerance);
      EXPECT_LE(recomputed_relative_error(model, x, zero, result, 0, igx::OutputKind::Logit, 0.0), tolerance);
    }
  }
}

// F(x) = F(x'): no relative error exists, and the absolute target is the gap floor
// (min_output_gap), not a gap to some node inside the path.
TEST(Certificates, EqualEndsAreCertifiedAgainstTheAbsoluteFloor) {
  auto model = bumps(5.0, 0.0);
  const torch::Tensor x = torch::tensor({1.0, 1.0}, torch::kDouble).unsqueeze(0);
  for (Certify certify : {Certify::PanelSum, Certify::Completeness}) {
    const auto result = igx::integrated_gradients(
        model, x,
        IgOptions().strategy(Strategy::IntervalAdaptive).certify(certify).target(igx::Target::index(0))
            .min_output_gap(1e-6).max_steps(4097));
    const auto& report = result.examples[0];
    EXPECT_FALSE(report.relative_error.has_value());
    ASSERT_TRUE(report.certified.has_value());
    if (*report.certified) EXPECT_LE(*report.absolute_error_bound, 1e-6) << igx::certify_name(certify);
    EXPECT_LE(std::abs(report.delta), *report.absolute_error_bound + 1e-12);
  }
}

// A random MLP with large weights (saturated tanh units) and a softmax output; its weights are
// rounded to `dtype` once and computed in the input's dtype (so float64 inputs evaluate the float32
// model exactly: its float64 form, and the reference).
struct SaturatingMlp {
  SaturatingMlp(int64_t inputs, int64_t hidden, int64_t classes, double scale, uint64_t seed,
                torch::ScalarType dtype) {
    torch::manual_seed(seed);
    first = torch::randn({inputs, hidden}, torch::kDouble) * scale / std::sqrt(static_cast<double>(inputs));
    first_bias = torch::randn({hidden}, torch::kDouble) * scale * 0.5;
    second = torch::randn({hidden, hidden}, torch::kDouble) * scale / std::sqrt(static_cast<double>(hidden));
    out = torch::randn({hidden, classes}, torch::kDouble) * scale;
    for (torch::Tensor* weight : {&first, &first_bias, &second, &out}) *weight = weight->to(dtype).to(torch::kDouble);
  }
  igx::FunctionModel model() const {
    return igx::FunctionModel(
        [*this](const torch::Tensor& x) {
          const auto t = x.scalar_type();
          return torch::matmul(torch::tanh(torch::matmul(torch::tanh(torch::matmul(x, first.to(t)) + first_bias.to(t)),
                                                         second.to(t))),
                               out.to(t));
        },
        "saturating mlp");
  }
  torch::Tensor first, first_bias, second, out;
};

double relative_l1(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().sum().item<double>() / b.abs().sum().item<double>();
}

// What the property checks count over the models explained, per strategy.
struct PropertyCounts {
  int64_t examples = 0;   ///< examples explained
  int64_t certified = 0;  ///< examples certified
  int64_t checked = 0;    ///< of those, with a relative completeness error recomputed
  int64_t vectors = 0;    ///< of those, with a reference vector to check against
};

// The property on one random saturating model (seed), with each of `strategies` (0: adaptive,
// completeness; 1: adaptive, panels; 2: doubling): every certified example has an independently
// recomputed relative completeness error within the tolerance and, against a fine reference (two
// fixed rules with thousands of nodes that agree), an attribution vector within the attribution
// tolerance. The model's dtype, weights' scale and tolerance follow from the seed.
void check_random_saturating_model(uint64_t seed, const std::vector<int>& strategies,
                                   std::array<PropertyCounts, 3>& counts_by_strategy,
                                   igx::OutputKind output = igx::OutputKind::Probability) {
  const double scale = 2.0 + static_cast<double>(seed % 5) * 2.0;  // 2 ... 10
  const torch::ScalarType dtype = seed % 4 < 2 ? torch::kDouble : torch::kFloat;
  const SaturatingMlp mlp(6, 16, 3, scale, 1000 + seed, dtype);
  auto model = mlp.model();
  torch::manual_seed(seed);
  // Rounded to the model's dtype: the references and F are recomputed at the points igx explains.
  const torch::Tensor inputs = (torch::randn({6, 6}, torch::kDouble) * 2.0).to(dtype).to(torch::kDouble);
  const torch::Tensor targets = torch::randint(0, 3, {6}, torch::kLong);
  const std::vector<int64_t> classes(targets.data_ptr<int64_t>(), targets.data_ptr<int64_t>() + 6);
  const double tolerance = seed % 2 == 0 ? 0.01 : 0.001;
  const IgOptions reference_options =
      IgOptions().output(output).target(igx::Target::per_example(classes));
  const auto fine = igx::integrated_gradients(model, inputs, IgOptions(reference_options).method(Rule::GaussLegendre).n_steps(3000));
  const auto finer = igx::integrated_gradients(model, inputs, IgOptions(reference_options).method(Rule::RiemannMiddle).n_steps(6000));
  for (int strategy : strategies) {
    PropertyCounts& counts = counts_by_strategy[static_cast<size_t>(strategy)];
    IgOptions options =
        IgOptions(reference_options).strategy(Strategy::IntervalAdaptive).tolerance(tolerance).max_steps(513);
    std::string what = "adaptive, completeness";
    if (strategy == 1) {
      options.certify(Certify::PanelSum);
      what = "adaptive, panels";
    } else if (strategy == 2) {
      options.strategy(Strategy::Doubling).method(Rule::RiemannRight).max_steps(1024);
      what = "doubling";
    }
    const auto result = igx::integrated_gradients(model, inputs.to(dtype), options);
    for (int64_t b = 0; b < inputs.size(0); ++b) {
      const auto& report = result.examples[b];
      ASSERT_TRUE(report.certified.has_value());
      ++counts.examples;
      if (!*report.certified) continue;
      ++counts.certified;
      const std::string where = "seed " + std::to_string(seed) + " example " + std::to_string(b) + " scale " +
                                std::to_string(scale) + " " + c10::toString(dtype) + " " + what + " " +
                                igx::output_kind_name(output);
      const double error = recomputed_relative_error(model, inputs, torch::zeros_like(inputs), result, b,
                                                     output, options.min_output_gap());
      // Without a relative error (|gap| below min_output_gap, or within float32 noise of F) the
      // absolute floor was certified.
      if (error >= 0 && report.relative_error) {
        ++counts.checked;
        EXPECT_LE(error, tolerance * (1 + 1e-9)) << where;
      }
      const torch::Tensor reference = fine.values[b];
      if (reference.abs().sum().item<double>() == 0.0 || relative_l1(finer.values[b], reference) > 1e-3) continue;
      ++counts.vectors;
      EXPECT_LE(relative_l1(result.values[b].to(torch::kDouble), reference), options.attribution_tolerance()) << where;
    }
  }
}

// The property over the first 119 models, one strategy each in turn (about 12 s), the same every
// run. Seeds 64 (panels), 204, 309 and 393 (float64, adaptive) were certified with vectors 5-53 %
// off while the coarse scan's spacing was 1/16 (an excursion of F between a coarse point and a
// node); with points k / 64 and the finer k / 256 they hold.
// The study of docs/methods.md, every strategy on the first 400 models (about 1 min of CPU on an idle
// core; it prints the certified fraction of each strategy):
//   IGX_SATURATING_MODELS=400 IGX_EVERY_STRATEGY=1 build/tests/igx_tests \
//       --gtest_filter=Certificates.CertifiedHoldsOnRandomSaturatingModels
// IGX_SATURATING_OUTPUT=logprob (or logit) explains that output of the same models instead of the
// probability.
TEST(Certificates, CertifiedHoldsOnRandomSaturatingModels) {
  const char* models_variable = std::getenv("IGX_SATURATING_MODELS");
  const int64_t models = models_variable ? std::stoll(models_variable) : 119;
  const bool every_strategy = std::getenv("IGX_EVERY_STRATEGY") != nullptr;
  const char* output_variable = std::getenv("IGX_SATURATING_OUTPUT");
  const igx::OutputKind output = output_variable ? igx::parse_output_kind(output_variable) : igx::OutputKind::Probability;
  std::array<PropertyCounts, 3> counts_by_strategy;
  for (int64_t seed = 0; seed < models; ++seed) {
    const std::vector<int> strategies = every_strategy ? std::vector<int>{0, 1, 2} : std::vector<int>{static_cast<int>(seed % 3)};
    check_random_saturating_model(static_cast<uint64_t>(seed), strategies, counts_by_strategy, output);
  }
  PropertyCounts counts;
  for (size_t strategy = 0; strategy < counts_by_strategy.size(); ++strategy) {
    const PropertyCounts& own = counts_by_strategy[strategy];
    if (every_strategy) {
      std::cout << "strategy " << strategy << " (0 adaptive, 1 panels, 2 doubling): certified " << own.certified << " of "
                << own.examples << "\n";
    }
    counts.examples += own.examples;
    counts.certified += own.certified;
    counts.checked += own.checked;
    counts.vectors += own.vectors;
  }
  EXPECT_GT(counts.checked, models);  // most examples are certified, and most have a relative error
  EXPECT_GT(counts.vectors, models);
  EXPECT_GE(counts.certified, counts.checked);
}

// The same property through the other outputs: the logit and the log-probability of the first 60
// models in turn, one strategy each (about 8 s). The 400-model study of both (docs/methods.md)
// found one log-probability example beyond the scan's resolution (seed 99), none through logits.
TEST(Certificates, CertifiedHoldsOnRandomSaturatingModelsThroughLogitsAndLogProbabilities) {
  std::array<PropertyCounts, 3> counts_by_strategy;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const igx::OutputKind output = seed % 2 == 0 ? igx::OutputKind::Logit : igx::OutputKind::LogProbability;
    check_random_saturating_model(seed, {static_cast<int>((seed / 2) % 3)}, counts_by_strategy, output);
  }
  for (const PropertyCounts& counts : counts_by_strategy) {
    EXPECT_GT(counts.certified, counts.examples / 2);
    EXPECT_GT(counts.vectors, 0);
  }
}

// Every strategy on the models where one of them certified a wrong vector, found by running the
// property for seeds 0-399 with all three strategies (docs/methods.md): 15 wrong vectors in 9 models,
// 14-99.6 % off, the default (adaptive, completeness) among them on 7 (the test above gives each
// seed one strategy, so it never ran these). The causes: (1) float32 seeds 14, 139, 358: nodes that
// see F go 1 -> 0 -> 1 with gradients ~0 at all three, so the panel's estimate was ~0
// (NodesThatSeeFMoveButNotItsWallsAreNoEstimate); (2) float32 seeds 119, 163, 274, 302, 326:
// attributions ~1e-9 against F ~ 1, below what float32 gradients resolve: the float32 vector itself
// is 28-55 % off (GradientRoundingLimitsTinyAttributions); (3) float64 seed 232, doubling: right
// Riemann's change grew from 1.5 % to 2.5 % at n = 128, 8.6 % off (an estimate only once the
// changes shrink). About 3 s.
TEST(Certificates, CertifiedHoldsOnHardSaturatingModelsWithEveryStrategy) {
  std::array<PropertyCounts, 3> counts_by_strategy;
  for (uint64_t seed : {14, 119, 139, 163, 232, 274, 302, 326, 358}) {
    check_random_saturating_model(seed, {0, 1, 2}, counts_by_strategy);
  }
  for (const PropertyCounts& counts : counts_by_strategy) EXPECT_GT(counts.vectors, 0);
}

// The same property on random ReLU networks, where interval-adaptive integration splits panels
// around located switch points (adaptive.cpp, locate_switch): every certified example's
// completeness error recomputed, and its vector against the fine references, in float64 and
// float32, for both adaptive criteria, and that attribution_error is not below the true error. 60
// models (16 inputs, 2 hidden layers of 24, 3 classes, logits; about 17 s), the same every run:
// 236 certified examples, all within both tolerances; the splits and shared-region panels cut
// their gradient evaluations from 33484 (bisection alone) to 21800.
TEST(Certificates, CertifiedHoldsOnRandomReluNetworks) {
  int64_t certified = 0, vectors = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const torch::ScalarType dtype = seed % 4 < 2 ? torch::kDouble : torch::kFloat;
    torch::manual_seed(2000 + seed);
    const double scale = 1.0 + static_cast<double>(seed % 3);
    torch::Tensor first = torch::randn({16, 24}, torch::kDouble) * scale / 4, bias = torch::randn({24}, torch::kDouble),
                  second = torch::randn({24, 24}, torch::kDouble) * scale / 5, second_bias = torch::randn({24}, torch::kDouble) * 0.5,
                  out = torch::randn({24, 3}, torch::kDouble);
    for (torch::Tensor* weight : {&first, &bias, &second, &second_bias, &out}) *weight = weight->to(dtype).to(torch::kDouble);
    auto model = igx::FunctionModel(
        [=](const torch::Tensor& x) {
          const auto t = x.scalar_type();
          const torch::Tensor hidden = torch::relu(torch::matmul(x, first.to(t)) + bias.to(t));
          return torch::matmul(torch::relu(torch::matmul(hidden, second.to(t)) + second_bias.to(t)), out.to(t));
        },
        "relu network");
    const torch::Tensor inputs = (torch::randn({4, 16}, torch::kDouble) * 2.0).to(dtype).to(torch::kDouble);
    const double tolerance = seed % 2 == 0 ? 0.01 : 0.001;
    IgOptions options = IgOptions().strategy(Strategy::IntervalAdaptive).tolerance(tolerance).max_steps(1025);
    if (seed % 3 == 1) options.certify(Certify::PanelSum);
    if (seed % 5 == 4) options.attribution_tolerance(tolerance);
    const auto result = igx::integrated_gradients(model, inputs.to(dtype), options);
    const auto fine = igx::integrated_gradients(model, inputs, IgOptions().method(Rule::RiemannMiddle).n_steps(20000));
    const auto finer = igx::integrated_gradients(model, inputs, IgOptions().method(Rule::RiemannMiddle).n_steps(40000));
    for (int64_t b = 0; b < inputs.size(0); ++b) {
      const auto& report = result.examples[b];
      if (!*report.certified) continue;
      ++certified;
      const std::string where = "seed " + std::to_string(seed) + " example " + std::to_string(b) + " " +
                                c10::toString(dtype) + " " + igx::certify_name(options.certify());
      const double error = recomputed_relative_error(model, inputs, torch::zeros_like(inputs), result, b,
                                                     igx::OutputKind::Logit, options.min_output_gap());
      if (error >= 0 && report.relative_error) EXPECT_LE(error, tolerance * (1 + 1e-9)) << where;
      const torch::Tensor reference = finer.values[b];
      if (relative_l1(fine.values[b], reference) > 1e-4) continue;
      ++vectors;
      const double vector_error = relative_l1(result.values[b].to(torch::kDouble), reference);
      EXPECT_LE(vector_error, options.attribution_tolerance()) << where;
      EXPECT_GE(report.attribution_error.value_or(0.0) + 2e-4, vector_error) << where;
    }
  }
  EXPECT_GT(certified, 150);
  EXPECT_GT(vectors, 150);
}

// ---------------------------------------------------------------------------------------------
// Rounding: a float32 F cannot certify what its own rounding hides.

// F = offset + 0.02 tanh(w . x): a gap of ~0.02 on top of an output of ~offset, the shape of a
// single token's gap in Sequential IG. In float64 a few panels certify it; in float32 with a large
// offset the rounding of F is bigger than 1 % of the gap, so igx must say so and stop early
// instead of spending the budget on noise.
igx::FunctionModel offset_tanh(double offset) {
  const torch::Tensor w = torch::tensor({0.5, -0.25, 1.0}, torch::kDouble);
  return igx::FunctionModel(
      [w, offset](const torch::Tensor& x) {
        return (offset + 0.02 * torch::tanh(torch::matmul(x, w.to(x.dtype())))).unsqueeze(1);
      },
      "offset tanh");
}

TEST(Certificates, Float32RoundingIsReportedNotRefined) {
  const torch::Tensor x = torch::tensor({1.0, -1.0, 0.5}, torch::kDouble).unsqueeze(0);
  const auto options = IgOptions().strategy(Strategy::IntervalAdaptive).tolerance(0.01).target(igx::Target::index(0))
                           .max_steps(4095);
  auto model = offset_tanh(100.0);
  for (Certify certify : {Certify::PanelSum, Certify::Completeness}) {
    const auto exact = igx::integrated_gradients(model, x, IgOptions(options).certify(certify));
    EXPECT_TRUE(exact.examples[0].certified.value_or(false)) << igx::certify_name(certify);
    EXPECT_FALSE(exact.examples[0].precision_limited);
    EXPECT_LE(exact.examples[0].steps, 33);
  }
  // float32: the panel sum needs F at every panel's ends, each rounded by more than 1 % of the gap.
  // igx says so and stops, instead of spending 4095 evaluations on noise. So does |delta| when F(x)
  // and F(x') are only known in float32.
  const torch::Tensor single = x.to(torch::kFloat);
  for (const IgOptions& limited : {IgOptions(options).certify(Certify::PanelSum),
                                   IgOptions(options).certify(Certify::Completeness).float64_ends(false)}) {
    SCOPED_TRACE(igx::certify_name(limited.certify()));
    const auto rounded = igx::integrated_gradients(model, single, limited);
    const auto& report = rounded.examples[0];
    EXPECT_FALSE(report.certified.value_or(true));
    EXPECT_FALSE(report.completeness_certified.value_or(true));
    EXPECT_TRUE(report.precision_limited);
    ASSERT_TRUE(report.attainable_error_bound.has_value());
    EXPECT_GT(*report.attainable_error_bound, 0.01);  // what float32 allows: not 1 % of this gap
    EXPECT_LE(*report.attainable_error_bound, *report.error_bound);
    EXPECT_LE(report.steps, 33);
    const std::string line = igx::certificate_line(report, torch::kFloat);
    EXPECT_NE(line.find("limited by float32 precision"), std::string::npos) << line;
  }
  // With F(x) and F(x') evaluated again in float64 (the default, as this function computes in its
  // input's dtype), |delta| is what an independent check finds: the float32 gradients are accurate
  // (the offset does not reach them), so it certifies, and the check agrees.
  const auto checked = igx::integrated_gradients(model, single, IgOptions(options).certify(Certify::Completeness));
  const auto& report = checked.examples[0];
  ASSERT_TRUE(report.certified.value_or(false));
  EXPECT_FALSE(report.precision_limited);
  const torch::Tensor target = torch::tensor({int64_t{0}}, torch::kLong);
  EXPECT_EQ(report.output_input, outputs_of(model, x, target, igx::OutputKind::Logit)[0]);  // float64
  EXPECT_LE(recomputed_relative_error(model, x, torch::zeros_like(x), checked, 0, igx::OutputKind::Logit, 0.0), 0.01);
  // The scan's first pass, the 24 points k / 32 that are not first nodes (F rises along the path
  // with one curvature on each stretch: no point k / 64, nothing for the finer grid), and the two
  // float64 ends.
  EXPECT_EQ(checked.counts.forward_rows, 24 + 2);
}

// ---------------------------------------------------------------------------------------------
// The attribution vector: errors that cancel in completeness.

// Along the path from 0 to x = (1, 1), F = u(x1 - rise) - u(x2 - fall) + 0.5 x1 with u a steep
// sigmoid: F rises by 1 at alpha = rise (feature 1) and falls back at fall (feature 2), between the
// first gradient nodes (0 and 0.125), where F and its gradient show nothing. IG = (1.5, -1) to
// within 1e-6; completeness (gap 0.5) holds for any rule that misses the excursion.
igx::FunctionModel hidden_excursion(double rise = 0.06, double fall = 0.09, double width = 0.002) {
  return igx::FunctionModel(
      [rise, fall, width](const torch::Tensor& x) {
        auto u = [width](const torch::Tensor& t) { return torch::sigmoid(t / width); };
        return (u(x.select(1, 0) - rise) - u(x.select(1, 1) - fall) + 0.5 * x.select(1, 0)).unsqueeze(1);
      },
      "hidden excursion");
}

TEST(Certificates, TheScanFindsWhatTheNodesMiss) {
  auto model = hidden_excursion();
  const torch::Tensor x = torch::tensor({1.0, 1.0}, torch::kDouble).unsqueeze(0);
  const torch::Tensor exact = torch::tensor({1.5, -1.0}, torch::kDouble);
  const auto base = IgOptions().strategy(Strategy::IntervalAdaptive).target(igx::Target::index(0));
  // Completeness alone, no scan: certified, and the vector is wrong (the excursion is missed).
  const auto blind = igx::integrated_gradients(model, x, IgOptions(base).attribution_tolerance(0).scan_points(0));
  EXPECT_TRUE(blind.examples[0].certified.value_or(false));
  EXPECT_GT(relative_l1(blind.values[0], exact), 0.5);
  // Only the nodes sampled F: no finer than the first nodes k / 8 that were never bisected.
  EXPECT_GE(blind.examples[0].scan_resolution.value_or(0.0), 1.0 / 8);
  // The defaults: the scan sees F move between the nodes, refinement follows, the vector is right.
  const auto seen = igx::integrated_gradients(model, x, base);
  const auto& report = seen.examples[0];
  // The scan: the 24 points k / 32 that are not first nodes (k / 8); the one at 2/32 sees the
  // excursion (F 0.81 where the nodes 0 and 1/8 see 0 and 0.06), so the points k / 64 where F's
  // differences around change sign follow (3/64 to 9/64), then the 25 other points k / 256 between
  // the nodes 0 and 1/8. Nowhere else do the points show what the nodes miss.
  EXPECT_EQ(report.forward_steps, 24 + 4 + 25);
  // Elsewhere F was evaluated every 1/32 (first nodes, the first pass, nodes refinement added).
  EXPECT_DOUBLE_EQ(report.scan_resolution.value_or(0.0), 1.0 / 32);
  EXPECT_NE(igx::certificate_line(report, torch::kDouble).find("; scan resolution 1/32)"), std::string::npos)
      << igx::certificate_line(report, torch::kDouble);
  ASSERT_TRUE(report.certified.value_or(false));
  EXPECT_TRUE(report.attribution_certified.value_or(false));
  EXPECT_LE(relative_l1(seen.values[0], exact), base.attribution_tolerance());
  EXPECT_GE(*report.attribution_error, relative_l1(seen.values[0], exact));
  // Doubling too: certified only when the levels agree and the scan sees nothing between nodes.
  const auto doubling = igx::integrated_gradients(
      model, x, IgOptions(base).strategy(Strategy::Doubling).method(igx::Rule::RiemannTrapezoid));
  EXPECT_EQ(doubling.examples[0].forward_steps, 65);  // doubling scans the whole grid first
  // Its grid k / 64 at least; its levels' nodes sample F more finely still.
  EXPECT_GT(doubling.examples[0].scan_resolution.value_or(1.0), 0.0);
  EXPECT_LE(doubling.examples[0].scan_resolution.value_or(1.0), 1.0 / 64);
  if (doubling.examples[0].certified.value_or(false)) {
    EXPECT_LE(relative_l1(doubling.values[0], exact), base.attribution_tolerance());
  }
}

// The scan looks between every two first nodes, however many: with 64 initial intervals (nodes
// k / 128) no point k / 64 lies between two, so the middle point k / 256 of each stretch is
// evaluated (128 rows), and the excursion of TheScanFindsWhatTheNodesMiss is seen there.
TEST(Certificates, TheScanLooksBetweenEveryTwoNodes) {
  auto model = hidden_excursion();
  const torch::Tensor x = torch::tensor({1.0, 1.0}, torch::kDouble).unsqueeze(0);
  const torch::Tensor exact = torch::tensor({1.5, -1.0}, torch::kDouble);
  const auto options = IgOptions().strategy(Strategy::IntervalAdaptive).target(igx::Target::index(0))
                           .initial_intervals(64);
  const auto result = igx::integrated_gradients(model, x, options);
  const auto& report = result.examples[0];
  EXPECT_EQ(report.forward_steps, 128);  // one point between each two of the 129 nodes
  ASSERT_TRUE(report.certified.value_or(false));
  EXPECT_LE(relative_l1(result.values[0], exact), options.attribution_tolerance());
}

// Along the path from 0 to x = (1, 1, 1, 1), F = 20 (x1 - x2) c(x1) + 1e-3 c(x1) + x3 - x4 with c a
// bump of width 0.004 at alpha = 5/16, between the first nodes 1/4 and 3/8: on the path F is only
// 1e-3 c (F(x) = F(x') = 0, as on a saturated BERT where F(x) ~ F(x') ~ 1e-25), but features 1 and
// 2 get +-20 * 0.004 sqrt(2 pi) = +-0.2005 from the bump, which cancel in F. IG = (0.2005,
// -0.2005, 1, -1). The scan sees F move by 2e-3 where the nodes see nothing: far less than the
// vector's 17 % that the nodes miss. F's hidden variation is a lower bound of that error, not an
// estimate (found on bench/run_certificates.sh's bert-sat32 input 8: certified, 15 % off, its
// attribution_error 4.3 %; F's variation there was 1/8000 of the features').
TEST(Certificates, HiddenVariationIsNotAVectorEstimate) {
  constexpr double kWeight = 20.0, kHeight = 1e-3, kWidth = 0.004, kCentre = 0.3125;
  auto model = igx::FunctionModel(
      [=](const torch::Tensor& x) {
        const torch::Tensor c = torch::exp(-0.5 * ((x.select(1, 0) - kCentre) / kWidth).pow(2));
        return ((kWeight * (x.select(1, 0) - x.select(1, 1)) + kHeight) * c + x.select(1, 2) - x.select(1, 3))
            .unsqueeze(1);
      },
      "features that cancel in F");
  const torch::Tensor x = torch::ones({1, 4}, torch::kFloat);
  const double bump = kWeight * kWidth * std::sqrt(2.0 * M_PI);
  const torch::Tensor exact = torch::tensor({bump, -bump, 1.0, -1.0}, torch::kDouble);
  const auto options = IgOptions().strategy(Strategy::IntervalAdaptive).target(igx::Target::index(0));
  const auto result = igx::integrated_gradients(model, x, options);
  const auto& report = result.examples[0];
  EXPECT_FALSE(report.relative_error.has_value());  // F(x) = F(x'): the absolute floor
  ASSERT_TRUE(report.certified.value_or(false));
  const double error = relative_l1(result.values[0], exact);
  EXPECT_LE(error, options.attribution_tolerance());
  EXPECT_GE(*report.attribution_error, error);
  // Doubling adds F's hidden variation to its estimate too: certified only when it holds.
  const auto doubling = igx::integrated_gradients(
      model, x, IgOptions(options).strategy(Strategy::Doubling).method(igx::Rule::RiemannTrapezoid));
  if (doubling.examples[0].certified.value_or(false)) {
    EXPECT_LE(relative_l1(doubling.values[0], exact), options.attribution_tolerance());
  }
}

// Along the path from 0 to x = (1, 1, 1), F = 1 - u(x1 - 0.3) + u(x2 - 0.45) + 5 relu(x3 - 0.6)^2
// with u a steep sigmoid: F drops by 1 at alpha = 0.3 (feature 1) and comes back at 0.45
// (feature 2), a dip with a flat bottom, then rises by 0.8 (feature 3). IG = (-1, 1, 0.8) to
// within 1e-6. The first panel [0.25, 0.5] has its nodes on F = 1, 0, 1 (no hidden variation:
// F is monotone between them) and gradients ~1e-9 at all three, so its quadrature and per-feature
// estimate are ~0 (and its |e| too: the walls cancel), while each half's F changes by 1. Only its
// halves' errors show it (found on random float32 saturating MLPs, seeds 14, 139 and 358 of the
// property above: certified with vectors 14-99.6 % off, estimates 3-4 %). Before: certified at
// 11 evaluations, 72 % off, attribution_error 4.2 %.
TEST(Certificates, NodesThatSeeFMoveButNotItsWallsAreNoEstimate) {
  auto model = igx::FunctionModel(
      [](const torch::Tensor& x) {
        auto u = [](const torch::Tensor& t) { return torch::sigmoid(t / 0.002); };
        return (1.0 - u(x.select(1, 0) - 0.3) + u(x.select(1, 1) - 0.45) + 5.0 * torch::relu(x.select(1, 2) - 0.6).pow(2))
            .unsqueeze(1);
      },
      "a dip between nodes");
  const torch::Tensor exact = torch::tensor({-1.0, 1.0, 0.8}, torch::kDouble);
  const auto base = IgOptions().strategy(Strategy::IntervalAdaptive).target(igx::Target::index(0));
  for (torch::ScalarType dtype : {torch::kDouble, torch::kFloat}) {
    for (Certify certify : {Certify::Completeness, Certify::PanelSum}) {
      SCOPED_TRACE(igx::certify_name(certify) + " " + c10::toString(dtype));
      const auto result = igx::integrated_gradients(model, torch::ones({1, 3}, dtype), IgOptions(base).certify(certify));
      const auto& report = result.examples[0];
      ASSERT_TRUE(report.certified.value_or(false));
      const double error = relative_l1(result.values[0].to(torch::kDouble), exact);
      EXPECT_LE(error, base.attribution_tolerance());
      EXPECT_GE(*report.attribution_error, error);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rounding of the gradients: a float32 softmax saturated at F = 1.

// F = softmax(20 + x1 - x2, 0)_0: along the path from 0 to x = (1, 1) the logit stays 20, so F stays
// 1 - 2.1e-9 and IG = (2.1e-9, -2.1e-9) (F(x) = F(x'): no relative error, the absolute floor holds).
// In float32 F rounds to 1 and the softmax's gradient F (1 - F) to 0: the attributions come out 0,
// 100 % off, and nothing in them shows it. igx says the vector is limited by float32 precision
// instead of certifying it (found on random float32 saturating MLPs, seeds 119 and 326: certified
// 28-55 % off with attributions ~1e-9 against F ~ 1); in float64 it certifies the right vector.
TEST(Certificates, GradientRoundingLimitsTinyAttributions) {
  auto model = igx::FunctionModel(
      [](const torch::Tensor& x) {
        const torch::Tensor logit = 20.0 + x.select(1, 0) - x.select(1, 1);
        return torch::stack({logit, torch::zeros_like(logit)}, 1);
      },
      "saturated softmax");
  const double tail = 1.0 / (1.0 + std::exp(20.0));
  const double slope = tail * (1.0 - tail);  // dF/dlogit = F (1 - F)
  const torch::Tensor exact = torch::tensor({slope, -slope}, torch::kDouble);
  const auto options = IgOptions().output(igx::OutputKind::Probability).target(igx::Target::index(0));
  for (Strategy strategy : {Strategy::IntervalAdaptive, Strategy::Doubling}) {
    SCOPED_TRACE(igx::strategy_name(strategy));
    IgOptions strategic = IgOptions(options).strategy(strategy);
    if (strategy == Strategy::Doubling) strategic.method(Rule::RiemannRight);
    const auto single = igx::integrated_gradients(model, torch::ones({1, 2}, torch::kFloat), strategic);
    const auto& report = single.examples[0];
    EXPECT_TRUE(report.completeness_certified.value_or(false));  // |delta| is within the floor
    EXPECT_FALSE(report.certified.value_or(true));
    EXPECT_FALSE(report.attribution_certified.value_or(true));
    EXPECT_TRUE(report.precision_limited);
    EXPECT_FALSE(report.attainable_error_bound.has_value());  // completeness is not what rounding limits
    const std::string line = igx::certificate_line(report, torch::kFloat);
    EXPECT_NE(line.find("too small against F for its float32 gradients"), std::string::npos) << line;
    const auto twice = igx::integrated_gradients(model, torch::ones({1, 2}, torch::kDouble), strategic);
    ASSERT_TRUE(twice.examples[0].certified.value_or(false));
    EXPECT_FALSE(twice.examples[0].precision_limited);
    EXPECT_LE(relative_l1(twice.values[0], exact), options.attribution_tolerance());
  }
}

// The scan's resolution (docs/methods.md): its first pass (every other point k / scan_points, 1/32
// by default) sees an excursion that covers one of its points; one between them is seen where its
// flanks reach them beyond F's rounding (then the points k / scan_points around it follow), and
// missed where they do not. Here F goes up and back between alpha = 0.07 and 0.085, inside (1/16,
// 1/8). 16 scan points (first pass k / 8: the nodes; so the points k / 16) miss it. The default
// 64 see its flanks at 2/32 and 3/32 (F rises there with slopes that fall and rise), evaluate
// 3/64 and 7/64 (F falls from 3/32 to 7/64), then 5/64 inside it, and the finer grid k / 256
// resolves it. The same excursion with walls 10 times steeper leaves nothing at 2/32 and 3/32
// beyond rounding: the default misses it, 128 scan points (first pass k / 64) see it.
TEST(Certificates, TheScanResolvesItsGridSpacing) {
  auto model = hidden_excursion(0.07, 0.085);
  const torch::Tensor x = torch::tensor({1.0, 1.0}, torch::kDouble).unsqueeze(0);
  const torch::Tensor exact = torch::tensor({1.5, -1.0}, torch::kDouble);
  const auto base = IgOptions().strategy(Strategy::IntervalAdaptive).target(igx::Target::index(0));
  const auto coarse = igx::integrated_gradients(model, x, IgOptions(base).scan_points(16));
  EXPECT_EQ(coarse.examples[0].forward_steps, 8);  // nothing flagged: no finer points
  EXPECT_DOUBLE_EQ(coarse.examples[0].scan_resolution.value_or(0.0), 1.0 / 16);  // the excursion is 0.015 wide
  EXPECT_GT(relative_l1(coarse.values[0], exact), 0.5);
  const auto finer = igx::integrated_gradients(model, x, base);
  const auto& report = finer.examples[0];
  // The 24 points k / 32 that are not first nodes, 3/64, 7/64 and 5/64, then the 25 other points
  // k / 256 of (0, 1/8).
  EXPECT_EQ(report.forward_steps, 24 + 3 + 25);
  ASSERT_TRUE(report.certified.value_or(false));
  EXPECT_LE(relative_l1(finer.values[0], exact), base.attribution_tolerance());
  EXPECT_GE(*report.attribution_error, relative_l1(finer.values[0], exact));

  auto steep = hidden_excursion(0.07, 0.085, 0.0002);
  const auto missed = igx::integrated_gradients(steep, x, base);
  EXPECT_EQ(missed.examples[0].forward_steps, 24);  // the first pass only: F = alpha / 2 there
  // The missed excursion is 0.015 wide, narrower than the resolution the report states.
  EXPECT_DOUBLE_EQ(missed.examples[0].scan_resolution.value_or(0.0), 1.0 / 32);
  EXPECT_GT(relative_l1(missed.values[0], exact), 0.5);
  const auto seen = igx::integrated_gradients(steep, x, IgOptions(base).scan_points(128));
  EXPECT_GT(seen.examples[0].forward_steps, 56);  // the first pass, k / 64, and what follows
  if (seen.examples[0].certified.value_or(false)) {
    EXPECT_LE(relative_l1(seen.values[0], exact), base.attribution_tolerance());
  }
}

// Which features carry the error: with a small budget and a kink in feature 0 only, the
// per-feature estimate points at feature 0, as the true error (against a fine rule) does.
TEST(Certificates, PerFeatureErrorsLocaliseTheError) {
  auto model = igx::FunctionModel(
      [](const torch::Tensor& x) {
        return (torch::relu(x.select(1, 0) - 0.37) * 5.0 + torch::tanh(x.select(1, 1)) + 0.3 * x.select(1, 2)).unsqueeze(1);
      },
      "kink in feature 0");
  const torch::Tensor x = torch::tensor({1.0, 0.8, 1.0}, torch::kDouble).unsqueeze(0);
  const auto coarse = igx::integrated_gradients(
      model, x, IgOptions().strategy(Strategy::IntervalAdaptive).tolerance(1e-9).max_steps(9).scan_points(0)
                    .target(igx::Target::index(0)));
  const auto fine = igx::integrated_gradients(model, x, IgOptions().method(Rule::RiemannMiddle).n_steps(20000)
                                                             .target(igx::Target::index(0)));
  ASSERT_TRUE(coarse.errors.defined());
  const torch::Tensor true_error = (coarse.values[0] - fine.values[0]).abs();
  EXPECT_EQ(coarse.errors[0].argmax().item<int64_t>(), 0);
  EXPECT_EQ(true_error.argmax().item<int64_t>(), 0);
  EXPECT_GE(coarse.errors[0][0].item<double>(), true_error[0].item<double>());
  EXPECT_NEAR(coarse.errors[0][2].item<double>(), 0.0, 1e-12);  // linear in feature 2: no error
}

}  // namespace

