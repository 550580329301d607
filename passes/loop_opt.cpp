#include "nabla/passes/loop_opt.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/builder.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/cse.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using NodeMap = std::unordered_map<const Node*, Node*>;

// The loop `group` becomes a new loop over `operands` with these bodies;
// result i of the old loop is result from[i] of the new one (-1: unused).
std::vector<Node*> replace_loop(Function& f, const std::vector<Node*>& group, std::vector<Node*> operands,
                                const Attrs& attrs, std::shared_ptr<const Function> body,
                                std::shared_ptr<const Function> cond, const std::vector<int>& from) {
  InsertionGuard guard(f, group[0]);
  const Node& n = *group[0];
  std::vector<Node*> made = make_loop(f, n.op(), std::move(operands), attrs, std::move(body), std::move(cond));
  std::vector<std::string> names(made.size());
  for (Node* m : group) {
    int r = from[static_cast<size_t>(m->body_result())];
    if (r < 0) continue;
    f.replace_all_uses(m, made[static_cast<size_t>(r)]);
    names[static_cast<size_t>(r)] = m->name();
  }
  for (auto it = group.rbegin(); it != group.rend(); ++it) f.erase(*it);
  for (size_t i = 0; i < made.size(); ++i) made[i]->set_name(names[i]);
  return made;
}

bool unused(const Function& f, const Node* n) {
  return n->users().empty() && std::find(f.results().begin(), f.results().end(), n) == f.results().end();
}

// Whether nothing reads result i of the loop `group` (found by its body
// result, not by its place in the group).
bool unused_result(const Function& f, const std::vector<Node*>& group, size_t i) {
  for (const Node* m : group)
    if (static_cast<size_t>(m->body_result()) == i) return unused(f, m);
  return true;
}

// Drops the stacked outputs nothing reads.
bool drop_unused_ys(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  const Function& body = *n.body();
  LoopLayout l = loop_layout(n);
  std::vector<int> from(body.results().size());
  bool any = false;
  int next = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    bool drop = i >= l.carry && unused_result(f, group, i);
    any |= drop;
    from[i] = drop ? -1 : next++;
  }
  // Nothing read at all (no carries, no stacked output used): a loop without
  // results cannot be built; dce removes the whole loop.
  if (!any || next == 0) return false;
  auto out = std::make_shared<Function>(body.name());
  NodeMap map;
  for (const Node* in : body.inputs()) map[in] = out->input(in->name(), in->type());
  for (const Node* b : body) clone_node(*b, *out, map, true);
  for (size_t i = 0; i < body.results().size(); ++i)
    if (from[i] >= 0) out->output(map.at(body.results()[i]));
  replace_loop(f, group, {n.operands().begin(), n.operands().end()}, n.attrs(), out, n.shared_cond(), from);
  return true;
}

// A splat constant zero (possibly broadcast or reshaped).
bool is_zero_splat(const Node* n) {
  while (n->op() == Op::BroadcastTo || n->op() == Op::Reshape) n = n->operand(0);
  if (n->op() != Op::Constant) return false;
  const Tensor& t = n->attrs().value;
  return t.numel() > 0 && t.is_splat() && t.get(0) == 0;
}

bool is_result(const Function& f, const Node* n) {
  return std::count(f.results().begin(), f.results().end(), n) > 0;
}

// Whether carry j of n is an accumulator: result j is c_j + d, or the same
// carry of a loop in the body that takes c_j and accumulates it; that result
// read by nothing but the result list (once), and c_j read by it alone.
bool accumulates(const Node& n, size_t j) {
  const Function& body = *n.body();
  const Node *in = body.inputs()[j], *r = body.results()[j];
  if (r->type() != in->type() || !r->users().empty()) return false;
  if (std::count(body.results().begin(), body.results().end(), r) != 1 || is_result(body, in)) return false;
  if (n.cond() && !n.cond()->inputs()[j]->users().empty()) return false;
  if (r->op() == Op::Add) return in->users().size() == 1 && (r->operand(0) == in) != (r->operand(1) == in);
  if (!is_loop(r->op())) return false;
  std::vector<Node*> group = fused_group(r);
  for (const Node* u : in->users())
    if (std::find(group.begin(), group.end(), u) == group.end()) return false;
  size_t p = static_cast<size_t>(r->body_result());
  if (p >= loop_layout(*r).carry) return false;
  for (size_t i = 0; i < r->num_operands(); ++i)
    if ((r->operand(i) == in) != (i == p)) return false;
  return accumulates(*r, p);
}

// Whether operand o of the loop result b reaches b: not when o enters b's
// loop only as accumulators (above) of other carries than b's.
bool reaches(const Node* b, const Node* o) {
  if (!is_loop(b->op())) return true;
  size_t carry = loop_layout(*b).carry;
  for (size_t i = 0; i < b->num_operands(); ++i)
    if (b->operand(i) == o && (i >= carry || static_cast<int64_t>(i) == b->body_result() || !accumulates(*b, i)))
      return true;
  return false;
}

// Drops a scan's carry whose final value nothing reads when only its own
// next value depends on it (an accumulator of a gradient nobody asked for;
// also through a loop in the body that accumulates into it, which then
// starts from zeros).
bool drop_dead_carries(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  if (n.op() != Op::Scan || n.body()->results().size() < 2) return false;  // dce removes a loop nobody reads
  LoopLayout l = loop_layout(n);
  const Function& body = *n.body();
  for (size_t j = 0; j < l.carry; ++j) {
    if (!unused_result(f, group, j)) continue;
    std::unordered_set<const Node*> reach{body.inputs()[j]};
    for (const Node* b : body)
      for (const Node* o : b->operands())
        if (reach.count(o) && reaches(b, o)) reach.insert(b);
    bool alone = true;
    for (size_t r = 0; r < body.results().size(); ++r)
      alone = alone && (r == j || !reach.count(body.results()[r]));
    if (!alone) continue;
    auto out = std::make_shared<Function>(body.name());
    NodeMap map;
    for (size_t i = 0; i < body.inputs().size(); ++i)
      if (i != j) map[body.inputs()[i]] = out->input(body.inputs()[i]->name(), body.inputs()[i]->type());
    // A loop that accumulated into it starts from zeros (its result unread now).
    const TensorType& t = body.inputs()[j]->type();
    Value zeros = constant(*out, 0.0, t.dtype);
    map[body.inputs()[j]] = t.shape.empty() ? zeros.node : broadcast_to(zeros, t.shape).node;
    std::unordered_set<const Node*> kept;  // with the whole group of a loop partly reached
    for (const Node* b : body)
      if (!reach.count(b))
        for (const Node* m : fused_group(b)) kept.insert(m);
    for (const Node* b : body)
      if (kept.count(b)) clone_node(*b, *out, map, true);
    for (size_t r = 0; r < body.results().size(); ++r)
      if (r != j) out->output(map.at(body.results()[r]));
    std::vector<Node*> operands(n.operands().begin(), n.operands().end());
    operands.erase(operands.begin() + static_cast<std::ptrdiff_t>(j));
    Attrs a = n.attrs();
    a.num_carry -= 1;
    std::vector<int> from(body.results().size());
    for (size_t i = 0; i < from.size(); ++i) from[i] = i == j ? -1 : static_cast<int>(i < j ? i : i - 1);
    replace_loop(f, group, std::move(operands), a, out, nullptr, from);
    return true;
  }
  return false;
}

std::vector<int> identity(size_t n) {
  std::vector<int> from(n);
  for (size_t i = 0; i < n; ++i) from[i] = static_cast<int>(i);
  return from;
}

// Drops a scan's xs and invariants that its body does not read (a tape that
// only a dropped carry read, a weight of a gradient nobody asked for), so that
// what computes them can go too. Not with a trip count given at run time.
bool drop_unused_inputs(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  const Function& body = *n.body();
  if (n.op() != Op::Scan) return false;
  LoopLayout l = loop_layout(n);
  if (l.count >= 0) return false;
  std::vector<bool> drop(body.inputs().size(), false);
  bool any = false;
  for (size_t i = l.carry; i < drop.size(); ++i) any |= drop[i] = unused(body, body.inputs()[i]);
  if (!any) return false;
  auto out = std::make_shared<Function>(body.name());
  NodeMap map;
  std::vector<Node*> operands;
  Attrs a = n.attrs();
  for (size_t i = 0; i < drop.size(); ++i) {
    const Node* in = body.inputs()[i];
    if (drop[i]) {
      a.num_xs -= i < l.carry + l.xs ? 1 : 0;
      continue;
    }
    map[in] = out->input(in->name(), in->type());
    operands.push_back(n.operand(i));
  }
  for (const Node* b : body) clone_node(*b, *out, map, true);
  for (const Node* r : body.results()) out->output(map.at(r));
  replace_loop(f, group, std::move(operands), a, out, nullptr, identity(body.results().size()));
  return true;
}

// A while's condition body for the loop's operands plus the new invariants
// operands[n.num_operands()...] (which it takes unused); null for a scan.
std::shared_ptr<const Function> cond_with_invariants(const Node& n, std::span<Node* const> operands) {
  std::shared_ptr<const Function> cond = n.shared_cond();
  if (!cond || operands.size() == n.num_operands()) return cond;
  auto c = std::make_shared<Function>(cond->name());
  NodeMap cm;
  for (const Node* in : cond->inputs()) cm[in] = c->input(in->name(), in->type());
  for (size_t i = n.num_operands(); i < operands.size(); ++i) c->input(c->unique_name("inv"), operands[i]->type());
  for (const Node* b : *cond) clone_node(*b, *c, cm, true);
  for (const Node* r : cond->results()) c->output(cm.at(r));
  return c;
}

// Hoists the invariant nodes of the (step) body out of the loop.
bool hoist_invariants(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  LoopLayout l = loop_layout(n);
  const Function& body = *n.body();
  std::unordered_set<const Node*> invariant;
  for (size_t i = l.carry + l.xs; i < body.inputs().size(); ++i) invariant.insert(body.inputs()[i]);
  std::vector<const Node*> hoisted;
  for (const Node* b : body) {
    if (b->op() == Op::Constant || b->body() || b->op() == Op::Grad || has_flag(b->op(), kMayFail) ||
        is_collective(b->op()))
      continue;
    bool depends = false, ok = true;
    for (const Node* o : b->operands()) {
      if (invariant.count(o)) depends = true;
      else if (o->op() != Op::Constant) ok = false;
    }
    if (ok && depends) {
      invariant.insert(b);
      hoisted.push_back(b);
    }
  }
  if (hoisted.empty()) return false;
  // Outside: the hoisted nodes on the loop's invariant operands.
  NodeMap outside;
  for (size_t i = l.carry + l.xs; i < body.inputs().size(); ++i) outside[body.inputs()[i]] = n.operand(i);
  InsertionGuard guard(f, group[0]);
  for (const Node* h : hoisted)
    for (const Node* o : h->operands())
      if (o->op() == Op::Constant && !outside.count(o)) clone_node(*o, f, outside, false);
  for (const Node* h : hoisted) clone_node(*h, f, outside, false);
  // Inside: the hoisted values the rest of the body reads become inputs.
  std::unordered_set<const Node*> hoisted_set(hoisted.begin(), hoisted.end()), needed;
  for (const Node* b : body)
    if (!hoisted_set.count(b))
      for (const Node* o : b->operands())
        if (hoisted_set.count(o)) needed.insert(o);
  for (const Node* r : body.results())
    if (hoisted_set.count(r)) needed.insert(r);
  auto new_body = std::make_shared<Function>(body.name());
  NodeMap map;
  for (const Node* in : body.inputs()) map[in] = new_body->input(in->name(), in->type());
  std::vector<Node*> operands(n.operands().begin(), n.operands().end());
  for (const Node* h : hoisted)
    if (needed.count(h)) {
      map[h] = new_body->input(new_body->unique_name("inv"), h->type());
      operands.push_back(outside.at(h));
    }
  for (const Node* b : body)
    if (!hoisted_set.count(b)) clone_node(*b, *new_body, map, true);
  for (const Node* r : body.results()) new_body->output(map.at(r));
  std::shared_ptr<const Function> cond = cond_with_invariants(n, operands);
  replace_loop(f, group, std::move(operands), n.attrs(), new_body, cond, identity(n.body()->results().size()));
  return true;
}

// An invariant read transposed by a matmul of the body (transpose_b) is
// transposed once before the loop: the GEMM packs (turns around) a
// transposed B on every call, and reads a plain one in place. The body's
// matmul reads the transposed copy, a new invariant, without the flag: the
// same products summed in the same order.
bool pretranspose_invariants(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  LoopLayout l = loop_layout(n);
  const Function& body = *n.body();
  auto invariant_index = [&](const Node* v) -> size_t {
    for (size_t i = l.carry + l.xs; i < body.inputs().size(); ++i)
      if (body.inputs()[i] == v) return i;
    return body.inputs().size();  // not an invariant
  };
  std::vector<Node*> operands(n.operands().begin(), n.operands().end());
  std::unordered_map<const Node*, size_t> transposed;  // body input -> operand index of its transpose
  InsertionGuard guard(f, group[0]);
  for (const Node* b : body) {
    if (b->op() != Op::MatMul || !b->attrs().transpose_b) continue;
    size_t i = invariant_index(b->operand(1));
    if (i == body.inputs().size() || transposed.count(b->operand(1))) continue;
    int64_t r = b->operand(1)->type().rank();
    std::vector<int64_t> perm(static_cast<size_t>(r));
    for (int64_t k = 0; k < r; ++k) perm[static_cast<size_t>(k)] = k < r - 2 ? k : (k == r - 2 ? r - 1 : r - 2);
    transposed[b->operand(1)] = operands.size();
    operands.push_back(transpose(n.operand(i), perm));
  }
  if (transposed.empty()) return false;
  auto new_body = std::make_shared<Function>(body.name());
  NodeMap map;
  for (const Node* in : body.inputs()) map[in] = new_body->input(in->name(), in->type());
  std::vector<Node*> extra;
  for (size_t i = n.num_operands(); i < operands.size(); ++i)
    extra.push_back(new_body->input(new_body->unique_name("inv"), operands[i]->type()));
  for (const Node* b : body) {
    auto t = b->op() == Op::MatMul && b->attrs().transpose_b ? transposed.find(b->operand(1)) : transposed.end();
    if (t == transposed.end()) {
      clone_node(*b, *new_body, map, true);
      continue;
    }
    Node* m = matmul(map.at(b->operand(0)), extra[t->second - n.num_operands()], b->attrs().transpose_a, false);
    m->set_name(b->name());
    map[b] = m;
  }
  for (const Node* r : body.results()) new_body->output(map.at(r));
  std::shared_ptr<const Function> cond = cond_with_invariants(n, operands);
  replace_loop(f, group, std::move(operands), n.attrs(), new_body, cond, identity(n.body()->results().size()));
  return true;
}

// The first scan after `group` over the same operands with the same
// attributes, or null.
Node* twin_scan(const std::vector<Node*>& group) {
  const Node& n = *group[0];
  uint32_t mask = op_attr_mask(Op::Scan);
  for (Node* m = group.back()->next(); m; m = m->next())
    if (m->op() == Op::Scan && m->body_result() == 0 && m->operands().size() == n.operands().size() &&
        std::equal(n.operands().begin(), n.operands().end(), m->operands().begin()) &&
        m->attrs().equal(n.attrs(), mask))
      return m;
  return nullptr;
}

// Two scans over the same operands whose bodies compute the same carries
// (a forward scan and the tape build-grad adds for its gradient) become one
// scan: the carries once, the ys of both (a y computed by both, once).
bool merge_twins(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  if (n.op() != Op::Scan) return false;
  Node* twin = twin_scan(group);
  if (!twin) return false;
  LoopLayout l = loop_layout(n);
  const Function &a = *n.body(), &b = *twin->body();
  auto body = std::make_shared<Function>(a.name());
  std::vector<Node*> in;
  for (const Node* i : a.inputs()) in.push_back(body->input(i->name(), i->type()));
  for (Node* r : inline_function(a, *body, in)) body->output(r);
  for (Node* r : inline_function(b, *body, in)) body->output(r);
  cse(*body);
  const std::vector<Node*>& r = body->results();
  size_t na = a.results().size();
  for (size_t j = 0; j < l.carry; ++j)
    if (r[j] != r[na + j]) return false;  // the carries differ (or cse cannot tell)
  std::vector<Node*> results(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(na));
  std::vector<size_t> twin_from(b.results().size());  // result i of twin: result twin_from[i] of the merged scan
  for (size_t i = 0; i < twin_from.size(); ++i) {
    Node* v = r[na + i];
    auto at = i < l.carry ? results.begin() + static_cast<std::ptrdiff_t>(i)
                          : std::find(results.begin() + static_cast<std::ptrdiff_t>(l.carry), results.end(), v);
    if (at == results.end()) at = results.insert(at, v);
    twin_from[i] = static_cast<size_t>(at - results.begin());
  }
  body->clear_results();
  for (Node* v : results) body->output(v);
  std::vector<Node*> twin_group = fused_group(twin);
  std::vector<Node*> made = replace_loop(f, group, {n.operands().begin(), n.operands().end()}, n.attrs(), body,
                                         nullptr, identity(n.body()->results().size()));
  for (Node* m : twin_group) {
    Node* to = made[twin_from[static_cast<size_t>(m->body_result())]];
    if (to->name().empty()) to->set_name(m->name());
    f.replace_all_uses(m, to);
  }
  for (auto it = twin_group.rbegin(); it != twin_group.rend(); ++it) f.erase(*it);
  return true;
}

// ---- A loop absorbed by a loop that extends it ----
// Forward mode's tangent loop (passes/forward_loop.cpp) runs the steps of its
// primal loop again beside the tangents: its operands hold the primal's part
// by part (carries, xs, invariants) and its body computes the primal's
// results too. Then the primal's users read the extension's results and the
// primal loop goes, so the steps run once.

// For each operand of n, the position of the same value in the same part of
// m's operands (its own index within the part first, else the first unused
// match); nullopt when one has none.
std::optional<std::vector<size_t>> operand_positions(const Node& n, const Node& m) {
  LoopLayout a = loop_layout(n), b = loop_layout(m);
  size_t a_start[] = {0, a.carry, a.carry + a.xs, n.num_operands()};
  size_t b_start[] = {0, b.carry, b.carry + b.xs, m.num_operands()};
  std::vector<size_t> pos;
  std::vector<bool> used(m.num_operands());
  for (size_t part = 0; part < 3; ++part)
    for (size_t i = a_start[part]; i < a_start[part + 1]; ++i) {
      size_t own = b_start[part] + (i - a_start[part]), found = m.num_operands();
      auto fits = [&](size_t k) { return k < b_start[part + 1] && !used[k] && m.operand(k) == n.operand(i); };
      if (fits(own)) found = own;
      for (size_t k = b_start[part]; found == m.num_operands() && k < b_start[part + 1]; ++k)
        if (fits(k)) found = k;
      if (found == m.num_operands()) return std::nullopt;
      used[found] = true;
      pos.push_back(found);
    }
  return pos;
}

// Which result of m equals each result of n, when m's bodies compute n's: n's
// body (and a while's condition) on m's inputs at `pos`, beside m's, made one
// by cse. Carry j must be m's carry pos[j] (by induction over the steps the
// two carries are then equal); a y may be any of m's ys.
std::optional<std::vector<int>> results_within(const Node& n, const Node& m, const std::vector<size_t>& pos) {
  LoopLayout a = loop_layout(n), b = loop_layout(m);
  auto side_by_side = [&](const Function& fa, const Function& fb) {
    auto both = std::make_unique<Function>("both");
    std::vector<Node*> in = add_inputs(*both, input_types(fb)), sub;
    for (size_t p : pos) sub.push_back(in[p]);
    for (Node* r : inline_function(fa, *both, sub)) both->output(r);
    for (Node* r : inline_function(fb, *both, in)) both->output(r);
    cse(*both);
    return both;
  };
  if (n.op() == Op::While) {
    std::unique_ptr<Function> c = side_by_side(*n.cond(), *m.cond());
    if (c->results()[0] != c->results()[1]) return std::nullopt;
  }
  std::unique_ptr<Function> both = side_by_side(*n.body(), *m.body());
  const std::vector<Node*>& r = both->results();
  size_t na = n.body()->results().size();
  std::vector<int> from(na, -1);
  for (size_t j = 0; j < a.carry; ++j)
    if (r[j] == r[na + pos[j]]) from[j] = static_cast<int>(pos[j]);
  for (size_t j = a.carry; j < na; ++j)
    for (size_t k = b.carry; k < r.size() - na && from[j] < 0; ++k)
      if (r[j] == r[na + k]) from[j] = static_cast<int>(k);
  if (std::find(from.begin(), from.end(), -1) != from.end()) return std::nullopt;
  return from;
}

// Moves m's group, and the nodes between `group` and m that it needs, to
// before `group`; false, with nothing moved, when any of them reads group.
bool move_above(Function& f, const std::vector<Node*>& group, const std::vector<Node*>& mgroup) {
  std::unordered_map<const Node*, size_t> between;
  for (Node* x = group.back()->next(); x != mgroup[0]; x = x->next()) between.emplace(x, between.size());
  std::unordered_set<const Node*> in_group(group.begin(), group.end()), need;
  std::vector<Node*> stack(mgroup[0]->operands().begin(), mgroup[0]->operands().end());
  while (!stack.empty()) {
    Node* o = stack.back();
    stack.pop_back();
    if (in_group.count(o)) return false;
    if (!between.count(o) || need.count(o)) continue;
    // A loop's (or fused region's) nodes move together: result i of a body
    // stays right after result i - 1 (the verifier's check_group).
    for (Node* x : fused_group(o)) need.insert(x);
    stack.insert(stack.end(), o->operands().begin(), o->operands().end());
  }
  std::vector<Node*> order;
  for (const Node* x : need) order.push_back(const_cast<Node*>(x));
  std::sort(order.begin(), order.end(), [&](Node* x, Node* y) { return between.at(x) < between.at(y); });
  order.insert(order.end(), mgroup.begin(), mgroup.end());
  for (Node* x : order) f.move_before(x, group[0]);
  return true;
}

bool absorb_into_extension(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  uint32_t mask = op_attr_mask(n.op()) & ~(attr::num_carry | attr::num_xs);
  for (Node* m = group.back()->next(); m; m = m->next()) {
    if (m->op() != n.op() || m->body_result() != 0 || !m->attrs().equal(n.attrs(), mask)) continue;
    std::optional<std::vector<size_t>> pos = operand_positions(n, *m);
    if (int64_t count = loop_layout(n).count; pos && count >= 0 && (*pos)[static_cast<size_t>(count)] != static_cast<size_t>(loop_layout(*m).count))
      continue;  // the run-time trip counts differ
    std::optional<std::vector<int>> from = pos ? results_within(n, *m, *pos) : std::nullopt;
    if (!from) continue;
    std::vector<Node*> mgroup = fused_group(m), to(group.size());
    for (size_t i = 0; i < group.size(); ++i)
      for (Node* x : mgroup)
        if (x->body_result() == (*from)[static_cast<size_t>(group[i]->body_result())]) to[i] = x;
    if (std::find(to.begin(), to.end(), nullptr) != to.end() || !move_above(f, group, mgroup)) continue;
    for (size_t i = 0; i < group.size(); ++i) {
      if (to[i]->name().empty()) to[i]->set_name(group[i]->name());
      f.replace_all_uses(group[i], to[i]);
    }
    for (auto it = group.rbegin(); it != group.rend(); ++it) f.erase(*it);
    return true;
  }
  return false;
}

// ---- Accumulators started from zero ----
// A carry that starts at zeros and is only ever added to (c' = c + d, c read
// by nothing else, c' by nothing but the next step), whose final value has one
// reader, x + c_N, starts from x instead: the loop then adds into one buffer
// and x + c_N disappears. build-grad makes these: the backward scan of a loop
// inside a loop body accumulates the invariants' gradient from zeros, and the
// enclosing backward body adds the result to its own accumulator.

// Whether x is defined before `at` in f (an input of f always is).
bool defined_before(const Node* x, const Node* at) {
  if (x->op() == Op::Input) return true;
  for (const Node* p = at->prev(); p; p = p->prev())
    if (p == x) return true;
  return false;
}

bool fold_accumulator_init(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  LoopLayout l = loop_layout(n);
  for (Node* m : group) {
    size_t j = static_cast<size_t>(m->body_result());
    if (j >= l.carry || !is_zero_splat(n.operand(j)) || m->users().size() != 1 || is_result(f, m)) continue;
    Node* u = m->users()[0];
    if (u->op() != Op::Add || u->type() != m->type()) continue;
    Node* x = u->operand(0) == m ? u->operand(1) : u->operand(0);
    if (x == m || x->type() != m->type() || !defined_before(x, group[0]) || !accumulates(n, j)) continue;
    std::vector<Node*> operands(n.operands().begin(), n.operands().end());
    operands[j] = x;
    std::vector<Node*> made = replace_loop(f, group, std::move(operands), n.attrs(), n.shared_body(),
                                           n.shared_cond(), identity(n.body()->results().size()));
    f.replace_all_uses(u, made[j]);
    f.erase(u);
    return true;
  }
  return false;
}

// A scan that does nothing: length 0, or carries passed through and no outputs.
bool remove_trivial(Function& f, const std::vector<Node*>& group) {
  const Node& n = *group[0];
  if (n.op() != Op::Scan) return false;
  LoopLayout l = loop_layout(n);
  const Function& body = *n.body();
  bool trivial = l.length == 0;
  if (!trivial && l.ys == 0) {
    trivial = true;
    for (size_t j = 0; j < l.carry; ++j) trivial = trivial && body.results()[j] == body.inputs()[j];
  }
  if (!trivial) return false;
  InsertionGuard guard(f, group[0]);
  for (Node* m : group) {
    size_t i = static_cast<size_t>(m->body_result());
    Node* r = i < l.carry ? n.operand(i) : constant(f, Tensor(m->dtype(), m->shape())).node;
    f.replace_all_uses(m, r);
  }
  for (auto it = group.rbegin(); it != group.rend(); ++it) f.erase(*it);
  return true;
}

}  // namespace

bool loop_opt(Function& f) {
  bool changed = false;
  for (Node* n = f.front(); n;) {
    if (!is_loop(n->op())) {
      n = n->next();
      continue;
    }
    std::vector<Node*> group = fused_group(n);
    Node* after = group.back()->next();
    if (remove_trivial(f, group) || drop_unused_ys(f, group) || drop_dead_carries(f, group) ||
        drop_unused_inputs(f, group) || hoist_invariants(f, group) || pretranspose_invariants(f, group) ||
        merge_twins(f, group) || absorb_into_extension(f, group) || fold_accumulator_init(f, group)) {
      changed = true;
      after = f.front();  // the new loop may improve again; restart (loops are few)
    }
    n = after;
  }
  return changed;
}

std::unique_ptr<Pass> create_loop_opt_pass() { return make_pass(loop_opt); }

}  // namespace nabla
