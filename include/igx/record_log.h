#pragma once
// A file of JSON records that a long run appends to, one line per finished item, and that a rerun
// of the same run resumes (igx batch, igx sweep). Line 1 is a header saying which run the records
// belong to; every other line is one record, a JSON object with a string "id" (unique) and an
// integer "item" (the item's position in the run's data).
//
// Loss-free by construction: a record is written with one write() on an O_APPEND descriptor, so a
// process killed at any moment leaves complete records followed by at most one torn line (a
// prefix of the record being written, without its newline). Opening the log again cuts the torn
// line off and lists the ids already there, so the rerun computes only what is missing.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace igx {

/// The value of a record log's header "schema".
inline constexpr const char* kRecordLogSchema = "igx.records/1";

class RecordLog {
 public:
  /// Opens `path` for the run `header` describes: a JSON object; its "schema" is set to
  /// kRecordLogSchema, and its "about" member (informational: paths, versions) is not compared.
  ///  - a missing or empty file, or one holding only a torn header line, becomes a new log;
  ///  - a log of the same run is resumed: a torn last line is cut off, its records are indexed;
  ///  - anything else (a log of another run, a file that is not a record log, a malformed line
  ///    before the last) is an igx::Error naming the file and the first difference, unless
  ///    `restart`, which replaces it by a new log (the only way a log loses records; a log of
  ///    the same run is resumed even then).
  /// The file is locked (flock) while open: a second process opening it gets an igx::Error.
  static std::unique_ptr<RecordLog> open(const std::string& path, const nlohmann::json& header, bool restart);
  ~RecordLog();
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  const std::string& path() const { return path_; }
  const nlohmann::json& header() const { return header_; }
  /// Bytes of a torn last line that open() cut off (0: the file ended with a whole record).
  size_t repaired_bytes() const { return repaired_bytes_; }
  /// Distinct ids recorded.
  size_t size() const { return latest_.size(); }
  bool contains(const std::string& id) const { return latest_.count(id) > 0; }

  /// Appends `record` (an object with a string "id" and an integer "item" >= 0) as one line,
  /// handed to the kernel before returning; the file is synced to disk at most once a second.
  /// A record whose id is already in the log supersedes the earlier one (a retried failure):
  /// readers and sort_by_item() keep the last record of each id. igx::Error when the write fails
  /// (the file is cut back to its last whole record).
  void append(const nlohmann::json& record);

  /// Calls `visit` with the latest record of every id, in file order.
  void for_each_record(const std::function<void(const nlohmann::json&)>& visit) const;

  /// Rewrites the log as its header and the latest record of every id in ascending "item"
  /// order, unless it is already so: a temporary file synced and renamed over the log, so that
  /// a process killed meanwhile leaves the old log whole.
  void sort_by_item();

  /// Syncs the file to disk.
  void sync();

 private:
  struct Line {
    int64_t item = 0;
    uint64_t offset = 0;
    uint64_t length = 0;  // without the newline
  };
  RecordLog() = default;
  // Reads the log open() found: false when it is new (empty, or a torn header), true when it is
  // this run's (indexed, torn last line cut off); igx::Error otherwise.
  bool resume(std::istream& file, const std::string& first, bool whole_first_line);
  void index(const std::string& bytes, uint64_t start);
  void note(const nlohmann::json& record, uint64_t offset, uint64_t length, const std::string& where);
  std::string read_line(const Line& line) const;

  std::string path_;
  nlohmann::json header_;
  int descriptor_ = -1;
  uint64_t size_bytes_ = 0;
  size_t repaired_bytes_ = 0;
  std::vector<Line> lines_;                          // every record line, in file order
  std::unordered_map<std::string, size_t> latest_;  // id -> index into lines_ of its last record
  double last_sync_ = 0;
};

/// A record log read whole: its header and the latest record of every id (in the order the ids
/// first appear).
struct RecordFile {
  nlohmann::json header;
  std::vector<nlohmann::json> records;
};

/// Reads a record log without changing it (a torn last line is skipped); igx::Error naming the
/// file and line for anything that is not a record log.
RecordFile read_record_file(const std::string& path);

/// The first difference between two headers, ignoring "about", as a phrase for an error
/// message ("options.tolerance is 0.01 in the file and 0.001 now"); "" when they are equal.
std::string header_difference(const nlohmann::json& recorded, const nlohmann::json& now);

}  // namespace igx
