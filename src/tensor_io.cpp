#include "igx/tensor_io.h"

#include <limits>
#include <sstream>

#include "igx/error.h"
#include "igx/json_array.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

torch::Tensor tensor_from_array(const NdArray& array, torch::ScalarType dtype) {
  const torch::Tensor values = torch::tensor(array.values, torch::kDouble).reshape(array.shape);
  torch::Tensor converted = values.to(dtype);
  // A finite value beyond the dtype's range (1e39 in float32) would become an infinity that the
  // user never wrote: refused here, by its own value and index.
  if (dtype != torch::kDouble && converted.is_floating_point() && !all_finite(converted)) {
    const auto overflowed = first_marked(
        torch::logical_and(torch::isfinite(values), torch::logical_not(torch::isfinite(converted))), values);
    if (overflowed) {
      // nan_to_num turns +inf into the dtype's largest finite value.
      const double largest =
          torch::full({}, std::numeric_limits<double>::infinity(), dtype).nan_to_num().item<double>();
      std::ostringstream out;
      out << "value " << overflowed->second << " at " << shape_string(overflowed->first) << " is beyond "
          << dtype_name(dtype) << "'s range (magnitudes up to " << largest << "); expected a number the model's dtype can hold";
      throw Error(out.str());
    }
  }
  return converted;
}

NdArray array_from_tensor(const torch::Tensor& tensor) {
  const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
  NdArray array;
  array.shape.assign(values.sizes().begin(), values.sizes().end());
  array.values.assign(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  array.dtype = tensor.scalar_type() == torch::kDouble ? "f8" : "f4";
  return array;
}

torch::Tensor read_tensor(const std::string& path, torch::ScalarType dtype) {
  if (!ends_with(path, ".npy") && !ends_with(path, ".json")) {
    throw Error("cannot read '" + path + "': expected a .npy or .json array file");
  }
  const NdArray array = ends_with(path, ".npy") ? read_npy(path) : read_json_array(path);
  try {
    return tensor_from_array(array, dtype);
  } catch (const Error& error) {
    throw Error("'" + path + "': " + error.what());
  }
}

void write_tensor_npy(const std::string& path, const torch::Tensor& tensor) {
  write_npy(path, array_from_tensor(tensor));
}

}  // namespace igx
