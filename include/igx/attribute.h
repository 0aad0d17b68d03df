#pragma once
// Every attribution method by name, so front ends dispatch in one place.

#include <string>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx {

/// "riemann_left" ... "gausslegendre" (IG with that rule), "saliency", "inputxgradient".
const std::vector<std::string>& attribution_method_names();

/// Runs the named method. IG uses all of `options`; saliency (absolute gradient) and
/// inputxgradient use its target, output and internal_batch_size. Throws igx::Error listing the
/// names for an unknown method.
Attribution attribute(Model& model, const torch::Tensor& inputs, const std::string& method,
                      const IgOptions& options, const ExtraInputs& extras = {});

}  // namespace igx
