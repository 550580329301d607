#include "tools/gradbench/descent.h"

#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/derivatives.h"

namespace nabla::gradbench {

Value gradient(Value z, Value x, Mode mode) {
  return mode == Mode::reverse ? grad(z, {x})[0] : jacfwd(z, x);
}

namespace {

// 1.0 where b holds, else 0.0 (for and / or as product / maximum).
Value indicator(Value b, Value like) { return select(b, scalar_like(like, 1.0), scalar_like(like, 0.0)); }

// Carries: x, f(x), grad f(x), accepted steps in a row, eta.
Value keep_going(std::span<const Value> c) {
  Value x = c[0], g = c[2], i = c[3], eta = c[4];
  Value moved = x - (x - eta * g);
  Value big_gradient = indicator(greater(sqrt(sum(g * g)), 1e-5), eta);
  Value steps = maximum(indicator(equal(i, 10.0), eta), indicator(greater(sqrt(sum(moved * moved)), 1e-5), eta));
  return greater(big_gradient * steps, 0.5);
}

std::vector<Value> step(const ObjectiveAndGradient& fg, std::span<const Value> c, std::span<const Value> w) {
  Value x = c[0], fx = c[1], g = c[2], i = c[3], eta = c[4];
  Value grow = equal(i, 10.0);
  Value next = x - eta * g;
  auto [f_next, g_next] = fg(next, w);
  Value accept = greater(indicator(less(f_next, fx), eta) - indicator(grow, eta), 0.5);
  Value zero = scalar_like(eta, 0.0);
  return {select(accept, next, x), select(accept, f_next, fx), select(accept, g_next, g),
          select(grow, zero, select(accept, i + 1.0, zero)),
          select(grow, eta * 2.0, select(accept, eta, eta * 0.5))};
}

}  // namespace

Value argmin(const ObjectiveAndGradient& fg, Value x0, std::vector<Value> invariants, int64_t max_trip_count) {
  // fg differentiates at a node of its own: a derivative in x must not also
  // follow the paths by which x0 reaches the invariants (the start point of
  // an inner descent is often x0 itself: perturbation confusion).
  Value x = stop_gradient(x0);
  std::vector<Value> w = invariants;
  auto [f0, g0] = fg(x, w);
  std::vector<Value> init{x, f0, g0, scalar_like(f0, 0.0), scalar_like(f0, 1e-5)};
  auto cond = [](std::span<const Value> c, std::span<const Value>) { return keep_going(c); };
  auto body = [&](std::span<const Value> c, std::span<const Value> w) { return step(fg, c, w); };
  return while_loop(cond, body, std::move(init), std::move(invariants), max_trip_count)[0];
}

}  // namespace nabla::gradbench
