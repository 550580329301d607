#include <gtest/gtest.h>

#include "nabla/ir/builder.h"
#include "nabla/passes/dce.h"
#include "nabla/passes/transpose_fold.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;

TEST(TransposeFold, OperandsBecomeFlags) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({3, 2}));
  auto b = f.input("b", f32({4, 3}));
  f.output(matmul(transpose(a), b, false, true));  // a^T b^T: [2,3] x [3,4]
  auto d = f.input("d", f32({5, 4}));
  f.output(matmul(transpose(b), transpose(d)));    // b^T d^T: [3,4] x [4,5]
  EXPECT_TRUE(transpose_fold(f));
  dce(f);
  EXPECT_EQ(count_ops(f, Op::Transpose), 0);
  Node* r0 = f.results()[0];
  EXPECT_EQ(r0->operand(0), a.node);
  EXPECT_TRUE(r0->attrs().transpose_a);
  EXPECT_TRUE(r0->attrs().transpose_b);
  EXPECT_EQ(r0->type(), f32({2, 4}));
  Node* r1 = f.results()[1];
  EXPECT_EQ(r1->operand(0), b.node);
  EXPECT_EQ(r1->operand(1), d.node);
  EXPECT_TRUE(r1->attrs().transpose_a);
  EXPECT_TRUE(r1->attrs().transpose_b);
  EXPECT_EQ(r1->type(), f32({3, 5}));
}

TEST(TransposeFold, FlagsFlipBackToFalse) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({2, 3}));
  auto b = f.input("b", f32({3, 4}));
  f.output(matmul(transpose(a), b, true, false));  // (a^T)^T b = a b
  EXPECT_TRUE(transpose_fold(f));
  Node* r = f.results()[0];
  EXPECT_EQ(r->operand(0), a.node);
  EXPECT_FALSE(r->attrs().transpose_a);
  EXPECT_EQ(r->type(), f32({2, 4}));
}

TEST(TransposeFold, BatchedSwapOfTheLastTwoAxesOnly) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({5, 3, 2}));
  auto b = f.input("b", f32({5, 3, 4}));
  auto c = f.input("c", f32({3, 5, 2}));
  f.output(matmul(transpose(a, {0, 2, 1}), b));     // folded
  f.output(matmul(transpose(c, {1, 2, 0}), b));  // perm moves the batch axis: kept
  EXPECT_TRUE(transpose_fold(f));
  Node* r0 = f.results()[0];
  EXPECT_EQ(r0->operand(0), a.node);
  EXPECT_TRUE(r0->attrs().transpose_a);
  Node* r1 = f.results()[1];
  EXPECT_EQ(r1->operand(0)->op(), Op::Transpose);
  EXPECT_FALSE(transpose_fold(f));
}

TEST(TransposeFold, TransposeOfAMatmulSwapsTheOperands) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({2, 3}));
  auto b = f.input("b", f32({3, 4}));
  f.output(transpose(matmul(a, b)));  // (ab)^T = b^T a^T
  EXPECT_TRUE(transpose_fold(f));
  dce(f);
  EXPECT_EQ(count_ops(f, Op::Transpose), 0);
  Node* r = f.results()[0];
  ASSERT_EQ(r->op(), Op::MatMul);
  EXPECT_EQ(r->operand(0), b.node);
  EXPECT_EQ(r->operand(1), a.node);
  EXPECT_TRUE(r->attrs().transpose_a);
  EXPECT_TRUE(r->attrs().transpose_b);
  EXPECT_EQ(r->type(), f32({4, 2}));
}

TEST(TransposeFold, SharedMatmulIsNotDuplicated) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({2, 3}));
  auto b = f.input("b", f32({3, 4}));
  auto p = matmul(a, b);
  f.output(transpose(p));
  f.output(p);
  EXPECT_FALSE(transpose_fold(f));
  EXPECT_EQ(count_ops(f, Op::MatMul), 1);
}

}  // namespace
}  // namespace nabla
