#include "nabla/passes/fuse_matmul.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <unordered_map>

#include "nabla/ir/fused.h"

namespace nabla {
namespace {

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

// u (a node, or the first of a group of sibling regions) can be m's epilogue.
bool fusible_user(const Node& m, const Node& u) {
  if (u.type() != m.type()) return false;
  auto readable = [&](const Node* v) { return v == &m || epilogue_readable(v->shape(), u.shape()); };
  for (const Node* o : u.operands())
    if (!readable(o)) return false;
  if (u.op() == Op::Fused) {
    const Function* body = u.body();
    if (!body || fused_matmul(u) || op_kind(body->results()[0]->op()) == OpKind::Reduce)
      return false;  // a product already, a reduction
    for (const Node* r : body->results())  // every result is stored as C is
      if (r->type() != m.type()) return false;
    for (const Node* n : *body) {
      if (n->op() == Op::Input) continue;
      if (calls_libm(n->op()) || !(is_loop_op(n->op()) || n->op() == Op::Constant)) return false;
      if (n->op() == Op::Constant && !epilogue_readable(n->shape(), u.shape())) return false;
    }
    return true;
  }
  return is_elementwise(u.op()) && !calls_libm(u.op());
}

// What to fuse with product m: its user, whether m stays a result of the
// new node (a group: m has other users or is returned), and where the node
// goes (before `at`).
struct Fusion {
  std::vector<Node*> user;  // a node, or a group of sibling regions
  bool keep_product = false;
  Node* at = nullptr;
};

Fusion plan_fusion(Function& f, Node& m) {
  if (m.op() != Op::MatMul || !is_float(m.dtype()) || product_work(m) < kGemmMinWork) return {};
  std::unordered_map<const Node*, int> position;
  int next = 0;
  for (Node* n : f) position[n] = next++;
  auto pos = [&](const Node* n) {  // inputs come first
    auto it = position.find(n);
    return it == position.end() ? -1 : it->second;
  };
  // The first user, in schedule order, that can be the epilogue (with its
  // sibling regions, which share its operands).
  Node* u = nullptr;
  for (Node* v : m.users()) {
    Node* first = fused_group(v)[0];
    if ((!u || pos(first) < pos(u)) && fusible_user(m, *first)) u = first;
  }
  if (!u) return {};
  std::vector<Node*> group = fused_group(u);
  auto in_group = [&](const Node* v) { return std::find(group.begin(), group.end(), v) != group.end(); };
  const auto& results = f.results();
  bool kept = std::find(results.begin(), results.end(), &m) != results.end();
  bool after_u = true;  // every other user of m comes after u
  for (const Node* v : m.users())
    if (!in_group(v)) kept = true, after_u = after_u && pos(v) > pos(u);
  if (!kept || after_u) return {group, kept, u};
  // The node must then stand at m: u's other operands must exist by then.
  for (const Node* o : u->operands())
    if (o != &m && pos(o) > pos(&m)) return {};
  return {group, true, &m};
}

void fuse_pair(Function& f, Node* m, const Fusion& plan) {
  Node* u = plan.user[0];
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
  std::vector<Node*> results;
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
    for (const Node* r : u->body()->results()) results.push_back(map.at(r));
  } else {
    results.push_back(body->create(u->op(), std::move(args), u->attrs(), u->type()));
    results.back()->set_name(u->name());
  }
  if (plan.keep_product) body->output(product);
  for (Node* r : results) body->output(r);
  InsertionGuard guard(f, plan.at);
  std::vector<Node*> group = make_fused_group(f, std::move(operands), std::move(body));
  const size_t first = plan.keep_product ? 1 : 0;
  for (size_t i = 0; i < plan.user.size(); ++i) {
    Node* old = plan.user[i];
    group[first + i]->set_name(old->name());
    group[first + i]->set_loc(old->loc());
    old->set_name("");
    f.replace_all_uses(old, group[first + i]);
  }
  for (auto it = plan.user.rbegin(); it != plan.user.rend(); ++it) f.erase(*it);
  if (plan.keep_product) {
    group[0]->set_name(m->name());
    group[0]->set_loc(m->loc());
    m->set_name("");
    f.replace_all_uses(m, group[0]);
  }
  f.erase(m);
}

}  // namespace

bool fuse_matmul(Function& f) {
  std::vector<Node*> products;
  for (Node* n : f)
    if (n->op() == Op::MatMul) products.push_back(n);
  bool changed = false;
  for (Node* m : products) {
    // Checked now: an earlier fusion may have taken this product's user.
    if (Fusion plan = plan_fusion(f, *m); !plan.user.empty()) {
      fuse_pair(f, m, plan);
      changed = true;
    }
  }
  return changed;
}

std::unique_ptr<Pass> create_fuse_matmul_pass() { return make_pass(fuse_matmul); }

}  // namespace nabla
