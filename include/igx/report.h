#pragma once
// Attributions as machine-readable JSON and as a readable terminal summary.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx {

/// How an attribution was made, for the record.
struct RunDescription {
  std::string model;       ///< model path or name
  std::string method;      ///< "gausslegendre", "saliency", ...
  std::string output;      ///< "logit", "prob", "logprob"
  std::string baseline;    ///< "zero", "scalar 0.5", "file x.npy"
  double seconds = 0;      ///< wall time of the attribution
};

/// The whole result as JSON: run, per-example report (F(x), F(x'), delta, relative error or the
/// reason it is undefined, steps, prediction), attributions nested like the input, and counts.
/// `predictions` [B] (the model's argmax at x) may be undefined.
nlohmann::json attribution_to_json(const Attribution& attribution, const RunDescription& run,
                                   const torch::Tensor& predictions, bool include_values = true);

/// One line on an error-controlled example: certified or not, and which criterion held —
/// "certified: yes (completeness held, bound 0.31%; attribution vector held, estimated error
/// 0.8%)" — with precision_note() appended when rounding limits it. `dtype`: the model's.
std::string certificate_line(const ExampleReport& report, torch::ScalarType dtype);

/// "limited by float32 precision: rounding of F alone allows no bound below 2.1%" when
/// report.precision_limited, else "".
std::string precision_note(const ExampleReport& report, torch::ScalarType dtype);

/// A few lines per example: prediction and target, F(x), F(x'), delta, relative error, and the
/// `top` features with the largest |attribution| (index and value). At most `max_examples`.
std::string summarize(const Attribution& attribution, const RunDescription& run,
                      const torch::Tensor& predictions, int top = 10, int max_examples = 5);

}  // namespace igx
