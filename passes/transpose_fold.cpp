#include "nabla/passes/transpose_fold.h"
#include "nabla/passes/pass.h"

#include "nabla/ir/builder.h"
#include "nabla/passes/rewrite.h"

namespace nabla {
namespace {

bool is_matrix_transpose(const Node* n) {
  if (n->op() != Op::Transpose) return false;
  const std::vector<int64_t>& p = n->attrs().perm;
  int64_t r = static_cast<int64_t>(p.size());
  if (r < 2 || p[r - 2] != r - 1 || p[r - 1] != r - 2) return false;
  for (int64_t i = 0; i < r - 2; ++i)
    if (p[i] != i) return false;
  return true;
}

// matmul(T(a), T(b)) -> matmul(a, b) with the flags of the folded sides flipped.
Node* fold_operands(Node* mm) {
  Node *a = mm->operand(0), *b = mm->operand(1);
  bool ta = mm->attrs().transpose_a, tb = mm->attrs().transpose_b;
  bool fold_a = is_matrix_transpose(a), fold_b = is_matrix_transpose(b);
  if (!fold_a && !fold_b) return nullptr;
  if (fold_a) a = a->operand(0), ta = !ta;
  if (fold_b) b = b->operand(0), tb = !tb;
  return matmul(a, b, ta, tb);
}

// T(matmul(a, b, ta, tb)) -> matmul(b, a, !tb, !ta) when T is the only user.
Node* fold_result(Node* t) {
  if (!is_matrix_transpose(t)) return nullptr;
  Node* mm = t->operand(0);
  if (mm->op() != Op::MatMul || mm->users().size() != 1) return nullptr;
  const Function& f = *t->function();
  for (Node* r : f.results())
    if (r == mm) return nullptr;
  return matmul(mm->operand(1), mm->operand(0), !mm->attrs().transpose_b,
                !mm->attrs().transpose_a);
}

}  // namespace

bool transpose_fold(Function& f) {
  bool changed = false;
  // A new matmul is built before the node it replaces, so its own operands are
  // looked at in the next sweep. Each rewrite removes a transpose from a
  // matmul's neighbourhood, so this ends; the bound is a safety net.
  for (int sweep = 0; sweep < 8; ++sweep) {
    bool folded = false;
    for (Node* n = f.front(); n;) {
      Node* next = n->next();
      InsertionGuard guard(f, n);
      Node* r = n->op() == Op::MatMul ? fold_operands(n) : fold_result(n);
      if (r) {
        replace_node(f, n, r, true);
        folded = true;
      }
      n = next;
    }
    if (!folded) break;
    changed = true;
  }
  return changed;
}

std::unique_ptr<Pass> create_transpose_fold_pass() { return make_pass(transpose_fold); }

}  // namespace nabla
