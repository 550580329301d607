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
// [i..., j...] = d y[i...] / d x[j...]. jacrev when y has at most twice as
// many elements as x, else jacfwd (a jvp costs two reverse sweeps).
// Throws "jacobian: %x does not influence %y" unless allow_disconnected.
Value jacobian(Value y, Value x, GradOptions options = {});
// The same by reverse mode: one reverse sweep per element of y.
Value jacrev(Value y, Value x, GradOptions options = {});
// The same by forward mode: one jvp per element of x (not yet batched: each
// jvp is its own pair of reverse sweeps).
Value jacfwd(Value y, Value x, GradOptions options = {});

// The Hessian of a float scalar z in x: the Jacobian of grad(z, x), shape
// x.shape ++ x.shape.
Value hessian(Value z, Value x);

// The Jacobian-vector product J t of y in x (forward mode) from two reverse
// sweeps: with u a dummy of y's type, grad(sum(y * u), x) = J^T u is linear in
// u, and grad(sum(J^T u * t), u) = J t. t has x's type; the result y's.
Value jvp(Value y, Value x, Value t);

}  // namespace nabla
