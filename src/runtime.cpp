#include "igx/runtime.h"

#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <thread>

#include "igx/error.h"

namespace igx {
namespace {

// Debian's LibTorch does its matrix products in OpenBLAS, which keeps its own pthread pool (one
// worker per core) whatever LibTorch's OpenMP pool is set to: with --threads 1 a second core
// still ran BLAS, and with both pools sized to all cores their idle workers (OpenBLAS's spin on
// sched_yield) competed with the busy ones for the cores. Sizing OpenBLAS's pool with the same
// count keeps one thread per core. Nothing happens when the process has another BLAS (MKL follows
// at::set_num_threads by itself).
void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (symbol == nullptr) {
    // Loaded privately (RTLD_LOCAL, as Python loads extension modules): look in the library itself.
    if (void* library = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
      symbol = dlsym(library, "openblas_set_num_threads");
      dlclose(library);
    }
  }
  if (symbol != nullptr) reinterpret_cast<SetThreads>(symbol)(threads);
}

// Whether LibTorch's intra-op count is `threads` on this thread and for the threads it starts
// later: those take the environment's count (MKL_NUM_THREADS, else OMP_NUM_THREADS) unless
// at::set_num_threads was called. Then at::set_num_threads would change nothing but rebuild
// caffe2's pthreadpool, whose new workers spin about a million iterations each (~50 ms of CPU
// in a short CLI run); the CLI gives OMP_NUM_THREADS before main for this (tools/igx/wait_policy.cpp).
bool libtorch_runs_at(int threads) {
  const char* variable = std::getenv("MKL_NUM_THREADS");
  if (variable == nullptr) variable = std::getenv("OMP_NUM_THREADS");
  if (variable == nullptr) return false;
  char* end = nullptr;
  const long count = std::strtol(variable, &end, 10);
  return end != variable && *end == '\0' && count == threads && at::get_num_threads() == threads;
}

}  // namespace

int available_cores() {
  cpu_set_t cores;
  if (sched_getaffinity(0, sizeof cores, &cores) == 0) return std::max(1, CPU_COUNT(&cores));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int set_num_threads(int threads, bool allow_more_than_cores) {
  if (threads < 0) {
    throw UsageError("thread count must be 0 (all cores) or positive, got " + std::to_string(threads));
  }
  const int cores = available_cores();
  if (threads == 0 || (threads > cores && !allow_more_than_cores)) threads = cores;
  if (!libtorch_runs_at(threads)) at::set_num_threads(threads);
  set_blas_threads(threads);
  return at::get_num_threads();
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw UsageError("device '" + name + "' was asked for, but this LibTorch build sees no CUDA device");
    }
    try {
      return torch::Device(name);
    } catch (const c10::Error&) {
      throw UsageError("device '" + name + "' is not a valid CUDA device; expected cuda or cuda:N");
    }
  }
  throw UsageError("unknown device '" + name + "'; expected cpu, cuda or cuda:N");
}

}  // namespace igx
