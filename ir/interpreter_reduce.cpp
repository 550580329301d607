// Reductions over a list of axes: sum, mean, max, min (with or without keepdims).
// They accumulate in the element dtype, visiting the operand in row-major order.
#include <algorithm>
#include <limits>

#include "nabla/ir/interpreter_kernels.h"

namespace nabla::interp {

Tensor eval_reduce(const Call& c) {
  const Tensor& x = c.args[0];
  const std::vector<int64_t>& axes = c.attrs.axes;  // sorted, non-negative
  // Walking the operand, each element lands in the result element that has
  // the same index on the kept axes: stride 0 on the reduced axes.
  Shape kept_shape = x.shape();
  for (int64_t a : axes) kept_shape[a] = 1;
  std::vector<int64_t> out_strides = row_major_strides(kept_shape);
  for (int64_t a : axes) out_strides[a] = 0;
  int64_t count = 1;  // elements reduced into each result element
  for (int64_t a : axes) count *= x.shape()[a];

  Tensor out(c.type.dtype, c.type.shape);
  visit_numeric(c.op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* res = out.data_as<T>();
    const T* in = x.data_as<T>();
    // max starts from the lowest value (-inf), min from the highest (+inf).
    T init = c.op == Op::Max ? std::numeric_limits<T>::lowest()
             : c.op == Op::Min ? std::numeric_limits<T>::max() : T(0);
    if constexpr (std::is_floating_point_v<T>) {
      if (c.op == Op::Max) init = -std::numeric_limits<T>::infinity();
      if (c.op == Op::Min) init = std::numeric_limits<T>::infinity();
    }
    std::fill(res, res + out.numel(), init);
    for (StridedWalk w(x.shape(), {row_major_strides(x.shape()), out_strides}); !w.done();
         w.next()) {
      T& acc = res[w.offset(1)];
      T v = in[w.offset(0)];
      acc = c.op == Op::Max ? nan_max(acc, v) : c.op == Op::Min ? nan_min(acc, v) : wrap_add(acc, v);
    }
    if (c.op == Op::Mean) {
      // mean = sum / count, in the element dtype; over zero elements 0/0 = NaN.
      for (int64_t i = 0, total = out.numel(); i < total; ++i) res[i] = res[i] / static_cast<T>(count);
    }
  });
  return out;
}

}  // namespace nabla::interp
