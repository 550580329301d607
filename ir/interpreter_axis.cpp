// Kernels of the ops along one axis: argmax, argmin, cumsum, gather and
// scatter_add. Each views its walked operand as [outer, n, inner] around the
// axis (n its size) and loops over outer, then along the axis, then inner.
#include <cstring>

#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/abi.h"

namespace nabla::interp {
namespace {

struct AxisView {
  int64_t outer, n, inner;
};

AxisView view(const Shape& s, int64_t axis) {
  return {num_elements(std::span(s).first(static_cast<size_t>(axis))), s[axis],
          num_elements(std::span(s).subspan(static_cast<size_t>(axis) + 1))};
}

// Index p of an i32 or i64 tensor, as int64.
int64_t index_at(const Tensor& idx, int64_t p) {
  return idx.dtype() == DType::i32 ? idx.data_as<int32_t>()[p] : idx.data_as<int64_t>()[p];
}

// Every index, checked against [-n, n) before anything is computed, made
// non-negative (a negative index counts from the end).
std::vector<int64_t> checked_indices(Op op, const Tensor& idx, int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(idx.numel()));
  for (int64_t p = 0, total = idx.numel(); p < total; ++p) {
    int64_t v = index_at(idx, p);
    if (v < -n || v >= n) fail_status(op, NABLA_INDEX_OUT_OF_RANGE, v, p, n);
    out[static_cast<size_t>(p)] = v < 0 ? v + n : v;
  }
  return out;
}

// argmax/argmin: the first index of the largest/smallest element along the
// axis; a NaN counts as both (the first NaN wins, as max and min propagate it).
Tensor arg_reduce(const Call& c) {
  const Tensor& x = c.args[0];
  AxisView v = view(x.shape(), c.attrs.axis);
  Tensor out(DType::i64, c.type.shape);
  int64_t* res = out.data_as<int64_t>();
  visit_numeric(c.op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.data_as<T>();
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* row = in + o * v.n * v.inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < v.n && !is_nan(row[best * v.inner]); ++k) {
          T a = row[k * v.inner], b = row[best * v.inner];
          if (is_nan(a) || (c.op == Op::ArgMax ? a > b : a < b)) best = k;
        }
        res[o * v.inner + i] = best;
      }
  });
  return out;
}

// cumsum: running sums along the axis, from its start (or its end with
// `reverse`), each including its own element (or not, with `exclusive`).
Tensor cumsum(const Call& c) {
  const Tensor& x = c.args[0];
  AxisView v = view(x.shape(), c.attrs.axis);
  Tensor out(c.type.dtype, c.type.shape);
  visit_numeric(c.op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        T acc(0);
        for (int64_t j = 0; j < v.n; ++j) {
          int64_t k = c.attrs.reverse ? v.n - 1 - j : j;
          int64_t at = (o * v.n + k) * v.inner + i;
          T e = x.data_as<T>()[at];
          if (c.attrs.exclusive) out.data_as<T>()[at] = acc;
          acc = wrap_add(acc, e);
          if (!c.attrs.exclusive) out.data_as<T>()[at] = acc;
        }
      }
  });
  return out;
}

// gather: out[o, p, i] = x[o, idx[p], i], elements of any dtype copied.
Tensor gather(const Call& c) {
  const Tensor &x = c.args[0], &idx = c.args[1];
  AxisView v = view(x.shape(), c.attrs.axis);
  std::vector<int64_t> at = checked_indices(c.op, idx, v.n);
  Tensor out(c.type.dtype, c.type.shape);
  size_t row = static_cast<size_t>(v.inner) * dtype_size(x.dtype());
  const auto* in = static_cast<const std::byte*>(x.data());
  auto* res = static_cast<std::byte*>(out.data());
  int64_t m = static_cast<int64_t>(at.size());
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t p = 0; p < m; ++p)
      std::memcpy(res + (o * m + p) * row, in + (o * v.n + at[p]) * row, row);
  return out;
}

// scatter_add: a copy of base; then, for p in order, out[o, idx[p], i] +=
// updates[o, p, i]. A repeated index accumulates in that order.
Tensor scatter_add(const Call& c) {
  const Tensor &base = c.args[0], &idx = c.args[1], &updates = c.args[2];
  AxisView v = view(base.shape(), c.attrs.axis);
  std::vector<int64_t> at = checked_indices(c.op, idx, v.n);
  Tensor out = base.clone();
  int64_t m = static_cast<int64_t>(at.size());
  visit_numeric(c.op, base.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* res = out.data_as<T>();
    const T* upd = updates.data_as<T>();
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t p = 0; p < m; ++p)
        for (int64_t i = 0; i < v.inner; ++i) {
          T& r = res[(o * v.n + at[p]) * v.inner + i];
          r = wrap_add(r, upd[(o * m + p) * v.inner + i]);
        }
  });
  return out;
}

}  // namespace

Tensor eval_axis(const Call& c) {
  switch (c.op) {
    case Op::ArgMax:
    case Op::ArgMin: return arg_reduce(c);
    case Op::CumSum: return cumsum(c);
    case Op::Gather: return gather(c);
    case Op::ScatterAdd: return scatter_add(c);
    default: unsupported_dtype(c.op, c.args[0].dtype());
  }
}

}  // namespace nabla::interp
