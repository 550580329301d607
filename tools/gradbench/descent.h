#pragma once
// The gradient descent of GradBench's particle and saddle evals (upstream
// cpp/gradbench/gd.hpp, multivariate_argmin) as a nabla while loop, and the
// gradient of a scalar in reverse or forward mode: the pieces of the nested
// optimisations (tools/gradbench/particle.cpp, saddle.cpp).
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla::gradbench {

// Reverse mode (nabla::grad) or forward mode (nabla::jacfwd: one jvp per
// element of x).
enum class Mode { reverse, forward };
Value gradient(Value z, Value x, Mode mode);

// (f(x), grad f(x)) built at x, with the loop's invariants w.
using ObjectiveAndGradient = std::function<std::pair<Value, Value>(Value x, std::span<const Value> w)>;

// argmin_x f from x0, as gd.hpp: eta starts at 1e-5, doubles after 10
// accepted steps in a row and halves on a rejected one; stops when
// |grad f| <= 1e-5 or a step moves x by at most 1e-5. `invariants` are the
// enclosing function's values fg needs. max_trip_count as while_loop's (-1:
// no bound; a loop that is differentiated needs one).
Value argmin(const ObjectiveAndGradient& fg, Value x0, std::vector<Value> invariants,
             int64_t max_trip_count = -1);

}  // namespace nabla::gradbench
