// Checkpointing of scans in reverse mode (passes/loop_grad.cpp): nested
// levels give the stored gradients, and the workspace shrinks as
// docs/autodiff.md says (read from the memory plan, not timed); carries the
// loop lowering updates in place (compiler/lower_loop.cpp) against the
// interpreter, and the workspace they save.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

void expect_equal(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double rtol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(test::compare_tensors(got[i], want[i], {rtol, rtol}), "") << i;
}

// RK4 for y' = y A (y [1, dim], A [dim, dim]): z = sum(y_N^2) / 2 and its
// gradients in A and y0 (or in y0 alone).
Module rk4_module(DType t, int64_t dim, int64_t steps, int64_t checkpoint, bool in_a = true) {
  TensorType y{t, {1, dim}}, a{t, {dim, dim}};
  return test::make_function({y, a}, [&](std::vector<Value>& in) {
    const double dt = 1e-3;
    ScanResult r = scan([dt](auto c, auto, auto w) -> ScanBodyResult {
      Value k1 = matmul(c[0], w[0]);
      Value k2 = matmul(add(c[0], mul(k1, dt / 2)), w[0]);
      Value k3 = matmul(add(c[0], mul(k2, dt / 2)), w[0]);
      Value k4 = matmul(add(c[0], mul(k3, dt)), w[0]);
      Value s = add(add(add(k1, mul(k2, 2.0)), mul(k3, 2.0)), k4);
      return {{add(c[0], mul(s, dt / 6))}, {}};
    }, {in[0]}, {}, {in[1]}, {.length = steps, .checkpoint = checkpoint});
    Value z = mul(sum(mul(r.carry[0], r.carry[0])), 0.5);
    std::vector<Value> out{z};
    for (Value g : grad(z, in_a ? std::vector<Value>{in[1], in[0]} : std::vector<Value>{in[0]})) out.push_back(g);
    return out;
  });
}

// A scan with xs and a stacked output, run either way.
Module decay_module(int64_t steps, int64_t checkpoint, bool reverse) {
  const int64_t dim = 4;
  return test::make_function({f64({dim}), f64({dim, dim}), f64({steps, dim})}, [&](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto w) -> ScanBodyResult {
      Value next = add(c[0], mul(tanh(reshape(matmul(reshape(c[0], {1, 4}), w[0]), {4})), 0.1));
      return {{add(next, x[0])}, {sum(next)}};
    }, {in[0]}, {in[2]}, {in[1]}, {.reverse = reverse, .checkpoint = checkpoint});
    return grad(add(sum(mul(r.carry[0], r.carry[0])), sum(r.ys[0])), {in[0], in[1], in[2]});
  });
}

TEST(LoopCheckpoint, NestedLevelsGiveTheStoredGradients) {
  for (bool reverse : {false, true})
    for (int64_t steps : {int64_t{1}, int64_t{30}, int64_t{64}})
      for (int64_t c : {kSqrtCheckpoint, nested_checkpoint(2), nested_checkpoint(3)}) {
        Module all = decay_module(steps, 0, reverse), some = decay_module(steps, c, reverse);
        std::vector<Tensor> in = random_inputs(*all.find("f"), 5);
        expect_equal(interpret(*some.find("f"), in), interpret(*all.find("f"), in), 1e-13);
        EXPECT_EQ(test::compare_with_interpreter(*some.find("f"), in, test::test_options(1), {0, 1e-13}), "")
            << steps << " steps, checkpoint " << c;
      }
  Module all = rk4_module(DType::f64, 3, 50, 0), two = rk4_module(DType::f64, 3, 50, nested_checkpoint(2));
  std::vector<Tensor> in = random_inputs(*all.find("f"), 6);
  expect_equal(interpret(*two.find("f"), in), interpret(*all.find("f"), in), 1e-13);
  EXPECT_EQ(test::compare_with_interpreter(*two.find("f"), in, test::test_options(2), {0, 1e-13}), "");
}

// Issue 15's figure, from the memory plan: RK4 with 10,000 steps on a
// 100-dimensional f32 state. Storing every step, the default (checkpoint =
// 0), stacks each step's state and the three stage inputs its products
// compute (1,600 bytes a step), Aᵀ (hoisted by loop-opt) besides; the weight
// gradient's accumulator lives in the result. The sqrt schedule keeps 100
// states at the outer level and one block of 100 steps stored as the default
// stores them, with Aᵀ: under 2% of the default (the aim), and under 6.5% of
// storing every step's carries alone (checkpoint = 1). Two levels keep 22 +
// 22 states and a block of 22 steps: under 1% of the default, 2.5% of the
// carries.
TEST(LoopCheckpoint, Rk4SqrtWorkspaceIsUnderTwoPercentOfTheDefault) {
  auto workspace = [](int64_t checkpoint) {
    Module m = rk4_module(DType::f32, 100, 10000, checkpoint);
    return compile(*m.find("f"), test::test_options(1)).workspace_bytes();
  };
  const int64_t state = 400, at = 100 * 100 * 4;
  int64_t all = workspace(0), carries = workspace(1), sqrt = workspace(kSqrtCheckpoint);
  int64_t two = workspace(nested_checkpoint(2));
  EXPECT_GE(all, 10000 * 4 * state) << "the tape holds every step's state and stage inputs";
  EXPECT_GE(carries, 10000 * state) << "the tape holds every step's state";
  EXPECT_LT(carries - 10000 * state - at, at) << carries;
  EXPECT_GE(sqrt, 100 * state + 100 * 4 * state) << "a block's steps stored as the default stores them";
  EXPECT_LE(sqrt, 100 * state + 100 * 4 * state + at + 8192) << sqrt;
  EXPECT_LE(sqrt * 50, all) << sqrt << " against the default's " << all;
  EXPECT_LE(sqrt * 1000, carries * 65) << sqrt << " against the carries' " << carries;
  EXPECT_LE(two * 100, all) << two << " against the default's " << all;
  EXPECT_LE(two * 1000, carries * 25) << two << " against the carries' " << carries;
  EXPECT_LT(two, sqrt);
}

// The matmuls in the body of each scan of f (in order), forward or back.
std::vector<std::string> scans_and_products(Module& m) {
  PassManager pm;
  pm.add(std::string(default_pipeline()));
  pm.run(m);
  std::vector<std::string> out;
  for (const Node* n : *m.find("f")) {
    if (n->op() != Op::Scan || n->body_result() != 0) continue;
    int products = 0;
    for (const Node* b : *n->body()) products += b->op() == Op::MatMul;
    out.push_back(fmt::format("{} {} products, {} stacked", n->attrs().reverse ? "back" : "forward", products,
                              n->body()->results().size() - static_cast<size_t>(n->attrs().num_carry)));
  }
  return out;
}

// By default the tape also stacks the values the backward step reads that a
// product computes: RK4's three stage inputs y + k dt/2, y + k dt/2 and
// y + k dt, which its outer products (dz/dA) read. The backward body then
// evaluates the four transposed products and the four outer products, not
// the forward ones again; checkpoint = 1 stores the state alone and
// recomputes three of the four forward products. The gradient in y0 alone
// reads no state (the ODE is linear): nothing is stacked. The gradients are
// the same bits either way (the interpreter runs the same operations).
TEST(LoopCheckpoint, TheTapeHoldsTheValuesOfProductsTheBackwardStepReads) {
  Module all = rk4_module(DType::f32, 100, 10000, 0), carries = rk4_module(DType::f32, 100, 10000, 1);
  Module y0 = rk4_module(DType::f32, 100, 10000, 0, false);
  EXPECT_EQ(scans_and_products(all),
            (std::vector<std::string>{"forward 4 products, 4 stacked", "back 8 products, 0 stacked"}));
  EXPECT_EQ(scans_and_products(carries),
            (std::vector<std::string>{"forward 4 products, 1 stacked", "back 11 products, 0 stacked"}));
  EXPECT_EQ(scans_and_products(y0),
            (std::vector<std::string>{"forward 4 products, 0 stacked", "back 4 products, 0 stacked"}));
  int64_t stored = compile(*all.find("f"), test::test_options(1)).workspace_bytes();
  EXPECT_GE(stored, 4 * 10000 * 400) << "four rows of 400 bytes a step";
  EXPECT_LT(compile(*y0.find("f"), test::test_options(1)).workspace_bytes(), 100 * 100 * 4 * 2);
  Module small = rk4_module(DType::f64, 5, 40, 0), small_carries = rk4_module(DType::f64, 5, 40, 1);
  std::vector<Tensor> in = random_inputs(*small.find("f"), 8);
  expect_equal(interpret(*small.find("f"), in), interpret(*small_carries.find("f"), in), 0);
  EXPECT_EQ(test::compare_with_interpreter(*small.find("f"), in, test::test_options(1), {0, 1e-13}), "");
}

// The checkpointed scan's values come from its blocked form, which loop-opt
// merges with the blocked tape (cse tells the nested scans equal by their
// bodies): after the default pipeline, RK4's sqrt gradient holds two loops,
// the forward steps with the tape of 100 states and the backward sweep.
TEST(LoopCheckpoint, TheForwardStepsRunOnceBeforeTheBackwardSweep) {
  Module m = rk4_module(DType::f32, 100, 10000, kSqrtCheckpoint);
  PassManager pm;
  pm.add(std::string(default_pipeline()));
  pm.run(m);
  std::vector<std::string> loops;
  for (const Node* n : *m.find("f"))
    if (n->op() == Op::Scan && n->body_result() == 0)
      loops.push_back(std::to_string(n->attrs().length) + (n->attrs().reverse ? " back" : " forward"));
  EXPECT_EQ(loops, (std::vector<std::string>{"100 forward", "100 back"}));
}

// Carries of every kind the loop lowering updates in place, and two it must
// not (a GEMM summing K in two blocks, a carry read twice), against the
// interpreter with one and two threads.
TEST(LoopCheckpoint, CarriesUpdatedInPlaceMatchTheInterpreter) {
  Module m = test::make_function({f64({6}), f64({4, 4}), f64({4, 4}), f64({5, 6}), f64({3, 4}), f64({600, 4}), f64({6})},
                                 [](std::vector<Value>& in) {
    ScanResult r = scan([](auto c, auto x, auto w) -> ScanBodyResult {
      Value elementwise = add(mul(c[0], 0.5), tanh(x[0]));                       // fused elementwise
      Value one_block = add(c[1], matmul(w[0], w[0], true, false));              // GEMM epilogue, K = 3
      Value two_blocks = add(c[2], matmul(w[1], w[1], true, false));             // K = 600
      Value read_twice = add(c[3], mul(c[3], sum(c[3])));                        // a reduction reads it
      ScanResult in = scan([](auto d, auto, auto v) -> ScanBodyResult {
        return {{add(d[0], tanh(v[0]))}, {}};
      }, {c[4]}, {}, {x[0]}, {.length = 3});                                     // an inner loop's carry
      return {{elementwise, one_block, two_blocks, read_twice, in.carry[0]}, {sum(c[3])}};
    }, {in[0], in[1], in[2], in[6], in[0]}, {in[3]}, {in[4], in[5]});
    std::vector<Value> out = r.carry;
    out.push_back(r.ys[0]);
    return out;
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = random_inputs(f, 7);
  in[6] = Tensor::from_doubles(DType::f64, {6}, std::vector<double>(6, 1e-3));
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(1), {0, 1e-13}), "");
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::split_everything(2), {0, 1e-13}), "");
}

// A carry updated in place needs no scratch buffer; one read by a reduction
// too needs one (the next value is written while the old one is still read).
TEST(LoopCheckpoint, AnAccumulatorNeedsNoScratch) {
  auto workspace = [](bool reduced) {
    Module m = test::make_function({f64({1000}), f64({50, 1000})}, [&](std::vector<Value>& in) {
      ScanResult r = scan([&](auto c, auto x, auto) -> ScanBodyResult {
        return {{add(c[0], reduced ? mul(x[0], sum(c[0])) : tanh(x[0]))}, {}};
      }, {in[0]}, {in[1]}, {});
      return r.carry;
    });
    return compile(*m.find("f"), test::test_options(1)).workspace_bytes();
  };
  EXPECT_LT(workspace(false), 1000 * 8);
  EXPECT_GE(workspace(true), 1000 * 8);
}

TEST(LoopCheckpoint, TooManyLevelsAreAnError) {
  Module m;
  Function& f = m.function("f");
  Value c = f.input("c", f32({3}));
  try {
    scan([](auto c, auto, auto) -> ScanBodyResult { return {{c[0]}, {}}; }, {c}, {}, {},
         {.length = 4, .checkpoint = -9});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "scan: checkpoint = -9 is neither -1 (sqrt) to -8 (levels), 0 (all) nor a step count");
  }
}

}  // namespace
}  // namespace nabla
