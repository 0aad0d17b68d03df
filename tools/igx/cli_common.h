#pragma once
// What the igx subcommands share: flag parsing helpers and careful output files.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "igx/target.h"

namespace igx_cli {

/// "pred", "K" or "K1,K2,..." (one class per example).
/// "3,-1,7" -> {3, -1, 7}; none when an item is not an integer ("" -> {}).
std::optional<std::vector<int64_t>> parse_integer_list(const std::string& text);
igx::Target parse_target(const std::string& text);

/// "x0,y0,x1,y1" (four integers) as {x0, y0, x1, y1}; igx::Error naming `flag` and the text
/// otherwise.
std::array<int64_t, 4> parse_corners(const std::string& text, const std::string& flag);

/// Where a command writes its files. Explicit paths are never overwritten without --force.
/// Default files go to an output folder that igx marks as its own (a .igx-output file), so a
/// second run may replace them, but a folder of the user's is never written into unasked.
class OutputFiles {
 public:
  OutputFiles(std::string directory, bool force) : directory_(std::move(directory)), force_(force) {}
  /// `explicit_path` if given (checked), else `default_name` inside the output folder.
  std::string resolve(const std::string& explicit_path, const std::string& default_name);
  /// Checks that `path` may be written: absent, or --force; its folder must exist.
  void check_writable(const std::string& path, const std::string& flag) const;

 private:
  void prepare_directory();
  std::string directory_;
  bool force_;
  bool prepared_ = false;
};

/// Writes `text` to `path`; igx::Error naming the path when it fails.
void write_text_file(const std::string& path, const std::string& text);

/// Whether to colour terminal output: stdout is a terminal and NO_COLOR is unset.
bool terminal_colour(bool disabled);

}  // namespace igx_cli
