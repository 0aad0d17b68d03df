#pragma once
// Whole-file reads and writes with errors that name the file. Reads are bounded (a file of
// absurd size, or a device such as /dev/zero, is refused instead of read until memory runs
// out); writes are atomic (a temporary file in the target's folder, renamed over the target
// once complete), so a failure (full disk, killed process) never leaves a half-written file
// where the user's file was.

#include <cstddef>
#include <cstdint>
#include <string>

namespace igx {

/// Default bound of read_file_bytes: 1 GiB. Readers of small formats pass tighter bounds.
constexpr size_t kMaxInputFileBytes = size_t{1} << 30;

/// The file's bytes. igx::Error naming the path when it cannot be opened ("PATH: cannot open for
/// reading: REASON"), is a folder, or holds more than `max_bytes` bytes ("PATH is larger than
/// 1.0 GiB, the most igx reads for a file"); pipes and devices are read up to the bound. `what`
/// ("an image file") only words the messages.
std::string read_file_bytes(const std::string& path, size_t max_bytes = kMaxInputFileBytes,
                            const std::string& what = "a file");

/// Throws igx::Error unless `path` names something that can be opened as a file: it exists and
/// is not a folder. `what` names it in the message ("model file 'x.pt' is a folder").
void require_readable_file(const std::string& path, const std::string& what);

/// Writes the file atomically: the bytes go to a temporary file in the same folder (named
/// `.NAME.igx-XXXXXX`), which is flushed to disk and renamed over `path`. igx::Error naming the
/// path and the reason when it fails; the temporary file is removed and `path` is untouched.
void write_file_bytes(const std::string& path, const std::string& bytes);

/// A file written in pieces (rows of a long study) that appears under its name only when
/// complete. Until commit() the bytes live in `staging_path` in the same folder (by default
/// a hidden temporary name). The destructor removes an uncommitted staging file unless
/// keep_on_failure() was called, so that a stopped run can keep what it wrote.
class StagedFile {
 public:
  /// Opens the staging file; igx::Error naming `path` when it cannot be created.
  explicit StagedFile(std::string path, std::string staging_path = "");
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  /// Appends and flushes `bytes` (so that a killed process leaves them on disk).
  void append(const std::string& bytes);
  /// Syncs the staging file and renames it over the target; igx::Error when it fails.
  void commit();
  /// Leaves the staging file in place when the object is destroyed uncommitted.
  void keep_on_failure() { keep_ = true; }

  const std::string& path() const { return path_; }
  const std::string& staging_path() const { return staging_path_; }
  int64_t bytes_written() const { return bytes_written_; }

 private:
  std::string path_;
  std::string staging_path_;
  int descriptor_ = -1;
  int64_t bytes_written_ = 0;
  bool keep_ = false;
};

/// "1.5 GiB", "300 MiB", "12 KiB", "17 bytes": sizes in messages.
std::string format_bytes(double bytes);

}  // namespace igx
