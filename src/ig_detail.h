#pragma once
// Pieces shared by the fixed-step and the error-controlled IG drivers (not a public header).

#include <torch/torch.h>

#include <vector>

#include "igx/integrated_gradients.h"

namespace igx::detail {

/// Floating, finite, [B, ...] with B >= 1, and extras with one row per example.
void check_inputs(const torch::Tensor& inputs, const ExtraInputs& extras);

/// F at the ends of the straight paths, per example, where a method needs them from a forward pass.
struct EndValues {
  std::vector<double> input;     ///< F(x): when asked for, or when the predicted class was found; else empty
  std::vector<double> baseline;  ///< F(x'): when asked for; else empty
};

/// Sets the integrator's targets and evaluates F at the inputs (`need_input`, or the predicted
/// class must be found: F(x) then comes with it) and at the baselines (`need_baseline`) in ONE
/// forward call: on a small model a call of a few rows costs nearly as much as one of a hundred.
EndValues set_targets_and_end_values(Integrator& integrator, const Target& target, OutputKind output,
                                     const torch::Tensor& inputs, const torch::Tensor& baselines, bool need_input,
                                     bool need_baseline);

/// set_targets_and_end_values without the baselines: F(x) when it was evaluated, else nothing.
std::vector<double> set_targets(Integrator& integrator, const Target& target, OutputKind output,
                                const torch::Tensor& inputs, bool need_output_input);

std::vector<double> to_vector(const torch::Tensor& tensor);

/// The attributions of a straight-line IG, (x - x') * integrated gradient (or the integrated
/// gradient alone when `multiply` is false), in the inputs' dtype and on their device, from each
/// example's weighted gradient sum; `sums` gets each example's sum of (x - x') * integrated
/// gradient in float64.
torch::Tensor multiply_by_differences(const std::vector<PathResult>& results, const torch::Tensor& inputs,
                                      const torch::Tensor& baselines, bool multiply, std::vector<double>& sums);

/// Fills delta and relative error from the sums and end values already in `report`.
void complete_report(ExampleReport& report, const IgOptions& options, torch::ScalarType dtype);

Attribution integrate_by_doubling(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                  const ExtraInputs& extras);
Attribution integrate_adaptively(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                 const ExtraInputs& extras);

}  // namespace igx::detail
