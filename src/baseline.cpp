#include "igx/baseline.h"

#include <sstream>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {

Baseline Baseline::zero() { return Baseline(Kind::Zero, 0.0, {}); }
Baseline Baseline::scalar(double value) { return Baseline(Kind::Scalar, value, {}); }
Baseline Baseline::tensor(torch::Tensor value) { return Baseline(Kind::Tensor, 0.0, std::move(value)); }

std::string Baseline::describe() const {
  switch (kind_) {
    case Kind::Zero:
      return "zero";
    case Kind::Scalar:
      return "scalar " + std::to_string(scalar_);
    case Kind::Tensor:
      return "tensor " + shape_string(value_);
  }
  return "";
}

torch::Tensor Baseline::resolve(const torch::Tensor& inputs) const {
  switch (kind_) {
    case Kind::Zero:
      return torch::zeros_like(inputs);
    case Kind::Scalar: {
      std::ostringstream value;
      value << scalar_;
      if (!std::isfinite(scalar_)) {
        throw Error("baseline value " + value.str() + " is not finite; expected a number");
      }
      // 1e39 is finite but not a float32: LibTorch's own refusal would not say which value.
      if (!all_finite(torch::full({}, scalar_, torch::kDouble).to(inputs.scalar_type()))) {
        throw Error("baseline value " + value.str() + " is beyond the range of the inputs' dtype (" +
                    dtype_name(inputs.scalar_type()) + "); expected a number it can hold");
      }
      return torch::full_like(inputs, scalar_);
    }
    case Kind::Tensor:
      break;
  }
  require_floating(value_, "baseline");
  const auto example_shape = inputs.sizes().slice(1);
  torch::Tensor value = value_.to(inputs.device(), inputs.scalar_type());
  if (value.sizes() == example_shape) value = value.unsqueeze(0);
  if (value.dim() != inputs.dim() || value.sizes().slice(1) != example_shape ||
      (value.size(0) != 1 && value.size(0) != inputs.size(0))) {
    throw Error("baseline has shape " + shape_string(value_) + "; expected " +
                shape_string(inputs) + " (one per example), [1, " +
                shape_string(example_shape).substr(1) + " or " + shape_string(example_shape) +
                " (shared by all examples)");
  }
  require_finite(value, "baseline");
  return value.expand_as(inputs);
}

}  // namespace igx
