// The body depth limit (ir/limits.h) in the walks past the text ones
// (tests/unit/text_limits_test.cpp): the passes and the lowering. Loops nest
// (a scan inside a scan's body), so modules built with the C++ API can be as
// deep as a user makes them: at the limit they compile, run and differentiate;
// one level beyond, each walk stops with its error instead of recursing on.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/sparsity.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::error_of;

// A scan of one step over the carry `init`, with `body`: built by hand
// (Node::set_body, past make_loop's verification of the body, which refuses
// what goes beyond the limit).
Node* scan_once(Function& f, Node* init, std::shared_ptr<const Function> body) {
  Attrs a;
  a.length = 1;
  a.num_carry = 1;
  Node* n = f.create(Op::Scan, {init}, a, init->type());
  n->set_body(std::move(body), 0);
  return n;
}

// @f(%a: f32[2]) -> (f32[2]) with `levels` bodies nested: each level a scan of
// one step whose body holds the next level's scan; the innermost body negates
// its carry, so @f(a) = -a.
std::unique_ptr<Module> nested_scans(int levels) {
  std::shared_ptr<const Function> inner;
  for (int k = levels; k >= 1; --k) {
    auto body = std::make_shared<Function>("scan.body");
    Value c = body->input("c", f32({2}));
    body->output(inner ? Value(scan_once(*body, c.node, inner)) : neg(c));
    inner = body;
  }
  auto m = std::make_unique<Module>();
  Function& f = m->add_function("f");
  Value a = f.input("a", f32({2}));
  f.output(scan_once(f, a.node, inner));
  return m;
}

Tensor input() {
  std::vector<double> values = {1.5, -2};
  return Tensor::from_doubles(DType::f32, {2}, values);
}

// The lowering alone: no pass runs before it.
CompileOptions no_passes() {
  CompileOptions o;
  o.pipeline = "";
  o.fuse = false;
  o.fuse_matmul = false;
  return o;
}

TEST(Limits, LoweringWorksAtTheLimit) {
  std::unique_ptr<Module> m = nested_scans(kMaxBodyDepth);
  verify(*m);
  Tensor a = input();
  for (const CompileOptions& o : {no_passes(), CompileOptions()}) {
    std::vector<Tensor> y = compile(*m->find("f"), o).run({&a, 1});
    EXPECT_EQ(y[0].get(0), -1.5);
    EXPECT_EQ(y[0].get(1), 2);
  }
}

TEST(Limits, LoweringStopsOneLevelBeyondTheLimit) {
  std::unique_ptr<Module> m = nested_scans(kMaxBodyDepth + 1);
  EXPECT_EQ(error_of([&] { compile(*m->find("f"), no_passes()); }),
            "lower: bodies are nested deeper than 64 levels");
}

TEST(Limits, PassesWorkAtTheLimit) {
  std::unique_ptr<Module> m = nested_scans(kMaxBodyDepth);
  Function& f = *m->find("f");
  Value y = f.results()[0];
  Value s = sum(y * y);
  std::vector<Value> g = grad(s, {f.inputs()[0]});  // 2 y dy/da = 2 a
  f.output(g[0]);
  run_default_pipeline(*m);
  Tensor a = input();
  std::vector<Tensor> out = interpret(f, {&a, 1});
  EXPECT_EQ(out[0].get(0), -1.5);
  EXPECT_EQ(out[1].get(0), 3);
  EXPECT_EQ(out[1].get(1), -4);
  EXPECT_EQ(jacobian_pattern(f.results()[0], f.inputs()[0]).nnz(), 2);
}

TEST(Limits, PassesStopOneLevelBeyondTheLimit) {
  std::unique_ptr<Module> m = nested_scans(kMaxBodyDepth + 1);
  Function& f = *m->find("f");
  Value y = f.results()[0];
  EXPECT_EQ(error_of([&] { verify(*m); }),
            "function @f, node `%0 = scan %a {length = 1, num_carry = 1} : f32[2]`: bodies are nested deeper than 64 levels");
  EXPECT_EQ(error_of([&] { run_default_pipeline(*m); }), "loop: bodies are nested deeper than 64 levels");
  // Differentiating and the sparsity propagation build or walk bodies of
  // their own; whichever walk meets the 65th level names itself first.
  for (const std::string& e : {error_of([&] { grad(sum(y), {f.inputs()[0]}); }),
                               error_of([&] { jacobian_pattern(y, f.inputs()[0]); })})
    EXPECT_TRUE(e.ends_with(": bodies are nested deeper than 64 levels")) << e;
}

}  // namespace
}  // namespace nabla
