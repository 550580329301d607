// Interpreter: sum, mean and max over axes, with keepdims, negative axes,
// NaN, integer wrap and empty axes, against hand-computed values.
#include <cmath>
#include <limits>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using ReduceFn = Value (*)(Value, Axes, bool);
Tensor reduce(ReduceFn fn, Tensor x, Axes axes = std::nullopt, bool keepdims = false) {
  return run({std::move(x)}, [&](std::vector<Value>& in) { return fn(in[0], axes, keepdims); });
}
std::vector<int64_t> ax(std::initializer_list<int64_t> a) { return a; }

// x = [[1, 2, 3], [4, 5, 6]]
Tensor matrix(DType t = DType::f32) { return tensor(t, {2, 3}, {1, 2, 3, 4, 5, 6}); }

TEST(InterpReduce, SumOverAxes) {
  Tensor all = reduce(sum, matrix());
  EXPECT_EQ(all.shape(), Shape{});
  EXPECT_EQ(values(all), std::vector<double>{21});
  EXPECT_EQ(values(reduce(sum, matrix(), ax({0}))), (std::vector<double>{5, 7, 9}));
  Tensor rows = reduce(sum, matrix(), ax({1}), true);
  EXPECT_EQ(rows.shape(), (Shape{2, 1}));
  EXPECT_EQ(values(rows), (std::vector<double>{6, 15}));
  EXPECT_EQ(values(reduce(sum, matrix(), ax({-1}))), (std::vector<double>{6, 15}));
  Tensor both = reduce(sum, matrix(), ax({-1, 0}), true);
  EXPECT_EQ(both.shape(), (Shape{1, 1}));
  EXPECT_EQ(values(both), std::vector<double>{21});
  // No axes: the identity.
  EXPECT_TRUE(reduce(sum, matrix(), ax({})).same_as(matrix()));
}

TEST(InterpReduce, SumOfRank3OverOuterAxes) {
  // x[i,j,k] = 6i + 2j + k; summing over i and k leaves j:
  // j=0: 0+1+6+7 = 14, j=1: 2+3+8+9 = 22, j=2: 4+5+10+11 = 30.
  std::vector<double> v(12);
  for (int i = 0; i < 12; ++i) v[i] = i;
  Tensor x = f64t({2, 3, 2}, v);
  EXPECT_EQ(values(reduce(sum, x, ax({0, 2}))), (std::vector<double>{14, 22, 30}));
  Tensor k = reduce(sum, x, ax({2, 0}), true);
  EXPECT_EQ(k.shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(values(k), (std::vector<double>{14, 22, 30}));
  // Over j: (i,k) = (0,0): 0+2+4 = 6, (0,1): 9, (1,0): 24, (1,1): 27.
  EXPECT_EQ(values(reduce(sum, x, ax({1}))), (std::vector<double>{6, 9, 24, 27}));
  // max over j with keepdims: (0,k): 4+k, (1,k): 10+k.
  Tensor m = reduce(max, x, ax({-2}), true);
  EXPECT_EQ(m.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values(m), (std::vector<double>{4, 5, 10, 11}));
}

TEST(InterpReduce, MeanAndMax) {
  EXPECT_EQ(values(reduce(mean, matrix(), ax({0}))), (std::vector<double>{2.5, 3.5, 4.5}));
  EXPECT_EQ(values(reduce(mean, matrix(DType::f64))), std::vector<double>{3.5});
  EXPECT_EQ(values(reduce(max, matrix(), ax({1}))), (std::vector<double>{3, 6}));
  EXPECT_EQ(values(reduce(max, matrix())), std::vector<double>{6});
  // Max of all-negative integers (the start value is the dtype's lowest).
  EXPECT_EQ(values(reduce(max, i32t({2}, {-5, -3}))), std::vector<double>{-3});
  Tensor lo(DType::i64, {1});
  lo.data_as<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(reduce(max, lo).data_as<int64_t>()[0], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(values(reduce(max, f32t({2}, {-std::numeric_limits<double>::infinity(), -1e30}))),
            std::vector<double>{static_cast<float>(-1e30)});
}

TEST(InterpReduce, NaNPropagates) {
  Tensor x = f32t({2, 2}, {1, kNaN, 3, 4});
  expect_near(values(reduce(max, x, ax({1}))), {kNaN, 4});
  expect_near(values(reduce(max, x, ax({0}))), {3, kNaN});
  expect_near(values(reduce(sum, x, ax({1}))), {kNaN, 7});
  expect_near(values(reduce(mean, x, ax({0}))), {2, kNaN});
  // NaN first or last in the row.
  expect_near(values(reduce(max, f64t({3}, {kNaN, 1, 2}))), {kNaN});
  expect_near(values(reduce(max, f64t({3}, {1, 2, kNaN}))), {kNaN});
}

TEST(InterpReduce, IntegerSumWraps) {
  constexpr double kMax32 = std::numeric_limits<int32_t>::max();
  constexpr double kMin32 = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values(reduce(sum, i32t({2}, {kMax32, 1}))), std::vector<double>{kMin32});
  EXPECT_EQ(values(reduce(sum, i64t({2, 2}, {1, -2, 3, -4}), ax({0}))),
            (std::vector<double>{4, -6}));
}

TEST(InterpReduce, EmptyAxes) {
  // Summing zero elements gives 0; their mean is 0/0 = NaN.
  Tensor e = f32t({0, 3}, {});
  EXPECT_EQ(values(reduce(sum, e, ax({0}))), (std::vector<double>{0, 0, 0}));
  expect_near(values(reduce(mean, e, ax({0}))), {kNaN, kNaN, kNaN});
  EXPECT_EQ(reduce(sum, e, ax({1})).shape(), Shape{0});
  EXPECT_EQ(reduce(max, e, ax({1})).shape(), Shape{0});
}

}  // namespace
}  // namespace nabla
