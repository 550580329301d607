#include "ir/fused.h"

#include <fmt/format.h>

#include "ir/verifier.h"
#include "runtime/error.h"

namespace nabla {

bool is_fusible_op(Op op) { return is_elementwise(op) || op == Op::BroadcastTo || op == Op::Constant; }

TensorType check_fused_body(std::span<const TensorType> operands, const Function& body) {
  auto fail = [](const std::string& m) { throw Error("fused: " + m); };
  if (body.inputs().size() != operands.size())
    fail(fmt::format("the body has {} inputs for {} operands", body.inputs().size(), operands.size()));
  for (size_t i = 0; i < operands.size(); ++i)
    if (body.inputs()[i]->type() != operands[i])
      fail(fmt::format("body input {} is {}, but operand {} is {}", i, body.inputs()[i]->type().str(), i,
                       operands[i].str()));
  if (body.results().size() != 1) fail(fmt::format("the body has {} results, not one", body.results().size()));
  const Node* result = body.results()[0];
  const Node* product = nullptr;
  for (const Node* n : body) {
    if (n->op() == Op::Fused) fail("fused regions do not nest");
    bool reduction_root = n == result && op_kind(n->op()) == OpKind::Reduce;
    if (n->op() == Op::MatMul) {
      if (product) fail("a body holds at most one matmul");
      product = n;
      for (const Node* o : n->operands())
        if (o->op() != Op::Input) fail("the operands of a body's matmul must be body inputs");
      if (n->type() != result->type())
        fail(fmt::format("the body's matmul is {}, but its result is {}", n->type().str(),
                         result->type().str()));
      continue;
    }
    if (!is_fusible_op(n->op()) && !reduction_root)
      fail(fmt::format("body op {} is not elementwise", op_name(n->op())));
  }
  if (product && op_kind(result->op()) == OpKind::Reduce)
    fail("a body with a matmul cannot end in a reduction");
  try {
    verify(body);
  } catch (const Error& e) {
    fail(std::string("invalid body: ") + e.what());
  }
  return result->type();
}

const Node* fused_matmul(const Node& n) {
  if (n.op() != Op::Fused || !n.body()) return nullptr;
  for (const Node* b : *n.body())
    if (b->op() == Op::MatMul) return b;
  return nullptr;
}

Node* make_fused(Function& f, std::vector<Node*> operands, std::shared_ptr<const Function> body) {
  if (!body) throw Error("fused: no body");
  std::vector<TensorType> types;
  for (const Node* o : operands) {
    if (!o || o->function() != &f) throw Error("fused: an operand is not a value of @" + f.name());
    types.push_back(o->type());
  }
  TensorType type = check_fused_body(types, *body);
  Node* n = f.create(Op::Fused, std::move(operands), {}, type);
  n->set_body(std::move(body));
  return n;
}

}  // namespace nabla
