#include "igx/record_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "igx/error.h"

namespace igx {
namespace {

namespace fs = std::filesystem;

// Every header line starts with these bytes (the schema is written first), so that a header torn
// by a killed process is recognised as igx's and not mistaken for a user's file.
std::string header_marker() { return std::string("{\"schema\":\"") + kRecordLogSchema + "\""; }

std::string header_line(const nlohmann::json& header) {
  nlohmann::ordered_json line;
  line["schema"] = kRecordLogSchema;
  for (const auto& [key, value] : header.items()) {
    if (key != "schema") line[key] = value;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string clip(const std::string& text, size_t most = 80) {
  return text.size() <= most ? text : text.substr(0, most - 3) + "...";
}

void write_all(int descriptor, const std::string& bytes, const std::string& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(descriptor, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) throw Error(path + ": cannot write: " + std::strerror(errno));
    written += static_cast<size_t>(count);
  }
}

// The record's id and item, checked; `where` names it in the message.
std::pair<std::string, int64_t> id_and_item(const nlohmann::json& record, const std::string& where) {
  if (!record.is_object() || !record.contains("id") || !record["id"].is_string() || !record.contains("item") ||
      !record["item"].is_number_integer() || record["item"].get<int64_t>() < 0) {
    throw Error(where + " is not a record: expected an object with a string \"id\" and an integer \"item\" >= 0");
  }
  return {record["id"].get<std::string>(), record["item"].get<int64_t>()};
}

[[noreturn]] void not_a_log(const std::string& path, const std::string& why) {
  throw UsageError("'" + path + "' exists and is not a record log of igx (" + why +
                   "); choose another output file, or pass --force to replace it");
}

}  // namespace

std::string header_difference(const nlohmann::json& recorded, const nlohmann::json& now) {
  std::function<std::string(const nlohmann::json&, const nlohmann::json&, const std::string&)> compare =
      [&](const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix) -> std::string {
    if (a == b) return "";
    if (!a.is_object() || !b.is_object()) {
      return prefix + " is " + clip(a.dump()) + " in the file and " + clip(b.dump()) + " now";
    }
    std::vector<std::string> keys;
    for (const auto& [key, value] : a.items()) keys.push_back(key);
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      if (prefix.empty() && key == "about") continue;
      const std::string name = prefix.empty() ? key : prefix + "." + key;
      if (!a.contains(key)) return name + " is unset in the file and " + clip(b[key].dump()) + " now";
      if (!b.contains(key)) return name + " is " + clip(a[key].dump()) + " in the file and unset now";
      const std::string difference = compare(a[key], b[key], name);
      if (!difference.empty()) return difference;
    }
    return "";
  };
  return compare(recorded, now, "");
}

std::unique_ptr<RecordLog> RecordLog::open(const std::string& path, const nlohmann::json& header, bool restart) {
  if (!header.is_object()) throw Error("a record log's header must be a JSON object");
  std::unique_ptr<RecordLog> log(new RecordLog());
  log->path_ = path;
  log->header_ = header;
  log->header_["schema"] = kRecordLogSchema;
  if (fs::is_directory(path)) throw UsageError("output '" + path + "' is a folder; expected a file name");
  log->descriptor_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log->descriptor_ < 0) throw Error(path + ": cannot open for writing: " + std::strerror(errno));
  if (::flock(log->descriptor_, LOCK_EX | LOCK_NB) != 0) {
    throw Error("'" + path + "' is being written by another process (an igx run that is still going?); "
                "wait for it to end or choose another output file");
  }
  const std::string sorting = path + ".sorting";
  if (fs::exists(sorting)) fs::remove(sorting);  // a sort_by_item() that was killed; the log is whole

  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  std::string first;
  const bool whole_first_line = static_cast<bool>(std::getline(file, first)) && !file.eof();
  bool resumed = false;
  try {
    resumed = log->resume(file, first, whole_first_line);
  } catch (const Error&) {
    if (!restart) throw;  // --force: anything but a log of this run is replaced
  }
  if (resumed) return log;
  log->header_ = header;
  log->header_["schema"] = kRecordLogSchema;
  log->lines_.clear();
  log->latest_.clear();
  log->repaired_bytes_ = 0;
  if (::ftruncate(log->descriptor_, 0) != 0) throw Error(path + ": cannot truncate: " + std::strerror(errno));
  const std::string line = header_line(log->header_);
  write_all(log->descriptor_, line, path);
  log->size_bytes_ = line.size();
  log->sync();
  return log;
}

bool RecordLog::resume(std::istream& file, const std::string& first, bool whole_first_line) {
  const std::string& path = path_;
  if (!whole_first_line) {
    // Empty, or a header cut short by a killed process: igx's if it starts like igx's headers.
    const std::string marker = header_marker();
    const size_t compared = std::min(first.size(), marker.size());
    if (first.compare(0, compared, marker, 0, compared) != 0) not_a_log(path, "its first line is not a header");
    return false;
  }
  nlohmann::json recorded;
  try {
    recorded = nlohmann::json::parse(first);
  } catch (const nlohmann::json::exception&) {
    not_a_log(path, "its first line is not JSON");
  }
  if (!recorded.is_object() || recorded.value("schema", "") != kRecordLogSchema) {
    not_a_log(path, std::string("its first line has no \"schema\": \"") + kRecordLogSchema + "\"");
  }
  const std::string difference = header_difference(recorded, header_);
  if (!difference.empty()) {
    throw UsageError("'" + path + "' holds the records of another run: " + difference +
                     "; rerun with the same data and options to resume it, or pass --force to start over "
                     "(its records are then lost)");
  }
  header_ = recorded;  // keeps the first run's "about"
  uint64_t offset = first.size() + 1;
  std::string line;
  for (int64_t number = 2; std::getline(file, line); ++number) {
    if (file.eof()) {  // no newline: the record a killed process was writing
      repaired_bytes_ = line.size();
      break;
    }
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(path + " line " + std::to_string(number) +
                  " is not JSON, and igx writes only whole lines: the file was changed by another program; "
                  "repair it, or pass --force to start over");
    }
    note(record, offset, line.size(), path + " line " + std::to_string(number));
    offset += line.size() + 1;
  }
  size_bytes_ = offset;
  if (repaired_bytes_ > 0 && ::ftruncate(descriptor_, static_cast<off_t>(offset)) != 0) {
    throw Error(path + ": cannot cut off the torn last line: " + std::strerror(errno));
  }
  return true;
}

RecordLog::~RecordLog() {
  if (descriptor_ >= 0) {
    ::fdatasync(descriptor_);
    ::close(descriptor_);
  }
}

void RecordLog::note(const nlohmann::json& record, uint64_t offset, uint64_t length, const std::string& where) {
  const auto [id, item] = id_and_item(record, where);
  latest_[id] = lines_.size();
  lines_.push_back({item, offset, length});
}

void RecordLog::append(const nlohmann::json& record) {
  id_and_item(record, "a record for '" + path_ + "'");
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  try {
    write_all(descriptor_, line, path_);
  } catch (const Error&) {
    if (::ftruncate(descriptor_, static_cast<off_t>(size_bytes_)) != 0) {
      // The torn line stays; the next open cuts it off.
    }
    throw;
  }
  note(record, size_bytes_, line.size() - 1, "a record for '" + path_ + "'");
  size_bytes_ += line.size();
  if (now_seconds() - last_sync_ >= 1.0) sync();
}

void RecordLog::sync() {
  ::fdatasync(descriptor_);
  last_sync_ = now_seconds();
}

std::string RecordLog::read_line(const Line& line) const {
  std::string bytes(line.length, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t count = ::pread(descriptor_, bytes.data() + done, bytes.size() - done,
                                  static_cast<off_t>(line.offset + done));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) throw Error(path_ + ": cannot read back a record: " + std::strerror(errno));
    done += static_cast<size_t>(count);
  }
  return bytes;
}

void RecordLog::for_each_record(const std::function<void(const nlohmann::json&)>& visit) const {
  std::vector<bool> latest(lines_.size(), false);
  for (const auto& [id, index] : latest_) latest[index] = true;
  for (size_t k = 0; k < lines_.size(); ++k) {
    if (latest[k]) visit(nlohmann::json::parse(read_line(lines_[k])));
  }
}

void RecordLog::sort_by_item() {
  std::vector<size_t> order;
  for (const auto& [id, index] : latest_) order.push_back(index);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return lines_[a].item != lines_[b].item ? lines_[a].item < lines_[b].item : a < b;
  });
  bool in_order = order.size() == lines_.size();
  for (size_t k = 0; in_order && k < order.size(); ++k) in_order = order[k] == k;
  if (in_order) return sync();

  const std::string sorting = path_ + ".sorting";
  const int descriptor = ::open(sorting.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (descriptor < 0) throw Error(sorting + ": cannot open for writing: " + std::strerror(errno));
  std::vector<Line> sorted;
  uint64_t offset = 0;
  try {
    ::flock(descriptor, LOCK_EX | LOCK_NB);
    std::string bytes = header_line(header_);
    offset = bytes.size();
    for (size_t index : order) {
      const std::string line = read_line(lines_[index]);
      sorted.push_back({lines_[index].item, offset, line.size()});
      offset += line.size() + 1;
      bytes += line + "\n";
      if (bytes.size() > (size_t{1} << 22)) {
        write_all(descriptor, bytes, sorting);
        bytes.clear();
      }
    }
    write_all(descriptor, bytes, sorting);
    if (::fsync(descriptor) != 0) throw Error(sorting + ": cannot sync: " + std::strerror(errno));
    if (::rename(sorting.c_str(), path_.c_str()) != 0) {
      throw Error("cannot rename '" + sorting + "' to '" + path_ + "': " + std::strerror(errno));
    }
  } catch (...) {
    ::close(descriptor);
    fs::remove(sorting);
    throw;
  }
  ::close(descriptor_);
  descriptor_ = descriptor;
  size_bytes_ = offset;
  lines_ = std::move(sorted);
  // order[k] is the old line of the k-th line now: map each id to its new line.
  std::unordered_map<size_t, size_t> new_index;
  for (size_t k = 0; k < order.size(); ++k) new_index[order[k]] = k;
  for (auto& [id, index] : latest_) index = new_index.at(index);
  const int folder = ::open(fs::absolute(path_).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);  // the rename itself reaches the disk
    ::close(folder);
  }
  last_sync_ = now_seconds();
}

RecordFile read_record_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  RecordFile result;
  std::string line;
  if (!std::getline(file, line) || file.eof()) not_a_log(path, "it has no whole header line");
  try {
    result.header = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    not_a_log(path, "its first line is not JSON");
  }
  if (!result.header.is_object() || result.header.value("schema", "") != kRecordLogSchema) {
    not_a_log(path, std::string("its first line has no \"schema\": \"") + kRecordLogSchema + "\"");
  }
  std::unordered_map<std::string, size_t> latest;
  for (int64_t number = 2; std::getline(file, line) && !file.eof(); ++number) {
    const std::string where = path + " line " + std::to_string(number);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(where + " is not JSON: the file was changed by another program");
    }
    const std::string id = id_and_item(record, where).first;
    const auto found = latest.find(id);
    if (found != latest.end()) {
      result.records[found->second] = std::move(record);
    } else {
      latest[id] = result.records.size();
      result.records.push_back(std::move(record));
    }
  }
  return result;
}

}  // namespace igx
