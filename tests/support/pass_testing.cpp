#include "tests/support/pass_testing.h"

#include "nabla/ir/fused.h"

#include <algorithm>
#include <unordered_set>

namespace nabla::test {

int mergeable_pairs(const Function& f) {
  std::vector<Node*> nodes = f.nodes();
  auto same_operands = [](const Node* a, const Node* b) {
    std::vector<Node*> x(a->operands().begin(), a->operands().end());
    std::vector<Node*> y(b->operands().begin(), b->operands().end());
    if (x == y) return true;
    if (!is_commutative(a->op())) return false;
    std::reverse(y.begin(), y.end());
    return x == y;
  };
  int pairs = 0;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t j = i + 1; j < nodes.size(); ++j) {
      const Node *a = nodes[i], *b = nodes[j];
      if (a->op() == Op::Barrier || a->body() || a->op() != b->op() || a->type() != b->type()) continue;
      if (same_operands(a, b) && a->attrs().equal(b->attrs(), op_attr_mask(a->op()))) ++pairs;
    }
  return pairs;
}

int dead_nodes(const Function& f) {
  // Everything reachable backwards from the results is live.
  std::unordered_set<const Node*> live;
  std::vector<const Node*> work(f.results().begin(), f.results().end());
  while (!work.empty()) {
    const Node* n = work.back();
    work.pop_back();
    if (!live.insert(n).second) continue;
    for (const Node* o : n->operands()) work.push_back(o);
    for (const Node* m : fused_group(n)) work.push_back(m);  // a loop's results go together
  }
  int dead = 0;
  for (const Node* n : f) dead += !live.count(n);
  return dead;
}

int transposes_feeding_matmul(const Function& f) {
  int count = 0;
  for (const Node* n : f) {
    if (n->op() != Op::MatMul) continue;
    for (const Node* o : n->operands()) {
      if (o->op() != Op::Transpose) continue;
      const std::vector<int64_t>& p = o->attrs().perm;
      size_t r = p.size();
      bool swap_last = r >= 2 && p[r - 2] == static_cast<int64_t>(r - 1) &&
                       p[r - 1] == static_cast<int64_t>(r - 2);
      for (size_t i = 0; i + 2 < r; ++i) swap_last &= p[i] == static_cast<int64_t>(i);
      count += swap_last;
    }
  }
  return count;
}

}  // namespace nabla::test
