// "Certified" is a contract: whatever the error-controlled strategies call certified must hold
// when recomputed independently of the integrator (F at the two ends from a plain forward pass,
// the attributions summed here).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "igx/igx.h"
#include "test_models.h"

namespace {

using igx::Certify;
using igx::IgOptions;
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
      // One batch per round (no forward-only pass, no batch limit): several rounds happened.
      EXPECT_GE(result.counts.batches, 3);
      EXPECT_EQ(result.counts.forward_rows, 0);
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

// A random MLP with large weights (saturated tanh units) and a softmax output.
struct SaturatingMlp {
  SaturatingMlp(int64_t inputs, int64_t hidden, int64_t classes, double scale, uint64_t seed,
                torch::ScalarType dtype) {
    torch::manual_seed(seed);
    first = torch::randn({inputs, hidden}, torch::kDouble) * scale / std::sqrt(static_cast<double>(inputs));
    first_bias = torch::randn({hidden}, torch::kDouble) * scale * 0.5;
    second = torch::randn({hidden, hidden}, torch::kDouble) * scale / std::sqrt(static_cast<double>(hidden));
    out = torch::randn({hidden, classes}, torch::kDouble) * scale;
    first = first.to(dtype);
    first_bias = first_bias.to(dtype);
    second = second.to(dtype);
    out = out.to(dtype);
  }
  igx::FunctionModel model() const {
    return igx::FunctionModel(
        [*this](const torch::Tensor& x) {
          return torch::matmul(torch::tanh(torch::matmul(torch::tanh(torch::matmul(x, first) + first_bias), second)), out);
        },
        "saturating mlp");
  }
  torch::Tensor first, first_bias, second, out;
};

// The property: over many random saturating models, every example certified at a tolerance has
// an independently recomputed relative completeness error within it, for both criteria.
// Time-boxed: as many models as fit in a few seconds, at least a handful.
TEST(Certificates, CertifiedHoldsOnRandomSaturatingModels) {
  const auto start = std::chrono::steady_clock::now();
  int64_t certified = 0, checked = 0, models = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    if (models >= 8 && std::chrono::steady_clock::now() - start > std::chrono::seconds(6)) break;
    ++models;
    const double scale = 2.0 + static_cast<double>(seed % 5) * 2.0;  // 2 ... 10
    const SaturatingMlp mlp(6, 16, 3, scale, 1000 + seed, torch::kDouble);
    auto model = mlp.model();
    torch::manual_seed(seed);
    const torch::Tensor inputs = torch::randn({6, 6}, torch::kDouble) * 2.0;
    const torch::Tensor targets = torch::randint(0, 3, {6}, torch::kLong);
    const double tolerance = seed % 2 == 0 ? 0.01 : 0.001;
    const Certify certify = seed % 3 == 0 ? Certify::Completeness : Certify::PanelSum;
    const auto options = IgOptions()
                             .strategy(Strategy::IntervalAdaptive)
                             .certify(certify)
                             .tolerance(tolerance)
                             .output(igx::OutputKind::Probability)
                             .target(igx::Target::per_example(std::vector<int64_t>(targets.data_ptr<int64_t>(),
                                                                               targets.data_ptr<int64_t>() + 6)))
                             .max_steps(513);
    const auto result = igx::integrated_gradients(model, inputs, options);
    for (int64_t b = 0; b < inputs.size(0); ++b) {
      const auto& report = result.examples[b];
      ASSERT_TRUE(report.certified.has_value());
      if (!*report.certified) continue;
      ++certified;
      const double error = recomputed_relative_error(model, inputs, torch::zeros_like(inputs), result, b,
                                                     igx::OutputKind::Probability, options.min_output_gap());
      if (error < 0) continue;  // no relative error: the absolute floor was certified instead
      ++checked;
      EXPECT_LE(error, tolerance * (1 + 1e-9)) << "seed " << seed << " example " << b << " scale " << scale
                                               << " " << igx::certify_name(certify);
    }
  }
  EXPECT_GE(models, 8);
  EXPECT_GT(checked, models);  // most examples are certified, and most have a relative error
  EXPECT_GE(certified, checked);
}

}  // namespace
