#include "igx/batch.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "igx/bundle.h"
#include "igx/datasets.h"
#include "igx/error.h"
#include "igx/file_io.h"
#include "igx/json_array.h"
#include "igx/model.h"
#include "igx/statistics.h"
#include "igx/tensor_checks.h"
#include "igx/tensor_io.h"

namespace igx {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: not cryptographic, but any change of the bytes shows.
class Fingerprint {
 public:
  void add(const char* bytes, size_t size) {
    for (size_t k = 0; k < size; ++k) {
      hash_ ^= static_cast<unsigned char>(bytes[k]);
      hash_ *= 1099511628211ULL;
    }
  }
  void add(const std::string& bytes) { add(bytes.data(), bytes.size()); }
  void add_file(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw Error(path.string() + ": cannot open for reading");
    char buffer[1 << 16];
    while (file.read(buffer, sizeof buffer) || file.gcount() > 0) add(buffer, static_cast<size_t>(file.gcount()));
  }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
    return text;
  }

 private:
  uint64_t hash_ = 14695981039346656037ULL;
};

bool is_picture(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pgm", ".ppm", ".pnm"}) {
    if (extension == known) return true;
  }
  return false;
}

std::string id_text(const nlohmann::json& id, const std::string& where) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer()) return std::to_string(id.get<int64_t>());
  throw Error(where + ": \"id\" must be a string or an integer, got " + id.dump());
}

void check_unique_ids(const BatchData& data) {
  std::map<std::string, size_t> seen;
  for (size_t k = 0; k < data.ids.size(); ++k) {
    const auto [found, inserted] = seen.emplace(data.ids[k], k);
    if (!inserted) {
      throw Error(data.path + ": id '" + data.ids[k] + "' is given to inputs " + std::to_string(found->second) +
                  " and " + std::to_string(k) + " (counted from 0); every input needs its own id");
    }
  }
}

void read_jsonl(BatchData& data) {
  const std::string bytes = read_file_bytes(data.path);
  const std::string key = data.modality == Modality::Text ? "text" : data.modality == Modality::Image ? "image" : "input";
  const fs::path folder = fs::path(data.path).parent_path();
  std::vector<torch::Tensor> rows;
  std::istringstream lines(bytes);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = data.path + " line " + std::to_string(number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& error) {
      throw Error(where + " is not JSON: " + error.what());
    }
    if (!object.is_object()) throw Error(where + ": expected a JSON object, got " + object.dump().substr(0, 60));
    for (const char* other : {"text", "image", "input"}) {
      if (other != key && object.contains(other)) {
        throw Error(where + " has \"" + other + "\", but the model explains " + modality_name(data.modality) +
                    "s: expected \"" + key + "\" on every line");
      }
    }
    if (!object.contains(key)) throw Error(where + ": expected \"" + key + "\" (the " + modality_name(data.modality) + ")");
    const nlohmann::json& value = object[key];
    if (key == "input") {
      rows.push_back(tensor_from_array(json_to_array(value, where + " \"input\"")));
      if (rows.back().sizes() != rows.front().sizes()) {
        throw Error(where + ": \"input\" has shape " + shape_string(rows.back()) + ", the first input's is " +
                    shape_string(rows.front()) + "; every input must have one shape");
      }
    } else if (!value.is_string()) {
      throw Error(where + ": \"" + key + "\" must be a string, got " + value.dump().substr(0, 60));
    } else if (key == "text") {
      data.texts.push_back(value.get<std::string>());
    } else {
      const fs::path image = value.get<std::string>();
      data.image_paths.push_back((image.is_absolute() || folder.empty() ? image : folder / image).string());
    }
    data.ids.push_back(object.contains("id") ? id_text(object["id"], where) : std::to_string(number));
    data.labels.push_back(object.contains("label") ? object["label"] : nlohmann::json());
  }
  if (!rows.empty()) data.rows = torch::stack(rows);
  Fingerprint fingerprint;
  fingerprint.add(bytes);
  data.fingerprint = fingerprint.hex();
}

void read_npy_stack(BatchData& data) {
  if (data.modality == Modality::Text) {
    throw Error(data.path + ": a .npy stack holds tensors or images; the model explains texts: give a .jsonl file "
                            "with a \"text\" per line");
  }
  if (data.modality == Modality::Image) {
    data.rows = read_image_npy(data.path).images;
  } else {
    data.rows = read_tensor(data.path);
    if (data.rows.dim() < 2) {
      throw Error(data.path + ": holds an array of shape " + shape_string(data.rows) +
                  "; expected a stack [N, ...] of inputs");
    }
  }
  for (int64_t row = 0; row < data.rows.size(0); ++row) data.ids.push_back(std::to_string(row));
  data.fingerprint = content_fingerprint(data.path);
}

void read_picture_folder(BatchData& data) {
  if (data.modality != Modality::Image) {
    throw Error("'" + data.path + "' is a folder of pictures; the model explains " + modality_name(data.modality) +
                "s: give a .jsonl file" + (data.modality == Modality::Tensor ? " or a .npy stack" : ""));
  }
  std::vector<fs::path> pictures;
  for (const fs::directory_entry& entry : fs::directory_iterator(data.path)) {
    if (entry.is_regular_file() && is_picture(entry.path())) pictures.push_back(entry.path());
  }
  std::sort(pictures.begin(), pictures.end());
  Fingerprint fingerprint;
  for (const fs::path& picture : pictures) {
    data.ids.push_back(picture.filename().string());
    data.image_paths.push_back(picture.string());
    fingerprint.add(picture.filename().string() + '\0');
    fingerprint.add_file(picture);
  }
  data.fingerprint = fingerprint.hex();
}

}  // namespace

std::string content_fingerprint(const std::string& path) {
  Fingerprint fingerprint;
  if (!fs::is_directory(path)) {
    if (!fs::exists(path)) throw Error("'" + path + "' does not exist");
    fingerprint.add_file(path);
    return fingerprint.hex();
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    fingerprint.add(fs::relative(file, path).string() + '\0');
    fingerprint.add_file(file);
  }
  return fingerprint.hex();
}

std::string model_fingerprint(const std::string& model) {
  if (fs::is_regular_file(model) || fs::path(model).extension() == ".pt") return content_fingerprint(model);
  const fs::path folder = find_bundle(model);
  Fingerprint fingerprint;
  for (const char* name : {"model.pt", "igx.json", "vocab.txt"}) {
    if (!fs::exists(folder / name)) continue;
    fingerprint.add(std::string(name) + '\0');
    fingerprint.add_file(folder / name);
  }
  return fingerprint.hex();
}

BatchData read_batch_data(const std::string& path, Modality modality) {
  BatchData data;
  data.modality = modality;
  data.path = path;
  if (fs::is_directory(path)) {
    data.format = "folder";
    read_picture_folder(data);
  } else if (!fs::exists(path)) {
    throw Error("data '" + path + "' does not exist; expected a .jsonl file, a .npy stack or a folder of pictures");
  } else if (fs::path(path).extension() == ".jsonl") {
    data.format = "jsonl";
    read_jsonl(data);
  } else if (fs::path(path).extension() == ".npy") {
    data.format = "npy";
    read_npy_stack(data);
  } else {
    throw Error("data '" + path + "' is neither .jsonl, nor .npy, nor a folder; expected one of them (docs/batch.md)");
  }
  if (data.ids.empty()) {
    throw Error("data '" + path + "' holds no inputs" +
                (data.format == "folder" ? " (no .png, .jpg, .bmp, ... pictures)" : ""));
  }
  check_unique_ids(data);
  return data;
}

ExplainRequest BatchData::request(size_t begin, size_t count) const {
  if (begin + count > size() || count == 0) {
    throw Error("inputs " + std::to_string(begin) + " to " + std::to_string(begin + count) +
                " (excluded) are not in a data set of " + std::to_string(size()));
  }
  ExplainRequest request;
  const auto first = static_cast<std::ptrdiff_t>(begin), last = static_cast<std::ptrdiff_t>(begin + count);
  request.ids.assign(ids.begin() + first, ids.begin() + last);
  if (!texts.empty()) request.texts.assign(texts.begin() + first, texts.begin() + last);
  if (!image_paths.empty()) request.image_paths.assign(image_paths.begin() + first, image_paths.begin() + last);
  if (rows.defined()) {
    const torch::Tensor part = rows.narrow(0, first, last - first);
    (modality == Modality::Image ? request.images : request.inputs) = part;
  }
  return request;
}

std::vector<nlohmann::json> explain_records(Explainer& explainer, const BatchData& data, const ExplainOptions& options,
                                            size_t begin, size_t count) {
  ExplainRequest request = data.request(begin, count);
  request.options = options;
  Explanation explanation;
  try {
    explanation = explainer.explain(request);
  } catch (const std::exception& error) {
    if (dynamic_cast<const Error*>(&error) == nullptr && dynamic_cast<const c10::Error*>(&error) == nullptr) throw;
    if (count == 1) {
      return {{{"id", data.ids[begin]}, {"item", begin}, {"error", torch_error_summary(error)}}};
    }
    // One input spoils the request: explain each alone, so that only that input fails.
    std::vector<nlohmann::json> records;
    for (size_t k = 0; k < count; ++k) records.push_back(explain_records(explainer, data, options, begin + k, 1)[0]);
    return records;
  }
  double steps = 0;
  for (const ExampleExplanation& example : explanation.examples) steps += static_cast<double>(example.report.steps);
  std::vector<nlohmann::json> records;
  for (size_t k = 0; k < count; ++k) {
    nlohmann::json record = to_json(select_examples(explanation, k, 1));
    const double share = steps > 0 ? static_cast<double>(explanation.examples[k].report.steps) / steps
                                   : 1.0 / static_cast<double>(count);
    record["id"] = data.ids[begin + k];
    record["item"] = begin + k;
    record["seconds"] = explanation.run.seconds * share;
    if (!data.labels.empty() && !data.labels[begin + k].is_null()) record["label"] = data.labels[begin + k];
    records.push_back(std::move(record));
  }
  return records;
}

void BatchSummary::add(const nlohmann::json& record) {
  ++records_;
  if (record.contains("error")) {
    ++failed_;
    if (failed_ids_.size() < 20) failed_ids_.push_back(record.value("id", ""));
    return;
  }
  if (record.contains("seconds")) seconds_.push_back(record["seconds"].get<double>());
  const nlohmann::json& example = record.at("examples").at(0);
  if (example.contains("steps")) steps_.push_back(example["steps"].get<double>());
  if (example.contains("certified")) {
    ++certifiable_;
    if (example["certified"].get<bool>()) ++certified_;
  }
  if (example.contains("relative_error")) {
    if (example["relative_error"].is_number()) {
      relative_errors_.push_back(example["relative_error"].get<double>());
    } else {
      ++undefined_errors_;
    }
  }
}

nlohmann::json BatchSummary::to_json() const {
  nlohmann::json summary = {{"records", records_},
                            {"explained", records_ - failed_},
                            {"failed", failed_},
                            {"failed_ids", failed_ids_},
                            {"certified", certified_},
                            {"certifiable", certifiable_},
                            {"certified_fraction", certifiable_ > 0 ? nlohmann::json(static_cast<double>(certified_) /
                                                                                    static_cast<double>(certifiable_))
                                                                    : nlohmann::json()},
                            {"steps", describe_sample(steps_)},
                            {"seconds", describe_sample(seconds_)},
                            {"relative_error", describe_sample(relative_errors_)},
                            {"relative_error_undefined", undefined_errors_}};
  return summary;
}

}  // namespace igx
