#include "nabla/passes/simplify.h"
#include "nabla/passes/pass.h"

#include "nabla/passes/rewrite.h"
#include "nabla/passes/simplify_rules.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using simplify_detail::RuleContext;

constexpr int kMaxSweeps = 16;

bool has_grad(const Function& f) {
  for (Node* n : f)
    if (n->op() == Op::Grad) return true;
  return false;
}

// The first rule for n's op that fires, or nullptr.
Node* apply_rules(Node* n, const RuleContext& ctx) {
  InsertionGuard guard(ctx.f, n);
  for (const simplify_detail::Rule* rule : simplify_detail::rules_for(n->op()))
    if (Node* r = rule->apply(n, ctx)) return r;
  return nullptr;
}

}  // namespace

bool simplify(Function& f, const SimplifyOptions& options) {
  RuleContext ctx{f, options, has_grad(f)};
  bool changed = false;
  // Rules build their new nodes before the node they rewrite, so a sweep in
  // body order sees rewritten operands before their users; a later sweep picks
  // up rules enabled by the new nodes themselves.
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    bool fired = false;
    for (Node* n = f.front(); n;) {
      Node* next = n->next();
      uint64_t created = f.edit_counts().created;
      if (Node* r = apply_rules(n, ctx)) {
        replace_node(f, n, r, f.edit_counts().created != created);
        fired = true;
      }
      n = next;
    }
    if (!fired) break;
    changed = true;
  }
  return changed;
}

std::unique_ptr<Pass> create_simplify_pass() {
  auto pass = make_pass<SimplifyOptions>(simplify);
  SimplifyOptions* options = &pass->options();
  pass->flag_option("finite-math", &options->finite_math);
  pass->flag_option("no-signed-zeros", &options->no_signed_zeros);
  pass->flag_option("unsafe-math", [options](bool v) { options->finite_math = options->no_signed_zeros = v; });
  return pass;
}

}  // namespace nabla
