#include "igx/tensor_checks.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "igx/error.h"

namespace igx {

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kDouble:
      return "float64";
    case torch::kFloat:
      return "float32";
    case torch::kHalf:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    default:
      return c10::toString(dtype);
  }
}

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::string shape_string(const torch::Tensor& tensor) { return shape_string(tensor.sizes()); }

void require_floating(const torch::Tensor& tensor, const std::string& what) {
  if (!tensor.defined()) throw Error(what + " is missing; expected a tensor");
  if (!tensor.is_floating_point()) {
    throw Error(what + " has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                "; expected a floating-point tensor");
  }
}

namespace {

// |x| <= max is false for NaN and for infinities. Branch-free, so the compiler vectorises it.
template <typename T>
bool all_finite_values(const T* data, int64_t count) {
  constexpr T largest = std::numeric_limits<T>::max();
  int finite = 1;
  for (int64_t i = 0; i < count; ++i) finite &= static_cast<int>(std::abs(data[i]) <= largest);
  return finite != 0;
}

}  // namespace

bool all_finite(const torch::Tensor& tensor) {
  if (!tensor.is_floating_point()) return true;
  // torch::isfinite makes three temporaries (x == x, |x|, |x| != inf) and a reduction: on a
  // small model's batch of gradients that was a tenth of the time of a whole IG call.
  if (tensor.device().is_cpu() && tensor.is_contiguous()) {
    if (tensor.scalar_type() == torch::kFloat) return all_finite_values(tensor.data_ptr<float>(), tensor.numel());
    if (tensor.scalar_type() == torch::kDouble) return all_finite_values(tensor.data_ptr<double>(), tensor.numel());
  }
  return torch::isfinite(tensor).all().item<bool>();
}

std::optional<std::pair<std::vector<int64_t>, double>> first_marked(const torch::Tensor& mask,
                                                                     const torch::Tensor& tensor) {
  if (!mask.any().item<bool>()) return std::nullopt;
  const torch::Tensor first = mask.nonzero()[0].cpu();
  std::vector<int64_t> index(first.data_ptr<int64_t>(), first.data_ptr<int64_t>() + first.numel());
  torch::Tensor element = tensor;
  for (int64_t i : index) element = element.select(0, i);
  return std::make_pair(std::move(index), element.item<double>());
}

void require_finite(const torch::Tensor& tensor, const std::string& what) {
  if (all_finite(tensor)) return;
  const auto bad = first_marked(torch::logical_not(torch::isfinite(tensor)), tensor);
  if (!bad) return;
  const double bad_value = bad->second;
  std::ostringstream out;
  out << what << " has " << (std::isnan(bad_value) ? "NaN" : bad_value > 0 ? "+Inf" : "-Inf")
      << " at " << shape_string(bad->first) << "; expected finite numbers";
  throw Error(out.str());
}

}  // namespace igx
