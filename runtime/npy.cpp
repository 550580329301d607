// .npy reading and writing. Layout of a file (NumPy's format.py, NEP 1):
//   "\x93NUMPY", major, minor, header length (u16 LE for 1.0; u32 LE for 2.0
//   and 3.0), then the header: a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//   padded with spaces and a final '\n' so that the data starts at a multiple
//   of 64 bytes, then the raw elements in C order.
#include "nabla/runtime/npy.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "nabla/runtime/error.h"

namespace nabla {
namespace {

static_assert(std::endian::native == std::endian::little,
              "nabla's .npy I/O assumes a little-endian host");

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr int64_t kMaxElements = int64_t{1} << 48;  // far beyond any file we could hold

struct DescrName {
  DType dtype;
  std::string_view descr;
};
constexpr DescrName kDescrs[] = {{DType::f32, "<f4"}, {DType::f64, "<f8"}, {DType::i32, "<i4"},
                                 {DType::i64, "<i8"}, {DType::bool_, "|b1"}};

[[noreturn]] void fail(std::string_view name, const std::string& what) {
  throw Error(std::string(name) + ": " + what);
}

std::string type_str(DType t, std::span<const int64_t> shape) {
  return std::string(dtype_name(t)) + shape_to_string(shape);
}

// The header dict, as far as nabla needs it.
struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

// A recursive-descent reader for the small Python-literal subset that headers
// use: a dict of string keys whose values are a string, True/False, or a tuple
// of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name) : text_(text), name_(name) {}

  Header parse() {
    Header h;
    expect('{', "'{' at the start");
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = string_literal("a quoted key");
      skip_space();
      expect(':', "':' after '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (h.descr) malformed("key 'descr' is repeated");
        if (peek() != '\'' && peek() != '"')
          fail(name_, "unsupported dtype: 'descr' is not a simple type string (structured arrays "
                      "are not supported)");
        h.descr = string_literal("a dtype string");
      } else if (key == "fortran_order") {
        if (h.fortran_order) malformed("key 'fortran_order' is repeated");
        h.fortran_order = boolean();
      } else if (key == "shape") {
        if (h.shape) malformed("key 'shape' is repeated");
        h.shape = tuple();
      } else {
        malformed("unknown key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() != '}') malformed("expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;  // '}'
    skip_space();
    if (pos_ != text_.size()) malformed("unexpected text after '}'");
    if (!h.descr) malformed("missing key 'descr'");
    if (!h.fortran_order) malformed("missing key 'fortran_order'");
    if (!h.shape) malformed("missing key 'shape'");
    return h;
  }

 private:
  [[noreturn]] void malformed(const std::string& why) {
    std::string shown(text_.substr(0, 120));
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    fail(name_, "malformed header (" + why + "): " + shown);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c, const std::string& what) {
    if (peek() != c) malformed("expected " + what);
    ++pos_;
  }
  std::string string_literal(const std::string& what) {
    char q = peek();
    if (q != '\'' && q != '"') malformed("expected " + what);
    size_t end = text_.find(q, pos_ + 1);
    if (end == std::string_view::npos) malformed("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    malformed("'fortran_order' must be True or False");
  }
  int64_t integer() {
    if (peek() == '-') malformed("negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') malformed("expected a dimension in 'shape'");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (v > (kMaxElements - 9) / 10) fail(name_, "dimension in 'shape' is too large");
      v = v * 10 + (text_[pos_++] - '0');
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal
    return v;
  }
  Shape tuple() {
    expect('(', "a tuple for 'shape'");
    Shape s;
    skip_space();
    while (peek() != ')') {
      s.push_back(integer());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        malformed("expected ',' or ')' in 'shape'");
      }
    }
    ++pos_;
    return s;
  }

  std::string_view text_;
  std::string_view name_;
  size_t pos_ = 0;
};

DType dtype_of_descr(const std::string& descr, std::string_view name) {
  for (const DescrName& d : kDescrs)
    if (descr == d.descr) return d.dtype;
  if (descr.size() == 3 && descr[0] == '>')
    fail(name, "big-endian dtype '" + descr + "' is not supported (save it as '<" +
                   descr.substr(1) + "')");
  fail(name, "unsupported dtype '" + descr + "' (nabla reads '<f4', '<f8', '<i4', '<i8', '|b1')");
}

uint32_t read_le(std::string_view bytes, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

}  // namespace

Tensor decode_npy(std::string_view bytes, std::string_view name) {
  if (bytes.size() < 8 || bytes.substr(0, 6) != kMagic)
    fail(name, "not a .npy file (it does not start with \"\\x93NUMPY\")");
  int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(name, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (nabla reads 1.0, 2.0 and 3.0)");
  size_t len_size = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_size) fail(name, "truncated: the file ends inside the header length");
  size_t header_len = read_le(bytes, 8, len_size);
  size_t data_at = 8 + len_size + header_len;
  if (bytes.size() < data_at)
    fail(name, "truncated: the header needs " + std::to_string(header_len) + " bytes, the file has " +
                   std::to_string(bytes.size() - 8 - len_size) + " after the header length");
  Header h = HeaderParser(bytes.substr(8 + len_size, header_len), name).parse();

  DType dtype = dtype_of_descr(*h.descr, name);
  if (*h.fortran_order)
    fail(name, "Fortran-order arrays are not supported (save a C-order array, e.g. "
               "np.ascontiguousarray(a))");
  int64_t numel = 1;
  for (int64_t d : *h.shape) {
    if (d != 0 && numel > kMaxElements / d) fail(name, "shape " + shape_to_string(*h.shape) + " is too large");
    numel *= d;
  }
  if (numel > kMaxElements) fail(name, "shape " + shape_to_string(*h.shape) + " is too large");
  size_t need = static_cast<size_t>(numel) * dtype_size(dtype);
  size_t have = bytes.size() - data_at;
  if (have < need)
    fail(name, "truncated: " + type_str(dtype, *h.shape) + " needs " + std::to_string(need) +
                   " bytes of data, the file has " + std::to_string(have));
  if (have > need)
    fail(name, std::to_string(have - need) + " unexpected bytes after the data of " +
                   type_str(dtype, *h.shape));

  Tensor t(dtype, *h.shape);
  if (need) std::memcpy(t.data(), bytes.data() + data_at, need);
  if (dtype == DType::bool_)
    for (int64_t i = 0; i < numel; ++i) t.data_as<uint8_t>()[i] = t.data_as<uint8_t>()[i] != 0;
  return t;
}

std::string encode_npy(const Tensor& t, int version) {
  std::string_view descr;
  for (const DescrName& d : kDescrs)
    if (d.dtype == t.dtype()) descr = d.descr;
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  if (t.shape().size() == 1) shape += ",";
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " +
                       shape + ", }";
  if (version == 0) version = header.size() + 11 + 63 < 65536 ? 1 : 2;
  if (version < 1 || version > 3) throw Error("npy: cannot write format version " + std::to_string(version));
  size_t prefix = version == 1 ? 10 : 12;
  // Pad with spaces and end with '\n' so that the data starts 64-byte aligned.
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  if (version == 1 && header.size() > 65535)
    throw Error("npy: the header of " + type_str(t.dtype(), t.shape()) + " does not fit format 1.0");

  std::string out(kMagic);
  out += static_cast<char>(version);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.data()), t.nbytes());
  return out;
}

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "cannot read");
  return decode_npy(bytes, path);
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string bytes = encode_npy(t);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail(path, "cannot write");
}

void check_npy_type(const std::string& path, const Tensor& t, std::string_view what, DType dtype,
                    std::span<const int64_t> shape) {
  bool same_shape = t.shape().size() == shape.size() &&
                    std::equal(shape.begin(), shape.end(), t.shape().begin());
  if (t.dtype() != dtype || !same_shape)
    fail(path, std::string(what) + " expects " + type_str(dtype, shape) + ", got " +
                   type_str(t.dtype(), t.shape()));
}

}  // namespace nabla
