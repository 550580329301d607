#include "nabla/passes/matmul_sum.h"
#include "nabla/passes/pass.h"

#include <algorithm>

#include "nabla/ir/builder.h"
#include "nabla/passes/rewrite.h"

namespace nabla {
namespace {

// The contraction axis of operand i (0: a, 1: b) of matmul m.
int64_t k_axis(const Node* m, int i) {
  int64_t r = m->operand(i)->type().rank();
  bool t = i == 0 ? m->attrs().transpose_a : m->attrs().transpose_b;
  return (i == 0) != t ? r - 1 : r - 2;
}

bool is_result(const Node* m) {
  const std::vector<Node*>& r = m->function()->results();
  return std::find(r.begin(), r.end(), m) != r.end();
}

bool only_used_by(const Node* m, const Node* n) {
  return m->op() == Op::MatMul && m->users().size() == 1 && m->users()[0] == n && !is_result(m);
}

// Shapes equal but along `axis`.
bool joinable(const Node* x, const Node* y, int64_t axis) {
  const Shape &s = x->shape(), &t = y->shape();
  if (s.size() != t.size() || x->dtype() != y->dtype()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (static_cast<int64_t>(i) != axis && s[i] != t[i]) return false;
  return true;
}

// x and y joined along axis, a single-use concat of x or y along the same
// axis spliced in (so chains of additions give one concat).
Value join(Node* x, Node* y, int64_t axis) {
  std::vector<Value> parts;
  for (Node* v : {x, y}) {
    if (v->op() == Op::Concat && v->users().size() == 1 && v->attrs().axis == axis)
      for (Node* o : v->operands()) parts.push_back(o);
    else
      parts.push_back(v);
  }
  return concat(parts, axis);
}

// matmul(a, b) + matmul(c, d) -> matmul([a c], [b; d]).
Node* merge(Node* n) {
  Node *p = n->operand(0), *q = n->operand(1);
  if (p == q || !only_used_by(p, n) || !only_used_by(q, n)) return nullptr;
  if (p->type() != n->type() || q->type() != n->type()) return nullptr;
  const Attrs &pa = p->attrs(), &qa = q->attrs();
  if (pa.transpose_a != qa.transpose_a || pa.transpose_b != qa.transpose_b) return nullptr;
  for (int i = 0; i < 2; ++i)
    if (!joinable(p->operand(i), q->operand(i), k_axis(p, i))) return nullptr;
  Value a = join(p->operand(0), q->operand(0), k_axis(p, 0));
  Value b = join(p->operand(1), q->operand(1), k_axis(p, 1));
  return matmul(a, b, pa.transpose_a, pa.transpose_b);
}

// Erases m, a product whose only user was rewritten, and its operands that
// were concats read by m alone (spliced into the new concat).
void erase_dead(Function& f, Node* m) {
  std::vector<Node*> operands(m->operands().begin(), m->operands().end());
  f.erase(m);
  for (Node* o : operands)
    if (o->op() == Op::Concat && o->users().empty() && !is_result(o)) f.erase(o);
}

}  // namespace

bool matmul_sum(Function& f) {
  bool changed = false;
  for (Node* n = f.front(); n;) {
    Node* next = n->next();
    if (n->op() == Op::Add) {
      InsertionGuard guard(f, n);
      Node *p = n->operand(0), *q = n->operand(1);
      if (Node* r = merge(n)) {
        replace_node(f, n, r, true);
        for (Node* m : {p, q}) erase_dead(f, m);
        changed = true;
      }
    }
    n = next;
  }
  return changed;
}

std::unique_ptr<Pass> create_matmul_sum_pass() { return make_pass(matmul_sum); }

}  // namespace nabla
