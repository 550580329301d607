#pragma once
// Internals of the reference interpreter (ir/interpreter*.cpp): the per-family
// kernels and the small helpers they share. Not a public interface.
#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

#include "nabla/ir/attrs.h"
#include "nabla/ir/op.h"
#include "nabla/ir/type.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/tensor.h"

namespace nabla {
class Function;
}  // namespace nabla

namespace nabla::interp {

// One op application: the op, its normalized attributes, the (already
// checked) result type and the operand values.
struct Call {
  Op op;
  const Attrs& attrs;
  const TensorType& type;
  std::span<const Tensor> args;
  const nabla_communicator* comm = nullptr;  // collectives; null: one process
};

// One kernel per op family; each file ir/interpreter_<family>.cpp holds one.
Tensor eval_unary(const Call& c);      // neg ... floor, stop_gradient, barrier
Tensor eval_binary(const Call& c);     // add ... minimum and the comparisons
Tensor eval_select(const Call& c);
Tensor eval_cast(const Call& c);
Tensor eval_reduce(const Call& c);     // sum, mean, max, min
Tensor eval_layout(const Call& c);     // reshape, transpose, broadcast_to, slice, concat
Tensor eval_matmul(const Call& c);
Tensor eval_neural(const Call& c);     // softmax, log_softmax, one_hot, cross_entropy
Tensor eval_axis(const Call& c);       // argmax, argmin, cumsum, gather, scatter_add
Tensor eval_conv(const Call& c);       // conv2d, its transposes, max and avg pooling

// interpret (ir/interpreter.h) without its copies of the results: they may
// share storage with the inputs and with each other. For the loops and fused
// nodes, which only read them or copy what they keep.
std::vector<Tensor> interpret_shared(const Function& f, std::span<const Tensor> inputs,
                                     const nabla_communicator* comm);

// Throws the run-time error `status` (runtime/abi.h) of op on a bad value,
// worded by nabla_error_message as compiled code's errors are.
[[noreturn]] void fail_status(Op op, int32_t status, int64_t value, int64_t index, int64_t bound);
Tensor eval_collective(const Call& c); // all_reduce, through c.comm

// Walks an index space in row-major order and keeps, for several tensors, the
// flat element offset of the current index. Tensor k is addressed through
// strides[k] (in elements; 0 on a broadcast axis) starting from base[k].
//   for (StridedWalk w(shape, {sa, sb}); !w.done(); w.next())
//     out[i++] = f(a[w.offset(0)], b[w.offset(1)]);
class StridedWalk {
 public:
  StridedWalk(Shape shape, std::vector<std::vector<int64_t>> strides,
              std::vector<int64_t> base = {});
  bool done() const { return remaining_ == 0; }
  int64_t offset(size_t k) const { return offsets_[k]; }
  // The current multi-index.
  const std::vector<int64_t>& index() const { return index_; }
  void next();

 private:
  Shape shape_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> offsets_;
  std::vector<int64_t> index_;
  int64_t remaining_;
};

// Integer add/sub/mul/neg wrap around (two's complement): they are computed in
// the unsigned type, where overflow is defined. Floats use plain arithmetic.
template <class T> T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
template <class T> T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}
template <class T> T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return a * b;
  }
}
// Integers wrap; floats flip the sign bit (IEEE negate: -(+0) is -0, not 0 - x).
template <class T> T wrap_neg(T a) {
  if constexpr (std::is_integral_v<T>) return wrap_sub(T{0}, a);
  else return -a;
}

template <class T> bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

// maximum/minimum: NaN propagates (the first NaN operand is returned); for
// equal values -0 < +0, as IEEE 754-2019 maximum/minimum (llvm.maximum).
template <class T> T nan_max(T a, T b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  if constexpr (std::is_floating_point_v<T>)
    if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
template <class T> T nan_min(T a, T b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  if constexpr (std::is_floating_point_v<T>)
    if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

// The dtype whose elements have C++ type T (uint8_t is bool).
template <class T> constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else return DType::bool_;
}
template <class T> inline constexpr bool is_numeric_ctype = !std::is_same_v<T, uint8_t>;

// Calls fn(T{}) for a float dtype (f32, f64) and throws otherwise; the same for
// numeric dtypes. Inference has already rejected the other dtypes, so the
// throw only guards the kernels against misuse.
template <class Fn> decltype(auto) visit_float(Op op, DType t, Fn&& fn);
template <class Fn> decltype(auto) visit_numeric(Op op, DType t, Fn&& fn);
[[noreturn]] void unsupported_dtype(Op op, DType t);

template <class Fn> decltype(auto) visit_float(Op op, DType t, Fn&& fn) {
  if (t == DType::f32) return fn(float{});
  if (t == DType::f64) return fn(double{});
  unsupported_dtype(op, t);
}
template <class Fn> decltype(auto) visit_numeric(Op op, DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::bool_: break;
  }
  unsupported_dtype(op, t);
}

}  // namespace nabla::interp
