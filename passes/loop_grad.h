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
std::vector<Value> loop_vjp(GradBuilder& b, const std::vector<Node*>& group, std::span<const Value> g);

// Whether operand i of a loop has a float path to a result through the
// (step) body: an operand that only decides a while's condition carries no
// gradient, like an integer value.
bool loop_operand_carries_gradient(const Node& loop, size_t i);

// Which results of `body` have a float path (through ops that carry a
// gradient) from the inputs marked in `from` (one flag per input).
std::vector<bool> results_reached(const Function& body, const std::vector<bool>& from);

// A while without max_trip_count is differentiated through bounded_while:
// `levels` nested whiles of at most `slots` steps each (multi-level
// checkpointing, docs/autodiff.md). while_levels chooses them from the size
// of the carries: the fewest levels whose tapes (levels * slots carries) fit
// in kWhileTapeBudget bytes, each choice holding 2^24 steps (4096 slots x 2
// levels, 256 x 3, 64 x 4; the last whatever the budget).
struct WhileLevels {
  int64_t slots = 0;
  int levels = 0;
};
inline constexpr int64_t kWhileTapeBudget = int64_t{64} << 20;
WhileLevels while_levels(const Node& n);

// A while in f, on n's operands, whose results equal those of n (a while)
// for up to slots^levels steps: the outermost level has max_trip_count =
// slots, so a longer run is the run-time error of that bound. Returns its
// nodes, one per result.
std::vector<Node*> bounded_while(Function& f, const Node& n, int64_t slots, int levels);

}  // namespace nabla::autodiff
