#pragma once
// What the igx subcommands share: flag parsing helpers, careful output files, threads.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
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

/// Where a command writes its files, under one rule: igx never replaces a file that exists
/// unless --force. Every output is registered (resolve) before any work, so a run that would
/// replace a file, write two outputs to one path, or write into a missing folder fails before
/// it starts. Files are written atomically (igx::write_file_bytes). If the command fails, the
/// files this run created and the output folder it made are removed again (nothing is left
/// behind); files it replaced under --force stay replaced.
class OutputFiles {
 public:
  /// `directory_flag` names the output folder in messages (--out-dir, --replot).
  OutputFiles(std::string directory, bool force, std::string directory_flag = "--out-dir");
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;
  ~OutputFiles();

  /// Registers an output: `explicit_path` (given by `flag`) if not empty, else `default_name`
  /// inside the output folder, which is created if missing. Returns the path. UsageError when the
  /// file exists (without --force), another output already has this path, or an explicit path's
  /// folder does not exist.
  std::string resolve(const std::string& explicit_path, const std::string& default_name,
                      const std::string& flag = "output file");
  /// Registers an explicit path (as resolve with a path).
  void check_writable(const std::string& path, const std::string& flag);
  /// `name` inside the output folder for a record log (igx/record_log.h), which resumes a log of
  /// the same run and refuses another's by itself: not checked here, and kept when the run fails.
  std::string record_log(const std::string& name);
  /// `default_name` inside the output folder: registered by resolve on the first call, the same
  /// path again on later ones (a report checked before a study runs and written after it).
  std::string default_output(const std::string& default_name);

  const std::string& directory() const { return directory_; }
  bool force() const { return force_; }

 private:
  struct Registered {
    std::string path;
    std::string flag;
    bool existed;  ///< the file was there before this run (replaced only with --force)
  };
  void prepare_directory();
  void register_output(const std::string& path, const std::string& flag);
  std::string directory_;
  bool force_;
  std::string directory_flag_;
  bool prepared_ = false;
  bool made_directory_ = false;
  int exceptions_at_start_;
  std::vector<Registered> outputs_;
};

/// Writes `text` to `path` atomically; igx::Error naming the path when it fails.
void write_text_file(const std::string& path, const std::string& text);

/// Whether to colour terminal output: stdout is a terminal and NO_COLOR is unset.
bool terminal_colour(bool disabled);

// ---- Flag values ---------------------------------------------------------------------------
// Every numeric flag is checked by one of these validators before it is converted, with the
// library's reading and wording of option values (igx/explain_options.h), so every bad value gets
// the same kind of message and exit code: "--steps: expected an integer ≥ 1, got 0".

/// An integer from `minimum` to `maximum` (written in full: no fraction, no exponent).
CLI::Validator integer_in(int64_t minimum, int64_t maximum = std::numeric_limits<int64_t>::max());

/// A finite number above `lower` and below `upper` (or at them, when `upper_included`,
/// `lower_included`).
CLI::Validator number_in(double lower, double upper = std::numeric_limits<double>::infinity(),
                         bool upper_included = false, bool lower_included = false);

/// The usage error "FLAG: expected EXPECTED, got 'TEXT'" (the text clipped to a readable length).
igx::UsageError bad_value(const std::string& flag, const std::string& expected, const std::string& text);

// ---- Threads -------------------------------------------------------------------------------

/// Sets the CPU threads for --threads T (0 = all cores). More threads than cores only slow igx
/// down (and thousands take seconds to start), so T is capped at the cores with a warning on
/// stderr unless `force`. Returns the count in force.
int apply_threads(int requested, bool force);

}  // namespace igx_cli
