#include "igx/bundle.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "igx/error.h"

namespace igx {
namespace fs = std::filesystem;
namespace {

// Folders that may hold the shipped bundles, most specific first.
std::vector<fs::path> model_search_path() {
  std::vector<fs::path> folders;
  if (const char* configured = std::getenv("IGX_MODELS_DIR")) folders.emplace_back(configured);
  char executable[4096];
  const ssize_t length = ::readlink("/proc/self/exe", executable, sizeof executable - 1);
  if (length > 0) {
    const fs::path bin = fs::path(std::string(executable, length)).parent_path();
    folders.push_back(bin / "../share/igx/models");  // installed
    folders.push_back(bin / "../models");            // build folder inside the source tree
    folders.push_back(bin / "../../models");
  }
  folders.emplace_back("models");
  return folders;
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

BundleConfig load_bundle_config(const std::string& directory) {
  const fs::path config_path = fs::path(directory) / "igx.json";
  if (!fs::is_directory(directory)) throw Error("model bundle '" + directory + "' is not a folder");
  std::ifstream file(config_path);
  if (!file) {
    throw Error("model bundle '" + directory + "' has no igx.json; expected model.pt + igx.json (see DESIGN.md §4)");
  }
  BundleConfig config;
  config.directory = directory;
  try {
    config.json = nlohmann::json::parse(file);
    config.name = config.json.value("name", fs::path(directory).filename().string());
    config.task = config.json.at("task").get<std::string>();
    config.labels = config.json.value("labels", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& error) {
    throw Error(config_path.string() + " is not a valid bundle description: " + error.what());
  }
  if (config.task != "text" && config.task != "image" && config.task != "tabular") {
    throw Error(config_path.string() + ": task '" + config.task + "' is unknown; expected text, image or tabular");
  }
  if (!fs::exists(config.model_path())) {
    throw Error("model bundle '" + directory + "' lacks model.pt");
  }
  return config;
}

std::string find_bundle(const std::string& name_or_path) {
  if (fs::is_directory(name_or_path)) return name_or_path;
  std::string searched;
  if (name_or_path.find('/') == std::string::npos) {
    for (const fs::path& folder : model_search_path()) {
      const fs::path candidate = folder / name_or_path;
      if (fs::exists(candidate / "igx.json")) return fs::weakly_canonical(candidate).string();
      searched += (searched.empty() ? "" : ", ") + folder.lexically_normal().string();
    }
  }
  throw Error("model '" + name_or_path + "' is neither a bundle folder nor a shipped model" +
              (searched.empty() ? std::string() : " (searched " + searched + ")") +
              "; expected e.g. spam-transformer, mnist-cnn, or a folder with model.pt and igx.json");
}

}  // namespace igx
