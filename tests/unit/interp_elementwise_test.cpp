// Interpreter: elementwise unary and binary ops, comparisons, select and cast
// against hand-computed values, including broadcasting, NaN and integer wrap.
#include <cmath>
#include <limits>
#include <numbers>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kE = std::numbers::e;
constexpr double kPi = std::numbers::pi;

Tensor unary(Value (*fn)(Value), Tensor x) {
  return run({std::move(x)}, [&](std::vector<Value>& in) { return fn(in[0]); });
}
Tensor binary(Value (*fn)(Value, Value), Tensor a, Tensor b) {
  return run({std::move(a), std::move(b)}, [&](std::vector<Value>& in) { return fn(in[0], in[1]); });
}

TEST(InterpUnary, SignFamily) {
  Tensor x = f64t({5}, {-2, -0.5, 0, 1.5, kNaN});
  expect_near(values(unary(neg, x)), {2, 0.5, 0, -1.5, kNaN});
  expect_near(values(unary(abs, x)), {2, 0.5, 0, 1.5, kNaN});
  expect_near(values(unary(sign, x)), {-1, -1, 0, 1, kNaN});
  expect_near(values(unary(relu, x)), {0, 0, 0, 1.5, kNaN});
  expect_near(values(unary(floor, x)), {-2, -1, 0, 1, kNaN});
  expect_near(values(unary(floor, f32t({2}, {2.5, -2.5}))), {2, -3});
  // relu(-0) is +0 and sign(-0) is 0.
  Tensor z = unary(relu, f32t({1}, {-0.0}));
  EXPECT_FALSE(std::signbit(z.data_as<float>()[0]));
  EXPECT_EQ(values(unary(sign, f32t({1}, {-0.0}))), std::vector<double>{0});
}

TEST(InterpUnary, Transcendental) {
  expect_near(values(unary(exp, f64t({3}, {0, 1, -1}))), {1, kE, 1 / kE}, 1e-15);
  expect_near(values(unary(log, f64t({5}, {1, kE, 0.5, 0, -1}))),
              {0, 1, -0.6931471805599453, -kInf, kNaN}, 1e-15);
  expect_near(values(unary(log1p, f64t({3}, {0, 1e-12, kE - 1}))), {0, 1e-12, 1}, 1e-15);
  expect_near(values(unary(sqrt, f64t({4}, {4, 2.25, 0, -1}))), {2, 1.5, 0, kNaN});
  expect_near(values(unary(rsqrt, f64t({3}, {4, 0.25, 0}))), {0.5, 2, kInf});
  // tanh(ln 3) = (3 - 1/3) / (3 + 1/3) = 0.8.
  expect_near(values(unary(tanh, f64t({3}, {0, std::log(3.0), -std::log(3.0)}))), {0, 0.8, -0.8},
              1e-15);
  // sigmoid(ln 3) = 1 / (1 + 1/3) = 0.75; no overflow at +-1000.
  expect_near(values(unary(sigmoid, f64t({5}, {0, std::log(3.0), -std::log(3.0), -1000, 1000}))),
              {0.5, 0.75, 0.25, 0, 1}, 1e-15);
  expect_near(values(unary(sigmoid, f32t({2}, {-100, 100}))), {0, 1});
  expect_near(values(unary(sin, f64t({3}, {0, kPi / 6, kPi / 2}))), {0, 0.5, 1}, 1e-15);
  expect_near(values(unary(cos, f64t({3}, {0, kPi / 3, kPi}))), {1, 0.5, -1}, 1e-15);
  // f32 computes in f32: exp(1) rounded to float.
  EXPECT_EQ(unary(exp, f32t({1}, {1})).data_as<float>()[0], std::exp(1.0f));
}

TEST(InterpUnary, IntegersWrap) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  Tensor x = i32t({4}, {kMin, -5, 0, 7});
  EXPECT_EQ(values(unary(neg, x)), (std::vector<double>{kMin, 5, 0, -7}));
  EXPECT_EQ(values(unary(abs, x)), (std::vector<double>{kMin, 5, 0, 7}));
  EXPECT_EQ(values(unary(sign, x)), (std::vector<double>{-1, -1, 0, 1}));
  Tensor y(DType::i64, {1});
  y.data_as<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(unary(neg, y).data_as<int64_t>()[0], std::numeric_limits<int64_t>::min());
}

TEST(InterpUnary, IdentitiesKeepEveryDType) {
  Tensor b = boolt({3}, {1, 0, 1});
  EXPECT_TRUE(unary(stop_gradient, b).same_as(b));
  EXPECT_TRUE(unary(barrier, b).same_as(b));
  Tensor x = f32t({2}, {kNaN, -3});
  EXPECT_TRUE(unary(barrier, x).same_as(x));
  EXPECT_TRUE(unary(stop_gradient, i64t({1}, {-9})).same_as(i64t({1}, {-9})));
}

TEST(InterpBinary, Broadcasting) {
  Tensor a = f32t({2, 1}, {1, 2});
  Tensor b = f32t({3}, {2, 4, 8});
  Tensor s = binary(add, a, b);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(s), (std::vector<double>{3, 5, 9, 4, 6, 10}));
  EXPECT_EQ(values(binary(sub, a, b)), (std::vector<double>{-1, -3, -7, 0, -2, -6}));
  EXPECT_EQ(values(binary(sub, b, a)), (std::vector<double>{1, 3, 7, 0, 2, 6}));
  EXPECT_EQ(values(binary(mul, a, b)), (std::vector<double>{2, 4, 8, 4, 8, 16}));
  EXPECT_EQ(values(binary(div, a, b)), (std::vector<double>{0.5, 0.25, 0.125, 1, 0.5, 0.25}));
  EXPECT_EQ(values(binary(pow, a, b)), (std::vector<double>{1, 1, 1, 4, 16, 256}));
  EXPECT_EQ(values(binary(maximum, a, f32t({3}, {0, 1.5, 3}))),
            (std::vector<double>{1, 1.5, 3, 2, 2, 3}));
  EXPECT_EQ(values(binary(minimum, a, f32t({3}, {0, 1.5, 3}))),
            (std::vector<double>{0, 1, 1, 0, 1.5, 2}));
  // Scalar and rank-3 broadcasting: [2,1,2] with [3,1] gives [2,3,2].
  Tensor c = f64t({2, 1, 2}, {1, 2, 3, 4});
  Tensor d = f64t({3, 1}, {10, 20, 30});
  EXPECT_EQ(values(binary(add, c, d)),
            (std::vector<double>{11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34}));
  EXPECT_EQ(values(binary(mul, f64t({}, {3}), d)), (std::vector<double>{30, 60, 90}));
  // A size-0 axis gives an empty result.
  EXPECT_EQ(binary(add, f32t({0, 1}, {}), b).shape(), (Shape{0, 3}));
}

TEST(InterpBinary, FloatEdgeCases) {
  expect_near(values(binary(div, f64t({3}, {1, -1, 0}), f64t({}, {0}))), {kInf, -kInf, kNaN});
  Tensor a = f64t({4}, {1, kNaN, 3, kNaN});
  Tensor b = f64t({4}, {2, 0, kNaN, kNaN});
  expect_near(values(binary(maximum, a, b)), {2, kNaN, kNaN, kNaN});
  expect_near(values(binary(minimum, a, b)), {1, kNaN, kNaN, kNaN});
  expect_near(values(binary(pow, f64t({3}, {-8, 0, 2}), f64t({3}, {1.0 / 3, 0, -1}))),
              {kNaN, 1, 0.5});
  // maximum(-0, +0) = +0 and minimum(-0, +0) = -0, in either order.
  Tensor nz = f32t({2}, {-0.0, 0.0}), pz = f32t({2}, {0.0, -0.0});
  Tensor mx = binary(maximum, nz, pz), mn = binary(minimum, nz, pz);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(std::signbit(mx.data_as<float>()[i]));
    EXPECT_TRUE(std::signbit(mn.data_as<float>()[i]));
  }
}

TEST(InterpBinary, IntegersWrap) {
  constexpr double kMax32 = std::numeric_limits<int32_t>::max();
  constexpr double kMin32 = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values(binary(add, i32t({2}, {kMax32, 5}), i32t({}, {1}))),
            (std::vector<double>{kMin32, 6}));
  EXPECT_EQ(values(binary(sub, i32t({1}, {kMin32}), i32t({1}, {1}))), std::vector<double>{kMax32});
  // 65536 * 65536 = 2^32 wraps to 0; 65537 * 65537 = 2^32 + 2^17 + 1 wraps to 131073.
  EXPECT_EQ(values(binary(mul, i32t({2}, {65536, 65537}), i32t({2}, {65536, 65537}))),
            (std::vector<double>{0, 131073}));
  Tensor big(DType::i64, {1});
  big.data_as<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(binary(add, big, i64t({1}, {1})).data_as<int64_t>()[0],
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(values(binary(maximum, i64t({3}, {-5, 2, 7}), i64t({3}, {-6, 3, 7}))),
            (std::vector<double>{-5, 3, 7}));
  EXPECT_EQ(values(binary(minimum, i32t({2}, {-5, 2}), i32t({1}, {0}))),
            (std::vector<double>{-5, 0}));
}

TEST(InterpCompare, IeeeAndBroadcast) {
  Tensor a = f32t({3}, {1, 2, kNaN});
  Tensor b = f32t({3}, {2, 2, kNaN});
  EXPECT_EQ(binary(less, a, b).dtype(), DType::bool_);
  EXPECT_EQ(values(binary(less, a, b)), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(values(binary(less_equal, a, b)), (std::vector<double>{1, 1, 0}));
  EXPECT_EQ(values(binary(greater, a, b)), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(values(binary(greater_equal, a, b)), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(values(binary(equal, a, b)), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(values(binary(not_equal, a, b)), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(values(binary(greater, i32t({2, 1}, {0, 5}), i32t({3}, {-1, 0, 9}))),
            (std::vector<double>{1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(values(binary(equal, boolt({2}, {1, 0}), boolt({2, 1}, {1, 0}))),
            (std::vector<double>{1, 0, 0, 1}));
  EXPECT_EQ(values(binary(not_equal, boolt({2}, {1, 0}), boolt({}, {0}))),
            (std::vector<double>{1, 0}));
}

TEST(InterpSelect, BroadcastsAllThree) {
  Tensor c = boolt({2, 1}, {1, 0});
  Tensor r = run({c, f32t({3}, {1, 2, 3}), f32t({}, {9})},
                 [](std::vector<Value>& in) { return select(in[0], in[1], in[2]); });
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(r), (std::vector<double>{1, 2, 3, 9, 9, 9}));
  Tensor b = run({boolt({3}, {0, 1, 0}), boolt({3}, {1, 1, 1}), boolt({3}, {0, 0, 0})},
                 [](std::vector<Value>& in) { return select(in[0], in[1], in[2]); });
  EXPECT_EQ(values(b), (std::vector<double>{0, 1, 0}));
}

Tensor cast_to(Tensor x, DType t) {
  return run({std::move(x)}, [&](std::vector<Value>& in) { return cast(in[0], t); });
}

TEST(InterpCast, Semantics) {
  constexpr double kMax32 = std::numeric_limits<int32_t>::max();
  constexpr double kMin32 = std::numeric_limits<int32_t>::min();
  // float -> int: toward zero, saturating, NaN -> 0.
  EXPECT_EQ(values(cast_to(f32t({6}, {1e10, -1e10, kNaN, -2.7, 2.7, kInf}), DType::i32)),
            (std::vector<double>{kMax32, kMin32, 0, -2, 2, kMax32}));
  Tensor l = cast_to(f64t({3}, {1e300, -1e300, -kInf}), DType::i64);
  EXPECT_EQ(l.data_as<int64_t>()[0], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(l.data_as<int64_t>()[1], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(l.data_as<int64_t>()[2], std::numeric_limits<int64_t>::min());
  // int -> int wraps: 2^32 + 1 -> 1, 2^31 -> INT32_MIN; i32 -> i64 sign-extends.
  EXPECT_EQ(values(cast_to(i64t({3}, {4294967297.0, 2147483648.0, -1}), DType::i32)),
            (std::vector<double>{1, kMin32, -1}));
  EXPECT_EQ(values(cast_to(i32t({2}, {-7, kMax32}), DType::i64)),
            (std::vector<double>{-7, kMax32}));
  // -> bool is v != 0 (NaN is true); bool -> number is 0 or 1.
  EXPECT_EQ(values(cast_to(f32t({4}, {0, -0.0, kNaN, 0.25}), DType::bool_)),
            (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(values(cast_to(i32t({2}, {0, -3}), DType::bool_)), (std::vector<double>{0, 1}));
  EXPECT_EQ(values(cast_to(boolt({2}, {1, 0}), DType::f64)), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(cast_to(boolt({2}, {1, 0}), DType::i64)), (std::vector<double>{1, 0}));
  // f64 -> f32 rounds to nearest and overflows to inf; int -> float is exact here.
  expect_near(values(cast_to(f64t({3}, {1e300, 0.1, -1e300}), DType::f32)),
              {kInf, static_cast<float>(0.1), -kInf}, 0);
  EXPECT_EQ(values(cast_to(i64t({1}, {-123456789}), DType::f64)),
            std::vector<double>{-123456789});
  Tensor same = f32t({2}, {1.5, kNaN});
  EXPECT_TRUE(cast_to(same, DType::f32).same_as(same));
}

}  // namespace
}  // namespace nabla
