// Process-wide settings: thread pools.
#include <dlfcn.h>
#include <gtest/gtest.h>

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

}  // namespace
