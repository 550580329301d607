#pragma once
// Symbol-to-symbol reverse-mode differentiation (Algorithms 5 and 6 of the
// lecture: Sargur N. Srihari's notes "Back Propagation and Other
// Differentiation Algorithms" on Goodfellow, Bengio and Courville, Deep
// Learning, section 6.5; docs/autodiff.md): the gradient is built as ordinary nodes appended to the same graph, so it
// can be printed, optimized, compiled and differentiated again. Long
// elementwise regions behind a target go forward instead (passes/tangents.h).
// docs/autodiff.md describes the algorithm, the rules and the error messages.
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

struct GradOptions {
  // A target that does not influence z, or only through integer or bool
  // values, gets a zero gradient instead of an error.
  bool allow_disconnected = false;
  // A long elementwise region behind a target is differentiated in forward
  // mode (passes/tangents.h): the same derivatives, and a fused loop over the
  // region holds two values per element instead of the reverse sweep's tape.
  bool forward_elementwise = true;
};

// The gradients of z (a float scalar) with respect to each target, one per
// target, each of the target's type. The new nodes are inserted at the
// insertion point of z's function (its end by default). Throws nabla::Error,
// without changing the function, when a derivative is undefined (an integer or
// bool target, every path blocked by an integer or bool value, a non-scalar
// or integer z) or a target does not influence z.
std::vector<Value> grad(Value z, std::span<const Value> wrt, GradOptions options = {});
std::vector<Value> grad(Value z, std::initializer_list<Value> wrt, GradOptions options = {});

// The build-grad pass: replaces every `grad` node of f by its expansion, in
// topological order, so that a grad of a grad works to any order. All grad
// nodes of the same z are expanded by one sweep, their nodes inserted before
// the first of them. Returns true when f had a grad node. Errors as for grad(),
// prefixed with `FILE:LINE:COL: error:` when the grad node came from a file.
bool build_grad(Function& f, GradOptions options = {});

// Registered as pass "build-grad"; options `allow-disconnected` and
// `forward-elementwise` (true or false each).

}  // namespace nabla
