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

class SimplifyPass : public Pass {
 public:
  SimplifyPass() {
    flag_option("finite-math", &options_.finite_math);
    flag_option("no-signed-zeros", &options_.no_signed_zeros);
    flag_option("unsafe-math", [this](bool v) { options_.finite_math = options_.no_signed_zeros = v; });
  }
  bool run(Function& f) override { return simplify(f, options_); }

 private:
  SimplifyOptions options_;
};

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

std::unique_ptr<Pass> create_simplify_pass() { return std::make_unique<SimplifyPass>(); }

}  // namespace nabla
