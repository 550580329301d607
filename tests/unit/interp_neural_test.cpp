// Interpreter: softmax, log_softmax, one_hot, cross_entropy (stability, NaN,
// label errors with their exact messages).
#include <cmath>
#include <limits>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kLn2 = std::log(2.0), kLn3 = std::log(3.0), kLn5 = std::log(5.0);

Tensor soft(Tensor x, int64_t axis = -1, bool log_form = false) {
  return run({std::move(x)}, [&](std::vector<Value>& in) {
    return log_form ? log_softmax(in[0], axis) : softmax(in[0], axis);
  });
}

TEST(InterpSoftmax, HandValues) {
  // exp of [0, ln 2, ln 5] is [1, 2, 5]; normalized by 8.
  expect_near(values(soft(f64t({3}, {0, kLn2, kLn5}))), {0.125, 0.25, 0.625}, 1e-15);
  expect_near(values(soft(f32t({3}, {0, kLn2, kLn5}))), {0.125, 0.25, 0.625}, 1e-6);
  expect_near(values(soft(f64t({3}, {0, kLn2, kLn5}), 0, true)),
              {std::log(0.125), std::log(0.25), std::log(0.625)}, 1e-15);
  // Along axis 0 of [[0, 0], [ln 3, ln 2]]: columns [1, 3]/4 and [1, 2]/3.
  Tensor m = f64t({2, 2}, {0, 0, kLn3, kLn2});
  expect_near(values(soft(m, 0)), {0.25, 1.0 / 3, 0.75, 2.0 / 3}, 1e-15);
  expect_near(values(soft(m, -2, true)),
              {std::log(0.25), std::log(1.0 / 3), std::log(0.75), std::log(2.0 / 3)}, 1e-15);
  // Along the last axis of the same: rows [1, 1]/2 and [3, 2]/5.
  expect_near(values(soft(m, 1)), {0.5, 0.5, 0.6, 0.4}, 1e-15);
  // Middle axis of a [2,2,1] tensor.
  expect_near(values(soft(f64t({2, 2, 1}, {0, kLn3, kLn2, 0}), 1)), {0.25, 0.75, 2.0 / 3, 1.0 / 3},
              1e-15);
}

TEST(InterpSoftmax, StableAndNaN) {
  // Shifting by 1000 changes nothing; exp(1000) alone would overflow.
  expect_near(values(soft(f64t({2}, {1000, 1000 + kLn3}))), {0.25, 0.75}, 1e-12);
  expect_near(values(soft(f32t({2}, {-1000, 0}), -1, true)), {-1000, 0});
  expect_near(values(soft(f64t({2}, {1000, 0}), -1, true)), {0, -1000});
  // A NaN anywhere in a row makes the whole row NaN; other rows are unaffected.
  expect_near(values(soft(f32t({2, 2}, {1, kNaN, 0, 0}))), {kNaN, kNaN, 0.5, 0.5});
  expect_near(values(soft(f32t({2}, {kNaN, 0}), -1, true)), {kNaN, kNaN});
}

TEST(InterpOneHot, ValuesAndDTypes) {
  Tensor l = i32t({3}, {2, 0, 1});
  Tensor h = run({l}, [](std::vector<Value>& in) { return one_hot(in[0], 3); });
  EXPECT_EQ(h.dtype(), DType::f32);
  EXPECT_EQ(h.shape(), (Shape{3, 3}));
  EXPECT_EQ(values(h), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0}));
  Tensor b = run({i64t({2, 2}, {0, 3, 3, 1})},
                 [](std::vector<Value>& in) { return one_hot(in[0], 4, DType::bool_); });
  EXPECT_EQ(b.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(values(b), (std::vector<double>{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0}));
  Tensor i = run({i32t({}, {1})}, [](std::vector<Value>& in) { return one_hot(in[0], 2, DType::i64); });
  EXPECT_EQ(i.shape(), Shape{2});
  EXPECT_EQ(values(i), (std::vector<double>{0, 1}));
}

TEST(InterpOneHot, LabelOutOfRange) {
  auto one = [](Tensor l) {
    return error_of([&] { run({l}, [](std::vector<Value>& in) { return one_hot(in[0], 3); }); });
  };
  EXPECT_EQ(one(i32t({3}, {0, 3, 1})), "one_hot: label 3 at index 1 is outside [0, 3)");
  EXPECT_EQ(one(i64t({2, 2}, {0, 1, 2, -1})), "one_hot: label -1 at index 3 is outside [0, 3)");
}

Tensor xent(Tensor logits, Tensor labels) {
  return run({std::move(logits), std::move(labels)},
             [](std::vector<Value>& in) { return cross_entropy(in[0], in[1]); });
}

TEST(InterpCrossEntropy, HandValues) {
  // Row 0: -log(5/8) = ln 1.6; row 1: -log(1/3) = ln 3; mean = ln(4.8) / 2.
  Tensor logits = f64t({2, 3}, {0, kLn2, kLn5, 0, 0, 0});
  for (Tensor labels : {i32t({2}, {2, 1}), i64t({2}, {2, 1})}) {
    Tensor l = xent(logits, labels);
    EXPECT_EQ(l.shape(), Shape{});
    EXPECT_EQ(l.dtype(), DType::f64);
    expect_near(values(l), {std::log(4.8) / 2}, 1e-15);
  }
  expect_near(values(xent(f32t({2, 3}, {0, kLn2, kLn5, 0, 0, 0}), i32t({2}, {0, 0}))),
              {(std::log(8.0) + kLn3) / 2}, 1e-6);
  // Stable for huge logits: -log(1/2) = ln 2 (and exactly 0 for a lone class).
  expect_near(values(xent(f32t({1, 2}, {1e4, 1e4}), i32t({1}, {1}))), {kLn2}, 1e-6);
  expect_near(values(xent(f64t({1, 2}, {-1000, 1000}), i32t({1}, {1}))), {0}, 1e-15);
  expect_near(values(xent(f64t({1, 2}, {-1000, 1000}), i32t({1}, {0}))), {2000}, 1e-15);
  EXPECT_EQ(values(xent(f32t({1, 1}, {123}), i64t({1}, {0}))), std::vector<double>{0});
  expect_near(values(xent(f64t({2, 2}, {0, kNaN, 0, 0}), i32t({2}, {0, 0}))), {kNaN});
  // No rows: the mean of nothing is NaN.
  expect_near(values(xent(f32t({0, 4}, {}), i32t({0}, {}))), {kNaN});
}

TEST(InterpCrossEntropy, LabelOutOfRange) {
  std::vector<double> zeros(40, 0.0);
  EXPECT_EQ(error_of([&] { xent(f32t({4, 10}, zeros), i32t({4}, {0, 9, 1, 12})); }),
            "cross_entropy: label 12 at index 3 is outside [0, 10)");
  EXPECT_EQ(error_of([&] { xent(f32t({4, 10}, zeros), i64t({4}, {-3, 9, 1, 12})); }),
            "cross_entropy: label -3 at index 0 is outside [0, 10)");
  EXPECT_EQ(error_of([&] { xent(f32t({4, 10}, zeros), i64t({4}, {10, 9, 1, 2})); }),
            "cross_entropy: label 10 at index 0 is outside [0, 10)");
}

}  // namespace
}  // namespace nabla
