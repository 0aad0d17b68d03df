#pragma once
// The reference point x' of a path.

#include <torch/torch.h>

#include <string>

namespace igx {

/// A baseline: zero, one scalar everywhere, or a tensor of the inputs' shape ([B, ...]), of one
/// example's shape with a batch of one ([1, ...]), or without the batch dimension ([...]).
class Baseline {
 public:
  static Baseline zero();
  static Baseline scalar(double value);
  static Baseline tensor(torch::Tensor value);

  /// The baseline of every example, [B, ...] like `inputs`. Throws igx::Error for a shape that
  /// does not fit (naming both shapes) or a non-finite value.
  torch::Tensor resolve(const torch::Tensor& inputs) const;
  std::string describe() const;

 private:
  enum class Kind { Zero, Scalar, Tensor };
  Baseline(Kind kind, double scalar, torch::Tensor value)
      : kind_(kind), scalar_(scalar), value_(std::move(value)) {}
  Kind kind_;
  double scalar_;
  torch::Tensor value_;
};

}  // namespace igx
