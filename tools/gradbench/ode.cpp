// ode: s steps of classical Runge-Kutta (RK4) from y(0) = 0 to t = 2 for
//   y_0' = x_0,   y_i' = x_i y_{i-1}   (upstream evals/ode/README.md)
// and the gradient of the last element of y(2) in x. The steps are one
// nabla::scan (carry y, x an invariant), so the graph and the compiled code
// do not grow with s; the gradient is nabla::grad through the scan (a
// backward scan over the stored y of every step).
#include "tools/gradbench/evals.h"
#include "tools/gradbench/scan_evals.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

bool build_unrolled = false;

Parsed read(const llvm::json::Object& input) {
  std::vector<double> x = vector_field(input, "x");
  if (x.empty() || x.size() > (size_t{1} << 24))
    throw Error("field \"x\": expected an array of 1 to 16777216 numbers");
  int64_t s = integer_field(input, "s", 1, int64_t{1} << 24);
  int64_t n = static_cast<int64_t>(x.size());
  return {{Tensor::from_doubles(DType::f64, {n}, x)}, {n, s}};
}

// The right-hand side x * [1, y_0, ..., y_{n-2}].
Value rhs(Value x, Value y) {
  int64_t n = x->shape()[0];
  if (n == 1) return x;
  Value one = constant(*x->function(), Tensor::from_doubles(DType::f64, {1}, std::vector<double>{1.0}));
  Value shifted = concat(std::vector<Value>{one, slice(y, {0}, {n - 1})}, 0);
  return x * shifted;
}

// One RK4 step of size h.
Value rk4_step(Value x, Value y, double h) {
  Value k1 = rhs(x, y);
  Value k2 = rhs(x, y + k1 * (h / 2));
  Value k3 = rhs(x, y + k2 * (h / 2));
  Value k4 = rhs(x, y + k3 * h);
  return y + (k1 + 2.0 * k2 + 2.0 * k3 + k4) * (h / 6);
}

void build_primal(Function& f, const std::vector<int64_t>& s) {
  Value x = f.input("x", f64({s[0]}));
  f.output(ode_solution(f, x, s[1], unrolled_loops()));
}

void build_gradient(Function& f, const std::vector<int64_t>& s) {
  Value x = f.input("x", f64({s[0]}));
  Value y = ode_solution(f, x, s[1], unrolled_loops());
  f.output(grad(sum(slice(y, {s[0] - 1}, {s[0]})), {x})[0]);
}

}  // namespace

void set_unrolled_loops(bool unrolled) { build_unrolled = unrolled; }
bool unrolled_loops() { return build_unrolled; }

Value ode_solution(Function& f, Value x, int64_t steps, bool unrolled) {
  double h = 2.0 / static_cast<double>(steps);
  Value y0 = constant(f, Tensor(DType::f64, x->shape()));
  if (unrolled) {
    Value y = y0;
    for (int64_t i = 0; i < steps; ++i) y = rk4_step(x, y, h);
    return y;
  }
  ScanResult r = scan([h](auto c, auto, auto w) -> ScanBodyResult { return {{rk4_step(w[0], c[0], h)}, {}}; },
                      {y0}, {}, {x}, {.length = steps});
  return r.carry[0];
}

std::vector<EvalFunction> ode_functions() {
  return {{"ode", "primal", read, build_primal, write_array}, {"ode", "gradient", read, build_gradient, write_array}};
}

}  // namespace nabla::gradbench
