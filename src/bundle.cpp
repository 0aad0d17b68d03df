#include "igx/bundle.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "igx/error.h"
#include "igx/file_io.h"
#include "igx/json_text.h"

namespace igx {
namespace fs = std::filesystem;
namespace {

// The folder of the running executable (the installed `bin/` of a relocated install).
std::optional<fs::path> executable_folder() {
  char executable[4096];
  const ssize_t length = ::readlink("/proc/self/exe", executable, sizeof executable - 1);
  if (length <= 0) return std::nullopt;
  return fs::path(std::string(executable, static_cast<size_t>(length))).parent_path();
}

void append_unique(std::vector<std::string>& folders, const fs::path& folder) {
  const std::string normal = folder.lexically_normal().string();
  if (std::find(folders.begin(), folders.end(), normal) == folders.end()) folders.push_back(normal);
}

// The types of the igx.json fields igx reads (docs/bundles.md), by dotted name.
enum class FieldKind { String, Boolean, PositiveInteger, Object, Strings, PositiveIntegers, Numbers };

struct FieldRule {
  const char* name;
  FieldKind kind;
};

constexpr FieldRule kFieldRules[] = {
    {"name", FieldKind::String},
    {"task", FieldKind::String},
    {"labels", FieldKind::Strings},
    {"methods", FieldKind::Object},
    {"max_length", FieldKind::PositiveInteger},
    {"tokenizer", FieldKind::Object},
    {"tokenizer.type", FieldKind::String},
    {"tokenizer.vocab", FieldKind::String},
    {"tokenizer.lowercase", FieldKind::Boolean},
    {"special_tokens", FieldKind::Object},
    {"embedding_dim", FieldKind::PositiveInteger},
    {"vocab_size", FieldKind::PositiveInteger},
    {"input_shape", FieldKind::PositiveIntegers},
    {"normalization", FieldKind::Object},
    {"normalization.mean", FieldKind::Numbers},
    {"normalization.std", FieldKind::Numbers},
    {"layers", FieldKind::Object},
    {"split_point", FieldKind::String},
};

bool has_kind(const nlohmann::json& value, FieldKind kind) {
  const auto all = [&value](auto predicate) {
    return value.is_array() && std::all_of(value.begin(), value.end(), predicate);
  };
  const auto positive_integer = [](const nlohmann::json& item) {
    return item.is_number_integer() && item.get<int64_t>() > 0;
  };
  switch (kind) {
    case FieldKind::String:
      return value.is_string();
    case FieldKind::Boolean:
      return value.is_boolean();
    case FieldKind::PositiveInteger:
      return positive_integer(value);
    case FieldKind::Object:
      return value.is_object();
    case FieldKind::Strings:
      return all([](const nlohmann::json& item) { return item.is_string(); });
    case FieldKind::PositiveIntegers:
      return all(positive_integer);
    case FieldKind::Numbers:
      return all([](const nlohmann::json& item) { return item.is_number(); });
  }
  return false;
}

const char* kind_name(FieldKind kind) {
  switch (kind) {
    case FieldKind::String:
      return "a string";
    case FieldKind::Boolean:
      return "true or false";
    case FieldKind::PositiveInteger:
      return "a positive integer";
    case FieldKind::Object:
      return "an object";
    case FieldKind::Strings:
      return "a list of strings";
    case FieldKind::PositiveIntegers:
      return "a list of positive integers";
    case FieldKind::Numbers:
      return "a list of numbers";
  }
  return "";
}

[[noreturn]] void bad_field(const fs::path& config_path, const std::string& field, const nlohmann::json& value,
                            const std::string& expected) {
  std::string shown = value.dump();
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  throw Error(config_path.string() + ": field '" + field + "' is " + shown + "; expected " + expected +
              " (see docs/bundles.md)");
}

// Every field igx reads has the type it reads it as, so later reads cannot fail.
void check_field_types(const nlohmann::json& json, const fs::path& config_path) {
  if (!json.is_object()) bad_field(config_path, "(top level)", json, "an object");
  for (const FieldRule& rule : kFieldRules) {
    const nlohmann::json* value = &json;
    std::stringstream parts(rule.name);
    std::string part;
    while (value && std::getline(parts, part, '.')) {
      value = value->is_object() && value->contains(part) ? &(*value)[part] : nullptr;
    }
    if (value && !has_kind(*value, rule.kind)) bad_field(config_path, rule.name, *value, kind_name(rule.kind));
  }
  // value() returns a copy: keep it alive for the loops.
  const nlohmann::json methods = json.value("methods", nlohmann::json::object());
  const nlohmann::json special_tokens = json.value("special_tokens", nlohmann::json::object());
  const nlohmann::json layers = json.value("layers", nlohmann::json::object());
  for (const auto& method : methods.items()) {
    if (!method.value().is_string()) bad_field(config_path, "methods." + method.key(), method.value(), "a method name");
  }
  for (const auto& token : special_tokens.items()) {
    static const std::vector<std::string> roles = {"pad", "unk", "cls", "sep", "mask"};
    if (std::find(roles.begin(), roles.end(), token.key()) == roles.end()) {
      bad_field(config_path, "special_tokens." + token.key(), token.value(), "one of the roles pad, unk, cls, sep, mask");
    }
    if (!token.value().is_number_integer() && !token.value().is_string()) {
      bad_field(config_path, "special_tokens." + token.key(), token.value(), "a token id or the token itself");
    }
  }
  for (const auto& layer : layers.items()) {
    if (!layer.value().is_object() || (layer.value().contains("method") && !layer.value()["method"].is_string())) {
      bad_field(config_path, "layers." + layer.key(), layer.value(), "an object with a \"method\" name");
    }
  }
}

}  // namespace

std::string BundleConfig::file(const std::string& relative) const {
  const fs::path path = fs::path(directory) / relative;
  if (!fs::exists(path)) {
    throw Error("model bundle '" + directory + "' lacks the file '" + relative + "' named in igx.json");
  }
  return path.string();
}

std::string BundleConfig::method(const std::string& role, const std::string& fallback) const {
  if (json.contains("methods") && json["methods"].contains(role)) return json["methods"][role];
  return fallback;
}

std::string BundleConfig::label(int64_t index) const {
  if (index >= 0 && index < static_cast<int64_t>(labels.size())) return labels[index];
  return std::to_string(index);
}

BundleConfig parse_bundle_config(const std::string& text, const std::string& directory) {
  const fs::path config_path = fs::path(directory) / "igx.json";
  BundleConfig config;
  config.directory = directory;
  config.json = parse_json(text, config_path.string());
  check_field_types(config.json, config_path);
  if (!config.json.contains("task")) {
    throw Error(config_path.string() + ": field 'task' is missing; expected text, image or tabular (see docs/bundles.md)");
  }
  config.name = config.json.value("name", fs::path(directory).filename().string());
  config.task = config.json["task"].get<std::string>();
  config.labels = config.json.value("labels", std::vector<std::string>{});
  if (config.task != "text" && config.task != "image" && config.task != "tabular") {
    throw Error(config_path.string() + ": field 'task' is '" + clip_text(config.task) +
                "'; expected text, image or tabular");
  }
  // Reports and pictures name classes by their labels: an empty one would print as nothing.
  for (size_t k = 0; k < config.labels.size(); ++k) {
    if (config.labels[k].empty()) {
      throw Error(config_path.string() + ": labels[" + std::to_string(k) +
                  "] is empty; expected a name for every class (see docs/bundles.md)");
    }
  }
  return config;
}

BundleConfig load_bundle_config(const std::string& directory) {
  const fs::path config_path = fs::path(directory) / "igx.json";
  if (!fs::is_directory(directory)) throw Error("model bundle '" + directory + "' is not a folder");
  if (!fs::exists(config_path)) {
    throw Error("model bundle '" + directory + "' has no igx.json; expected model.pt + igx.json (see docs/bundles.md)");
  }
  BundleConfig config =
      parse_bundle_config(read_file_bytes(config_path.string(), kMaxJsonFileBytes, "a bundle description"), directory);
  if (!fs::exists(config.model_path())) {
    throw Error("model bundle '" + directory + "' lacks model.pt");
  }
  return config;
}

std::vector<std::string> model_search_path() {
  std::vector<std::string> folders;
  if (const char* configured = std::getenv("IGX_MODEL_PATH")) {
    std::stringstream entries(configured);
    std::string entry;
    while (std::getline(entries, entry, ':')) {
      if (!entry.empty()) append_unique(folders, entry);
    }
  }
  // Installed: next to the running executable (a relocated install or an unpacked package),
  // then where CMake was told to install.
  if (const auto bin = executable_folder()) append_unique(folders, *bin / "../share/igx/models");
  append_unique(folders, IGX_INSTALL_MODELS_DIR);
  // Built but not installed: the source tree this library was compiled from, while it exists.
  if (fs::is_directory(IGX_SOURCE_MODELS_DIR)) append_unique(folders, IGX_SOURCE_MODELS_DIR);
  return folders;
}

std::string find_bundle(const std::string& name_or_path) {
  if (fs::is_directory(name_or_path)) return name_or_path;
  const bool is_name = !name_or_path.empty() && name_or_path.find('/') == std::string::npos;
  if (!is_name) {
    throw Error("model '" + name_or_path + "' is not a folder; expected a bundle folder (model.pt + igx.json) " +
                "or the name of one, e.g. spam-transformer (see docs/bundles.md)");
  }
  std::string searched;
  for (const std::string& folder : model_search_path()) {
    const fs::path candidate = fs::path(folder) / name_or_path;
    if (fs::exists(candidate / "igx.json")) return fs::weakly_canonical(candidate).string();
    searched += (searched.empty() ? "" : ", ") + folder;
  }
  const char* configured = std::getenv("IGX_MODEL_PATH");
  throw Error("model '" + name_or_path + "' is neither a bundle folder nor a model found in " + searched +
              (configured && *configured ? "" : " ($IGX_MODEL_PATH is not set)") +
              "; expected e.g. spam-transformer, mnist-cnn, a folder with model.pt and igx.json, or "
              "$IGX_MODEL_PATH=DIR[:DIR...] naming folders that hold bundles (see docs/bundles.md)");
}

}  // namespace igx
