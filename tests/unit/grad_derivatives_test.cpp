// Beyond one gradient: Hessians (extended Rosenbrock against its closed
// form), Hessian-vector products, Jacobians and jvp, against closed forms and
// central differences in f64.
#include "grad_util.h"
#include "nabla/passes/derivatives.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// The extended Rosenbrock function (as scipy.optimize.rosen):
// f(x) = sum_{i<n-1} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2.
Value rosenbrock(Value x) {
  int64_t n = x->shape()[0];
  Value a = slice(x, {0}, {n - 1}), b = slice(x, {1}, {n});
  Value t = sub(b, mul(a, a)), one_minus = sub(1.0, a);
  return sum(add(mul(100.0, mul(t, t)), mul(one_minus, one_minus)));
}

// Its Hessian, tridiagonal:
//   H[i][i]   = 1200 x_i^2 - 400 x_{i+1} + 2 (i < n-1)  + 200 (i > 0)
//   H[i][i+1] = H[i+1][i] = -400 x_i.
std::vector<double> rosenbrock_hessian(const std::vector<double>& x) {
  size_t n = x.size();
  std::vector<double> h(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n) {
      h[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      h[i * n + i + 1] = h[(i + 1) * n + i] = -400 * x[i];
    }
    if (i > 0) h[i * n + i] += 200;
  }
  return h;
}

class Rosenbrock : public ::testing::TestWithParam<int64_t> {};

TEST_P(Rosenbrock, HessianMatchesClosedForm) {
  int64_t n = GetParam();
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({n}));
  Value h = hessian(rosenbrock(x), x);
  EXPECT_EQ(h->shape(), (Shape{n, n}));
  f.output(h);
  Stream s(n);
  Tensor xv = random_tensor(x->type(), s, -2, 2);
  expect_close(values(run(f, {xv})[0]), rosenbrock_hessian(values(xv)), 1e-12);
}

TEST_P(Rosenbrock, HessianVectorProductMatchesClosedForm) {
  int64_t n = GetParam();
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({n})), v = f.input("v", f64({n}));
  f.output(hvp(rosenbrock(x), x, v));
  Stream s(n + 1);
  Tensor xv = random_tensor(x->type(), s, -2, 2), vv = random_tensor(v->type(), s);
  std::vector<double> h = rosenbrock_hessian(values(xv)), want(n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) want[i] += h[i * n + j] * vv.get(j);
  expect_close(values(run(f, {xv, vv})[0]), want, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Sizes, Rosenbrock, ::testing::Values(10, 100));

// y = sin(x) * sum(x^2): J[i][j] = [i = j] cos(x_i) s + 2 x_j sin(x_i).
// A tall Jacobian (12 outputs of 3 inputs: jacobian takes forward mode):
// y = [sin(x) * sum(x^2); x^2; exp(x) x0; x^3 * 2], against jacrev, jacfwd
// and the closed form, in the interpreter.
TEST(GradDerivatives, ForwardAndReverseJacobiansAgree) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3}));
  Value x0 = slice(x, {0}, {1});
  Value y = concat(std::vector<Value>{mul(sin(x), sum(mul(x, x))), mul(x, x), mul(exp(x), x0), mul(mul(x, mul(x, x)), 2.0)}, 0);
  f.output(jacobian(y, x));
  f.output(jacfwd(y, x));
  f.output(jacrev(y, x));
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{0.5, -1.0, 2.0});
  std::vector<double> xs = values(xv), want(36, 0.0);
  double s = 0;
  for (double v : xs) s += v * v;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) {
      want[i * 3 + k] = (i == k ? std::cos(xs[i]) * s : 0) + 2 * xs[k] * std::sin(xs[i]);
      want[(3 + i) * 3 + k] = i == k ? 2 * xs[i] : 0;
      want[(6 + i) * 3 + k] = (i == k ? std::exp(xs[i]) * xs[0] : 0) + (k == 0 ? std::exp(xs[i]) : 0);
      want[(9 + i) * 3 + k] = i == k ? 6 * xs[i] * xs[i] : 0;
    }
  std::vector<Tensor> r = run(f, {xv});
  for (const Tensor& t : r) {
    EXPECT_EQ(t.shape(), (Shape{12, 3}));
    expect_close(values(t), want, 1e-14);
  }
}

TEST(GradDerivatives, JacobianOfAVectorFunction) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({4}));
  Value y = mul(sin(x), sum(mul(x, x)));
  Value j = jacobian(y, x);
  EXPECT_EQ(j->shape(), (Shape{4, 4}));
  f.output(j);
  Tensor xv = Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0.5, -1.0, 2.0, 0.25});
  std::vector<double> xs = values(xv), want(16);
  double s = 0;
  for (double v : xs) s += v * v;
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 4; ++k)
      want[i * 4 + k] = (i == k ? std::cos(xs[i]) * s : 0) + 2 * xs[k] * std::sin(xs[i]);
  expect_close(values(run(f, {xv})[0]), want, 1e-14);
}

// A Jacobian of a matrix-valued function of a matrix, against central
// differences: shape y.shape ++ x.shape.
TEST(GradDerivatives, JacobianShapesAndFiniteDifferences) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({2, 3}));
  Value y = softmax(matmul(x, x, false, true), 1);  // [2,2]
  f.output(jacobian(y, x));
  f.output(y);
  ASSERT_EQ(f.results()[0]->shape(), (Shape{2, 2, 2, 3}));
  Stream s(9);
  Tensor xv = random_tensor(x->type(), s);
  Tensor jv = run(f, {xv})[0];
  const double h = 1e-6;
  for (int64_t e = 0; e < 6; ++e) {
    Tensor plus = xv.clone(), minus = xv.clone();
    plus.set(e, xv.get(e) + h);
    minus.set(e, xv.get(e) - h);
    Tensor yp = run(f, {plus})[1], ym = run(f, {minus})[1];
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_NEAR(jv.get(i * 6 + e), (yp.get(i) - ym.get(i)) / (2 * h), 1e-8);
  }
}

// jvp (two reverse sweeps) against (y(x + h t) - y(x - h t)) / 2h.
TEST(GradDerivatives, JvpMatchesFiniteDifferences) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3, 2})), t = f.input("t", f64({3, 2}));
  Value y = tanh(matmul(x, exp(x), true, false));  // [2,2]
  f.output(jvp(y, x, t));
  f.output(y);
  Stream s(11);
  Tensor xv = random_tensor(x->type(), s), tv = random_tensor(t->type(), s);
  std::vector<Tensor> out = run(f, {xv, tv});
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  const double h = 1e-6;
  Tensor plus = xv.clone(), minus = xv.clone();
  for (int64_t e = 0; e < 6; ++e) {
    plus.set(e, xv.get(e) + h * tv.get(e));
    minus.set(e, xv.get(e) - h * tv.get(e));
  }
  Tensor yp = run(f, {plus, tv})[1], ym = run(f, {minus, tv})[1];
  for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(out[0].get(i), (yp.get(i) - ym.get(i)) / (2 * h), 1e-8);
}

TEST(GradDerivatives, JvpOfTheIdentityIsTheTangent) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), t = f.input("t", f64({3}));
  f.output(jvp(x, x, t));
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1, 2, 3});
  Tensor tv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{-1, 0.5, 4});
  expect_close(values(run(f, {xv, tv})[0]), values(tv), 0);
}

// A Hessian of a function linear in x is zero, not an error.
TEST(GradDerivatives, HessianOfALinearFunctionIsZero) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3}));
  f.output(hessian(sum(mul(x, 2.0)), x));
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1, 2, 3});
  expect_close(values(run(f, {xv})[0]), std::vector<double>(9, 0.0), 0);
}

// Third order through nabla::grad: d^3/dx^3 sum(x^4) = 24 x.
TEST(GradDerivatives, ThirdDerivative) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3}));
  Value x2 = mul(x, x);
  Value g1 = grad(sum(mul(x2, x2)), {x})[0];
  Value g2 = grad(sum(g1), {x})[0];
  Value g3 = grad(sum(g2), {x})[0];
  f.output(g3);
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1, -2, 0.5});
  expect_close(values(run(f, {xv})[0]), {24, -48, 12}, 1e-14);
}

TEST(GradDerivatives, Errors) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), w = f.input("w", f64({3})), v2 = f.input("v2", f64({2}));
  Value y = exp(x);
  EXPECT_EQ(error_of([&] { jacobian(y, w); }), "jacobian: %w does not influence %0");
  EXPECT_EQ(error_of([&] { jvp(y, w, w); }), "jvp: %w does not influence %0");
  EXPECT_EQ(error_of([&] { jvp(y, x, v2); }), "jvp: the vector must have the type of %x, f64[3], got f64[2]");
  EXPECT_EQ(error_of([&] { hvp(sum(y), x, v2); }), "hvp: the vector must have the type of %x, f64[3], got f64[2]");
  EXPECT_EQ(error_of([&] { hessian(y, x); }),
            "grad: the differentiated value %0 must be a float scalar, got f64[3]");
  Value zeros = jacobian(y, w, {.allow_disconnected = true});
  f.output(zeros);
  EXPECT_EQ(zeros->shape(), (Shape{3, 3}));
}

}  // namespace
}  // namespace nabla
