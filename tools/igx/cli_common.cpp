#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx_cli {
namespace fs = std::filesystem;

void RequestFlags::add(CLI::App* command, const std::string& name, const std::string& short_name,
                       const std::string& help, const std::string& default_value) {
  const igx::ExplainOptionInfo& info = igx::explain_option(name);
  Entry& entry = entries_[info.name];
  entry.is_flag = info.is_flag;
  entry.command_default = default_value;
  const std::string names = (short_name.empty() ? "" : short_name + ",") + "--" + info.name;
  const std::string text = help.empty() ? info.help : help;
  if (info.is_flag) {
    entry.option = command->add_flag(names, entry.flag_value, text);
    return;
  }
  entry.option = command->add_option(names, entry.value, text)->type_name(info.placeholder);
  const std::string shown = default_value.empty() ? info.default_value : default_value;
  if (!shown.empty()) entry.option->default_str(shown);
}

bool RequestFlags::given(const std::string& name) const {
  const auto entry = entries_.find(name);
  return entry != entries_.end() && entry->second.option->count() > 0;
}

std::string RequestFlags::value(const std::string& name) const {
  const auto entry = entries_.find(name);
  if (entry == entries_.end()) return "";
  return given(name) ? entry->second.value : entry->second.command_default;
}

void RequestFlags::apply(igx::ExplainOptions& options) const {
  for (const auto& [name, entry] : entries_) {
    if (entry.option->count() > 0) {
      igx::set_explain_option(options, name, entry.is_flag ? (entry.flag_value ? "true" : "false") : entry.value);
    } else if (!entry.command_default.empty()) {
      igx::set_explain_option(options, name, entry.command_default);
    }
  }
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
