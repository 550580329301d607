#pragma once
// Private to build-grad: forward mode through a long elementwise region.
//
// When every path from a target V to z starts with a chain of elementwise
// ops over V's own shape (an activation chain, say), the Jacobian of each
// node of that region with respect to V is diagonal, and its product with a
// gradient equals its product with a tangent. build-grad then computes the
// tangents dn/dV forward from dV/dV = 1 (with the same bprop rules, applied
// to tangents), and gives V the gradient sum over the region's exits e of
// G(e) * de/dV. The derivatives are the reverse sweep's; what changes is the
// order of the arithmetic, and that the tangent of each node is computed
// beside the node, so that a fused loop holds two values per element instead
// of every mask and intermediate that the reverse sweep would read back in
// reverse order. docs/autodiff.md, "Forward mode in elementwise regions".
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nabla/passes/bprop.h"

namespace nabla::autodiff {

using NodeSet = std::unordered_set<const Node*>;

// Regions shorter than this stay with the reverse sweep: they hold little
// across the turn from forward to backward.
inline constexpr size_t kMinTangentRegion = 8;

// R(V): the nodes n of G' (`pruned`), z excluded, that are elementwise
// (unary, binary or select), of V's type, have an operand in R or V, and
// whose every other float operand lies outside G' (it carries no gradient to
// any target). `nodes` is in topological order.
struct TangentRegion {
  Node* target = nullptr;
  std::vector<Node*> nodes;
  NodeSet members;
};

TangentRegion find_tangent_region(Node* target, const Node* z, const NodeSet& pruned);

// dn/dV for every node of the region (an absent entry is zero), forward from
// dV/dV = 1: the tangent of n is the sum over its operand slots i in R or V
// of bprop(n, i, tangent of operand i), which for an elementwise op is the
// operand's tangent times the partial derivative.
std::unordered_map<const Node*, Value> region_tangents(GradBuilder& b, const TangentRegion& r);

}  // namespace nabla::autodiff
