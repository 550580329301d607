#pragma once
// matmul-sum: a sum of two products over the same rows and columns becomes
// one product over both contractions,
//   matmul(a, b) + matmul(c, d) -> matmul(concat(a, c), concat(b, d))
// (a and c joined along their contraction axis, b and d along theirs; the
// transpose flags of both products must agree). A weight used several times
// gets its gradient as such a sum (RK4's four stages: four outer products and
// three additions of [100,100] per step become one GEMM of K = 4), and so does
// the gradient of a value read by several products. Applied when both
// products have this addition as their only user and the addition does not
// broadcast; chains of additions merge one product at a time, the concats
// flattened. The value is the same sum of the same products, added in
// another order: like the GEMM's own blocking of K, rounding may differ in
// the last bits (matmul fixes no order of its contraction). Hence not in the
// default pipeline, whose rewrites are exact: the compile pipeline runs it
// before `fuse` (compiler/pipeline.h), with fuse-matmul; the products and the
// concats they read that become dead are erased.
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

bool matmul_sum(Function& f);

}  // namespace nabla
