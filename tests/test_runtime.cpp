// Process-wide settings: thread pools, the allocator.
#include <dlfcn.h>
#include <gtest/gtest.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "igx/igx.h"
#include "igx/tensor_checks.h"
#include "test_support.h"

namespace {

// OpenBLAS keeps its own thread pool; igx::set_num_threads sizes it with LibTorch's, so that a
// --threads 1 run does not still run its matrix products on every core.
TEST(Runtime, ThreadCountSizesOpenBlasPoolToo) {
  using GetThreads = int (*)();
  void* symbol = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  if (symbol == nullptr) GTEST_SKIP() << "this process does not run OpenBLAS";
  const auto openblas_threads = reinterpret_cast<GetThreads>(symbol);
  const int before = at::get_num_threads();
  EXPECT_EQ(igx::set_num_threads(1), 1);
  EXPECT_EQ(openblas_threads(), 1);
  const int all = igx::set_num_threads(0);
  EXPECT_GE(all, 1);
  EXPECT_EQ(openblas_threads(), all);
  igx::set_num_threads(before);
  EXPECT_EQ(openblas_threads(), before);
}

// igx's batches allocate and free blocks of megabytes over and over; with glibc's default
// thresholds each one was a fresh mapping (page faults every batch). Once an Integrator exists,
// a 16 MiB block comes from the heap, and freeing it keeps it there.
TEST(Runtime, IntegratorKeepsFreedBatchMemoryForReuse) {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) {
    GTEST_SKIP() << "the process was started with its own malloc settings";
  }
  igx::FunctionModel model([](const torch::Tensor& x) { return x.sum(1, true); }, "sum");
  const igx::Integrator integrator(model, {}, igx::OutputKind::Logit, 16, igx::BatchSizing::Fixed);
  const size_t mapped = mallinfo2().hblkhd;
  void* block = std::malloc(size_t{16} << 20);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mallinfo2().hblkhd, mapped);  // not a mapping of its own
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, size_t{16} << 20);  // kept free in the heap, not given back
#else
  GTEST_SKIP() << "not glibc";
#endif
}

// A batch frees all it took when it ends, and the next batch takes as much again. Memory above
// glibc's trim threshold went back to the system at a batch's end and was page-faulted in afresh
// by the next (the spam-transformer's 50-row batches: 14 % of the CPU time; docs/benchmarks.md).
// The threshold follows the largest batch: here one whose autograd graph holds 24 activations of
// 4 MiB (each below the mmap threshold, so from the heap).
TEST(Runtime, IntegratorKeepsTheMemoryOfItsLargestBatch) {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) {
    EXPECT_EQ(igx::batch_memory_kept_bytes(), 0);  // the user's settings stand
    GTEST_SKIP() << "the process was started with its own malloc settings";
  }
  constexpr int64_t kFeatures = int64_t{1} << 16;  // 256 KiB a row: 4 MiB for the batch's 16 rows
  constexpr int kLayers = 24;
  igx::FunctionModel model(
      [](const torch::Tensor& x) {
        torch::Tensor h = x;
        for (int layer = 0; layer < kLayers; ++layer) h = torch::tanh(h);  // each keeps its output for backward
        return h.sum(1, true);
      },
      "tanh chain");
  const igx::StraightLinePath path(torch::zeros({kFeatures}), torch::full({kFeatures}, 0.5),
                                   igx::make_quadrature(igx::Rule::GaussLegendre, 16));
  igx::Integrator integrator(model, {}, igx::OutputKind::Logit, 16, igx::BatchSizing::Fixed);
  EXPECT_GE(igx::batch_memory_kept_bytes(), int64_t{64} << 20);  // glibc's largest dynamic threshold
  integrator.set_targets(torch::zeros({1}, torch::kLong));
  integrator.integrate({{&path, 0}});
  EXPECT_GE(igx::batch_memory_kept_bytes(), 2 * (int64_t{kLayers} * 4 << 20));
  // What glibc does with it: blocks of the batch's size (each below the mmap threshold) freed
  // together stay in the heap for the next batch.
  std::vector<void*> blocks(kLayers / 4);
  for (void*& block : blocks) {
    block = std::malloc(size_t{16} << 20);
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, size_t{16} << 20);
  }
  for (void* block : blocks) std::free(block);
  EXPECT_GE(mallinfo2().fordblks, size_t{kLayers * 4} << 20);
#else
  GTEST_SKIP() << "not glibc";
#endif
}

// all_finite reads float32/float64 CPU data in one pass of its own: it must find every NaN and
// infinity wherever it sits (the loop's vector body and its tail), as torch::isfinite does.
TEST(Runtime, AllFiniteFindsEveryNonFiniteValue) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf}) {
    for (const int64_t size : {1, 7, 8, 33, 1000}) {
      const torch::Tensor values = torch::randn({size}).mul(1e3);
      EXPECT_TRUE(igx::all_finite(values.to(dtype))) << dtype << " " << size;
      for (const int64_t where : {int64_t{0}, size / 2, size - 1}) {
        for (const float bad : {std::numeric_limits<float>::quiet_NaN(), inf, -inf}) {
          torch::Tensor spoiled = values.clone();
          spoiled.data_ptr<float>()[where] = bad;
          spoiled = spoiled.to(dtype);
          EXPECT_FALSE(igx::all_finite(spoiled)) << dtype << " " << size << " " << where << " " << bad;
          EXPECT_FALSE(igx::all_finite(spoiled.view({1, size}).expand({3, size}).t()));  // not contiguous
        }
      }
    }
  }
  EXPECT_TRUE(igx::all_finite(torch::tensor({std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                                             std::numeric_limits<float>::denorm_min()})));
  EXPECT_TRUE(igx::all_finite(torch::tensor({std::numeric_limits<double>::max(), -0.0}, torch::kDouble)));
  EXPECT_TRUE(igx::all_finite(torch::arange(10)));  // integers are finite
  EXPECT_TRUE(igx::all_finite(torch::empty({0})));
}

#ifdef IGX_CLI_PATH
// Sets an environment variable for the scope (unset when `value` is empty) and restores it.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value.empty()) {
      unsetenv(name);
    } else {
      setenv(name, value.c_str(), 1);
    }
  }
  ~ScopedVariable() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The CLI's OpenMP workers wait passively (OMP_WAIT_POLICY=PASSIVE, which libgomp reads before
// main: tools/igx/wait_policy.cpp) for every command, whatever the machine's load; never when the
// user set how threads wait or asked for one thread. And libgomp starts at the thread count of
// --threads (OMP_NUM_THREADS), unless the user set OMP_NUM_THREADS. libgomp shows its settings
// with OMP_DISPLAY_ENV=VERBOSE; GOMP_SPINCOUNT says what it took (0: passive, 300000: its
// spinning default). The display comes once: the process starts once.
TEST(Runtime, CliThreadsWaitPassivelyUnlessTheUserChose) {
  using igx_test::contains;
  using igx_test::run_igx;
  const ScopedVariable display("OMP_DISPLAY_ENV", "VERBOSE");
  const ScopedVariable no_policy("OMP_WAIT_POLICY", "");
  const ScopedVariable no_spin("GOMP_SPINCOUNT", "");
  const std::string passive = run_igx("explain --help").output;
  if (!contains(passive, "GOMP_SPINCOUNT")) GTEST_SKIP() << "LibTorch does not run on libgomp here";
  EXPECT_TRUE(contains(passive, "GOMP_SPINCOUNT = '0'")) << passive;  // what PASSIVE means to libgomp
  EXPECT_EQ(passive.find("OPENMP DISPLAY ENVIRONMENT BEGIN"), passive.rfind("OPENMP DISPLAY ENVIRONMENT BEGIN"));
  EXPECT_TRUE(contains(run_igx("batch --help --threads 2").output, "GOMP_SPINCOUNT = '0'"));
  EXPECT_TRUE(contains(run_igx("batch --help --threads 1").output, "GOMP_SPINCOUNT = '300000'"));  // libgomp's own
  EXPECT_TRUE(contains(run_igx("explain --help --threads=1").output, "GOMP_SPINCOUNT = '300000'"));
  {
    const ScopedVariable user("OMP_WAIT_POLICY", "ACTIVE");
    const std::string active = run_igx("batch --help").output;
    EXPECT_TRUE(contains(active, "OMP_WAIT_POLICY = 'ACTIVE'")) << active;
    EXPECT_TRUE(contains(active, "GOMP_SPINCOUNT = '30000000000'")) << active;  // what ACTIVE means to libgomp
  }
  {
    const ScopedVariable user("GOMP_SPINCOUNT", "1234");
    EXPECT_TRUE(contains(run_igx("batch --help").output, "GOMP_SPINCOUNT = '1234'"));
  }

  const std::string cores = std::to_string(igx::available_cores());
  EXPECT_TRUE(contains(passive, "OMP_NUM_THREADS = '" + cores + "'")) << passive;  // 0 = all cores
  EXPECT_TRUE(contains(run_igx("explain --help --threads 1").output, "OMP_NUM_THREADS = '1'"));
  EXPECT_TRUE(contains(run_igx("explain --help --threads=1").output, "OMP_NUM_THREADS = '1'"));
  EXPECT_TRUE(contains(run_igx("explain --help --threads 3 --threads 1").output, "OMP_NUM_THREADS = '1'"));  // the last
  const std::string beyond = std::to_string(igx::available_cores() + 3);
  EXPECT_TRUE(contains(run_igx("explain --help --threads " + beyond).output, "OMP_NUM_THREADS = '" + cores + "'"));
  EXPECT_TRUE(contains(run_igx("explain --help --force --threads " + beyond).output, "OMP_NUM_THREADS = '" + beyond + "'"));
  {
    const ScopedVariable user("OMP_NUM_THREADS", "7");
    EXPECT_TRUE(contains(run_igx("explain --help --threads 1").output, "OMP_NUM_THREADS = '7'"));
  }
}
#endif

}  // namespace
