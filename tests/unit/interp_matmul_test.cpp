// Interpreter: matmul of 2-D and batched operands with every combination of
// transpose flags, integer wrap and an empty contraction.
#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;

Tensor mm(Tensor a, Tensor b, bool ta = false, bool tb = false) {
  return run({std::move(a), std::move(b)},
             [&](std::vector<Value>& in) { return matmul(in[0], in[1], ta, tb); });
}

// A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]:
// AB = [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]] = [[58,64],[139,154]].
const std::vector<double> kA = {1, 2, 3, 4, 5, 6}, kAt = {1, 4, 2, 5, 3, 6};
const std::vector<double> kB = {7, 8, 9, 10, 11, 12}, kBt = {7, 9, 11, 8, 10, 12};
const std::vector<double> kAB = {58, 64, 139, 154};

TEST(InterpMatmul, TwoDWithTransposeFlags) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64}) {
    SCOPED_TRACE(dtype_name(t));
    Tensor c = mm(tensor(t, {2, 3}, kA), tensor(t, {3, 2}, kB));
    EXPECT_EQ(c.shape(), (Shape{2, 2}));
    EXPECT_EQ(c.dtype(), t);
    EXPECT_EQ(values(c), kAB);
    EXPECT_EQ(values(mm(tensor(t, {3, 2}, kAt), tensor(t, {3, 2}, kB), true, false)), kAB);
    EXPECT_EQ(values(mm(tensor(t, {2, 3}, kA), tensor(t, {2, 3}, kBt), false, true)), kAB);
    EXPECT_EQ(values(mm(tensor(t, {3, 2}, kAt), tensor(t, {2, 3}, kBt), true, true)), kAB);
  }
  // B A = [[7+32, 14+40, 21+48], ...] = [[39,54,69],[49,68,87],[59,82,105]].
  EXPECT_EQ(values(mm(f32t({3, 2}, kB), f32t({2, 3}, kA))),
            (std::vector<double>{39, 54, 69, 49, 68, 87, 59, 82, 105}));
  // Vectors as matrices: [1,2,3] . [1,2,3] = 14; outer product of [1,2] and [3,4].
  EXPECT_EQ(values(mm(f64t({1, 3}, {1, 2, 3}), f64t({1, 3}, {1, 2, 3}), false, true)),
            std::vector<double>{14});
  EXPECT_EQ(values(mm(f64t({1, 2}, {1, 2}), f64t({1, 2}, {3, 4}), true, false)),
            (std::vector<double>{3, 4, 6, 8}));
}

TEST(InterpMatmul, Batched) {
  // Batch 0 is A B above; batch 1 is [[1,0,0],[0,1,0]] [[1,2],[3,4],[5,6]] = [[1,2],[3,4]].
  std::vector<double> a = kA, at = kAt, b = kB, bt = kBt;
  a.insert(a.end(), {1, 0, 0, 0, 1, 0});
  at.insert(at.end(), {1, 0, 0, 1, 0, 0});
  b.insert(b.end(), {1, 2, 3, 4, 5, 6});
  bt.insert(bt.end(), {1, 3, 5, 2, 4, 6});
  std::vector<double> want = kAB;
  want.insert(want.end(), {1, 2, 3, 4});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "transpose_a=" << ta << " transpose_b=" << tb);
      Tensor c = mm(f32t(ta ? Shape{2, 3, 2} : Shape{2, 2, 3}, ta ? at : a),
                    f32t(tb ? Shape{2, 2, 3} : Shape{2, 3, 2}, tb ? bt : b), ta, tb);
      EXPECT_EQ(c.shape(), (Shape{2, 2, 2}));
      EXPECT_EQ(values(c), want);
    }
  // Two batch axes [2,1,...]: each batch is I * [[k]] with k the batch index.
  Tensor c = mm(f64t({2, 1, 1, 1}, {2, 3}), f64t({2, 1, 1, 2}, {1, 10, 100, 1000}));
  EXPECT_EQ(c.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_EQ(values(c), (std::vector<double>{2, 20, 300, 3000}));
}

TEST(InterpMatmul, IntegerWrapAndEmptyContraction) {
  // 65536 * 65536 + 1 * 1 = 2^32 + 1 wraps to 1 in i32, not in i64.
  EXPECT_EQ(values(mm(i32t({1, 2}, {65536, 1}), i32t({2, 1}, {65536, 1}))), std::vector<double>{1});
  EXPECT_EQ(values(mm(i64t({1, 2}, {65536, 1}), i64t({2, 1}, {65536, 1}))),
            std::vector<double>{4294967297.0});
  // k = 0: every element is an empty sum.
  Tensor z = mm(f32t({2, 0}, {}), f32t({0, 3}, {}));
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(z), std::vector<double>(6, 0.0));
}

}  // namespace
}  // namespace nabla
