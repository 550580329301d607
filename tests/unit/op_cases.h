#pragma once
// The op cases that tests share, one place per op of ir/ops.def:
// build_every_op holds at least one node of every op (the text round trip
// prints and parses it; the catalogue test interprets, compiles and
// differentiates each op from it), grad_cases one or more cases of every
// differentiable op (first and second derivatives against finite
// differences in grad_ops_test). A new op adds its cases here;
// catalogue_test fails, naming the op, until it has them.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"

namespace nabla::test {

// Adds function "every_op" to m: inputs of several types and at least one
// node of every op (constants of every dtype, a grad, fused nodes).
void build_every_op(Module& m);

struct GradCase {
  std::string name;
  std::function<Value(Function&)> build;  // adds inputs to f and returns the op's result
};
inline std::ostream& operator<<(std::ostream& os, const GradCase& c) { return os << c.name; }

// Inputs named "pos..." take positive values (log, sqrt, pow's base).
std::vector<GradCase> grad_cases();

// Loops shared by the tests (ir/loop.h).
// An Elman RNN over xs [N,B,H]: h' = tanh(h W + x), y = h' / 2; h0 [B,H], W [H,H].
ScanResult elman_rnn(Value h0, Value xs, Value w, bool reverse = false);
// Newton's iteration for sqrt(a), a > 0 (any shape): x' = (x + a/x) / 2 from
// x = a, while some |x*x - a| > tol * a (tol 1e-13 in f64, 1e-6 in f32).
Value newton_sqrt(Value a, int64_t max_trip_count = 60);

}  // namespace nabla::test
