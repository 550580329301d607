// Elementwise kernels: unary ops, binary ops and comparisons with NumPy
// broadcasting, select, and cast.
#include <cmath>
#include <limits>

#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/error.h"

namespace nabla::interp {
namespace {

template <class T> T unary(Op op, T x) {
  if (op == Op::StopGradient || op == Op::Barrier) return x;  // identities, any dtype
  if constexpr (is_numeric_ctype<T>) {
    switch (op) {
      case Op::Neg: return wrap_neg(x);
      case Op::Abs:  // floats clear the sign bit (abs(-0) is +0); abs(INT_MIN) wraps to INT_MIN
        if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
        else return x < T(0) ? wrap_neg(x) : x;
      case Op::Sign:
        if (is_nan(x)) return x;
        return x > T(0) ? T(1) : x < T(0) ? T(-1) : T(0);
      default: break;
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case Op::Exp: return std::exp(x);
      case Op::Log: return std::log(x);
      case Op::Log1p: return std::log1p(x);
      case Op::Sqrt: return std::sqrt(x);
      case Op::Rsqrt: return T{1} / std::sqrt(x);
      case Op::Tanh: return std::tanh(x);
      // Written so that exp never overflows: for x < 0, e^x / (1 + e^x).
      case Op::Sigmoid: return x >= T{0} ? T{1} / (T{1} + std::exp(-x)) : std::exp(x) / (T{1} + std::exp(x));
      case Op::Relu: return is_nan(x) ? x : x > T{0} ? x : T{0};
      case Op::Sin: return std::sin(x);
      case Op::Cos: return std::cos(x);
      case Op::Floor: return std::floor(x);
      case Op::Erf: return std::erf(x);
      default: break;
    }
  }
  unsupported_dtype(op, dtype_of<T>());
}

template <class T> T arith(Op op, T a, T b) {
  if constexpr (!is_numeric_ctype<T>) unsupported_dtype(op, dtype_of<T>());
  switch (op) {
    case Op::Add: return wrap_add(a, b);
    case Op::Sub: return wrap_sub(a, b);
    case Op::Mul: return wrap_mul(a, b);
    case Op::Maximum: return nan_max(a, b);
    case Op::Minimum: return nan_min(a, b);
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (op == Op::Div) return a / b;
    if (op == Op::Pow) return std::pow(a, b);
  }
  unsupported_dtype(op, dtype_of<T>());
}

// Comparisons are IEEE ones: false whenever a NaN is involved, except not_equal.
template <class T> bool compare(Op op, T a, T b) {
  switch (op) {
    case Op::Less: return a < b;
    case Op::LessEqual: return a <= b;
    case Op::Greater: return a > b;
    case Op::GreaterEqual: return a >= b;
    case Op::Equal: return a == b;
    case Op::NotEqual: return a != b;
    default: unsupported_dtype(op, dtype_of<T>());
  }
}

}  // namespace

Tensor eval_unary(const Call& c) {
  const Tensor& x = c.args[0];
  Tensor out(c.type.dtype, c.type.shape);
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.data_as<T>();
    T* res = out.data_as<T>();
    for (int64_t i = 0; i < x.numel(); ++i) res[i] = unary(c.op, in[i]);
  });
  return out;
}

Tensor eval_binary(const Call& c) {
  const Tensor &a = c.args[0], &b = c.args[1];
  Tensor out(c.type.dtype, c.type.shape);
  std::vector<int64_t> sa = broadcast_strides(a.shape(), c.type.shape);
  std::vector<int64_t> sb = broadcast_strides(b.shape(), c.type.shape);
  bool is_compare = op_kind(c.op) == OpKind::Compare;
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pa = a.data_as<T>();
    const T* pb = b.data_as<T>();
    int64_t i = 0;
    for (StridedWalk w(c.type.shape, {sa, sb}); !w.done(); w.next(), ++i) {
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
    for (StridedWalk w(c.type.shape, strides); !w.done(); w.next(), ++i)
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
      for (int64_t i = 0; i < x.numel(); ++i)
        out.data_as<To>()[i] = cast_one<To>(x.data_as<From>()[i]);
    });
  });
  return out;
}

}  // namespace nabla::interp
