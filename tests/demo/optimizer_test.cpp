// The demos' update rules (examples/common/optimizer.h), compiled into a step
// on a tiny problem: loss = 0.5 * sum(w * w), so that the gradient is w, from
// w = [1, -2]; two steps against the updates computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "examples/common/optimizer.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"
#include "tests/support/error_testing.h"

namespace nabla::demo {
namespace {

// Runs `steps` steps of the rule from w = [1, -2]; returns w after each, then
// the state after the last.
std::vector<std::vector<float>> run(const OptimizerOptions& o, double lr, int steps, std::vector<std::string>* names) {
  Module m;
  Function& f = m.function("step");
  Value w = f.input("w", f32({2}));
  Value loss = 0.5 * sum(w * w);
  UpdateRule rule = build_update(f, o, {w}, grad(loss, {w}));
  f.output(rule.new_params[0]);
  for (Value s : rule.new_state) f.output(s);
  *names = rule.state_names;
  Executable step = compile(m, "step");
  Tensor weights(DType::f32, {2});
  weights.data_as<float>()[0] = 1, weights.data_as<float>()[1] = -2;
  std::vector<Tensor> state(rule.state.size(), Tensor(DType::f32, {2}));
  for (Tensor& s : state) s = Tensor(DType::f32, {2});
  std::vector<std::vector<float>> seen;
  for (int t = 1; t <= steps; ++t) {
    std::vector<Tensor> in = {weights, Tensor::scalar(DType::f32, lr)};
    if (rule.t.node) in.push_back(Tensor::scalar(DType::f32, t));
    in.insert(in.end(), state.begin(), state.end());
    std::vector<Tensor> out = {Tensor(DType::f32, {2})};
    for (size_t i = 0; i < state.size(); ++i) out.emplace_back(DType::f32, Shape{2});
    step.run(in, out);
    weights = out[0];
    for (size_t i = 0; i < state.size(); ++i) state[i] = out[i + 1];
    seen.push_back({weights.data_as<float>()[0], weights.data_as<float>()[1]});
  }
  for (const Tensor& s : state) seen.push_back({s.data_as<float>()[0], s.data_as<float>()[1]});
  return seen;
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6 * (1 + std::abs(want[i]))) << i;
}

TEST(DemoOptimizer, Sgd) {
  std::vector<std::string> names;
  auto seen = run({}, 0.1, 2, &names);
  EXPECT_TRUE(names.empty());
  expect_near(seen[0], {0.9, -1.8});    // w - 0.1 w
  expect_near(seen[1], {0.81, -1.62});
}

// v1 = g0 = [1, -2], w1 = w0 - 0.1 v1 = [0.9, -1.8];
// v2 = 0.9 v1 + g1 = [0.9 + 0.9, -1.8 - 1.8] = [1.8, -3.6], w2 = w1 - 0.1 v2 = [0.72, -1.44].
TEST(DemoOptimizer, Momentum) {
  std::vector<std::string> names;
  auto seen = run({.kind = OptimizerKind::momentum}, 0.1, 2, &names);
  EXPECT_EQ(names, (std::vector<std::string>{"w_v"}));
  std::vector<std::vector<double>> want = {{0.9, -1.8}, {0.72, -1.44}, {1.8, -3.6}};
  ASSERT_EQ(seen.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) expect_near(seen[i], want[i]);
}

// Step 1: m1 = 0.1 g0 = [0.1, -0.2], v1 = 0.001 g0^2 = [0.001, 0.004]; the
// corrected moments are g0 and g0^2, so w1 = w0 - 0.1 sign(g0) = [0.9, -1.9]
// (up to eps). Step 2: g1 = w1; m2 = 0.9 m1 + 0.1 g1 = [0.18, -0.37];
// v2 = 0.999 v1 + 0.001 g1^2 = [0.001809, 0.007606];
// w2 = w1 - 0.1 (m2 / 0.19) / (sqrt(v2 / 0.001999) + 1e-8)
//    = [0.9 - 0.1 * 0.947368 / 0.951290, -1.9 + 0.1 * 1.947368 / 1.950616] = [0.800412, -1.800166].
TEST(DemoOptimizer, Adam) {
  std::vector<std::string> names;
  auto seen = run({.kind = OptimizerKind::adam}, 0.1, 2, &names);
  EXPECT_EQ(names, (std::vector<std::string>{"w_m", "w_v"}));
  std::vector<std::vector<double>> want = {{0.9, -1.9}, {0.8004122, -1.8001665}, {0.18, -0.37}, {0.001809, 0.007606}};
  ASSERT_EQ(seen.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) expect_near(seen[i], want[i]);
}

TEST(DemoOptimizer, Names) {
  EXPECT_EQ(optimizer_kind("adam"), OptimizerKind::adam);
  EXPECT_EQ(test::error_of([] { optimizer_kind("rmsprop"); }), "unknown optimizer 'rmsprop' (sgd, momentum or adam)");
}

}  // namespace
}  // namespace nabla::demo
