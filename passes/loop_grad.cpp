// Reverse mode through loops (ir/loop.h), private to build-grad.
//
// scan: the vector-Jacobian product of the whole loop is a second scan that
// runs the other way (JAX's transpose of scan). First a scan over the same
// operands stacks the carries c_i entering each step (the tape); then the
// backward scan carries the gradient on c and the sum of the gradients on the
// invariants, and at step i differentiates the body at (c_i, x_i, w) with the
// cotangents (gc, gy_i): its body is the original body followed by the
// build-grad expansion of z = <c', gc> + <y_i, gy_i>, an ordinary body that is
// optimized, compiled and differentiated again like any other.
//
// while: its trip count n is known only at run time. The same while carrying
// a step counter gives n (loop-opt merges it with the while itself), and the
// derivative is that of a scan of the step body with n steps decided at run
// time (dynamic_length) and max_trip_count as its bound, the length of its
// stacked tape: it costs the n steps taken, forward and back. A while
// without max_trip_count is first written as nested bounded whiles
// (bounded_while, below).
#include "nabla/passes/loop_grad.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/error.h"

namespace nabla::autodiff {
namespace {

std::vector<Node*> operands_of(const Node& n) { return {n.operands().begin(), n.operands().end()}; }

// z1 + z2, in f64 when their float types differ.
Value add_terms(Value z, Value t) {
  if (!z.node) return t;
  if (z->dtype() != t->dtype()) {
    z = cast(z, DType::f64);
    t = cast(t, DType::f64);
  }
  return add(z, t);
}

// Which operands (by index within their part) and results take part.
struct Flow {
  std::vector<size_t> c, x, w, y;  // float carries, xs, invariants; ys with a gradient
};

Flow flow_of(const Node& n, const LoopLayout& l, std::span<const Value> g) {
  Flow fl;
  for (size_t j = 0; j < l.carry; ++j)
    if (is_float(n.operand(j)->dtype())) fl.c.push_back(j);
  for (size_t j = 0; j < l.xs; ++j)
    if (is_float(n.operand(l.carry + j)->dtype())) fl.x.push_back(j);
  for (size_t j = 0; j < l.invariant; ++j)
    if (is_float(n.operand(l.carry + l.xs + j)->dtype())) fl.w.push_back(j);
  for (size_t j = 0; j < l.ys; ++j)
    if (g[l.carry + j].node && is_float(n.body()->results()[l.carry + j]->dtype())) fl.y.push_back(j);
  return fl;
}

// ---- Residuals ----
// A plain scan (checkpoint = 0, a static length) stores more than its
// carries: the values of the forward body that the backward body reads and
// that a product computes (a matmul or convolution in their cone), so that
// the backward steps read them instead of evaluating the products again (as
// JAX's scan stores its residuals), when they take at most
// kResidualCarryRatio times the carries' bytes a step. checkpoint = 1, and
// the outer scans of a checkpointed form, store the carries only; the scans
// inside its innermost blocks store as the default does.
constexpr int64_t kResidualCarryRatio = 4;

bool is_product(Op op) {
  return op == Op::MatMul || op == Op::Conv2D || op == Op::Conv2DInputGrad || op == Op::Conv2DWeightGrad;
}

int64_t bytes_of(const TensorType& t) { return t.numel() * static_cast<int64_t>(dtype_size(t.dtype)); }

// Whether n's tape may hold residuals.
bool stores_residuals(const Node& n, const LoopLayout& l) { return n.attrs().checkpoint == 0 && l.count < 0; }

// What the walk in residuals() knows of a node of the backward body.
enum : int { kPrimal = 1, kProduct = 2, kUnsafe = 4 };

// The nodes of `back` (a backward body, inputs gc, gw | c, x, gy | w) computed
// from c, x and w alone, with a product in their cone (and no loop, region,
// grad, collective or op that may fail), read by a node that needs the
// cotangents: what the tape stores for the backward body. Empty when they
// take more than kResidualCarryRatio times the carries' bytes.
std::vector<Node*> residuals(const Function& back, const LoopLayout& l, const Flow& fl) {
  const std::vector<Node*>& in = back.inputs();
  size_t first = fl.c.size() + fl.w.size(), gy = first + l.carry + l.xs, w = gy + fl.y.size();
  std::unordered_map<const Node*, int> state;
  int64_t carry_bytes = 0;
  for (size_t i = first; i < in.size(); ++i)
    if (i < gy || i >= w) state[in[i]] = kPrimal;
  for (size_t j = 0; j < l.carry; ++j) carry_bytes += bytes_of(in[first + j]->type());
  for (Node* n : back) {
    int s = kPrimal;
    for (Node* o : n->operands()) {
      auto it = state.find(o);
      s = it == state.end() ? 0 : s | it->second;
      if (s == 0) break;
    }
    if (s == 0) continue;
    if (is_product(n->op())) s |= kProduct;
    if (is_loop(n->op()) || n->op() == Op::Fused || n->op() == Op::Grad || has_flag(n->op(), kMayFail) ||
        is_collective(n->op()))
      s |= kUnsafe;
    state[n] = s;
  }
  std::unordered_set<const Node*> live(back.results().begin(), back.results().end());  // (z itself is not)
  std::vector<Node*> order = back.nodes(), out;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (live.contains(*it)) live.insert((*it)->operands().begin(), (*it)->operands().end());
  int64_t bytes = 0;
  for (Node* n : order) {
    auto it = state.find(n);
    if (it == state.end() || it->second != (kPrimal | kProduct)) continue;
    bool read = std::any_of(n->users().begin(), n->users().end(),
                            [&](Node* u) { return live.contains(u) && !state.contains(u); });
    if (!read) continue;
    out.push_back(n);
    bytes += bytes_of(n->type());
  }
  if (bytes > kResidualCarryRatio * carry_bytes) return {};
  return out;
}

// Copies into dst the cones of `nodes` (nodes of src), src's nodes already in
// `map` read as their copies; returns the copies of `nodes`.
std::vector<Node*> copy_cones(const Function& src, std::span<Node* const> nodes, Function& dst,
                              std::unordered_map<const Node*, Node*> map) {
  std::unordered_set<const Node*> needed(nodes.begin(), nodes.end());
  std::vector<Node*> order = src.nodes();
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (needed.contains(*it))
      for (Node* o : (*it)->operands()) needed.insert(o);
  for (Node* n : order)
    if (needed.contains(n) && !map.contains(n)) clone_node(*n, dst, map, false);
  std::vector<Node*> out;
  for (Node* n : nodes) out.push_back(map.at(n));
  return out;
}

// The tape: a scan over n's operands whose body returns (c', c, r), so that
// its stacked outputs are the carries entering each step, then the residuals
// r (nodes of the backward body `back`, computed again from the step's c, x
// and w).
std::vector<Node*> stacked_carries(Function& f, const Node& n, const LoopLayout& l, const Function& back,
                                   std::span<Node* const> res, size_t first) {
  auto body = std::make_shared<Function>("scan.tape");
  std::vector<Node*> in = add_inputs(*body, input_types(*n.body()));
  std::vector<Node*> out = inline_function(*n.body(), *body, in);
  for (size_t j = 0; j < l.carry; ++j) body->output(out[j]);
  for (size_t j = 0; j < l.carry; ++j) body->output(in[j]);
  if (!res.empty()) {
    const std::vector<Node*>& b = back.inputs();
    std::unordered_map<const Node*, Node*> map;
    for (size_t j = 0; j < l.carry + l.xs; ++j) map[b[first + j]] = in[j];
    for (size_t j = 0; j < l.invariant; ++j) map[b[b.size() - l.invariant + j]] = in[l.carry + l.xs + j];
    for (Node* r : copy_cones(back, res, *body, std::move(map))) body->output(r);
  }
  std::vector<Node*> nodes = make_loop(f, Op::Scan, operands_of(n), n.attrs(), std::move(body));
  return {nodes.begin() + static_cast<std::ptrdiff_t>(l.carry), nodes.end()};
}

// `back` reading each of `res` (its nodes) from a new input instead, the
// inputs inserted before input `at`.
std::shared_ptr<Function> with_residual_inputs(Function& back, std::span<Node* const> res, size_t at) {
  const size_t old = back.inputs().size();
  for (size_t i = 0; i < res.size(); ++i) back.replace_all_uses(res[i], back.input(fmt::format("r{}", i), res[i]->type()));
  std::vector<TensorType> types = input_types(back), order(types.begin(), types.begin() + static_cast<std::ptrdiff_t>(at));
  order.insert(order.end(), types.begin() + static_cast<std::ptrdiff_t>(old), types.end());
  order.insert(order.end(), types.begin() + static_cast<std::ptrdiff_t>(at), types.begin() + static_cast<std::ptrdiff_t>(old));
  auto body = std::make_shared<Function>("scan.grad");
  std::vector<Node*> in = add_inputs(*body, order), args(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(at));
  args.insert(args.end(), in.begin() + static_cast<std::ptrdiff_t>(at + res.size()), in.end());
  args.insert(args.end(), in.begin() + static_cast<std::ptrdiff_t>(at), in.begin() + static_cast<std::ptrdiff_t>(at + res.size()));
  for (Node* r : inline_function(back, *body, args)) body->output(r);
  return body;
}

// The backward body: inputs (gc, gw | c, x, gy | w), results (gc_prev, gw + dw | dx).
std::shared_ptr<Function> backward_body(const Node& n, const LoopLayout& l, const Flow& fl) {
  const Function& fwd = *n.body();
  auto body = std::make_shared<Function>("scan.grad");
  std::vector<TensorType> fwd_in = input_types(fwd), carry_t, acc_t, gy_t;
  for (size_t j : fl.c) carry_t.push_back(fwd_in[j]);
  for (size_t j : fl.w) acc_t.push_back(fwd_in[l.carry + l.xs + j]);
  for (size_t j : fl.y) gy_t.push_back(fwd.results()[l.carry + j]->type());
  std::vector<Node*> gc = add_inputs(*body, carry_t), gw = add_inputs(*body, acc_t);
  std::vector<TensorType> cx(fwd_in.begin(), fwd_in.begin() + static_cast<std::ptrdiff_t>(l.carry + l.xs));
  std::vector<Node*> c_x = add_inputs(*body, cx), gy = add_inputs(*body, gy_t);
  std::vector<TensorType> wt(fwd_in.begin() + static_cast<std::ptrdiff_t>(l.carry + l.xs), fwd_in.end());
  std::vector<Node*> w = add_inputs(*body, wt), args = c_x;
  args.insert(args.end(), w.begin(), w.end());
  std::vector<Node*> out = inline_function(fwd, *body, args);
  build_grad(*body);  // a grad inside the forward body
  Value z;
  for (size_t i = 0; i < fl.c.size(); ++i) z = add_terms(z, sum(mul(out[fl.c[i]], gc[i])));
  for (size_t i = 0; i < fl.y.size(); ++i) z = add_terms(z, sum(mul(out[l.carry + fl.y[i]], gy[i])));
  std::vector<Value> targets;
  for (size_t j : fl.c) targets.push_back(args[j]);
  for (size_t j : fl.x) targets.push_back(args[l.carry + j]);
  for (size_t j : fl.w) targets.push_back(args[l.carry + l.xs + j]);
  GradOptions options;
  options.allow_disconnected = true;
  std::vector<Value> d = grad(z, targets, options);
  size_t k = fl.c.size(), m = fl.x.size();
  for (size_t i = 0; i < k; ++i) body->output(d[i]);
  for (size_t i = 0; i < fl.w.size(); ++i) body->output(add(gw[i], d[k + m + i]));
  for (size_t i = 0; i < m; ++i) body->output(d[k + i]);
  return body;
}

// ---- Checkpointing ----
// A scan of N steps with checkpoint k is differentiated as the same scan
// written in blocks: an outer scan of q = N / k steps whose body is an inner
// scan of k steps (the original body), then a tail scan of the N - q k steps
// left (before the blocks when reverse). The outer scan's tape holds q
// carries; the inner scan's tape, k carries, lives in the outer backward
// body, recomputed block by block: q + k carries instead of N. With L > 1
// levels the inner scans (and the tail) are checkpointed again, with L - 1
// levels: each level stores about k = N^(1/(L+1)) carries and runs the
// forward steps once more.

// b^e, or INT64_MAX when larger.
int64_t power(int64_t b, int64_t e) {
  int64_t p = 1;
  for (int64_t i = 0; i < e; ++i) p = p > std::numeric_limits<int64_t>::max() / b ? std::numeric_limits<int64_t>::max() : p * b;
  return p;
}

// n's blocks: `size` steps each (0: not checkpointed), and the checkpoint of
// the inner scans. checkpoint = -L (L levels) takes the least k with
// k^(L+1) >= N and blocks of k^L steps, whose inner scans take -(L-1):
// -1 is the sqrt schedule, k = ceil(sqrt(N)). The outer scans store their
// carries only; the innermost blocks' scans (those of k > 1 and -1, the last
// level of -L, and the tail) take checkpoint = 0: a block's tape stacks the
// residuals as the default does (docs/autodiff.md weighs this: RK4's sqrt
// gradient 0.8x the time for 3 x 400 bytes more a block step).
struct Blocks {
  int64_t size = 0, inner = 0;
};
Blocks checkpoint_blocks(const Node& n) {
  int64_t c = n.attrs().checkpoint, len = n.attrs().length;
  if (c >= 0) return {c > 1 ? c : 0, 0};
  int64_t levels = -c;
  auto k = static_cast<int64_t>(std::ceil(std::pow(static_cast<double>(len), 1.0 / static_cast<double>(levels + 1))));
  k = std::max<int64_t>(k, 1);
  while (power(k, levels + 1) < len) ++k;
  while (k > 1 && power(k - 1, levels + 1) >= len) --k;
  return {power(k, levels), levels > 1 ? c + 1 : 0};
}

// Operand j of n sliced to steps [from, to) when it is an xs.
std::vector<Node*> part_operands(const Node& n, const LoopLayout& l, std::span<Node* const> ops, int64_t from,
                                 int64_t to) {
  std::vector<Node*> out(ops.begin(), ops.end());
  for (size_t j = l.carry; j < l.carry + l.xs; ++j) {
    Shape s = ops[j]->shape();
    if (from == 0 && to == s[0]) continue;
    std::vector<int64_t> start(s.size(), 0), stop(s.begin(), s.end());
    start[0] = from;
    stop[0] = to;
    out[j] = slice(ops[j], start, stop);
  }
  return out;
}

std::vector<Node*> scan_part(const Node& n, std::vector<Node*> ops, int64_t length,
                             std::shared_ptr<const Function> body, int64_t checkpoint = 0) {
  Attrs a = n.attrs();
  a.length = length;
  a.checkpoint = checkpoint;
  Function& f = *ops[0]->function();
  return make_loop(f, Op::Scan, std::move(ops), a, std::move(body));
}

// The first k steps of n, blocked: an outer scan over q blocks of k steps.
std::vector<Node*> blocked(const Node& n, const LoopLayout& l, std::vector<Node*> ops, int64_t q, Blocks b) {
  const int64_t k = b.size;
  auto outer = std::make_shared<Function>("scan.block");
  std::vector<TensorType> types = input_types(*n.body());
  for (size_t j = l.carry; j < l.carry + l.xs; ++j) types[j] = ops[j]->type(), types[j].shape[0] = k;
  std::vector<Node*> in = add_inputs(*outer, types);
  for (Node* r : scan_part(n, in, k, n.shared_body(), b.inner)) outer->output(r);
  for (size_t j = l.carry; j < l.carry + l.xs; ++j) {
    Shape s = ops[j]->shape();
    s[0] = k;
    s.insert(s.begin(), q);
    ops[j] = reshape(ops[j], s);
  }
  std::vector<Node*> r = scan_part(n, ops, q, outer, 1);
  for (size_t i = l.carry; i < r.size(); ++i) {  // [q, k, ...] -> [q k, ...]
    Shape s(r[i]->shape().begin() + 1, r[i]->shape().end());
    s[0] = q * k;
    r[i] = reshape(r[i], s);
  }
  return r;
}

// n's results computed in blocks of k steps (values equal to n's).
std::vector<Node*> checkpointed(const Node& n, const LoopLayout& l, std::span<Node* const> ops, Blocks b) {
  int64_t len = l.length, q = len / b.size, main = q * b.size;
  bool reverse = n.attrs().reverse;
  auto with_carries = [&](std::vector<Node*> part, const std::vector<Node*>& from) {
    for (size_t j = 0; j < l.carry; ++j) part[j] = from[j];
    return part;
  };
  std::vector<Node*> first, second;  // in execution order
  std::vector<Node*> tail_ops = part_operands(n, l, ops, main, len), main_ops = part_operands(n, l, ops, 0, main);
  if (!reverse) {
    first = blocked(n, l, main_ops, q, b);
    second = main == len ? first : scan_part(n, with_carries(tail_ops, first), len - main, n.shared_body(), b.inner);
  } else {
    first = main == len ? std::vector<Node*>() : scan_part(n, tail_ops, len - main, n.shared_body(), b.inner);
    second = blocked(n, l, first.empty() ? main_ops : with_carries(main_ops, first), q, b);
  }
  std::vector<Node*> out(second.begin(), second.begin() + static_cast<std::ptrdiff_t>(l.carry));
  const std::vector<Node*>& main_r = reverse ? second : first;
  const std::vector<Node*>& tail_r = reverse ? first : second;
  for (size_t i = l.carry; i < main_r.size(); ++i) {
    std::vector<Value> parts{main_r[i]};
    if (main != len) parts.push_back(tail_r[i]);
    out.push_back(parts.size() == 1 ? main_r[i] : concat(parts, 0).node);
  }
  return out;
}

// n's readers read the same values (bit for bit: the same steps in the same
// order) from n's blocked form, computed where n is: loop-opt then merges its
// scans with the blocked tape of the VJP, so the forward steps run once for
// both, and n is left dead (the sweep has read all of n's cotangents).
void use_blocked_values(Function& f, const Node& n, const LoopLayout& l, Blocks blocks) {
  std::vector<Node*> group = fused_group(&n);
  InsertionGuard guard(f, group[0]);
  std::vector<Node*> values = checkpointed(n, l, operands_of(n), blocks);
  for (Node* m : group) f.replace_all_uses(m, values[static_cast<size_t>(m->body_result())]);
}

// The VJP of n through its checkpointed form, built in a function of its own
// (operands and cotangents in, gradients out) and inlined into f.
std::vector<Value> checkpointed_vjp(GradBuilder& b, const Node& n, std::span<const Value> g, Blocks blocks) {
  LoopLayout l = loop_layout(n);
  Function vjp("scan.checkpointed");
  std::vector<TensorType> types;
  for (const Node* o : n.operands()) types.push_back(o->type());
  std::vector<Node*> ops = add_inputs(vjp, types), args(n.operands().begin(), n.operands().end());
  std::vector<Node*> results = checkpointed(n, l, ops, blocks);
  Value z;
  for (size_t i = 0; i < results.size(); ++i)
    if (g[i].node && is_float(results[i]->dtype())) {
      args.push_back(g[i]);
      z = add_terms(z, sum(mul(results[i], vjp.input(fmt::format("g{}", i), g[i]->type()))));
    }
  std::vector<Value> result(n.num_operands());
  std::vector<Value> targets;
  for (Node* o : ops)
    if (is_float(o->dtype())) targets.push_back(o);
  if (!z.node || targets.empty()) return result;
  GradOptions options;
  options.allow_disconnected = true;
  for (Value d : grad(z, targets, options)) vjp.output(d);
  std::vector<Node*> grads = inline_function(vjp, b.function(), args);
  for (size_t i = 0, t = 0; i < ops.size(); ++i)
    if (is_float(ops[i]->dtype())) result[i] = grads[t++];
  use_blocked_values(b.function(), n, l, blocks);
  return result;
}

std::vector<Value> scan_vjp(GradBuilder& b, const Node& n, std::span<const Value> g) {
  Function& f = b.function();
  LoopLayout l = loop_layout(n);
  if (Blocks blocks = checkpoint_blocks(n); blocks.size > 0 && blocks.size < l.length && l.count < 0)
    return checkpointed_vjp(b, n, g, blocks);
  Flow fl = flow_of(n, l, g);
  bool any = !fl.y.empty();
  for (size_t j : fl.c) any = any || g[j].node;
  std::vector<Value> result(n.num_operands());
  if (!any || (fl.c.empty() && fl.x.empty() && fl.w.empty())) return result;
  std::vector<Node*> operands;
  for (size_t j : fl.c) operands.push_back(g[j].node ? g[j] : b.zeros(n.operand(j)->type()));
  for (size_t j : fl.w) operands.push_back(b.zeros(n.operand(l.carry + l.xs + j)->type()));
  std::shared_ptr<Function> body = backward_body(n, l, fl);
  std::vector<Node*> res = stores_residuals(n, l) ? residuals(*body, l, fl) : std::vector<Node*>();
  const size_t first = fl.c.size() + fl.w.size();
  std::vector<Node*> tape = stacked_carries(f, n, l, *body, res, first);
  operands.insert(operands.end(), tape.begin(), tape.begin() + static_cast<std::ptrdiff_t>(l.carry));
  for (size_t j = 0; j < l.xs; ++j) operands.push_back(n.operand(l.carry + j));
  for (size_t j : fl.y) operands.push_back(g[l.carry + j]);
  operands.insert(operands.end(), tape.begin() + static_cast<std::ptrdiff_t>(l.carry), tape.end());
  for (size_t j = 0; j < l.invariant; ++j) operands.push_back(n.operand(l.carry + l.xs + j));
  if (!res.empty()) body = with_residual_inputs(*body, res, first + l.carry + l.xs + fl.y.size());
  Attrs a = n.attrs();
  a.num_carry = static_cast<int64_t>(first);
  a.num_xs = static_cast<int64_t>(l.carry + l.xs + fl.y.size() + res.size());
  a.reverse = !a.reverse;
  std::vector<Node*> back = make_loop(f, Op::Scan, std::move(operands), a, std::move(body));
  size_t k = fl.c.size(), p = fl.w.size();
  for (size_t i = 0; i < k; ++i) result[fl.c[i]] = back[i];
  for (size_t i = 0; i < p; ++i) result[l.carry + l.xs + fl.w[i]] = back[k + i];
  for (size_t i = 0; i < fl.x.size(); ++i) result[l.carry + fl.x[i]] = back[k + p + i];
  return result;
}

// n's body with an input of type t added after the others (unused by it).
std::shared_ptr<Function> with_input(const Function& body, const char* name, const TensorType& t) {
  auto out = std::make_shared<Function>(body.name());
  std::vector<Node*> in = add_inputs(*out, input_types(body));
  out->input(name, t);
  for (Node* r : inline_function(body, *out, in)) out->output(r);
  return out;
}

// A while's bodies over (c, k, w): n's condition (and k < bound when bound
// >= 0) and a step of `step` on (c, w) with k + 1, k an i64 step counter.
struct Bodies {
  std::shared_ptr<Function> step, cond;
};
Bodies counting_bodies(const Node& n, const LoopLayout& l, const Function& step, int64_t bound) {
  std::vector<TensorType> types = input_types(*n.body());
  types.insert(types.begin() + static_cast<std::ptrdiff_t>(l.carry), TensorType{DType::i64, {}});
  Bodies out{std::make_shared<Function>("while.count"), std::make_shared<Function>("while.count.cond")};
  std::vector<Node*> s = add_inputs(*out.step, types), c = add_inputs(*out.cond, types);
  auto without_counter = [&](std::vector<Node*> v) {
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(l.carry));
    return v;
  };
  std::vector<Node*> next = inline_function(step, *out.step, without_counter(s));
  next.insert(next.begin() + static_cast<std::ptrdiff_t>(l.carry),
              add(s[l.carry], constant(*out.step, 1.0, DType::i64)));
  for (Node* r : next) out.step->output(r);
  Value p = inline_function(*n.cond(), *out.cond, without_counter(c))[0];
  if (bound >= 0) p = select(p, less(c[l.carry], constant(*out.cond, static_cast<double>(bound), DType::i64)), p);
  out.cond->output(p);
  return out;
}

// The while of `bodies` in f on n's operands with the counter, from 0, after the carries.
std::vector<Node*> counting_while(Function& f, const Node& n, const LoopLayout& l, std::vector<Node*> operands,
                                  Bodies bodies, int64_t bound) {
  operands.insert(operands.begin() + static_cast<std::ptrdiff_t>(l.carry), constant(f, 0.0, DType::i64));
  Attrs a = n.attrs();
  a.max_trip_count = bound;
  return make_loop(f, Op::While, std::move(operands), a, std::move(bodies.step), std::move(bodies.cond));
}

// The number of steps the while n takes: n again, carrying a step counter.
Node* trip_count(Function& f, const Node& n, const LoopLayout& l) {
  return counting_while(f, n, l, operands_of(n), counting_bodies(n, l, *n.body(), -1), n.attrs().max_trip_count)[l.carry];
}

// ---- A while without max_trip_count ----
// Its steps are grouped in `levels` nested whiles of at most `slots` steps
// each: level 1 runs up to `slots` steps while n's condition holds, level j
// up to `slots` runs of level j - 1, and the outermost level, a while with
// max_trip_count = slots, runs level levels - 1 until the condition fails.
// Differentiated as a bounded while, each level's tape holds `slots`
// carries, and the backward sweep of a level recomputes the level below
// from its stored carry: multi-level checkpointing, levels * slots carries
// for up to slots^levels steps, at about two more forward runs of the steps
// per level.

// (c, w) -> c after up to `slots` runs of `step` while n's condition holds.
std::shared_ptr<Function> level_body(const Node& n, const LoopLayout& l, const Function& step, int64_t slots) {
  auto body = std::make_shared<Function>("while.level");
  std::vector<Node*> in = add_inputs(*body, input_types(*n.body()));
  std::vector<Node*> r = counting_while(*body, n, l, in, counting_bodies(n, l, step, slots), slots);
  for (size_t j = 0; j < l.carry; ++j) body->output(r[j]);
  return body;
}

std::vector<Value> while_vjp(GradBuilder& b, const Node& n, std::span<const Value> g) {
  Function& f = b.function();
  if (n.attrs().max_trip_count < 0) {
    WhileLevels lv = while_levels(n);
    std::vector<Node*> bounded = bounded_while(f, n, lv.slots, lv.levels);
    std::vector<Value> result = while_vjp(b, *bounded[0], g);
    for (auto it = bounded.rbegin(); it != bounded.rend(); ++it) f.erase(*it);  // only its operands were used
    return result;
  }
  LoopLayout l = loop_layout(n);
  std::vector<Node*> operands = operands_of(n);
  operands.push_back(trip_count(f, n, l));
  Attrs a;
  a.length = n.attrs().max_trip_count;
  a.num_carry = static_cast<int64_t>(l.carry);
  a.dynamic_length = static_cast<int64_t>(l.invariant) + 1;
  std::vector<Node*> steps = make_loop(f, Op::Scan, std::move(operands), a, with_input(*n.body(), "steps", {DType::i64, {}}));
  std::vector<Value> result = scan_vjp(b, *steps[0], g);
  result.resize(n.num_operands());  // the trip count gets none
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) f.erase(*it);  // only its operands were used
  return result;
}

}  // namespace

std::vector<bool> results_reached(const Function& body, const std::vector<bool>& from) {
  std::unordered_set<const Node*> reached;
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i]) reached.insert(body.inputs()[i]);
  for (const Node* n : body)
    for (size_t k = 0; k < n->num_operands(); ++k)
      if (reached.count(n->operand(k)) && carries_gradient(*n, k)) reached.insert(n);
  std::vector<bool> out;
  for (const Node* r : body.results()) out.push_back(reached.count(r) && is_float(r->dtype()));
  return out;
}

bool loop_operand_carries_gradient(const Node& loop, size_t i) {
  std::vector<bool> from(loop.body()->inputs().size());
  from[i] = true;
  std::vector<bool> out = results_reached(*loop.body(), from);
  return std::find(out.begin(), out.end(), true) != out.end();
}

WhileLevels while_levels(const Node& n) {
  int64_t bytes = 0;
  for (size_t j = 0; j < loop_layout(n).carry; ++j)
    bytes += n.operand(j)->type().numel() * static_cast<int64_t>(dtype_size(n.operand(j)->dtype()));
  const WhileLevels options[] = {{4096, 2}, {256, 3}, {64, 4}};  // each holds 2^24 steps
  for (const WhileLevels& o : options)
    if (o.slots * o.levels * bytes <= kWhileTapeBudget) return o;
  return options[2];
}

std::vector<Node*> bounded_while(Function& f, const Node& n, int64_t slots, int levels) {
  if (n.op() != Op::While || slots < 1 || levels < 1)
    throw InternalError(fmt::format("bounded_while of {} with {} slots, {} levels", op_name(n.op()), slots, levels));
  LoopLayout l = loop_layout(n);
  std::shared_ptr<const Function> step = n.shared_body();
  for (int j = 1; j < levels; ++j) step = level_body(n, l, *step, slots);
  Attrs a = n.attrs();
  a.max_trip_count = slots;
  return make_loop(f, Op::While, operands_of(n), a, std::move(step), n.shared_cond());
}

std::vector<Value> loop_vjp(GradBuilder& b, const std::vector<Node*>& group, std::span<const Value> g) {
  // The backward body differentiates the body, whose loops differentiate theirs.
  thread_local int depth = 0;
  DepthGuard level(depth, [](const std::string& m) { throw Error("grad: " + m); });
  const Node& n = *group[0];
  std::vector<Value> by_result(n.body()->results().size());
  for (size_t i = 0; i < group.size(); ++i) by_result[static_cast<size_t>(group[i]->body_result())] = g[i];
  return n.op() == Op::Scan ? scan_vjp(b, n, by_result) : while_vjp(b, n, by_result);
}

}  // namespace nabla::autodiff
