#include "igx/npy.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx {
namespace {

const std::string kMagic = "\x93NUMPY";
constexpr size_t kAlignment = 64;  // NumPy aligns the data to 64 bytes; so do we.
// NumPy leaves this much room after the header dict so that a writer appending along axis 0
// can rewrite the shape in place. Matching it makes our files byte-identical to NumPy's.
constexpr size_t kGrowthAxisMaxDigits = 21;
// 64-bit integers beyond this are not exact in NdArray's doubles.
constexpr uint64_t kLargestExactInteger = uint64_t{1} << 53;

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw Error(source + ": " + problem);
}


uint64_t load_little_endian(const unsigned char* bytes, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

void store_little_endian(uint64_t value, int size, std::string& out) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

double half_to_double(uint16_t half) {
  const int exponent = (half >> 10) & 0x1F;
  const int mantissa = half & 0x3FF;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);  // subnormal
  } else if (exponent == 31) {
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    magnitude = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return (half & 0x8000) ? -magnitude : magnitude;
}

/// The signed integer whose little-endian two's complement of `size` bytes is `bits`.
int64_t signed_value(uint64_t bits, int size) {
  switch (size) {
    case 1:
      return static_cast<int8_t>(bits);
    case 2:
      return static_cast<int16_t>(bits);
    case 4:
      return static_cast<int32_t>(bits);
    default:
      return static_cast<int64_t>(bits);
  }
}

/// A supported element type: kind 'f', 'i', 'u' or 'b', and its size in bytes.
struct ElementType {
  char kind;
  int size;
};

ElementType parse_descr(const std::string& descr, const std::string& source) {
  static const char* const kSupported = "f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1";
  if (descr.size() < 2) fail(source, "malformed dtype '" + descr + "'");
  const char byte_order = descr[0];
  const std::string code = descr.substr(1);
  if (byte_order == '>') {
    fail(source, "big-endian data ('" + descr + "') is not supported; expected little-endian '<'");
  }
  if (byte_order != '<' && byte_order != '|') {
    fail(source, "dtype '" + descr + "' has byte order '" + byte_order + "'; expected '<' or '|'");
  }
  if (code[0] == 'O') fail(source, "object arrays ('" + descr + "') are not supported; expected numbers");
  const bool supported = (std::string(" ") + kSupported + " ").find(" " + code + " ") != std::string::npos;
  if (!supported) {
    fail(source, "dtype '" + descr + "' is not supported; expected one of " + kSupported);
  }
  return {code[0], code[1] - '0'};
}

double decode_element(const unsigned char* bytes, ElementType type, const std::string& source) {
  const uint64_t bits = load_little_endian(bytes, type.size);
  switch (type.kind) {
    case 'b':
      return bits != 0 ? 1.0 : 0.0;
    case 'u':
      if (bits > kLargestExactInteger) {
        fail(source, "u8 value " + std::to_string(bits) + " is beyond 2^53 and cannot be read exactly");
      }
      return static_cast<double>(bits);
    case 'i': {
      const int64_t value = signed_value(bits, type.size);
      const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
      if (magnitude > kLargestExactInteger) {
        fail(source, "i8 value " + std::to_string(value) + " is beyond ±2^53 and cannot be read exactly");
      }
      return static_cast<double>(value);
    }
    default: {  // 'f'
      if (type.size == 2) return half_to_double(static_cast<uint16_t>(bits));
      if (type.size == 4) {
        const uint32_t bits32 = static_cast<uint32_t>(bits);
        float value;
        std::memcpy(&value, &bits32, sizeof value);
        return value;
      }
      double value;
      std::memcpy(&value, &bits, sizeof value);
      return value;
    }
  }
}

/// The header dict, a Python literal such as
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  Header parse() {
    Header header;
    bool has_descr = false, has_fortran_order = false, has_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        skip_spaces();
        if (position_ < text_.size() && text_[position_] == '[') {
          fail(source_, "structured dtypes are not supported (header " + text_ +
                            "); expected a plain numeric dtype such as '<f4'");
        }
        header.descr = parse_string();
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        has_fortran_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        has_shape = true;
      } else {
        malformed("unexpected key '" + key + "'");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_spaces();
    if (position_ != text_.size()) malformed("unexpected text after the closing '}'");
    if (!has_descr || !has_fortran_order || !has_shape) {
      malformed("expected the keys 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  [[noreturn]] void malformed(const std::string& problem) const {
    fail(source_, "malformed .npy header " + text_ + ": " + problem);
  }

  void skip_spaces() {
    while (position_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[position_]))) {
      ++position_;
    }
  }

  bool consume(char expected) {
    skip_spaces();
    if (position_ < text_.size() && text_[position_] == expected) {
      ++position_;
      return true;
    }
    return false;
  }

  void expect(char expected) {
    if (!consume(expected)) malformed(std::string("expected '") + expected + "'");
  }

  std::string parse_string() {
    skip_spaces();
    const char quote = position_ < text_.size() ? text_[position_] : '\0';
    if (quote != '\'' && quote != '"') malformed("expected a quoted string");
    const size_t end = text_.find(quote, position_ + 1);
    if (end == std::string::npos) malformed("unterminated string");
    std::string value = text_.substr(position_ + 1, end - position_ - 1);
    position_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_spaces();
    for (const char* word : {"True", "False"}) {
      if (text_.compare(position_, std::strlen(word), word) == 0) {
        position_ += std::strlen(word);
        return word[0] == 'T';
      }
    }
    malformed("expected True or False");
  }

  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (!consume(')')) {
      skip_spaces();
      const size_t start = position_;
      int64_t extent = 0;
      while (position_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[position_]))) {
        extent = extent * 10 + (text_[position_++] - '0');
        if (extent > (int64_t{1} << 48)) malformed("shape extent too large");
      }
      if (position_ == start) malformed("expected a non-negative integer in the shape");
      consume('L');  // written by NumPy under Python 2
      shape.push_back(extent);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const std::string& text_;
  const std::string& source_;
  size_t position_ = 0;
};

std::string header_dict(const NdArray& array) {
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    shape += std::to_string(array.shape[i]) + (array.shape.size() == 1 ? "," : "");
    if (i + 1 < array.shape.size()) shape += ", ";
  }
  shape += ")";
  return "{'descr': '<" + array.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

}  // namespace

size_t NdArray::numel() const {
  size_t count = 1;
  for (int64_t extent : shape) count *= static_cast<size_t>(extent);
  return count;
}

std::string NdArray::shape_string() const {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

NdArray parse_npy(const std::string& bytes, const std::string& source_name) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) {
    fail(source_name, "not a .npy file: it does not start with \\x93NUMPY");
  }
  if (bytes.size() < 10) fail(source_name, "truncated .npy header");
  const int major_version = data[6];
  if (major_version < 1 || major_version > 3) {
    fail(source_name, "unsupported .npy format version " + std::to_string(major_version) + "." +
                          std::to_string(data[7]) + "; expected 1.0, 2.0 or 3.0");
  }
  const int length_size = major_version == 1 ? 2 : 4;
  const size_t header_start = 8 + length_size;
  if (bytes.size() < header_start) fail(source_name, "truncated .npy header");
  const size_t header_length = load_little_endian(data + 8, length_size);
  if (bytes.size() < header_start + header_length) {
    fail(source_name, "truncated .npy header: it announces " + std::to_string(header_length) +
                          " bytes but the file has " + std::to_string(bytes.size() - header_start));
  }
  const std::string header_text = bytes.substr(header_start, header_length);
  const Header header = HeaderParser(header_text, source_name).parse();
  if (header.fortran_order) {
    fail(source_name,
         "Fortran-order arrays are not supported; save a C-order array "
         "(numpy.ascontiguousarray)");
  }
  const ElementType type = parse_descr(header.descr, source_name);

  NdArray array;
  array.shape = header.shape;
  array.dtype = header.descr.substr(1);
  const size_t data_start = header_start + header_length;
  const size_t data_size = bytes.size() - data_start;
  // Counted in double so that an absurd shape cannot overflow: the product is exact up to 2^53,
  // far beyond any file size, and above that it cannot equal data_size anyway.
  double expected_size = type.size;
  for (int64_t extent : array.shape) expected_size *= static_cast<double>(extent);
  if (static_cast<double>(data_size) != expected_size) {
    char expected_text[32];
    std::snprintf(expected_text, sizeof expected_text, "%.0f", expected_size);
    fail(source_name, std::string(data_size < expected_size ? "truncated data" : "trailing data") +
                          ": shape " + array.shape_string() + " of '" + header.descr + "' needs " +
                          expected_text + " bytes, the file has " + std::to_string(data_size));
  }
  array.values.resize(array.numel());
  for (size_t i = 0; i < array.values.size(); ++i) {
    array.values[i] = decode_element(data + data_start + i * type.size, type, source_name);
  }
  return array;
}

NdArray read_npy(const std::string& path) { return parse_npy(read_file_bytes(path), path); }

std::string serialize_npy(const NdArray& array) {
  if (array.dtype != "f4" && array.dtype != "f8" && array.dtype != "i8") {
    throw Error("cannot write dtype '" + array.dtype + "' to .npy; expected f4, f8 or i8");
  }
  if (array.values.size() != array.numel()) {
    throw Error("array has " + std::to_string(array.values.size()) + " values but its shape " +
                array.shape_string() + " needs " + std::to_string(array.numel()));
  }
  std::string header = header_dict(array);
  const size_t first_extent_digits =
      array.shape.empty() ? kGrowthAxisMaxDigits : std::to_string(array.shape[0]).size();
  header.append(kGrowthAxisMaxDigits - first_extent_digits, ' ');
  const size_t prefix_size = kMagic.size() + 2 + 2;         // magic, version 1.0, header length
  const size_t unpadded = prefix_size + header.size() + 1;  // + the closing newline
  header.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  header.push_back('\n');
  if (header.size() > 0xFFFF) throw Error("shape " + array.shape_string() + " is too long for .npy 1.0");

  std::string bytes = kMagic;
  bytes += '\x01';
  bytes += '\x00';
  store_little_endian(header.size(), 2, bytes);
  bytes += header;
  const int element_size = array.dtype == "f4" ? 4 : 8;
  bytes.reserve(bytes.size() + array.values.size() * element_size);
  for (size_t i = 0; i < array.values.size(); ++i) {
    const double value = array.values[i];
    uint64_t bits;
    if (array.dtype == "f4") {
      const float narrowed = static_cast<float>(value);
      uint32_t bits32;
      std::memcpy(&bits32, &narrowed, sizeof bits32);
      bits = bits32;
    } else if (array.dtype == "f8") {
      std::memcpy(&bits, &value, sizeof bits);
    } else {
      const bool fits = std::trunc(value) == value && value >= -0x1p63 && value < 0x1p63;
      if (!fits) {
        throw Error("value " + std::to_string(value) + " at index " + std::to_string(i) +
                    " is not a 64-bit integer; cannot write it as i8");
      }
      bits = static_cast<uint64_t>(static_cast<int64_t>(value));
    }
    store_little_endian(bits, element_size, bytes);
  }
  return bytes;
}

void write_npy(const std::string& path, const NdArray& array) {
  std::string bytes;
  try {
    bytes = serialize_npy(array);
  } catch (const Error& error) {
    fail(path, error.what());
  }
  write_file_bytes(path, bytes);
}

}  // namespace igx
