#pragma once
// Model bundles (docs/bundles.md): a folder with model.pt (TorchScript), igx.json (task, labels,
// input description, method names) and, for text, vocab.txt.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace igx {

/// igx.json, with the fields every bundle has checked on load.
struct BundleConfig {
  std::string directory;            ///< the bundle folder
  std::string name;                 ///< "spam-transformer"
  std::string task;                 ///< "text", "image" or "tabular"
  std::vector<std::string> labels;  ///< class names, index = class
  nlohmann::json json;              ///< the whole file, for task-specific fields

  std::string model_path() const { return directory + "/model.pt"; }
  /// Path of a file named in the bundle, relative to its folder; igx::Error if it is missing.
  std::string file(const std::string& relative) const;
  /// A method name from "methods" (e.g. "forward_embeds"), or `fallback` when not listed.
  std::string method(const std::string& role, const std::string& fallback) const;
  /// The label of a class, or its index as text when the bundle has no label for it.
  std::string label(int64_t index) const;
};

/// Checks the text of an igx.json (the fields every bundle has) without touching the disk;
/// `directory` is the bundle folder it belongs to, named in messages. igx::Error otherwise.
BundleConfig parse_bundle_config(const std::string& text, const std::string& directory);

/// Reads and checks `directory`/igx.json and that model.pt exists; igx::Error naming the file
/// and the missing or malformed field otherwise.
BundleConfig load_bundle_config(const std::string& directory);

/// The folders a bundle name is looked up in, in order: each entry of $IGX_MODEL_PATH
/// (colon-separated), share/igx/models next to the running executable's bin/ (a relocated
/// install), the configured install's share/igx/models, and the source tree's models/ this
/// library was built from (while that folder exists).
std::vector<std::string> model_search_path();

/// Finds a bundle by path or by name: an existing folder is taken as is; a name (no '/') is
/// looked up in model_search_path(). Throws igx::Error listing the places searched.
std::string find_bundle(const std::string& name_or_path);

}  // namespace igx
