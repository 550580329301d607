// Elementwise kernels: unary ops, binary ops and comparisons with NumPy
// broadcasting, select, and cast.
#include <cmath>
#include <limits>

#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/error.h"

namespace nabla::interp {
namespace {

// f(args...) for the dtypes an op takes: numbers (not bool), or floats only;
// the verifier keeps other dtypes away, so they only reach here by a bug.
template <class F, class T, class... Ts> T on_numbers(Op op, F f, T x, Ts... rest) {
  if constexpr (is_numeric_ctype<T>) return f(x, rest...);
  else unsupported_dtype(op, dtype_of<T>());
}
template <class F, class T, class... Ts> T on_floats(Op op, F f, T x, Ts... rest) {
  if constexpr (std::is_floating_point_v<T>) return f(x, rest...);
  else unsupported_dtype(op, dtype_of<T>());
}

template <class T> T signum(T x) {
  if (is_nan(x)) return x;
  return x > T(0) ? T(1) : x < T(0) ? T(-1) : T(0);
}

// Floats clear the sign bit (abs(-0) is +0); abs(INT_MIN) wraps to INT_MIN.
template <class T> T absolute(T x) {
  if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
  else return x < T(0) ? wrap_neg(x) : x;
}

// Written so that exp never overflows: for x < 0, e^x / (1 + e^x).
template <class T> T sigmoid(T x) {
  return x >= T{0} ? T{1} / (T{1} + std::exp(-x)) : std::exp(x) / (T{1} + std::exp(x));
}

// One case per unary op of ops.def and no `default:` (ir/op.h).
template <class T> T unary(Op op, T x) {
  switch (op) {
    case Op::StopGradient:
    case Op::Barrier: return x;  // identities, any dtype
    case Op::Neg: return on_numbers(op, [](auto v) { return wrap_neg(v); }, x);
    case Op::Abs: return on_numbers(op, [](auto v) { return absolute(v); }, x);
    case Op::Sign: return on_numbers(op, [](auto v) { return signum(v); }, x);
    case Op::Exp: return on_floats(op, [](auto v) { return std::exp(v); }, x);
    case Op::Log: return on_floats(op, [](auto v) { return std::log(v); }, x);
    case Op::Log1p: return on_floats(op, [](auto v) { return std::log1p(v); }, x);
    case Op::Sqrt: return on_floats(op, [](auto v) { return std::sqrt(v); }, x);
    case Op::Rsqrt: return on_floats(op, [](auto v) { return decltype(v){1} / std::sqrt(v); }, x);
    case Op::Tanh: return on_floats(op, [](auto v) { return std::tanh(v); }, x);
    case Op::Sigmoid: return on_floats(op, [](auto v) { return sigmoid(v); }, x);
    case Op::Relu: return on_floats(op, [](auto v) { return is_nan(v) ? v : v > 0 ? v : decltype(v){0}; }, x);
    case Op::Sin: return on_floats(op, [](auto v) { return std::sin(v); }, x);
    case Op::Cos: return on_floats(op, [](auto v) { return std::cos(v); }, x);
    case Op::Floor: return on_floats(op, [](auto v) { return std::floor(v); }, x);
    case Op::Erf: return on_floats(op, [](auto v) { return std::erf(v); }, x);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Unary, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported_dtype(op, dtype_of<T>());
}

// One case per binary op of ops.def and no `default:` (ir/op.h).
template <class T> T arith(Op op, T a, T b) {
  switch (op) {
    case Op::Add: return on_numbers(op, [](auto x, auto y) { return wrap_add(x, y); }, a, b);
    case Op::Sub: return on_numbers(op, [](auto x, auto y) { return wrap_sub(x, y); }, a, b);
    case Op::Mul: return on_numbers(op, [](auto x, auto y) { return wrap_mul(x, y); }, a, b);
    case Op::Maximum: return on_numbers(op, [](auto x, auto y) { return nan_max(x, y); }, a, b);
    case Op::Minimum: return on_numbers(op, [](auto x, auto y) { return nan_min(x, y); }, a, b);
    case Op::Div: return on_floats(op, [](auto x, auto y) { return x / y; }, a, b);
    case Op::Pow: return on_floats(op, [](auto x, auto y) { return std::pow(x, y); }, a, b);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Binary, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported_dtype(op, dtype_of<T>());
}

// Comparisons are IEEE ones: false whenever a NaN is involved, except
// not_equal. One case per comparison of ops.def and no `default:` (ir/op.h).
template <class T> bool compare(Op op, T a, T b) {
  switch (op) {
    case Op::Less: return a < b;
    case Op::LessEqual: return a <= b;
    case Op::Greater: return a > b;
    case Op::GreaterEqual: return a >= b;
    case Op::Equal: return a == b;
    case Op::NotEqual: return a != b;
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Compare, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported_dtype(op, dtype_of<T>());
}

}  // namespace

Tensor eval_unary(const Call& c) {
  const Tensor& x = c.args[0];
  Tensor out(c.type.dtype, c.type.shape);
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.data_as<T>();
    T* res = out.data_as<T>();
    for (int64_t i = 0, total = x.numel(); i < total; ++i) res[i] = unary(c.op, in[i]);
  });
  return out;
}

Tensor eval_binary(const Call& c) {
  const Tensor &a = c.args[0], &b = c.args[1];
  Tensor out(c.type.dtype, c.type.shape);
  // Moved into the walk below, not copied (an allocation per copy).
  std::vector<std::vector<int64_t>> strides(2);
  strides[0] = broadcast_strides(a.shape(), c.type.shape);
  strides[1] = broadcast_strides(b.shape(), c.type.shape);
  bool is_compare = op_kind(c.op) == OpKind::Compare;
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pa = a.data_as<T>();
    const T* pb = b.data_as<T>();
    int64_t i = 0;
    for (StridedWalk w(c.type.shape, std::move(strides)); !w.done(); w.next(), ++i) {
      T x = pa[w.offset(0)], y = pb[w.offset(1)];
      if (is_compare) out.data_as<uint8_t>()[i] = compare(c.op, x, y) ? 1 : 0;
      else out.data_as<T>()[i] = arith(c.op, x, y);
    }
  });
  return out;
}

Tensor eval_select(const Call& c) {
  const Tensor &cond = c.args[0], &a = c.args[1], &b = c.args[2];
  Tensor out(c.type.dtype, c.type.shape);
  std::vector<std::vector<int64_t>> strides;
  for (const Tensor& t : c.args) strides.push_back(broadcast_strides(t.shape(), c.type.shape));
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const uint8_t* pc = cond.data_as<uint8_t>();
    T* res = out.data_as<T>();
    int64_t i = 0;
    for (StridedWalk w(c.type.shape, std::move(strides)); !w.done(); w.next(), ++i)
      res[i] = pc[w.offset(0)] ? a.data_as<T>()[w.offset(1)] : b.data_as<T>()[w.offset(2)];
  });
  return out;
}

namespace {

// One element of cast, From -> To:
//   float -> int: toward zero, saturating, NaN -> 0 (convert_from_double);
//   int -> int: two's-complement wrap (i64 -> i32 keeps the low 32 bits);
//   anything -> bool: v != 0 (NaN -> true); bool -> anything: 0 or 1;
//   int -> float, f64 <-> f32: the nearest value (IEEE rounding, overflow to inf).
template <class To, class From> To cast_one(From v) {
  if constexpr (std::is_same_v<To, uint8_t>) {
    return v != From{0} ? 1 : 0;
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return convert_from_double<To>(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace

Tensor eval_cast(const Call& c) {
  const Tensor& x = c.args[0];
  Tensor out(c.type.dtype, c.type.shape);
  visit_dtype(x.dtype(), [&](auto from_zero) {
    using From = decltype(from_zero);
    visit_dtype(out.dtype(), [&](auto to_zero) {
      using To = decltype(to_zero);
      for (int64_t i = 0, total = x.numel(); i < total; ++i)
        out.data_as<To>()[i] = cast_one<To>(x.data_as<From>()[i]);
    });
  });
  return out;
}

}  // namespace nabla::interp
