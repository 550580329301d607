// Type inference through the builder API: result types, attribute
// normalization, and every error message verbatim.
#include <gtest/gtest.h>

#include <functional>

#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::error_of;

class Infer : public ::testing::Test {
 protected:
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({4, 3}));
  Value b = f.input("b", f32({3}));
  Value c = f.input("c", f32({4, 1}));
  Value d = f.input("d", f64({4, 3}));
  Value n = f.input("n", i32({4}));
  Value k = f.input("k", boolean({4, 3}));
  Value s = f.input("s", f32());
};

TEST_F(Infer, ElementwiseBroadcasting) {
  EXPECT_EQ((a + b).type(), f32({4, 3}));
  EXPECT_EQ((b * c).type(), f32({4, 3}));
  EXPECT_EQ((a - s).type(), f32({4, 3}));
  EXPECT_EQ((2.0 * a).type(), f32({4, 3}));
  EXPECT_EQ((n + 1).type(), i32({4}));
  EXPECT_EQ(less(a, b).type(), boolean({4, 3}));
  EXPECT_EQ(select(k, a, s).type(), f32({4, 3}));
  EXPECT_EQ(exp(-a).type(), f32({4, 3}));
  EXPECT_EQ(cast(n, DType::f64).type(), f64({4}));
  EXPECT_EQ(equal(k, k).type(), boolean({4, 3}));
}

TEST_F(Infer, Reductions) {
  EXPECT_EQ(sum(a).type(), f32());
  EXPECT_EQ(sum(a).node->attrs().axes, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(mean(a, std::vector<int64_t>{-1}).type(), f32({4}));
  EXPECT_EQ(max(a, std::vector<int64_t>{0}, true).type(), f32({1, 3}));
  auto r = sum(a, std::vector<int64_t>{1, 0}, true);
  EXPECT_EQ(r.type(), f32({1, 1}));
  EXPECT_EQ(r->attrs().axes, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(sum(n).type(), i32());
  EXPECT_EQ(sum(s).type(), f32());
}

TEST_F(Infer, Layout) {
  EXPECT_EQ(reshape(a, {2, -1}).type(), f32({2, 6}));
  EXPECT_EQ(reshape(a, {2, -1})->attrs().shape, (Shape{2, 6}));
  EXPECT_EQ(transpose(a).type(), f32({3, 4}));
  EXPECT_EQ(broadcast_to(b, {2, 4, 3}).type(), f32({2, 4, 3}));
  EXPECT_EQ(slice(a, {1, 0}, {4, 3}, {2, 1}).type(), f32({2, 3}));
  EXPECT_EQ(slice(a, {1, 0}, {4, 3})->attrs().step, (std::vector<int64_t>{1, 1}));
  Value parts[] = {a, c};
  EXPECT_EQ(concat(parts, -1).type(), f32({4, 4}));
  EXPECT_EQ(concat(parts, -1)->attrs().axis, 1);
}

TEST_F(Infer, MatmulAndNeural) {
  Value w = f.input("w", f32({3, 5}));
  Value wt = f.input("wt", f32({5, 3}));
  EXPECT_EQ(matmul(a, w).type(), f32({4, 5}));
  EXPECT_EQ(matmul(a, wt, false, true).type(), f32({4, 5}));
  EXPECT_EQ(matmul(a, a, true, false).type(), f32({3, 3}));
  Value x = f.input("x", f64({2, 4, 3}));
  Value y = f.input("y", f64({2, 4, 6}));
  EXPECT_EQ(matmul(x, y, true, false).type(), f64({2, 3, 6}));
  EXPECT_EQ(softmax(a).type(), f32({4, 3}));
  EXPECT_EQ(log_softmax(a, 0)->attrs().axis, 0);
  EXPECT_EQ(one_hot(n, 3).type(), f32({4, 3}));
  EXPECT_EQ(one_hot(n, 3, DType::i64).type(), i64({4, 3}));
  EXPECT_EQ(cross_entropy(a, n).type(), f32());
  EXPECT_EQ(grad_op(sum(a), a).type(), f32({4, 3}));
}

TEST_F(Infer, UnusedAttributesAreDropped) {
  Attrs at;
  at.axis = 7;
  at.keepdims = true;
  Value v = f.make(Op::Add, {a, b}, at);
  EXPECT_TRUE(v->attrs().equal(Attrs{}, ~0u));
}

TEST_F(Infer, Errors) {
  auto x = f.input("x", f32({4}));
  auto y = f.input("y", f32({3}));
  auto w = f.input("w", f32({5, 2}));
  auto labels2 = f.input("labels2", i32({3}));
  auto fl = f.input("fl", f32({4}));
  auto bad = f.input("bad", f32({4, 3, 2}));
  struct Case {
    std::function<void()> fn;
    const char* message;
  } cases[] = {
      {[&] { add(x, y); }, "add: cannot broadcast f32[4] with f32[3]"},
      {[&] { add(a, d); }, "add: operand dtypes differ: f32[4,3], f64[4,3]"},
      {[&] { exp(n); }, "exp: expected a float operand (f32 or f64), got i32[4]"},
      {[&] { neg(k); }, "neg: expected a numeric operand, got bool[4,3]"},
      {[&] { div(n, n); }, "div: expected a float operand (f32 or f64), got i32[4]"},
      {[&] { select(a, a, a); }, "select: condition must be bool, got f32[4,3], f32[4,3], f32[4,3]"},
      {[&] { select(k, a, x); }, "select: cannot broadcast bool[4,3], f32[4,3], f32[4]"},
      {[&] { sum(a, std::vector<int64_t>{2}); }, "sum: axis 2 is out of range for f32[4,3]"},
      {[&] { sum(a, std::vector<int64_t>{1, -1}); }, "sum: axis -1 is repeated in axes [1,-1]"},
      {[&] { mean(n); }, "mean: expected a float operand (f32 or f64), got i32[4]"},
      {[&] { reshape(a, {5, 2}); },
       "reshape: cannot reshape f32[4,3] (12 elements) to [5,2] (10 elements)"},
      {[&] { reshape(a, {5, -1}); }, "reshape: cannot reshape f32[4,3] (12 elements) to [5,-1]"},
      {[&] { reshape(a, {-2, 6}); }, "reshape: invalid dimension -2 in shape [-2,6]"},
      {[&] { transpose(a, {0, 0}); },
       "transpose: perm [0,0] is not a permutation of the 2 axes of f32[4,3]"},
      {[&] { transpose(a, {1}); },
       "transpose: perm [1] is not a permutation of the 2 axes of f32[4,3]"},
      {[&] { broadcast_to(a, {4, 2}); }, "broadcast_to: cannot broadcast f32[4,3] to [4,2]"},
      {[&] { broadcast_to(a, {3}); }, "broadcast_to: cannot broadcast f32[4,3] to [3]"},
      {[&] { slice(a, {0}, {1}); }, "slice: start, stop and step need one entry per axis of f32[4,3]"},
      {[&] { slice(a, {0, 0}, {5, 3}); },
       "slice: range [0, 5) on axis 0 is not within [0, 4] of f32[4,3]"},
      {[&] { slice(a, {0, 0}, {4, 3}, {1, 0}); }, "slice: step 0 on axis 1 must be at least 1"},
      {[&] { Value v[] = {a, b}; concat(v, 0); }, "concat: shapes differ off axis 0: f32[4,3], f32[3]"},
      {[&] { Value v[] = {s, s}; concat(v, 0); }, "concat: cannot concatenate scalars: f32[], f32[]"},
      {[&] { Value v[] = {a, a}; concat(v, 2); }, "concat: axis 2 is out of range for f32[4,3]"},
      {[&] { matmul(a, w); }, "matmul: contraction dimensions differ: f32[4,3] and f32[5,2]"},
      {[&] { matmul(a, w, true, false); },
       "matmul: contraction dimensions differ: f32[4,3] (transposed) and f32[5,2]"},
      {[&] { matmul(a, b); },
       "matmul: operands must both be 2-D, or batched with the same rank: f32[4,3] and f32[3]"},
      {[&] { matmul(k, k, false, true); }, "matmul: expected a numeric operand, got bool[4,3]"},
      {[&] { softmax(a, 2); }, "softmax: axis 2 is out of range for f32[4,3]"},
      {[&] { one_hot(fl, 3); }, "one_hot: labels must be i32 or i64, got f32[4]"},
      {[&] { one_hot(n, 0); }, "one_hot: depth must be at least 1, got 0"},
      {[&] { cross_entropy(a, fl); }, "cross_entropy: labels must be i32 or i64, got f32[4]"},
      {[&] { cross_entropy(a, labels2); },
       "cross_entropy: labels must have shape [4] to match logits f32[4,3], got i32[3]"},
      {[&] { cross_entropy(bad, n); },
       "cross_entropy: logits must be a float matrix [N,C], got f32[4,3,2]"},
      {[&] { grad_op(a, a); }, "grad: the differentiated value must be a float scalar, got f32[4,3]"},
      {[&] { f.make(Op::Add, {a}); }, "add: expected 2 operands, got 1"},
      {[&] { f.make(Op::Constant, {}); }, "constant: missing value"},
      {[&] { f.input("a", f32()); }, "function @f: duplicate input %a"},
      {[&] { add(Value{}, a); }, "add: null operand"},
  };
  for (const Case& c : cases) EXPECT_EQ(error_of(c.fn), c.message);
}

TEST(InferCrossFunction, OperandFromAnotherFunction) {
  Module m;
  Value a = m.function("f").input("a", f32());
  Value b = m.function("g").input("b", f32());
  EXPECT_EQ(error_of([&] { add(a, b); }), "add: operand belongs to function @g, not @f");
  EXPECT_EQ(error_of([&] { m.function("g").output(a); }),
            "function @g: output belongs to function @f");
  EXPECT_EQ(error_of([&] { m.add_function("f"); }), "module: duplicate function @f");
}

TEST(FunctionEdits, ReplaceEraseAndInsertionPoint) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({2}));
  Value y = exp(x);
  Value z = y * y;
  f.output(z);
  EXPECT_EQ(y->users().size(), 2u);  // once per operand slot
  Value l = [&] {
    InsertionGuard g(f, z.node);
    return log(x);
  }();
  EXPECT_EQ(f.nodes(), (std::vector<Node*>{y.node, l.node, z.node}));
  f.replace_all_uses(y, l);
  EXPECT_TRUE(y->users().empty());
  EXPECT_EQ(l->users().size(), 2u);
  f.erase(y);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(error_of([&] { f.erase(l); }), "erase: node still has users");
  EXPECT_EQ(error_of([&] { f.erase(z); }), "erase: node is a result of @f");
  Value w = sin(x);
  f.replace_all_uses(z, w);
  EXPECT_EQ(f.results()[0], w.node);
  f.erase(z);
  f.erase(l);
  EXPECT_EQ(f.nodes(), (std::vector<Node*>{w.node}));
}

}  // namespace
}  // namespace nabla
