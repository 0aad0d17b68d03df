#pragma once
// Whole-file reads and writes with errors that name the file.

#include <string>

namespace igx {

/// The file's bytes; igx::Error "PATH: cannot open for reading: REASON" otherwise.
std::string read_file_bytes(const std::string& path);

/// Writes (replacing) the file; igx::Error naming the path and the reason when it fails.
void write_file_bytes(const std::string& path, const std::string& bytes);

}  // namespace igx
