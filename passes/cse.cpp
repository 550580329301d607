#include "nabla/passes/cse.h"
#include "nabla/passes/pass.h"

#include <unordered_map>
#include <vector>

namespace nabla {
namespace {

size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }

// The value-numbering table: nodes seen so far, bucketed by a structural hash.
// Operands are compared by identity, so walking the body in order (operands
// first) and redirecting each duplicate before its users are hashed finds
// whole duplicate subgraphs in one sweep.
class ValueTable {
 public:
  // The earlier node equivalent to n, or nullptr after recording n.
  Node* find_or_insert(Node* n) {
    auto& bucket = table_[hash(n)];
    for (Node* m : bucket)
      if (equivalent(n, m)) return m;
    bucket.push_back(n);
    return nullptr;
  }

 private:
  static size_t hash(const Node* n) {
    size_t h = mix(static_cast<size_t>(n->op()), static_cast<size_t>(n->dtype()));
    for (int64_t d : n->shape()) h = mix(h, static_cast<size_t>(d));
    h = mix(h, n->attrs().hash(op_attr_mask(n->op())));
    if (is_commutative(n->op())) {
      // Order-independent combination for canonicalized operand order.
      size_t sum = 0;
      for (Node* o : n->operands()) sum += std::hash<const Node*>{}(o);
      return mix(h, sum);
    }
    for (Node* o : n->operands()) h = mix(h, std::hash<const Node*>{}(o));
    return h;
  }

  static bool same_operands(const Node* a, const Node* b) {
    if (a->num_operands() != b->num_operands()) return false;
    bool in_order = true;
    for (size_t i = 0; i < a->num_operands(); ++i) in_order &= a->operand(i) == b->operand(i);
    if (in_order) return true;
    return is_commutative(a->op()) && a->num_operands() == 2 &&
           a->operand(0) == b->operand(1) && a->operand(1) == b->operand(0);
  }

  static bool equivalent(const Node* a, const Node* b) {
    return a->op() == b->op() && a->type() == b->type() && same_operands(a, b) &&
           a->attrs().equal(b->attrs(), op_attr_mask(a->op()));
  }

  std::unordered_map<size_t, std::vector<Node*>> table_;
};

class CsePass : public Pass {
 public:
  bool run(Function& f) override { return cse(f); }
};

}  // namespace

bool cse(Function& f) {
  ValueTable table;
  bool changed = false;
  for (Node* n = f.front(); n;) {
    Node* next = n->next();
    if (n->op() != Op::Barrier && !n->body()) {
      if (Node* earlier = table.find_or_insert(n)) {
        f.replace_all_uses(n, earlier);
        f.erase(n);
        changed = true;
      }
    }
    n = next;
  }
  return changed;
}

std::unique_ptr<Pass> create_cse_pass() { return std::make_unique<CsePass>(); }

}  // namespace nabla
