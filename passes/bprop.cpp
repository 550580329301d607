// The derivative rules: one per differentiable op, each a vector-Jacobian
// product (the lecture's op.bprop: the gradient on one input, given the
// gradient g on the result y). Every rule is written with catalogue ops that
// have rules themselves, so every derivative can be differentiated again.
// Conventions (docs/autodiff.md): g has y's shape; a rule may return a value of
// the broadcast shape, and bprop() then sums it back to the operand's shape
// with broadcast_to's rule; branches go through select, never through a
// multiplication by a mask, so an inf or NaN in the branch not taken stays out.
// C++ leaves the order of a call's arguments unspecified (g++ evaluates them
// last to first, clang first to last), so where two arguments of one call
// build nodes, the nodes are named in statements: the graph, and the IR nabla
// prints, must not depend on the compiler that built nabla. The statements
// keep the order g++ gave (last argument first).
#include "nabla/passes/bprop.h"

#include <array>
#include <bit>
#include <cmath>
#include <numbers>
#include <numeric>

#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/loop_grad.h"
#include "nabla/runtime/error.h"

namespace nabla::autodiff {

Value GradBuilder::scalar(DType dtype, double value) {
  auto key = std::make_pair(dtype, std::bit_cast<uint64_t>(value));
  auto it = scalars_.find(key);
  if (it != scalars_.end()) return it->second;
  Value c = constant(f_, value, dtype);
  scalars_.emplace(key, c.node);
  return c;
}

Value GradBuilder::zeros(const TensorType& type) {
  if (type.is_scalar()) return scalar(type.dtype, 0.0);
  constexpr int64_t kMaxSplat = int64_t{1} << 20;
  if (type.numel() > kMaxSplat) return broadcast_to(scalar(type.dtype, 0.0), type.shape);
  return constant(f_, Tensor(type.dtype, type.shape));
}

bool carries_gradient(const Node& c, size_t i) {
  if (c.op() == Op::Grad || op_arity(c.op()) == 0) return false;
  if (!is_float(c.dtype()) || !is_float(c.operand(i)->dtype())) return false;
  return !is_loop(c.op()) || loop_operand_carries_gradient(c, i);
}

Value sum_of(std::span<const Value> terms) {
  Value s = terms.empty() ? Value() : terms[0];
  for (size_t k = 1; k < terms.size(); ++k) s = add(s, terms[k]);
  return s;
}

Value sum_to_shape(Value g, const Shape& shape) {
  const Shape& from = g->shape();
  if (from == shape) return g;
  size_t lead = from.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t k = 0; k < from.size(); ++k)
    if (k < lead || (shape[k - lead] == 1 && from[k] != 1)) axes.push_back(static_cast<int64_t>(k));
  Value s = axes.empty() ? g : sum(g, axes);
  return s->shape() == shape ? s : reshape(s, shape);
}

namespace {

// What a rule sees: the consumer y (its operands are the inputs), which input
// i the gradient is for, and the gradient g on y.
struct Args {
  GradBuilder& b;
  Node* y;
  size_t i;
  Value g;
  Value x(size_t k) const { return y->operand(k); }
  Value x() const { return y->operand(i); }  // the input being differentiated
  Value c(double v) const { return b.scalar(g->dtype(), v); }
  const Attrs& attrs() const { return y->attrs(); }
};
using Rule = Value (*)(const Args&);

// x's shape with the reduced axes kept as 1.
Shape keepdims_shape(const Shape& x, const std::vector<int64_t>& axes) {
  Shape s = x;
  for (int64_t a : axes) s[a] = 1;
  return s;
}

// A reduction's result (or its gradient) made ready to broadcast against the
// input: the reduced axes restored as 1, unless they are the leading axes
// (which broadcasting adds back by itself).
Value with_kept_dims(Value v, const Args& a) {
  const std::vector<int64_t>& axes = a.attrs().axes;
  bool leading = true;
  for (size_t k = 0; k < axes.size(); ++k) leading = leading && axes[k] == static_cast<int64_t>(k);
  if (a.attrs().keepdims || leading) return v;
  return reshape(v, keepdims_shape(a.x(0)->shape(), a.attrs().axes));
}

// The number of elements each output of a reduction combines.
double reduced_count(const Args& a) {
  double n = 1;
  for (int64_t ax : a.attrs().axes) n *= static_cast<double>(a.x(0)->shape()[ax]);
  return n;
}

// The gradient of max (min): g shared equally by the elements equal to the
// maximum (minimum).
Value extremum_rule(const Args& a) {
  Value at_max = equal(a.x(0), with_kept_dims(a.y, a));
  Value count = sum(cast(at_max, a.g->dtype()), a.attrs().axes, /*keepdims=*/true);
  Value zero = a.c(0);
  return select(at_max, div(with_kept_dims(a.g, a), count), zero);
}

// d/dA (op(A) op(B)) = G op(B)^T and d/dB = op(A)^T G, where op is the
// optional transpose; written with the transpose attributes only.
Value matmul_rule(const Args& a) {
  bool ta = a.attrs().transpose_a, tb = a.attrs().transpose_b;
  Value A = a.x(0), B = a.x(1), G = a.g;
  if (a.i == 0) return ta ? matmul(B, G, tb, true) : matmul(G, B, false, !tb);
  return tb ? matmul(G, A, true, ta) : matmul(A, G, !ta, false);
}

// The transpose of slice: g scattered back into zeros of x's shape, one axis
// at a time. A step s interleaves s-1 zeros after each element (reshape to
// [k,1], concat zeros [k,s-1], reshape to [k*s], trim); then zeros pad both ends.
Value slice_rule(const Args& a) {
  if (a.g->type().numel() == 0) return {};
  const Attrs& at = a.attrs();
  Value v = a.g;
  for (size_t ax = 0; ax < v->shape().size(); ++ax) {
    int64_t n = a.x(0)->shape()[ax], start = at.start[ax], step = at.step[ax];
    int64_t k = v->shape()[ax], len = k;
    if (step > 1) {
      Shape s = v->shape();
      s[ax] = k;
      s.insert(s.begin() + ax + 1, 1);
      Shape gap = s;
      gap[ax + 1] = step - 1;
      Value parts[] = {reshape(v, s), a.b.zeros({v->dtype(), gap})};
      Value spread = concat(parts, static_cast<int64_t>(ax + 1));
      Shape flat = v->shape();
      flat[ax] = k * step;
      v = reshape(spread, flat);
      len = std::min(k * step, n - start);
      if (len < k * step) {
        std::vector<int64_t> lo(flat.size(), 0), hi = flat;
        hi[ax] = len;
        v = slice(v, lo, hi);
      }
    }
    std::vector<Value> parts;
    auto pad = [&](int64_t width) {
      Shape s = v->shape();
      s[ax] = width;
      if (width > 0) parts.push_back(a.b.zeros({v->dtype(), s}));
    };
    pad(start);
    parts.push_back(v);
    pad(n - start - len);
    if (parts.size() > 1) v = concat(parts, static_cast<int64_t>(ax));
  }
  return v;
}

// The part of g that operand i of concat contributed: a slice along the axis.
Value concat_rule(const Args& a) {
  int64_t axis = a.attrs().axis, offset = 0;
  for (size_t k = 0; k < a.i; ++k) offset += a.x(k)->shape()[axis];
  std::vector<int64_t> lo(a.g->shape().size(), 0), hi = a.g->shape();
  lo[axis] = offset;
  hi[axis] = offset + a.x()->shape()[axis];
  return slice(a.g, lo, hi);
}

std::vector<int64_t> inverse_perm(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) inv[perm[k]] = static_cast<int64_t>(k);
  return inv;
}

// pow's derivative in the exponent, g * a^b * ln a, taken as 0 where a <= 0
// (there a^b is 0, NaN or has no real derivative in b); the log sees 1 there,
// so no NaN is created even in the branch that select drops.
Value pow_exponent_rule(const Args& a) {
  Value positive = greater(a.x(0), a.c(0));
  Value log_a = log(select(positive, a.x(0), a.c(1)));
  return select(positive, mul(mul(a.g, a.y), log_a), a.c(0));
}

// all_reduce's rules. Rank r holds x_r and every rank gets y = op over s of
// x_s; the gradient that rank r receives is that of the sum over ranks of
// their losses, z = sum_s z_s (each rank's g is dz_s/dy), so it sums the g of
// every rank: the data-parallel reading, where each rank's loss is its share.
//   sum:      dz/dx_r = sum_s g_s                       all_reduce(g, sum)
//   mean:     dz/dx_r = (1/R) sum_s g_s                 all_reduce(g, mean)
//   max, min: dz/dx_r = [x_r = y] sum_s g_s / #{s : x_s = y}: ranks that tie
//             at the extreme share it equally (max's rule, across ranks).
Value all_reduce_rule(const Args& a) {
  Reduction op = a.attrs().op;
  if (op == Reduction::sum || op == Reduction::mean) return all_reduce(a.g, op);
  Value at = equal(a.x(), a.y);
  Value count = all_reduce(cast(at, a.g->dtype()), Reduction::sum);
  Value zero = a.c(0);
  return select(at, div(all_reduce(a.g, Reduction::sum), count), zero);
}

Conv2DOptions conv_options(const Attrs& at) { return {at.stride, at.padding, at.dilation, at.groups}; }

// max_pool2d's gradient: g added at the flat position of each window's first
// maximum (max_pool2d_argmax), in zeros of x's shape.
Value max_pool_rule(const Args& a) {
  const Attrs& at = a.attrs();
  Value idx = max_pool2d_argmax(a.x(), at.window, {at.stride, at.padding});
  int64_t n = a.x()->type().numel();
  Value g_flat = reshape(a.g, {-1});
  Value idx_flat = reshape(idx, {-1});
  Value flat = scatter_add(a.b.zeros({a.g->dtype(), {n}}), idx_flat, g_flat, 0);
  return reshape(flat, a.x()->shape());
}

// avg_pool2d's gradient: g / count spread over each window, the transpose of
// a convolution of every plane with ones (count: the window's elements inside
// the image, a constant of the geometry).
Value avg_pool_rule(const Args& a) {
  const Attrs& at = a.attrs();
  const Shape &xs = a.x()->shape(), &ys = a.g->shape();
  Tensor inverse(a.g->dtype(), {ys[2], ys[3]}), ones(a.g->dtype(), {1, 1, at.window[0], at.window[1]});
  for (int64_t i = 0; i < ones.numel(); ++i) ones.set(i, 1);
  for (int64_t oy = 0; oy < ys[2]; ++oy)
    for (int64_t ox = 0; ox < ys[3]; ++ox) {
      auto inside = [](int64_t o, int64_t s, int64_t p, int64_t k, int64_t n) {
        int64_t lo = o * s - p;
        return std::min(lo + k, n) - std::max<int64_t>(lo, 0);
      };
      int64_t count = inside(oy, at.stride[0], at.padding[0], at.window[0], xs[2]) *
                      inside(ox, at.stride[1], at.padding[1], at.window[1], xs[3]);
      inverse.set(oy * ys[3] + ox, 1.0 / static_cast<double>(count));
    }
  Function& f = a.b.function();
  Value share = reshape(mul(a.g, constant(f, inverse)), {ys[0] * ys[1], 1, ys[2], ys[3]});
  Conv2DOptions o{at.stride, at.padding, {1, 1}, 1};
  return reshape(conv2d_input_grad(share, constant(f, ones), {xs[0] * xs[1], 1, xs[2], xs[3]}, o), xs);
}

constexpr Value kZero{};  // a zero contribution

// One result's gradient alone: the loop's VJP with zeros on the other results.
Value loop_rule(const Args& a) {
  std::vector<Node*> group = fused_group(a.y);
  std::vector<Value> g(group.size());
  for (size_t k = 0; k < group.size(); ++k)
    if (group[k] == a.y) g[k] = a.g;
  return loop_vjp(a.b, group, g)[a.i];
}

struct Entry {
  Op op;
  Rule rule;
};

// The table. Binary and select rules may return the broadcast shape.
const Entry kRules[] = {
    // d/dx -x = -1
    {Op::Neg, [](const Args& a) { return neg(a.g); }},
    // d/dx |x| = sign(x), taken as 0 at x = 0
    {Op::Abs, [](const Args& a) {
       Value zero = a.c(0);
       Value minus_g = neg(a.g);
       Value below = select(less(a.x(), zero), minus_g, zero);
       return select(greater(a.x(), zero), a.g, below);
     }},
    // d/dx sign(x) = 0 (at 0 too: the jump has no finite derivative)
    {Op::Sign, [](const Args&) { return kZero; }},
    // d/dx e^x = e^x = y
    {Op::Exp, [](const Args& a) { return mul(a.g, a.y); }},
    // d/dx ln x = 1/x
    {Op::Log, [](const Args& a) { return div(a.g, a.x()); }},
    // d/dx ln(1+x) = 1/(1+x)
    {Op::Log1p, [](const Args& a) { return div(a.g, add(a.c(1), a.x())); }},
    // d/dx sqrt(x) = 1/(2 y); at x = 0 this is g/0: +-inf, NaN when g = 0
    {Op::Sqrt, [](const Args& a) { return div(a.g, mul(a.c(2), a.y)); }},
    // d/dx x^(-1/2) = -y^3 / 2
    {Op::Rsqrt, [](const Args& a) {
       Value y3 = mul(mul(a.y, a.y), a.y);
       return mul(mul(a.g, a.c(-0.5)), y3);
     }},
    // d/dx tanh x = 1 - y^2
    {Op::Tanh, [](const Args& a) {
       Value y2 = mul(a.y, a.y);
       return mul(a.g, sub(a.c(1), y2));
     }},
    // d/dx sigmoid(x) = y (1 - y)
    {Op::Sigmoid, [](const Args& a) { return mul(a.g, mul(a.y, sub(a.c(1), a.y))); }},
    // d/dx max(x, 0) = [x > 0], taken as 0 at x = 0 (and for NaN)
    {Op::Relu, [](const Args& a) { return select(greater(a.x(), a.c(0)), a.g, a.c(0)); }},
    // d/dx sin x = cos x
    {Op::Sin, [](const Args& a) { return mul(a.g, cos(a.x())); }},
    // d/dx cos x = -sin x
    {Op::Cos, [](const Args& a) { return mul(a.g, neg(sin(a.x()))); }},
    // d/dx floor(x) = 0 (at integers too)
    {Op::Floor, [](const Args&) { return kZero; }},
    // d/dx erf(x) = (2/sqrt(pi)) e^(-x^2)
    {Op::Erf, [](const Args& a) {
       Value bell = exp(neg(mul(a.x(), a.x())));
       return mul(a.g, mul(a.c(2 / std::sqrt(std::numbers::pi)), bell));
     }},
    // stop_gradient(x) is treated as a constant: 0
    {Op::StopGradient, [](const Args&) { return kZero; }},
    // d/dx barrier(x) = 1 (the identity)
    {Op::Barrier, [](const Args& a) { return a.g; }},
    // d/da (a + b) = 1, d/db = 1
    {Op::Add, [](const Args& a) { return a.g; }},
    // d/da (a - b) = 1, d/db = -1
    {Op::Sub, [](const Args& a) { return a.i == 0 ? a.g : neg(a.g); }},
    // d/da (a * b) = b, d/db = a
    {Op::Mul, [](const Args& a) { return mul(a.g, a.x(1 - a.i)); }},
    // d/da (a / b) = 1/b, d/db = -a/b^2 = -y/b
    {Op::Div, [](const Args& a) {
       return a.i == 0 ? div(a.g, a.x(1)) : neg(div(mul(a.g, a.y), a.x(1)));
     }},
    // d/da a^b = b a^(b-1), d/db = a^b ln a (0 where a <= 0)
    {Op::Pow, [](const Args& a) {
       return a.i == 0 ? mul(a.g, mul(a.x(1), pow(a.x(0), sub(a.x(1), a.c(1)))))
                       : pow_exponent_rule(a);
     }},
    // d/da max(a, b) = [b <= a], d/db = [b > a]: a tie (or a NaN) goes to a
    {Op::Maximum, [](const Args& a) {
       Value b_wins = greater(a.x(1), a.x(0));
       return a.i == 0 ? select(b_wins, a.c(0), a.g) : select(b_wins, a.g, a.c(0));
     }},
    // d/da min(a, b) = [b >= a], d/db = [b < a]: a tie (or a NaN) goes to a
    {Op::Minimum, [](const Args& a) {
       Value b_wins = less(a.x(1), a.x(0));
       return a.i == 0 ? select(b_wins, a.c(0), a.g) : select(b_wins, a.g, a.c(0));
     }},
    // d/da select(c, a, b) = [c], d/db = [not c]; the condition gets none
    {Op::Select, [](const Args& a) {
       return a.i == 1 ? select(a.x(0), a.g, a.c(0)) : select(a.x(0), a.c(0), a.g);
     }},
    // d/dx_j sum(x) = 1: g broadcast back over the reduced axes
    {Op::Sum, [](const Args& a) { return broadcast_to(with_kept_dims(a.g, a), a.x()->shape()); }},
    // d/dx_j mean(x) = 1/n
    {Op::Mean, [](const Args& a) {
       Value scale = a.c(1.0 / reduced_count(a));
       Value share = mul(with_kept_dims(a.g, a), scale);
       return broadcast_to(share, a.x()->shape());
     }},
    // d/dx_j max(x) = [x_j = y] / #{k : x_k = y}: tied maxima share g equally
    {Op::Max, extremum_rule},
    // d/dx_j min(x) = [x_j = y] / #{k : x_k = y}: tied minima share g equally
    {Op::Min, extremum_rule},
    // reshape back
    {Op::Reshape, [](const Args& a) { return reshape(a.g, a.x()->shape()); }},
    // transpose by the inverse permutation
    {Op::Transpose, [](const Args& a) { return transpose(a.g, inverse_perm(a.attrs().perm)); }},
    // d/dx broadcast_to(x): sum over the broadcast axes
    {Op::BroadcastTo, [](const Args& a) { return sum_to_shape(a.g, a.x()->shape()); }},
    // d/dx slice(x): g placed back at the sliced positions, zeros elsewhere
    {Op::Slice, slice_rule},
    // d/dx_i concat(x_1..x_n): the slice of g that x_i filled
    {Op::Concat, concat_rule},
    // d/dA AB = G B^T, d/dB AB = A^T G (transposes by attribute)
    {Op::MatMul, matmul_rule},
    // d/dx softmax(x) = y (g - sum(g y)) along the axis
    {Op::Softmax, [](const Args& a) {
       Value dot = sum(mul(a.g, a.y), std::vector<int64_t>{a.attrs().axis}, true);
       return mul(a.y, sub(a.g, dot));
     }},
    // d/dx log_softmax(x) = g - softmax(x) sum(g) along the axis
    {Op::LogSoftmax, [](const Args& a) {
       Value total = sum(a.g, std::vector<int64_t>{a.attrs().axis}, true);
       return sub(a.g, mul(softmax(a.x(), a.attrs().axis), total));
     }},
    // d/dlogits cross_entropy = (softmax(logits) - one_hot(labels)) / N
    {Op::CrossEntropy, [](const Args& a) {
       const Shape& s = a.x(0)->shape();
       Value target = one_hot(a.x(1), s[1], a.g->dtype());
       Value residual = sub(softmax(a.x(0), 1), target);
       return mul(residual, div(a.g, a.c(static_cast<double>(s[0]))));
     }},
    // d/dx cast(x) = 1, cast back to x's float type
    {Op::Cast, [](const Args& a) { return cast(a.g, a.x()->dtype()); }},
    // d/dx conv2d(x, w) = its transpose in x applied to g; d/dw: its transpose in w
    {Op::Conv2D, [](const Args& a) {
       Conv2DOptions o = conv_options(a.attrs());
       return a.i == 0 ? conv2d_input_grad(a.g, a.x(1), a.x(0)->shape(), o)
                       : conv2d_weight_grad(a.x(0), a.g, a.x(1)->shape(), o);
     }},
    // <h, conv2d_input_grad(g, w)> = <conv2d(h, w), g>: d/dg = conv2d(h, w), d/dw = conv2d_weight_grad(h, g)
    {Op::Conv2DInputGrad, [](const Args& a) {
       Conv2DOptions o = conv_options(a.attrs());
       return a.i == 0 ? conv2d(a.g, a.x(1), o) : conv2d_weight_grad(a.g, a.x(0), a.x(1)->shape(), o);
     }},
    // <h, conv2d_weight_grad(x, g)> = <conv2d(x, h), g>: d/dx = conv2d_input_grad(g, h), d/dg = conv2d(x, h)
    {Op::Conv2DWeightGrad, [](const Args& a) {
       Conv2DOptions o = conv_options(a.attrs());
       return a.i == 0 ? conv2d_input_grad(a.x(1), a.g, a.x(0)->shape(), o) : conv2d(a.x(0), a.g, o);
     }},
    // d/dx_j max over a window = [j is the window's first maximum]
    {Op::MaxPool2D, max_pool_rule},
    // d/dx_j mean over a window = 1/count for the window's elements inside the image
    {Op::AvgPool2D, avg_pool_rule},
    // d/dx_j sum_{k<=i} x_k = [j <= i]: the cumsum of g in the other direction
    {Op::CumSum, [](const Args& a) {
       return cumsum(a.g, a.attrs().axis, !a.attrs().reverse, a.attrs().exclusive);
     }},
    // d/dx x[idx] = g added back at idx; the indices get none
    {Op::Gather, [](const Args& a) {
       return scatter_add(a.b.zeros(a.x(0)->type()), a.x(1), a.g, a.attrs().axis);
     }},
    // d/dbase = g, d/dupdates = g[idx] (gathered back)
    {Op::ScatterAdd, [](const Args& a) {
       return a.i == 0 ? a.g : gather(a.g, a.x(1), a.attrs().axis);
     }},
    // d/dx_r all_reduce(x): every rank's g summed (mean: averaged; max/min: to
    // the ranks at the extreme), see all_reduce_rule
    {Op::AllReduce, all_reduce_rule},
    // d/d(operands) of a loop: a loop the other way over the stacked carries
    // (passes/loop_grad.cpp); build-grad builds one per loop for all results
    {Op::Scan, loop_rule},
    {Op::While, loop_rule},
};

const std::array<Rule, kNumOps>& rule_table() {
  static const std::array<Rule, kNumOps> table = [] {
    std::array<Rule, kNumOps> t{};
    for (const Entry& e : kRules) t[static_cast<size_t>(e.op)] = e.rule;
    return t;
  }();
  return table;
}

}  // namespace

bool has_bprop_rule(Op op) { return rule_table()[static_cast<size_t>(op)] != nullptr; }

Value bprop_rule(GradBuilder& b, Node* c, size_t i, Value g) {
  Rule rule = rule_table()[static_cast<size_t>(c->op())];
  if (!rule) throw Error("grad: no derivative rule for " + std::string(op_name(c->op())));
  return rule(Args{b, c, i, g});
}

Value bprop(GradBuilder& b, Node* c, size_t i, Value g) {
  Value r = bprop_rule(b, c, i, g);
  if (!r.node) return r;
  r = sum_to_shape(r, c->operand(i)->shape());
  if (r->type() != c->operand(i)->type())
    throw InternalError("grad: the rule for " + std::string(op_name(c->op())) +
                " gave " + r->type().str() + " for an operand of type " +
                c->operand(i)->type().str());
  return r;
}

}  // namespace nabla::autodiff
