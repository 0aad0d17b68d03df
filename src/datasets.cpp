#include "igx/datasets.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "igx/error.h"
#include "igx/file_io.h"
#include "igx/json_text.h"
#include "igx/npy.h"

namespace igx {
namespace fs = std::filesystem;
namespace {

const char kFetchHint[] = "run scripts/fetch_data.sh to download and split the data sets";

void require_fetched(const fs::path& path) {
  if (!fs::exists(path)) throw Error("data file '" + path.string() + "' is missing; " + kFetchHint);
}

std::string id_text(const nlohmann::json& id) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer()) return std::to_string(id.get<int64_t>());
  return id.dump();
}

}  // namespace

TextDataset read_text_jsonl(const std::string& path) {
  const std::string text = read_file_bytes(path, kMaxInputFileBytes, "a JSON-lines file of texts");
  TextDataset dataset;
  int64_t number = 0;
  for (size_t begin = 0; begin < text.size(); ++number) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + " line " + std::to_string(number + 1);
    const nlohmann::json object = parse_json(line, where);
    if (!object.is_object() || !object.contains("text") || !object["text"].is_string()) {
      throw Error(where + ": expected an object with a string \"text\" (and optional \"id\", \"label\")");
    }
    const std::string id = object.contains("id") ? id_text(object["id"]) : std::to_string(number + 1);
    int64_t label = -1;
    if (object.contains("label")) {
      if (!object["label"].is_number_integer()) {
        throw Error(where + " (id " + clip_text(id) + "): \"label\" is " + clip_text(object["label"].dump()) +
                    "; expected an integer class index");
      }
      label = object["label"].get<int64_t>();
    }
    const std::string& sentence = object["text"].get_ref<const std::string&>();
    if (sentence.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw Error(where + " (id " + clip_text(id) + "): \"text\" is empty; expected a text to explain");
    }
    dataset.ids.push_back(id);
    dataset.texts.push_back(sentence);
    dataset.labels.push_back(label);
  }
  if (dataset.texts.empty()) throw Error("text file '" + path + "' holds no texts; expected one JSON object per line");
  return dataset;
}

ImageDataset read_image_npy(const std::string& images_path, const std::string& labels_path) {
  const NdArray array = read_npy(images_path);
  if (array.shape.size() != 3 && array.shape.size() != 4) {
    throw Error(images_path + ": images have shape " + array.shape_string() + "; expected [N, H, W] or [N, C, H, W]");
  }
  if (array.numel() == 0) throw Error(images_path + ": holds no images (shape " + array.shape_string() + ")");
  const bool bytes = array.dtype == "u1";
  const bool floating = !array.dtype.empty() && array.dtype[0] == 'f';
  if (!bytes && !floating) {
    throw Error(images_path + ": images of dtype " + array.dtype + "; expected uint8 (0..255) or floats in [0, 1]");
  }
  if (floating) {
    for (double value : array.values) {
      if (!(value >= 0.0 && value <= 1.0)) {
        throw Error(images_path + ": a pixel is " + std::to_string(value) +
                    "; floating images must lie in [0, 1] (store 0..255 as uint8)");
      }
    }
  }
  ImageDataset dataset;
  std::vector<int64_t> shape = array.shape;
  if (shape.size() == 3) shape.insert(shape.begin() + 1, 1);
  dataset.images = torch::tensor(array.values, torch::kDouble).reshape(shape);
  if (bytes) dataset.images = dataset.images / 255.0;
  dataset.images = dataset.images.to(torch::kFloat);

  const int64_t count = shape[0];
  if (labels_path.empty()) {
    dataset.labels.assign(count, -1);
    return dataset;
  }
  const NdArray labels = read_npy(labels_path);
  if (labels.shape.size() != 1 || labels.shape[0] != count) {
    throw Error(labels_path + ": labels have shape " + labels.shape_string() + "; expected (" + std::to_string(count) +
                ",), one per image of " + images_path);
  }
  for (double label : labels.values) {
    if (label != std::floor(label)) throw Error(labels_path + ": label " + std::to_string(label) + " is not an integer");
    dataset.labels.push_back(static_cast<int64_t>(label));
  }
  return dataset;
}

std::string find_data_directory() {
  if (const char* configured = std::getenv("IGX_DATA_DIR")) return configured;
  std::vector<fs::path> candidates;
  char executable[4096];
  const ssize_t length = ::readlink("/proc/self/exe", executable, sizeof executable - 1);
  if (length > 0) {
    const fs::path bin = fs::path(std::string(executable, length)).parent_path();
    candidates.push_back(bin / "../.cache/data");  // a build folder inside the source tree
    candidates.push_back(bin / "../../.cache/data");
  }
  candidates.emplace_back(".cache/data");
  for (const fs::path& candidate : candidates) {
    if (fs::is_directory(candidate)) return fs::weakly_canonical(candidate).string();
  }
  return ".cache/data";
}

TextDataset read_spam_split(const std::string& data_directory, const std::string& split) {
  if (split != "train" && split != "validation" && split != "test") {
    throw Error("spam split '" + split + "' is unknown; expected train, validation or test");
  }
  const fs::path path = fs::path(data_directory) / "spam" / (split + ".jsonl");
  require_fetched(path);
  return read_text_jsonl(path.string());
}

ImageDataset read_mnist_split(const std::string& data_directory, const std::string& split) {
  if (split != "train" && split != "test") throw Error("mnist split '" + split + "' is unknown; expected train or test");
  const fs::path images = fs::path(data_directory) / "mnist" / (split + ".npy");
  const fs::path labels = fs::path(data_directory) / "mnist" / (split + "_labels.npy");
  require_fetched(images);
  require_fetched(labels);
  return read_image_npy(images.string(), labels.string());
}

}  // namespace igx
