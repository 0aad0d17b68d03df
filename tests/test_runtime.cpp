// Process-wide settings: thread pools, the allocator.
#include <dlfcn.h>
#include <gtest/gtest.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

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

// The CLI re-executes itself with OMP_WAIT_POLICY=PASSIVE (libgomp reads it before main) for the
// long-running commands and on a busy machine; never when the user set how threads wait or asked
// for one thread. libgomp shows its settings with OMP_DISPLAY_ENV=VERBOSE, a user variable that
// must survive the re-execution (and is shown once: the first image never starts libgomp).
TEST(Runtime, CliThreadsWaitPassivelyUnlessTheUserChose) {
  using igx_test::contains;
  using igx_test::run_igx;
  const ScopedVariable display("OMP_DISPLAY_ENV", "VERBOSE");
  const ScopedVariable no_policy("OMP_WAIT_POLICY", "");
  const ScopedVariable no_spin("GOMP_SPINCOUNT", "");
  const std::string passive = run_igx("batch --help").output;
  if (!contains(passive, "GOMP_SPINCOUNT")) GTEST_SKIP() << "LibTorch does not run on libgomp here";
  EXPECT_TRUE(contains(passive, "GOMP_SPINCOUNT = '0'")) << passive;  // what PASSIVE means to libgomp
  EXPECT_EQ(passive.find("OPENMP DISPLAY ENVIRONMENT BEGIN"), passive.rfind("OPENMP DISPLAY ENVIRONMENT BEGIN"));
  EXPECT_TRUE(contains(run_igx("batch --help --threads 1").output, "GOMP_SPINCOUNT = '300000'"));  // libgomp's own
  {
    const ScopedVariable user("OMP_WAIT_POLICY", "ACTIVE");
    EXPECT_TRUE(contains(run_igx("batch --help").output, "OMP_WAIT_POLICY = 'ACTIVE'"));
  }
  {
    const ScopedVariable user("GOMP_SPINCOUNT", "1234");
    EXPECT_TRUE(contains(run_igx("batch --help").output, "GOMP_SPINCOUNT = '1234'"));
  }
}
#endif

}  // namespace
