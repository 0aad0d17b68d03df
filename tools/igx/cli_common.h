#pragma once
// What the igx subcommands share: flag parsing helpers and careful output files.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "igx/error.h"
#include "igx/explain_options.h"

namespace igx_cli {

/// The options of a request (igx/explain_options.h) as flags of a command, named, explained
/// and defaulted by the library's table, so that every command and every other front end
/// spells them alike.
class RequestFlags {
 public:
  /// Adds --NAME (and `short_name`, e.g. "-n"). `help` and `default_value` replace the
  /// table's for a command whose meaning differs; a command default is set in every request.
  void add(CLI::App* command, const std::string& name, const std::string& short_name = "",
           const std::string& help = "", const std::string& default_value = "");
  /// Sets the flags given on the command line (and the command's own defaults) into `options`;
  /// igx::Error naming the flag for a bad value.
  void apply(igx::ExplainOptions& options) const;
  bool given(const std::string& name) const;  ///< whether --NAME was on the command line
  std::string value(const std::string& name) const;  ///< as given, or the command's default

 private:
  struct Entry {
    std::string value;
    bool flag_value = false;
    std::string command_default;
    CLI::Option* option = nullptr;
    bool is_flag = false;
  };
  std::map<std::string, Entry> entries_;  // node-based: CLI11 keeps pointers to the values
};

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
