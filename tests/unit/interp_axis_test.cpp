// Interpreter: the min reduction, erf, argmax/argmin, cumsum, gather and
// scatter_add against hand-computed values: ties, NaN, negative and repeated
// indices, reverse and exclusive sums, rank-0 indices, and the run-time
// index errors, verbatim.
#include <cmath>
#include <limits>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
using V = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// x = [[3, 1, 2], [5, 5, 4]]
Tensor matrix(DType t = DType::f32) { return tensor(t, {2, 3}, {3, 1, 2, 5, 5, 4}); }

TEST(InterpAxis, MinReduction) {
  auto mn = [](Tensor x, Axes axes, bool keep = false) {
    return run({std::move(x)}, [&](std::vector<Value>& in) { return min(in[0], axes, keep); });
  };
  EXPECT_EQ(values(mn(matrix(), std::nullopt)), V{1});
  EXPECT_EQ(values(mn(matrix(), std::vector<int64_t>{0})), (V{3, 1, 2}));
  Tensor rows = mn(matrix(DType::i32), std::vector<int64_t>{-1}, true);
  EXPECT_EQ(rows.shape(), (Shape{2, 1}));
  EXPECT_EQ(values(rows), (V{1, 4}));
  expect_near(values(mn(f32t({3}, {2, kNaN, -1}), std::nullopt)), V{kNaN});
  Tensor zeros = mn(f32t({2}, {0.0, -0.0}), std::nullopt);
  EXPECT_TRUE(std::signbit(zeros.get(0))) << "min(+0, -0) is -0";
  EXPECT_EQ(values(mn(f64t({2}, {kInf, kInf}), std::nullopt)), V{kInf});
  EXPECT_EQ(error_of([&] { mn(f32t({0, 3}, {}), std::vector<int64_t>{0}); }),
            "min: cannot take the min over empty axis 0 of f32[0,3]");
}

TEST(InterpAxis, Erf) {
  Tensor y = run({f64t({5}, {0, 0.5, -1, 3, kInf})}, [](std::vector<Value>& in) { return erf(in[0]); });
  expect_near(values(y), V{0, 0.5204998778130465, -0.8427007929497149, 0.9999779095030014, 1}, 1e-15);
  EXPECT_EQ(error_of([] { run({i32t({1}, {1})}, [](std::vector<Value>& in) { return erf(in[0]); }); }),
            "erf: expected a float operand (f32 or f64), got i32[1]");
}

TEST(InterpAxis, ArgMaxAndArgMinTakeTheFirstOfATie) {
  auto arg = [](Value (*fn)(Value, int64_t, bool), Tensor x, int64_t axis, bool keep = false) {
    return run({std::move(x)}, [&](std::vector<Value>& in) { return fn(in[0], axis, keep); });
  };
  Tensor m = arg(argmax, matrix(), 1);
  EXPECT_EQ(type_of(m), i64({2}));
  EXPECT_EQ(values(m), (V{0, 0}));  // row 1: 5 at 0 and 1, the first wins
  EXPECT_EQ(values(arg(argmin, matrix(), 1)), (V{1, 2}));
  EXPECT_EQ(values(arg(argmax, matrix(), 0)), (V{1, 1, 1}));
  EXPECT_EQ(values(arg(argmin, matrix(DType::i64), -2)), (V{0, 0, 0}));
  Tensor keep = arg(argmax, matrix(DType::f64), 1, true);
  EXPECT_EQ(keep.shape(), (Shape{2, 1}));
  // A NaN wins both (the first NaN); -0 and +0 tie.
  EXPECT_EQ(values(arg(argmax, f32t({4}, {1, kNaN, 9, kNaN}), 0)), V{1});
  EXPECT_EQ(values(arg(argmin, f32t({3}, {1, -5, kNaN}), 0)), V{2});
  EXPECT_EQ(values(arg(argmin, f32t({2}, {0.0, -0.0}), 0)), V{0});
  EXPECT_EQ(values(arg(argmax, f32t({3}, {-kInf, -kInf, -kInf}), 0)), V{0});
  // x[i,j,k] = values with the axis in the middle: [2,3,2].
  Tensor cube = f32t({2, 3, 2}, {0, 9, 7, 1, 7, 3, 4, 4, 8, 8, 2, 8});
  EXPECT_EQ(values(arg(argmax, cube, 1)), (V{1, 0, 1, 1}));
  EXPECT_EQ(error_of([&] { arg(argmax, f32t({2, 0}, {}), 1); }),
            "argmax: cannot take the argmax over empty axis 1 of f32[2,0]");
  EXPECT_EQ(error_of([&] { arg(argmin, boolt({2}, {0, 1}), 0); }),
            "argmin: expected a numeric operand, got bool[2]");
  EXPECT_EQ(error_of([&] { arg(argmax, f32t({}, {1}), 0); }), "argmax: axis 0 is out of range for f32[]");
}

TEST(InterpAxis, CumSumForwardReverseAndExclusive) {
  auto cs = [](Tensor x, int64_t axis, bool reverse, bool exclusive) {
    return run({std::move(x)}, [&](std::vector<Value>& in) { return cumsum(in[0], axis, reverse, exclusive); });
  };
  Tensor x = f32t({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(values(cs(x, 1, false, false)), (V{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(values(cs(x, 1, true, false)), (V{6, 5, 3, 15, 11, 6}));
  EXPECT_EQ(values(cs(x, 1, false, true)), (V{0, 1, 3, 0, 4, 9}));
  EXPECT_EQ(values(cs(x, -1, true, true)), (V{5, 3, 0, 11, 6, 0}));
  EXPECT_EQ(values(cs(x, 0, false, false)), (V{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(values(cs(x, 0, true, true)), (V{4, 5, 6, 0, 0, 0}));
  // Integers wrap; -0 comes out as +0 (the sum starts from +0); NaN spreads forward.
  Tensor big = cs(i32t({2}, {2147483647, 1}), 0, false, false);
  EXPECT_EQ(values(big), (V{2147483647, -2147483648.0}));
  EXPECT_FALSE(std::signbit(cs(f32t({1}, {-0.0}), 0, false, false).get(0)));
  expect_near(values(cs(f64t({3}, {1, kNaN, 1}), 0, false, false)), V{1, kNaN, kNaN});
  EXPECT_EQ(cs(f32t({0, 2}, {}), 0, false, false).shape(), (Shape{0, 2}));
  EXPECT_EQ(error_of([&] { cs(boolt({2}, {0, 1}), 0, false, false); }),
            "cumsum: expected a numeric operand, got bool[2]");
}

Tensor take(Tensor x, Tensor idx, int64_t axis) {
  return run({std::move(x), std::move(idx)}, [&](std::vector<Value>& in) { return gather(in[0], in[1], axis); });
}

TEST(InterpAxis, GatherIsNumpyTake) {
  // x = [[0, 1, 2], [10, 11, 12]]
  Tensor x = f32t({2, 3}, {0, 1, 2, 10, 11, 12});
  Tensor cols = take(x, i64t({2, 2}, {2, 0, -1, -3}), 1);
  EXPECT_EQ(cols.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values(cols), (V{2, 0, 2, 0, 12, 10, 12, 10}));
  Tensor rows = take(x, i32t({3}, {1, -1, 0}), 0);
  EXPECT_EQ(rows.shape(), (Shape{3, 3}));
  EXPECT_EQ(values(rows), (V{10, 11, 12, 10, 11, 12, 0, 1, 2}));
  Tensor scalar = take(x, i32t({}, {-2}), 1);  // a rank-0 index drops the axis
  EXPECT_EQ(scalar.shape(), (Shape{2}));
  EXPECT_EQ(values(scalar), (V{1, 11}));
  Tensor mask = take(boolt({3}, {1, 0, 1}), i32t({2}, {1, 2}), 0);
  EXPECT_EQ(type_of(mask), boolean({2}));
  EXPECT_EQ(values(mask), (V{0, 1}));
  EXPECT_EQ(take(x, i32t({0}, {}), 1).shape(), (Shape{2, 0}));
}

TEST(InterpAxis, GatherErrors) {
  Tensor x = f32t({2, 3}, {0, 1, 2, 10, 11, 12});
  EXPECT_EQ(error_of([&] { take(x, i64t({2, 2}, {0, 1, 2, 3}), 1); }),
            "gather: index 3 at position 3 is outside [-3, 3)");
  EXPECT_EQ(error_of([&] { take(x, i32t({2}, {0, -3}), 0); }), "gather: index -3 at position 1 is outside [-2, 2)");
  EXPECT_EQ(error_of([&] { take(f32t({0}, {}), i32t({1}, {0}), 0); }),
            "gather: index 0 at position 0 is outside [0, 0)");
  // Every index is checked, even when the result is empty.
  EXPECT_EQ(error_of([&] { take(f32t({0, 3}, {}), i32t({1}, {5}), 1); }),
            "gather: index 5 at position 0 is outside [-3, 3)");
  EXPECT_EQ(error_of([&] { take(x, f32t({1}, {0}), 0); }), "gather: indices must be i32 or i64, got f32[1]");
  EXPECT_EQ(error_of([&] { take(x, i32t({1}, {0}), 2); }), "gather: axis 2 is out of range for f32[2,3]");
  EXPECT_EQ(error_of([&] { take(f32t({}, {1}), i32t({}, {0}), 0); }), "gather: axis 0 is out of range for f32[]");
}

Tensor scatter(Tensor base, Tensor idx, Tensor updates, int64_t axis) {
  return run({std::move(base), std::move(idx), std::move(updates)},
             [&](std::vector<Value>& in) { return scatter_add(in[0], in[1], in[2], axis); });
}

TEST(InterpAxis, ScatterAddAccumulatesRepeatedIndices) {
  Tensor base = f32t({3, 2}, {1, 1, 1, 1, 1, 1});
  // Row 0 gets +10 and +30 (index 0 and -3), row 2 gets +20.
  Tensor r = scatter(base, i32t({3}, {0, 2, -3}), f32t({3, 2}, {10, 11, 20, 21, 30, 31}), 0);
  EXPECT_EQ(values(r), (V{41, 43, 1, 1, 21, 22}));
  // Along axis 1 with a [2, 2] index: updates [3, 2, 2].
  Tensor cols = scatter(f64t({3, 2}, {0, 0, 0, 0, 0, 0}), i64t({2, 2}, {1, 1, 0, -1}),
                        f64t({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), 1);
  EXPECT_EQ(values(cols), (V{3, 7, 7, 19, 11, 31}));
  // A rank-0 index: updates without the axis.
  Tensor one = scatter(i32t({2, 2}, {0, 0, 0, 0}), i32t({}, {-1}), i32t({2}, {5, 6}), 0);
  EXPECT_EQ(values(one), (V{0, 0, 5, 6}));
  // Adds in index order: 1e8 + 1 - 1e8 in f32 is 0, not 1.
  Tensor order = scatter(f32t({1}, {0}), i32t({3}, {0, 0, 0}), f32t({3}, {1e8, 1, -1e8}), 0);
  EXPECT_EQ(values(order), V{0});
}

TEST(InterpAxis, ScatterAddErrors) {
  Tensor base = f32t({3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_EQ(error_of([&] { scatter(base, i32t({2}, {1, 3}), f32t({2, 2}, {0, 0, 0, 0}), 0); }),
            "scatter_add: index 3 at position 1 is outside [-3, 3)");
  EXPECT_EQ(error_of([&] { scatter(base, i32t({2}, {1, 0}), f32t({2, 3}, {0, 0, 0, 0, 0, 0}), 0); }),
            "scatter_add: updates must be f32[2,2] (base f32[3,2] gathered by indices i32[2] on axis 0), got f32[2,3]");
  EXPECT_EQ(error_of([&] { scatter(base, i32t({1}, {1}), f64t({1, 2}, {0, 0}), 0); }),
            "scatter_add: operand dtypes differ: f32[3,2], f64[1,2]");
  EXPECT_EQ(error_of([&] { scatter(base, f32t({1}, {1}), f32t({1, 2}, {0, 0}), 0); }),
            "scatter_add: indices must be i32 or i64, got f32[1]");
  EXPECT_EQ(error_of([&] { scatter(boolt({1}, {0}), i32t({1}, {0}), boolt({1}, {1}), 0); }),
            "scatter_add: expected a numeric operand, got bool[1]");
}

}  // namespace
}  // namespace nabla
