#pragma once
/// NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and written without NumPy.
///
/// NdArray is the plain array that igx's file readers produce and its writers take: a shape and
/// row-major values. Values are stored as double because every dtype igx reads (up to 32-bit
/// integers, float16/32/64, bool, and 64-bit integers up to 2^53) is exact in a double, so
/// nothing is lost on the way in, and the original dtype is kept for the way back out.

#include <cstdint>
#include <string>
#include <vector>

namespace igx {

/// A dense n-dimensional array of numbers in C (row-major) order.
struct NdArray {
  std::vector<int64_t> shape;  ///< extent of each dimension; empty for a 0-d (scalar) array
  std::vector<double> values;  ///< numel() values, last index fastest
  std::string dtype = "f8";    ///< NumPy type code without byte order: "f4", "f8", "i8", "u1", "b1", ...

  /// Number of elements: the product of the shape (1 for a scalar).
  size_t numel() const;
  /// The shape as NumPy prints it: "(2, 3)", "(3,)", "()".
  std::string shape_string() const;
};

/// Reads a .npy file. Supported dtypes, little-endian or byte-order free: f2 f4 f8, i1 i2 i4 i8,
/// u1 u2 u4 u8, b1. Throws igx::Error naming the path for: an unreadable file, bad magic, an
/// unknown format version, a malformed header, Fortran order, big-endian data, structured or
/// object dtypes, 64-bit integers beyond ±2^53, and data shorter or longer than the shape says.
NdArray read_npy(const std::string& path);

/// Same as read_npy on bytes already in memory; `source_name` names them in error messages.
NdArray parse_npy(const std::string& bytes, const std::string& source_name);

/// Writes `array` as a version 1.0 .npy file (header padded to 64 bytes, as NumPy does) in the
/// dtype `array.dtype`, which must be "f4", "f8" or "i8". Values are rounded to float for "f4";
/// for "i8" they must be integers. Throws igx::Error naming the path if it cannot be written.
void write_npy(const std::string& path, const NdArray& array);

/// The bytes write_npy writes.
std::string serialize_npy(const NdArray& array);

}  // namespace igx
