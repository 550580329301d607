#pragma once
// Sparse Jacobians and Hessians: the pattern found at compile time
// (passes/sparsity.h), a coloring that compresses it (passes/coloring.h), and
// nodes appended to the graph that compute the nonzeros in CSR order: every
// color's directional derivative in one batched sweep (P = the number of
// colors, passes/batching.h). docs/autodiff.md, "Sparse derivatives".
#include <optional>

#include "nabla/passes/coloring.h"
#include "nabla/passes/sparsity.h"

namespace nabla {

struct SparseDerivative {
  SparsityPattern pattern;  // the CSR pattern the values follow, fixed at compile time
  Coloring coloring;        // the colors behind the compression
  // Jacobians: true when compressed by rows (one reverse sweep per row color),
  // false by columns (one forward-mode product per column color).
  bool by_rows = false;
  Value values;  // f[nnz], the nonzeros in CSR order (y's or z's dtype)
};

struct SparseJacobianOptions {
  // When set, the values follow this CSR layout instead of the pattern found
  // (it is then moved into `pattern`: pass it with std::move when it is
  // large, ba10's is 17.5M entries, 150 MB, and a copy costs its fresh pages):
  // a superset of the pattern with the same size, such as the fixed structure
  // of a file format, whose entries outside the pattern are zeros. A layout
  // that lacks an entry of the pattern throws "sparse_jacobian: the layout
  // lacks entry (R, C) of the pattern".
  std::optional<SparsityPattern> layout;
};

// The Jacobian of float y in float x, rows the elements of y, columns those
// of x (row-major). Compresses by columns or by rows, whichever needs fewer
// colors (columns on a tie); then one batched jvp (jvp_batched) or one
// batched reverse sweep (vjp_batched) over the compressed seeds.
SparseDerivative sparse_jacobian(Value y, Value x, SparseJacobianOptions options = {});

struct SparseHessianOptions {
  bool lower = true;  // the lower triangle (diagonal included), as IPOPT takes it; false: both
};

// The Hessian of a float scalar z in x, star-colored: one Hessian-vector
// product per color, all in one batched sweep (hvp_batched), the nonzeros read
// directly from the compressed product.
SparseDerivative sparse_hessian(Value z, Value x, SparseHessianOptions options = {});

}  // namespace nabla
