// The fuzz harnesses (tests/fuzz/) replayed on their committed corpora: the seeds and every input
// that once crashed a harness, in every build, without libFuzzer or sanitizers. A harness either
// accepts an input or refuses it with igx::Error; anything else (another exception, a property
// that fails) is a test failure. scripts/fuzz.sh runs the same harnesses under libFuzzer.
#define IGX_FUZZ_REPLAY
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_target.h"

namespace {

namespace fs = std::filesystem;

class FuzzCorpus : public ::testing::TestWithParam<const char*> {};

TEST_P(FuzzCorpus, EveryInputIsReadOrRefusedWithAnIgxError) {
  const std::string name = GetParam();
  const auto found = igx_fuzz::harnesses().find(name);
  ASSERT_NE(found, igx_fuzz::harnesses().end()) << "harness " << name << " is not linked into the tests";
  const fs::path corpus = fs::path(IGX_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / name;
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  int inputs = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    try {
      found->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& error) {
      ADD_FAILURE() << name << " on " << entry.path().filename() << ": " << error.what();
    }
    ++inputs;
  }
  EXPECT_GE(inputs, 5) << "the seed corpus of " << name << " is (nearly) empty";
}

INSTANTIATE_TEST_SUITE_P(Harnesses, FuzzCorpus,
                         ::testing::Values("npy", "json_array", "image", "wordpiece", "bundle_config", "sweep_csv",
                                           "serve_request"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
