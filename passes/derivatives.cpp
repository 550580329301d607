#include "nabla/passes/derivatives.h"

#include <optional>
#include <unordered_set>

#include "nabla/ir/builder.h"
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

Value hvp(Value z, Value x, Value v) {
  check_values("hvp", z, x);
  check_like("hvp", v, x);
  Value g = grad(z, {x})[0];
  // H v = grad(<grad z, v>, x); zero when z is linear in x.
  return grad(sum(mul(g, v)), {x}, kZerosWhenDisconnected)[0];
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
  return y.node && x.node && y->type().numel() > 2 * x->type().numel() ? jacfwd(y, x, options)
                                                                        : jacrev(y, x, options);
}

Value jacrev(Value y, Value x, GradOptions options) {
  Value zeros;
  std::optional<Shape> out = jacobian_shape("jacobian", y, x, options, &zeros);
  if (!out) return zeros;
  int64_t m = y->type().numel(), n = x->type().numel();
  Value flat = reshape(y, {m});
  std::vector<Value> rows;
  for (int64_t k = 0; k < m; ++k) {
    Value yk = reshape(slice(flat, {k}, {k + 1}), {});
    rows.push_back(reshape(grad(yk, {x}, kZerosWhenDisconnected)[0], {1, n}));
  }
  Value j = rows.size() == 1 ? rows[0] : concat(rows, 0);
  return reshape(j, *out);
}

Value jacfwd(Value y, Value x, GradOptions options) {
  Value zeros;
  std::optional<Shape> out = jacobian_shape("jacobian", y, x, options, &zeros);
  if (!out) return zeros;
  int64_t m = y->type().numel(), n = x->type().numel();
  std::vector<Value> cols;
  for (int64_t k = 0; k < n; ++k) {  // column k: J e_k
    Tensor e(x->dtype(), x->shape());
    e.set(k, 1.0);
    cols.push_back(reshape(jvp(y, x, constant(*x->function(), std::move(e))), {m, 1}));
  }
  Value j = cols.size() == 1 ? cols[0] : concat(cols, 1);
  return reshape(j, *out);
}

Value hessian(Value z, Value x) {
  check_values("hessian", z, x);
  return jacobian(grad(z, {x})[0], x, kZerosWhenDisconnected);
}

Value jvp(Value y, Value x, Value t) {
  check_values("jvp", y, x);
  check_like("jvp", t, x);
  check_influence("jvp", y, x);
  // u: the dummy cotangent. J t does not depend on its value (zero here).
  Value u = constant(*y->function(), Tensor(y->dtype(), y->shape()));
  Value jt_u = grad(sum(mul(y, u)), {x}, kZerosWhenDisconnected)[0];
  return grad(sum(mul(jt_u, t)), {u}, kZerosWhenDisconnected)[0];
}

}  // namespace nabla
