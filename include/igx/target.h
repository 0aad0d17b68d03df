#pragma once
// Which scalar of the model's output is explained, and in which form.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace igx {

/// The form of the explained output F.
enum class OutputKind {
  Logit,           ///< the raw output
  Probability,     ///< softmax over classes (sigmoid for a single output)
  LogProbability,  ///< log-softmax over classes (log-sigmoid for a single output)
};

std::string output_kind_name(OutputKind kind);      ///< "logit", "prob", "logprob"
OutputKind parse_output_kind(const std::string& name);  ///< accepts the names above and long forms

/// The explained class: the predicted one, one index for every example, or one per example.
class Target {
 public:
  static Target predicted();
  static Target index(int64_t class_index);
  static Target per_example(std::vector<int64_t> class_indices);

  bool is_predicted() const { return kind_ == Kind::Predicted; }
  /// The class of each of `batch_size` examples, [B] int64 on the CPU. The model's outputs at the
  /// inputs ([B, C] or [B]) are needed for the predicted class only; given, they also serve the
  /// range check (otherwise the engine checks at its first model call).
  torch::Tensor resolve(int64_t batch_size, const torch::Tensor& outputs = {}) const;
  std::string describe() const;

 private:
  enum class Kind { Predicted, Single, PerExample };
  Target(Kind kind, std::vector<int64_t> indices) : kind_(kind), indices_(std::move(indices)) {}
  Kind kind_;
  std::vector<int64_t> indices_;
};

/// "pred" (or "predicted"), "K", or "K1,K2,..." (one class per example); igx::Error naming the
/// text otherwise.
Target parse_target(const std::string& text);

/// Throws igx::Error naming the first target outside 0..classes-1 ([B] int64 on the CPU).
void check_targets(const torch::Tensor& targets, int64_t classes);

/// F for each row: the output of class targets[i] of row i, in the given form. `outputs` is [N, C]
/// or [N]; throws igx::Error when a target is out of range.
torch::Tensor select_output(const torch::Tensor& outputs, const torch::Tensor& targets,
                            OutputKind kind);

}  // namespace igx
