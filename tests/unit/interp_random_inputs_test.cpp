// random_inputs: determinism, value ranges per dtype, and label ranges found
// through the graph (cross_entropy, one_hot, value-preserving ops).
#include "nabla/ir/random_inputs.h"

#include <set>

#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;

TEST(RandomInputs, DeterministicPerSeedAndInput) {
  Module m;
  Function& f = m.function("f");
  f.input("a", f32({4, 5}));
  f.input("b", f64({3}));
  f.output(f.inputs()[0]);
  std::vector<Tensor> r1 = random_inputs(f, 7), r2 = random_inputs(f, 7), r3 = random_inputs(f, 8);
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(type_of(r1[0]), f32({4, 5}));
  EXPECT_EQ(type_of(r1[1]), f64({3}));
  EXPECT_TRUE(r1[0].same_as(r2[0]));
  EXPECT_TRUE(r1[1].same_as(r2[1]));
  EXPECT_FALSE(r1[0].same_as(r3[0]));
  // Input 1's values depend on its position, not on input 0's size.
  Module m2;
  Function& g = m2.function("g");
  g.input("a", f32({100}));
  g.input("b", f64({3}));
  g.output(g.inputs()[0]);
  EXPECT_TRUE(random_inputs(g, 7)[1].same_as(r1[1]));
}

TEST(RandomInputs, FloatsAndBools) {
  Module m;
  Function& f = m.function("f");
  f.input("x", f64({1000}));
  f.input("y", f32({1000}));
  f.input("k", boolean({1000}));
  f.output(f.inputs()[0]);
  std::vector<Tensor> r = random_inputs(f, 1);
  for (int which = 0; which < 2; ++which) {
    double lo = 2, hi = -2, sum = 0;
    for (double v : values(r[which])) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    EXPECT_GE(lo, -1.0);
    EXPECT_LE(hi, 1.0);
    EXPECT_LT(lo, -0.95);  // the whole range is used
    EXPECT_GT(hi, 0.95);
    EXPECT_LT(std::abs(sum / 1000), 0.1);
  }
  int trues = 0;
  for (double v : values(r[2])) {
    EXPECT_TRUE(v == 0 || v == 1);
    trues += v == 1;
  }
  EXPECT_GT(trues, 400);
  EXPECT_LT(trues, 600);
}

std::set<double> distinct(const Tensor& t) {
  std::vector<double> v = values(t);
  return {v.begin(), v.end()};
}

TEST(RandomInputs, LabelRangesFollowTheirUses) {
  Module m;
  Function& f = m.function("f");
  Value logits = f.input("logits", f32({200, 10}));
  Value labels = f.input("labels", i32({200}));
  Value flat = f.input("flat", i64({2, 100}));       // reaches one_hot through reshape
  Value both = f.input("both", i64({200}));          // one_hot depth 4 and cross_entropy C 10
  Value plain = f.input("plain", i32({300}));        // only added to: small range
  f.input("lonely", i64({50}));                      // unused
  f.output(cross_entropy(logits, labels));
  f.output(one_hot(reshape(flat, {200}), 3));
  f.output(cross_entropy(logits, cast(both, DType::i32)));
  f.output(one_hot(stop_gradient(both), 4));
  f.output(plain + plain);
  EXPECT_EQ(random_int_range(f, 1), (std::pair<int64_t, int64_t>{0, 9}));
  EXPECT_EQ(random_int_range(f, 2), (std::pair<int64_t, int64_t>{0, 2}));
  EXPECT_EQ(random_int_range(f, 3), (std::pair<int64_t, int64_t>{0, 3}));
  EXPECT_EQ(random_int_range(f, 4), (std::pair<int64_t, int64_t>{-10, 10}));
  EXPECT_EQ(random_int_range(f, 5), (std::pair<int64_t, int64_t>{-10, 10}));
  std::vector<Tensor> r = random_inputs(f, 3);
  EXPECT_EQ(distinct(r[1]), (std::set<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(distinct(r[2]), (std::set<double>{0, 1, 2}));
  EXPECT_EQ(distinct(r[3]), (std::set<double>{0, 1, 2, 3}));
  std::set<double> small = distinct(r[4]);
  EXPECT_EQ(*small.begin(), -10);
  EXPECT_EQ(*small.rbegin(), 10);
  EXPECT_EQ(small.size(), 21u);
  // So the function evaluates without a label error.
  EXPECT_EQ(interpret(f, r).size(), 5u);
}

TEST(RandomInputs, SelectBranchesAndCastsPassLabels) {
  Module m;
  Function& f = m.function("f");
  Value c = f.input("c", boolean({6}));
  Value a = f.input("a", i32({6}));
  Value b = f.input("b", i32({6}));
  Value k = f.input("k", i64({6}));
  f.output(one_hot(select(c, a, b), 5));
  f.output(one_hot(cast(cast(k, DType::f32), DType::i32), 5));  // through a float: not followed
  EXPECT_EQ(random_int_range(f, 1), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(random_int_range(f, 2), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(random_int_range(f, 3), (std::pair<int64_t, int64_t>{-10, 10}));
}

}  // namespace
}  // namespace nabla
