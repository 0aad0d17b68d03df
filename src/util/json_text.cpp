#include "igx/json_text.h"

#include <cctype>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx {
namespace {

using nlohmann::json;

/// Thrown by the parser callback to stop at the first value nested too deep.
struct TooDeep {
  int depth;
};

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// nlohmann's message without its "[json.exception.parse_error.101] " prefix, with the token it
/// quotes ("last read: '...'") clipped.
std::string parser_message(const std::string& what) {
  std::string message = what;
  const size_t prefix_end = message.find("] ");
  if (message.rfind("[json.exception.", 0) == 0 && prefix_end != std::string::npos) message.erase(0, prefix_end + 2);
  const std::string marker = "last read: '";
  const size_t quoted = message.find(marker);
  if (quoted != std::string::npos) {
    const size_t begin = quoted + marker.size();
    const size_t end = message.find("'; ", begin);
    const std::string token = message.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    const std::string rest = end == std::string::npos ? "'" : message.substr(end);
    message = message.substr(0, begin) + clip_text(token, 40) + rest;
  }
  return clip_text(message, 300);
}

}  // namespace

std::string clip_text(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t end = max_chars;
  // Do not cut a UTF-8 sequence: back up over continuation bytes.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

json parse_json(const std::string& text, const std::string& source_name, size_t max_depth) {
  const json::parser_callback_t limit_depth = [max_depth](int depth, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      if (static_cast<size_t>(depth) >= max_depth) throw TooDeep{depth + 1};
    }
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const TooDeep& deep) {
    throw Error(source_name + ": invalid JSON: arrays and objects nested more than " + std::to_string(max_depth) +
                " levels deep; expected data nested at most " + std::to_string(max_depth) + " levels");
  } catch (const json::parse_error& error) {
    std::string problem = parser_message(error.what());
    const size_t window_start = error.byte > 10 ? error.byte - 10 : 0;
    const std::string near_error = lower_case(text.substr(std::min<size_t>(window_start, text.size()), 20));
    if (near_error.find("nan") != std::string::npos || near_error.find("inf") != std::string::npos) {
      problem += " (JSON has no NaN or Infinity, and igx accepts only finite numbers)";
    }
    throw Error(source_name + ": invalid JSON: " + problem);
  } catch (const json::exception& error) {  // out_of_range.406: a number beyond a double's range
    throw Error(source_name + ": invalid JSON: " + parser_message(error.what()) +
                (error.id == 406 ? " (numbers must lie within a double's range, about ±1.8e308)" : ""));
  }
}

json read_json_file(const std::string& path, size_t max_bytes) {
  return parse_json(read_file_bytes(path, max_bytes, "a JSON file"), path);
}

}  // namespace igx
