// Forward mode (passes/forward.h): tangents through loops, a while without a
// trip bound, several values at once, forward over forward and reverse over
// forward, against closed forms and f64 central differences; compiled code
// against the interpreter; the size of the tangent graph; errors verbatim.
// Every op of the catalogue is covered by grad_batched_test (jvp per case).
#include "grad_util.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/batching.h"
#include "nabla/passes/derivatives.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/backend_testing.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// (y(x + h t) - y(x - h t)) / 2h for result `k` of f, where input `i` is x
// and `t` its direction (the other inputs fixed).
std::vector<double> central(const Function& f, std::vector<Tensor> in, size_t i, const Tensor& t, size_t k) {
  const double h = 1e-6;
  Tensor x = in[i], plus = x.clone(), minus = x.clone();
  for (int64_t e = 0; e < x.numel(); ++e) {
    plus.set(e, x.get(e) + h * t.get(e));
    minus.set(e, x.get(e) - h * t.get(e));
  }
  in[i] = plus;
  std::vector<double> yp = values(run(f, in)[k]);
  in[i] = minus;
  std::vector<double> ym = values(run(f, in)[k]);
  for (size_t e = 0; e < yp.size(); ++e) yp[e] = (yp[e] - ym[e]) / (2 * h);
  return yp;
}

// Newton's square root as a while without max_trip_count: forward mode needs
// no bound (and no tape), and the tangent is that of sqrt, 1/(2 sqrt a).
TEST(GradForward, WhileWithoutATripBound) {
  Module m;
  Function& f = m.add_function("f");
  Value a = f.input("a", f64({4})), t = f.input("t", f64({4}));
  Value r = test::newton_sqrt(a, /*max_trip_count=*/-1);
  f.output(jvp(r, a, t));
  std::vector<double> av{0.25, 2, 9, 1e4}, tv{1, -3, 0.5, 2};
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {4}, av), Tensor::from_doubles(DType::f64, {4}, tv)};
  std::vector<double> want;
  for (size_t e = 0; e < av.size(); ++e) want.push_back(tv[e] / (2 * std::sqrt(av[e])));
  expect_close(values(run(f, in)[0]), want, 1e-12);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
}

// jacfwd through the unbounded while: one batched forward sweep (one while
// carrying the P tangents), diagonal.
TEST(GradForward, JacobianOfAnUnboundedWhile) {
  Module m;
  Function& f = m.add_function("f");
  Value a = f.input("a", f64({3}));
  f.output(jacfwd(test::newton_sqrt(a, -1), a));
  EXPECT_EQ(last_batch_fallbacks(), 0u) << "the tangent while batches: its condition reads the primal only";
  std::vector<double> av{0.5, 4, 7};
  std::vector<double> want(9, 0.0);
  for (size_t e = 0; e < 3; ++e) want[e * 3 + e] = 1 / (2 * std::sqrt(av[e]));
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {3}, av)};
  expect_close(values(run(f, in)[0]), want, 1e-12);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(2), {0, 1e-12}), "");
}

// An Elman RNN (a scan): the tangents of its final carry and stacked outputs
// along each of h0, xs and W alone, and along all three at once, against
// central differences. Moving W alone makes the carry move from step 1 on
// although its initial tangent is zero.
TEST(GradForward, ScanTangentsMatchCentralDifferences) {
  Module m;
  Function& f = m.add_function("f");
  Value h0 = f.input("h0", f64({2, 3})), xs = f.input("xs", f64({5, 2, 3})), w = f.input("w", f64({3, 3}));
  Value th = f.input("th", f64({2, 3})), tx = f.input("tx", f64({5, 2, 3})), tw = f.input("tw", f64({3, 3}));
  ScanResult r = test::elman_rnn(h0, xs, w);
  std::vector<Value> ys{r.carry[0], r.ys[0]}, xv{h0, xs, w}, tv{th, tx, tw};
  for (size_t i = 0; i < 3; ++i)
    for (Value d : jvp(ys, std::span<const Value>(&xv[i], 1), std::span<const Value>(&tv[i], 1))) f.output(d);
  for (Value d : jvp(ys, xv, tv)) f.output(d);
  f.output(r.carry[0]);
  f.output(r.ys[0]);
  Stream s(3);
  std::vector<Tensor> in;
  for (const Node* x : f.inputs()) in.push_back(random_tensor(x->type(), s));
  std::vector<Tensor> out = run(f, in);
  for (size_t i = 0; i < 3; ++i)
    for (size_t k = 0; k < 2; ++k) expect_close(values(out[2 * i + k]), central(f, in, i, in[3 + i], 8 + k), 1e-8);
  for (size_t k = 0; k < 2; ++k) {
    std::vector<double> sum(out[k].numel(), 0.0);
    for (size_t i = 0; i < 3; ++i)
      for (size_t e = 0; e < sum.size(); ++e) sum[e] += values(out[2 * i + k])[e];
    expect_close(values(out[6 + k]), sum, 1e-12);
  }
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(2), {0, 1e-12}), "");
}

// The tangent loop runs the primal steps beside the tangents; after the
// default pipeline (loop-opt) the primal loop is gone and its users read the
// tangent loop: one scan, one while, same results.
TEST(GradForward, ThePrimalStepsRunOnce) {
  Module m;
  Function& f = m.add_function("f");
  Value h0 = f.input("h0", f64({2, 3})), xs = f.input("xs", f64({5, 2, 3})), w = f.input("w", f64({3, 3}));
  Value tw = f.input("tw", f64({3, 3})), a = f.input("a", f64({3})), ta = f.input("ta", f64({3}));
  ScanResult r = test::elman_rnn(h0, xs, w);
  Value root = test::newton_sqrt(a, -1);
  f.output(r.carry[0]);
  f.output(jvp(r.carry[0], w, tw));
  f.output(root);
  f.output(jvp(root, a, ta));
  Stream s(8);
  std::vector<Tensor> in;
  for (const Node* x : f.inputs()) in.push_back(random_tensor(x->type(), s, 0.5, 1.5));
  std::vector<Tensor> before = run(f, in);
  run_default_pipeline(m);
  int scans = 0, whiles = 0;
  for (const Node* n : f) {
    scans += n->op() == Op::Scan && n->body_result() == 0;
    whiles += n->op() == Op::While && n->body_result() == 0;
  }
  EXPECT_EQ(scans, 1);
  EXPECT_EQ(whiles, 1);
  std::vector<Tensor> after = run(f, in);
  for (size_t k = 0; k < before.size(); ++k) expect_close(values(after[k]), values(before[k]), 0);
}

// d^2/de^2 sum((x + e t)^4) = sum(12 x^2 t^2) by forward over forward, and
// grad_x <grad sum(x^4), t> = 12 x^2 t by reverse over forward.
TEST(GradForward, SecondOrderThroughForwardMode) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), t = f.input("t", f64({3}));
  Value x2 = mul(x, x), z = sum(mul(x2, x2));
  f.output(jvp(jvp(z, x, t), x, t));
  f.output(grad(jvp(z, x, t), {x})[0]);
  std::vector<double> xv{1, -2, 0.5}, tv{0.5, 1, -3};
  std::vector<Tensor> out = run(f, {Tensor::from_doubles(DType::f64, {3}, xv), Tensor::from_doubles(DType::f64, {3}, tv)});
  double second = 0;
  std::vector<double> hv;
  for (size_t e = 0; e < 3; ++e) {
    second += 12 * xv[e] * xv[e] * tv[e] * tv[e];
    hv.push_back(12 * xv[e] * xv[e] * tv[e]);
  }
  expect_close(values(out[0]), {second}, 1e-13);
  expect_close(values(out[1]), hv, 1e-13);
}

// One tangent node per primal node of an elementwise chain: the forward sweep
// is not two reverse sweeps (which hold a cotangent and its transpose too).
TEST(GradForward, TheTangentGraphIsTheSizeOfTheChain) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({8})), t = f.input("t", f64({8}));
  Value y = x;
  for (int k = 0; k < 20; ++k) y = k % 2 ? tanh(y) : exp(neg(y));
  size_t before = f.size();
  f.output(jvp(y, x, t));
  // tanh: t (1 - y^2) is 3 nodes (1 shared); exp(neg): neg t, then t y. Two
  // reverse sweeps, the old way, made 65 nodes here.
  EXPECT_LE(f.size() - before, 10 * 3 + 10 * 2 + 1);
}

TEST(GradForward, Errors) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), w = f.input("w", f64({3}));
  Value y = exp(x);
  std::vector<Value> xs{x, w}, ts{x};
  EXPECT_EQ(error_of([&] { jvp(std::span<const Value>(&y, 1), xs, ts); }), "jvp: 2 values but 1 tangents");
  Function& h = m.add_function("h");
  Value hx = h.input("x", f64({3}));
  Value g = h.make(Op::Grad, {sum(exp(hx)).node, hx.node});
  EXPECT_EQ(error_of([&] { jvp(mul(g, hx), hx, hx); }),
            "jvp: a grad node lies between the values and the outputs: run build-grad first");
  // A value no x influences gets zeros.
  Value ys[] = {y, exp(w)}, one[] = {x};
  std::vector<Value> d = jvp(ys, one, one);
  f.output(d[1]);
  expect_close(values(run(f, {Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1, 2, 3}),
                              Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1, 2, 3})})[0]),
               {0, 0, 0}, 0);
}

}  // namespace
}  // namespace nabla
