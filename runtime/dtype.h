#pragma once
// Element types. bool is stored as one byte holding 0 or 1 (NumPy's "|b1").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nabla {

enum class DType : uint8_t { f32, f64, i32, i64, bool_ };

inline constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64,
                                       DType::bool_};

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::bool_: return "bool";
  }
  return "?";
}

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: return 4;
    case DType::f64: case DType::i64: return 8;
    case DType::bool_: return 1;
  }
  return 0;
}

constexpr bool is_float(DType t) { return t == DType::f32 || t == DType::f64; }
constexpr bool is_int(DType t) { return t == DType::i32 || t == DType::i64; }
constexpr bool is_numeric(DType t) { return t != DType::bool_; }

std::optional<DType> dtype_from_name(std::string_view name);

// The C++ type that holds one element of a dtype.
template <DType T> struct CType;
template <> struct CType<DType::f32> { using type = float; };
template <> struct CType<DType::f64> { using type = double; };
template <> struct CType<DType::i32> { using type = int32_t; };
template <> struct CType<DType::i64> { using type = int64_t; };
template <> struct CType<DType::bool_> { using type = uint8_t; };
template <DType T> using ctype_t = typename CType<T>::type;

// Calls fn with a default-constructed value of the dtype's C++ type, e.g.
//   visit_dtype(t, [&](auto zero) { using T = decltype(zero); ... });
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::bool_: return fn(uint8_t{});
  }
  return fn(float{});
}

}  // namespace nabla
