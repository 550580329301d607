#include "nabla/passes/tangents.h"

#include <algorithm>

namespace nabla::autodiff {
namespace {

// A node R may hold, before looking at its operands.
bool candidate(const Node* n, const Node* target, const Node* z, const NodeSet& pruned) {
  return n != z && pruned.count(n) && is_elementwise(n->op()) && n->type() == target->type();
}

// The candidates reachable from the target through candidates, operands
// first (a reversed post-order of a walk along users).
std::vector<Node*> reachable_candidates(Node* target, const Node* z, const NodeSet& pruned) {
  std::vector<Node*> post;
  NodeSet seen;
  std::vector<std::pair<Node*, size_t>> stack{{target, 0}};
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    const std::vector<Node*>& users = n->users();
    if (next < users.size()) {
      Node* u = users[next++];
      if (candidate(u, target, z, pruned) && seen.insert(u).second) stack.emplace_back(u, 0);
      continue;
    }
    if (n != target) post.push_back(n);
    stack.pop_back();
  }
  std::reverse(post.begin(), post.end());
  return post;
}

}  // namespace

TangentRegion find_tangent_region(Node* target, const Node* z, const NodeSet& pruned) {
  TangentRegion r;
  r.target = target;
  for (Node* n : reachable_candidates(target, z, pruned)) {
    bool joined = false, closed = true;
    for (Node* o : n->operands()) {
      if (o == target || r.members.count(o)) joined = true;
      else if (pruned.count(o) && is_float(o->dtype())) closed = false;
    }
    if (joined && closed) {
      r.nodes.push_back(n);
      r.members.insert(n);
    }
  }
  return r;
}

std::unordered_map<const Node*, Value> region_tangents(GradBuilder& b, const TangentRegion& r) {
  std::unordered_map<const Node*, Value> t;
  Node* v = r.target;
  Value one = b.scalar(v->dtype(), 1.0);
  t[v] = v->type().is_scalar() ? one : broadcast_to(one, v->shape());
  for (Node* n : r.nodes) {
    std::vector<Value> terms;
    for (size_t i = 0; i < n->num_operands(); ++i) {
      auto it = t.find(n->operand(i));
      if (it == t.end() || !carries_gradient(*n, i)) continue;
      // The jvp of an elementwise op: its vjp applied to the tangent.
      if (Value ti = bprop(b, n, i, it->second); ti.node) terms.push_back(ti);
    }
    if (Value sum = sum_of(terms); sum.node) t[n] = sum;
  }
  return t;
}

}  // namespace nabla::autodiff
