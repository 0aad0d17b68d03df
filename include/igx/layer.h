#pragma once
// Attributions to and through an internal layer (Lundstrom et al., ICML 2022). The model is split
// at the layer, F(x) = upper(lower(x)) with h = lower(x) the layer's activations. Every method
// here evaluates `lower` at the points of the input path, then runs the Integrator on `upper`
// with a path in activation space: the batched forward+backward stays in one place.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx {

/// F = upper ∘ lower. Both receive the extra inputs.
struct SplitModel {
  std::shared_ptr<Model> lower;  ///< inputs [N, ...] -> activations [N, ...]
  std::shared_ptr<Model> upper;  ///< activations -> outputs [N, C] or [N]
  std::string layer = "layer";   ///< the split point's name, for messages
};

/// The layer methods by name, as requests give them (explainer.h): "conductance",
/// "internal-influence", "layer-ig", "patch" (patch -> neuron IG), "neuron-conductance".
const std::vector<std::string>& layer_method_names();

/// IG with respect to the activations: the straight path from h' = lower(x') to h = lower(x).
/// Values [B, ...activation shape]; completeness sum_j A_j = F(x) - F(x').
Attribution layer_integrated_gradients(SplitModel& model, const torch::Tensor& inputs,
                                       const IgOptions& options = {}, const ExtraInputs& extras = {});

/// Conductance of every neuron: sum_k dG/dh_j(h(a_k)) (h_j(a_{k+1}) - h_j(a_k)) along the input
/// path a_k = k/n, k = 0..n (n = options.n_steps()). Values [B, ...activation shape]; completeness
/// sum_j cond_j = F(x) - F(x') up to the first-order discretisation error reported as delta.
Attribution layer_conductance(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options = {},
                              const ExtraInputs& extras = {});

/// Internal influence: integral over the input path of dF/dh_j (no multiplication by a
/// difference), by options' rule. Values [B, ...activation shape]; no completeness.
Attribution internal_influence(SplitModel& model, const torch::Tensor& inputs, const IgOptions& options = {},
                               const ExtraInputs& extras = {});

/// Patch -> neuron: IG_{S,j} = integral dG/dh_j(h(gamma(a))) [grad h_j(gamma(a)) . ((x - x') * 1_S)] da
/// for every neuron j at once, by options' rule. The bracket is the directional derivative of
/// `lower` along the patch-restricted direction, computed with the double-backward trick (no
/// Jacobian). `patch` has the example shape (non-zero inside S). Values [B, ...activation shape];
/// completeness: sum_j IG_{S,j} = sum_{i in S} IG_i, reported as attribution_sum.
Attribution patch_neuron_attribution(SplitModel& model, const torch::Tensor& inputs, const torch::Tensor& patch,
                                     const IgOptions& options = {}, const ExtraInputs& extras = {});

/// Neuron conductance: the attribution of the neurons S of the layer to every input feature i,
/// NC_{S,i} = sum_{j in S} integral dG/dh_j(h(gamma(a))) dh_j/dx_i(gamma(a)) (x_i - x'_i) da, by
/// options' rule and n_steps. `neurons`: flat indices into one example's activations (row-major
/// over the activation shape), at least one, no repeats. Values [B, ...input shape]. Summed over
/// i it is the derivative form of neuron j's conductance (patch_neuron_attribution with the whole
/// input as the patch); summed over all neurons it is input IG by the same rule, so when S is the
/// whole layer the reports carry IG's completeness delta, and otherwise delta is NaN.
Attribution neuron_conductance(SplitModel& model, const torch::Tensor& inputs, const std::vector<int64_t>& neurons,
                               const IgOptions& options = {}, const ExtraInputs& extras = {});

/// A rectangle [x0, x1) x [y0, y1) of an image of shape [C, H, W] as a patch mask.
torch::Tensor rectangle_patch(c10::IntArrayRef image_shape, int64_t x0, int64_t y0, int64_t x1, int64_t y1);

}  // namespace igx
