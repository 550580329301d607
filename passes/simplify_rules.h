#pragma once
// Private to the simplify pass: the rewrite rules and what they may consult.
#include <span>

#include "nabla/ir/function.h"
#include "nabla/passes/simplify.h"

namespace nabla::simplify_detail {

struct RuleContext {
  Function& f;
  SimplifyOptions options;
  // True while any grad node is left: stop_gradient must then stay.
  bool has_grad = false;
};

// A rule looks at node n and returns the node that should replace it, or
// nullptr. New nodes it builds are inserted just before n (the driver sets the
// insertion point), and the replacement has exactly n's type.
struct Rule {
  const char* name;
  Op op;
  Node* (*apply)(Node* n, const RuleContext& ctx);
};

// The rules of simplify_broadcast_rules.cpp (comments there).
Node* constant_broadcast(Node* n, const RuleContext& ctx);
Node* gather_repeated(Node* n, const RuleContext& ctx);
Node* slice_broadcast(Node* n, const RuleContext& ctx);
Node* reshape_broadcast(Node* n, const RuleContext& ctx);
// simplify_gather_rules.cpp.
Node* gather_sink(Node* n, const RuleContext& ctx);
Node* slice_gather(Node* n, const RuleContext& ctx);
Node* reshape_gather(Node* n, const RuleContext& ctx);

// The rules whose root op is `op`.
std::span<const Rule* const> rules_for(Op op);

}  // namespace nabla::simplify_detail
