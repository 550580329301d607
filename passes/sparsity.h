#pragma once
// Sparsity patterns of derivative matrices, found on the graph at compile time
// (docs/autodiff.md, "Sparse derivatives"): which entries of a Jacobian or a
// Hessian can be nonzero, for any input values.
#include <cstdint>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/large_alloc.h"

namespace nabla {

// Index buffers that may be large (ba10's Jacobian: 17.5M nonzeros, 140 MB
// of col_idx): from 4 MiB on on 2 MiB pages (runtime/large_alloc.h).
using IndexVector = LargeVector<int64_t>;

// A pattern in CSR form: the nonzeros of row r are the columns
// col_idx[row_ptr[r] .. row_ptr[r + 1]), in ascending order.
struct SparsityPattern {
  int64_t rows = 0, cols = 0;
  IndexVector row_ptr{0};
  IndexVector col_idx;

  int64_t nnz() const { return static_cast<int64_t>(col_idx.size()); }
  bool contains(int64_t r, int64_t c) const;
  // The pattern with rows and columns swapped (CSR of the transpose).
  SparsityPattern transposed() const;
  // The entries with column <= row (the lower triangle, diagonal included).
  SparsityPattern lower() const;
  // From one sorted, duplicate-free column list per row.
  static SparsityPattern from_rows(int64_t cols, const std::vector<std::vector<int32_t>>& rows);
  bool operator==(const SparsityPattern&) const = default;
};

// The pattern of the Jacobian of a float value y in x (rows: the elements of
// y in row-major order; columns: those of x), found by propagating, element by
// element, the set of x's elements each value depends on. x may be an input,
// a constant or an intermediate value of y's function (as for nabla::grad).
// Exact (every entry of the pattern is nonzero at some input) for elementwise
// ops, broadcast, reshape, transpose, slice, concat, cumsum, the reductions,
// softmax along its axis, and gather and scatter_add with constant indices;
// matmul is exact per row and column; ops with zero derivative (sign, floor,
// stop_gradient) and integer values carry nothing; loops are followed through
// their bodies step by step (a while to the fixed point of the union over its
// trip counts; conservative past a budget); any other op (conv2d and pooling,
// fused regions, grad nodes, and op kinds this code does not know)
// is taken conservatively: each result element depends on every element of
// every operand. Throws nabla::Error when y or x is not float or they belong
// to different functions.
SparsityPattern jacobian_pattern(Value y, Value x);

// The pattern of the Hessian of a float scalar z in x (symmetric, both
// triangles), from the nonlinear interactions of the ops z depends on: a
// product a*b couples the elements of x that a and b depend on, a nonlinear
// unary op couples those of its operand with themselves, a linear or piecewise
// linear op (add, sum, relu, abs, maximum, max, select, layout ops) couples
// nothing. So sum(x[i]*x[i+1]) gives the two off-diagonals and sum(exp(x)) the
// diagonal.
SparsityPattern hessian_pattern(Value z, Value x);

}  // namespace nabla
