// nabla::grad and the build-grad pass: targets of every kind, the errors with
// their exact messages, grouping of grad nodes, and grad of grad.
#include "grad_util.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/registry.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

struct Fixture {
  Module m;
  Function& f = m.add_function("f");
};

TEST(GradApi, GradientOfZWithRespectToItselfIsOne) {
  Fixture t;
  Value x = t.f.input("x", f32());
  Value z = exp(x);
  t.f.output(grad(z, {z})[0]);
  EXPECT_EQ(values(run(t.f, {Tensor::scalar(DType::f32, 3)})[0]), std::vector<double>{1});
}

// A target may be an intermediate value: its gradient holds the rest of the
// graph fixed (here d/du sum(u * u) = 2u, u = exp(x)).
TEST(GradApi, IntermediateTargets) {
  Fixture t;
  Value x = t.f.input("x", f64({2}));
  Value u = exp(x);
  Value z = sum(mul(u, u));
  std::vector<Value> g = grad(z, {u, x});
  t.f.output(g[0]);
  t.f.output(g[1]);
  Tensor xv = Tensor::from_doubles(DType::f64, {2}, std::vector<double>{0.5, -1});
  std::vector<Tensor> out = run(t.f, {xv});
  expect_close(values(out[0]), {2 * std::exp(0.5), 2 * std::exp(-1.0)}, 1e-15);
  expect_close(values(out[1]), {2 * std::exp(1.0), 2 * std::exp(-2.0)}, 1e-15);
}

TEST(GradApi, RepeatedTargetsGetTheSameGradient) {
  Fixture t;
  Value x = t.f.input("x", f32({3}));
  std::vector<Value> g = grad(sum(sin(x)), {x, x});
  EXPECT_EQ(g[0].node, g[1].node);
}

TEST(GradApi, GradientsHaveTheTargetsTypes) {
  Fixture t;
  Value a = t.f.input("a", f64({2, 1})), b = t.f.input("b", f64({3})), c = t.f.input("c", f64());
  std::vector<Value> g = grad(sum(mul(mul(a, b), c)), {a, b, c});
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(g[i]->type(), t.f.inputs()[i]->type());
  for (Value v : g) t.f.output(v);
  verify(t.f);
}

TEST(GradApi, StopGradientContributesNothing) {
  Fixture t;
  Value x = t.f.input("x", f64({2}));
  t.f.output(grad(sum(mul(stop_gradient(x), x)), {x})[0]);
  Tensor xv = Tensor::from_doubles(DType::f64, {2}, std::vector<double>{3, -4});
  EXPECT_EQ(values(run(t.f, {xv})[0]), (std::vector<double>{3, -4}));
}

// relu, abs, maximum and select pass the gradient through select, never a
// multiplication by a mask: an infinite gradient on the branch not taken (here
// sqrt'(0) = inf) does not turn into inf * 0 = NaN.
TEST(GradApi, NoNaNLeaksThroughBranches) {
  Fixture t;
  Value x = t.f.input("x", f64({3}));
  Value zero = scalar_like(x, 0.0);
  for (Value inner : {relu(x), abs(x), maximum(zero, x), select(greater(x, zero), x, zero)})
    t.f.output(grad(sum(sqrt(inner)), {x})[0]);
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{-1, 4, 0});
  std::vector<Tensor> out = run(t.f, {xv});
  using V = std::vector<double>;
  EXPECT_EQ(values(out[0]), (V{0, 0.25, 0}));
  EXPECT_EQ(values(out[1]), (V{-0.5, 0.25, 0}));
  EXPECT_EQ(values(out[2]), (V{0, 0.25, 0}));
  EXPECT_EQ(values(out[3]), (V{0, 0.25, 0}));
}

// The choices at kinks (docs/autodiff.md): 0 for relu, abs and sign at 0; a
// tie of maximum/minimum goes to the first operand; tied maxima of a max
// reduction share the gradient equally.
TEST(GradApi, ValuesAtKinks) {
  Fixture t;
  Value x = t.f.input("x", f64({4})), y = t.f.input("y", f64({4}));
  for (Value z : {sum(relu(x)), sum(abs(x)), sum(sign(x)), sum(maximum(x, y)), sum(minimum(x, y)),
                  max(x)})
    for (Value g : grad(z, {x, y}, {.allow_disconnected = true})) t.f.output(g);
  Tensor xv = Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0, 2, 2, -1});
  Tensor yv = Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0, 2, 1, 5});
  std::vector<Tensor> out = run(t.f, {xv, yv});
  using V = std::vector<double>;
  EXPECT_EQ(values(out[0]), (V{0, 1, 1, 0}));     // relu
  EXPECT_EQ(values(out[2]), (V{0, 1, 1, -1}));    // abs
  EXPECT_EQ(values(out[4]), (V{0, 0, 0, 0}));     // sign
  EXPECT_EQ(values(out[6]), (V{1, 1, 1, 0}));     // maximum, x
  EXPECT_EQ(values(out[7]), (V{0, 0, 0, 1}));     // maximum, y
  EXPECT_EQ(values(out[8]), (V{1, 1, 0, 1}));     // minimum, x
  EXPECT_EQ(values(out[9]), (V{0, 0, 1, 0}));     // minimum, y
  EXPECT_EQ(values(out[10]), (V{0, 0.5, 0.5, 0})); // max: two tied maxima
}

TEST(GradApi, Errors) {
  Fixture t;
  Value x = t.f.input("x", f32({4, 3})), labels = t.f.input("labels", i32({4}));
  Value w3 = t.f.input("w3", f32()), flags = t.f.input("flags", boolean({3}));
  Value loss = cross_entropy(x, labels);
  loss->set_name("loss");
  EXPECT_EQ(error_of([&] { grad(loss, {labels}); }),
            "grad: the derivative of %loss with respect to %labels is undefined: %labels is "
            "i32[4], and integer values carry no gradient");
  EXPECT_EQ(error_of([&] { grad(loss, {flags}); }),
            "grad: the derivative of %loss with respect to %flags is undefined: %flags is "
            "bool[3], and bool values carry no gradient");
  EXPECT_EQ(error_of([&] { grad(loss, {x, w3}); }), "grad: %w3 does not influence %loss");
  Value rows = sum(x, std::vector<int64_t>{1});
  EXPECT_EQ(error_of([&] { grad(rows, {x}); }),
            "grad: the differentiated value %0 must be a float scalar, got f32[4]");
  Value count = sum(labels);
  EXPECT_EQ(error_of([&] { grad(count, {x}); }),
            "grad: the differentiated value %1 must be a float scalar, got i32[]");
  Value through_int = sum(cast(cast(x, DType::i32), DType::f32));
  EXPECT_EQ(error_of([&] { grad(through_int, {x}); }),
            "grad: the derivative of %4 with respect to %x is undefined: every path from %x to %4 "
            "passes through an integer or bool value, such as `%2 = cast %x {dtype = i32} : "
            "i32[4,3]`");
  Module other;
  Value y = other.function("g").input("y", f32());
  EXPECT_EQ(error_of([&] { grad(loss, {y}); }), "grad: target %y belongs to function @g, not @f");
  Value pending = grad_op(loss, x);
  Value later = sum(pending);
  EXPECT_EQ(error_of([&] { grad(later, {x}); }),
            "grad: %6 depends on `%5 = grad %loss wrt %x : f32[4,3]`, which is not expanded "
            "yet (run build-grad on it first)");
  t.f.output(loss);
  verify(t.f);  // the failed calls added no node
  EXPECT_EQ(t.f.size(), 8u);
}

TEST(GradApi, AllowDisconnectedGivesZeros) {
  Fixture t;
  Value x = t.f.input("x", f32({2})), w = t.f.input("w", f32({2, 2}));
  Value through_bool = sum(select(greater(w, 0.0), x, x));
  for (Value g : grad(through_bool, {w}, {.allow_disconnected = true})) t.f.output(g);
  for (Value g : grad(sum(x), {w}, {.allow_disconnected = true})) t.f.output(g);
  Tensor xv(DType::f32, {2}), wv(DType::f32, {2, 2});
  for (const Tensor& g : run(t.f, {xv, wv})) EXPECT_EQ(values(g), std::vector<double>(4, 0.0));
}

// The pass: all grads of one z expanded by one sweep, before the first of
// them; results and names carried over; grad of grad in text.
TEST(GradPass, ExpandsTextWithGradOfGrad) {
  Module m = parse(R"(
func @f(%x: f64[3], %v: f64[3]) -> (f64[3], f64[], f64[3]) {
  %e = exp %x
  %loss = sum %e
  %g, %gl = grad %loss wrt %x, %loss
  %gv = mul %g, %v
  %s = sum %gv
  %h = grad %s wrt %x
  return %g, %gl, %h
}
)", "t.nabla");
  Function& f = *m.find("f");
  auto pass = create_pass("build-grad");
  ASSERT_TRUE(pass);
  EXPECT_TRUE(pass->run(f));
  EXPECT_FALSE(pass->run(f));
  verify(f);
  for (Node* n : f) EXPECT_NE(n->op(), Op::Grad);
  EXPECT_EQ(f.results()[0]->name(), "g");
  EXPECT_EQ(f.results()[2]->name(), "h");
  Tensor xv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{0, 1, -1});
  Tensor vv = Tensor::from_doubles(DType::f64, {3}, std::vector<double>{2, 3, 4});
  std::vector<Tensor> out = run(f, {xv, vv});
  expect_close(values(out[0]), {1, std::exp(1.0), std::exp(-1.0)}, 1e-15);
  expect_close(values(out[1]), {1}, 0);
  expect_close(values(out[2]), {2, 3 * std::exp(1.0), 4 * std::exp(-1.0)}, 1e-15);
}

TEST(GradPass, ErrorsNameTheFileAndTheInputsValues) {
  Module m = parse(R"(func @f(%x: f32[3], %w: f32[]) -> (f32[3], f32[]) {
  %0 = exp %x
  %1 = sum %0
  %2 = grad %1 wrt %x
  %3 = sum %2
  %4 = grad %3 wrt %w
  return %2, %4
}
)", "t.nabla");
  // The second grad fails after the first was expanded; the message still
  // uses the names of the input text.
  EXPECT_EQ(error_of([&] { create_pass("build-grad")->run(*m.find("f")); }),
            "t.nabla:6:3: error: grad: %w does not influence %3");
  auto pass = create_pass("build-grad");
  EXPECT_TRUE(pass->set_option("allow-disconnected", "true"));
  EXPECT_FALSE(pass->set_option("fast", "true"));
  EXPECT_EQ(error_of([&] { pass->set_option("allow-disconnected", "maybe"); }),
            "build-grad: option allow-disconnected takes true or false, got 'maybe'");
}

// check_grad catches a broken derivative: here an expansion whose sin rule
// is wrong (every cos the rules made is turned into a sin).
TEST(CheckGrad, CatchesABrokenRule) {
  Fixture t;
  Value x = t.f.input("x", f32({3}));
  t.f.output(grad_op(sum(sin(x)), x));
  t.f.output(grad_op(sum(mul(x, x)), x));
  CheckGradOptions o;
  o.expand = [](Function& f) {
    build_grad(f);
    for (Node* n : f.nodes())
      if (n->op() == Op::Cos) {
        Function& fn = *n->function();
        InsertionGuard guard(fn, n);
        fn.replace_all_uses(n, sin(Value(n->operand(0))));
        fn.erase(n);
      }
  };
  CheckGradReport r = check_grad(t.f, o);
  ASSERT_EQ(r.grads.size(), 2u);
  EXPECT_FALSE(r.ok());
  EXPECT_GT(r.grads[0].worst_error, 0.1);
  EXPECT_LT(r.grads[1].worst_error, 1e-9);
  EXPECT_EQ(r.grads[1].checks, 4 + 3);
  std::ostringstream os;
  print_report(os, r);
  EXPECT_NE(os.str().find("@f: grad %1 wrt %x: worst error "), std::string::npos) << os.str();
  EXPECT_NE(os.str().find(" in 7 checks: FAILED (tolerance 1e-06)\n"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("@f: grad %4 wrt %x: worst error "), std::string::npos) << os.str();
  EXPECT_NE(os.str().find(" in 7 checks: ok\n"), std::string::npos) << os.str();
  // The same function with the real expansion passes.
  EXPECT_TRUE(check_grad(t.f).ok());
}

// Where z is not differentiable (relu at exactly 0) the one-sided differences
// disagree: those comparisons are skipped and counted, not failed. Elsewhere
// the check runs as usual.
TEST(CheckGrad, SkipsKinks) {
  Fixture t;
  Value x = t.f.input("x", f32({2}));
  t.f.output(grad_op(sum(relu(x)), x));
  Tensor xv = Tensor::from_doubles(DType::f32, {2}, std::vector<double>{0, 0.5});
  CheckGradReport r = check_grad(t.f, std::vector<Tensor>{xv});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.grads[0].checks + r.grads[0].skipped, 4 + 2);
  EXPECT_GE(r.grads[0].skipped, 1);  // element 0, and directions across the kink
  EXPECT_GE(r.grads[0].checks, 1);   // element 1
  std::ostringstream os;
  print_report(os, r);
  EXPECT_NE(os.str().find("skipped: not differentiable there): ok\n"), std::string::npos) << os.str();
}

// stop_gradient values stay fixed in the finite differences too, so its zero
// derivative is what the check expects; and z must be finite.
TEST(CheckGrad, StopGradientAndNonFiniteZ) {
  Fixture t;
  Value x = t.f.input("x", f32({2}));
  t.f.output(grad_op(sum(mul(stop_gradient(x), x)), x));
  t.f.output(grad_op(sum(log(x)), x));
  Tensor xv = Tensor::from_doubles(DType::f32, {2}, std::vector<double>{-1, 0.5});
  CheckGradReport r = check_grad(t.f, std::vector<Tensor>{xv});
  EXPECT_LT(r.grads[0].worst_error, 1e-9);
  EXPECT_TRUE(r.grads[0].z_finite);
  EXPECT_FALSE(r.grads[1].z_finite);  // log(-1)
  EXPECT_FALSE(r.ok());
  std::ostringstream os;
  print_report(os, r);
  EXPECT_NE(os.str().find("@f: grad %5 wrt %x: %5 is not finite at these inputs: FAILED\n"),
            std::string::npos)
      << os.str();
}

TEST(CheckGrad, Errors) {
  Fixture t;
  Value x = t.f.input("x", f32({2}));
  t.f.output(exp(x));
  EXPECT_EQ(error_of([&] { check_grad(t.f); }), "check_grad: @f has no grad node");
  EXPECT_EQ(error_of([&] { check_grad(t.f, std::vector<Tensor>{}); }),
            "check_grad: @f takes 1 inputs, got 0");
}

}  // namespace
}  // namespace nabla
