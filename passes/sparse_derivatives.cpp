#include "nabla/passes/sparse_derivatives.h"

#include <algorithm>
#include <limits>
#include <string>

#include "nabla/ir/builder.h"
#include "nabla/passes/derivatives.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

// The compressed seeds, one row per color: row k is 1 at the elements of
// color k, shaped [P] ++ t.shape. A constant: the pipeline folds the seeds'
// slices, pads and linear images into constants too (docs/performance.md,
// "Sparse Hessians and Jacobians": a one_hot built at run time cost a kernel
// and kept the linear parts of the sweep at run time).
Value seeds(Function& f, const TensorType& t, const Coloring& c) {
  int64_t n = t.numel();
  Shape s{c.count};
  s.insert(s.end(), t.shape.begin(), t.shape.end());
  Tensor rows(t.dtype, s);  // zeros
  for (int64_t i = 0; i < n; ++i) rows.set(c.color[i] * n + i, 1.0);
  return constant(f, std::move(rows));
}

// The compressed matrix B, [P] ++ a shape (entry (i, k) of the columns b_k at
// flat index k * rows + i), read at the flat indices `at` (i32 or i64;
// numel(B) for a zero, when `zeros`) as a vector. The zeros are a select on
// a constant mask around the gather (read at 0 there), which fusion makes
// one loop with the gather as an indexed read: no copy of B with a zero
// appended (ht11's jacobian: 32 MB copied per run before).
Value gather_compressed(Value b, Tensor at, bool zeros) {
  Function& f = *b->function();
  int64_t total = b->type().numel(), n = at.numel();
  Value flat = reshape(b, {total});
  if (!zeros) return gather(flat, constant(f, std::move(at)), 0);
  Tensor keep(DType::bool_, {n});
  auto split = [&](auto* i) {
    uint8_t* k = keep.data_as<uint8_t>();
    for (int64_t e = 0; e < n; ++e) {
      k[e] = i[e] < total ? 1 : 0;
      if (!k[e]) i[e] = 0;
    }
  };
  if (at.dtype() == DType::i32) split(at.data_as<int32_t>());
  else split(at.data_as<int64_t>());
  Value g = gather(flat, constant(f, std::move(at)), 0);
  return select(constant(f, std::move(keep)), g, scalar_like(g, 0.0));
}

Value no_values(Value like) { return constant(*like->function(), Tensor(like->dtype(), {0})); }

// Where the nonzeros are read from B: for nonzero (i, j) of a Jacobian
// compressed by rows, entry (color(i), j) of B = W^T J; by columns, entry
// (color(j), i) of B = J S.
struct Compressed {
  const Coloring& coloring;
  bool by_rows;
  int64_t rows, cols;
  int64_t at(int64_t i, int64_t j) const {
    return by_rows ? coloring.color[i] * cols + j : coloring.color[j] * rows + i;
  }
  int64_t size() const { return coloring.count * (by_rows ? cols : rows); }
};

// A gather index of `n` places below `bound`: i32 when they fit (half the
// bytes of i64: ba10's layout index is 17.5M entries), else i64.
Tensor index_tensor(int64_t n, int64_t bound) {
  return Tensor(bound <= std::numeric_limits<int32_t>::max() ? DType::i32 : DType::i64, {n});
}

// Calls fill(int32_t* or int64_t*) with the index's data.
template <class Fill>
void fill_index(Tensor& idx, Fill fill) {
  if (idx.dtype() == DType::i32) fill(idx.data_as<int32_t>());
  else fill(idx.data_as<int64_t>());
}

// The gather index of the nonzeros in CSR order.
Tensor pattern_index(const SparsityPattern& p, const Compressed& c) {
  Tensor idx = index_tensor(p.nnz(), c.size());
  fill_index(idx, [&](auto* at) {
    for (int64_t i = 0; i < p.rows; ++i)
      for (int64_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k)
        at[k] = static_cast<decltype(+*at)>(c.at(i, p.col_idx[k]));
  });
  return idx;
}

void check_layout_size(const SparsityPattern& p, const SparsityPattern& layout) {
  if (layout.rows != p.rows || layout.cols != p.cols)
    throw Error("sparse_jacobian: the layout is " + std::to_string(layout.rows) + " by " +
                std::to_string(layout.cols) + ", the Jacobian " + std::to_string(p.rows) + " by " +
                std::to_string(p.cols));
}

// The gather index of each entry of `layout` (a superset of p's entries, in
// CSR order): its place in B, or c.size() (a zero) outside p. `zeros` tells
// whether there are any.
template <class I>
void fill_layout_index(const SparsityPattern& p, const SparsityPattern& layout, const Compressed& c, bool& zeros, I* at) {
  for (int64_t r = 0; r < p.rows; ++r) {
    int64_t k = p.row_ptr[r];
    for (int64_t e = layout.row_ptr[r]; e < layout.row_ptr[r + 1]; ++e) {
      int64_t col = layout.col_idx[e];
      bool hit = k < p.row_ptr[r + 1] && p.col_idx[k] == col;
      if (!hit && k < p.row_ptr[r + 1] && p.col_idx[k] < col) break;
      zeros |= !hit;
      at[e] = static_cast<I>(hit ? (++k, c.at(r, col)) : c.size());
    }
    if (k < p.row_ptr[r + 1])
      throw Error("sparse_jacobian: the layout lacks entry (" + std::to_string(r) + ", " +
                  std::to_string(p.col_idx[k]) + ") of the pattern");
  }
}

// That index as a tensor.
Tensor layout_index(const SparsityPattern& p, const SparsityPattern& layout, const Compressed& c, bool& zeros) {
  Tensor idx = index_tensor(layout.nnz(), c.size() + 1);
  zeros = false;
  fill_index(idx, [&](auto* at) { fill_layout_index(p, layout, c, zeros, at); });
  return idx;
}

// Rows or columns: compressing by rows when some column has fewer nonzeros
// than the column coloring has colors and the row coloring needs fewer
// (columns on a tie). When a column has as many nonzeros as the column
// coloring has colors, the rows' coloring (whose graph can be huge) is skipped.
void choose_coloring(SparseDerivative& d) {
  Coloring cols = color_columns(d.pattern);
  IndexVector in_column(static_cast<size_t>(d.pattern.cols), 0);
  for (int64_t c : d.pattern.col_idx) ++in_column[static_cast<size_t>(c)];
  int64_t most_in_a_column = in_column.empty() ? 0 : *std::max_element(in_column.begin(), in_column.end());
  d.by_rows = false;
  if (most_in_a_column < cols.count) {
    Coloring rows = color_columns(d.pattern.transposed());
    d.by_rows = rows.count < cols.count;
    if (d.by_rows) return void(d.coloring = std::move(rows));
  }
  d.coloring = std::move(cols);
}

}  // namespace

SparseDerivative sparse_jacobian(Value y, Value x, SparseJacobianOptions options) {
  SparseDerivative d;
  d.pattern = jacobian_pattern(y, x);
  if (options.layout) check_layout_size(d.pattern, *options.layout);
  if (d.pattern.nnz() == 0) {
    d.values = options.layout ? constant(*y->function(), Tensor(y->dtype(), {options.layout->nnz()})) : no_values(y);
    if (options.layout) d.pattern = std::move(*options.layout);
    return d;
  }
  choose_coloring(d);
  Compressed c{d.coloring, d.by_rows, d.pattern.rows, d.pattern.cols};
  bool zeros = false;
  Tensor idx = options.layout ? layout_index(d.pattern, *options.layout, c, zeros) : pattern_index(d.pattern, c);
  // The found pattern is freed before the seeds are made, which can then
  // reuse its pages (ba10: 131 MB; fresh pages cost a fault each).
  if (options.layout) d.pattern = std::move(*options.layout);
  Function& f = *y->function();
  Value b = d.by_rows ? vjp_batched(y, x, seeds(f, y->type(), d.coloring))   // W^T J, one batched reverse sweep
                      : jvp_batched(y, x, seeds(f, x->type(), d.coloring));  // J S, one batched jvp
  d.values = gather_compressed(b, std::move(idx), zeros);
  return d;
}

SparseDerivative sparse_hessian(Value z, Value x, SparseHessianOptions options) {
  SparseDerivative d;
  SparsityPattern full = hessian_pattern(z, x);
  d.pattern = options.lower ? full.lower() : full;
  if (full.nnz() == 0) {
    d.values = no_values(z);
    return d;
  }
  d.coloring = star_color(full);
  Value b = hvp_batched(z, x, seeds(*x->function(), x->type(), d.coloring));  // H S, one batched sweep
  Tensor idx = index_tensor(d.pattern.nnz(), d.coloring.count * full.rows);
  fill_index(idx, [&](auto* at) {
    for (int64_t i = 0; i < d.pattern.rows; ++i)
      for (int64_t k = d.pattern.row_ptr[i]; k < d.pattern.row_ptr[i + 1]; ++k) {
        auto [row, color] = star_recovery_entry(full, d.coloring, i, d.pattern.col_idx[k]);
        at[k] = static_cast<decltype(+*at)>(color * full.rows + row);
      }
  });
  d.values = gather_compressed(b, std::move(idx), false);
  return d;
}

}  // namespace nabla
