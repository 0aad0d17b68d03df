#include "igx/target.h"

#include "igx/error.h"
#include "igx/explain_options.h"
#include "igx/json_text.h"
#include "igx/tensor_checks.h"

namespace igx {

std::string output_kind_name(OutputKind kind) {
  switch (kind) {
    case OutputKind::Logit:
      return "logit";
    case OutputKind::Probability:
      return "prob";
    case OutputKind::LogProbability:
      return "logprob";
  }
  return "logit";
}

OutputKind parse_output_kind(const std::string& name) {
  if (name == "logit") return OutputKind::Logit;
  if (name == "prob" || name == "probability") return OutputKind::Probability;
  if (name == "logprob" || name == "log-probability" || name == "log_probability") {
    return OutputKind::LogProbability;
  }
  throw UsageError("unknown output kind '" + clip_text(name) + "'; expected logit, prob or logprob");
}

Target Target::predicted() { return Target(Kind::Predicted, {}); }
Target Target::index(int64_t class_index) { return Target(Kind::Single, {class_index}); }
Target Target::per_example(std::vector<int64_t> class_indices) {
  return Target(Kind::PerExample, std::move(class_indices));
}

Target parse_target(const std::string& text) {
  if (text == "pred" || text == "predicted") return Target::predicted();
  const auto indices = parse_integer_list(text);
  if (!indices) {
    throw UsageError("--target '" + clip_text(text) + "' is not valid; expected pred, a class index K, or K1,K2,... (one per example)");
  }
  if (indices->empty()) throw UsageError("--target is empty; expected pred, K or K1,K2,...");
  if (indices->size() == 1) return Target::index(indices->front());
  return Target::per_example(*indices);
}

std::string Target::describe() const {
  switch (kind_) {
    case Kind::Predicted:
      return "predicted class";
    case Kind::Single:
      return "class " + std::to_string(indices_.front());
    case Kind::PerExample:
      return "one class per example";
  }
  return "";
}

torch::Tensor Target::resolve(int64_t batch_size, const torch::Tensor& outputs) const {
  torch::Tensor targets;
  switch (kind_) {
    case Kind::Predicted:
      if (!outputs.defined()) throw Error("the predicted class needs the model's outputs at the inputs");
      if (outputs.dim() == 1) return torch::zeros({batch_size}, torch::kLong);
      return outputs.argmax(1).to(torch::kCPU, torch::kLong);
    case Kind::Single:
      targets = torch::full({batch_size}, indices_.front(), torch::kLong);
      break;
    case Kind::PerExample:
      if (static_cast<int64_t>(indices_.size()) != batch_size) {
        throw UsageError("got " + std::to_string(indices_.size()) + " targets for " +
                         std::to_string(batch_size) + " examples; expected one target per example");
      }
      targets = torch::tensor(indices_, torch::kLong);
      break;
  }
  if (outputs.defined()) check_targets(targets, outputs.dim() == 1 ? 1 : outputs.size(1));
  return targets;
}

void check_targets(const torch::Tensor& targets, int64_t classes) {
  const int64_t* data = targets.data_ptr<int64_t>();
  for (int64_t i = 0; i < targets.numel(); ++i) {
    if (data[i] < 0 || data[i] >= classes) {
      throw UsageError("target " + std::to_string(data[i]) + " of example " + std::to_string(i) +
                       " is out of range; the model has " + std::to_string(classes) +
                       " output" + (classes == 1 ? "" : "s") + ", so expected 0.." +
                       std::to_string(classes - 1));
    }
  }
}

torch::Tensor select_output(const torch::Tensor& outputs, const torch::Tensor& targets,
                            OutputKind kind) {
  // A single output is one logit of a binary model: its probability is the sigmoid.
  if (outputs.dim() == 1) {
    switch (kind) {
      case OutputKind::Logit:
        return outputs;
      case OutputKind::Probability:
        return torch::sigmoid(outputs);
      case OutputKind::LogProbability:
        return torch::log_sigmoid(outputs);
    }
  }
  const torch::Tensor index = targets.to(outputs.device()).unsqueeze(1);
  switch (kind) {
    case OutputKind::Logit:
      return outputs.gather(1, index).squeeze(1);
    case OutputKind::Probability:
      return torch::softmax(outputs, 1).gather(1, index).squeeze(1);
    case OutputKind::LogProbability:
      return torch::log_softmax(outputs, 1).gather(1, index).squeeze(1);
  }
  throw Error("unknown output kind");
}

}  // namespace igx
