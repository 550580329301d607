// Neural-network kernels: softmax, log_softmax (along one axis), one_hot and
// cross_entropy. The softmax family subtracts the maximum before exponentiating
// so that exp never overflows.
#include <cmath>
#include <limits>
#include <string>


#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla::interp {
namespace {

// Reads label i (i32 or i64) as int64.
int64_t label_at(const Tensor& labels, int64_t i) {
  return labels.dtype() == DType::i32 ? labels.data_as<int32_t>()[i]
                                      : labels.data_as<int64_t>()[i];
}

void check_label(Op op, int64_t label, int64_t index, int64_t bound) {
  if (label < 0 || label >= bound) fail_status(op, NABLA_LABEL_OUT_OF_RANGE, label, index, bound);
}

// The maximum of n values at stride s (NaN propagates), and
// log(sum_i exp(x_i - max)).
template <class T> T row_max(const T* x, int64_t n, int64_t s) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < n; ++i) m = nan_max(m, x[i * s]);
  return m;
}
template <class T> T log_sum_exp_shifted(const T* x, int64_t n, int64_t s, T m) {
  T sum(0);
  for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i * s] - m);
  return std::log(sum);
}

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m); log_softmax(x)_i = x_i - m -
// log(sum_j exp(x_j - m)), with m the maximum along the axis.
Tensor softmax(const Call& c) {
  const Tensor& x = c.args[0];
  const Shape& shape = x.shape();
  int64_t axis = c.attrs.axis;
  int64_t n = shape[axis];
  int64_t inner = num_elements(std::span(shape).subspan(axis + 1));
  int64_t outer = num_elements(std::span(shape).first(axis));
  Tensor out(c.type.dtype, c.type.shape);
  visit_float(c.op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        int64_t base = o * n * inner + in;
        const T* row = x.data_as<T>() + base;
        T* res = out.data_as<T>() + base;
        T m = row_max(row, n, inner);
        if (c.op == Op::LogSoftmax) {
          T lse = log_sum_exp_shifted(row, n, inner, m);
          for (int64_t i = 0; i < n; ++i) res[i * inner] = row[i * inner] - m - lse;
        } else {
          T sum(0);
          for (int64_t i = 0; i < n; ++i) sum += res[i * inner] = std::exp(row[i * inner] - m);
          for (int64_t i = 0; i < n; ++i) res[i * inner] /= sum;
        }
      }
  });
  return out;
}

// one_hot(labels)[..., k] = (labels[...] == k), of the dtype attribute.
Tensor one_hot(const Call& c) {
  const Tensor& labels = c.args[0];
  int64_t depth = c.attrs.depth;
  Tensor out(c.type.dtype, c.type.shape);  // zero-filled
  for (int64_t i = 0, total = labels.numel(); i < total; ++i) {
    int64_t l = label_at(labels, i);
    check_label(c.op, l, i, depth);
    out.set(i * depth + l, 1.0);
  }
  return out;
}

// cross_entropy(logits[N,C], labels[N]) = (1/N) sum_n (logsumexp(logits[n]) -
// logits[n, labels[n]]); every label is checked before anything is computed.
Tensor cross_entropy(const Call& c) {
  const Tensor &logits = c.args[0], &labels = c.args[1];
  int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  for (int64_t i = 0; i < rows; ++i) check_label(c.op, label_at(labels, i), i, classes);
  Tensor out(c.type.dtype, {});
  visit_float(c.op, logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T total(0);
    for (int64_t i = 0; i < rows; ++i) {
      const T* row = logits.data_as<T>() + i * classes;
      T m = row_max(row, classes, 1);
      // logsumexp(row) - row[label] = (m - row[label]) + log(sum exp(row - m)),
      // grouped so that no large m is added and then subtracted again.
      total += (m - row[label_at(labels, i)]) + log_sum_exp_shifted(row, classes, 1, m);
    }
    out.data_as<T>()[0] = total / static_cast<T>(rows);  // N = 0 gives 0/0 = NaN
  });
  return out;
}

}  // namespace

Tensor eval_neural(const Call& c) {
  switch (c.op) {
    case Op::Softmax:
    case Op::LogSoftmax: return softmax(c);
    case Op::OneHot: return one_hot(c);
    case Op::CrossEntropy: return cross_entropy(c);
    default: unsupported_dtype(c.op, c.args[0].dtype());
  }
}

}  // namespace nabla::interp
