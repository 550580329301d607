#include "passes/fuse_matmul.h"

#include <algorithm>
#include <unordered_map>

#include "ir/fused.h"

namespace nabla {
namespace {

bool calls_libm(Op op) {
  switch (op) {
    case Op::Exp: case Op::Log: case Op::Log1p: case Op::Tanh: case Op::Sin: case Op::Cos:
    case Op::Pow: case Op::Sigmoid:
      return true;
    default:
      return false;
  }
}

int64_t product_work(const Node& m) {
  const Shape& a = m.operand(0)->shape();
  size_t r = a.size();
  int64_t k = m.attrs().transpose_a ? a[r - 2] : a[r - 1];
  return m.type().numel() * std::max<int64_t>(k, 1);
}

// A value read by the epilogue at every (batch, m, n) of `out`: its batch
// axes (right-aligned) must all broadcast or none, so that one stride per
// batch serves (the GEMM flattens the batch axes).
bool epilogue_readable(const Shape& s, const Shape& out) {
  if (s.size() > out.size()) return false;
  size_t pad = out.size() - s.size();
  bool all_one = true, all_full = true;
  for (size_t i = 0; i + 2 < out.size(); ++i) {
    int64_t d = i < pad ? 1 : s[i - pad];
    all_one = all_one && d == 1;
    all_full = all_full && d == out[i];
  }
  return all_one || all_full;
}

bool fusible_user(const Node& m, const Node& u) {
  if (u.type() != m.type()) return false;
  auto readable = [&](const Node* v) { return v == &m || epilogue_readable(v->shape(), u.shape()); };
  for (const Node* o : u.operands())
    if (!readable(o)) return false;
  if (u.op() == Op::Fused) {
    const Function* body = u.body();
    if (!body || body->results().size() != 1 || fused_matmul(u) ||
        op_kind(body->results()[0]->op()) == OpKind::Reduce)
      return false;  // a group of sibling results, a product already, a reduction
    for (const Node* n : *body) {
      if (n->op() == Op::Input) continue;
      if (calls_libm(n->op()) || !is_fusible_op(n->op())) return false;
      if (n->op() == Op::Constant && !epilogue_readable(n->shape(), u.shape())) return false;
    }
    return true;
  }
  return is_elementwise(u.op()) && !calls_libm(u.op());
}

// The single user of m when the pair can be fused, else null.
Node* epilogue_of(const Node& m, const std::vector<Node*>& results) {
  if (m.op() != Op::MatMul || !is_float(m.dtype()) || product_work(m) < kGemmMinWork) return nullptr;
  if (m.users().empty() || std::find(results.begin(), results.end(), &m) != results.end()) return nullptr;
  Node* u = m.users()[0];
  for (const Node* v : m.users())
    if (v != u) return nullptr;
  return fusible_user(m, *u) ? u : nullptr;
}

void fuse_pair(Function& f, Node* m, Node* u) {
  auto body = std::make_shared<Function>("fused");
  std::vector<Node*> operands{m->operand(0), m->operand(1)};
  Node* xa = body->input("x0", m->operand(0)->type());
  Node* xb = body->input("x1", m->operand(1)->type());
  Node* product = body->create(Op::MatMul, {xa, xb}, m->attrs(), m->type());
  product->set_name(m->name());
  product->set_loc(m->loc());
  // u's operands as body values.
  std::vector<Node*> args;
  for (Node* o : u->operands()) {
    if (o == m) {
      args.push_back(product);
      continue;
    }
    args.push_back(body->input("x" + std::to_string(operands.size()), o->type()));
    operands.push_back(o);
  }
  Node* result = nullptr;
  if (u->op() == Op::Fused) {
    std::unordered_map<const Node*, Node*> map;
    for (size_t i = 0; i < args.size(); ++i) map[u->body()->inputs()[i]] = args[i];
    for (const Node* n : *u->body()) {
      if (n->op() == Op::Input) continue;
      std::vector<Node*> ops;
      for (const Node* o : n->operands()) ops.push_back(map.at(o));
      Node* c = body->create(n->op(), std::move(ops), n->attrs(), n->type());
      c->set_name(n->name());
      c->set_loc(n->loc());
      map[n] = c;
    }
    result = map.at(u->body()->results()[0]);
  } else {
    result = body->create(u->op(), std::move(args), u->attrs(), u->type());
    result->set_name(u->name());
  }
  body->output(result);
  InsertionGuard guard(f, u);
  Node* fused = make_fused(f, std::move(operands), std::move(body));
  fused->set_name(u->name());
  fused->set_loc(u->loc());
  u->set_name("");
  f.replace_all_uses(u, fused);
  f.erase(u);
  f.erase(m);
}

class FuseMatmulPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-matmul"; }
  bool run(Function& f) override { return fuse_matmul(f); }
};

}  // namespace

bool fuse_matmul(Function& f) {
  std::vector<Node*> products;
  for (Node* n : f)
    if (n->op() == Op::MatMul) products.push_back(n);
  bool changed = false;
  for (Node* m : products) {
    // Checked now: an earlier fusion may have taken this product's user.
    if (Node* u = epilogue_of(*m, f.results())) {
      fuse_pair(f, m, u);
      changed = true;
    }
  }
  return changed;
}

std::unique_ptr<Pass> create_fuse_matmul_pass() { return std::make_unique<FuseMatmulPass>(); }

}  // namespace nabla
