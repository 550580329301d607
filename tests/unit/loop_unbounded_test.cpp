// Reverse mode through a while without max_trip_count: the loop is
// differentiated as nested bounded whiles (bounded_while, passes/loop_grad.h;
// docs/autodiff.md). Closed forms in the interpreter, the JIT against the
// interpreter, the capacity's run-time error verbatim.
#include <cmath>

#include "grad_util.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/loop_grad.h"
#include "op_cases.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

Tensor i64_scalar(int64_t v) { return Tensor::scalar(DType::i64, static_cast<double>(v)); }

// s = s0 * q^m by a while of m steps (m an input), without max_trip_count:
// outputs s, ds/ds0 = q^m and ds/dq = m s0 q^(m-1). With slots > 0 the
// gradient is taken of bounded_while(slots, levels) in place of the while.
Module power_loop(int64_t slots = 0, int levels = 0) {
  return test::make_function({f64({}), f64({}), TensorType{DType::i64, {}}}, [&](std::vector<Value>& in) {
    Function& f = *in[0]->function();
    std::vector<Value> r = while_loop(
        [](auto c, auto w) { return less(c[0], w[1]); },
        [](auto c, auto w) {
          return std::vector<Value>{add(c[0], constant(*c[0]->function(), 1.0, DType::i64)), mul(c[1], w[0])};
        },
        {constant(f, 0.0, DType::i64), in[0]}, {in[1], in[2]});
    Value s = r[1];
    if (slots > 0) s = autodiff::bounded_while(f, *r[0].node, slots, levels)[1];
    std::vector<Value> g = grad(s, {in[0], in[1]});
    return std::vector<Value>{s, g[0], g[1]};
  });
}

void expect_power(Function& f, double s0, double q, int64_t m, double tol) {
  std::vector<Tensor> in{Tensor::scalar(DType::f64, s0), Tensor::scalar(DType::f64, q), i64_scalar(m)};
  std::vector<Tensor> out = run(f, in);
  double qm = std::pow(q, static_cast<double>(m));
  SCOPED_TRACE(::testing::Message() << "m " << m);
  expect_close(values(out[0]), {s0 * qm}, tol);
  expect_close(values(out[1]), {qm}, tol);
  expect_close(values(out[2]), {static_cast<double>(m) * s0 * qm / q}, tol);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(2), {0, tol}), "");
}

// Two levels of 4,096 slots for a state of 16 bytes: runs of up to 4,096
// steps stay in the first level's first block; 4,097 and 9,000 cross blocks.
TEST(LoopUnbounded, WhileGradientWithoutATripBound) {
  Module m = power_loop();
  Function& f = m.function("f");
  for (int64_t steps : {0, 1, 7, 4096, 4097, 9000}) expect_power(f, 1.5, 1.0001, steps, 1e-12);
}

// Two slots, three levels: up to 8 steps, each count crossing the levels'
// blocks differently; a ninth step is the outermost level's error.
TEST(LoopUnbounded, BoundedWhileLevels) {
  Module m = power_loop(2, 3);
  Function& f = m.function("f");
  for (int64_t steps = 0; steps <= 8; ++steps) expect_power(f, -0.75, 1.3, steps, 1e-13);
  std::vector<Tensor> in{Tensor::scalar(DType::f64, 1), Tensor::scalar(DType::f64, 2), i64_scalar(9)};
  const std::string want = "while: still running after max_trip_count = 2 steps";
  EXPECT_EQ(error_of([&] { interpret(f, in); }), want);
  EXPECT_EQ(error_of([&] { compile(f, test::test_options(1)).run(in); }), want);
}

// Newton's square root without a bound: d sqrt(a)/da = 1/(2 sqrt a), and the
// second derivative -1/(4 a^1.5) through the gradient's own loops.
TEST(LoopUnbounded, NewtonSqrtToSecondOrder) {
  Module m = test::make_function({f64({4})}, [](std::vector<Value>& in) {
    Value r = test::newton_sqrt(in[0], -1);
    Value g = grad(sum(r), {in[0]})[0];
    return std::vector<Value>{g, grad(sum(g), {in[0]})[0]};
  });
  Function& f = m.function("f");
  std::vector<double> a{0.25, 2, 9, 1e4}, g, h;
  for (double v : a) g.push_back(0.5 / std::sqrt(v)), h.push_back(-0.25 / std::pow(v, 1.5));
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {4}, a)};
  std::vector<Tensor> out = run(f, in);
  expect_close(values(out[0]), g, 1e-12);
  expect_close(values(out[1]), h, 1e-10);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
}

TEST(LoopUnbounded, LevelsFromTheCarrySize) {
  auto levels_for = [](Shape s) {
    Module m = test::make_function({f32(s)}, [](std::vector<Value>& in) {
      return std::vector<Value>{test::newton_sqrt(in[0], -1)};
    });
    for (const Node* n : m.function("f"))
      if (n->op() == Op::While) return autodiff::while_levels(*n);
    return autodiff::WhileLevels{};
  };
  auto [s1, l1] = levels_for({100});  // 400 bytes: 2 x 4,096 carries, 3.3 MB
  EXPECT_EQ(s1, 4096);
  EXPECT_EQ(l1, 2);
  auto [s2, l2] = levels_for({64, 1024});  // 256 KiB: 3 x 256 carries, 192 MiB > 64 MiB -> 4 x 64
  EXPECT_EQ(s2, 64);
  EXPECT_EQ(l2, 4);
  auto [s3, l3] = levels_for({8, 1024});  // 32 KiB: 3 x 256 carries = 24 MiB
  EXPECT_EQ(s3, 256);
  EXPECT_EQ(l3, 3);
}

}  // namespace
}  // namespace nabla
