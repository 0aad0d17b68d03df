#pragma once
// Checks and descriptions of tensors for error messages.

#include <torch/torch.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace igx {

/// "float32", "float64", "float16", "bfloat16" (LibTorch's own name for other dtypes).
std::string dtype_name(torch::ScalarType dtype);

/// "[2, 3, 28, 28]"
std::string shape_string(const torch::Tensor& tensor);
std::string shape_string(c10::IntArrayRef shape);

/// Whether every element of `tensor` is finite (integers always are). On the CPU one pass over
/// float32/float64 data, with no temporary tensors: igx checks every batch's gradients.
bool all_finite(const torch::Tensor& tensor);

/// Throws igx::Error if `tensor` holds a NaN or an infinity, naming `what`, the first bad index
/// and its value ("input has NaN at [0, 3]; expected finite numbers").
void require_finite(const torch::Tensor& tensor, const std::string& what);

/// The index of the first true element of a boolean `mask` (row-major), and `tensor`'s value
/// there; nullopt when no element is true. For messages that name the first bad entry.
std::optional<std::pair<std::vector<int64_t>, double>> first_marked(const torch::Tensor& mask,
                                                                     const torch::Tensor& tensor);

/// Throws igx::Error unless `tensor` has a floating-point dtype.
void require_floating(const torch::Tensor& tensor, const std::string& what);

}  // namespace igx
