// Forward mode's rules: for each op, the tangent dy of its result from the
// tangents t_k of its operands (null: zero), dy = sum_k (dy/dx_k) t_k. Three
// families cover most of the catalogue:
//   linear       the op applied to the tangents: layout ops, sums, cumsum,
//                gather, scatter_add, casts, average pooling
//   multilinear  one term per moving operand, the op with that operand
//                replaced by its tangent: mul, matmul, the convolutions
//   diagonal     elementwise ops: the bprop rule applied to the tangent (a
//                diagonal Jacobian is its own transpose)
// A few ops have a rule of their own. An op with a bprop rule but no rule
// here gets J t from its bprop rule by a small reverse sweep (the rule is
// linear in g, J t = d/du <J^T u, t>), so forward mode exists wherever
// reverse mode does.
#include "nabla/passes/forward.h"

#include <array>
#include <unordered_map>

#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/reach.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/error.h"

namespace nabla::autodiff {
namespace {

// What a rule sees: the node y and the tangents of its operands.
struct TArgs {
  GradBuilder& b;
  Node* y;
  std::span<const Value> t;  // one per operand; null: zero
  Value x(size_t k) const { return y->operand(k); }
  Value c(double v) const { return b.scalar(y->dtype(), v); }
  const Attrs& attrs() const { return y->attrs(); }
  Value t_or_zeros(size_t k) const { return t[k].node ? t[k] : b.zeros(x(k)->type()); }
  // Operand k's tangent broadcast to y's shape.
  Value t_wide(size_t k) const { return t[k]->shape() == y->shape() ? t[k] : broadcast_to(t[k], y->shape()); }
  // y's op and attributes on other operands.
  Value remake(std::vector<Node*> ops) const { return b.function().make(y->op(), std::move(ops), y->attrs()); }
};
using TRule = Value (*)(const TArgs&);

// dy = op(t): every float operand replaced by its tangent (zeros without one)
Value linear(const TArgs& a) {
  std::vector<Node*> ops;
  for (size_t k = 0; k < a.t.size(); ++k) ops.push_back(is_float(a.x(k)->dtype()) ? a.t_or_zeros(k).node : a.x(k).node);
  return a.remake(std::move(ops));
}

// dy = sum_k op(x_1, .., t_k, .., x_n)
Value multilinear(const TArgs& a) {
  std::vector<Value> terms;
  for (size_t k = 0; k < a.t.size(); ++k) {
    if (!a.t[k].node) continue;
    std::vector<Node*> ops(a.y->operands().begin(), a.y->operands().end());
    ops[k] = a.t[k];
    terms.push_back(a.remake(std::move(ops)));
  }
  return sum_of(terms);
}

// dy = sum_k diag(dy/dx_k) t_k: the bprop rule with g := t_k (softmax, whose
// Jacobian is symmetric, too)
Value diagonal(const TArgs& a) {
  std::vector<Value> terms;
  for (size_t k = 0; k < a.t.size(); ++k)
    if (a.t[k].node)
      if (Value d = bprop_rule(a.b, a.y, k, a.t_wide(k)); d.node) terms.push_back(d);
  return sum_of(terms);
}

// d(a + b) = t_a + t_b, d(a - b) = t_a - t_b, broadcast to y's shape
Value add_sub(const TArgs& a) {
  if (a.t[0].node && a.t[1].node) return linear(a);
  if (a.t[0].node) return a.t_wide(0);
  return a.y->op() == Op::Sub ? neg(a.t_wide(1)) : a.t_wide(1);
}

// d select(c, a, b) = select(c, t_a, t_b)
Value select_rule(const TArgs& a) {
  return select(a.x(0), a.t[1].node ? a.t[1] : a.c(0), a.t[2].node ? a.t[2] : a.c(0));
}

// d max(x) = sum_j [x_j = y] t_j / #{k : x_k = y}: tied extrema share, as in reverse mode
Value extremum(const TArgs& a) {
  const std::vector<int64_t>& axes = a.attrs().axes;
  Shape kept = a.x(0)->shape();
  for (int64_t ax : axes) kept[ax] = 1;
  Value at = equal(a.x(0), a.attrs().keepdims ? Value(a.y) : reshape(a.y, kept));
  Value count = sum(cast(at, a.y->dtype()), axes, true);
  Value zero = a.c(0);  // named: the order of arguments is unspecified (bprop.cpp)
  return sum(select(at, div(a.t[0], count), zero), axes, a.attrs().keepdims);
}

// d log_softmax(x) = t - sum(softmax(x) t) along the axis, softmax(x) = e^y
Value log_softmax_rule(const TArgs& a) {
  std::vector<int64_t> axis{a.attrs().axis};
  return sub(a.t[0], sum(mul(exp(a.y), a.t[0]), axis, true));
}

// d cross_entropy(x, labels) = sum((softmax(x) - one_hot(labels)) t) / N
Value cross_entropy_rule(const TArgs& a) {
  const Shape& s = a.x(0)->shape();
  Value target = one_hot(a.x(1), s[1], a.y->dtype());
  Value residual = sub(softmax(a.x(0), 1), target);
  Value count = a.c(static_cast<double>(s[0]));
  return div(sum(mul(residual, a.t[0])), count);
}

// d max_pool2d(x) = t at each window's first maximum (reverse mode's choice)
Value max_pool_rule(const TArgs& a) {
  const Attrs& at = a.attrs();
  Value idx = max_pool2d_argmax(a.x(0), at.window, {at.stride, at.padding});
  Value idx_flat = reshape(idx, {-1});
  return reshape(gather(reshape(a.t[0], {-1}), idx_flat, 0), a.y->shape());
}

// d all_reduce(x): sum and mean are linear; max and min take the bprop rule's transpose
Value all_reduce_rule(const TArgs& a);

// J t = d/du <J^T u, t>: the bprop rules are linear in g, so one reverse sweep
// over the rule's nodes, with u a fresh stand-in of y's type, transposes them.
Value transposed(const TArgs& a) {
  Function& f = a.b.function();
  Value zero = constant(f, 0.0, a.y->dtype());
  Value u = a.y->type().is_scalar() ? zero : broadcast_to(zero, a.y->shape());
  std::vector<Value> terms;
  for (size_t k = 0; k < a.t.size(); ++k)
    if (a.t[k].node)
      if (Value v = bprop(a.b, a.y, k, u); v.node) terms.push_back(sum(mul(v, a.t[k])));
  if (terms.empty()) return {};
  return grad(sum_of(terms), {u}, {.allow_disconnected = true})[0];
}

Value all_reduce_rule(const TArgs& a) {
  Reduction op = a.attrs().op;
  return op == Reduction::sum || op == Reduction::mean ? linear(a) : transposed(a);
}

Value zero_rule(const TArgs&) { return {}; }

struct Entry {
  Op op;
  TRule rule;
};

const Entry kRules[] = {
    {Op::Neg, linear},               {Op::Barrier, linear},       {Op::StopGradient, zero_rule},
    {Op::Sign, zero_rule},           {Op::Floor, zero_rule},      {Op::Add, add_sub},
    {Op::Sub, add_sub},              {Op::Mul, multilinear},      {Op::Select, select_rule},
    {Op::Sum, linear},               {Op::Mean, linear},          {Op::Max, extremum},
    {Op::Min, extremum},             {Op::Reshape, linear},       {Op::Transpose, linear},
    {Op::BroadcastTo, linear},       {Op::Slice, linear},         {Op::Concat, linear},
    {Op::MatMul, multilinear},       {Op::Softmax, diagonal},     {Op::LogSoftmax, log_softmax_rule},
    {Op::CrossEntropy, cross_entropy_rule}, {Op::Cast, linear},   {Op::Conv2D, multilinear},
    {Op::Conv2DInputGrad, multilinear}, {Op::Conv2DWeightGrad, multilinear},
    {Op::MaxPool2D, max_pool_rule},  {Op::AvgPool2D, linear},     {Op::CumSum, linear},
    {Op::Gather, linear},            {Op::ScatterAdd, linear},    {Op::AllReduce, all_reduce_rule},
};

const std::array<TRule, kNumOps>& rule_table() {
  static const std::array<TRule, kNumOps> table = [] {
    std::array<TRule, kNumOps> t{};
    for (const Entry& e : kRules) t[static_cast<size_t>(e.op)] = e.rule;
    // Elementwise ops not listed: diagonal Jacobians.
    for (size_t i = 0; i < kNumOps; ++i) {
      OpKind kind = op_kind(static_cast<Op>(i));
      if (!t[i] && (kind == OpKind::Unary || kind == OpKind::Binary)) t[i] = diagonal;
    }
    return t;
  }();
  return table;
}

Value tangent_of(GradBuilder& b, Node* n, std::span<const Value> t) {
  TRule rule = rule_table()[static_cast<size_t>(n->op())];
  if (!rule && !has_bprop_rule(n->op())) throw Error("jvp: no derivative rule for " + std::string(op_name(n->op())));
  Value d = (rule ? rule : transposed)(TArgs{b, n, t});
  if (d.node && d->shape() != n->shape()) d = broadcast_to(d, n->shape());
  if (d.node && d->type() != n->type())
    throw InternalError("jvp: the rule for " + std::string(op_name(n->op())) + " gave " + d->type().str() +
                " for a result of type " + n->type().str());
  return d;
}

}  // namespace

std::vector<Value> push_forward(Function& f, std::span<const Value> xs, std::span<const Value> ts,
                                std::span<const Value> outputs) {
  NodeSet cone = descendants_within(ancestors(outputs), xs);
  std::vector<Node*> order;
  for (Node* n : f)
    if (cone.count(n)) order.push_back(n);
  std::unordered_map<const Node*, Value> tangent;
  for (size_t i = 0; i < xs.size(); ++i) tangent[xs[i].node] = ts[i];
  GradBuilder b(f);
  for (Node* n : order) {
    if (tangent.count(n) || !is_float(n->dtype())) continue;
    if (n->op() == Op::Grad) throw Error("jvp: a grad node lies between the values and the outputs: run build-grad first");
    std::vector<Value> t(n->num_operands());
    bool any = false;
    for (size_t k = 0; k < t.size(); ++k)
      if (auto it = tangent.find(n->operand(k)); it != tangent.end() && carries_gradient(*n, k)) {
        t[k] = it->second;
        any = any || t[k].node;
      }
    if (!any) continue;
    if (!is_loop(n->op())) {
      tangent[n] = tangent_of(b, n, t);
      continue;
    }
    std::vector<Node*> group = fused_group(n);
    std::vector<Value> d = loop_jvp(b, group, t);
    for (size_t k = 0; k < group.size(); ++k) tangent[group[k]] = d[k];
  }
  std::vector<Value> out;
  for (Value o : outputs) {
    auto it = tangent.find(o.node);
    out.push_back(it == tangent.end() ? Value() : it->second);
  }
  return out;
}

}  // namespace nabla::autodiff
