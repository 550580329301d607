#pragma once
// Forward mode: the Jacobian-vector product built as tangent nodes beside the
// primal ones, one rule per op (passes/forward.cpp), in topological order from
// the seeded values to the outputs. Loops get loops carrying their tangents
// (passes/forward_loop.cpp), so a while needs no trip bound. Every rule is
// written with catalogue ops, so a tangent can be differentiated again, in
// either mode. docs/autodiff.md, "Forward mode".
#include <span>
#include <vector>

#include "nabla/passes/bprop.h"

namespace nabla::autodiff {

// The tangents of `outputs` when each xs[i] moves along ts[i] (of its type;
// the xs are treated as independent). A null result is a zero tangent (no x
// reaches that output through float values). New nodes go to f's insertion
// point. Throws nabla::Error for an op without a derivative rule or an
// unexpanded grad node between the xs and the outputs.
std::vector<Value> push_forward(Function& f, std::span<const Value> xs, std::span<const Value> ts,
                                std::span<const Value> outputs);

// The tangent of every result of a loop (its nodes `group`, fused_group order)
// given the tangents of its operands (`t`, one per operand, null: zero), from
// one loop that carries the primal values and their tangents. Null entries
// mean zero.
std::vector<Value> loop_jvp(GradBuilder& b, const std::vector<Node*>& group, std::span<const Value> t);

}  // namespace nabla::autodiff
