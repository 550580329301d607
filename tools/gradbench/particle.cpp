// particle: the control w that makes a charged particle hit the origin
// (upstream evals/particle/README.md). The particle starts at (0, 8) with
// velocity (0.75, 0) in the potential p(x) = 1/|x - (10, 10 - w)| +
// 1/|x - (10, 0)|; naive Euler steps of 0.1 with acceleration -grad_x p (the
// inner derivative, inside the while loop's body) run until the next
// position has y <= 0, where the path is cut by linear interpolation: the
// objective is x(t_f)^2. w = argmin of that objective by the gradient descent
// of descent.h from the input w, differentiating through the while loop (the
// outer derivative). Functions rr, ff, fr, rf: reverse (nabla::grad) or
// forward (jacfwd) mode for the outer and the inner derivative.
#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "tools/gradbench/descent.h"
#include "tools/gradbench/evals.h"

namespace nabla::gradbench {
namespace {

// The Euler loop takes 352 to 355 steps on the eval's descent from w = 0;
// its derivative runs this many masked steps.
constexpr int64_t kEulerTrips = 512;
constexpr double kDt = 0.1;

Parsed read(const llvm::json::Object& input) {
  return {{Tensor::from_doubles(DType::f64, {1}, std::vector<double>{number_field(input, "w")})}, {}};
}

Value vec2(Function& f, double a, double b) { return constant(f, Tensor::from_doubles(DType::f64, {2}, std::vector<double>{a, b})); }

// p(x) for the charges at (10, 10 - w) and (10, 0).
Value potential(Value x, Value w) {
  Function& f = *x->function();
  Value c1 = vec2(f, 10, 10) - w * vec2(f, 0, 1);
  Value d1 = x - c1, d2 = x - vec2(f, 10, 0);
  return 1.0 / sqrt(sum(d1 * d1)) + 1.0 / sqrt(sum(d2 * d2));
}

Value y_of(Value v) { return reshape(slice(v, {1}, {2}), {}); }

// x(t_f)^2 for control w [1].
Value miss(Value w, Mode inner) {
  Function& f = *w->function();
  auto cond = [](std::span<const Value> c, std::span<const Value>) { return greater(y_of(c[0] + kDt * c[1]), 0.0); };
  auto step = [inner](std::span<const Value> c, std::span<const Value> inv) {
    Value acceleration = -gradient(potential(c[0], inv[0]), c[0], inner);
    return std::vector<Value>{c[0] + kDt * c[1], c[1] + kDt * acceleration};
  };
  std::vector<Value> end = while_loop(cond, step, {vec2(f, 0, 8), vec2(f, 0.75, 0)}, {w}, kEulerTrips);
  Value x = end[0] + kDt * end[1];
  Value hit = x - (y_of(x) / y_of(end[1])) * end[1];
  Value hx = slice(hit, {0}, {1});
  return sum(hx * hx);
}

template <Mode outer, Mode inner>
void build(Function& fn, const std::vector<int64_t>&) {
  Value w0 = fn.input("w", f64({1}));
  auto fg = [](Value w, std::span<const Value>) {
    Value z = miss(w, inner);
    return std::pair{z, gradient(z, w, outer)};
  };
  fn.output(reshape(argmin(fg, w0, {}), {}));
}

llvm::json::Value write(const std::vector<Tensor>& r, const std::vector<int64_t>&) { return r[0].get(0); }

}  // namespace

std::vector<EvalFunction> particle_functions() {
  return {{"particle", "rr", read, build<Mode::reverse, Mode::reverse>, write},
          {"particle", "ff", read, build<Mode::forward, Mode::forward>, write},
          {"particle", "fr", read, build<Mode::forward, Mode::reverse>, write},
          {"particle", "rf", read, build<Mode::reverse, Mode::forward>, write}};
}

}  // namespace nabla::gradbench
