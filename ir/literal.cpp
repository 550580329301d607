#include "nabla/ir/literal.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace nabla {
namespace {

bool is_element(const Token& t) {
  if (t.kind == Tok::Integer || t.kind == Tok::Float) return true;
  return t.kind == Tok::Ident &&
         (t.text == "true" || t.text == "false" || t.text == "inf" || t.text == "nan");
}

bool is_bool_token(const Token& t) { return t.kind == Tok::Ident && (t.text == "true" || t.text == "false"); }
bool is_float_token(const Token& t) { return t.kind == Tok::Float || (t.kind == Tok::Ident && !is_bool_token(t)); }

// Parses `[ (element | list) (',' ...)* ]` and returns the shape of the list.
Shape parse_list(TokenStream& ts, Literal& lit, int depth) {
  Token open = ts.expect(Tok::LBracket, "'['");
  if (depth >= kMaxLiteralDepth)
    ts.error(open.loc, fmt::format("constant literal is nested deeper than {} levels", kMaxLiteralDepth));
  if (ts.accept(Tok::RBracket)) return {0};
  std::optional<Shape> inner;
  int64_t count = 0;
  do {
    SourceLoc at = ts.peek().loc;
    Shape sub;
    if (ts.at(Tok::LBracket)) {
      sub = parse_list(ts, lit, depth + 1);
    } else if (is_element(ts.peek())) {
      lit.elements.push_back(ts.take());
    } else {
      ts.error_expected("a literal element or '['");
    }
    if (!inner) {
      inner = sub;
    } else if (*inner != sub) {
      ts.error(at, fmt::format("constant literal is ragged: this element has shape {}, the first "
                               "one has shape {}", shape_to_string(sub), shape_to_string(*inner)));
    }
    ++count;
  } while (ts.accept(Tok::Comma));
  ts.expect(Tok::RBracket, "',' or ']' in the constant literal");
  Shape shape{count};
  shape.insert(shape.end(), inner->begin(), inner->end());
  return shape;
}

DType infer_dtype(const Literal& lit, const TokenStream& ts) {
  bool any_bool = false, any_number = false, any_float = false;
  for (const Token& t : lit.elements) {
    bool b = is_bool_token(t);
    any_bool |= b;
    any_number |= !b;
    any_float |= is_float_token(t);
    if (any_bool && any_number) ts.error(t.loc, "constant literal mixes booleans and numbers");
  }
  if (any_bool) return DType::bool_;
  return any_float ? DType::f32 : DType::i32;
}

template <class T>
T float_element(const Token& t, DType dtype, const TokenStream& ts) {
  std::string_view s = t.text;
  bool neg = !s.empty() && s[0] == '-';
  std::string_view body = neg ? s.substr(1) : s;
  if (body == "inf") return neg ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  if (body == "nan") return std::numeric_limits<T>::quiet_NaN();
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow too; a tiny literal rounds to a subnormal or
    // zero like in C, only overflow is an error.
    std::string text(s);
    v = std::is_same_v<T, float> ? std::strtof(text.c_str(), nullptr) : std::strtod(text.c_str(), nullptr);
    if (std::isinf(v))
      ts.error(t.loc, fmt::format("float literal {} is out of range for {}", s, dtype_name(dtype)));
    return v;
  }
  if (ec != std::errc() || end != s.data() + s.size())
    ts.error(t.loc, fmt::format("invalid float literal {}", s));
  return v;
}

template <class T>
T int_element(const Token& t, DType dtype, const TokenStream& ts) {
  if (t.kind != Tok::Integer)
    ts.error(t.loc, fmt::format("expected an integer element for {}, got {}", dtype_name(dtype),
                                describe(t)));
  std::string_view s = t.text;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range)
    ts.error(t.loc, fmt::format("integer literal {} is out of range for {}", s, dtype_name(dtype)));
  if (ec != std::errc() || end != s.data() + s.size())
    ts.error(t.loc, fmt::format("invalid integer literal {}", s));
  return v;
}

void set_element(Tensor& out, int64_t i, const Token& t, const TokenStream& ts) {
  DType dtype = out.dtype();
  if (dtype == DType::bool_) {
    if (!is_bool_token(t))
      ts.error(t.loc, fmt::format("expected true or false for bool, got {}", describe(t)));
    out.data_as<uint8_t>()[i] = t.text == "true" ? 1 : 0;
    return;
  }
  if (is_bool_token(t))
    ts.error(t.loc, fmt::format("expected a number for {}, got {}", dtype_name(dtype), describe(t)));
  switch (dtype) {
    case DType::f32: out.data_as<float>()[i] = float_element<float>(t, dtype, ts); break;
    case DType::f64: out.data_as<double>()[i] = float_element<double>(t, dtype, ts); break;
    case DType::i32: out.data_as<int32_t>()[i] = int_element<int32_t>(t, dtype, ts); break;
    case DType::i64: out.data_as<int64_t>()[i] = int_element<int64_t>(t, dtype, ts); break;
    case DType::bool_: break;
  }
}

// An empty list stands for any shape without elements.
bool shapes_match(const Literal& lit, const Shape& type_shape) {
  if (lit.shape == type_shape) return true;
  return lit.elements.empty() && num_elements(type_shape) == 0 && lit.shape == Shape{0};
}

}  // namespace

Literal parse_literal(TokenStream& ts) {
  Literal lit;
  lit.loc = ts.peek().loc;
  if (ts.at(Tok::LBracket)) {
    lit.is_list = true;
    lit.shape = parse_list(ts, lit, 0);
  } else if (is_element(ts.peek())) {
    lit.elements.push_back(ts.take());
  } else {
    ts.error_expected("a constant literal");
  }
  return lit;
}

Tensor literal_to_tensor(const Literal& lit, const std::optional<TensorType>& annotation,
                         const TokenStream& ts) {
  TensorType type;
  if (annotation) {
    type = *annotation;
    if (lit.is_list && !shapes_match(lit, type.shape))
      ts.error(lit.loc, fmt::format("constant literal of shape {} does not match the type {}",
                                    shape_to_string(lit.shape), type.str()));
  } else {
    type = {infer_dtype(lit, ts), lit.shape};
  }
  if (type.numel() > kMaxConstantElements)
    ts.error(lit.loc, fmt::format("constant of type {} has more than {} elements", type.str(),
                                  kMaxConstantElements));
  Tensor out(type.dtype, type.shape);
  if (lit.elements.empty()) return out;
  if (!lit.is_list) {
    // Converted once (and checked even when the shape has no elements), then splat.
    Tensor scalar(type.dtype, {});
    set_element(scalar, 0, lit.elements[0], ts);
    size_t es = dtype_size(type.dtype);
    auto* bytes = static_cast<std::byte*>(out.data());
    for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(bytes + i * es, scalar.data(), es);
    return out;
  }
  for (size_t i = 0; i < lit.elements.size(); ++i)
    set_element(out, static_cast<int64_t>(i), lit.elements[i], ts);
  return out;
}

}  // namespace nabla
