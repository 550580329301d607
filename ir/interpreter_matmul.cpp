// matmul: C[b, i, j] = sum_p A'[b, i, p] * B'[b, p, j] over equal leading
// (batch) dimensions, where A' is A or its transpose over the last two axes
// (transpose_a), and B' likewise (transpose_b). Accumulates in the element
// dtype (integers wrap), p ascending.
#include "nabla/ir/interpreter_kernels.h"

namespace nabla::interp {

Tensor eval_matmul(const Call& c) {
  const Tensor &a = c.args[0], &b = c.args[1];
  int64_t r = a.rank();
  int64_t m = c.type.shape[r - 2], n = c.type.shape[r - 1];
  int64_t k = c.attrs.transpose_a ? a.shape()[r - 2] : a.shape()[r - 1];
  int64_t batch = num_elements(std::span(c.type.shape).first(r - 2));
  // Element strides of A' and B' along (row, column) within one matrix.
  int64_t a_rows = a.shape()[r - 2], a_cols = a.shape()[r - 1];
  int64_t b_rows = b.shape()[r - 2], b_cols = b.shape()[r - 1];
  int64_t a_si = c.attrs.transpose_a ? 1 : a_cols, a_sp = c.attrs.transpose_a ? a_cols : 1;
  int64_t b_sp = c.attrs.transpose_b ? 1 : b_cols, b_sj = c.attrs.transpose_b ? b_cols : 1;

  Tensor out(c.type.dtype, c.type.shape);
  visit_numeric(c.op, a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t bi = 0; bi < batch; ++bi) {
      const T* pa = a.data_as<T>() + bi * a_rows * a_cols;
      const T* pb = b.data_as<T>() + bi * b_rows * b_cols;
      T* pc = out.data_as<T>() + bi * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          T acc(0);
          for (int64_t p = 0; p < k; ++p)
            acc = wrap_add(acc, wrap_mul(pa[i * a_si + p * a_sp], pb[p * b_sp + j * b_sj]));
          pc[i * n + j] = acc;
        }
    }
  });
  return out;
}

}  // namespace nabla::interp
