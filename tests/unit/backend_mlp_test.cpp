// The lecture's MLP gradient function, compiled: H = relu(X W1),
// J = cross_entropy(H W2, y) + lambda (sum W1^2 + sum W2^2), with dJ/dW1 and
// dJ/dW2 by build-grad. The loss and the gradients equal the interpreter's
// bit for bit, and the hand-derived formulas
//   P = softmax(H W2), G = (P - onehot(y)) / N,
//   dW2 = H^T G + 2 lambda W2,  dW1 = X^T ((G W2^T) * [X W1 > 0]) + 2 lambda W1
// computed here with plain loops in double: to 1e-12 of each matrix's largest
// magnitude in f64 (the sums run in another order) and 1e-5 in f32
// (products of 64 to 128 terms, each rounding by 2^-24).
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr int64_t kN = 64, kD = 64, kH = 128, kC = 10;
constexpr double kLambda = 1e-4;

Module mlp_gradient(DType t) {
  return test::make_function({{t, {kN, kD}}, i32({kN}), {t, {kD, kH}}, {t, {kH, kC}}}, [&](std::vector<Value>& x) {
    Value h = relu(matmul(x[0], x[2]));
    Value j = cross_entropy(matmul(h, x[3]), x[1]) + kLambda * (sum(x[2] * x[2]) + sum(x[3] * x[3]));
    return std::vector<Value>{j, grad_op(j, x[2]), grad_op(j, x[3])};
  });
}

struct Grads {
  double j;
  std::vector<double> dw1, dw2;
};

Grads by_hand(const std::vector<Tensor>& in) {
  const Tensor &x = in[0], &y = in[1], &w1 = in[2], &w2 = in[3];
  std::vector<double> u1(kN * kH), h(kN * kH), g(kN * kC), dh(kN * kH);
  Grads r{0, std::vector<double>(kD * kH), std::vector<double>(kH * kC)};
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t k = 0; k < kH; ++k) {
      double s = 0;
      for (int64_t d = 0; d < kD; ++d) s += x.get(n * kD + d) * w1.get(d * kH + k);
      u1[n * kH + k] = s;
      h[n * kH + k] = s > 0 ? s : 0;
    }
  double decay = 0;
  for (int64_t i = 0; i < kD * kH; ++i) decay += w1.get(i) * w1.get(i);
  for (int64_t i = 0; i < kH * kC; ++i) decay += w2.get(i) * w2.get(i);
  for (int64_t n = 0; n < kN; ++n) {
    double u[kC], m = -INFINITY, z = 0;
    for (int64_t c = 0; c < kC; ++c) {
      u[c] = 0;
      for (int64_t k = 0; k < kH; ++k) u[c] += h[n * kH + k] * w2.get(k * kC + c);
      m = std::max(m, u[c]);
    }
    for (int64_t c = 0; c < kC; ++c) z += std::exp(u[c] - m);
    int64_t label = static_cast<int64_t>(y.get(n));
    r.j += (m + std::log(z) - u[label]) / kN;
    for (int64_t c = 0; c < kC; ++c) g[n * kC + c] = (std::exp(u[c] - m) / z - (c == label)) / kN;
  }
  r.j += kLambda * decay;
  for (int64_t k = 0; k < kH; ++k)
    for (int64_t c = 0; c < kC; ++c) {
      double s = 0;
      for (int64_t n = 0; n < kN; ++n) s += h[n * kH + k] * g[n * kC + c];
      r.dw2[k * kC + c] = s + 2 * kLambda * w2.get(k * kC + c);
    }
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t k = 0; k < kH; ++k) {
      double s = 0;
      for (int64_t c = 0; c < kC; ++c) s += g[n * kC + c] * w2.get(k * kC + c);
      dh[n * kH + k] = u1[n * kH + k] > 0 ? s : 0;
    }
  for (int64_t d = 0; d < kD; ++d)
    for (int64_t k = 0; k < kH; ++k) {
      double s = 0;
      for (int64_t n = 0; n < kN; ++n) s += x.get(n * kD + d) * dh[n * kH + k];
      r.dw1[d * kH + k] = s + 2 * kLambda * w1.get(d * kH + k);
    }
  return r;
}

void expect_close(const Tensor& got, const std::vector<double>& want, double rtol, const char* what) {
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0);
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(got.get(i), want[static_cast<size_t>(i)], rtol * scale) << what << " element " << i;
}

TEST(BackendMlp, GradientFunctionMatchesInterpreterAndHandFormulas) {
  for (DType t : {DType::f64, DType::f32}) {
    Module m = mlp_gradient(t);
    const Function& f = *m.functions()[0];
    for (int threads : {1, 2}) {
      std::vector<Tensor> in = random_inputs(f, 7);
      EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(threads)), "") << dtype_name(t);
      Executable exe = compile(f, test::test_options(threads));
      std::vector<Tensor> out = exe.run(in);
      Grads want = by_hand(in);
      double rtol = t == DType::f64 ? 1e-12 : 1e-5;
      EXPECT_NEAR(out[0].get(0), want.j, rtol * std::abs(want.j)) << dtype_name(t);
      expect_close(out[1], want.dw1, rtol, "dJ/dW1");
      expect_close(out[2], want.dw2, rtol, "dJ/dW2");
    }
  }
}

}  // namespace
}  // namespace nabla
