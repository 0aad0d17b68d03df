#include "igx/attribute.h"

#include "igx/error.h"

namespace igx {

const std::vector<std::string>& attribution_method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = rule_names();
    all.emplace_back("saliency");
    all.emplace_back("inputxgradient");
    return all;
  }();
  return names;
}

Attribution attribute(Model& model, const torch::Tensor& inputs, const std::string& method,
                      const IgOptions& options, const ExtraInputs& extras) {
  const auto gradient_options = GradientOptions()
                                    .target(options.target())
                                    .output(options.output())
                                    .internal_batch_size(options.internal_batch_size());
  if (method == "saliency") return saliency(model, inputs, gradient_options, extras);
  if (method == "inputxgradient") return input_x_gradient(model, inputs, gradient_options, extras);
  for (const auto& rule : rule_names()) {
    if (method == rule) return integrated_gradients(model, inputs, IgOptions(options).method(parse_rule(rule)), extras);
  }
  std::string known;
  for (const auto& name : attribution_method_names()) known += (known.empty() ? "" : ", ") + name;
  throw Error("unknown attribution method '" + method + "'; expected one of: " + known);
}

}  // namespace igx
