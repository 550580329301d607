#pragma once
// Helpers for the autodiff tests (tests/unit/grad_*.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/check_grad.h"
#include "nabla/runtime/error.h"
#include "tests/support/error_testing.h"

namespace nabla::gradtest {

using test::error_of;

inline std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get(i));
  return v;
}

// interpret() with the inputs in braces.
inline std::vector<Tensor> run(const Function& f, const std::vector<Tensor>& inputs) {
  return interpret(f, inputs);
}

// A deterministic stream of doubles in [0, 1).
class Stream {
 public:
  explicit Stream(uint64_t seed) : s_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  double next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<double>(s_ >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * next(); }

 private:
  uint64_t s_;
};

inline Tensor random_tensor(const TensorType& t, Stream& s, double lo = -1, double hi = 1) {
  Tensor out(t.dtype, t.shape);
  for (int64_t i = 0; i < out.numel(); ++i) out.set(i, s.uniform(lo, hi));
  return out;
}

// A constant of random values in [-1, 1].
inline Value random_constant(Function& f, const TensorType& t, Stream& s) {
  return constant(f, random_tensor(t, s));
}

// Inputs that keep away from kinks and ties: float values are all distinct
// (across every input) with magnitudes in [0.2, 1] and random signs, so relu,
// abs, sign, maximum, minimum and max see no ties and no zeros. Inputs whose
// name starts with "pos" get distinct values in [0.5, 1.5] (for log, sqrt,
// pow). Integer and bool inputs come from random_inputs (labels in range).
inline std::vector<Tensor> kink_free_inputs(const Function& f, uint64_t seed) {
  std::vector<Tensor> ins = random_inputs(f, seed);
  int64_t total = 0;
  for (const Tensor& t : ins)
    if (is_float(t.dtype())) total += t.numel();
  std::vector<double> grid(total);
  for (int64_t k = 0; k < total; ++k) grid[k] = static_cast<double>(k) / std::max<int64_t>(total, 1);
  Stream s(seed + 17);
  for (int64_t k = total - 1; k > 0; --k)  // Fisher-Yates
    std::swap(grid[k], grid[static_cast<int64_t>(s.next() * static_cast<double>(k + 1))]);
  int64_t at = 0;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!is_float(ins[i].dtype())) continue;
    bool positive = f.inputs()[i]->name().rfind("pos", 0) == 0;
    for (int64_t j = 0; j < ins[i].numel(); ++j) {
      double u = grid[at++];
      double v = positive ? 0.5 + u : (0.2 + 0.8 * u) * (s.next() < 0.5 ? -1 : 1);
      ins[i].set(j, v);
    }
  }
  return ins;
}

// Runs check_grad and expects every grad node within the tolerance.
inline void expect_grads_match(const Function& f, std::span<const Tensor> inputs,
                               CheckGradOptions o = {}) {
  CheckGradReport r = check_grad(f, inputs, o);
  std::ostringstream os;
  print_report(os, r);
  EXPECT_TRUE(r.ok()) << os.str();
  if (getenv("GRAD_REPORT")) std::cerr << os.str();
  for (const GradCheck& g : r.grads) EXPECT_GT(g.checks, 0) << os.str();
}

// Expects a and b elementwise equal within a relative tolerance.
inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         double tol = 1e-10) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
}

// Row p of a stack: t's elements [p * rest, (p + 1) * rest) as a tensor of
// t's shape without its leading axis.
inline Tensor row_of(const Tensor& t, int64_t p) {
  Shape s(t.shape().begin() + 1, t.shape().end());
  Tensor out(t.dtype(), s);
  for (int64_t i = 0; i < out.numel(); ++i) out.set(i, t.get(p * out.numel() + i));
  return out;
}

// Expects a and b equal bit for bit (NaN payloads and the sign of zero
// included): the batched tests' interpreter computes each batched row with
// the operations of the unbatched one, in the same order.
inline void expect_same_bits(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_EQ(std::bit_cast<uint64_t>(a.get(i)), std::bit_cast<uint64_t>(b.get(i)))
        << "element " << i << ": " << a.get(i) << " vs " << b.get(i);
}

}  // namespace nabla::gradtest
