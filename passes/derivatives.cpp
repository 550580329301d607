#include "nabla/passes/derivatives.h"

#include <optional>
#include <unordered_set>

#include "nabla/ir/builder.h"
#include "nabla/ir/fused.h"
#include "nabla/passes/batching.h"
#include "nabla/passes/forward.h"
#include "nabla/ir/printer_names.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

std::string name_of(const Node* n) { return ValueNames(*n->function()).ref(n); }

// True when y is x or computed from it.
bool depends_on(Node* y, const Node* x) {
  std::unordered_set<const Node*> seen{y};
  std::vector<Node*> stack{y};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n == x) return true;
    for (Node* o : n->operands())
      if (seen.insert(o).second) stack.push_back(o);
  }
  return false;
}

void check_values(const char* what, Value y, Value x) {
  if (!y.node || !x.node) throw Error(std::string(what) + ": null value");
  if (y->function() != x->function())
    throw Error(std::string(what) + ": " + name_of(x) + " belongs to function @" +
                x->function()->name() + ", not @" + y->function()->name());
  if (!is_float(y->dtype()))
    throw Error(std::string(what) + ": " + name_of(y) + " must be float, got " + y->type().str());
}

void check_like(const char* what, Value v, Value x) {
  if (!v.node || v->type() != x->type() || v->function() != x->function())
    throw Error(std::string(what) + ": the vector must have the type of " + name_of(x) + ", " +
                x->type().str() + (v.node ? ", got " + v->type().str() : std::string()));
}

void check_influence(const char* what, Value y, Value x) {
  if (!depends_on(y, x))
    throw Error(std::string(what) + ": " + name_of(x) + " does not influence " + name_of(y));
}

constexpr GradOptions kZerosWhenDisconnected{.allow_disconnected = true};

}  // namespace

namespace {

// The tangent of y along t in x, zeros when none reaches y.
Value tangent(Value y, Value x, Value t) {
  Value d = autodiff::push_forward(*y->function(), std::span<const Value>(&x, 1), std::span<const Value>(&t, 1),
                                   std::span<const Value>(&y, 1))[0];
  return d.node ? d : constant(*y->function(), Tensor(y->dtype(), y->shape()));
}

}  // namespace

Value hvp(Value z, Value x, Value v) {
  check_values("hvp", z, x);
  check_like("hvp", v, x);
  // H v = d/de grad(z)(x + e v); zero when z is linear in x.
  return tangent(grad(z, {x})[0], x, v);
}

namespace {

// The checks of jacobian, jacrev and jacfwd, and the result's shape; null
// when the Jacobian is all zeros (or empty), else the shape.
std::optional<Shape> jacobian_shape(const char* what, Value y, Value x, const GradOptions& options, Value* zeros) {
  check_values(what, y, x);
  if (!options.allow_disconnected) check_influence(what, y, x);
  Shape out = y->shape();
  out.insert(out.end(), x->shape().begin(), x->shape().end());
  if (y->type().numel() == 0 || x->type().numel() == 0 || !depends_on(y, x)) {
    *zeros = constant(*y->function(), Tensor(y->dtype(), out));
    return std::nullopt;
  }
  return out;
}

}  // namespace

Value jacobian(Value y, Value x, GradOptions options) {
  return y.node && x.node && y->type().numel() > x->type().numel() ? jacfwd(y, x, options)
                                                                    : jacrev(y, x, options);
}

Value jacrev(Value y, Value x, GradOptions options) {
  Value zeros;
  std::optional<Shape> out = jacobian_shape("jacobian", y, x, options, &zeros);
  if (!out) return zeros;
  Value rows = vjp_batched(y, x, identity_rows(*y->function(), y->dtype(), y->shape()));
  return reshape(rows, *out);  // [m] ++ x.shape: row i is d y_i / dx
}

Value jacfwd(Value y, Value x, GradOptions options) {
  Value zeros;
  std::optional<Shape> out = jacobian_shape("jacobian", y, x, options, &zeros);
  if (!out) return zeros;
  int64_t m = y->type().numel(), n = x->type().numel();
  Value cols = jvp_batched(y, x, identity_rows(*x->function(), x->dtype(), x->shape()));
  if (m == 1 || n == 1) return reshape(cols, *out);  // [n] ++ y.shape: row k is J e_k
  return reshape(transpose(reshape(cols, {n, m}), {1, 0}), *out);
}

Value hessian(Value z, Value x) {
  check_values("hessian", z, x);
  Shape out = x->shape();
  out.insert(out.end(), x->shape().begin(), x->shape().end());
  if (x->type().numel() == 0) {
    grad(z, {x});  // its errors
    return constant(*z->function(), Tensor(z->dtype(), out));
  }
  Value rows = hvp_batched(z, x, identity_rows(*x->function(), x->dtype(), x->shape()));
  return reshape(rows, out);  // row i is d grad_i / dx
}

Value jvp(Value y, Value x, Value t) {
  check_values("jvp", y, x);
  check_like("jvp", t, x);
  check_influence("jvp", y, x);
  return tangent(y, x, t);
}

std::vector<Value> jvp(std::span<const Value> ys, std::span<const Value> xs, std::span<const Value> ts) {
  if (xs.size() != ts.size())
    throw Error("jvp: " + std::to_string(xs.size()) + " values but " + std::to_string(ts.size()) + " tangents");
  if (ys.empty()) return {};
  for (size_t i = 0; i < xs.size(); ++i) {
    check_values("jvp", ys[0], xs[i]);
    check_like("jvp", ts[i], xs[i]);
  }
  for (Value y : ys) check_values("jvp", y, xs.empty() ? y : xs[0]);
  std::vector<Value> d = autodiff::push_forward(*ys[0]->function(), xs, ts, ys);
  for (size_t k = 0; k < d.size(); ++k)
    if (!d[k].node) d[k] = constant(*ys[k]->function(), Tensor(ys[k]->dtype(), ys[k]->shape()));
  return d;
}

namespace {

// A stand-in for a vector that batch() replaces: a fresh node of type t
// (zeros; its value never reaches a result).
Value placeholder(Function& f, const TensorType& t) {
  Value zero = constant(f, 0.0, t.dtype);
  return t.is_scalar() ? zero : broadcast_to(zero, t.shape);
}

void check_stack(const char* what, Value s, Value like) {
  DType dtype = like->dtype();
  Shape want{s.node && !s->shape().empty() ? s->shape()[0] : 0};
  want.insert(want.end(), like->shape().begin(), like->shape().end());
  if (s.node && s->function() == like->function() && s->dtype() == dtype && s->shape() == want && want[0] >= 1) return;
  std::string dims = "[P";
  for (int64_t d : like->shape()) dims += "," + std::to_string(d);
  throw Error(std::string(what) + ": the stack must be " + std::string(dtype_name(dtype)) + dims + "] (P >= 1, then " +
              name_of(like) + "'s shape), got " + (s.node ? s->type().str() : std::string("null")));
}

// The nodes created since serial `since` that nothing uses, except `keep`
// (the unbatched sweep behind a batched one), erased; loops and fused groups
// only as a whole.
void erase_unused_since(Function& f, uint64_t since, Node* keep) {
  std::unordered_set<const Node*> results(f.results().begin(), f.results().end());
  auto unused = [&](const Node* n) { return n->users().empty() && !results.count(n) && n != keep; };
  for (Node* n = f.back(); n && n->serial() >= since;) {
    std::vector<Node*> group = fused_group(n);
    Node* prev = group.front()->prev();
    bool all = true;
    for (Node* g : group) all = all && g->serial() >= since && unused(g);
    if (all)
      for (auto it = group.rbegin(); it != group.rend(); ++it) f.erase(*it);
    n = prev;
  }
}

// One sweep built with placeholder p, then batched over p := stack.
Value batched_sweep(Function& f, uint64_t since, Value p, Value stack, Value result) {
  Value r = batch(std::span<const Value>(&p, 1), std::span<const Value>(&stack, 1),
                  std::span<const Value>(&result, 1))[0];
  erase_unused_since(f, since, r);
  return r;
}

// The checks of vjp_batched and jvp_batched (`stack` stands for `like`).
void check_batched(const char* what, Value y, Value x, Value stack, Value like) {
  check_values(what, y, x);
  check_stack(what, stack, like);
  check_influence(what, y, x);
}

}  // namespace

Value vjp_batched(Value y, Value x, Value U) {
  check_batched("vjp_batched", y, x, U, y);
  Function& f = *y->function();
  uint64_t since = f.next_serial();
  Value u = placeholder(f, y->type());
  Value g = grad(sum(mul(y, u)), {x}, kZerosWhenDisconnected)[0];  // J^T u
  return batched_sweep(f, since, u, U, g);
}

Value jvp_batched(Value y, Value x, Value T) {
  check_batched("jvp_batched", y, x, T, x);
  Function& f = *y->function();
  uint64_t since = f.next_serial();
  Value t = placeholder(f, x->type());
  return batched_sweep(f, since, t, T, tangent(y, x, t));  // J t, linear in t
}

Value hvp_batched(Value z, Value x, Value V) {
  check_values("hvp_batched", z, x);
  check_stack("hvp_batched", V, x);
  Function& f = *z->function();
  Value g = grad(z, {x})[0];
  uint64_t since = f.next_serial();
  Value v = placeholder(f, x->type());
  return batched_sweep(f, since, v, V, tangent(g, x, v));  // H v, forward over reverse
}

Value identity_rows(Function& f, DType dt, const Shape& shape) {
  int64_t n = num_elements(shape);
  Shape col(shape.size() + 1, 1), row{1};  // [n, 1, ...] and [1] ++ shape
  col[0] = n;
  row.insert(row.end(), shape.begin(), shape.end());
  Tensor rows(DType::i64, col), cols(DType::i64, row);
  for (int64_t k = 0; k < n; ++k) {
    rows.set(k, static_cast<double>(k));
    cols.set(k, static_cast<double>(k));
  }
  // Elementwise from two index vectors: a slice of it (the sweep of a slice
  // of x) slices the vectors instead of copying n x n elements, and the
  // comparison fuses into the kernels that read it.
  return cast(equal(constant(f, std::move(rows)), constant(f, std::move(cols))), dt);
}

}  // namespace nabla
