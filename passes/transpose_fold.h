#pragma once
// Folds explicit transposes into matmul's transpose_a / transpose_b flags.
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// A "matrix transpose" swaps the last two axes and keeps the others in place
// (perm [1,0] on rank 2, [0,...,r-3, r-1, r-2] for batched operands). Rewrites:
//   matmul(T(a), b, ta, tb) -> matmul(a, b, !ta, tb)    (likewise for b)
//   T(matmul(a, b, ta, tb)) -> matmul(b, a, !tb, !ta)   ((AB)^T = B^T A^T), only
//                              when the transpose is the matmul's sole user
// Each result element is the same sum of the same products in the same order,
// so the rewrites are exact. The transposes left without users go to dce.
bool transpose_fold(Function& f);

}  // namespace nabla
