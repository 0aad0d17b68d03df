#pragma once
// Where the tests find the built CLI, the exported test models, the test data and the source
// tree. The paths are compiled into one translation unit (test_paths.cpp) rather than into every
// test, so that the other test files compile to the same objects in every build folder and
// checkout (a compiler cache then shares them). Force-included into every test source by CMake.

namespace igx::test_paths {
const char* cli();          ///< the igx binary
const char* test_models();  ///< folder of the TorchScript test models
const char* test_data();    ///< tests/data
const char* source();       ///< the source tree's root
}  // namespace igx::test_paths

#define IGX_CLI_PATH ::igx::test_paths::cli()
#define IGX_TEST_MODELS_DIR ::igx::test_paths::test_models()
#define IGX_TEST_DATA_DIR ::igx::test_paths::test_data()
#define IGX_SOURCE_DIR ::igx::test_paths::source()
