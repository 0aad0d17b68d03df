#pragma once
// What the tests of the igx command share: a temporary folder of their own, the models' paths,
// and the one-line error every failing command prints.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "igx/error.h"

#include "test_support.h"

namespace igx_test {

/// A shipped bundle, models/NAME in the source tree.
inline std::string shipped_model(const std::string& name) { return std::string(IGX_SOURCE_DIR) + "/models/" + name; }

/// The first sample picture of `label` shipped with mnist-cnn.
inline std::string digit(int label) {
  return shipped_model("mnist-cnn") + "/samples/digit_" + std::to_string(label) + "_0.png";
}

/// A TorchScript test model exported by tests/models/export_test_models.py, NAME.pt.
inline std::string test_model(const std::string& name) {
  return std::string(IGX_TEST_MODELS_DIR) + "/" + name + ".pt";
}

/// A test with an empty folder of its own, removed afterwards. The folder is named after the test
/// suite and this process: ctest runs every test in a process of its own, several at once.
class TempFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suite = ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name();
    directory_ = std::filesystem::temp_directory_path() / ("igx_" + suite + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string path(const std::string& name) const { return (directory_ / name).string(); }
  /// Writes `text` to the file `name` in the folder and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  static std::string read(const std::string& file) {
    std::ifstream stream(file);
    return std::string(std::istreambuf_iterator<char>(stream), {});
  }

  std::filesystem::path directory_;
};

/// A failing command prints exactly one line, starting with "igx: error:" and containing
/// `fragment`, and exits with the code of its kind: igx::kExitFailure (the run failed) or
/// igx::kExitUsage (the command line is wrong: nothing was run).
inline void expect_one_line_error(const CommandResult& result, const std::string& fragment, int exit_code) {
  EXPECT_EQ(result.exit_code, exit_code) << result.output;
  EXPECT_EQ(result.output.rfind("igx: error: ", 0), 0u) << result.output;
  EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
  EXPECT_TRUE(contains(result.output, fragment)) << result.output;
}

}  // namespace igx_test
