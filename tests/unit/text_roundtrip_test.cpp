// Every op of ir/ops.def built with the C++ API, printed, parsed, printed
// again: the two texts must be identical byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "nabla/ir/builder.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

void expect_round_trip(const Module& m) {
  std::string first = print(m);
  Module parsed = parse(first, "first.nabla");
  verify(parsed);
  std::string second = print(parsed);
  EXPECT_EQ(first, second);
}

TEST(TextRoundTrip, EveryOp) {
  Module m;
  test::build_every_op(m);
  std::set<Op> seen;
  Function& f = *m.find("every_op");
  for (Node* n : f) seen.insert(n->op());
  for (Node* n : f.inputs()) seen.insert(n->op());
  for (int i = 0; i < kNumOps; ++i)
    EXPECT_TRUE(seen.count(static_cast<Op>(i))) << "no round-trip case for " << op_name(static_cast<Op>(i));
  expect_round_trip(m);
}

TEST(TextRoundTrip, ConstantsKeepTheirBits) {
  Module m;
  test::build_every_op(m);
  Module parsed = parse(print(m), "x.nabla");
  std::vector<Node*> a = m.find("every_op")->nodes(), b = parsed.find("every_op")->nodes();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->op() != Op::Constant) continue;
    const Tensor &ta = a[i]->attrs().value, &tb = b[i]->attrs().value;
    bool has_nan = false;
    for (int64_t k = 0; k < ta.numel(); ++k) has_nan |= std::isnan(ta.get(k));
    if (!has_nan) {
      EXPECT_TRUE(ta.same_as(tb)) << print_node(*a[i]) << " vs " << print_node(*b[i]);
    }
  }
}

TEST(TextRoundTrip, NamesAreKeptAndMadeUnique) {
  Module m;
  Function& f = m.function("names");
  Value x = f.input("x", f32({2}));
  Value a = neg(x);
  a->set_name("h");
  Value b = neg(a);
  b->set_name("h");
  Value c = neg(b);
  c->set_name("h.1");
  Value d = neg(c);
  d->set_name("7");
  Value e = neg(d);
  e->set_name("a b");
  f.output(add(e, x));
  std::string text = print(m);
  EXPECT_EQ(text,
            "func @names(%x: f32[2]) -> (f32[2]) {\n"
            "  %h = neg %x : f32[2]\n"
            "  %h.2 = neg %h : f32[2]\n"
            "  %h.1 = neg %h.2 : f32[2]\n"
            "  %0 = neg %h.1 : f32[2]\n"
            "  %a_b = neg %0 : f32[2]\n"
            "  %1 = add %a_b, %x : f32[2]\n"
            "  return %1\n"
            "}\n");
  expect_round_trip(m);
}

TEST(TextRoundTrip, SeveralFunctionsAndResults) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({3}));
  f.output(x);
  f.output(exp(x));
  Function& g = m.function("g");
  Value w = g.input("w", f64({2, 2}));
  Value z = sum(w * w);
  Value g1 = grad_op(z, w);
  g.output(g1);
  expect_round_trip(m);
  EXPECT_NE(print(m).find("func @g(%w: f64[2,2]) -> (f64[2,2])"), std::string::npos);
}

}  // namespace
}  // namespace nabla
