// Scans whose trip count is decided at run time (dynamic_length, ir/loop.h),
// and the reverse mode of while built on them: the gradient runs the steps
// the loop took, not max_trip_count of them. Interpreter against closed
// forms, the JIT against the interpreter, errors verbatim.
#include "grad_util.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

Tensor i64_scalar(int64_t v) { return Tensor::scalar(DType::i64, static_cast<double>(v)); }

// c' = c + x, y = 2 c' over xs [5, 3], n steps; outputs c, ys and the
// gradient of sum(c) + sum(ys) in xs.
Module running_sum(bool reverse) {
  return test::make_function({f64({3}), f64({5, 3}), TensorType{DType::i64, {}}}, [&](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto) -> ScanBodyResult {
      Value next = add(c[0], x[0]);
      return {{next}, {mul(next, 2.0)}};
    }, {in[0]}, {in[1]}, {}, {.reverse = reverse, .steps = in[2]});
    Value z = add(sum(r.carry[0]), sum(r.ys[0]));
    return std::vector<Value>{r.carry[0], r.ys[0], grad(z, {in[1]})[0]};
  });
}

TEST(LoopDynamic, StepsDecidedAtRunTime) {
  for (bool reverse : {false, true})
    for (int64_t n : {0, 3, 5}) {
      Module m = running_sum(reverse);
      Function& f = m.function("f");
      Stream s(static_cast<uint64_t>(n) + 7);
      std::vector<Tensor> in{random_tensor(f64({3}), s), random_tensor(f64({5, 3}), s), i64_scalar(n)};
      std::vector<Tensor> out = run(f, in);
      std::vector<double> c = values(in[0]), ys(15, 0.0), g(15, 0.0);
      for (int64_t step = 0; step < n; ++step) {
        int64_t i = reverse ? n - 1 - step : step;
        for (int64_t e = 0; e < 3; ++e) {
          c[e] += in[1].get(i * 3 + e);
          ys[i * 3 + e] = 2 * c[e];
          g[i * 3 + e] = 1 + 2.0 * static_cast<double>(n - step);  // x_i reaches c and ys of steps >= its own
        }
      }
      SCOPED_TRACE(::testing::Message() << "reverse " << reverse << ", n " << n);
      expect_close(values(out[0]), c, 1e-14);
      expect_close(values(out[1]), ys, 1e-14);  // rows from n on: zeros
      expect_close(values(out[2]), g, 1e-14);
      EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(2), {0, 0}), "");
    }
}

TEST(LoopDynamic, ATripCountOutOfRangeIsAnError) {
  Module m = running_sum(false);
  Function& f = m.function("f");
  Executable exe = compile(f, test::test_options(1));
  for (int64_t n : {6, -1}) {
    std::vector<Tensor> in{Tensor(DType::f64, {3}), Tensor(DType::f64, {5, 3}), i64_scalar(n)};
    std::string want = "scan: trip count " + std::to_string(n) + " is outside [0, 5]";
    EXPECT_EQ(error_of([&] { interpret(f, in); }), want);
    EXPECT_EQ(error_of([&] { exe.run(in); }), want);
  }
}

TEST(LoopDynamic, BuilderErrors) {
  Module m;
  Function& f = m.add_function("f");
  Value c = f.input("c", f64({3})), k = f.input("k", TensorType{DType::i32, {}});
  auto body = [](auto c, auto, auto) -> ScanBodyResult { return {{c[0]}, {}}; };
  EXPECT_EQ(error_of([&] { scan(body, {c}, {}, {}, {.length = 4, .steps = k}); }),
            "scan: the trip count (invariant 1) must be i64[], got i32[]");
}

// s = s0 * t[0] * ... * t[3] by a while that reads t[i] and stops at i = 4
// (max_trip_count 10). Its gradient runs the 4 steps taken: a step past the
// end would read t[4] and fail, as the earlier masked scan of
// max_trip_count steps did. ds/dt_j = s / t_j, ds/ds0 = s / s0.
TEST(LoopDynamic, WhileGradientRunsTheStepsTaken) {
  Module m = test::make_function({f64({4}), f64({})}, [](std::vector<Value>& in) {
    Function& f = *in[0]->function();
    std::vector<Value> r = while_loop(
        [](auto c, auto) { return less(c[0], constant(*c[0]->function(), 4.0, DType::i64)); },
        [](auto c, auto w) {
          Value one = constant(*c[0]->function(), 1.0, DType::i64);
          return std::vector<Value>{add(c[0], one), mul(c[1], gather(w[0], c[0], 0))};
        },
        {constant(f, 0.0, DType::i64), in[1]}, {in[0]}, 10);
    std::vector<Value> g = grad(r[1], {in[0], in[1]});
    return std::vector<Value>{r[1], g[0], g[1]};
  });
  Function& f = m.function("f");
  std::vector<double> t{0.5, 2, -1.5, 3};
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {4}, t), Tensor::scalar(DType::f64, 1.25)};
  std::vector<Tensor> out = run(f, in);
  double s = 1.25 * 0.5 * 2 * -1.5 * 3;
  expect_close(values(out[0]), {s}, 1e-14);
  expect_close(values(out[1]), {s / t[0], s / t[1], s / t[2], s / t[3]}, 1e-14);
  expect_close(values(out[2]), {s / 1.25}, 1e-14);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-14}), "");
  // The pipeline merges the while that counts the steps into the while itself.
  run_default_pipeline(m);
  int whiles = 0;
  for (const Node* n : f) whiles += n->op() == Op::While && n->body_result() == 0;
  EXPECT_EQ(whiles, 1);
  expect_close(values(run(f, in)[1]), values(out[1]), 0);
}

}  // namespace
}  // namespace nabla
