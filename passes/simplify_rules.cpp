// The simplify rules. Each is exact (the same bits for every input, NaN, inf
// and -0 included) unless its comment names the SimplifyOptions flag it needs.
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>

#include "nabla/ir/builder.h"
#include "nabla/passes/simplify_rules.h"

namespace nabla::simplify_detail {
namespace {

// The value every element of n has, when n is a non-empty splat constant,
// possibly reshaped or broadcast.
std::optional<double> splat_value(const Node* n) {
  while (n->op() == Op::BroadcastTo || n->op() == Op::Reshape) n = n->operand(0);
  if (n->op() != Op::Constant) return std::nullopt;
  const Tensor& t = n->attrs().value;
  if (t.numel() == 0 || !t.is_splat()) return std::nullopt;
  return t.get(0);
}

bool is_splat(const Node* n, double v) {
  std::optional<double> s = splat_value(n);
  return s && *s == v;
}
bool is_pos_zero(const Node* n) {
  std::optional<double> s = splat_value(n);
  return s && *s == 0 && !std::signbit(*s);
}
bool is_neg_zero(const Node* n) {
  std::optional<double> s = splat_value(n);
  return s && *s == 0 && std::signbit(*s);
}

// x as a value of n's type: x itself, or x broadcast to n's shape (x is an
// operand of the elementwise op n, so it broadcasts to n's shape).
Node* like(Node* x, const Node* n) {
  if (x->shape() == n->shape()) return x;
  return broadcast_to(x, n->shape());
}

// Zeros of n's type.
Node* zeros_like(const Node* n, Function& f) {
  Node* z = constant(f, 0.0, n->dtype());
  return n->shape().empty() ? z : broadcast_to(z, n->shape()).node;
}

// True when no element of n can be -0, so that n + 0 == n bit for bit.
// Only float values can be -0; the analysis looks a few levels deep.
bool never_neg_zero(const Node* n, int depth = 6) {
  if (!is_float(n->dtype())) return true;
  if (depth == 0) return false;
  auto rec = [&](const Node* m) { return never_neg_zero(m, depth - 1); };
  // |x| (the sign bit cleared), e^x, the sigmoid (a quotient of positive
  // terms), x > 0 ? x : +0, softmax and one-hot: the kNoNegZero ops.
  if (has_flag(n->op(), kNoNegZero)) return true;
  switch (n->op()) {
    case Op::Constant: {
      const Tensor& t = n->attrs().value;
      for (int64_t i = 0; i < t.numel(); ++i)
        if (t.get(i) == 0 && std::signbit(t.get(i))) return false;
      return true;
    }
    // An int or bool converts to +0, never -0.
    case Op::Cast: return !is_float(n->operand(0)->dtype());
    // a + b is -0 only when both are -0; a - b only when a is -0 (and b +0).
    case Op::Add: return rec(n->operand(0)) || rec(n->operand(1));
    case Op::Sub: return rec(n->operand(0));
    // These return one of their operands' elements.
    case Op::Maximum: case Op::Minimum: return rec(n->operand(0)) && rec(n->operand(1));
    case Op::Select: return rec(n->operand(1)) && rec(n->operand(2));
    case Op::Reshape: case Op::Transpose: case Op::BroadcastTo: case Op::Slice:
      return rec(n->operand(0));
    case Op::Concat:
      for (const Node* o : n->operands())
        if (!rec(o)) return false;
      return true;
    default: return false;
  }
}

// ---- Arithmetic identities -------------------------------------------------

// x * 1 -> x and 1 * x -> x: exact for every x.
Node* mul_one(Node* n, const RuleContext&) {
  if (is_splat(n->operand(1), 1)) return like(n->operand(0), n);
  if (is_splat(n->operand(0), 1)) return like(n->operand(1), n);
  return nullptr;
}

// x / 1 -> x: exact for every x.
Node* div_one(Node* n, const RuleContext&) {
  return is_splat(n->operand(1), 1) ? like(n->operand(0), n) : nullptr;
}

// x + c -> x for c = 0: exact for integers and for c = -0 (x + -0 is x, -0
// included); for c = +0 only when x cannot be -0, or under no_signed_zeros.
Node* add_zero(Node* n, const RuleContext& ctx) {
  for (int i = 0; i < 2; ++i) {
    Node *x = n->operand(i), *c = n->operand(1 - i);
    if (!is_float(n->dtype()) ? is_splat(c, 0)
        : is_neg_zero(c) ||
              (is_pos_zero(c) && (ctx.options.no_signed_zeros || never_neg_zero(x))))
      return like(x, n);
  }
  return nullptr;
}

// x - c -> x for c = 0: exact for integers and for c = +0; for c = -0 (that is
// x + 0) only when x cannot be -0, or under no_signed_zeros.
Node* sub_zero(Node* n, const RuleContext& ctx) {
  Node *x = n->operand(0), *c = n->operand(1);
  if (!is_float(n->dtype()) ? is_splat(c, 0)
      : is_pos_zero(c) ||
            (is_neg_zero(c) && (ctx.options.no_signed_zeros || never_neg_zero(x))))
    return like(x, n);
  return nullptr;
}

// x - x -> 0: exact for integers; for floats only under finite_math
// (inf - inf and NaN - NaN are NaN).
Node* sub_self(Node* n, const RuleContext& ctx) {
  if (n->operand(0) != n->operand(1)) return nullptr;
  if (is_float(n->dtype()) && !ctx.options.finite_math) return nullptr;
  return zeros_like(n, ctx.f);
}

// x * 0 -> 0: exact for integers; for floats only under finite_math and
// no_signed_zeros (inf * 0 is NaN, -3 * 0 is -0).
Node* mul_zero(Node* n, const RuleContext& ctx) {
  if (!is_splat(n->operand(0), 0) && !is_splat(n->operand(1), 0)) return nullptr;
  if (is_float(n->dtype()) && !(ctx.options.finite_math && ctx.options.no_signed_zeros))
    return nullptr;
  return zeros_like(n, ctx.f);
}

// -(-x) -> x: negation only flips the sign bit.
Node* neg_neg(Node* n, const RuleContext&) {
  return n->operand(0)->op() == Op::Neg ? n->operand(0)->operand(0) : nullptr;
}

// abs(abs(x)) -> abs(x) and abs(-x) -> abs(x): abs clears the sign bit,
// whatever it was (for integers, |-x| = |x| with wrapping too).
Node* abs_abs(Node* n, const RuleContext&) {
  Node* x = n->operand(0);
  if (x->op() == Op::Abs) return x;
  if (x->op() == Op::Neg) return abs(x->operand(0));
  return nullptr;
}

// relu(relu(x)) -> relu(x): relu's result is a fixed point of relu.
Node* relu_relu(Node* n, const RuleContext&) {
  return n->operand(0)->op() == Op::Relu ? n->operand(0) : nullptr;
}

// maximum(x, x) -> x and minimum(x, x) -> x: both return an operand element.
Node* minmax_self(Node* n, const RuleContext&) {
  return n->operand(0) == n->operand(1) ? n->operand(0) : nullptr;
}

// ---- Layout -----------------------------------------------------------------

bool is_identity_perm(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// transpose(x, [0, 1, ..., r-1]) -> x.
Node* transpose_identity(Node* n, const RuleContext&) {
  return is_identity_perm(n->attrs().perm) ? n->operand(0) : nullptr;
}

// transpose(transpose(x, p), q) -> transpose(x, r) with r[i] = p[q[i]]
// (result axis i is inner axis q[i], which is x's axis p[q[i]]).
Node* transpose_transpose(Node* n, const RuleContext&) {
  Node* inner = n->operand(0);
  if (inner->op() != Op::Transpose) return nullptr;
  const std::vector<int64_t>& p = inner->attrs().perm;
  const std::vector<int64_t>& q = n->attrs().perm;
  std::vector<int64_t> r(q.size());
  for (size_t i = 0; i < q.size(); ++i) r[i] = p[q[i]];
  if (is_identity_perm(r)) return inner->operand(0);
  return transpose(inner->operand(0), r);
}

// reshape(x, shape of x) -> x.
Node* reshape_same(Node* n, const RuleContext&) {
  return n->operand(0)->shape() == n->shape() ? n->operand(0) : nullptr;
}

// reshape(reshape(x, s1), s2) -> reshape(x, s2): both keep row-major order.
Node* reshape_reshape(Node* n, const RuleContext&) {
  Node* inner = n->operand(0);
  if (inner->op() != Op::Reshape) return nullptr;
  Node* x = inner->operand(0);
  return x->shape() == n->shape() ? x : reshape(x, n->shape()).node;
}

// broadcast_to(x, shape of x) -> x.
Node* broadcast_same(Node* n, const RuleContext&) {
  return n->operand(0)->shape() == n->shape() ? n->operand(0) : nullptr;
}

// broadcast_to(broadcast_to(x, s1), s2) -> broadcast_to(x, s2): every element
// of the result is still the same element of x.
Node* broadcast_broadcast(Node* n, const RuleContext&) {
  Node* inner = n->operand(0);
  if (inner->op() != Op::BroadcastTo) return nullptr;
  return broadcast_to(inner->operand(0), n->shape());
}

// concat of a single operand -> the operand.
Node* concat_single(Node* n, const RuleContext&) {
  return n->num_operands() == 1 ? n->operand(0) : nullptr;
}

// The sizes of a concat's blocks along its axis.
std::vector<int64_t> concat_blocks(const Node* c) {
  std::vector<int64_t> b;
  for (const Node* o : c->operands()) b.push_back(o->shape()[c->attrs().axis]);
  return b;
}

// add(concat(a1..ak), concat(b1..bk)) -> concat(add(a1, b1), ..., add(ak, bk))
// when both concats join along one axis blocks of the same sizes and only this
// add uses them: every element is the same sum, and the adds can fuse with
// their producers instead of two copies and a third pass (a gradient that
// pads the parts of an input it was sliced into, a sparse Jacobian's sweep).
Node* add_concats(Node* n, const RuleContext&) {
  Node *a = n->operand(0), *b = n->operand(1);
  if (a->op() != Op::Concat || b->op() != Op::Concat || a == b) return nullptr;
  if (a->shape() != n->shape() || b->shape() != n->shape() || a->attrs().axis != b->attrs().axis) return nullptr;
  if (a->users().size() != 1 || b->users().size() != 1 || concat_blocks(a) != concat_blocks(b)) return nullptr;
  std::vector<Value> sums;
  for (size_t k = 0; k < a->num_operands(); ++k) sums.push_back(add(a->operand(k), b->operand(k)));
  return concat(sums, a->attrs().axis);
}

// Whether n is computed elementwise from constants alone (a few levels deep).
bool constant_elementwise(const Node* n, int depth = 4) {
  if (n->op() == Op::Constant) return true;
  if (depth == 0 || !is_elementwise(n->op())) return false;
  for (const Node* o : n->operands())
    if (!constant_elementwise(o, depth - 1)) return false;
  return true;
}

// slice(op(a, b, ...)) -> op(slice(a), slice(b), ...) for an elementwise op
// computed from constants: each operand sliced on its own axes (one it
// broadcasts along kept whole), so that fold shrinks the constants and the
// op, no longer a value of its own, fuses into the slice's users. A dense
// derivative's identity seeds equal(iota column, iota row), sliced by the
// sweep of a slice of x, then cost no copy of an n x n matrix.
Node* slice_elementwise(Node* n, const RuleContext& ctx) {
  Node* e = n->operand(0);
  if (!is_elementwise(e->op()) || !constant_elementwise(e)) return nullptr;
  const Attrs& a = n->attrs();
  size_t rank = n->shape().size();
  std::vector<Node*> operands;
  for (Node* o : e->operands()) {
    const Shape& s = o->shape();
    size_t lead = rank - s.size();
    std::vector<int64_t> start, stop, step;
    for (size_t i = 0; i < s.size(); ++i) {
      bool whole = s[i] == 1 && e->shape()[lead + i] != 1;
      start.push_back(whole ? 0 : a.start[lead + i]);
      stop.push_back(whole ? 1 : a.stop[lead + i]);
      step.push_back(whole ? 1 : a.step[lead + i]);
    }
    operands.push_back(s.empty() ? o : slice(o, start, stop, step).node);
  }
  return ctx.f.make(e->op(), operands, e->attrs());
}

// slice(x) covering every axis whole with step 1 -> x.
Node* slice_whole(Node* n, const RuleContext&) {
  const Attrs& a = n->attrs();
  const Shape& s = n->operand(0)->shape();
  for (size_t i = 0; i < s.size(); ++i)
    if (a.start[i] != 0 || a.stop[i] != s[i] || a.step[i] != 1) return nullptr;
  return n->operand(0);
}

// The NumPy broadcast of some shapes, or nullopt when they do not broadcast.
std::optional<Shape> broadcast_shape(const std::vector<Shape>& shapes) {
  Shape out;
  for (const Shape& s : shapes) {
    if (s.size() > out.size()) out.insert(out.begin(), s.size() - out.size(), 1);
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& d = out[out.size() - s.size() + i];
      if (s[i] != d && s[i] != 1 && d != 1) return std::nullopt;
      if (d == 1) d = s[i];
    }
  }
  return out;
}

bool is_splat_constant(const Node* o) {
  return o->op() == Op::Constant && o->type().numel() > 1 && o->attrs().value.is_splat();
}

// Element 0 of a constant as a rank-0 constant.
Node* scalar_of(Function& f, const Node* c) {
  const Tensor& v = c->attrs().value;
  Tensor t(v.dtype(), {});
  std::memcpy(t.data(), v.data(), dtype_size(v.dtype()));
  return constant(f, t);
}

// For elementwise ops with several operands: op(broadcast_to(y, s), b) ->
// op(y, b), and op(c, b) -> op(scalar c, b) for a splat constant c of more
// than one element, when the operands still broadcast to the result's shape:
// the op broadcasts by itself, and every result element reads the same value.
Node* operand_broadcast(Node* n, const RuleContext& ctx) {
  std::vector<Shape> shapes;
  for (const Node* o : n->operands()) shapes.push_back(o->shape());
  std::vector<bool> shrink(shapes.size(), false);
  bool any = false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Node* o = n->operand(i);
    if (o->op() != Op::BroadcastTo && !is_splat_constant(o)) continue;
    Shape before = shapes[i];
    shapes[i] = o->op() == Op::BroadcastTo ? o->operand(0)->shape() : Shape{};
    std::optional<Shape> s = broadcast_shape(shapes);
    if (s && *s == n->shape()) shrink[i] = any = true;
    else shapes[i] = before;
  }
  if (!any) return nullptr;
  std::vector<Node*> operands(n->operands().begin(), n->operands().end());
  for (size_t i = 0; i < operands.size(); ++i)
    if (shrink[i])
      operands[i] = operands[i]->op() == Op::BroadcastTo ? operands[i]->operand(0)
                                                         : scalar_of(ctx.f, operands[i]);
  return ctx.f.make(n->op(), operands, n->attrs());
}

// ---- Reductions ----------------------------------------------------------------

// sum/mean/max/min over no axes, or over axes of size 1 only -> x (reshaped to
// drop the reduced axes unless keepdims): each result element is the one element
// it reduces over. max starts from -inf and min from +inf, so max(-inf, v) and
// min(+inf, v) are v for every v;
// sum and mean start from +0, and +0 + -0 is +0, so for them x must not be
// able to be -0 (or under no_signed_zeros).
Node* reduce_trivial(Node* n, const RuleContext& ctx) {
  Node* x = n->operand(0);
  for (int64_t a : n->attrs().axes)
    if (x->shape()[a] != 1) return nullptr;
  bool extremum = n->op() == Op::Max || n->op() == Op::Min;
  if (!extremum && !ctx.options.no_signed_zeros && !never_neg_zero(x)) return nullptr;
  return x->shape() == n->shape() ? x : reshape(x, n->shape()).node;
}

// ---- Select, conversions, gradient markers ----------------------------------------

// select(c, a, b) with a constant condition -> a (c all true) or b (all false).
Node* select_constant(Node* n, const RuleContext&) {
  std::optional<double> c = splat_value(n->operand(0));
  if (!c) return nullptr;
  return like(n->operand(*c != 0 ? 1 : 2), n);
}

// select(c, a, a) -> a.
Node* select_same(Node* n, const RuleContext&) {
  return n->operand(1) == n->operand(2) ? like(n->operand(1), n) : nullptr;
}

// cast(x, dtype of x) -> x.
Node* cast_same(Node* n, const RuleContext&) {
  return n->operand(0)->dtype() == n->dtype() ? n->operand(0) : nullptr;
}

// stop_gradient(x) -> x once no grad node is left: it only marks x for
// build-grad, and is the identity on values.
Node* stop_gradient_done(Node* n, const RuleContext& ctx) {
  return ctx.has_grad ? nullptr : n->operand(0);
}

constexpr Rule kRules[] = {
    {"mul-one", Op::Mul, mul_one},
    {"mul-zero", Op::Mul, mul_zero},
    {"div-one", Op::Div, div_one},
    {"add-zero", Op::Add, add_zero},
    {"sub-zero", Op::Sub, sub_zero},
    {"sub-self", Op::Sub, sub_self},
    {"neg-neg", Op::Neg, neg_neg},
    {"abs-abs", Op::Abs, abs_abs},
    {"relu-relu", Op::Relu, relu_relu},
    {"max-self", Op::Maximum, minmax_self},
    {"min-self", Op::Minimum, minmax_self},
    {"transpose-identity", Op::Transpose, transpose_identity},
    {"transpose-transpose", Op::Transpose, transpose_transpose},
    {"reshape-same", Op::Reshape, reshape_same},
    {"reshape-reshape", Op::Reshape, reshape_reshape},
    {"broadcast-same", Op::BroadcastTo, broadcast_same},
    {"broadcast-broadcast", Op::BroadcastTo, broadcast_broadcast},
    {"concat-single", Op::Concat, concat_single},
    {"slice-whole", Op::Slice, slice_whole},
    {"slice-elementwise", Op::Slice, slice_elementwise},
    {"add-concats", Op::Add, add_concats},
    {"constant-broadcast", Op::Constant, constant_broadcast},
    {"gather-repeated", Op::Gather, gather_repeated},
    {"gather-sink", Op::Gather, gather_sink},
    {"slice-broadcast", Op::Slice, slice_broadcast},
    {"slice-gather", Op::Slice, slice_gather},
    {"reshape-gather", Op::Reshape, reshape_gather},
    {"reshape-broadcast", Op::Reshape, reshape_broadcast},
    {"sum-trivial", Op::Sum, reduce_trivial},
    {"mean-trivial", Op::Mean, reduce_trivial},
    {"max-trivial", Op::Max, reduce_trivial},
    {"min-trivial", Op::Min, reduce_trivial},
    {"select-constant", Op::Select, select_constant},
    {"select-same", Op::Select, select_same},
    {"cast-same", Op::Cast, cast_same},
    {"stop-gradient", Op::StopGradient, stop_gradient_done},
    // Last, so that the rules above see the broadcast 1s and 0s first.
    {"operand-broadcast", Op::Add, operand_broadcast},
    {"operand-broadcast", Op::Sub, operand_broadcast},
    {"operand-broadcast", Op::Mul, operand_broadcast},
    {"operand-broadcast", Op::Div, operand_broadcast},
    {"operand-broadcast", Op::Pow, operand_broadcast},
    {"operand-broadcast", Op::Maximum, operand_broadcast},
    {"operand-broadcast", Op::Minimum, operand_broadcast},
    {"operand-broadcast", Op::Less, operand_broadcast},
    {"operand-broadcast", Op::LessEqual, operand_broadcast},
    {"operand-broadcast", Op::Greater, operand_broadcast},
    {"operand-broadcast", Op::GreaterEqual, operand_broadcast},
    {"operand-broadcast", Op::Equal, operand_broadcast},
    {"operand-broadcast", Op::NotEqual, operand_broadcast},
    {"operand-broadcast", Op::Select, operand_broadcast},
};

// kRules grouped by root op, built once.
struct RuleIndex {
  std::array<std::vector<const Rule*>, kNumOps> by_op;
  RuleIndex() {
    for (const Rule& r : kRules) by_op[static_cast<size_t>(r.op)].push_back(&r);
  }
};

}  // namespace

std::span<const Rule* const> rules_for(Op op) {
  static const RuleIndex index;
  return index.by_op[static_cast<size_t>(op)];
}

}  // namespace nabla::simplify_detail
