#pragma once
// Pieces shared by the fixed-step and the error-controlled IG drivers (not a public header).

#include <torch/torch.h>

#include <vector>

#include "igx/integrated_gradients.h"

namespace igx::detail {

/// Floating, finite, [B, ...] with B >= 1, and extras with one row per example.
void check_inputs(const torch::Tensor& inputs, const ExtraInputs& extras);

/// Sets the integrator's targets. The predicted class needs the outputs at x, and so does an
/// explicit class when `need_output_input`; then F(x) per example is returned, else nothing.
std::vector<double> set_targets(Integrator& integrator, const Target& target, OutputKind output,
                                const torch::Tensor& inputs, bool need_output_input);

std::vector<double> to_vector(const torch::Tensor& tensor);

/// Fills delta and relative error from the sums and end values already in `report`.
void complete_report(ExampleReport& report, const IgOptions& options, torch::ScalarType dtype);

Attribution integrate_by_doubling(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                  const ExtraInputs& extras);
Attribution integrate_adaptively(Model& model, const torch::Tensor& inputs, const IgOptions& options,
                                 const ExtraInputs& extras);

}  // namespace igx::detail
