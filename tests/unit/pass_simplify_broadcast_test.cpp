// simplify's broadcast rules (passes/simplify_broadcast_rules.cpp): each
// rewrite checked for its shape and, by the interpreter, for the same values
// bit for bit as before.
#include <algorithm>

#include <gtest/gtest.h>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/passes/dce.h"
#include "nabla/passes/fold.h"
#include "nabla/passes/simplify.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;

// A [rows, cols] f64 constant whose element (i, j) is row_value(i) (repeats
// along axis 1), or col_value(j) when by_column.
Tensor repeating(int64_t rows, int64_t cols, bool by_column = false) {
  Tensor t(DType::f64, {rows, cols});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t.set(i * cols + j, by_column ? 0.25 * j - 3 : (i % 3 == 1 ? 1.0 : -0.0));
  return t;
}

// f's results by the interpreter on `inputs`, before and after simplify (and
// dce): the same bits.
void expect_same_values(Function& f, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> before = interpret(f, inputs);
  EXPECT_TRUE(simplify(f));
  dce(f);
  std::vector<Tensor> after = interpret(f, inputs);
  ASSERT_EQ(before.size(), after.size());
  for (size_t k = 0; k < before.size(); ++k) EXPECT_TRUE(after[k].same_as(before[k])) << "result " << k;
}

Tensor ramp(Shape s) {
  Tensor t(DType::f64, s);
  for (int64_t k = 0; k < t.numel(); ++k) t.set(k, 0.5 * k - 7);
  return t;
}

TEST(SimplifyBroadcast, RepeatingConstantBecomesABroadcast) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({16, 100}));
  f.output(x * constant(f, repeating(16, 100)));         // repeats along axis 1
  f.output(x + constant(f, repeating(16, 100, true)));   // along axis 0
  expect_same_values(f, {ramp({16, 100})});
  for (Node* r : f.results()) {
    Node* c = r->operand(1);
    ASSERT_EQ(c->op(), Op::Constant) << op_name(c->op());
    EXPECT_LE(c->type().numel(), 100);  // [16,1] or [1,100], read broadcast by the op itself
  }
}

TEST(SimplifyBroadcast, ConstantsKeptWhenSmallNotRepeatingOrCopied) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({16, 100}));
  Value small = f.input("s", f64({4, 8}));
  f.output(small * constant(f, repeating(4, 8)));                        // 32 elements: a literal
  f.output(x * constant(f, ramp({16, 100})));                            // no repeats
  f.output(matmul(x, constant(f, repeating(100, 16))));                  // a matmul would copy it
  Value parts[] = {constant(f, repeating(16, 100)), x};
  f.output(concat(parts, 0));                                            // fold owns concats
  EXPECT_FALSE(simplify(f));
  EXPECT_EQ(count_ops(f, Op::BroadcastTo), 0);
}

TEST(SimplifyBroadcast, GatherOfRepeatedRowsIsABroadcast) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({3, 40, 2}));
  Tensor c(DType::f64, {3, 7, 2});  // seeds: every row along axis 1 the same
  for (int64_t k = 0; k < c.numel(); ++k) c.set(k, (k / 14 == (k % 2)) ? 1.0 : 0.0);
  Tensor idx(DType::i64, {40});
  for (int64_t k = 0; k < 40; ++k) idx.set(k, static_cast<double>(k % 7 - (k % 5 == 0 ? 7 : 0)));  // negatives too
  Value g = gather(constant(f, c), constant(f, idx), 1);
  f.output(x * g);
  expect_same_values(f, {ramp({3, 40, 2})});
  EXPECT_EQ(count_ops(f, Op::Gather), 0);
}

TEST(SimplifyBroadcast, GatherOfABroadcastAlongItsAxis) {
  Module m;
  Function& f = m.function("f");
  Value row = f.input("row", f64({3, 1, 2}));
  Tensor idx(DType::i64, {4, 5});
  for (int64_t k = 0; k < 20; ++k) idx.set(k, static_cast<double>(k % 6));
  f.output(gather(broadcast_to(row, {3, 6, 2}), constant(f, idx), 1));  // [3,4,5,2]
  expect_same_values(f, {ramp({3, 1, 2})});
  EXPECT_EQ(count_ops(f, Op::Gather), 0);
  EXPECT_EQ(f.results()[0]->op(), Op::BroadcastTo);
}

TEST(SimplifyBroadcast, GatherKeptWhenItCouldFailOrRowsDiffer) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({2, 5}));
  Value i = f.input("i", i64({3}));
  Tensor bad(DType::i64, {2});
  bad.set(0, 0), bad.set(1, 5);  // out of range: stays a run-time error
  Value rep = constant(f, repeating(2, 5));
  f.output(gather(rep, constant(f, bad), 1));
  f.output(gather(rep, i, 1));                               // indices known at run time only
  f.output(gather(x, constant(f, Tensor(DType::i64, {3})), 1));  // x's rows are not known
  f.output(gather(broadcast_to(x, {4, 2, 5}), constant(f, Tensor(DType::i64, {3})), 1));
  EXPECT_FALSE(simplify(f));
  EXPECT_EQ(count_ops(f, Op::Gather), 4);
}

TEST(SimplifyBroadcast, SliceAndUnitReshapeMoveUnderTheBroadcast) {
  Module m;
  Function& f = m.function("f");
  Value v = f.input("v", f64({3, 1, 4}));
  Value b = broadcast_to(v, {2, 3, 50, 4});
  Value s = slice(b, {1, 0, 10, 1}, {2, 3, 30, 3});  // [1,3,20,2]: v cut on its own axes
  f.output(reshape(s, {3, 20, 2, 1}));                // unit axes only
  f.output(reshape(b, {6, 50, 4}));                   // merges axes: stays
  expect_same_values(f, {ramp({3, 1, 4})});
  Node* r = f.results()[0];
  ASSERT_EQ(r->op(), Op::BroadcastTo);
  EXPECT_EQ(r->operand(0)->type().numel(), 6);  // the slice of v, 3 x 2
  EXPECT_EQ(f.results()[1]->op(), Op::Reshape);
}

TEST(SimplifyBroadcast, StridedSliceOfABroadcast) {
  Module m;
  Function& f = m.function("f");
  Value v = f.input("v", f64({5}));
  f.output(slice(broadcast_to(v, {8, 5}), {1, 1}, {8, 5}, {3, 2}));
  expect_same_values(f, {ramp({5})});
  EXPECT_EQ(f.results()[0]->op(), Op::BroadcastTo);
}

// gather-sink (passes/simplify_gather_rules.cpp): a skinning as in GradBench's
// hand tracker, vertices = weights [V,B] x transforms [B,12] reshaped,
// times the base positions, then 2 x 3 of the V vertices read by run-time
// indices: the matmul and the products run on the rows read only.
TEST(SimplifyGatherSink, SkinningRunsOnTheRowsRead) {
  Module m;
  Function& f = m.function("f");
  Value w = f.input("w", f64({9, 4})), t = f.input("t", f64({4, 6})), base = f.input("base", f64({9, 1, 3}));
  Value idx = f.input("idx", i64({2, 3}));
  Value verts = sum(reshape(matmul(w, t), {9, 2, 3}) * base, std::vector<int64_t>{2});  // [9,2]
  Value moved = transpose(exp(verts) - 1.0, {1, 0});                                    // [2,9]
  f.output(gather(moved, idx, 1));                                                      // [2,2,3]
  Tensor at(DType::i64, {2, 3});
  for (int64_t k = 0; k < 6; ++k) at.set(k, static_cast<double>((7 * k + 2) % 9 - (k == 4 ? 9 : 0)));
  expect_same_values(f, {ramp({9, 4}), ramp({4, 6}), ramp({9, 1, 3}), at});
  // The gather reaches the weights: the matmul computes the 6 rows read.
  for (Node* n : f)
    if (n->op() == Op::MatMul) {
      EXPECT_EQ(n->type().shape, (Shape{6, 6}));
    }
}

TEST(SimplifyGatherSink, MatmulColumnsBatchesAndTransposedRows) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f64({5, 4, 3})), b = f.input("b", f64({5, 4, 6}));
  Value i2 = constant(f, Tensor::from_doubles(DType::i64, {2}, std::vector<double>{2, 0}));
  Value prod = matmul(a, b, true, false);  // [5,3,6], rows from a's last axis
  f.output(gather(prod, i2, 0));           // batches
  Value p2 = matmul(a, b, true, false);
  f.output(gather(p2, i2, 1));             // rows
  Value p3 = matmul(a, b, true, false);
  f.output(gather(p3, i2, 2));             // columns
  expect_same_values(f, {ramp({5, 4, 3}), ramp({5, 4, 6})});
  EXPECT_EQ(count_ops(f, Op::MatMul), 3);
  for (Node* r : f.results()) EXPECT_EQ(r->op(), Op::MatMul);
}

TEST(SimplifyGatherSink, KeptWhenOtherUsersNeedEveryRowOrNoFewerRows) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({4, 3}));
  Value idx = f.input("idx", i64({2}));
  Value e = exp(x);
  f.output(gather(e, idx, 0));
  f.output(e);                                          // every row still read
  Value many = f.input("many", i64({4}));
  f.output(gather(log(x), many, 0));                    // as many rows as x has
  f.output(gather(cumsum(x, 0), idx, 0));              // rows depend on other rows
  f.output(gather(reshape(x, {2, 6}), idx, 0));        // rows of x do not stay rows
  EXPECT_FALSE(simplify(f));
}

// slice-gather and reshape-gather: ba's columns of gathered cameras, each
// slice [P,1] reshaped to [P], become gathers of the table's columns (which
// fusion then reads through the index); a negative index, a 2-D index and a
// strided slice keep their values; the gather stays when another user needs
// the whole rows, and reshapes that cut the index's axes stay.
TEST(SimplifyGatherColumns, ColumnsOfGatheredRows) {
  Module m;
  Function& f = m.function("f");
  Value cams = f.input("cams", f64({4, 11})), idx = f.input("idx", i64({6}));
  Value g = gather(cams, idx, 0);  // [6,11]
  f.output(reshape(slice(g, {0, 3}, {6, 4}), {6}) * reshape(slice(g, {0, 9}, {6, 10}), {6}));
  f.output(slice(g, {0, 1}, {6, 11}, {1, 3}));
  Value i2 = f.input("i2", i64({2, 3}));
  f.output(reshape(slice(gather(cams, i2, 0), {0, 0, 2}, {2, 3, 3}), {2, 3}));
  Tensor at = Tensor::from_doubles(DType::i64, {6}, std::vector<double>{3, 0, -1, 2, 2, -4});
  Tensor at2 = Tensor::from_doubles(DType::i64, {2, 3}, std::vector<double>{1, -2, 0, 3, 3, -1});
  expect_same_values(f, {ramp({4, 11}), at, at2});
  // Each gather reads one column of the 4 rows (4 of them, strided: 4 x 4).
  for (Node* n : f)
    if (n->op() == Op::Gather) {
      EXPECT_EQ(n->operand(0)->type().numel(), n->shape().back() == 4 ? 16 : 4) << n->type().str();
    }
  EXPECT_EQ(count_ops(f, Op::Gather), 4);
}

TEST(SimplifyGatherColumns, KeptWhenTheRowsAreReadOrFewIndices) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f64({4, 6})), idx = f.input("idx", i64({5})), few = f.input("few", i64({3}));
  Value g = gather(x, idx, 0);
  f.output(slice(g, {0, 1}, {5, 2}));
  f.output(g);                                                     // every column read
  f.output(slice(gather(x, few, 0), {1, 0}, {3, 6}));              // cuts the axis of fewer indices than rows
  f.output(reshape(gather(x, f.input("f2", i64({1, 3})), 0), {3, 6}));  // the same, reshaped
  f.output(reshape(gather(x, f.input("f1", i64({2})), 0), {12}));  // fewer indices than rows
  EXPECT_FALSE(simplify(f));
}

// A slice that cuts the index's axes slices the index, and a reshape of only
// the index's axes reshapes the index (ht's triangle corners: [C,3] indices
// into [26,V,3] vertex tangents, each corner c a slice [26,C,1,3] reshaped to
// [26,C,3]): one gather of C indices per corner, each of the loop's size,
// then read by fusion through the index; the same values, bit for bit.
TEST(SimplifyGatherColumns, CornersOfGatheredTriangles) {
  Module m;
  Function& f = m.function("f");
  Value t = f.input("t", f64({2, 4, 3})), tri = f.input("tri", i64({5, 3}));
  Value g = gather(t, tri, 1);  // [2,5,3,3]
  auto corner = [&](int64_t c) { return reshape(slice(g, {0, 0, c, 0}, {2, 5, c + 1, 3}), {2, 5, 3}); };
  f.output(corner(0) * 0.25 + corner(1) - corner(2));
  Value x = f.input("x", f64({4, 6})), idx = f.input("idx", i64({5}));
  f.output(slice(gather(x, idx, 0), {1, 0}, {5, 6}, {2, 1}));  // a strided cut of the index's axis
  f.output(reshape(gather(x, f.input("i2", i64({2, 3})), 0), {6, 6}));  // merges the index's axes
  Tensor at = Tensor::from_doubles(DType::i64, {5, 3}, std::vector<double>{0, 1, 2, 3, 0, -1, 2, 2, 1, -4, 3, 0, 1, 1, 1});
  Tensor at1 = Tensor::from_doubles(DType::i64, {5}, std::vector<double>{3, 0, -1, 2, 1});
  Tensor at2 = Tensor::from_doubles(DType::i64, {2, 3}, std::vector<double>{1, -2, 0, 3, 3, -1});
  expect_same_values(f, {ramp({2, 4, 3}), at, ramp({4, 6}), at1, at2});
  // No gather of more than the loop's elements: 3 corners [2,5,3], [2,6]... .
  std::vector<int64_t> sizes;
  for (Node* n : f)
    if (n->op() == Op::Gather) sizes.push_back(n->type().numel());
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int64_t>{12, 30, 30, 30, 36}));
}

}  // namespace
}  // namespace nabla
