#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx_cli {
namespace fs = std::filesystem;

std::optional<std::vector<int64_t>> parse_integer_list(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stoll(item, &used));
      if (used != item.size()) return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return values;
}

igx::Target parse_target(const std::string& text) {
  if (text == "pred" || text == "predicted") return igx::Target::predicted();
  const auto indices = parse_integer_list(text);
  if (!indices) {
    throw igx::Error("--target '" + text + "' is not valid; expected pred, a class index K, or K1,K2,... (one per example)");
  }
  if (indices->empty()) throw igx::Error("--target is empty; expected pred, K or K1,K2,...");
  if (indices->size() == 1) return igx::Target::index(indices->front());
  return igx::Target::per_example(*indices);
}

std::array<int64_t, 4> parse_corners(const std::string& text, const std::string& flag) {
  const auto corners = parse_integer_list(text);
  if (!corners || corners->size() != 4) {
    throw igx::Error(flag + " '" + text + "' is not valid; expected x0,y0,x1,y1 (pixels, x1 and y1 excluded)");
  }
  return {(*corners)[0], (*corners)[1], (*corners)[2], (*corners)[3]};
}

void OutputFiles::check_writable(const std::string& path, const std::string& flag) const {
  if (fs::exists(path) && !force_) {
    throw igx::Error(flag + " '" + path + "' already exists; pass --force to overwrite it");
  }
  const fs::path parent = fs::absolute(path).parent_path();
  if (!fs::is_directory(parent)) {
    throw igx::Error(flag + " '" + path + "': folder '" + parent.string() + "' does not exist");
  }
}

void OutputFiles::prepare_directory() {
  if (prepared_) return;
  const fs::path marker = fs::path(directory_) / ".igx-output";
  if (fs::exists(directory_) && !fs::exists(marker) && !force_) {
    throw igx::Error("--out-dir '" + directory_ + "' exists and was not made by igx; "
                     "choose another folder or pass --force to write into it");
  }
  fs::create_directories(directory_);
  std::ofstream(marker) << "This folder holds igx's output files; igx replaces them on its next run.\n";
  prepared_ = true;
}

std::string OutputFiles::resolve(const std::string& explicit_path, const std::string& default_name) {
  if (!explicit_path.empty()) {
    check_writable(explicit_path, "output file");
    return explicit_path;
  }
  prepare_directory();
  return (fs::path(directory_) / default_name).string();
}

void write_text_file(const std::string& path, const std::string& text) { igx::write_file_bytes(path, text); }

bool terminal_colour(bool disabled) {
  return !disabled && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace igx_cli
