#pragma once
// Derivatives beyond one gradient, built from reverse sweeps (nabla::grad).
// Each appends nodes to the function of its first argument; run the default
// pipeline afterwards to clean up what the sweeps leave behind.
#include "nabla/ir/function.h"
#include "nabla/passes/build_grad.h"

namespace nabla {

// The Hessian-vector product H v of a float scalar z in x: the gradient in x
// of sum(grad(z, x) * v). v has x's type.
Value hvp(Value z, Value x, Value v);

// The Jacobian of a float value y in x: shape y.shape ++ x.shape, entry
// [i..., j...] = d y[i...] / d x[j...]. jacrev when y has at most as many
// elements as x, else jacfwd: the batch is the smaller of the two.
// Throws "jacobian: %x does not influence %y" unless allow_disconnected.
Value jacobian(Value y, Value x, GradOptions options = {});
// The same by reverse mode: one batched reverse sweep (vjp_batched) whose
// cotangents are the rows of the identity, P = y's element count.
Value jacrev(Value y, Value x, GradOptions options = {});
// The same by forward mode: one batched jvp (jvp_batched) whose tangents are
// the rows of the identity, P = x's element count.
Value jacfwd(Value y, Value x, GradOptions options = {});

// The Hessian of a float scalar z in x, shape x.shape ++ x.shape: grad(z, x)
// once, then one batched Hessian-vector product (hvp_batched) with the rows
// of the identity.
Value hessian(Value z, Value x);

// Batched products: P vectors at once, stacked along a leading axis, built as
// one sweep with a placeholder vector that batch() (passes/batching.h) then
// gives the leading axis. Results as P calls of the unbatched product would
// give, stacked. Each throws as its unbatched form, and when the stack is not
// [P] ++ the vector's type (P >= 1).
//   vjp_batched: U [P] ++ y.shape -> [P] ++ x.shape, row p = J^T U[p] (one reverse sweep)
//   jvp_batched: T [P] ++ x.shape -> [P] ++ y.shape, row p = J T[p]
//   hvp_batched: V [P] ++ x.shape -> [P] ++ x.shape, row p = H V[p]
Value vjp_batched(Value y, Value x, Value U);
Value jvp_batched(Value y, Value x, Value T);
Value hvp_batched(Value z, Value x, Value V);

// The rows of the n-by-n identity of dtype dt, computed in the graph
// (one_hot of 0..n-1), shaped [n] ++ shape (n = shape's element count).
Value identity_rows(Function& f, DType dt, const Shape& shape);

// The Jacobian-vector product J t of y in x (forward mode) from two reverse
// sweeps: with u a dummy of y's type, grad(sum(y * u), x) = J^T u is linear in
// u, and grad(sum(J^T u * t), u) = J t. t has x's type; the result y's.
Value jvp(Value y, Value x, Value t);

}  // namespace nabla
