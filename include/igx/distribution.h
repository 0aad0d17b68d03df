#pragma once
// Attributions against a distribution of baselines (Lundstrom et al., ICML 2022), and noise
// averaging of any method (SmoothGrad and its variants).

#include <torch/torch.h>

#include <string>

#include "igx/attribute.h"
#include "igx/integrated_gradients.h"

namespace igx {

/// IG averaged over a set of baselines: A = mean_j IG(x; x'_j), every pair integrated with
/// `options` (fixed rule or to a tolerance). Completeness becomes sum_i A_i = F(x) - mean_j F(x'_j):
/// each report's output_baseline is that mean and delta, relative error and steps (summed over the
/// baselines) refer to it. `baselines` [M, ...], one set for every example, or [B, M, ...], a set
/// per example (noise around each input, say); options.baseline() is ignored.
/// With Doubling or IntervalAdaptive, the mean is what is certified: F(x) and every F(x'_j) come
/// first, and every pair is integrated to the absolute error tolerance * |F(x) - E[F(X')]|
/// (options.absolute_targets() is replaced), not to the tolerance of its own gap. The report's
/// error_bound is the mean of the pairs' absolute bounds over |F(x) - E[F(X')]|, certified when it
/// is at most the tolerance. When F(x) - E[F(X')] is below the gap floor, each pair keeps its own
/// relative target and the example is certified when all pairs are.
Attribution distribution_integrated_gradients(Model& model, const torch::Tensor& inputs,
                                              const torch::Tensor& baselines, const IgOptions& options = {},
                                              const ExtraInputs& extras = {});

struct ExpectedGradientsOptions {
  TORCH_ARG(int64_t, samples) = 200;                 ///< gradient evaluations per example
  TORCH_ARG(uint64_t, seed) = 0;                     ///< for the baseline and alpha draws
  TORCH_ARG(Target, target) = Target::predicted();
  TORCH_ARG(OutputKind, output) = OutputKind::Logit;
  TORCH_ARG(int64_t, internal_batch_size) = 0;
};

struct ExpectedGradients {
  Attribution attribution;      ///< reports as for distribution_integrated_gradients
  torch::Tensor standard_error; ///< [B, ...] standard error of each attribution (sample std / sqrt(S))
  std::vector<double> sum_standard_error;  ///< per example: standard error of sum_i A_i
};

/// Expected Gradients, the sampled form: each sample draws a baseline x' from `baselines` ([M, ...]
/// or [B, M, ...] as above) and alpha ~ U(0, 1); A = mean over samples of (x - x') * grad F(x' + alpha (x - x')).
ExpectedGradients expected_gradients(Model& model, const torch::Tensor& inputs, const torch::Tensor& baselines,
                                     const ExpectedGradientsOptions& options = {}, const ExtraInputs& extras = {});

/// How noisy copies' attributions are combined.
enum class NoiseAggregate {
  SmoothGrad,    ///< mean of the attributions
  SmoothGradSq,  ///< mean of their squares
  VarGrad,       ///< their variance
};
NoiseAggregate parse_noise_aggregate(const std::string& name);  ///< "smoothgrad", "smoothgrad_sq", "vargrad"

struct NoiseOptions {
  TORCH_ARG(int64_t, samples) = 16;               ///< noisy copies per example
  TORCH_ARG(double, stddev) = 0.1;                ///< Gaussian noise's standard deviation
  TORCH_ARG(NoiseAggregate, aggregate) = NoiseAggregate::SmoothGrad;
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Runs `method` (see attribute()) on `samples` noisy copies of every input, all in one batched
/// call, and combines the copies' attributions. Each report averages its copies' reports (F
/// values, delta, steps summed); the target is fixed to each clean input's class first.
Attribution noise_tunnel(Model& model, const torch::Tensor& inputs, const std::string& method,
                         const IgOptions& options, const NoiseOptions& noise, const ExtraInputs& extras = {});

}  // namespace igx
