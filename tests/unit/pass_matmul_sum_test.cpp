// matmul-sum (passes/matmul_sum.h): the merged product has the value of the
// sum it replaces (to rounding: the additions happen in another order), for
// every combination of transpose flags, batched operands and chains.
#include <gtest/gtest.h>

#include <random>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/passes/matmul_sum.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::count_ops;

// [rows, cols] of an operand of k contraction entries, stored transposed when t.
Shape operand_shape(int64_t batch, int64_t outer, int64_t k, bool first, bool t) {
  Shape s = (first != t) ? Shape{outer, k} : Shape{k, outer};
  if (batch > 0) s.insert(s.begin(), batch);
  return s;
}

// sum over i of matmul(a_i, b_i) with contractions of ks[i] entries.
void check_sum(bool ta, bool tb, int64_t batch, const std::vector<int64_t>& ks) {
  Module m;
  Function& f = m.function("f");
  Value total;
  std::vector<Tensor> inputs;
  std::mt19937_64 rng(ks.size() * 7 + ta * 2 + tb);
  std::uniform_real_distribution<double> u(-1, 1);
  for (size_t i = 0; i < ks.size(); ++i) {
    int64_t k = ks[i];
    Value a = f.input("a" + std::to_string(i), f64(operand_shape(batch, 4, k, true, ta)));
    Value b = f.input("b" + std::to_string(i), f64(operand_shape(batch, 3, k, false, tb)));
    for (Value v : {a, b}) {
      Tensor t(DType::f64, v->shape());
      for (int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng));
      inputs.push_back(t);
    }
    Value p = matmul(a, b, ta, tb);
    total = total.node ? add(total, p) : p;
  }
  f.output(total);
  Tensor before = interpret(f, inputs)[0];
  EXPECT_TRUE(matmul_sum(f));
  EXPECT_EQ(count_ops(f, Op::MatMul), 1);
  EXPECT_EQ(count_ops(f, Op::Add), 0);
  EXPECT_EQ(count_ops(f, Op::Concat), 2);  // chains give one concat per side
  Tensor after = interpret(f, inputs)[0];
  ASSERT_EQ(after.numel(), before.numel());
  for (int64_t i = 0; i < before.numel(); ++i) EXPECT_NEAR(after.get(i), before.get(i), 1e-13) << i;
}

TEST(MatmulSum, EveryTransposeBatchedAndChained) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t batch : {0, 2}) {
        SCOPED_TRACE(testing::Message() << "ta " << ta << " tb " << tb << " batch " << batch);
        check_sum(ta, tb, batch, {2, 3});
        check_sum(ta, tb, batch, {1, 1, 1, 1});  // RK4's four outer products
      }
}

TEST(MatmulSum, ProductsReadElsewhereStay) {
  Module m;
  Function& f = m.function("f");
  Value a = f.input("a", f32({4, 2})), b = f.input("b", f32({2, 3}));
  Value p = matmul(a, b), r = matmul(a, b);
  Value q = matmul(b, a, true, true), s = matmul(a, b);  // [3,4]^T: flags differ from s's
  f.output(add(p, r));
  f.output(p);  // p is also a result
  f.output(add(transpose(q), s));
  EXPECT_FALSE(matmul_sum(f));
  EXPECT_EQ(count_ops(f, Op::Concat), 0);
}

}  // namespace
}  // namespace nabla
