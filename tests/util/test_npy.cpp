#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "igx/error.h"
#include "igx/npy.h"
#include "../test_support.h"

namespace {

using igx_test::error_of;
using igx_test::contains;

template <size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);  // keeps the embedded NULs, drops the terminating one
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "igx_npy_" + name; }

/// A version 1.0 file with a hand-written header dict, for the malformed cases NumPy never writes.
std::string npy_with_header(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = bytes("\223NUMPY\001\000");
  file += static_cast<char>(header.size() & 0xFF);
  file += static_cast<char>(header.size() >> 8);
  return file + header + data;
}

// Files exactly as NumPy writes them (np.save / np.lib.format.write_array into a BytesIO).
// Float32Matrix: numpy 1.24.2, <f4 shape (2, 3)
const std::string kFloat32Matrix = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \012"
    "\000\000\000\000\000\000\200>\000\000\000\077\000\000@\077\000\000\200\077\000\000\240\077");
// Float64Version2: numpy 1.24.2, <f8 shape (3,)
const std::string kFloat64Version2 = bytes(
    "\223NUMPY\002\000t\000\000\000"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
    "                                                          \012"
    "\000\000\000\000\000\000\370\077\000\000\000\000\000\000\002\300\234u\000\210<\3447~");
// Int64Column: numpy 1.24.2, <i8 shape (2, 1)
const std::string kInt64Column = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }"
    "                                                          \012"
    "\375\377\377\377\377\377\377\377\000\000\000\000\000\001\000\000");
// Uint8Vector: numpy 1.24.2, |u1 shape (3,)
const std::string kUint8Vector = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \012"
    "\000\377\007");
// BoolVector: numpy 1.24.2, |b1 shape (2,)
const std::string kBoolVector = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \012"
    "\001\000");
// Float16Vector: numpy 1.24.2, <f2 shape (3,)
const std::string kFloat16Vector = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \012"
    "\0008\377\373\002\000");
// Float64Scalar: numpy 1.24.2, <f8 shape ()
const std::string kFloat64Scalar = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"
    "                                                              \012"
    "\000\000\000\000\000\000\014@");
// FortranOrder: numpy 1.24.2, <f4 shape (2, 2)
const std::string kFortranOrder = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"
    "                                                           \012"
    "\000\000\200\077\000\000\200\077\000\000\200\077\000\000\200\077");
// BigEndian: numpy 1.24.2, >i4 shape (2,)
const std::string kBigEndian = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \012"
    "\000\000\000\001\000\000\000\002");
// Structured: numpy 1.24.2, |V4 shape (1,)
const std::string kStructured = bytes(
    "\223NUMPY\001\000v\000"
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"
    "                                                   \012"
    "\000\000\000\000");

TEST(Npy, ReadsNumPyFloat32Matrix) {
  const igx::NdArray array = igx::parse_npy(kFloat32Matrix, "matrix.npy");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.dtype, "f4");
  EXPECT_EQ(array.values, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0, 1.25}));
  EXPECT_EQ(array.shape_string(), "(2, 3)");
}

TEST(Npy, ReadsNumPyVersion2AndVersion3) {
  const std::vector<double> expected = {1.5, -2.25, 1e300};
  EXPECT_EQ(igx::parse_npy(kFloat64Version2, "v2.npy").values, expected);
  std::string version3 = kFloat64Version2;
  version3[6] = '\003';  // 3.0 differs from 2.0 only in allowing UTF-8 in the header
  EXPECT_EQ(igx::parse_npy(version3, "v3.npy").values, expected);
}

TEST(Npy, ReadsNumPyIntegerBoolHalfAndScalar) {
  const igx::NdArray int64 = igx::parse_npy(kInt64Column, "i8.npy");
  EXPECT_EQ(int64.shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(int64.values, (std::vector<double>{-3, 1099511627776.0}));
  EXPECT_EQ(igx::parse_npy(kUint8Vector, "u1.npy").values, (std::vector<double>{0, 255, 7}));
  const igx::NdArray bools = igx::parse_npy(kBoolVector, "b1.npy");
  EXPECT_EQ(bools.dtype, "b1");
  EXPECT_EQ(bools.values, (std::vector<double>{1, 0}));
  EXPECT_EQ(igx::parse_npy(kFloat16Vector, "f2.npy").values,
            (std::vector<double>{0.5, -65504, 1.1920928955078125e-07}));
  const igx::NdArray scalar = igx::parse_npy(kFloat64Scalar, "scalar.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.numel(), 1u);
  EXPECT_EQ(scalar.shape_string(), "()");
  EXPECT_EQ(scalar.values, (std::vector<double>{3.5}));
}

TEST(Npy, WritesTheSameBytesAsNumPy) {
  igx::NdArray matrix{{2, 3}, {0.0, 0.25, 0.5, 0.75, 1.0, 1.25}, "f4"};
  EXPECT_EQ(igx::serialize_npy(matrix), kFloat32Matrix);
  igx::NdArray column{{2, 1}, {-3, 1099511627776.0}, "i8"};
  EXPECT_EQ(igx::serialize_npy(column), kInt64Column);
  igx::NdArray scalar{{}, {3.5}, "f8"};
  EXPECT_EQ(igx::serialize_npy(scalar), kFloat64Scalar);
}

TEST(Npy, HeaderIsAlignedTo64Bytes) {
  for (size_t rank = 0; rank < 6; ++rank) {
    igx::NdArray array{std::vector<int64_t>(rank, 1), {7.0}, "f8"};
    const std::string file = igx::serialize_npy(array);
    EXPECT_EQ((file.size() - 8) % 64, 0u) << "rank " << rank;  // data: one 8-byte value
    EXPECT_EQ(file[file.size() - 9], '\n');
  }
}

TEST(Npy, RoundTripsThroughAFile) {
  const std::string path = temp_path("round_trip.npy");
  const std::vector<double> values = {0.1, -2.5, 1e-30, 3e38, -0.0, 123456789.125};
  for (const char* dtype : {"f4", "f8"}) {
    igx::write_npy(path, igx::NdArray{{3, 2}, values, dtype});
    const igx::NdArray back = igx::read_npy(path);
    EXPECT_EQ(back.shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(back.dtype, dtype);
    for (size_t i = 0; i < values.size(); ++i) {
      const double expected = back.dtype == "f4" ? static_cast<float>(values[i]) : values[i];
      EXPECT_EQ(back.values[i], expected) << dtype << " index " << i;
    }
  }
  igx::write_npy(path, igx::NdArray{{4}, {-9007199254740992.0, -1, 0, 9007199254740992.0}, "i8"});
  EXPECT_EQ(igx::read_npy(path).values,
            (std::vector<double>{-9007199254740992.0, -1, 0, 9007199254740992.0}));
  std::remove(path.c_str());
}

TEST(Npy, RejectsWhatItCannotReadExactly) {
  std::string message = error_of([] { igx::parse_npy(kFortranOrder, "fortran.npy"); });
  EXPECT_TRUE(contains(message, "fortran.npy") && contains(message, "Fortran")) << message;
  message = error_of([] { igx::parse_npy(kBigEndian, "big.npy"); });
  EXPECT_TRUE(contains(message, "big.npy") && contains(message, "big-endian") && contains(message, ">i4"))
      << message;
  message = error_of([] { igx::parse_npy(kStructured, "struct.npy"); });
  EXPECT_TRUE(contains(message, "structured")) << message;
  message = error_of([] {
    igx::parse_npy(npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", ""),
                   "obj.npy");
  });
  EXPECT_TRUE(contains(message, "object")) << message;
  message = error_of([] {
    igx::parse_npy(npy_with_header("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", ""),
                   "c.npy");
  });
  EXPECT_TRUE(contains(message, "'<c16' is not supported")) << message;
  message = error_of([] {
    const std::string beyond_2_53 = bytes("\001\000\000\000\000\000\040\000");
    igx::parse_npy(npy_with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", beyond_2_53),
                   "big_int.npy");
  });
  EXPECT_TRUE(contains(message, "9007199254740993")) << message;
}

TEST(Npy, RejectsDamagedFiles) {
  std::string message = error_of([] { igx::parse_npy("PK\003\004 a zip file", "archive.npz"); });
  EXPECT_TRUE(contains(message, "archive.npz") && contains(message, "not a .npy file")) << message;

  message =
      error_of([] { igx::parse_npy(kFloat32Matrix.substr(0, kFloat32Matrix.size() - 3), "cut.npy"); });
  EXPECT_TRUE(contains(message, "cut.npy") && contains(message, "truncated data") &&
              contains(message, "needs 24 bytes, the file has 21"))
      << message;
  message = error_of([] { igx::parse_npy(kFloat32Matrix + "x", "long.npy"); });
  EXPECT_TRUE(contains(message, "trailing data")) << message;
  message = error_of([] { igx::parse_npy(kFloat32Matrix.substr(0, 40), "header_cut.npy"); });
  EXPECT_TRUE(contains(message, "truncated .npy header")) << message;

  std::string version9 = kFloat32Matrix;
  version9[6] = '\011';
  message = error_of([&] { igx::parse_npy(version9, "v9.npy"); });
  EXPECT_TRUE(contains(message, "version 9.0")) << message;

  message = error_of(
      [] { igx::parse_npy(npy_with_header("{'descr': '<f4', 'shape': (1,), }", "abcd"), "no_order.npy"); });
  EXPECT_TRUE(contains(message, "malformed") && contains(message, "fortran_order")) << message;
  message = error_of([] {
    igx::parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""),
                   "neg.npy");
  });
  EXPECT_TRUE(contains(message, "malformed") && contains(message, "(-1,)")) << message;
}

TEST(Npy, ReportsUnreadableAndUnwritablePaths) {
  std::string message = error_of([] { igx::read_npy("/nonexistent/attributions.npy"); });
  EXPECT_TRUE(contains(message, "/nonexistent/attributions.npy") && contains(message, "cannot open"))
      << message;
  message = error_of([] { igx::write_npy("/nonexistent/out.npy", igx::NdArray{{1}, {1.0}, "f8"}); });
  EXPECT_TRUE(contains(message, "/nonexistent/out.npy")) << message;
}

TEST(Npy, RejectsValuesItCannotWrite) {
  std::string message = error_of([] { igx::serialize_npy(igx::NdArray{{1}, {1.0}, "u1"}); });
  EXPECT_TRUE(contains(message, "'u1'") && contains(message, "f4, f8 or i8")) << message;
  message = error_of([] { igx::serialize_npy(igx::NdArray{{2, 2}, {1.0, 2.0, 3.0}, "f8"}); });
  EXPECT_TRUE(contains(message, "3 values") && contains(message, "(2, 2)")) << message;
  message = error_of([] { igx::serialize_npy(igx::NdArray{{2}, {1.0, 2.5}, "i8"}); });
  EXPECT_TRUE(contains(message, "index 1") && contains(message, "i8")) << message;
}

}  // namespace
