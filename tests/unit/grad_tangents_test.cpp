// build-grad's forward mode through long elementwise regions
// (passes/tangents.h): every differentiable elementwise op in one region, a
// target used in several slots, two exits, and ops whose derivative is zero.
// The gradient equals the reverse sweep's, agrees with central differences
// (first and second derivatives), and compiles to the interpreter's results.
// The structure of the expansion is checked in tests/lit/grad/forward-elementwise.nabla.
#include "grad_util.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// z = sum(a20) + sum(a9): about thirty elementwise nodes of x's type between x and
// the two sums, every differentiable unary and binary op among them.
Value region_cost(Value x) {
  Function& f = *x->function();
  auto c = [&](double v) { return constant(f, v, x->dtype()); };
  Value a1 = mul(x, c(0.7));
  Value a2 = tanh(a1);
  Value a3 = mul(a2, x);             // x in a second slot
  Value a4 = exp(a3);                // positive from here to a12
  Value a5 = log(a4);
  Value a6 = sqrt(a4);
  Value a7 = add(a5, a6);            // two region operands
  Value a8 = sigmoid(a7);
  Value a9 = div(a8, a4);
  Value a10 = pow(a4, a8);
  Value a11 = rsqrt(a10);
  Value a12 = log1p(a11);
  Value a13 = sub(a12, a9);
  Value a14 = maximum(a13, c(-0.3));
  Value a15 = minimum(a14, x);
  Value a16 = cos(sin(a15));
  Value a17 = abs(add(a16, c(-1.5)));                          // away from the kink
  Value a18 = select(greater(a17, c(0.9)), a17, neg(a17));     // a condition from the region
  Value a19 = relu(add(barrier(a18), c(2.0)));
  Value a20 = mul(a19, add(stop_gradient(a18), add(sign(a19), floor(a19))));  // zero-derivative slots
  return add(sum(a20), sum(a9));                               // a9 is an exit too
}

// The first three nodes the expansion adds after z.
std::vector<const Node*> first_added(Module& m, bool forward, const Node** c07) {
  Function& f = m.add_function(forward ? "forward" : "reverse");
  Value x = f.input("x", f64({5}));
  Value z = region_cost(x);
  f.output(grad(z, {x}, {.forward_elementwise = forward})[0]);
  *c07 = x->users()[0]->operand(1);
  std::vector<const Node*> added;
  for (const Node* n = z->next(); n && added.size() < 3; n = n->next()) added.push_back(n);
  return added;
}

TEST(GradTangents, TheRegionIsDifferentiatedForward) {
  // Forward: the seed dx/dx = 1, then a1's rule, mul by 0.7, on it.
  Module m;
  const Node* c07 = nullptr;
  std::vector<const Node*> fwd = first_added(m, true, &c07);
  ASSERT_EQ(fwd.size(), 3u);
  EXPECT_EQ(fwd[0]->op(), Op::Constant);
  EXPECT_EQ(fwd[1]->op(), Op::BroadcastTo);
  EXPECT_EQ(fwd[2]->op(), Op::Mul);
  EXPECT_EQ(fwd[2]->operand(0), fwd[1]);
  EXPECT_EQ(fwd[2]->operand(1), c07);
  // Reverse: the sweep starts at z, so no rule of a1 comes first.
  std::vector<const Node*> rev = first_added(m, false, &c07);
  ASSERT_EQ(rev.size(), 3u);
  EXPECT_FALSE(rev[2]->op() == Op::Mul && rev[2]->operand(1) == c07);
}

TEST(GradTangents, EqualsTheReverseSweep) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({5}));
  Value z = region_cost(x);
  f.output(grad(z, {x}, {.forward_elementwise = true})[0]);
  f.output(grad(z, {x}, {.forward_elementwise = false})[0]);
  std::vector<Tensor> out = run(f, kink_free_inputs(f, 7));
  expect_close(values(out[0]), values(out[1]), 1e-13);
}

TEST(GradTangents, FirstAndSecondDerivativesMatchFiniteDifferences) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f32({5}));
  Value z = region_cost(x);
  Value g = grad_op(z, x);
  f.output(g);
  f.output(grad_op(sum(mul(g, g)), x));
  for (uint64_t seed : {1, 2, 3}) expect_grads_match(f, kink_free_inputs(f, seed));
}

TEST(GradTangents, CompiledGradientEqualsTheInterpreters) {
  test::DiffBatch batch;
  Value x = batch.input(f32({1000}));
  batch.result(grad_op(region_cost(x), x), "forward-mode gradient");
  batch.check(5, test::test_options(1), {});
  batch.check(6, test::test_options(2), {});
}

}  // namespace
}  // namespace nabla
