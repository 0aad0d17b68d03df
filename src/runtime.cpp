#include "igx/runtime.h"

#include <thread>

#include "igx/error.h"

namespace igx {

int set_num_threads(int threads) {
  if (threads < 0) {
    throw Error("thread count must be 0 (all cores) or positive, got " + std::to_string(threads));
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error("device '" + name + "' was asked for, but this LibTorch build sees no CUDA device");
    }
    try {
      return torch::Device(name);
    } catch (const c10::Error&) {
      throw Error("device '" + name + "' is not a valid CUDA device; expected cuda or cuda:N");
    }
  }
  throw Error("unknown device '" + name + "'; expected cpu, cuda or cuda:N");
}

}  // namespace igx
