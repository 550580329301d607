#include <gtest/gtest.h>

#include "nabla/ir/builder.h"
#include "nabla/passes/simplify.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;
using test::op_sequence;

// A function with one input x of the given type, for one rule at a time.
struct OneInput {
  Module m;
  Function& f = m.function("f");
  Value x;
  explicit OneInput(TensorType t = f32({2, 3})) { x = f.input("x", std::move(t)); }
  Node* result() const { return f.results().at(0); }
};

TEST(Simplify, MulAndDivByOne) {
  OneInput t;
  t.f.output(t.x * 1.0);
  t.f.output(1.0 * t.x);
  t.f.output(t.x / 1.0);
  EXPECT_TRUE(simplify(t.f));
  for (Node* r : t.f.results()) EXPECT_EQ(r, t.x.node);
}

TEST(Simplify, MulByBroadcastOneBroadcastsX) {
  OneInput t(f32({3}));
  auto ones = broadcast_to(constant(t.f, 1.0), {2, 3});
  t.f.output(t.x * ones);
  EXPECT_TRUE(simplify(t.f));
  Node* r = t.result();
  ASSERT_EQ(r->op(), Op::BroadcastTo);
  EXPECT_EQ(r->operand(0), t.x.node);
  EXPECT_EQ(r->type(), f32({2, 3}));
}

TEST(Simplify, MulByOtherSplatsStays) {
  OneInput t;
  t.f.output(t.x * 2.0);
  t.f.output(t.x * constant(t.f, Tensor::from_doubles(DType::f32, {3}, std::vector<double>{1, 1, 2})));
  t.f.output(t.x / 2.0);
  EXPECT_FALSE(simplify(t.f));
}

TEST(Simplify, AddZeroOnlyWhereTheSignOfZeroCannotMatter) {
  OneInput t;
  t.f.output(t.x + 0.0);            // x = -0 gives +0: kept
  t.f.output(t.x + (-0.0));         // exact: x + -0 == x
  t.f.output(t.x - 0.0);            // exact: x - +0 == x
  t.f.output(t.x - (-0.0));         // x = -0 gives +0: kept
  t.f.output(exp(t.x) + 0.0);       // exp is never -0: rewritten
  t.f.output(t.x * 2.0 + 0.0);      // a product can be -0: kept
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  EXPECT_EQ(r[0]->op(), Op::Add);
  EXPECT_EQ(r[1], t.x.node);
  EXPECT_EQ(r[2], t.x.node);
  EXPECT_EQ(r[3]->op(), Op::Sub);
  EXPECT_EQ(r[4]->op(), Op::Exp);
  EXPECT_EQ(r[5]->op(), Op::Add);
}

TEST(Simplify, NoSignedZerosOption) {
  OneInput t;
  t.f.output(t.x + 0.0);
  t.f.output(0.0 + t.x);
  t.f.output(t.x - (-0.0));
  SimplifyOptions o;
  o.no_signed_zeros = true;
  EXPECT_TRUE(simplify(t.f, o));
  for (Node* r : t.f.results()) EXPECT_EQ(r, t.x.node);
}

TEST(Simplify, IntegerZerosAreAlwaysExact) {
  OneInput t(i32({4}));
  t.f.output(t.x + 0.0);
  t.f.output(t.x - 0.0);
  t.f.output(t.x - t.x);
  t.f.output(t.x * 0.0);
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  EXPECT_EQ(r[0], t.x.node);
  EXPECT_EQ(r[1], t.x.node);
  for (int i : {2, 3}) {
    ASSERT_EQ(r[i]->op(), Op::BroadcastTo);
    ASSERT_EQ(r[i]->operand(0)->op(), Op::Constant);
    EXPECT_EQ(r[i]->operand(0)->attrs().value.get(0), 0.0);
    EXPECT_EQ(r[i]->type(), i32({4}));
  }
}

TEST(Simplify, FloatSubSelfAndMulZeroNeedOptions) {
  OneInput t(f64({}));
  t.f.output(t.x - t.x);     // inf - inf is NaN
  t.f.output(t.x * 0.0);     // inf * 0 is NaN, -1 * 0 is -0
  EXPECT_FALSE(simplify(t.f));
  SimplifyOptions finite;
  finite.finite_math = true;
  EXPECT_TRUE(simplify(t.f, finite));
  EXPECT_EQ(t.f.results()[0]->op(), Op::Constant);
  EXPECT_EQ(t.f.results()[1]->op(), Op::Mul) << "x * 0 also needs no_signed_zeros";
  finite.no_signed_zeros = true;
  EXPECT_TRUE(simplify(t.f, finite));
  EXPECT_EQ(t.f.results()[1]->op(), Op::Constant);
  EXPECT_EQ(t.f.results()[1]->type(), f64({}));
}

TEST(Simplify, NegAbsReluMinMax) {
  OneInput t;
  t.f.output(neg(neg(t.x)));
  t.f.output(neg(neg(neg(t.x))));
  t.f.output(abs(neg(t.x)));
  t.f.output(abs(abs(t.x)));
  t.f.output(relu(relu(t.x)));
  t.f.output(maximum(t.x, t.x));
  t.f.output(minimum(t.x, t.x));
  t.f.output(maximum(t.x, neg(t.x)));
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  EXPECT_EQ(r[0], t.x.node);
  ASSERT_EQ(r[1]->op(), Op::Neg);
  EXPECT_EQ(r[1]->operand(0), t.x.node);
  ASSERT_EQ(r[2]->op(), Op::Abs);
  EXPECT_EQ(r[2]->operand(0), t.x.node);
  ASSERT_EQ(r[3]->op(), Op::Abs);
  EXPECT_EQ(r[3]->operand(0), t.x.node);
  ASSERT_EQ(r[4]->op(), Op::Relu);
  EXPECT_EQ(r[4]->operand(0), t.x.node);
  EXPECT_EQ(r[5], t.x.node);
  EXPECT_EQ(r[6], t.x.node);
  EXPECT_EQ(r[7]->op(), Op::Maximum);
}

TEST(Simplify, TransposeRules) {
  OneInput t(f32({2, 3, 4}));
  t.f.output(transpose(transpose(t.x, {1, 2, 0}), {2, 0, 1}));  // inverse: x
  t.f.output(transpose(transpose(t.x, {1, 0, 2}), {0, 2, 1}));  // composed
  t.f.output(transpose(t.x, {0, 1, 2}));
  t.f.output(transpose(t.x, {0, 2, 1}));
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  EXPECT_EQ(r[0], t.x.node);
  ASSERT_EQ(r[1]->op(), Op::Transpose);
  EXPECT_EQ(r[1]->operand(0), t.x.node);
  // result axis i = inner axis q[i] = x axis p[q[i]]: p = [1,0,2], q = [0,2,1].
  EXPECT_EQ(r[1]->attrs().perm, (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(r[1]->type(), f32({3, 4, 2}));
  EXPECT_EQ(r[2], t.x.node);
  EXPECT_EQ(r[3]->op(), Op::Transpose);
  EXPECT_EQ(r[3]->operand(0), t.x.node);
}

TEST(Simplify, ReshapeAndBroadcastRules) {
  OneInput t(f32({2, 3}));
  t.f.output(reshape(reshape(t.x, {6}), {3, 2}));
  t.f.output(reshape(reshape(t.x, {6}), {2, 3}));
  t.f.output(reshape(t.x, {2, 3}));
  t.f.output(broadcast_to(broadcast_to(t.x, {1, 2, 3}), {4, 2, 3}));
  t.f.output(broadcast_to(t.x, {2, 3}));
  t.f.output(broadcast_to(t.x, {5, 2, 3}));
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  ASSERT_EQ(r[0]->op(), Op::Reshape);
  EXPECT_EQ(r[0]->operand(0), t.x.node);
  EXPECT_EQ(r[1], t.x.node);
  EXPECT_EQ(r[2], t.x.node);
  ASSERT_EQ(r[3]->op(), Op::BroadcastTo);
  EXPECT_EQ(r[3]->operand(0), t.x.node);
  EXPECT_EQ(r[3]->shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(r[4], t.x.node);
  EXPECT_EQ(r[5]->op(), Op::BroadcastTo);
}

TEST(Simplify, ReductionsOverSizeOneOrNoAxes) {
  OneInput t(f32({2, 1, 3}));
  auto e = exp(t.x);
  auto j = t.f.input("j", i32({1, 2}));
  t.f.output(sum(e, std::vector<int64_t>{1}));
  t.f.output(sum(e, std::vector<int64_t>{1}, true));
  t.f.output(mean(e, std::vector<int64_t>{}));
  t.f.output(max(t.x, std::vector<int64_t>{-2}));
  t.f.output(sum(j, std::vector<int64_t>{0}));
  t.f.output(sum(t.x, std::vector<int64_t>{0, 1}));  // axis 0 has size 2: kept
  t.f.output(sum(t.x, std::vector<int64_t>{1}));     // +0 + -0 is +0: kept
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  ASSERT_EQ(r[0]->op(), Op::Reshape);
  EXPECT_EQ(r[0]->type(), f32({2, 3}));
  EXPECT_EQ(r[1], e.node);
  EXPECT_EQ(r[2], e.node);
  ASSERT_EQ(r[3]->op(), Op::Reshape);
  EXPECT_EQ(r[3]->operand(0), t.x.node);
  ASSERT_EQ(r[4]->op(), Op::Reshape);
  EXPECT_EQ(r[4]->operand(0), j.node);
  EXPECT_EQ(r[5]->op(), Op::Sum);
  EXPECT_EQ(r[6]->op(), Op::Sum);
  SimplifyOptions nsz;
  nsz.no_signed_zeros = true;
  EXPECT_TRUE(simplify(t.f, nsz));
  EXPECT_EQ(r[6]->op(), Op::Reshape);
}

TEST(Simplify, SelectRules) {
  OneInput t(f32({3}));
  auto y = t.f.input("y", f32({2, 3}));
  auto c = t.f.input("c", boolean({3}));
  auto yes = constant(t.f, Tensor::from_doubles(DType::bool_, {3}, std::vector<double>{1, 1, 1}));
  auto no = constant(t.f, 0.0, DType::bool_);
  auto mixed = constant(t.f, Tensor::from_doubles(DType::bool_, {3}, std::vector<double>{1, 0, 1}));
  t.f.output(select(yes, t.x, y));   // x broadcast to [2,3]
  t.f.output(select(no, t.x, y));    // y
  t.f.output(select(c, y, y));       // y
  t.f.output(select(mixed, t.x, y)); // kept (fold's business)
  t.f.output(select(c, t.x, y));     // kept
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  ASSERT_EQ(r[0]->op(), Op::BroadcastTo);
  EXPECT_EQ(r[0]->operand(0), t.x.node);
  EXPECT_EQ(r[1], y.node);
  EXPECT_EQ(r[2], y.node);
  EXPECT_EQ(r[3]->op(), Op::Select);
  EXPECT_EQ(r[4]->op(), Op::Select);
}

TEST(Simplify, CastConcatSlice) {
  OneInput t(f32({4, 3}));
  Value parts[] = {t.x};
  t.f.output(cast(t.x, DType::f32));
  t.f.output(cast(t.x, DType::f64));
  t.f.output(concat(parts, 1));
  t.f.output(slice(t.x, {0, 0}, {4, 3}));
  t.f.output(slice(t.x, {0, 0}, {4, 3}, {2, 1}));
  t.f.output(slice(t.x, {1, 0}, {4, 3}));
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  EXPECT_EQ(r[0], t.x.node);
  EXPECT_EQ(r[1]->op(), Op::Cast);
  EXPECT_EQ(r[2], t.x.node);
  EXPECT_EQ(r[3], t.x.node);
  EXPECT_EQ(r[4]->op(), Op::Slice);
  EXPECT_EQ(r[5]->op(), Op::Slice);
}

TEST(Simplify, StopGradientStaysWhileAGradNodeRemains) {
  OneInput t(f32({3}));
  auto sg = stop_gradient(t.x);
  auto z = sum(sg * t.x);
  auto g = grad_op(z, t.x);
  t.f.output(g);
  t.f.output(sg);
  EXPECT_FALSE(simplify(t.f));
  EXPECT_EQ(count_ops(t.f, Op::StopGradient), 1);
  // Once the grad node is gone (as after build-grad), stop_gradient is the identity.
  t.f.set_result(0, z);
  t.f.erase(g);
  EXPECT_TRUE(simplify(t.f));
  EXPECT_EQ(count_ops(t.f, Op::StopGradient), 0);
  EXPECT_EQ(t.f.results()[1], t.x.node);
}

TEST(Simplify, ElementwiseOpsBroadcastTheirOperandsThemselves) {
  OneInput t(f32({2, 3}));
  auto s = t.f.input("s", f32({}));
  auto v = t.f.input("v", f32({3}));
  auto c = t.f.input("c", boolean({3}));
  t.f.output(broadcast_to(s, {2, 3}) * t.x);               // mul(s, x)
  t.f.output(broadcast_to(v, {2, 3}) + v);                 // kept: v + v is [3]
  t.f.output(select(broadcast_to(c, {2, 3}), t.x, broadcast_to(s, {2, 3})));  // both go
  t.f.output(less(broadcast_to(v, {4, 2, 3}), t.x));       // kept: [2,3] is not [4,2,3]
  EXPECT_TRUE(simplify(t.f));
  auto& r = t.f.results();
  ASSERT_EQ(r[0]->op(), Op::Mul);
  EXPECT_EQ(r[0]->operand(0), s.node);
  EXPECT_EQ(r[1]->operand(0)->op(), Op::BroadcastTo);
  ASSERT_EQ(r[2]->op(), Op::Select);
  EXPECT_EQ(r[2]->operand(0), c.node);
  EXPECT_EQ(r[2]->operand(2), s.node);
  EXPECT_EQ(r[2]->type(), f32({2, 3}));
  EXPECT_EQ(r[3]->operand(0)->op(), Op::BroadcastTo);
}

TEST(Simplify, ChainsCollapseInOneRun) {
  OneInput t(f32({2, 3}));
  auto v = transpose(transpose(neg(neg(t.x * 1.0)), {1, 0}), {1, 0});
  t.f.output(reshape(reshape(cast(v, DType::f32), {3, 2}), {2, 3}) / 1.0);
  EXPECT_TRUE(simplify(t.f));
  EXPECT_EQ(t.result(), t.x.node);
  EXPECT_FALSE(simplify(t.f));
}

TEST(Simplify, BarrierIsLeftAlone) {
  OneInput t(f32({2}));
  t.f.output(barrier(t.x) * 1.0);
  t.f.output(neg(barrier(neg(t.x))));
  EXPECT_TRUE(simplify(t.f));
  EXPECT_EQ(t.f.results()[0]->op(), Op::Barrier);
  EXPECT_EQ(op_sequence(t.f), "barrier,constant,neg,barrier,neg");
}

}  // namespace
}  // namespace nabla
