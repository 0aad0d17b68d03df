#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>

#include "igx/error.h"
#include "igx/file_io.h"
#include "igx/runtime.h"

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

int apply_threads(int requested, bool force) {
  const int cores = igx::available_cores();
  const int in_force = igx::set_num_threads(requested, /*allow_more_than_cores=*/force);
  if (requested > cores && !force) {
    std::cerr << "igx: warning: --threads " << requested << " is more than the " << cores
              << " cores here; using " << in_force << " (more threads than cores only slow igx down; "
              << "--force runs them anyway)\n";
  }
  return in_force;
}

OutputFiles::OutputFiles(std::string directory, bool force, std::string directory_flag)
    : directory_(std::move(directory)),
      force_(force),
      directory_flag_(std::move(directory_flag)),
      exceptions_at_start_(std::uncaught_exceptions()) {}

OutputFiles::~OutputFiles() {
  if (std::uncaught_exceptions() <= exceptions_at_start_) return;  // the command did not fail
  // The command failed: take back what this run created, so that nothing half-done is left.
  std::error_code ignored;
  for (const Registered& output : outputs_) {
    if (!output.existed) fs::remove(output.path, ignored);
  }
  if (made_directory_) fs::remove(directory_, ignored);  // only if empty: never the user's files
}

void OutputFiles::register_output(const std::string& path, const std::string& flag) {
  std::error_code error;
  const fs::path identity = fs::weakly_canonical(fs::absolute(path), error);
  for (const Registered& other : outputs_) {
    if (fs::weakly_canonical(fs::absolute(other.path), error) == identity) {
      throw igx::UsageError(flag + ": '" + path + "' is also the path of " + other.flag +
                            "'s output; give each output its own file");
    }
  }
  const fs::file_status status = fs::status(path, error);
  if (fs::is_directory(status)) throw igx::UsageError(flag + ": '" + path + "' is a folder; expected a file name");
  const bool existed = fs::exists(status);
  if (existed && !force_) {
    throw igx::UsageError(flag + ": '" + path + "' already exists; igx replaces files only with --force");
  }
  outputs_.push_back({path, flag, existed});
}

void OutputFiles::check_writable(const std::string& path, const std::string& flag) {
  const fs::path parent = fs::absolute(path).parent_path();
  if (!fs::is_directory(parent)) {
    throw igx::UsageError(flag + ": '" + path + "': folder '" + parent.string() + "' does not exist");
  }
  register_output(path, flag);
}

void OutputFiles::prepare_directory() {
  if (prepared_) return;
  std::error_code error;
  if (fs::exists(directory_, error) && !fs::is_directory(directory_, error)) {
    throw igx::UsageError(directory_flag_ + ": '" + directory_ + "' is a file; expected a folder (made if missing)");
  }
  if (!fs::exists(directory_, error)) {
    // Only the last level is taken back on failure; missing parents are made too but kept.
    fs::create_directories(directory_, error);
    if (error) throw igx::Error(directory_flag_ + ": cannot make the folder '" + directory_ + "': " + error.message());
    made_directory_ = true;
  }
  prepared_ = true;
}

std::string OutputFiles::resolve(const std::string& explicit_path, const std::string& default_name,
                                 const std::string& flag) {
  if (!explicit_path.empty()) {
    check_writable(explicit_path, flag);
    return explicit_path;
  }
  prepare_directory();
  const std::string path = (fs::path(directory_) / default_name).string();
  register_output(path, directory_flag_);
  return path;
}

std::string OutputFiles::record_log(const std::string& name) {
  prepare_directory();
  const std::string path = (fs::path(directory_) / name).string();
  outputs_.push_back({path, directory_flag_, /*existed=*/true});  // a failed run keeps it, to be resumed
  return path;
}

std::string OutputFiles::default_output(const std::string& default_name) {
  const std::string path = (fs::path(directory_) / default_name).string();
  for (const Registered& output : outputs_) {
    if (output.path == path) return path;
  }
  return resolve("", default_name);
}

void write_text_file(const std::string& path, const std::string& text) { igx::write_file_bytes(path, text); }

bool terminal_colour(bool disabled) {
  return !disabled && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
}

CLI::Validator integer_in(int64_t minimum, int64_t maximum) {
  return CLI::Validator([=](std::string& text) { return igx::integer_value_problem(text, minimum, maximum); }, "");
}

CLI::Validator number_in(double lower, double upper, bool upper_included, bool lower_included) {
  return CLI::Validator(
      [=](std::string& text) { return igx::number_value_problem(text, lower, upper, upper_included, lower_included); },
      "");
}

igx::UsageError bad_value(const std::string& flag, const std::string& expected, const std::string& text) {
  return igx::UsageError(flag + ": " + igx::expected_got(expected, text));
}

}  // namespace igx_cli
