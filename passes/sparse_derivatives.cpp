#include "nabla/passes/sparse_derivatives.h"

#include <algorithm>
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
// flat index k * rows + i), read at `at` (such flat indices; -1 for a zero)
// as a vector.
Value gather_compressed(Value b, std::vector<int64_t> at) {
  int64_t total = b->type().numel();
  Value flat = reshape(b, {total});
  if (std::find(at.begin(), at.end(), -1) != at.end()) {
    Value parts[] = {flat, constant(*b->function(), Tensor(b->dtype(), {1}))};
    flat = concat(parts, 0);
    std::replace(at.begin(), at.end(), int64_t{-1}, total);
  }
  Tensor idx(DType::i64, {static_cast<int64_t>(at.size())});
  std::copy(at.begin(), at.end(), static_cast<int64_t*>(idx.data()));
  return gather(flat, constant(*b->function(), std::move(idx)), 0);
}

Value no_values(Value like) { return constant(*like->function(), Tensor(like->dtype(), {0})); }

// (i, j) for each nonzero of p, in CSR order.
template <class Fn>
void for_each_nonzero(const SparsityPattern& p, Fn fn) {
  for (int64_t i = 0; i < p.rows; ++i)
    for (int64_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k) fn(i, p.col_idx[k]);
}


// For each entry of `layout` in CSR order, its position in p, or -1.
std::vector<int64_t> positions_in(const SparsityPattern& p, const SparsityPattern& layout) {
  if (layout.rows != p.rows || layout.cols != p.cols)
    throw Error("sparse_jacobian: the layout is " + std::to_string(layout.rows) + " by " +
                std::to_string(layout.cols) + ", the Jacobian " + std::to_string(p.rows) + " by " +
                std::to_string(p.cols));
  std::vector<int64_t> pos;
  pos.reserve(layout.col_idx.size());
  for (int64_t r = 0; r < p.rows; ++r) {
    int64_t k = p.row_ptr[r];
    for (int64_t e = layout.row_ptr[r]; e < layout.row_ptr[r + 1]; ++e) {
      bool hit = k < p.row_ptr[r + 1] && p.col_idx[k] == layout.col_idx[e];
      if (!hit && k < p.row_ptr[r + 1] && p.col_idx[k] < layout.col_idx[e]) break;
      pos.push_back(hit ? k++ : -1);
    }
    if (k < p.row_ptr[r + 1])
      throw Error("sparse_jacobian: the layout lacks entry (" + std::to_string(r) + ", " +
                  std::to_string(p.col_idx[k]) + ") of the pattern");
  }
  return pos;
}

}  // namespace

SparseDerivative sparse_jacobian(Value y, Value x, SparseJacobianOptions options) {
  SparseDerivative d;
  d.pattern = jacobian_pattern(y, x);
  std::vector<int64_t> in_layout;
  if (options.layout) in_layout = positions_in(d.pattern, *options.layout);
  if (d.pattern.nnz() == 0) {
    d.values = options.layout ? constant(*y->function(), Tensor(y->dtype(), {options.layout->nnz()})) : no_values(y);
    if (options.layout) d.pattern = *options.layout;
    return d;
  }
  // Rows sharing a column need distinct colors: when some column has as many
  // nonzeros as the column coloring has colors, compressing by rows cannot
  // do better, and its coloring (whose graph can be huge) is skipped.
  Coloring cols = color_columns(d.pattern), rows;
  std::vector<int64_t> in_column(static_cast<size_t>(d.pattern.cols), 0);
  for (int64_t c : d.pattern.col_idx) ++in_column[static_cast<size_t>(c)];
  int64_t most_in_a_column = in_column.empty() ? 0 : *std::max_element(in_column.begin(), in_column.end());
  if (most_in_a_column < cols.count) rows = color_columns(d.pattern.transposed());
  d.by_rows = most_in_a_column < cols.count && rows.count < cols.count;
  d.coloring = d.by_rows ? rows : cols;
  Function& f = *y->function();
  Value b = d.by_rows ? vjp_batched(y, x, seeds(f, y->type(), rows))   // W^T J, one batched reverse sweep
                      : jvp_batched(y, x, seeds(f, x->type(), cols));  // J S, one batched jvp
  std::vector<int64_t> at;
  at.reserve(d.pattern.col_idx.size());
  for_each_nonzero(d.pattern, [&](int64_t i, int64_t j) {  // B: x's size by P, or y's by P
    at.push_back(d.by_rows ? rows.color[i] * d.pattern.cols + j : cols.color[j] * d.pattern.rows + i);
  });
  if (options.layout) {
    for (int64_t& k : in_layout)
      if (k >= 0) k = at[k];
    at = std::move(in_layout);
    d.pattern = *options.layout;
  }
  d.values = gather_compressed(b, std::move(at));
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
  std::vector<int64_t> at;
  at.reserve(d.pattern.col_idx.size());
  for_each_nonzero(d.pattern, [&](int64_t i, int64_t j) {
    auto [row, color] = star_recovery_entry(full, d.coloring, i, j);
    at.push_back(color * full.rows + row);
  });
  d.values = gather_compressed(b, at);
  return d;
}

}  // namespace nabla
