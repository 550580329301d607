// .npy files: round trips of every dtype and format version, headers as NumPy
// writes them, and every kind of bad file with its exact message.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::error_of;

// A file: magic, version, little-endian header length, header, data.
std::string npy_bytes(std::string_view header, std::string_view data = {}, int major = 1,
                      int minor = 0) {
  std::string b = "\x93NUMPY";
  b += static_cast<char>(major);
  b += static_cast<char>(minor);
  size_t len_size = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_size; ++i) b += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  b += header;
  b += data;
  return b;
}

std::string header(std::string_view descr, std::string_view shape, bool fortran = false) {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " +
         (fortran ? "True" : "False") + ", 'shape': " + std::string(shape) + ", }\n";
}

std::string decode_error(const std::string& bytes) {
  return error_of([&] { decode_npy(bytes, "t.npy"); });
}

Tensor sample(DType t, Shape shape) {
  Tensor x(t, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, t == DType::bool_ ? i % 3 == 1 : 1.5 * i - 7);
  return x;
}

std::filesystem::path temp_dir() {
  std::filesystem::path d = std::filesystem::path(NABLA_BINARY_DIR) / "npy_test_tmp";
  std::filesystem::create_directories(d);
  return d;
}

TEST(Npy, RoundTripEveryDTypeAndVersion) {
  for (DType t : kAllDTypes)
    for (Shape s : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 0, 4}, Shape{1, 2, 1, 3}})
      for (int version : {1, 2, 3}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + shape_to_string(s) + " v" + std::to_string(version));
        Tensor x = sample(t, s);
        std::string bytes = encode_npy(x, version);
        EXPECT_EQ(bytes[6], version);
        size_t data_at = bytes.size() - x.nbytes();
        EXPECT_EQ(data_at % 64, 0u);
        EXPECT_EQ(bytes[data_at - 1], '\n');
        EXPECT_TRUE(decode_npy(bytes, "x.npy").same_as(x));
      }
}

TEST(Npy, RoundTripThroughFiles) {
  std::filesystem::path dir = temp_dir();
  Tensor f = Tensor::from_doubles(DType::f32, {2, 2}, std::vector<double>{
      1.5, -0.0, std::numeric_limits<double>::infinity(), std::nan("")});
  Tensor big(DType::i64, {2});
  big.data_as<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  big.data_as<int64_t>()[1] = std::numeric_limits<int64_t>::max();
  for (const Tensor& x : {f, big, sample(DType::bool_, {7}), sample(DType::f64, {}),
                          sample(DType::i32, {3, 1})}) {
    std::string path = (dir / "round.npy").string();
    write_npy(path, x);
    EXPECT_TRUE(read_npy(path).same_as(x)) << dtype_name(x.dtype()) << shape_to_string(x.shape());
  }
}

TEST(Npy, HeaderAsNumPyWritesIt) {
  // np.save of a float32 array of shape (3,): header padded to 128 bytes in all.
  Tensor x = Tensor::from_doubles(DType::f32, {3}, std::vector<double>{1, 2, 3});
  std::string b = encode_npy(x);
  ASSERT_EQ(b.size(), 128u + 12);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(b[8]), 118);
  EXPECT_EQ(b[9], 0);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  EXPECT_EQ(b.substr(10, dict.size()), dict);
  EXPECT_EQ(b.substr(10 + dict.size(), 127 - 10 - dict.size()), std::string(127 - 10 - dict.size(), ' '));
  EXPECT_EQ(b[127], '\n');
  EXPECT_EQ(encode_npy(Tensor(DType::bool_, {})).substr(10, 55),
            "{'descr': '|b1', 'fortran_order': False, 'shape': (), }");
  EXPECT_EQ(encode_npy(Tensor(DType::i64, {2, 3})).substr(10, 59),
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }");
  // A header beyond 64 KiB needs version 2.0.
  Shape many(23000, 1);  // "(1, 1, ...)" takes 69000 characters
  EXPECT_EQ(encode_npy(Tensor(DType::f32, many))[6], 2);
  EXPECT_EQ(decode_npy(encode_npy(Tensor(DType::f32, many)), "m.npy").shape(), many);
  std::string too_long = error_of([&] { encode_npy(Tensor(DType::f32, many), 1); });
  EXPECT_TRUE(too_long == "npy: the header of f32" + shape_to_string(many) + " does not fit format 1.0")
      << too_long.substr(0, 40);
}

TEST(Npy, ReadsOtherHeaderSpellings) {
  std::string data(8, '\0');
  data[0] = 1;
  data[4] = 2;
  // Double quotes, other key order, no trailing comma, Python 2 longs, 16-byte
  // alignment as old NumPy wrote it, version 2.0 and 3.0.
  for (std::string h : {std::string("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<i4\"}  \n"),
                        std::string("{ 'descr' : '<i4' , 'fortran_order' : False , 'shape' : ( 2 , ) , }"),
                        header("<i4", "(2,)")})
    for (int major : {1, 2, 3}) {
      Tensor t = decode_npy(npy_bytes(h, data, major), "h.npy");
      EXPECT_EQ(t.dtype(), DType::i32);
      EXPECT_EQ(t.shape(), Shape{2});
      EXPECT_EQ(t.data_as<int32_t>()[0], 1);
      EXPECT_EQ(t.data_as<int32_t>()[1], 2);
    }
  // Bool bytes other than 0 read as true.
  Tensor b = decode_npy(npy_bytes(header("|b1", "(3,)"), std::string("\x00\x02\xff", 3)), "b.npy");
  EXPECT_EQ(b.data_as<uint8_t>()[0], 0);
  EXPECT_EQ(b.data_as<uint8_t>()[1], 1);
  EXPECT_EQ(b.data_as<uint8_t>()[2], 1);
}

TEST(Npy, BadFiles) {
  std::string four(4, '\0');
  EXPECT_EQ(decode_error(""), "t.npy: not a .npy file (it does not start with \"\\x93NUMPY\")");
  EXPECT_EQ(decode_error("PK\x03\x04 a zip file"),
            "t.npy: not a .npy file (it does not start with \"\\x93NUMPY\")");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(1,)"), four, 4)),
            "t.npy: unsupported .npy format version 4.0 (nabla reads 1.0, 2.0 and 3.0)");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(1,)"), four, 1, 1)),
            "t.npy: unsupported .npy format version 1.1 (nabla reads 1.0, 2.0 and 3.0)");
  EXPECT_EQ(decode_error(std::string("\x93NUMPY\x02\x00\x10\x00", 10)),
            "t.npy: truncated: the file ends inside the header length");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(1,)")).substr(0, 30)),
            "t.npy: truncated: the header needs 58 bytes, the file has 20 after the header length");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(3, 4)"), std::string(20, '\0'))),
            "t.npy: truncated: f32[3,4] needs 48 bytes of data, the file has 20");
  EXPECT_EQ(decode_error(npy_bytes(header("<f8", "(2,)"), std::string(24, '\0'))),
            "t.npy: 8 unexpected bytes after the data of f64[2]");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(2, 2)", true), std::string(16, '\0'))),
            "t.npy: Fortran-order arrays are not supported (save a C-order array, e.g. "
            "np.ascontiguousarray(a))");
}

TEST(Npy, UnsupportedDTypes) {
  std::string data(16, '\0');
  EXPECT_EQ(decode_error(npy_bytes(header(">f4", "(4,)"), data)),
            "t.npy: big-endian dtype '>f4' is not supported (save it as '<f4')");
  EXPECT_EQ(decode_error(npy_bytes(header(">i8", "(2,)"), data)),
            "t.npy: big-endian dtype '>i8' is not supported (save it as '<i8')");
  for (std::string d : {"|u1", "<u4", "<f2", "<c8", "|i1", "<i2", "<U3", "|O", "<b1"})
    EXPECT_EQ(decode_error(npy_bytes(header(d, "(1,)"), data)),
              "t.npy: unsupported dtype '" + d + "' (nabla reads '<f4', '<f8', '<i4', '<i8', '|b1')");
  EXPECT_EQ(decode_error(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")),
            "t.npy: unsupported dtype: 'descr' is not a simple type string (structured arrays are "
            "not supported)");
}

TEST(Npy, MalformedHeaders) {
  auto bad = [](std::string h) { return decode_error(npy_bytes(h, std::string(4, '\0'))); };
  EXPECT_EQ(bad("'descr': '<f4'"), "t.npy: malformed header (expected '{' at the start): 'descr': '<f4'");
  EXPECT_EQ(bad("{'descr' '<f4', 'fortran_order': False, 'shape': (1,), }"),
            "t.npy: malformed header (expected ':' after 'descr'): {'descr' '<f4', "
            "'fortran_order': False, 'shape': (1,), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)"),
            "t.npy: malformed header (expected ',' or '}' after the value of 'shape'): {'descr': "
            "'<f4', 'fortran_order': False, 'shape': (1,)");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }"),
            "t.npy: malformed header ('fortran_order' must be True or False): {'descr': '<f4', "
            "'fortran_order': false, 'shape': (1,), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }"),
            "t.npy: malformed header (expected a tuple for 'shape'): {'descr': '<f4', "
            "'fortran_order': False, 'shape': [1], }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),
            "t.npy: malformed header (negative dimension in 'shape'): {'descr': '<f4', "
            "'fortran_order': False, 'shape': (-1,), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1 1), }"),
            "t.npy: malformed header (expected ',' or ')' in 'shape'): {'descr': '<f4', "
            "'fortran_order': False, 'shape': (1 1), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,,), }"),
            "t.npy: malformed header (expected a dimension in 'shape'): {'descr': '<f4', "
            "'fortran_order': False, 'shape': (1,,), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x"),
            "t.npy: malformed header (unexpected text after '}'): {'descr': '<f4', "
            "'fortran_order': False, 'shape': (1,), } x");
  EXPECT_EQ(bad("{'descr': '<f4', 'shape': (1,), }"),
            "t.npy: malformed header (missing key 'fortran_order'): {'descr': '<f4', 'shape': (1,), }");
  EXPECT_EQ(bad("{'fortran_order': False, 'shape': (1,), }"),
            "t.npy: malformed header (missing key 'descr'): {'fortran_order': False, 'shape': (1,), }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, }"),
            "t.npy: malformed header (missing key 'shape'): {'descr': '<f4', 'fortran_order': False, }");
  EXPECT_EQ(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}"),
            "t.npy: malformed header (unknown key 'extra'): {'descr': '<f4', 'fortran_order': "
            "False, 'shape': (1,), 'extra': 1}");
  EXPECT_EQ(bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}"),
            "t.npy: malformed header (key 'descr' is repeated): {'descr': '<f4', 'descr': '<f4', "
            "'fortran_order': False, 'shape': (1,)}");
  EXPECT_EQ(bad("{'descr: '<f4'}"), "t.npy: malformed header (expected ':' after 'descr: '): {'descr: '<f4'}");
  EXPECT_EQ(bad("{'descr"), "t.npy: malformed header (unterminated string): {'descr");
  EXPECT_EQ(bad(""), "t.npy: malformed header (expected '{' at the start): ");
}

TEST(Npy, HugeShapes) {
  // Overflowing int64, and merely larger than any file: neither allocates.
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(4294967296, 4294967296)"))),
            "t.npy: shape [4294967296,4294967296] is too large");
  EXPECT_EQ(decode_error(npy_bytes(header("<f4", "(99999999999999999999,)"))),
            "t.npy: dimension in 'shape' is too large");
  EXPECT_EQ(decode_error(npy_bytes(header("<f8", "(1000000, 1000000)"))),
            "t.npy: truncated: f64[1000000,1000000] needs 8000000000000 bytes of data, the file has 0");
  Tensor e = decode_npy(npy_bytes(header("<f8", "(0, 1000000000000)")), "t.npy");
  EXPECT_EQ(e.numel(), 0);
}

TEST(Npy, FileErrors) {
  std::string missing = (temp_dir() / "does-not-exist.npy").string();
  EXPECT_EQ(error_of([&] { read_npy(missing); }), missing + ": cannot open: No such file or directory");
  std::string dir_as_file = temp_dir().string();
  EXPECT_EQ(error_of([&] { write_npy(dir_as_file, Tensor(DType::f32, {})); }),
            dir_as_file + ": cannot open for writing: Is a directory");
}

TEST(Npy, CheckAgainstAnInputType) {
  Tensor t(DType::f64, {64, 784});
  std::vector<int64_t> want = {64, 784};
  EXPECT_EQ(error_of([&] { check_npy_type("x.npy", t, "input %x of @mlp", DType::f32, want); }),
            "x.npy: input %x of @mlp expects f32[64,784], got f64[64,784]");
  std::vector<int64_t> other = {784};
  EXPECT_EQ(error_of([&] { check_npy_type("x.npy", t, "input %x of @mlp", DType::f64, other); }),
            "x.npy: input %x of @mlp expects f64[784], got f64[64,784]");
  EXPECT_EQ(error_of([&] { check_npy_type("x.npy", t, "input %x of @mlp", DType::f64, want); }),
            "(no error)");
}

}  // namespace
}  // namespace nabla
