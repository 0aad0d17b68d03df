// Whole-file reads and writes: bounded reads, atomic writes that never leave a half-written file
// where the user's file was, staged files for long studies.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "igx/error.h"
#include "igx/file_io.h"
#include "../test_support.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::error_of;

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::path(::testing::TempDir()) / ("igx_file_io_" + std::to_string(::getpid()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string path(const std::string& name) const { return (folder_ / name).string(); }
  static std::string contents(const std::string& file) {
    std::ifstream stream(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  }
  // The folder's entries: an atomic write leaves no temporary file behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path folder_;
};

TEST_F(FileIo, WriteReplacesTheFileWholeAndKeepsItsPermissions) {
  igx::write_file_bytes(path("out.json"), "first");
  ::chmod(path("out.json").c_str(), 0640);
  igx::write_file_bytes(path("out.json"), std::string(100000, 'x'));
  EXPECT_EQ(contents(path("out.json")), std::string(100000, 'x'));
  struct stat status;
  ASSERT_EQ(::stat(path("out.json").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0640u);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.json"});
}

TEST_F(FileIo, WriteIntoAMissingFolderNamesItAndCreatesNothing) {
  const std::string message = error_of([&] { igx::write_file_bytes(path("no/such/out.json"), "x"); });
  EXPECT_TRUE(contains(message, "out.json")) << message;
  EXPECT_TRUE(contains(message, "does not exist")) << message;
  EXPECT_TRUE(entries().empty());
  EXPECT_TRUE(contains(error_of([&] { igx::write_file_bytes(folder_.string(), "x"); }), "folder")) ;
}

// A full disk, simulated with a file-size limit in a child process: the write fails with an error
// naming the file, the user's file keeps its old contents, and no temporary file is left.
TEST_F(FileIo, AFailedWriteLeavesTheOldFileIntact) {
  igx::write_file_bytes(path("precious.json"), "{\"precious\": true}\n");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      igx::write_file_bytes(path("precious.json"), std::string(1 << 20, 'y'));
    } catch (const igx::Error& error) {
      ::_exit(contains(error.what(), "precious.json") ? 42 : 1);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42) << "expected an igx::Error naming the file";
  EXPECT_EQ(contents(path("precious.json")), "{\"precious\": true}\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"precious.json"});
}

TEST_F(FileIo, ReadsAreBounded) {
  igx::write_file_bytes(path("small.txt"), "0123456789");
  EXPECT_EQ(igx::read_file_bytes(path("small.txt"), 10), "0123456789");
  const std::string too_large = error_of([&] { igx::read_file_bytes(path("small.txt"), 9, "a vocabulary file"); });
  EXPECT_TRUE(contains(too_large, "small.txt is larger than 9 bytes, the most igx reads for a vocabulary file"))
      << too_large;
  // A device that never ends is cut at the bound instead of read until memory runs out.
  const std::string endless = error_of([&] { igx::read_file_bytes("/dev/zero", 1 << 20, "an image file"); });
  EXPECT_TRUE(contains(endless, "/dev/zero is larger than 1.0 MiB")) << endless;
  EXPECT_TRUE(contains(error_of([&] { igx::read_file_bytes(folder_.string()); }), "is a folder"));
  EXPECT_TRUE(contains(error_of([&] { igx::read_file_bytes(path("missing")); }), "No such file"));
}

TEST(FormatBytes, ReadableSizes) {
  EXPECT_EQ(igx::format_bytes(17), "17 bytes");
  EXPECT_EQ(igx::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(igx::format_bytes(300.0 * (1 << 20)), "300 MiB");
  EXPECT_EQ(igx::format_bytes(16e9), "15 GiB");
}

}  // namespace
