#pragma once
// Private to build-grad: the vector-Jacobian product of a loop (ir/loop.h),
// built as loops themselves (passes/loop_grad.cpp explains how).
#include <span>
#include <vector>

#include "nabla/passes/bprop.h"

namespace nabla::autodiff {

// The gradient on each operand of the loop whose results are `group` (its
// nodes, fused_group order), given g[i], the gradient on result i (null:
// zero). Null entries mean zero (integer and bool operands, or nothing flows).
// Throws nabla::Error for a while without max_trip_count.
std::vector<Value> loop_vjp(GradBuilder& b, const std::vector<Node*>& group, std::span<const Value> g);

// Whether operand i of a loop has a float path to a result through the
// (step) body: an operand that only decides a while's condition carries no
// gradient, like an integer value.
bool loop_operand_carries_gradient(const Node& loop, size_t i);

// Which results of `body` have a float path (through ops that carry a
// gradient) from the inputs marked in `from` (one flag per input).
std::vector<bool> results_reached(const Function& body, const std::vector<bool>& from);

}  // namespace nabla::autodiff
