#pragma once
// Private to build-grad: the bprop rules (the lecture's op.bprop) and the small
// node-building helpers they share. The rules themselves are in bprop.cpp.
#include <cstdint>
#include <map>
#include <span>
#include <utility>

#include "nabla/ir/builder.h"

namespace nabla::autodiff {

// Creates the nodes of one sweep at the function's insertion point. Rank-0
// constants are made once per sweep and shared.
class GradBuilder {
 public:
  explicit GradBuilder(Function& f) : f_(f) {}
  Function& function() const { return f_; }
  // A rank-0 constant.
  Value scalar(DType dtype, double value);
  // A zero tensor of the given type: a splat constant (a broadcast scalar when
  // it is too large to hold).
  Value zeros(const TensorType& type);

 private:
  Function& f_;
  std::map<std::pair<DType, uint64_t>, Node*> scalars_;
};

// True when operand i of c carries a gradient: c has a derivative rule and
// both c's result and the operand are float. Integer and bool values carry
// none (labels, conditions, comparison results, casts to an integer).
bool carries_gradient(const Node& c, size_t i);

// op.bprop(inputs, X, G) of the lecture: the gradient of z with respect to
// operand i of c, of that operand's type, given g, the gradient of z with
// respect to c's result. A null Value means zero (floor, sign, stop_gradient,
// an empty slice). Requires carries_gradient(c, i).
Value bprop(GradBuilder& b, Node* c, size_t i, Value g);

// The rule's own value, before bprop() sums it back to the operand's shape: a
// binary or select rule may give the broadcast shape. For an elementwise op
// (diagonal Jacobian) this is also the tangent of c given the tangent g of
// operand i broadcast to c's shape: forward mode uses it (passes/forward.cpp).
Value bprop_rule(GradBuilder& b, Node* c, size_t i, Value g);

// Whether op has a derivative rule.
bool has_bprop_rule(Op op);

// The sum of the terms, left to right (null for none): a node's gradient from
// its contributions, a tangent from its operands'.
Value sum_of(std::span<const Value> terms);

// broadcast_to's rule: sums g over the axes that broadcasting added or
// stretched, giving a value of `shape` (g itself when it already has it).
Value sum_to_shape(Value g, const Shape& shape);

}  // namespace nabla::autodiff
