#pragma once
// --hessian and --jacobian of nabla-run and nabla-opt: a function's results
// replaced by the nonzeros of a sparse derivative (docs/cli.md).
#include <string>

#include "nabla/ir/function.h"

namespace nabla::cli {

// Replaces f's results by the nonzeros (CSR order) of the sparse Hessian
// (kind "hessian": lower triangle) or Jacobian ("jacobian") of f's first
// result in its first input, a value named %hessian or %jacobian, and returns
// the line that describes it: the pattern's size and nonzeros, the colors and
// the build time, e.g. "sparse Hessian of %f in %x: 12 x 12, 23 nonzeros
// (lower triangle), 3 colors (star); pattern, coloring and sweeps built in
// 0.4 ms". Throws nabla::Error when f has no input or no result, and the
// errors of sparse_hessian / sparse_jacobian.
std::string make_sparse_derivative(Function& f, const std::string& kind);

}  // namespace nabla::cli
