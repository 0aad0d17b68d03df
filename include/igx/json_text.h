#pragma once
// JSON text from outside (files, request bodies) parsed with errors that name the source:
// syntax errors with line and column, numbers beyond a double's range, nesting too deep to be
// data, and every message kept short (a long token is clipped, not echoed whole).

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace igx {

/// Deepest nesting parse_json accepts: far beyond any tensor (LibTorch allows 64 dimensions) or
/// configuration, far below what could exhaust the stack.
constexpr size_t kMaxJsonDepth = 256;

/// Largest JSON file read_json_file reads by default (a parsed document takes several times its
/// text in memory).
constexpr size_t kMaxJsonFileBytes = size_t{256} << 20;

/// Parses `text`; igx::Error "SOURCE: invalid JSON: ..." otherwise (NaN and Infinity, which
/// JSON does not have, are pointed out as such).
nlohmann::json parse_json(const std::string& text, const std::string& source_name, size_t max_depth = kMaxJsonDepth);

/// Reads (at most `max_bytes`) and parses a JSON file; errors name the path.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = kMaxJsonFileBytes);

/// `text` cut to at most `max_chars` bytes (at a UTF-8 boundary) with "..." appended when cut:
/// user text quoted in messages.
std::string clip_text(const std::string& text, size_t max_chars = 60);

}  // namespace igx
