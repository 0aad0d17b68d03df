#include "igx/tensor_io.h"

#include "igx/error.h"
#include "igx/json_array.h"

namespace igx {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

torch::Tensor tensor_from_array(const NdArray& array, torch::ScalarType dtype) {
  torch::Tensor values = torch::tensor(array.values, torch::kDouble);
  return values.reshape(array.shape).to(dtype);
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
  if (ends_with(path, ".npy")) return tensor_from_array(read_npy(path), dtype);
  if (ends_with(path, ".json")) return tensor_from_array(read_json_array(path), dtype);
  throw Error("cannot read '" + path + "': expected a .npy or .json array file");
}

void write_tensor_npy(const std::string& path, const torch::Tensor& tensor) {
  write_npy(path, array_from_tensor(tensor));
}

}  // namespace igx
