#pragma once
// Derivatives beyond one gradient, built from reverse sweeps (nabla::grad)
// and forward ones (jvp, passes/forward.h). Each appends nodes to the
// function of its first argument; run the default pipeline afterwards to
// clean up what the sweeps leave behind.
#include <span>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/passes/build_grad.h"

namespace nabla {

// The Hessian-vector product H v of a float scalar z in x, forward over
// reverse: the tangent of grad(z, x) along v (jvp). v has x's type.
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
// once, then one batched forward sweep through it (hvp_batched) with the
// rows of the identity as tangents.
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
// (equal(i, j) of two index vectors, cast), shaped [n] ++ shape (n = shape's
// element count).
Value identity_rows(Function& f, DType dt, const Shape& shape);

// The Jacobian-vector product J t of y in x by forward mode: a tangent node
// beside each node between x and y (passes/forward.h), through loops as
// loops that carry the tangents. t has x's type; the result y's. Throws
// "jvp: %x does not influence %y".
Value jvp(Value y, Value x, Value t);

// Forward mode for several values at once: the tangent of each ys[k] when
// every xs[i] moves along ts[i] (of its type), sum_i dys[k]/dxs[i] ts[i];
// zeros for a y that no x influences. The xs are independent variables.
std::vector<Value> jvp(std::span<const Value> ys, std::span<const Value> xs, std::span<const Value> ts);

}  // namespace nabla
