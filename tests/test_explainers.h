#pragma once
// The shipped models' explainers for the tests of the explanation service (the library, the
// papers' settings, igx serve): each bundle is loaded once per test process, whichever file asks.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "igx/explainer.h"
#include "igx/explain_options.h"

#include "cli_test.h"

namespace igx_test {

/// spam-transformer from the source tree's models/.
inline std::shared_ptr<igx::Explainer> spam() {
  static const auto explainer = igx::Explainer::load(shipped_model("spam-transformer"));
  return explainer;
}

/// mnist-cnn from the source tree's models/.
inline std::shared_ptr<igx::Explainer> mnist() {
  static const auto explainer = igx::Explainer::load(shipped_model("mnist-cnn"));
  return explainer;
}

/// A request with these options, by their igx explain names ({"steps", "8"}).
inline igx::ExplainRequest with_options(const std::vector<std::pair<std::string, std::string>>& options) {
  igx::ExplainRequest request;
  for (const auto& [name, value] : options) igx::set_explain_option(request.options, name, value);
  return request;
}

}  // namespace igx_test
