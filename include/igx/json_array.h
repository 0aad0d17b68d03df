#pragma once
/// Numeric arrays written as JSON, read into an NdArray.
///
/// Two forms are accepted:
///   - nested arrays of numbers, the shape inferred from the nesting: [[1, 2], [3, 4]] → (2, 2);
///   - an object with a shape and the flat row-major data: {"shape": [2, 2], "data": [1, 2, 3, 4]}.
/// The result's dtype is "i8" when every number is written as an integer, else "f8".
/// Every error names the source and the place in it, e.g. "input.json: [1][2] is a string,
/// expected a number".

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "igx/npy.h"

namespace igx {

/// Reads a JSON file holding an array in either form. Throws igx::Error naming the path if it
/// cannot be read, is not valid JSON (with the parser's line and column), or is not such an array.
NdArray read_json_array(const std::string& path);

/// Parses JSON text holding an array in either form; `source_name` names it in error messages.
NdArray parse_json_array(const std::string& text, const std::string& source_name);

/// Converts an already parsed JSON value (e.g. one field of a request) holding an array in
/// either form; `source_name` names it in error messages.
NdArray json_to_array(const nlohmann::json& value, const std::string& source_name);

}  // namespace igx
