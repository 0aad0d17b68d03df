#pragma once
// Tensors to and from the files users hand igx (.npy, .json).

#include <torch/torch.h>

#include <string>

#include "igx/npy.h"

namespace igx {

/// The array as a tensor of `dtype` (float32 by default).
torch::Tensor tensor_from_array(const NdArray& array, torch::ScalarType dtype = torch::kFloat);

/// The tensor as an array (float64 values; dtype "f4" for float32 and lower, "f8" for float64).
NdArray array_from_tensor(const torch::Tensor& tensor);

/// Reads a .npy or .json array file into a tensor of `dtype`, chosen by the file's extension.
/// Throws igx::Error naming the path for another extension or an unreadable file.
torch::Tensor read_tensor(const std::string& path, torch::ScalarType dtype = torch::kFloat);

/// Writes a tensor as .npy.
void write_tensor_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace igx
