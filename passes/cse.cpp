#include "nabla/passes/cse.h"
#include "nabla/passes/pass.h"

#include <unordered_map>
#include <vector>

#include "nabla/ir/hash.h"
#include "nabla/ir/loop.h"

namespace nabla {
namespace {

bool same_node(const Node* a, const Node* b, const std::unordered_map<const Node*, const Node*>& map);

// Whether two bodies (or two null ones) compute the same: the same input
// types, node for node in order the same op, type, attributes, operands and
// bodies, and the same results. Loop bodies are copied by the passes that
// rewrite them, so equal loops rarely share their body objects.
bool same_function(const Function* a, const Function* b) {
  if (a == b) return true;
  if (!a || !b || a->inputs().size() != b->inputs().size() || a->results().size() != b->results().size())
    return false;
  std::unordered_map<const Node*, const Node*> map;
  for (size_t i = 0; i < a->inputs().size(); ++i) {
    if (a->inputs()[i]->type() != b->inputs()[i]->type()) return false;
    map[a->inputs()[i]] = b->inputs()[i];
  }
  Node *x = a->front(), *y = b->front();
  for (; x && y; x = x->next(), y = y->next()) {
    if (!same_node(x, y, map)) return false;
    map[x] = y;
  }
  if (x || y) return false;
  for (size_t i = 0; i < a->results().size(); ++i)
    if (map.at(a->results()[i]) != b->results()[i]) return false;
  return true;
}

// a and b alike, a's operands mapped to b's by `map`.
bool same_node(const Node* a, const Node* b, const std::unordered_map<const Node*, const Node*>& map) {
  if (a->op() != b->op() || a->type() != b->type() || a->num_operands() != b->num_operands() ||
      a->body_result() != b->body_result() || !a->attrs().equal(b->attrs(), op_attr_mask(a->op())))
    return false;
  for (size_t i = 0; i < a->num_operands(); ++i) {
    auto it = map.find(a->operand(i));
    if (it == map.end() || it->second != b->operand(i)) return false;
  }
  return same_function(a->body(), b->body()) && same_function(a->cond(), b->cond());
}

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
    size_t h = hash_mix(static_cast<size_t>(n->op()), static_cast<size_t>(n->dtype()));
    for (int64_t d : n->shape()) h = hash_mix(h, static_cast<size_t>(d));
    h = hash_mix(h, n->attrs().hash(op_attr_mask(n->op())));
    h = hash_mix(h, static_cast<size_t>(n->body_result() + 1));
    if (is_commutative(n->op())) {
      // Order-independent combination for canonicalized operand order.
      size_t sum = 0;
      for (Node* o : n->operands()) sum += std::hash<const Node*>{}(o);
      return hash_mix(h, sum);
    }
    for (Node* o : n->operands()) h = hash_mix(h, std::hash<const Node*>{}(o));
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
           a->attrs().equal(b->attrs(), op_attr_mask(a->op())) && a->body_result() == b->body_result() &&
           same_function(a->body(), b->body()) && same_function(a->cond(), b->cond());
  }

  std::unordered_map<size_t, std::vector<Node*>> table_;
};

}  // namespace

bool cse(Function& f) {
  ValueTable table;
  bool changed = false;
  for (Node* n = f.front(); n;) {
    Node* next = n->next();
    if (n->op() != Op::Barrier && (!n->body() || is_loop(n->op()))) {
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

std::unique_ptr<Pass> create_cse_pass() { return make_pass(cse); }

}  // namespace nabla
