// The one test source compiled with the build's absolute paths (see test_paths.h).
#include "test_paths.h"

namespace igx::test_paths {
const char* cli() { return IGX_TEST_CLI_PATH_VALUE; }
const char* test_models() { return IGX_TEST_MODELS_DIR_VALUE; }
const char* test_data() { return IGX_TEST_DATA_DIR_VALUE; }
const char* source() { return IGX_SOURCE_DIR_VALUE; }
}  // namespace igx::test_paths
