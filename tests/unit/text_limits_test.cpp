// The limits of ir/limits.h: bodies nested at the limit work, one level
// beyond gets a clear error from every walk (parser, verifier, printer,
// interpreter), and a deep nesting never reaches the stack's end. Function
// look-up by name takes constant time, so large modules parse in linear time.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// `levels` fused regions, each inside the previous one's body, the innermost
// negating its input. Line 1 + k holds the fused of level k (not indented:
// the op is at column 6).
std::string nested_fused_text(int levels) {
  std::string s = "func @f(%a: f32[2]) -> (f32[2]) {\n%r = fused %a : f32[2] (%x: f32[2]) {\n";
  for (int k = 2; k <= levels; ++k) s += "%r = fused %x : f32[2] (%x: f32[2]) {\n";
  s += "%y = neg %x\nreturn %y\n";
  for (int k = levels; k >= 1; --k) s += "}\nreturn %r\n";
  return s + "}\n";
}

std::string parse_error(const std::string& text) {
  return test::error_of<ParseError>([&] { parse(text, "deep.nabla"); });
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(Limits, ParserAcceptsBodiesNestedToTheLimit) {
  // Nesting is read to the limit; what stops this input is that fused
  // regions do not nest (reported at level 63, whose body holds level 64).
  int k = kMaxBodyDepth - 1;
  EXPECT_EQ(first_line(parse_error(nested_fused_text(kMaxBodyDepth))),
            fmt::format("deep.nabla:{}:6: error: fused: fused regions do not nest", k + 1));
  EXPECT_EQ(parse_error(nested_fused_text(1)), "(no error)");
}

TEST(Limits, ParserRejectsBodiesNestedBeyondTheLimit) {
  int k = kMaxBodyDepth + 1;
  std::string expected =
      fmt::format("deep.nabla:{}:6: error: bodies are nested deeper than 64 levels", k + 1);
  EXPECT_EQ(first_line(parse_error(nested_fused_text(k))), expected);
  // The fuzzer's inputs: 3,000 levels overflowed the stack under ASan, and
  // 20,000 a release build's.
  EXPECT_EQ(first_line(parse_error(nested_fused_text(3000))), expected);
  EXPECT_EQ(first_line(parse_error(nested_fused_text(20000))), expected);
}

// Builds by hand (Node::set_body, past make_fused's checks) what the parser
// refuses: @f(%a) = fused(fused(...(neg %a))) with `levels` bodies.
std::unique_ptr<Module> nested_fused_module(int levels) {
  auto m = std::make_unique<Module>();
  std::shared_ptr<Function> inner;
  for (int k = levels; k >= 1; --k) {
    auto body = std::make_shared<Function>("fused");
    Value x = body->input("x", f32({2}));
    Node* r = inner ? body->create(Op::Fused, {x}, {}, f32({2})) : body->make(Op::Neg, {x}).node;
    if (inner) r->set_body(inner);
    body->output(r);
    inner = body;
  }
  Function& f = m->add_function("f");
  Value a = f.input("a", f32({2}));
  Node* r = f.create(Op::Fused, {a}, {}, f32({2}));
  r->set_body(inner);
  f.output(r);
  return m;
}

std::string error_of(const std::function<void()>& walk) { return first_line(test::error_of(walk)); }

TEST(Limits, WalksWorkAtTheLimit) {
  std::unique_ptr<Module> m = nested_fused_module(kMaxBodyDepth);
  const Function& f = *m->find("f");
  EXPECT_EQ(error_of([&] { verify(*m); }),
            "function @f, node `%0 = fused %a : f32[2]`: fused: fused regions do not nest");
  std::string text = print(f);
  EXPECT_EQ(text.find("return %0\n}\n"), text.size() - 12) << text;
  EXPECT_EQ(first_line(parse_error(text)).find("fused regions do not nest") != std::string::npos, true);
  std::vector<double> values = {1.5, -2};
  Tensor a = Tensor::from_doubles(DType::f32, {2}, values);
  std::vector<Tensor> y = interpret(f, {&a, 1});
  EXPECT_EQ(y[0].get(0), -1.5);
  EXPECT_EQ(y[0].get(1), 2);
}

TEST(Limits, WalksStopOneLevelBeyondTheLimit) {
  std::unique_ptr<Module> m = nested_fused_module(kMaxBodyDepth + 1);
  const Function& f = *m->find("f");
  EXPECT_EQ(error_of([&] { verify(*m); }),
            "function @f, node `%0 = fused %a : f32[2]`: bodies are nested deeper than 64 levels");
  EXPECT_EQ(error_of([&] { print(f); }), "print: bodies are nested deeper than 64 levels");
  std::vector<double> values = {1.5, -2};
  Tensor a = Tensor::from_doubles(DType::f32, {2}, values);
  EXPECT_EQ(error_of([&] { interpret(f, {&a, 1}); }), "fused: bodies are nested deeper than 64 levels");
}

TEST(Limits, ACycleOfBodiesEndsWithTheSameError) {
  // A body whose fused node has that body again: endless nesting.
  auto body = std::make_shared<Function>("fused");
  Value x = body->input("x", f32({2}));
  Node* r = body->create(Op::Fused, {x}, {}, f32({2}));
  r->set_body(body);
  body->output(r);
  Module m;
  Function& f = m.add_function("f");
  Value a = f.input("a", f32({2}));
  Node* n = f.create(Op::Fused, {a}, {}, f32({2}));
  n->set_body(body);
  f.output(n);
  EXPECT_EQ(error_of([&] { verify(m); }),
            "function @f, node `%0 = fused %a : f32[2]`: bodies are nested deeper than 64 levels");
  EXPECT_EQ(error_of([&] { print(f); }), "print: bodies are nested deeper than 64 levels");
  std::vector<double> values = {1, 2};
  Tensor t = Tensor::from_doubles(DType::f32, {2}, values);
  EXPECT_EQ(error_of([&] { interpret(f, {&t, 1}); }), "fused: bodies are nested deeper than 64 levels");
  r->set_body(nullptr);  // breaks the cycle, so that the body is freed
}

TEST(Limits, ManyFunctionsParse) {
  // Function look-up by name is a hash table, so 100,000 functions parse in
  // linear time (a linear look-up took 35 s); the time itself is measured by
  // bench/compile_bench (tests assert no time: docs/performance.md).
  constexpr int kFunctions = 100000;
  std::string text;
  for (int i = 0; i < kFunctions; ++i) text += fmt::format("func @f{}(%a: f32[]) -> f32[] {{ return %a }}\n", i);
  Module m = parse(text, "many.nabla");
  ASSERT_EQ(m.functions().size(), size_t{kFunctions});
  EXPECT_EQ(m.find("f99999"), m.functions().back());
  EXPECT_EQ(m.find("f100000"), nullptr);
  // Redefinition is still found at once.
  EXPECT_EQ(first_line(parse_error(text + "func @f5(%a: f32[]) -> f32[] { return %a }\n")),
            fmt::format("deep.nabla:{}:6: error: redefinition of function @f5", kFunctions + 1));
}

TEST(Limits, ModuleFindFollowsAddAndRemove) {
  Module m;
  Function& a = m.add_function("a");
  m.add_function("b");
  EXPECT_EQ(m.find("a"), &a);
  m.remove("a");
  EXPECT_EQ(m.find("a"), nullptr);
  EXPECT_NE(m.find("b"), nullptr);
  Module moved = std::move(m);
  EXPECT_EQ(moved.find("b"), moved.functions()[0]);
  Function* a2 = &moved.function("a");
  EXPECT_EQ(moved.find("a"), a2);
  EXPECT_EQ(moved.functions().size(), 2u);
}

}  // namespace
}  // namespace nabla
