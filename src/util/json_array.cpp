#include "igx/json_array.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "igx/error.h"
#include "igx/json_text.h"

namespace igx {
namespace {

using nlohmann::json;

// Integers beyond this are not exact in NdArray's doubles.
constexpr uint64_t kLargestExactInteger = uint64_t{1} << 53;
const char* const kExpectedForms =
    "expected an array of numbers such as [[1, 2], [3, 4]] or {\"shape\": [2, 2], \"data\": [1, 2, 3, 4]}";

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw Error(source + ": " + problem);
}

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// "the string "NaN"", "an array of 3", "null": what a value is, for error messages.
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::string: {
      const std::string& text = value.get_ref<const std::string&>();
      return text.size() <= 24 ? "the string \"" + text + "\"" : "a string";
    }
    case json::value_t::array:
      return "an array of " + std::to_string(value.size());
    case json::value_t::object:
      return "an object";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

bool spells_non_finite(const json& value) {
  if (!value.is_string()) return false;
  const std::string text = lower_case(value.get<std::string>());
  for (const char* word : {"nan", "inf", "infinity", "-inf", "-infinity", "+inf", "+infinity"}) {
    if (text == word) return true;
  }
  return false;
}

/// Collects numbers while remembering whether all of them were written as integers.
class NumberCollector {
 public:
  explicit NumberCollector(const std::string& source) : source_(source) {}

  void add(const json& value, const std::string& path) {
    if (value.is_number_unsigned()) {
      add_integer(value.get<uint64_t>(), false, value, path);
    } else if (value.is_number_integer()) {
      const int64_t integer = value.get<int64_t>();
      const uint64_t magnitude =
          integer < 0 ? 0 - static_cast<uint64_t>(integer) : static_cast<uint64_t>(integer);
      add_integer(magnitude, integer < 0, value, path);
    } else if (value.is_number_float()) {
      const double number = value.get<double>();
      // The parser never produces these, but a json built in C++ can hold them.
      if (!std::isfinite(number))
        fail(source_, path + " is " + std::to_string(number) + ", expected a finite number");
      values_.push_back(number);
      all_integers_ = false;
    } else {
      std::string problem = path + " is " + describe(value) + ", expected a number";
      if (spells_non_finite(value))
        problem += " (JSON has no NaN or Infinity, and igx accepts only finite numbers)";
      fail(source_, problem);
    }
  }

  NdArray finish(std::vector<int64_t> shape) {
    return NdArray{std::move(shape), std::move(values_), all_integers_ ? "i8" : "f8"};
  }

 private:
  void add_integer(uint64_t magnitude, bool negative, const json& value, const std::string& path) {
    if (magnitude > kLargestExactInteger) {
      fail(source_, path + " is " + value.dump() + ", beyond ±2^53 where integers are not exact");
    }
    const double number = static_cast<double>(magnitude);
    values_.push_back(negative ? -number : number);
  }

  const std::string& source_;
  std::vector<double> values_;
  bool all_integers_ = true;
};

std::string first_elements_path(size_t depth) {
  std::string path;
  for (size_t i = 0; i < depth; ++i) path += "[0]";
  return path;
}

/// Walks a nested array whose shape was inferred from its first elements, checking that every
/// other element has the same shape.
void collect_nested(const json& node, const std::vector<int64_t>& shape, size_t depth,
                    const std::string& path, NumberCollector& numbers, const std::string& source) {
  if (depth == shape.size()) {
    if (node.is_array()) {
      fail(source, "ragged array: " + path + " is " + describe(node) + " but " + first_elements_path(depth) +
                       " is a number");
    }
    numbers.add(node, path);
    return;
  }
  const std::string reference = first_elements_path(depth);
  if (!node.is_array()) {
    if (node.is_number()) {
      fail(source, "ragged array: " + path + " is a number but " + reference + " is an array of " +
                       std::to_string(shape[depth]));
    }
    fail(source, path + " is " + describe(node) + ", expected an array of " + std::to_string(shape[depth]) +
                     " like " + reference);
  }
  if (static_cast<int64_t>(node.size()) != shape[depth]) {
    fail(source, "ragged array: " + path + " has " + std::to_string(node.size()) + " elements but " +
                     reference + " has " + std::to_string(shape[depth]));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    collect_nested(node[i], shape, depth + 1, path + "[" + std::to_string(i) + "]", numbers, source);
  }
}

NdArray nested_to_array(const json& value, const std::string& source) {
  std::vector<int64_t> shape;
  std::string path;
  for (const json* node = &value; node->is_array(); node = &(*node)[0]) {
    if (node->empty()) {
      fail(source,
           (path.empty() ? std::string("the array") : path) + " is empty; expected at least one number");
    }
    shape.push_back(static_cast<int64_t>(node->size()));
    path += "[0]";
  }
  NumberCollector numbers(source);
  collect_nested(value, shape, 0, "", numbers, source);
  return numbers.finish(std::move(shape));
}

NdArray object_to_array(const json& value, const std::string& source) {
  for (const auto& item : value.items()) {
    if (item.key() != "shape" && item.key() != "data") {
      fail(source, "unexpected key \"" + item.key() + "\"; " + kExpectedForms);
    }
  }
  if (!value.contains("shape") || !value.contains("data")) {
    fail(source, std::string("an object needs both \"shape\" and \"data\"; ") + kExpectedForms);
  }
  const json& shape_json = value["shape"];
  if (!shape_json.is_array() || shape_json.empty()) {
    fail(source, "shape is " + describe(shape_json) + ", expected a non-empty array of positive integers");
  }
  std::vector<int64_t> shape;
  double numel = 1;  // in double, so that an absurd shape cannot overflow; exact up to 2^53
  for (size_t i = 0; i < shape_json.size(); ++i) {
    const json& extent = shape_json[i];
    if (!extent.is_number_integer() || extent.get<int64_t>() < 1 ||
        extent.get<int64_t>() > (int64_t{1} << 40)) {
      fail(source, "shape[" + std::to_string(i) + "] is " +
                       (extent.is_number() ? extent.dump() : describe(extent)) +
                       ", expected a positive integer");
    }
    shape.push_back(extent.get<int64_t>());
    numel *= static_cast<double>(shape.back());
  }
  const json& data = value["data"];
  if (!data.is_array()) fail(source, "data is " + describe(data) + ", expected a flat array of numbers");
  NumberCollector numbers(source);
  for (size_t i = 0; i < data.size(); ++i) numbers.add(data[i], "data[" + std::to_string(i) + "]");
  NdArray array = numbers.finish(std::move(shape));
  if (static_cast<double>(array.values.size()) != numel) {
    char needed[32];
    std::snprintf(needed, sizeof needed, "%.0f", numel);
    fail(source, "data has " + std::to_string(array.values.size()) + " numbers but shape " +
                     shape_json.dump() + " needs " + needed);
  }
  return array;
}

}  // namespace

NdArray json_to_array(const json& value, const std::string& source_name) {
  if (value.is_array()) return nested_to_array(value, source_name);
  if (value.is_object()) return object_to_array(value, source_name);
  fail(source_name, std::string(kExpectedForms) + ", got " + describe(value));
}

NdArray parse_json_array(const std::string& text, const std::string& source_name) {
  return json_to_array(parse_json(text, source_name), source_name);
}

NdArray read_json_array(const std::string& path) {
  return json_to_array(read_json_file(path), path);
}

}  // namespace igx
