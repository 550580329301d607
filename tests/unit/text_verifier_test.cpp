// The verifier: every invariant it checks, broken one at a time through the
// API, with its exact message.
#include <gtest/gtest.h>

#include <functional>

#include "nabla/ir/builder.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/verifier.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::string verify_error(const Function& f) {
  return test::error_of([&] { verify(f); });
}

TEST(TextVerifier, AcceptsBuiltAndParsedModules) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({2, 3}));
  Value w = f.input("w", f32({3}));
  Value loss = sum(relu(x * w));
  f.output(loss);
  f.output(grad_op(loss, w));
  EXPECT_NO_THROW(verify(m));
  EXPECT_NO_THROW(verify(parse("func @g(%a: f32[]) -> (f32[]) {\n  return %a\n}\n", "g.nabla")));
}

TEST(TextVerifier, RecordedTypeMustMatchInference) {
  Module m = parse(
      "func @f(%a: f32[4]) -> (f32[4]) {\n"
      "  %c = neg %a\n"
      "  return %c\n"
      "}\n",
      "t.nabla");
  Function& f = *m.find("f");
  f.front()->set_type(f32({3}));
  EXPECT_EQ(verify_error(f),
            "t.nabla:2:3: error: function @f, node `%c = neg %a : f32[3]`: recorded type f32[3] "
            "does not match inferred type f32[4]");
  try {
    verify(m);
    FAIL() << "no error";
  } catch (const Error&) {
  }
}

TEST(TextVerifier, InferenceErrorsNameTheNode) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({4}));
  Value b = f.input("b", f32({3}));
  Node* n = f.create(Op::Add, {a, b}, {}, f32({4}));
  f.output(n);
  EXPECT_EQ(verify_error(f),
            "function @f, node `%0 = add %a, %b : f32[4]`: add: cannot broadcast f32[4] with f32[3]");
}

TEST(TextVerifier, AttributesMustBeNormalized) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({2, 3}));
  Value s = sum(a, std::vector<int64_t>{0, 1});
  Attrs attrs = s->attrs();
  attrs.axes = {1, 0};
  s->set_attrs(attrs);
  f.output(s);
  EXPECT_EQ(verify_error(f), "function @f, node `%0 = sum %a {axes = [1, 0]} : f32[]`: "
                             "attributes are not normalized");
  attrs.axes = {0, 1};
  attrs.depth = 3;  // not an attribute of sum
  s->set_attrs(attrs);
  EXPECT_EQ(verify_error(f), "function @f, node `%0 = sum %a : f32[]`: attributes are not normalized");
}

TEST(TextVerifier, OperandsAreDefinedBeforeUse) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({2}));
  Value b = neg(a);
  Value c = neg(b);
  f.output(c);
  f.move_before(c, b);
  EXPECT_EQ(verify_error(f),
            "function @f, node `%0 = neg %1 : f32[2]`: operand 0 is used before its definition");
}

TEST(TextVerifier, OperandsBelongToTheFunction) {
  Module m;
  Function& f = m.function("f");
  Function& g = m.function("g");
  Value a = f.input("a", f32({2}));
  Value y = g.input("y", f32({2}));
  f.output(f.create(Op::Add, {a, y}, {}, f32({2})));
  EXPECT_EQ(verify_error(f),
            "function @f, node `%0 = add %a, %? : f32[2]`: operand 1 belongs to function @g");
}

TEST(TextVerifier, ResultsExistAndBelongToTheFunction) {
  Module m;
  Function& f = m.function("f");
  Function& g = m.function("g");
  f.input("a", f32({2}));
  Value y = g.input("y", f32({2}));
  g.output(y);
  EXPECT_EQ(verify_error(f), "function @f: has no results");
  f.output(f.inputs()[0]);
  f.set_result(0, y);
  EXPECT_EQ(verify_error(f), "function @f, node `%y = input : f32[2]`: result 0 is not a value of "
                             "this function");
}

TEST(TextVerifier, NamesAreUnique) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({2}));
  Value b = neg(a);
  b->set_name("a");
  f.output(b);
  EXPECT_EQ(verify_error(f), "function @f, node `%a.1 = neg %a : f32[2]`: duplicate name %a");
  b->set_name("");
  EXPECT_NO_THROW(verify(f));
  Value c = neg(b);
  c->set_name("t");
  Value d = neg(c);
  d->set_name("t");
  EXPECT_EQ(verify_error(f), "function @f, node `%t.1 = neg %t : f32[2]`: duplicate name %t");
}

TEST(TextVerifier, InputsAreNamed) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("", f32({2}));
  f.output(a);
  EXPECT_EQ(verify_error(f), "function @f, node `%0 = input : f32[2]`: input 0 has no name");
}

TEST(TextVerifier, ModuleChecksEveryFunction) {
  Module m;
  Function& f = m.function("f");
  f.output(f.input("a", f32()));
  m.function("empty");
  try {
    verify(m);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "function @empty: has no results");
  }
}

// The fused nodes of one body of several results (a sibling group) stand
// together, in result order, over the same operands.
TEST(TextVerifier, FusedGroupsStayWhole) {
  const char* text =
      "func @f(%a: f32[4], %b: f32[4]) -> (f32[4], f32[4], f32[4]) {\n"
      "  %y, %z = fused %a (%x: f32[4]) {\n"
      "    %n = neg %x : f32[4]\n"
      "    %m = abs %x : f32[4]\n"
      "    return %n, %m\n"
      "  }\n"
      "  %w = relu %a : f32[4]\n"
      "  return %y, %z, %w\n"
      "}\n";
  // The verifier's message once `broken` has changed a fresh parse of text.
  auto error_after = [&](const std::function<void(Function&, const std::vector<Node*>&)>& broken) {
    Module m = parse(text, "t.nabla");
    Function& f = *m.find("f");
    EXPECT_NO_THROW(verify(f));
    broken(f, f.nodes());
    return verify_error(f);
  };
  EXPECT_EQ(error_after([](Function& f, const std::vector<Node*>& n) { f.move_before(n[2], n[1]); }),
            "t.nabla:2:3: error: function @f, node `%y = fused %a : f32[4]`: fused result 0 is not followed "
            "by result 1 of the same body");  // %w between %y and %z
  EXPECT_EQ(error_after([](Function& f, const std::vector<Node*>& n) { n[1]->set_operand(0, f.inputs()[1]); }),
            "t.nabla:2:7: error: function @f, node `%z = fused %b : f32[4]`: the fused nodes of one body have "
            "different operands");
  EXPECT_EQ(error_after([](Function&, const std::vector<Node*>& n) { n[0]->set_body(n[0]->shared_body(), 2); }),
            "t.nabla:2:3: error: function @f, node `%y = fused %a : f32[4]`: body result 2 is out of range: the "
            "body has 2 result(s)");
}

}  // namespace
}  // namespace nabla
