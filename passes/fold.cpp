#include "nabla/passes/fold.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/rewrite.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

bool only_concats_use(const Node* n) {
  for (const Node* u : n->users())
    if (u->op() != Op::Concat) return false;
  return !n->users().empty();
}

bool foldable(const Node* n, const FoldOptions& options) {
  if (n->op() == Op::Constant || n->op() == Op::Grad || n->op() == Op::Barrier) return false;
  if (is_collective(n->op())) return false;  // its value depends on the other processes
  if (is_loop(n->op())) return false;        // may run long; its nodes go together
  int64_t largest = 0, total = 0;
  for (const Node* o : n->operands()) {
    if (o->op() != Op::Constant) return false;
    largest = std::max(largest, o->type().numel());
    total += o->type().numel();
  }
  int64_t size = n->type().numel();
  // A broadcast only replicates: elementwise users broadcast by themselves, so
  // a larger literal would cost memory and buy nothing; a concat copies it
  // anyway (and can then fold itself).
  if (n->op() == Op::BroadcastTo) return size <= largest || (size <= options.max_elements && only_concats_use(n));
  // A concat holds no more than its operands (a sparse derivative's padded seeds).
  if (n->op() == Op::Concat) return size <= std::max(options.max_elements, total);
  return size <= options.max_elements || size <= largest;
}

// The folded value of n, or an undefined tensor when evaluation fails.
Tensor evaluate_constant(const Node* n) {
  std::vector<Tensor> args;
  for (const Node* o : n->operands()) args.push_back(o->attrs().value);
  try {
    return evaluate(*n, args);
  } catch (const Error&) {
    return Tensor();  // the run-time error stays a run-time error
  }
}

}  // namespace

bool fold(Function& f, const FoldOptions& options) {
  bool changed = false;
  // In body order, so a folded node's users see a constant operand.
  for (Node* n = f.front(); n;) {
    Node* next = n->next();
    if (foldable(n, options)) {
      Tensor value = evaluate_constant(n);
      if (value.defined()) {
        InsertionGuard guard(f, n);
        replace_node(f, n, constant(f, std::move(value)), true);
        changed = true;
      }
    }
    n = next;
  }
  return changed;
}

std::unique_ptr<Pass> create_fold_pass() {
  auto pass = make_pass<FoldOptions>(fold);
  pass->count_option("max-elements", &pass->options().max_elements);
  return pass;
}

}  // namespace nabla
