#pragma once
// The shipped models' explainers for the tests of the explanation service (the library, the
// papers' settings, igx serve): each bundle is loaded once per test process, whichever file asks.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "igx/explainer.h"
#include "igx/explain_options.h"

namespace igx_test {

/// spam-transformer from the source tree's models/.
inline std::shared_ptr<igx::Explainer> spam() {
  static const auto explainer = igx::Explainer::load(std::string(IGX_SOURCE_DIR) + "/models/spam-transformer");
  return explainer;
}

/// mnist-cnn from the source tree's models/.
inline std::shared_ptr<igx::Explainer> mnist() {
  static const auto explainer = igx::Explainer::load(std::string(IGX_SOURCE_DIR) + "/models/mnist-cnn");
  return explainer;
}

/// The first sample picture of `label` shipped with mnist-cnn.
inline std::string digit(int label) {
  return std::string(IGX_SOURCE_DIR) + "/models/mnist-cnn/samples/digit_" + std::to_string(label) + "_0.png";
}

/// A request with these options, by their igx explain names ({"steps", "8"}).
inline igx::ExplainRequest with_options(const std::vector<std::pair<std::string, std::string>>& options) {
  igx::ExplainRequest request;
  for (const auto& [name, value] : options) igx::set_explain_option(request.options, name, value);
  return request;
}

}  // namespace igx_test
