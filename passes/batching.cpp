// The batching rules: one per op family, each building from the node's
// operands (some carrying the leading batch axis of P, some not) the nodes
// that compute the node's value for all P at once, with the batch axis first.
// A rule may return a null Value to hand the node to the generic fallback.
#include "nabla/passes/batching.h"

#include <array>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/builder.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/reach.h"
#include "nabla/passes/dce.h"
#include "nabla/ir/limits.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

thread_local size_t fallbacks = 0;

// One operand as a rule sees it: its value and whether it has the batch axis.
struct Operand {
  Value v;
  bool batched = false;
};

struct Args {
  Node* n;  // the node being batched
  std::vector<Operand> ops;
  int64_t P;
  const Attrs& attrs() const { return n->attrs(); }
  Function& f() const { return *n->function(); }
  Value x(size_t i) const { return ops[i].v; }
  bool batched(size_t i) const { return ops[i].batched; }
  // n's op on the given operands and attributes.
  Value make(std::vector<Node*> operands, Attrs at) const { return f().make(n->op(), std::move(operands), std::move(at)); }
};
using Rule = Value (*)(const Args&);

Shape with_batch(int64_t P, const Shape& s) {
  Shape out{P};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

std::vector<int64_t> shifted(std::vector<int64_t> axes) {
  for (int64_t& a : axes) ++a;
  return axes;
}

// A batched operand of logical rank r made ready for NumPy broadcasting with
// values of logical rank `rank`: [P, 1 (rank - r times), s...].
Value lift(const Operand& o, size_t rank) {
  Shape s = o.v->shape();
  if (!o.batched || s.size() - 1 >= rank) return o.v;
  s.insert(s.begin() + 1, rank - (s.size() - 1), 1);
  return reshape(o.v, s);
}

// The operand with the batch axis: an unbatched one broadcast to [P] ++ shape.
Value materialize(const Operand& o, int64_t P) {
  return o.batched ? o.v : broadcast_to(o.v, with_batch(P, o.v->shape()));
}

// [P, N, ...] -> [P*N, ...] and back: the batch folded into the leading axis.
Value fold(Value v) {
  Shape s(v->shape().begin() + 1, v->shape().end());
  s[0] *= v->shape()[0];
  return reshape(v, s);
}
Value unfold(Value v, int64_t P) {
  Shape s = v->shape();
  s[0] /= P;
  s.insert(s.begin(), P);
  return reshape(v, s);
}

// The elementwise families: the batched operands lifted to the result's rank.
Value elementwise_rule(const Args& a) {
  std::vector<Node*> xs;
  for (const Operand& o : a.ops) xs.push_back(lift(o, a.n->shape().size()));
  return a.make(xs, a.attrs());
}

// Ops whose attribute `axis` counts from the front: one more.
Value axis_rule(const Args& a) {
  Attrs at = a.attrs();
  ++at.axis;
  return a.make({a.x(0)}, at);
}

// Ops that take the batch axis as one more leading axis unchanged.
Value same_rule(const Args& a) { return a.make({a.x(0)}, a.attrs()); }

Value reduce_rule(const Args& a) {
  Attrs at = a.attrs();
  at.axes = shifted(at.axes);
  return a.make({a.x(0)}, at);
}

// reshape, broadcast_to: [P] ++ shape (broadcast_to's operand lifted first).
Value shape_rule(const Args& a) {
  Attrs at = a.attrs();
  at.shape = with_batch(a.P, a.n->shape());
  return a.make({a.n->op() == Op::BroadcastTo ? lift(a.ops[0], a.n->shape().size()) : a.x(0)}, at);
}

Value transpose_rule(const Args& a) {
  Attrs at = a.attrs();
  at.perm = shifted(at.perm);
  at.perm.insert(at.perm.begin(), 0);
  return a.make({a.x(0)}, at);
}

Value slice_rule(const Args& a) {
  Attrs at = a.attrs();
  at.start.insert(at.start.begin(), 0);
  at.stop.insert(at.stop.begin(), a.P);
  at.step.insert(at.step.begin(), 1);
  return a.make({a.x(0)}, at);
}

Value concat_rule(const Args& a) {
  std::vector<Node*> xs;
  for (const Operand& o : a.ops) xs.push_back(materialize(o, a.P));
  Attrs at = a.attrs();
  ++at.axis;
  return a.make(xs, at);
}

// C[p] = op(A[p]) op(B) with B unbatched 2-D: the P products stacked as rows
// of one matmul ([P*m, k] by op(B)).
Value matmul_rows(const Args& a) {
  bool ta = a.attrs().transpose_a, tb = a.attrs().transpose_b;
  Value A = a.x(0);
  const Shape& s = A->shape();  // [P, m, k], or [P, k, m] when ta
  Value rows = ta ? reshape(transpose(A, {1, 0, 2}), {s[1], a.P * s[2]}) : reshape(A, {a.P * s[1], s[2]});
  return reshape(matmul(rows, a.x(1), ta, tb), with_batch(a.P, a.n->shape()));
}

// C[p] = op(A) op(B[p]) with A unbatched 2-D: the P products side by side as
// columns of one matmul (op(A) by [k, P*n]).
Value matmul_columns(const Args& a) {
  bool ta = a.attrs().transpose_a, tb = a.attrs().transpose_b;
  Value B = a.x(1);
  const Shape& s = B->shape();  // [P, k, n], or [P, n, k] when tb
  Value cols = tb ? reshape(B, {a.P * s[1], s[2]}) : reshape(transpose(B, {1, 0, 2}), {s[1], a.P * s[2]});
  Value c = matmul(a.x(0), cols, ta, tb);  // [m, P*n]
  int64_t m = a.n->shape()[0], n = a.n->shape()[1];
  if (m == 1) return reshape(c, {a.P, 1, n});
  return transpose(reshape(c, {m, a.P, n}), {1, 0, 2});
}

// Both batched: matmul's own batch axes; one batched 2-D product: rows or
// columns of one larger product; else the unbatched operand broadcast.
Value matmul_rule(const Args& a) {
  if (a.n->shape().size() == 2 && a.batched(0) != a.batched(1))
    return a.batched(0) ? matmul_rows(a) : matmul_columns(a);
  return a.make({materialize(a.ops[0], a.P), materialize(a.ops[1], a.P)}, a.attrs());
}

// gather with unbatched indices takes one more axis; batched indices: fallback.
Value gather_rule(const Args& a) {
  if (a.batched(1)) return {};
  Attrs at = a.attrs();
  ++at.axis;
  return a.make({a.x(0), a.x(1)}, at);
}

// scatter_add with unbatched indices: base and updates batched, one more axis.
Value scatter_add_rule(const Args& a) {
  if (a.batched(1)) return {};
  Attrs at = a.attrs();
  ++at.axis;
  return a.make({materialize(a.ops[0], a.P), a.x(1), materialize(a.ops[2], a.P)}, at);
}

// Pooling: the batch folded into the images' N.
Value pool_rule(const Args& a) { return unfold(a.make({fold(a.x(0))}, a.attrs()), a.P); }

// conv2d and conv2d_input_grad with only the first operand (the images or
// their gradient) batched: the batch folded into N.
Value conv_images(const Args& a) {
  Attrs at = a.attrs();
  if (!at.shape.empty()) at.shape[0] *= a.P;
  return unfold(a.make({fold(a.x(0)), a.x(1)}, at), a.P);
}

// A batched [P, N, G*K, ...] as [N, P*G*K, ...] with channels in the order
// (group, p, k): each group's channels of every p side by side, so that a
// grouped convolution sees the P copies of a group as one group.
Value channels_in(Value v, int64_t groups) {
  const Shape& s = v->shape();  // [P, N, G*K, H, W]
  Value t = transpose(reshape(v, {s[0], s[1], groups, s[2] / groups, s[3], s[4]}), {1, 2, 0, 3, 4, 5});
  return reshape(t, {s[1], s[0] * s[2], s[3], s[4]});
}

// The inverse: [N, P*G*K, H, W] (channels (group, p, k)) to [P, N, G*K, H, W].
Value channels_out(Value v, int64_t P, int64_t groups) {
  const Shape& s = v->shape();
  int64_t k = s[1] / P / groups;
  Value t = transpose(reshape(v, {s[0], groups, P, k, s[2], s[3]}), {2, 0, 1, 3, 4, 5});
  return reshape(t, {P, s[0], groups * k, s[2], s[3]});
}

// Weights [P, O, Cg, kh, kw] as [P*O, Cg, kh, kw] with the output channels
// in the order (group, p, o) (axis 1 of the weights: the O axis), or as
// [O, P*Cg, kh, kw] (axis 2: p folded beside each group's input channels).
Value weights_folded(Value w, int64_t groups, int axis) {
  const Shape& s = w->shape();
  if (axis == 2) return reshape(transpose(w, {1, 0, 2, 3, 4}), {s[1], s[0] * s[2], s[3], s[4]});
  Value t = transpose(reshape(w, {s[0], groups, s[1] / groups, s[2], s[3], s[4]}), {1, 0, 2, 3, 4, 5});
  return reshape(t, {s[0] * s[1], s[2], s[3], s[4]});
}

// [G*P*K, ...] (axis 0 in the order (group, p, k)) or [O, P*Cg, ...] back to
// batched weights [P, O, Cg, kh, kw].
Value weights_unfolded(Value w, int64_t P, int64_t groups, int axis) {
  const Shape& s = w->shape();
  if (axis == 2) return transpose(reshape(w, {s[0], P, s[1] / P, s[2], s[3]}), {1, 0, 2, 3, 4});
  Value t = transpose(reshape(w, {groups, P, s[0] / P / groups, s[1], s[2], s[3]}), {1, 0, 2, 3, 4, 5});
  return reshape(t, {P, s[0] / P, s[1], s[2], s[3]});
}

// conv2d(x, w): batched images fold into N; batched weights into the output
// channels (group by group), the result's channels unfolded again.
Value conv_rule(const Args& a) {
  if (a.batched(0) == a.batched(1)) return {};
  if (a.batched(0)) return conv_images(a);
  int64_t g = a.attrs().groups;
  return channels_out(a.make({a.x(0), weights_folded(a.x(1), g, 1)}, a.attrs()), a.P, g);
}

// conv2d_input_grad(g, w): a batched g folds into N; batched weights into
// the input channels, which the result has (group by group).
Value conv_input_grad_rule(const Args& a) {
  if (a.batched(0) == a.batched(1)) return {};
  if (a.batched(0)) return conv_images(a);
  Attrs at = a.attrs();
  at.shape[1] *= a.P;
  return channels_out(a.make({a.x(0), weights_folded(a.x(1), at.groups, 2)}, at), a.P, at.groups);
}

// conv2d_weight_grad(x, g): a batched g folds into the output channels, a
// batched x into the input channels (group by group); the weights unfolded.
Value conv_weight_grad_rule(const Args& a) {
  if (a.batched(0) == a.batched(1)) return {};
  int64_t g = a.attrs().groups;
  Attrs at = a.attrs();
  if (a.batched(1)) {
    at.shape[0] *= a.P;
    return weights_unfolded(a.make({a.x(0), channels_in(a.x(1), g)}, at), a.P, g, 1);
  }
  at.shape[1] *= a.P;
  return weights_unfolded(a.make({channels_in(a.x(0), g), a.x(1)}, at), a.P, g, 2);
}

struct Entry {
  OpKind kind;
  Rule rule;
};

// Rules by op family; the ops of a family that differ are listed by op below.
const Entry kKindRules[] = {
    // applied elementwise: batched operands lifted to the result's rank
    {OpKind::Unary, elementwise_rule},
    {OpKind::Binary, elementwise_rule},
    {OpKind::Compare, elementwise_rule},
    {OpKind::Select, elementwise_rule},
    {OpKind::Convert, elementwise_rule},
    // reductions: every reduced axis one further
    {OpKind::Reduce, reduce_rule},
    // across processes element by element: the batch is one more axis
    {OpKind::Collective, same_rule},
};

struct OpEntry {
  Op op;
  Rule rule;
};

const OpEntry kOpRules[] = {
    // the target shape gets the batch axis in front
    {Op::Reshape, shape_rule},
    {Op::BroadcastTo, shape_rule},
    // perm [0, perm[i] + 1 ...]
    {Op::Transpose, transpose_rule},
    // the whole batch axis, [0, P), step 1
    {Op::Slice, slice_rule},
    // unbatched operands broadcast, axis + 1
    {Op::Concat, concat_rule},
    // rows or columns of one product, or matmul's batch axes
    {Op::MatMul, matmul_rule},
    // along an axis: axis + 1
    {Op::Softmax, axis_rule},
    {Op::LogSoftmax, axis_rule},
    {Op::ArgMax, axis_rule},
    {Op::ArgMin, axis_rule},
    {Op::CumSum, axis_rule},
    // labels with one more leading axis give one_hot rows with one more
    {Op::OneHot, same_rule},
    // unbatched indices: axis + 1
    {Op::Gather, gather_rule},
    {Op::ScatterAdd, scatter_add_rule},
    // images: the batch folded into N; weights: into the channels
    {Op::Conv2D, conv_rule},
    {Op::Conv2DInputGrad, conv_input_grad_rule},
    {Op::Conv2DWeightGrad, conv_weight_grad_rule},
    // the batch folded into N
    {Op::MaxPool2D, pool_rule},
    {Op::MaxPool2DArgmax, pool_rule},
    {Op::AvgPool2D, pool_rule},
    // no rule (fallback): cross_entropy, fused; scan and while: batch_scan, batch_while below
};

const std::array<Rule, kNumOps>& rule_table() {
  static const std::array<Rule, kNumOps> table = [] {
    std::array<Rule, kNumOps> t{};
    for (int k = 0; k < kNumOps; ++k)
      for (const Entry& e : kKindRules)
        if (op_kind(static_cast<Op>(k)) == e.kind) t[k] = e.rule;
    for (const OpEntry& e : kOpRules) t[static_cast<size_t>(e.op)] = e.rule;
    return t;
  }();
  return table;
}

using ValueMap = std::unordered_map<const Node*, Node*>;

// Operand k of the batched value v at p: [P] ++ s sliced to s.
Node* at_p(Value v, int64_t p) {
  Shape s = v->shape();
  std::vector<int64_t> lo(s.size(), 0), hi = s;
  lo[0] = p;
  hi[0] = p + 1;
  s.erase(s.begin());
  return reshape(slice(v, lo, hi), s);
}

// The generic fallback: n's group (a loop's or a fused region's results)
// cloned once per p on the operands sliced at p, each result's P copies
// stacked along a new leading axis. Records every group member in `map`.
void fallback(Node* n, const std::vector<Operand>& ops, int64_t P, ValueMap& map) {
  std::vector<Node*> group = fused_group(n);
  std::vector<std::vector<Value>> stacked(group.size());
  Function& f = *n->function();
  for (int64_t p = 0; p < P; ++p) {
    ValueMap local;
    for (size_t i = 0; i < ops.size(); ++i)
      local[n->operand(i)] = ops[i].batched ? at_p(ops[i].v, p) : ops[i].v.node;
    std::vector<Node*> copies;  // consecutive, as a group must be
    for (Node* g : group) copies.push_back(clone_node(*g, f, local, false));
    for (size_t k = 0; k < group.size(); ++k) stacked[k].push_back(reshape(copies[k], with_batch(1, copies[k]->shape())));
  }
  for (size_t k = 0; k < group.size(); ++k)
    map[group[k]] = stacked[k].size() == 1 ? stacked[k][0].node : concat(stacked[k], 0).node;
  fallbacks += group.size();
}

// ---- scan: its body batched ------------------------------------------------

// For each body result, whether it depends on a body input marked in `in`.
std::vector<bool> dependent_results(const Function& body, const std::vector<bool>& in) {
  std::unordered_set<const Node*> dep;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i]) dep.insert(body.inputs()[i]);
  for (const Node* n : body.nodes())
    for (const Node* o : n->operands())
      if (dep.count(o)) {
        dep.insert(n);
        break;
      }
  std::vector<bool> out;
  for (const Node* r : body.results()) out.push_back(dep.count(r) > 0);
  return out;
}

// A stand-in of type t in f for an input that batch() replaces.
Value stand_in(Function& f, const TensorType& t) {
  Value zero = constant(f, 0.0, t.dtype);
  return t.is_scalar() ? zero : broadcast_to(zero, t.shape);
}

// A copy of `body` whose inputs marked in `in` and results marked in `out`
// carry the batch axis: the body inlined on stand-ins, then batched over them
// (a nested batch()), the unbatched copy's dead nodes removed.
std::shared_ptr<const Function> batched_body(const Function& body, int64_t P, const std::vector<bool>& in,
                                             const std::vector<bool>& out) {
  thread_local int depth = 0;  // the body's loops batch their bodies
  DepthGuard level(depth, [](const std::string& m) { throw Error("batch: " + m); });
  auto nb = std::make_shared<Function>(body.name());
  std::vector<Node*> args;
  std::vector<Value> stand_ins, batched;
  for (size_t i = 0; i < in.size(); ++i) {
    const Node* x = body.inputs()[i];
    TensorType t = x->type();
    if (in[i]) t.shape = with_batch(P, t.shape);
    Value v = nb->input(x->name(), t);
    if (in[i]) {
      stand_ins.push_back(stand_in(*nb, x->type()));
      batched.push_back(v);
    }
    args.push_back(in[i] ? stand_ins.back().node : v.node);
  }
  std::vector<Node*> r = inline_function(body, *nb, args);
  std::vector<Value> rv(r.begin(), r.end());
  size_t outer = fallbacks;
  std::vector<Value> br = batch(stand_ins, batched, rv);
  fallbacks += outer;
  for (size_t j = 0; j < r.size(); ++j) nb->output(out[j] ? br[j] : rv[j]);
  dce(*nb);
  return nb;
}

// Which body inputs carry the batch axis: the batched operands', and each
// carry whose next value depends on a batched input (its initial value then
// broadcast), until no more carries join.
std::vector<bool> batched_inputs(const Node* n, const std::vector<Operand>& ops) {
  std::vector<bool> in;
  for (const Operand& o : ops) in.push_back(o.batched);
  LoopLayout l = loop_layout(*n);
  for (bool grew = true; grew;) {
    grew = false;
    std::vector<bool> dep = dependent_results(*n->body(), in);
    for (size_t i = 0; i < l.carry; ++i)
      if (dep[i] && !in[i]) in[i] = grew = true;
  }
  return in;
}

// [A, B, ...] -> [B, A, ...]: the batch axis and a scan's axis swapped.
Value swap_leading(Value v) {
  std::vector<int64_t> perm(v->shape().size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  std::swap(perm[0], perm[1]);
  return transpose(v, perm);
}

// A scan whose batched values keep the batch axis inside its body: carries
// [P] ++ c (initial values broadcast where only the next values depend on the
// batch), xs [P, N, ...] passed as [N, P, ...], invariants as they are; ys
// that depend on the batch come back [N, P, ...] and are returned as
// [P, N, ...]. Results that do not depend on the batch stay unbatched: the
// new loop's go to `kept`. One loop of N steps on P-wide values instead of P
// loops.
void batch_scan(Node* n, const std::vector<Operand>& ops, int64_t P, ValueMap& map, ValueMap& kept) {
  LoopLayout l = loop_layout(*n);
  std::vector<bool> in = batched_inputs(n, ops);
  std::vector<bool> dep = dependent_results(*n->body(), in);
  std::vector<bool> out(dep.begin(), dep.end());
  for (size_t i = 0; i < l.carry; ++i) out[i] = in[i];
  std::vector<Node*> operands;
  for (size_t i = 0; i < ops.size(); ++i) {
    bool xs = i >= l.carry && i < l.carry + l.xs;
    Value v = !in[i] ? ops[i].v : xs ? swap_leading(ops[i].v) : materialize(ops[i], P);
    operands.push_back(v.node);
  }
  std::vector<Node*> group = fused_group(n);
  std::vector<Node*> loop = make_loop(*n->function(), Op::Scan, operands, n->attrs(),
                                      batched_body(*n->body(), P, in, out));
  for (size_t j = 0; j < group.size(); ++j) {
    if (!out[j])
      kept[group[j]] = loop[j];
    else
      map[group[j]] = j < l.carry ? loop[j] : swap_leading(loop[j]).node;
  }
}

// A while whose condition does not depend on the batch (a tangent loop's
// reads only the primal carries: jvp, jacfwd, hessian through a while) as one
// while carrying P-wide values, like batch_scan: every p takes the same
// steps. False when the condition depends on the batch (each p may stop at a
// step of its own): the fallback then.
bool batch_while(Node* n, const std::vector<Operand>& ops, int64_t P, ValueMap& map, ValueMap& kept) {
  std::vector<bool> in = batched_inputs(n, ops);
  if (dependent_results(*n->cond(), in)[0]) return false;
  std::vector<bool> out(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(loop_layout(*n).carry));
  std::vector<Node*> operands;
  for (size_t i = 0; i < ops.size(); ++i) operands.push_back(in[i] ? materialize(ops[i], P).node : ops[i].v.node);
  std::vector<Node*> group = fused_group(n);
  std::vector<Node*> loop = make_loop(*n->function(), Op::While, operands, n->attrs(),
                                      batched_body(*n->body(), P, in, out), batched_body(*n->cond(), P, in, {false}));
  for (size_t j = 0; j < group.size(); ++j) (out[j] ? map : kept)[group[j]] = loop[j];
  return true;
}

std::string ref(const Node* n) { return ValueNames(*n->function()).ref(n); }

int64_t check_arguments(std::span<const Value> in, std::span<const Value> batched, std::span<const Value> out) {
  if (in.size() != batched.size() || in.empty())
    throw Error("batch: expected one batched value per placeholder, got " + std::to_string(in.size()) +
                " placeholders and " + std::to_string(batched.size()) + " batched values");
  if (!in[0].node) throw Error("batch: null placeholder");
  Function* f = in[0]->function();
  auto check = [f](Value v) {
    if (!v.node || v->function() != f) throw Error("batch: every value must belong to @" + f->name());
  };
  for (Value v : in) check(v);
  for (Value v : batched) check(v);
  int64_t P = -1;
  for (size_t k = 0; k < in.size(); ++k) {
    const TensorType& t = batched[k]->type();
    if (t.shape.empty() || t.shape[0] < 1 || t.dtype != in[k]->dtype() || with_batch(t.shape[0], in[k]->shape()) != t.shape ||
        (P >= 0 && t.shape[0] != P))
      throw Error("batch: the batched value of " + ref(in[k]) + " " + in[k]->type().str() +
                  " must be [P] ++ its shape with one P >= 1 for all, got " + t.str());
    P = t.shape[0];
  }
  for (Value v : out) check(v);
  return P;
}

}  // namespace

size_t last_batch_fallbacks() { return fallbacks; }

std::vector<Value> batch(std::span<const Value> in, std::span<const Value> batched, std::span<const Value> out) {
  int64_t P = check_arguments(in, batched, out);
  fallbacks = 0;
  Function& f = *in[0]->function();
  // the nodes on a path from `in` to `out`
  std::unordered_set<const Node*> todo = descendants_within(ancestors(out), in);
  ValueMap map;
  ValueMap kept;  // loop results left unbatched: the batched loop's copies
  for (size_t k = 0; k < in.size(); ++k) map[in[k].node] = batched[k].node;
  for (Node* n : f.nodes()) {
    if (!todo.count(n) || map.count(n) || kept.count(n)) continue;
    if (n->op() == Op::Grad) throw Error("batch: cannot batch the grad node " + ref(n) + "; run build-grad first");
    Args a{n, {}, P};
    bool any = false;
    for (Node* o : n->operands()) {
      auto it = map.find(o), k = kept.find(o);
      a.ops.push_back(it != map.end() ? Operand{it->second, true} : Operand{k != kept.end() ? k->second : o, false});
      any = any || it != map.end();
    }
    // Reached only through loop results that do not depend on the batch: as it is.
    if (!any) continue;
    if (n->op() == Op::Scan) {
      batch_scan(n, a.ops, P, map, kept);
      continue;
    }
    if (n->op() == Op::While && batch_while(n, a.ops, P, map, kept)) continue;
    Rule rule = rule_table()[static_cast<size_t>(n->op())];
    Value r = rule ? rule(a) : Value();
    if (r.node)
      map[n] = r.node;
    else
      fallback(n, a.ops, P, map);
  }
  std::vector<Value> result;
  for (Value v : out) {
    auto it = map.find(v.node);
    result.push_back(it != map.end() ? Value(it->second) : broadcast_to(v, with_batch(P, v->shape())));
  }
  return result;
}

}  // namespace nabla
