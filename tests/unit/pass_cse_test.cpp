#include <gtest/gtest.h>

#include <limits>

#include "nabla/ir/builder.h"
#include "nabla/passes/cse.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;

TEST(Cse, MergesEqualNodesAndTheirUsers) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto y = f.input("y", f32({3}));
  auto a = exp(x) + y;
  auto b = exp(x) + y;
  f.output(a * b);
  EXPECT_TRUE(cse(f));
  EXPECT_EQ(count_ops(f, Op::Exp), 1);
  EXPECT_EQ(count_ops(f, Op::Add), 1);
  Node* mul = f.results()[0];
  EXPECT_EQ(mul->operand(0), mul->operand(1));
  EXPECT_FALSE(cse(f)) << "cse is idempotent";
}

TEST(Cse, CommutativeOperandsInEitherOrder) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto y = f.input("y", f32({3}));
  f.output(x + y);
  f.output(y + x);
  f.output(maximum(x, y));
  f.output(maximum(y, x));
  f.output(equal(x, y));
  f.output(equal(y, x));
  EXPECT_TRUE(cse(f));
  EXPECT_EQ(f.size(), 3u);
  EXPECT_EQ(f.results()[0], f.results()[1]);
  EXPECT_EQ(f.results()[2], f.results()[3]);
  EXPECT_EQ(f.results()[4], f.results()[5]);
}

TEST(Cse, KeepsNonCommutativeSwapsAndDifferentAttributes) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({2, 3}));
  auto y = f.input("y", f32({2, 3}));
  f.output(x - y);
  f.output(y - x);
  f.output(less(x, y));
  f.output(less(y, x));
  f.output(sum(x, std::vector<int64_t>{0}));
  f.output(sum(x, std::vector<int64_t>{1}));
  f.output(sum(x, std::vector<int64_t>{1}, true));
  f.output(cast(x, DType::f64));
  f.output(cast(x, DType::i32));
  EXPECT_FALSE(cse(f));
  EXPECT_EQ(f.size(), 9u);
}

TEST(Cse, NormalizedAttributesCompareEqual) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({2, 3}));
  f.output(sum(x, std::vector<int64_t>{-1}));
  f.output(sum(x, std::vector<int64_t>{1}));
  f.output(sum(x));
  f.output(sum(x, std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(cse(f));
  EXPECT_EQ(f.size(), 2u);
}

TEST(Cse, ConstantsComparedBitwise) {
  Module m;
  Function& f = m.function("f");
  double nan = std::numeric_limits<double>::quiet_NaN();
  f.output(constant(f, 0.0));
  f.output(constant(f, -0.0));
  f.output(constant(f, 0.0));
  f.output(constant(f, nan));
  f.output(constant(f, nan));
  f.output(constant(f, 0.0, DType::f64));
  f.output(constant(f, Tensor::from_doubles(DType::f32, {2}, std::vector<double>{0, 0})));
  EXPECT_TRUE(cse(f));
  // +0 twice merged, NaN twice merged (same bits); -0, f64 and the [2] tensor stay.
  EXPECT_EQ(f.size(), 5u);
  EXPECT_EQ(f.results()[0], f.results()[2]);
  EXPECT_NE(f.results()[0], f.results()[1]);
  EXPECT_EQ(f.results()[3], f.results()[4]);
}

// Constants past 1 MiB are hashed from a sample of their words; equality
// still reads every byte: two 2 MiB constants that differ only in a word the
// sample skips (word 1; the sample reads every 4th) stay apart, equal ones merge.
TEST(Cse, LargeConstantsHashedBySampleComparedWhole) {
  Module m;
  Function& f = m.function("f");
  auto big = [](int64_t odd) {
    Tensor t(DType::i64, {int64_t{1} << 18});  // 2 MiB
    for (int64_t i = 0; i < t.numel(); ++i) t.set(i, static_cast<double>(i % 1000));
    t.set(1, static_cast<double>(odd));
    return t;
  };
  f.output(constant(f, big(7)));
  f.output(constant(f, big(8)));
  f.output(constant(f, big(7)));
  EXPECT_TRUE(cse(f));
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.results()[0], f.results()[2]);
  EXPECT_NE(f.results()[0], f.results()[1]);
}

TEST(Cse, BarriersAndInputsAreNeverMerged) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto x2 = f.input("x2", f32({3}));
  auto b1 = barrier(exp(x));
  auto b2 = barrier(exp(x));
  f.output(b1 + b2);
  f.output(x + x2);
  EXPECT_TRUE(cse(f));  // the two exps merge
  EXPECT_EQ(count_ops(f, Op::Exp), 1);
  EXPECT_EQ(count_ops(f, Op::Barrier), 2);
  EXPECT_EQ(f.inputs().size(), 2u);
  // Users of distinct barriers stay distinct too.
  auto n1 = neg(b1);
  auto n2 = neg(b2);
  f.output(n1);
  f.output(n2);
  EXPECT_FALSE(cse(f));
  EXPECT_EQ(count_ops(f, Op::Neg), 2);
}

TEST(Cse, ResultsFollowTheSurvivor) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto a = tanh(x);
  auto b = tanh(x);
  f.output(b);
  f.output(a);
  EXPECT_TRUE(cse(f));
  EXPECT_EQ(f.results()[0], a.node);
  EXPECT_EQ(f.results()[1], a.node);
  EXPECT_EQ(f.size(), 1u);
}

}  // namespace
}  // namespace nabla
