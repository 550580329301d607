#include "nabla/ir/fused.h"

#include <algorithm>

#include <fmt/format.h>

#include "nabla/ir/fused_views.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/error.h"

namespace nabla {


// A gather reads its operands where they are (its table and its index: body
// inputs or constants); a scatter_add, likewise for its base (or a broadcast
// one-element constant: the result is filled) and index, is the body's only
// result and feeds nothing.
static bool filled(const Node* base) {
  return base->op() == Op::BroadcastTo && base->operand(0)->op() == Op::Constant &&
         base->operand(0)->type().numel() == 1;
}

static void check_indexed(const Node& n, bool sole_result) {
  auto fail = [](const std::string& m) { throw Error("fused: " + m); };
  for (size_t i = 0; i < 2; ++i) {
    Op o = n.operand(i)->op();
    if (i == 0 && n.op() == Op::ScatterAdd && filled(n.operand(0))) continue;
    if (o != Op::Input && o != Op::Constant)
      fail(fmt::format("operand {} of a body's {} must be a body input or a constant", i, op_name(n.op())));
  }
  if (n.op() == Op::ScatterAdd && !sole_result) fail("a body's scatter_add must be its only result");
}

TensorType check_fused_body(std::span<const TensorType> operands, const Function& body) {
  auto fail = [](const std::string& m) { throw Error("fused: " + m); };
  if (body.inputs().size() != operands.size())
    fail(fmt::format("the body has {} inputs for {} operands", body.inputs().size(), operands.size()));
  for (size_t i = 0; i < operands.size(); ++i)
    if (body.inputs()[i]->type() != operands[i])
      fail(fmt::format("body input {} is {}, but operand {} is {}", i, body.inputs()[i]->type().str(), i,
                       operands[i].str()));
  const auto& results = body.results();
  if (results.empty()) fail("the body has no result");
  // At most one matmul (a GEMM epilogue's product) and at most one reduction,
  // a result that feeds nothing in the body.
  const Node* reduction = nullptr;
  const Node* product = nullptr;
  const Node* view = nullptr;
  bool scatter = false, indexed = false;
  for (const Node* n : body) {
    if (n->op() == Op::Fused) fail("fused regions do not nest");
    if (is_view_op(n->op())) {  // read in place (ir/fused_views.h)
      view = n;
      for (const Node* o : n->operands())
        if (o->op() != Op::Input && o->op() != Op::Constant && !is_view_op(o->op()))
          fail(fmt::format("the operands of a body's {} must be body inputs, constants, slices or concats",
                           op_name(n->op())));
      continue;
    }
    if (n->op() == Op::MatMul) {
      if (product) fail("a body holds at most one matmul");
      product = n;
      for (const Node* o : n->operands())
        if (o->op() != Op::Input) fail("the operands of a body's matmul must be body inputs");
      for (size_t i = 0; i < results.size(); ++i)
        if (n->type() != results[i]->type())
          fail(fmt::format("the body's matmul is {}, but result {} is {}", n->type().str(), i,
                           results[i]->type().str()));
      continue;
    }
    bool is_result = std::find(results.begin(), results.end(), n) != results.end();
    if (n->op() == Op::Gather || n->op() == Op::ScatterAdd) {
      check_indexed(*n, is_result && results.size() == 1 && n->users().empty());
      scatter = scatter || n->op() == Op::ScatterAdd;
      indexed = true;
    } else if (op_kind(n->op()) == OpKind::Reduce && is_result && n->users().empty()) {
      if (reduction) fail("a body holds at most one reduction");
      reduction = n;
    } else if (!is_loop_op(n->op()) && n->op() != Op::Constant) {
      fail(fmt::format("body op {} is not elementwise", op_name(n->op())));
    }
  }
  if (product && reduction) fail("a body with a matmul cannot end in a reduction");
  if (view && (product || reduction))
    fail(fmt::format("a body that reads a {} in place cannot hold a matmul or a reduction", op_name(view->op())));
  if (scatter && (product || reduction)) fail("a body that ends in a scatter_add holds no matmul or reduction");
  if (view && indexed)
    fail(fmt::format("a body that reads a {} in place holds no gather or scatter_add", op_name(view->op())));
  // The results share one loop: the elementwise ones have its shape, and the
  // reduction's operand has it.
  if (results.size() > 1) {
    const Shape& loop = reduction ? reduction->operand(0)->shape() : results[0]->shape();
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i] == reduction || results[i]->shape() == loop) continue;
      if (reduction)
        fail(fmt::format("body result {} is {}, but the body loops over {} (its reduction's operand)", i,
                         results[i]->type().str(), shape_to_string(loop)));
      fail(fmt::format("body result {} is {}, but result 0 is {}: the results of one body share their shape",
                       i, results[i]->type().str(), results[0]->type().str()));
    }
  }
  try {
    verify(body);
  } catch (const Error& e) {
    fail(std::string("invalid body: ") + e.what());
  }
  return results[0]->type();
}

const Node* fused_matmul(const Node& n) {
  if (n.op() != Op::Fused || !n.body()) return nullptr;
  for (const Node* b : *n.body())
    if (b->op() == Op::MatMul) return b;
  return nullptr;
}

static std::vector<TensorType> operand_types(Function& f, const std::vector<Node*>& operands) {
  std::vector<TensorType> types;
  for (const Node* o : operands) {
    if (!o || o->function() != &f) throw Error("fused: an operand is not a value of @" + f.name());
    types.push_back(o->type());
  }
  return types;
}

Node* make_fused(Function& f, std::vector<Node*> operands, std::shared_ptr<const Function> body) {
  if (!body) throw Error("fused: no body");
  std::vector<TensorType> types = operand_types(f, operands);
  TensorType type = check_fused_body(types, *body);
  if (body->results().size() != 1)
    throw Error(fmt::format("fused: the body has {} results: make its group of nodes", body->results().size()));
  Node* n = f.create(Op::Fused, std::move(operands), {}, type);
  n->set_body(std::move(body));
  return n;
}

std::vector<Node*> make_fused_group(Function& f, std::vector<Node*> operands,
                                    std::shared_ptr<const Function> body) {
  if (!body) throw Error("fused: no body");
  std::vector<TensorType> types = operand_types(f, operands);
  check_fused_body(types, *body);
  std::vector<Node*> group;
  for (size_t i = 0; i < body->results().size(); ++i) {
    Node* n = f.create(Op::Fused, operands, {}, body->results()[i]->type());
    n->set_body(body, static_cast<int>(i));
    group.push_back(n);
  }
  return group;
}

std::vector<Node*> fused_group(const Node* n) {
  Node* self = const_cast<Node*>(n);
  if (!n->body() || n->body()->results().size() < 2) return {self};
  const Function* body = n->body();
  Node* first = self;
  while (first->prev() && first->prev()->body() == body) first = first->prev();
  std::vector<Node*> group;
  for (Node* m = first; m && m->body() == body; m = m->next()) group.push_back(m);
  return group;
}

bool calls_libm(const Function& body) {
  return std::any_of(body.begin(), body.end(), [](const Node* n) { return calls_libm(n->op()); });
}

bool plain_loop_body(const Function& body) {
  return std::none_of(body.begin(), body.end(),
                      [](const Node* n) { return is_view_op(n->op()) || n->op() == Op::ScatterAdd; });
}

bool body_reduces(const Function& body) {
  const auto& rs = body.results();
  return std::any_of(rs.begin(), rs.end(), [](const Node* r) { return op_kind(r->op()) == OpKind::Reduce; });
}

const Shape& body_loop_shape(const Function& body) {
  for (const Node* r : body.results())
    if (op_kind(r->op()) == OpKind::Reduce) return r->operand(0)->shape();
  return body.results()[0]->shape();
}

}  // namespace nabla
