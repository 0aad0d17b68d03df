#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "igx/record_log.h"
#include "../test_support.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::error_of;
using nlohmann::json;

class RecordLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("igx_record_log_" + std::to_string(::getpid()) + "_" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    path_ = (folder_ / "results.jsonl").string();
  }
  void TearDown() override { fs::remove_all(folder_); }

  std::string bytes() const {
    std::ifstream file(path_, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  void write(const std::string& content) const { std::ofstream(path_, std::ios::binary) << content; }

  static json record(const std::string& id, int64_t item, double value) {
    return {{"id", id}, {"item", item}, {"value", value}};
  }
  static std::vector<std::string> ids_of(const igx::RecordLog& log) {
    std::vector<std::string> ids;
    log.for_each_record([&](const json& record) { ids.push_back(record["id"]); });
    return ids;
  }

  fs::path folder_;
  std::string path_;
  const json header_ = {{"command", "batch"}, {"run", {{"tolerance", 0.01}}}, {"about", {{"data", "a.jsonl"}}}};
};

TEST_F(RecordLogTest, WritesHeaderThenOneLinePerRecordAndResumes) {
  {
    auto log = igx::RecordLog::open(path_, header_, false);
    log->append(record("a", 0, 1.5));
    log->append(record("b", 1, -2));
    EXPECT_EQ(log->size(), 2u);
  }
  const std::string written = bytes();
  std::istringstream lines(written);
  std::string line;
  std::vector<json> parsed;
  while (std::getline(lines, line)) parsed.push_back(json::parse(line));
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0]["schema"], igx::kRecordLogSchema);
  EXPECT_EQ(parsed[0]["run"]["tolerance"], 0.01);
  EXPECT_EQ(parsed[1], record("a", 0, 1.5));
  EXPECT_EQ(parsed[2], record("b", 1, -2));

  // "about" is informational: another data path with the same run resumes.
  json moved = header_;
  moved["about"]["data"] = "/elsewhere/a.jsonl";
  auto log = igx::RecordLog::open(path_, moved, false);
  EXPECT_EQ(log->size(), 2u);
  EXPECT_TRUE(log->contains("a"));
  EXPECT_FALSE(log->contains("c"));
  EXPECT_EQ(log->repaired_bytes(), 0u);
  EXPECT_EQ(log->header()["about"]["data"], "a.jsonl");  // the first run's
  log->append(record("c", 2, 3));
  log.reset();
  EXPECT_EQ(bytes(), written + record("c", 2, 3).dump() + "\n");
}

TEST_F(RecordLogTest, CutsOffATornLastLineAtEveryByte) {
  {
    auto log = igx::RecordLog::open(path_, header_, false);
    log->append(record("a", 0, 1));
    log->append(record("b", 1, 2));
  }
  const std::string whole = bytes();
  const size_t header_end = whole.find('\n') + 1;
  const size_t first_end = whole.find('\n', header_end) + 1;
  // Every prefix a killed process can leave: a torn header, a torn record, whole records.
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    write(whole.substr(0, cut));
    auto log = igx::RecordLog::open(path_, header_, false);
    const size_t kept = cut < header_end ? header_end : cut < first_end ? header_end : cut < whole.size() ? first_end
                                                                                                          : whole.size();
    EXPECT_EQ(log->size(), cut < first_end ? 0u : cut < whole.size() ? 1u : 2u);
    EXPECT_EQ(log->repaired_bytes(), cut < header_end ? 0u : cut - kept);
    log->append(record("b", 1, 2));
    if (cut < first_end) log->append(record("a", 0, 1));
    log->sort_by_item();
    log.reset();
    EXPECT_EQ(bytes(), whole);  // ends as an uninterrupted run
  }
}

TEST_F(RecordLogTest, RefusesAnotherRunOrAForeignFileUnlessRestarted) {
  igx::RecordLog::open(path_, header_, false)->append(record("a", 0, 1));
  json other = header_;
  other["run"]["tolerance"] = 0.001;
  const std::string message = error_of([&] { igx::RecordLog::open(path_, other, false); });
  EXPECT_TRUE(contains(message, "run.tolerance is 0.01 in the file and 0.001 now")) << message;
  EXPECT_TRUE(contains(message, "--force")) << message;
  EXPECT_TRUE(contains(bytes(), "\"a\""));  // nothing lost by refusing

  // Restarting replaces only what is not this run's log: the same run is resumed.
  EXPECT_EQ(igx::RecordLog::open(path_, header_, true)->size(), 1u);
  auto restarted = igx::RecordLog::open(path_, other, true);
  EXPECT_EQ(restarted->size(), 0u);
  restarted.reset();
  EXPECT_FALSE(contains(bytes(), "\"a\""));

  write("id,text\n1,hello\n");
  EXPECT_TRUE(contains(error_of([&] { igx::RecordLog::open(path_, header_, false); }), "is not a record log"));
  EXPECT_EQ(bytes(), "id,text\n1,hello\n");
  write("not a header, and no newline");
  EXPECT_TRUE(contains(error_of([&] { igx::RecordLog::open(path_, header_, false); }), "is not a record log"));
  igx::RecordLog::open(path_, header_, true)->append(record("a", 0, 1));
  EXPECT_EQ(igx::read_record_file(path_).records.size(), 1u);
}

TEST_F(RecordLogTest, AMalformedLineBeforeTheLastIsAnError) {
  igx::RecordLog::open(path_, header_, false)->append(record("a", 0, 1));
  write(bytes() + "{garbage\n" + record("b", 1, 2).dump() + "\n");
  const std::string message = error_of([&] { igx::RecordLog::open(path_, header_, false); });
  EXPECT_TRUE(contains(message, "line 3 is not JSON")) << message;
  write(bytes().substr(0, bytes().find("{garbage")) + "{\"id\": 7, \"item\": 1}\n");
  EXPECT_TRUE(contains(error_of([&] { igx::RecordLog::open(path_, header_, false); }), "string \"id\""));
}

TEST_F(RecordLogTest, ALaterRecordOfAnIdSupersedesAndSortingKeepsTheLatestByItem) {
  auto log = igx::RecordLog::open(path_, header_, false);
  log->append(record("c", 2, 3));
  log->append(record("a", 0, 1));
  log->append({{"id", "b"}, {"item", 1}, {"error", "bad input"}});
  log->append(record("b", 1, 2));  // the retried failure
  EXPECT_EQ(log->size(), 3u);
  EXPECT_EQ(ids_of(*log), (std::vector<std::string>{"c", "a", "b"}));
  log->sort_by_item();
  EXPECT_EQ(ids_of(*log), (std::vector<std::string>{"a", "b", "c"}));
  log->append(record("d", 3, 4));  // the sorted log is still the open one
  log.reset();

  const igx::RecordFile file = igx::read_record_file(path_);
  ASSERT_EQ(file.records.size(), 4u);
  EXPECT_EQ(file.records[1], record("b", 1, 2));
  EXPECT_EQ(file.records[3], record("d", 3, 4));
  EXPECT_FALSE(fs::exists(path_ + ".sorting"));
}

TEST_F(RecordLogTest, ASecondWriterIsRefused) {
  auto log = igx::RecordLog::open(path_, header_, false);
  const std::string message = error_of([&] { igx::RecordLog::open(path_, header_, false); });
  EXPECT_TRUE(contains(message, "being written by another process")) << message;
}

TEST_F(RecordLogTest, ReadRecordFileSkipsATornLastLineAndChangesNothing) {
  {
    auto log = igx::RecordLog::open(path_, header_, false);
    log->append(record("a", 0, 1));
  }
  write(bytes() + "{\"id\": \"b\", \"it");
  const std::string before = bytes();
  const igx::RecordFile file = igx::read_record_file(path_);
  EXPECT_EQ(file.header["command"], "batch");
  ASSERT_EQ(file.records.size(), 1u);
  EXPECT_EQ(bytes(), before);
}

TEST(HeaderDifference, NamesTheFirstDifferingFieldAndIgnoresAbout) {
  const json a = {{"run", {{"model", "m"}, {"steps", 8}}}, {"about", 1}};
  EXPECT_EQ(igx::header_difference(a, {{"run", {{"model", "m"}, {"steps", 8}}}, {"about", 2}}), "");
  EXPECT_EQ(igx::header_difference(a, {{"run", {{"model", "m"}, {"steps", 16}}}}), "run.steps is 8 in the file and 16 now");
  EXPECT_EQ(igx::header_difference(a, {{"run", {{"model", "m"}}}}), "run.steps is 8 in the file and unset now");
}

}  // namespace
