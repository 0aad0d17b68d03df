#pragma once
// Process-wide settings of the LibTorch runtime.

#include <torch/torch.h>

#include <string>

namespace igx {

/// The cores this process may run on (its CPU affinity, so a container's or taskset's limit).
int available_cores();

/// Sets LibTorch's intra-op thread count and, when the process runs OpenBLAS, OpenBLAS's thread
/// pool to the same count (it otherwise keeps one thread per core whatever LibTorch is told);
/// 0 means all cores (Debian's LibTorch starts with 1). More threads than cores are capped at the
/// cores unless `allow_more_than_cores`: they only slow the work down, and thousands of them take
/// seconds to start. Returns the count now in force.
int set_num_threads(int threads = 0, bool allow_more_than_cores = false);

/// Parses "cpu", "cuda" or "cuda:N"; throws igx::Error for anything else or when CUDA is asked
/// for and not available.
torch::Device parse_device(const std::string& name);

}  // namespace igx
