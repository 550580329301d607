#include <gtest/gtest.h>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/passes/dce.h"
#include "nabla/passes/fold.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;

TEST(Fold, ResultIsTheInterpretersValue) {
  Module m;
  Function& f = m.function("f");
  Tensor a = Tensor::from_doubles(DType::f32, {2, 3}, std::vector<double>{0.1, -2, 3.5, 1e-3, 7, -0.0});
  Value c = constant(f, a);
  f.output(softmax(tanh(c) * 3.0 + sum(c, std::vector<int64_t>{0}, true)));
  std::vector<Tensor> expected = interpret(f, {});
  EXPECT_TRUE(fold(f));
  dce(f);
  EXPECT_EQ(f.size(), 1u);
  ASSERT_EQ(f.results()[0]->op(), Op::Constant);
  EXPECT_TRUE(f.results()[0]->attrs().value.same_as(expected[0]));
  EXPECT_FALSE(fold(f));
}

TEST(Fold, SizeBound) {
  Module m;
  Function& f = m.function("f");
  Value col = constant(f, Tensor(DType::f32, {64, 1}));
  Value col65 = constant(f, Tensor(DType::f32, {65, 1}));
  Value row = constant(f, Tensor(DType::f32, {1, 64}));
  f.output(col + row);                     // 4096: folded
  f.output(col65 + row);                   // 4160 > 4096 and > 65: kept
  Value big = constant(f, Tensor(DType::f32, {100, 50}));
  f.output(neg(big));                      // 5000, no larger than its operand: folded
  f.output(broadcast_to(constant(f, 1.0), {2}));  // a broadcast only when no larger: kept
  f.output(broadcast_to(row, {1, 64}));    // folded
  EXPECT_TRUE(fold(f));
  EXPECT_EQ(f.results()[0]->op(), Op::Constant);
  EXPECT_EQ(f.results()[1]->op(), Op::Add);
  EXPECT_EQ(f.results()[2]->op(), Op::Constant);
  EXPECT_EQ(f.results()[3]->op(), Op::BroadcastTo);
  EXPECT_EQ(f.results()[4]->op(), Op::Constant);
  FoldOptions small;
  small.max_elements = 0;
  Module m2;
  Function& g = m2.function("g");
  g.output(neg(constant(g, Tensor(DType::f32, {3}))));
  g.output(constant(g, 1.0) + constant(g, Tensor(DType::f32, {2, 1})) +
           constant(g, Tensor(DType::f32, {1, 2})));
  EXPECT_TRUE(fold(g, small));
  EXPECT_EQ(g.results()[0]->op(), Op::Constant);
  EXPECT_EQ(g.results()[1]->op(), Op::Add);
}

TEST(Fold, LeavesRunTimeErrorsGradAndBarrier) {
  Module m;
  Function& f = m.function("f");
  Value logits = constant(f, Tensor(DType::f32, {1, 2}));
  Value labels = constant(f, Tensor::from_doubles(DType::i32, {1}, std::vector<double>{2}));
  f.output(cross_entropy(logits, labels));
  Value c = constant(f, 2.0);
  f.output(barrier(c));
  f.output(grad_op(c, c));
  EXPECT_FALSE(fold(f));
  EXPECT_EQ(count_ops(f, Op::CrossEntropy), 1);
  EXPECT_EQ(count_ops(f, Op::Barrier), 1);
  EXPECT_EQ(count_ops(f, Op::Grad), 1);
}

TEST(Fold, NameMovesToTheConstant) {
  Module m;
  Function& f = m.function("f");
  Value e = exp(constant(f, 0.0));
  e->set_name("e");
  f.output(e);
  EXPECT_TRUE(fold(f));
  EXPECT_EQ(f.results()[0]->name(), "e");
  EXPECT_EQ(f.results()[0]->attrs().value.get(0), 1.0);
}

}  // namespace
}  // namespace nabla
