// Process-wide settings: thread pools, the allocator.
#include <dlfcn.h>
#include <gtest/gtest.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>

#include "igx/igx.h"

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

}  // namespace
