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

/// "1.5 GiB", "300 MiB", "12 KiB", "17 bytes": sizes in messages.
std::string format_bytes(double bytes);

}  // namespace igx
