// Interpreter: conv2d with stride, padding, dilation and groups (1x1 and
// depthwise included), its two transposes (checked as transposes: <conv2d(x,
// w), g> = <x, conv2d_input_grad(g, w)> = <w, conv2d_weight_grad(x, g)>, in
// f64, over many geometries), max and avg pooling with ties and padding, and
// the construction errors, verbatim.
#include <cmath>
#include <limits>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
using V = std::vector<double>;

std::vector<double> iota(int64_t n, double from = 1) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = from + static_cast<double>(i);
  return v;
}

Tensor conv(Tensor x, Tensor w, const Conv2DOptions& o = {}) {
  return run({std::move(x), std::move(w)}, [&](std::vector<Value>& in) { return conv2d(in[0], in[1], o); });
}

TEST(InterpConv, StridePaddingDilation) {
  Tensor x = f32t({1, 1, 3, 3}, iota(9));
  Tensor w = f32t({1, 1, 2, 2}, {1, 0, 0, -1});  // y = x[i, j] - x[i + 1, j + 1]
  Tensor y = conv(x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values(y), (V{-4, -4, -4, -4}));
  EXPECT_EQ(values(conv(x, w, {.padding = {1, 1, 1, 1}})),
            (V{-1, -2, -3, 0, -4, -4, -4, 3, -7, -4, -4, 6, 0, 7, 8, 9}));
  EXPECT_EQ(values(conv(x, w, {.stride = {2, 2}, .padding = {1, 1, 1, 1}})), (V{-1, -3, -7, -4}));
  EXPECT_EQ(values(conv(x, w, {.dilation = {2, 2}})), V{-8});  // x[0, 0] - x[2, 2]
  // Asymmetric padding: one row on top only.
  EXPECT_EQ(values(conv(x, w, {.padding = {1, 0, 0, 0}})), (V{-2, -3, -4, -4, -4, -4}));
}

TEST(InterpConv, GroupsOneByOneAndDepthwise) {
  Tensor x = f64t({1, 2, 2, 2}, iota(8));
  // Depthwise (groups = channels): each channel scaled by its own weight.
  EXPECT_EQ(values(conv(x, f64t({2, 1, 1, 1}, {2, 3}), {.groups = 2})), (V{2, 4, 6, 8, 15, 18, 21, 24}));
  // 1x1 mixing the channels: x0 - x1.
  EXPECT_EQ(values(conv(x, f64t({1, 2, 1, 1}, {1, -1}))), (V{-4, -4, -4, -4}));
  // Two groups of two output channels each: out channel 3 = 10 * channel 1.
  Tensor y = conv(x, f64t({4, 1, 1, 1}, {1, -1, 1, 10}), {.groups = 2});
  EXPECT_EQ(values(y), (V{1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8, 50, 60, 70, 80}));
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.get(i) * b.get(i);
  return s;
}

Tensor random(Shape s, uint64_t seed) {
  Tensor t(DType::f64, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, std::sin(static_cast<double>(seed * 7919 + i)));
  return t;
}

TEST(InterpConv, TheGradientsAreTheTransposes) {
  struct Case { Shape x, w; Conv2DOptions o; };
  const Case cases[] = {
      {{2, 3, 5, 6}, {4, 3, 3, 3}, {}},
      {{1, 2, 7, 5}, {2, 2, 3, 2}, {.stride = {2, 3}, .padding = {1, 0, 2, 1}}},
      {{2, 4, 6, 6}, {4, 2, 2, 2}, {.stride = {2, 1}, .padding = {1, 1, 0, 0}, .dilation = {2, 1}, .groups = 2}},
      {{1, 3, 4, 4}, {3, 1, 3, 3}, {.padding = {1, 1, 1, 1}, .groups = 3}},  // depthwise
      {{2, 5, 3, 4}, {6, 5, 1, 1}, {.stride = {2, 2}}},                      // 1x1, strided
  };
  for (const Case& c : cases) {
    Module m;
    Function& f = m.function("t");
    Value x = f.input("x", f64(c.x)), w = f.input("w", f64(c.w));
    Value y = conv2d(x, w, c.o);
    Value g = f.input("g", y->type());
    f.output(y);
    f.output(conv2d_input_grad(g, w, c.x, c.o));
    f.output(conv2d_weight_grad(x, g, c.w, c.o));
    Tensor tx = random(c.x, 1), tw = random(c.w, 2), tg = random(y->shape(), 3);
    std::vector<Tensor> args{tx, tw, tg};
    std::vector<Tensor> r = interpret(f, args);
    double yg = dot(r[0], tg);
    EXPECT_NEAR(dot(tx, r[1]), yg, 1e-12 * std::max(1.0, std::abs(yg))) << shape_to_string(c.x);
    EXPECT_NEAR(dot(tw, r[2]), yg, 1e-12 * std::max(1.0, std::abs(yg))) << shape_to_string(c.x);
  }
}

Tensor pool(Value (*fn)(Value, std::vector<int64_t>, const Pool2DOptions&), Tensor x, std::vector<int64_t> window,
            Pool2DOptions o = {}) {
  return run({std::move(x)}, [&](std::vector<Value>& in) { return fn(in[0], window, o); });
}

// x = [[1, 2, 5, 5], [3, 4, 0, 5], [9, 8, 7, 6], [-1, 0, 6, 7]]
Tensor image() { return f32t({1, 1, 4, 4}, {1, 2, 5, 5, 3, 4, 0, 5, 9, 8, 7, 6, -1, 0, 6, 7}); }

TEST(InterpConv, PoolingTiesAndPadding) {
  Pool2DOptions s2{.stride = {2, 2}};
  EXPECT_EQ(values(pool(max_pool2d, image(), {2, 2}, s2)), (V{4, 5, 9, 7}));
  Tensor at = pool(max_pool2d_argmax, image(), {2, 2}, s2);
  EXPECT_EQ(type_of(at), i64({1, 1, 2, 2}));
  EXPECT_EQ(values(at), (V{5, 2, 8, 10}));  // a tie goes to the first in the window
  EXPECT_EQ(values(pool(avg_pool2d, image(), {2, 2}, s2)), (V{2.5, 3.75, 4, 6.5}));
  // Padding: -inf for max, left out of the average's divisor.
  Pool2DOptions padded{.stride = {2, 2}, .padding = {1, 1, 1, 1}};
  EXPECT_EQ(values(pool(avg_pool2d, image(), {2, 2}, padded)), (V{1, 3.5, 5, 6, 4.75, 5.5, -1, 3, 7}));
  EXPECT_EQ(values(pool(max_pool2d, image(), {2, 2}, padded)), (V{1, 5, 5, 9, 8, 6, -1, 6, 7}));
  EXPECT_EQ(values(pool(max_pool2d_argmax, image(), {2, 2}, padded)), (V{0, 2, 3, 8, 9, 11, 12, 14, 15}));
  // Stride 1 (the default), integers, and a NaN, which wins its windows.
  EXPECT_EQ(values(pool(max_pool2d, tensor(DType::i32, {1, 1, 2, 3}, {1, 7, 2, -3, 0, 7}), {2, 2})), (V{7, 7}));
  Tensor nan = f32t({1, 1, 1, 3}, {1, std::numeric_limits<double>::quiet_NaN(), 2});
  EXPECT_EQ(values(pool(max_pool2d_argmax, nan, {1, 2})), (V{1, 1}));
  // Planes are pooled on their own: the second plane's positions count on.
  Tensor two = f64t({1, 2, 1, 2}, {3, 1, 0, 5});
  EXPECT_EQ(values(pool(max_pool2d_argmax, two, {1, 2})), (V{0, 3}));
}

TEST(InterpConv, ShapeErrors) {
  auto err = [](TensorType x, TensorType w, Conv2DOptions o = {}) {
    return error_of([&] {
      Module m;
      Function& f = m.function("e");
      conv2d(f.input("x", x), f.input("w", w), o);
    });
  };
  EXPECT_EQ(err(f32({1, 3, 3}), f32({1, 3, 1, 1})), "conv2d: x must be 4-D [N,C,H,W], got f32[1,3,3]");
  EXPECT_EQ(err(f32({1, 3, 3, 3}), f32({1, 3, 1})), "conv2d: weights must be 4-D [O,C/groups,kh,kw], got f32[1,3,1]");
  EXPECT_EQ(err(f32({1, 3, 4, 4}), f32({2, 1, 3, 3}), {.groups = 2}),
            "conv2d: the 3 channels of x f32[1,3,4,4] are not divisible by groups = 2");
  EXPECT_EQ(err(f32({1, 4, 4, 4}), f32({3, 2, 3, 3}), {.groups = 2}),
            "conv2d: the 3 output channels of weights f32[3,2,3,3] are not divisible by groups = 2");
  EXPECT_EQ(err(f32({1, 4, 4, 4}), f32({2, 4, 3, 3}), {.groups = 2}),
            "conv2d: weights f32[2,4,3,3] take 4 channels per group, but x f32[1,4,4,4] has 2 (groups = 2)");
  EXPECT_EQ(err(f32({1, 1, 2, 2}), f32({1, 1, 3, 3})),
            "conv2d: the window 3x3 is larger than the padded input 2x2 of f32[1,1,2,2]");
  EXPECT_EQ(err(f32({1, 1, 4, 4}), f32({1, 1, 3, 3}), {.dilation = {2, 2}}),
            "conv2d: the dilated window 5x5 is larger than the padded input 4x4 of f32[1,1,4,4]");
  EXPECT_EQ(err(i32({1, 1, 4, 4}), i32({1, 1, 3, 3})), "conv2d: expected a float operand (f32 or f64), got i32[1,1,4,4]");
  EXPECT_EQ(err(f32({1, 1, 4, 4}), f32({1, 1, 3, 3}), {.stride = {0, 1}}),
            "conv2d: stride must be 2 integers, each at least 1, got [0,1]");
  auto pool_err = [](TensorType x, std::vector<int64_t> window, Pool2DOptions o = {}) {
    return error_of([&] {
      Module m;
      max_pool2d(m.function("e").input("x", x), window, o);
    });
  };
  EXPECT_EQ(pool_err(f32({1, 1, 2, 2}), {3, 3}), "max_pool2d: the window 3x3 is larger than the padded input 2x2 of f32[1,1,2,2]");
  EXPECT_EQ(pool_err(f32({1, 1, 4, 4}), {2, 2}, {.padding = {2, 0, 0, 0}}),
            "max_pool2d: padding [2,0,0,0] is more than half the 2x2 window");
  EXPECT_EQ(pool_err(f32({4, 4}), {2, 2}), "max_pool2d: x must be 4-D [N,C,H,W], got f32[4,4]");
  EXPECT_EQ(pool_err(boolean({1, 1, 2, 2}), {1, 1}), "max_pool2d: expected a numeric operand, got bool[1,1,2,2]");
  EXPECT_EQ(error_of([] {
              Module m;
              Function& f = m.function("e");
              conv2d_input_grad(f.input("g", f32({1, 1, 3, 3})), f.input("w", f32({1, 1, 2, 2})), {1, 1, 3, 3});
            }),
            "conv2d_input_grad: g is f32[1,1,3,3], but conv2d of x f32[1,1,3,3] by weights f32[1,1,2,2] gives "
            "f32[1,1,2,2]");
}

}  // namespace
}  // namespace nabla
