// Loops (ir/loop.h): scan and while against unrolled graphs and closed forms,
// in the interpreter, through build-grad and in the JIT; their errors,
// verbatim; compiled code that does not grow with the trip count.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "nabla/compiler/compile.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/check_grad.h"
#include "nabla/passes/derivatives.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"
#include "tests/support/error_testing.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr int64_t N = 100, B = 2, H = 3;  // an Elman RNN over 100 steps

// The RNN of test::elman_rnn written out step by step.
ScanResult unrolled_rnn(Value h, Value xs, Value w, bool reverse) {
  std::vector<Value> ys(N);
  for (int64_t s = 0; s < N; ++s) {
    int64_t i = reverse ? N - 1 - s : s;
    Value x = reshape(slice(xs, {i, 0, 0}, {i + 1, B, H}), {B, H});
    h = tanh(add(matmul(h, w), x));
    ys[static_cast<size_t>(i)] = reshape(mul(h, 0.5), {1, B, H});
  }
  return {{h}, {concat(ys, 0)}};
}

// z = sum(ys * V) + sum(h_N * U) and its gradients wrt h0, xs, W.
Module rnn_module(bool loop, bool reverse) {
  return test::make_function({f64({B, H}), f64({N, B, H}), f64({H, H}), f64({N, B, H}), f64({B, H})},
                             [&](std::vector<Value>& in) {
                               ScanResult r = loop ? test::elman_rnn(in[0], in[1], in[2], reverse)
                                                   : unrolled_rnn(in[0], in[1], in[2], reverse);
                               Value z = add(sum(mul(r.ys[0], in[3])), sum(mul(r.carry[0], in[4])));
                               std::vector<Value> out{r.carry[0], r.ys[0], z};
                               for (Value g : grad(z, {in[0], in[1], in[2]})) out.push_back(g);
                               return out;
                             });
}

void expect_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double rtol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(test::compare_tensors(got[i], want[i], {rtol, rtol}), "") << "result " << i;
}

// 100 steps, either way: values and gradients equal the unrolled network's to
// 1e-12 (interpreter), and the JIT's the interpreter's.
TEST(Loop, ScanAndItsGradientEqualTheUnrolledGraphs) {
  for (bool reverse : {false, true}) {
    Module loop = rnn_module(true, reverse), flat = rnn_module(false, reverse);
    Function& f = *loop.find("f");
    verify(f);
    std::vector<Tensor> in = random_inputs(f, 11);
    expect_close(interpret(f, in), interpret(*flat.find("f"), in), 1e-12);
    EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
    EXPECT_EQ(test::compare_with_interpreter(f, in, test::split_everything(2), {0, 1e-12}), "");
  }
}

// An LSTM cell: gates = x Wx + h Wh + b, split in four [B,H] blocks.
std::pair<Value, Value> lstm_cell(Value h, Value c, Value x, Value wx, Value wh, Value b) {
  int64_t batch = h->shape()[0], hidden = h->shape()[1];
  Value gates = add(add(matmul(x, wx), matmul(h, wh)), b);
  auto gate = [&](int64_t k) { return slice(gates, {0, k * hidden}, {batch, (k + 1) * hidden}); };
  Value c2 = add(mul(sigmoid(gate(1)), c), mul(sigmoid(gate(0)), tanh(gate(3))));
  return {mul(sigmoid(gate(2)), tanh(c2)), c2};
}

// A 100-step LSTM as a scan and unrolled: values and gradients equal to 1e-12.
TEST(Loop, LstmScanEqualsTheUnrolledLstm) {
  const int64_t steps = 100, batch = 2, in = 3, hidden = 4;
  auto build = [&](bool loop) {
    return test::make_function({f64({batch, hidden}), f64({steps, batch, in}), f64({in, 4 * hidden}),
                                f64({hidden, 4 * hidden}), f64({4 * hidden})},
                               [&](std::vector<Value>& a) {
                                 Value h = a[0], c = constant(*a[0]->function(), Tensor(DType::f64, {batch, hidden})), ys;
                                 if (loop) {
                                   ScanResult r = scan([](auto s, auto x, auto w) -> ScanBodyResult {
                                     auto [h2, c2] = lstm_cell(s[0], s[1], x[0], w[0], w[1], w[2]);
                                     return {{h2, c2}, {h2}};
                                   }, {h, c}, {a[1]}, {a[2], a[3], a[4]});
                                   h = r.carry[0];
                                   ys = r.ys[0];
                                 } else {
                                   std::vector<Value> hs;
                                   for (int64_t i = 0; i < steps; ++i) {
                                     Value x = reshape(slice(a[1], {i, 0, 0}, {i + 1, batch, in}), {batch, in});
                                     std::tie(h, c) = lstm_cell(h, c, x, a[2], a[3], a[4]);
                                     hs.push_back(reshape(h, {1, batch, hidden}));
                                   }
                                   ys = concat(hs, 0);
                                 }
                                 Value z = add(sum(mul(ys, ys)), sum(h));
                                 std::vector<Value> out{ys, z};
                                 for (Value g : grad(z, {a[0], a[1], a[2], a[3], a[4]})) out.push_back(g);
                                 return out;
                               });
  };
  Module loop = build(true), flat = build(false);
  Function& f = *loop.find("f");
  std::vector<Tensor> in_values = random_inputs(f, 3);
  expect_close(interpret(f, in_values), interpret(*flat.find("f"), in_values), 1e-12);
  EXPECT_EQ(test::compare_with_interpreter(f, in_values, test::test_options(1), {0, 1e-12}), "");
}

// The cumulative product via a scan, and its gradient: d prod_k / d x_j = prod_k / x_j (j <= k).
TEST(Loop, CumulativeProduct) {
  Module m = test::make_function({f64({6})}, [](std::vector<Value>& in) {
    Value one = constant(*in[0]->function(), 1.0, DType::f64);
    ScanResult r = scan([](auto c, auto x, auto) -> ScanBodyResult {
      Value p = mul(c[0], x[0]);
      return {{p}, {p}};
    }, {one}, {in[0]});
    return std::vector<Value>{r.ys[0], grad(sum(r.ys[0]), {in[0]})[0]};
  });
  Function& f = *m.find("f");
  std::vector<double> x{1.5, -2.0, 0.5, 3.0, 1.25, -0.75};
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {6}, x)};
  std::vector<Tensor> out = interpret(f, in);
  double prod = 1;
  std::vector<double> prods;
  for (size_t k = 0; k < 6; ++k) prods.push_back(prod *= x[k]);
  for (size_t j = 0; j < 6; ++j) {
    EXPECT_DOUBLE_EQ(out[0].get(static_cast<int64_t>(j)), prods[j]);
    double d = 0;
    for (size_t k = j; k < 6; ++k) d += prods[k] / x[j];
    EXPECT_NEAR(out[1].get(static_cast<int64_t>(j)), d, 1e-12 * std::abs(d));
  }
  EXPECT_EQ(test::compare_with_interpreter(f, in), "");
}

// An integer carry carries no gradient, as an integer value anywhere: k
// counts the steps where s > t and feeds s' = s w + k / 10. ds/dw and ds/ds0
// treat k as the constant it is between its jumps (against central
// differences, away from a jump), and t, whose only path to s is through k,
// is reported as blocked.
TEST(Loop, AnIntegerCarryCarriesNoGradient) {
  Module m = test::make_function({f64(), f64(), f64()}, [](std::vector<Value>& in) {
    Value k0 = constant(*in[0]->function(), 0.0, DType::i64);
    ScanResult r = scan([](auto c, auto, auto w) -> ScanBodyResult {
      Value k = add(c[1], cast(greater(c[0], w[1]), DType::i64));
      return {{add(mul(c[0], w[0]), mul(cast(k, DType::f64), 0.1)), k}, {}};
    }, {in[0], k0}, {}, {in[1], in[2]}, {.length = 6});
    r.carry[0]->set_name("s");
    EXPECT_EQ(nabla::test::error_of([&] { grad(r.carry[0], {in[2]}); }),
              "grad: the derivative of %s with respect to %x2 is undefined: every path from %x2 to %s passes "
              "through an integer or bool value, such as `%s = scan %x0, %0, %x1, %x2 {length = 6, num_carry = 2} "
              ": f64[]`");
    return std::vector<Value>{r.carry[0], grad_op(r.carry[0], in[1]), grad_op(r.carry[0], in[0])};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = {Tensor::scalar(DType::f64, 0.9), Tensor::scalar(DType::f64, 1.1),
                            Tensor::scalar(DType::f64, 1.0)};
  std::vector<Tensor> out = test::reference_results(f, in);
  EXPECT_GT(out[0].get(0), 1.0);
  CheckGradReport report = check_grad(f, in);
  std::ostringstream text;
  print_report(text, report);
  EXPECT_TRUE(report.ok()) << text.str();
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-14}), "");
}

// A target whose only path to z is a while's condition is blocked, as by an
// integer value.
TEST(Loop, ATargetOnlyInTheConditionIsReportedLikeABlockedPath) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64()), limit = f.input("limit", f64());
  Value r = while_loop([](auto c, auto w) { return less(c[0], w[0]); },
                       [](auto c, auto) { return std::vector<Value>{add(c[0], 1.0)}; }, {x}, {limit}, 100)[0];
  r->set_name("r");
  try {
    grad(r, {limit});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "grad: the derivative of %r with respect to %limit is undefined: every path from %limit to %r "
              "passes through an integer or bool value, such as `%r = while %x, %limit {max_trip_count = 100} : "
              "f64[]`");
  }
  EXPECT_NO_THROW(grad(r, {x}));  // dr/dx = 1 (the trip count is piecewise constant)
}

// Checkpointing changes the memory, not the derivatives.
Module decay_module(int64_t steps, int64_t dim, int64_t checkpoint, bool reverse) {
  return test::make_function({f64({dim}), f64({dim, dim}), f64({steps, dim})}, [&](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto w) -> ScanBodyResult {
      Value next = add(c[0], mul(tanh(reshape(matmul(reshape(c[0], {1, c[0]->shape()[0]}), w[0]), c[0]->shape())), 0.01));
      return {{add(next, x[0])}, {sum(next)}};
    }, {in[0]}, {in[2]}, {in[1]}, {.reverse = reverse, .checkpoint = checkpoint});
    Value z = add(sum(mul(r.carry[0], r.carry[0])), sum(r.ys[0]));
    return grad(z, {in[0], in[1], in[2]});
  });
}

TEST(Loop, CheckpointedGradientsEqualTheStoredOnes) {
  for (bool reverse : {false, true})
    for (int64_t k : {int64_t{3}, int64_t{5}, kSqrtCheckpoint}) {
      Module all = decay_module(10, 4, 0, reverse), some = decay_module(10, 4, k, reverse);
      std::vector<Tensor> in = random_inputs(*all.find("f"), 4);
      expect_close(interpret(*some.find("f"), in), interpret(*all.find("f"), in), 1e-13);
      EXPECT_EQ(test::compare_with_interpreter(*some.find("f"), in, test::test_options(1), {0, 1e-13}), "");
    }
}

// 10,000 steps of x' = x + tanh(x W) / 100, a 100-dimensional state. Storing
// every step, the default, stacks the carry and tanh's value (a product
// computes it) a step; checkpoint = 1 the carry alone. What the gradient's
// workspace holds for the steps (its growth from 100 steps to 10,000) is, with
// the sqrt schedule (100 states, one block of 100 steps stored as the default
// stores them), at most 2% of the default's and 3% of the carries'; the
// whole workspace at most 10% of the carries' (the weight gradient's buffers
// do not depend on the length).
TEST(Loop, SqrtCheckpointingShrinksTheWorkspace) {
  auto workspace = [](int64_t steps, int64_t checkpoint) {
    Module m = test::make_function({f64({100}), f64({100, 100})}, [&](std::vector<Value>& in) {
      ScanResult r = scan([](auto c, auto, auto w) -> ScanBodyResult {
        return {{add(c[0], mul(tanh(reshape(matmul(reshape(c[0], {1, 100}), w[0]), {100})), 0.01))}, {}};
      }, {in[0]}, {}, {in[1]}, {.length = steps, .checkpoint = checkpoint});
      return grad(sum(mul(r.carry[0], r.carry[0])), {in[0], in[1]});
    });
    return compile(*m.find("f"), test::test_options(1)).workspace_bytes();
  };
  int64_t all = workspace(10000, 0) - workspace(100, 0);
  int64_t carries_long = workspace(10000, 1), carries = carries_long - workspace(100, 1);
  int64_t sqrt_long = workspace(10000, kSqrtCheckpoint), sqrt = sqrt_long - workspace(100, kSqrtCheckpoint);
  EXPECT_GE(all, 2 * 9900 * 100 * 8) << "the carry and tanh's value";
  EXPECT_GE(carries, 9900 * 100 * 8) << "the tape holds every step's carry";
  EXPECT_LE(sqrt * 50, all) << sqrt << " against the default's " << all;
  EXPECT_LE(sqrt * 100, carries * 3) << sqrt << " against the carries' " << carries;
  EXPECT_LE(sqrt_long * 10, carries_long) << sqrt_long << " bytes against " << carries_long;
}

// A scan without carries (only stacked outputs): no scratch at all.
TEST(Loop, ScanWithoutCarries) {
  Module m = test::make_function({f32({5, 3})}, [](std::vector<Value>& in) {
    ScanResult r = scan([](auto, auto x, auto) -> ScanBodyResult { return {{}, {tanh(x[0])}}; }, {}, {in[0]});
    return std::vector<Value>{r.ys[0]};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 2);
  EXPECT_EQ(test::compare_with_interpreter(f, in), "");
}

TEST(Loop, ZeroLengthScanReturnsItsInitialCarries) {
  Module m = test::make_function({f32({3}), f32({0, 3})}, [](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto) -> ScanBodyResult { return {{add(c[0], x[0])}, {x[0]}}; },
                        {in[0]}, {in[1]});
    return std::vector<Value>{r.carry[0], r.ys[0]};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 1);
  std::vector<Tensor> out = interpret(f, in);
  EXPECT_EQ(test::compare_bits(out[0], in[0]), "");
  EXPECT_EQ(out[1].shape(), (Shape{0, 3}));
  EXPECT_EQ(test::compare_with_interpreter(f, in), "");
}

// Explicit Euler for dx/dt = a x over t in [0, 1], h = 1/N: x_N = x0 (1 + a h)^N
// and dx_N/da = x0 (1 + a h)^(N-1), to 1e-13; their distance to x(1) =
// x0 exp(a) and to its derivative x0 exp(a) is the method's first-order
// error, -x0 exp(a) a^2 h / 2 and -x0 exp(a) (a + a^2 / 2) h (to 2%: the next
// terms are O(h^2)); the gradient also against central differences.
TEST(Loop, EulerIntegratorMatchesTheExponentialAndItsDerivative) {
  const int64_t steps = 1000;
  const double h = 1.0 / steps, x0 = 2.0;
  Module m = test::make_function({f64(), f64()}, [&](std::vector<Value>& in) {
    Value dt = constant(*in[0]->function(), h, DType::f64);
    ScanResult r = scan([](auto c, auto, auto w) -> ScanBodyResult { return {{c[0] + w[1] * (w[0] * c[0])}, {}}; },
                        {in[1]}, {}, {in[0], dt}, {.length = steps});
    return std::vector<Value>{r.carry[0], grad_op(r.carry[0], in[0])};  // (check_grad checks grad nodes)
  });
  Function& f = *m.find("f");
  for (double a : {-1.5, 0.7}) {
    std::vector<Tensor> in = {Tensor::scalar(DType::f64, a), Tensor::scalar(DType::f64, x0)};
    std::vector<Tensor> out = test::reference_results(f, in);
    double x_n = x0 * std::pow(1 + a * h, steps), dx_n = x0 * std::pow(1 + a * h, steps - 1);
    EXPECT_NEAR(out[0].get(0), x_n, 1e-13 * std::abs(x_n));
    EXPECT_NEAR(out[1].get(0), dx_n, 1e-13 * std::abs(dx_n));
    double e = x0 * std::exp(a), x_error = -e * a * a * h / 2, dx_error = -e * (a + a * a / 2) * h;
    EXPECT_NEAR(out[0].get(0) - e, x_error, 0.02 * std::abs(x_error));
    EXPECT_NEAR(out[1].get(0) - e, dx_error, 0.02 * std::abs(dx_error));
    CheckGradReport report = check_grad(f, in);
    std::ostringstream text;
    print_report(text, report);
    EXPECT_TRUE(report.ok()) << text.str();
    EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-14}), "");
  }
}

// RK4 for dx/dt = a x over t in [0, 1]: x(1) = x0 exp(a), d x(1)/da = x0 exp(a).
TEST(Loop, Rk4IntegratorMatchesTheExponentialAndItsDerivative) {
  const int64_t steps = 200;
  Module m = test::make_function({f64(), f64()}, [&](std::vector<Value>& in) {
    Value dt = constant(*in[0]->function(), 1.0 / steps, DType::f64);
    ScanResult r = scan([](auto c, auto, auto w) -> ScanBodyResult {
      Value x = c[0], a = w[0], h = w[1];
      Value k1 = a * x, k2 = a * (x + h * 0.5 * k1), k3 = a * (x + h * 0.5 * k2), k4 = a * (x + h * k3);
      return {{x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)}, {}};
    }, {in[1]}, {}, {in[0], dt}, {.length = steps});
    Value x1 = r.carry[0];
    return std::vector<Value>{x1, grad(x1, {in[0]})[0]};
  });
  Function& f = *m.find("f");
  for (double a : {-1.5, 0.7}) {
    std::vector<Tensor> in = {Tensor::scalar(DType::f64, a), Tensor::scalar(DType::f64, 2.0)};
    std::vector<Tensor> out = interpret(f, in);
    EXPECT_NEAR(out[0].get(0), 2.0 * std::exp(a), 1e-9);
    EXPECT_NEAR(out[1].get(0), 2.0 * std::exp(a), 1e-8);
    EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-14}), "");
  }
}

Module newton_module(int64_t max_trip_count) {
  return test::make_function({f64({4})}, [&](std::vector<Value>& in) {
    Value r = test::newton_sqrt(in[0], max_trip_count);
    return std::vector<Value>{r, grad(sum(r), {in[0]})[0]};
  });
}

TEST(Loop, WhileComputesSquareRootsAndTheirDerivatives) {
  Module m = newton_module(60);
  Function& f = *m.find("f");
  std::vector<Tensor> in = {Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0.25, 2.0, 9.0, 1e4})};
  std::vector<Tensor> out = interpret(f, in);
  for (int64_t i = 0; i < 4; ++i) {
    double a = in[0].get(i);
    EXPECT_NEAR(out[0].get(i), std::sqrt(a), 1e-14 * std::sqrt(a));
    EXPECT_NEAR(out[1].get(i), 0.5 / std::sqrt(a), 1e-12 / std::sqrt(a));
  }
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-13}), "");
}

TEST(Loop, WhileBeyondMaxTripCountFailsWithTheSameMessageEverywhere) {
  Module m = test::make_function({f64({4})}, [](std::vector<Value>& in) {
    return std::vector<Value>{test::newton_sqrt(in[0], 3)};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = {Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0.25, 2.0, 9.0, 1e4})};
  const std::string want = "while: still running after max_trip_count = 3 steps";
  try {
    interpret(f, in);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), want);
  }
  Executable exe = compile(f, test::test_options(1));
  try {
    exe.run(in);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), want);
  }
  Tensor out(DType::f64, {4});
  const void* ins[] = {in[0].data()};
  void* outs[] = {out.data()};
  std::vector<std::byte> ws(static_cast<size_t>(exe.workspace_bytes()) + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  nabla_context ctx{};
  EXPECT_EQ(exe.entry()(ins, outs, aligned, &ctx), NABLA_TRIP_COUNT_EXCEEDED);
  EXPECT_STREQ(ctx.error.op, "while");
  EXPECT_EQ(ctx.error.bound, 3);
  EXPECT_EQ(ctx.error.index, 3);
  EXPECT_EQ(exe.entry()(ins, outs, aligned, nullptr), NABLA_TRIP_COUNT_EXCEEDED);
}

// A scan inside a scan: gradients and second derivatives against central
// differences, and the JIT against the interpreter.
TEST(Loop, ScanInsideAScan) {
  Module m = test::make_function({f64({2}), f64({3, 4, 2})}, [](std::vector<Value>& in) {
    ScanResult outer = scan([](auto c, auto xs, auto) -> ScanBodyResult {
      ScanResult inner = scan([](auto d, auto x, auto) -> ScanBodyResult {
        Value n = tanh(add(mul(d[0], 0.9), x[0]));
        return {{n}, {}};
      }, {c[0]}, {xs[0]});
      return {{inner.carry[0]}, {sum(inner.carry[0])}};
    }, {in[0]}, {in[1]});
    Value z = add(sum(mul(outer.ys[0], outer.ys[0])), sum(outer.carry[0]));
    Value g0 = grad_op(z, in[0]), g1 = grad_op(z, in[1]);
    return std::vector<Value>{z, g0, g1, grad_op(sum(mul(g0, g0)), in[1])};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 9);
  CheckGradReport report = check_grad(f, in);
  std::ostringstream text;
  print_report(text, report);
  EXPECT_TRUE(report.ok()) << text.str();
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
}

// A scan whose body holds a while and a grad: nesting, and build-grad inside
// bodies (through check_grad's expansion, and the JIT's pipeline).
TEST(Loop, NestedLoopsAndAGradInsideABody) {
  Module m = test::make_function({f64({3}), f64({4, 3})}, [](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto) -> ScanBodyResult {
      Value root = test::newton_sqrt(add(mul(x[0], x[0]), 1.0), 40);  // sqrt(x^2 + 1)
      Value d = grad_op(sum(mul(sin(c[0]), root)), c[0]);              // cos(c) * root
      return {{add(mul(c[0], 0.5), d)}, {root}};
    }, {in[0]}, {in[1]});
    Value z = add(sum(r.carry[0]), sum(r.ys[0]));
    return std::vector<Value>{r.carry[0], r.ys[0], grad_op(z, in[0]), grad_op(z, in[1])};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 5);
  CheckGradReport report = check_grad(f, in);
  std::ostringstream text;
  print_report(text, report);
  EXPECT_TRUE(report.ok()) << text.str();
  std::vector<Tensor> want = test::reference_results(f, in);
  for (int64_t i = 0; i < 12; ++i) {
    double x = in[1].get(i);
    EXPECT_NEAR(want[1].get(i), std::sqrt(x * x + 1), 1e-13);
  }
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
}

// A Hessian-vector product through a scan (hvp, passes/derivatives.h: forward
// mode over the reverse sweep, whose tape stores tanh's values) against
// central differences of the gradient in f64, (g(W + h V) - g(W - h V)) / 2h,
// and the JIT against the interpreter.
TEST(Loop, HessianVectorProductThroughAScan) {
  Module m = test::make_function({f64({B, H}), f64({20, B, H}), f64({H, H}), f64({H, H})}, [](std::vector<Value>& in) {
    ScanResult r = test::elman_rnn(in[0], in[1], in[2], false);
    Value z = add(sum(mul(r.carry[0], r.carry[0])), sum(r.ys[0]));
    return std::vector<Value>{grad(z, {in[2]})[0], hvp(z, in[2], in[3])};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 12);
  const double h = 1e-5;
  std::vector<Tensor> plus = in, minus = in;
  plus[2] = in[2].clone();
  minus[2] = in[2].clone();
  for (int64_t e = 0; e < H * H; ++e) {
    plus[2].set(e, in[2].get(e) + h * in[3].get(e));
    minus[2].set(e, in[2].get(e) - h * in[3].get(e));
  }
  Tensor hv = interpret(f, in)[1], gp = interpret(f, plus)[0], gm = interpret(f, minus)[0];
  for (int64_t e = 0; e < H * H; ++e) {
    double want = (gp.get(e) - gm.get(e)) / (2 * h);
    EXPECT_NEAR(hv.get(e), want, 1e-7 * (1 + std::abs(want))) << e;
  }
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-12}), "");
}

// The compiled code is the same for 10 steps as for 100,000.
TEST(Loop, CompiledCodeDoesNotGrowWithTheTripCount) {
  auto stats = [](int64_t length) {
    Module m = test::make_function({f32({8}), f32({8, 8})}, [&](std::vector<Value>& in) {
      ScanResult r = scan([](auto c, auto, auto w) -> ScanBodyResult {
        Value h = tanh(reshape(matmul(reshape(c[0], {1, 8}), w[0]), {8}));
        return {{h}, {sum(h)}};
      }, {in[0]}, {}, {in[1]}, {.length = length});
      return std::vector<Value>{r.carry[0], r.ys[0]};
    });
    Executable exe = compile(*m.find("f"), test::test_options(1));
    return std::make_pair(exe.stats().num_kernels, exe.workspace_bytes());
  };
  auto small = stats(10), large = stats(100000);
  EXPECT_EQ(small.first, large.first);
  EXPECT_EQ(small.second, large.second) << "the workspace holds one step";
}

TEST(Loop, BuilderErrorsNameTheOpAndTheTypes) {
  Module m;
  Function& f = m.function("f");
  Value c = f.input("c", f32({3})), xs = f.input("xs", f32({5, 3}));
  auto message = [](const std::function<void()>& build) {
    try {
      build();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] {
              scan([](auto c, auto, auto) -> ScanBodyResult { return {{sum(c[0])}, {}}; }, {c}, {xs});
            }),
            "scan: body result 0 is f32[], but carried value 0 is f32[3]");
  EXPECT_EQ(message([&] {
              scan([](auto c, auto, auto) -> ScanBodyResult { return {{c[0]}, {}}; }, {c}, {xs}, {}, {.length = 4});
            }),
            "scan: xs operand 0 is f32[5,3], but its leading axis must be length = 4");
  EXPECT_EQ(message([&] {
              scan([&](auto, auto, auto) -> ScanBodyResult { return {{c}, {}}; }, {c}, {xs});
            }),
            "scan: a body result is not a value of the body (values of the enclosing function enter as invariants)");
  EXPECT_EQ(message([&] {
              while_loop([](auto c, auto) { return c[0]; },
                         [](auto c, auto) { return std::vector<Value>{c[0]}; }, {c});
            }),
            "while: the condition must return one bool[], got (f32[3])");
  EXPECT_EQ(message([&] { scan([](auto, auto, auto) -> ScanBodyResult { return {}; }, {c}, {}); }),
            "scan: without xs, the length must be given");
}

}  // namespace
}  // namespace nabla
