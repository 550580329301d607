// Differential tests of the matmul kernel against the interpreter: plain and
// batched, every combination of the transpose flags, f32, f64, i32 and i64,
// sizes 1, 0, primes, sizes that do not divide the vector width or the
// register tile, and tiles that span several column panels.
// Tolerance: none without fast-math (each element sums its products in the
// interpreter's order, with separate multiply and add); with fast-math the
// multiply-adds are fused, and the test bounds the difference by
// K * eps * sum_p |a_ip| |b_pj| (the FMA and plain rounding errors of a dot
// product of length K).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include <fmt/format.h>

#include "nabla/ir/interpreter.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

struct Dims {
  int64_t m, k, n;
};
const std::vector<Dims> kDims = {{1, 1, 1}, {7, 13, 5}, {6, 4, 32}, {13, 17, 33}, {33, 40, 17},
                                 {2, 3, 129}, {64, 31, 10}, {5, 0, 3}, {0, 4, 3}, {3, 4, 0}};

void add_matmuls(DiffBatch& batch, DType t, Shape lead, const Dims& d) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = lead, sb = lead;
      sa.push_back(ta ? d.k : d.m);
      sa.push_back(ta ? d.m : d.k);
      sb.push_back(tb ? d.n : d.k);
      sb.push_back(tb ? d.k : d.n);
      Value a = batch.input({t, sa});
      Value b = batch.input({t, sb});
      batch.result(matmul(a, b, ta, tb), fmt::format("matmul {}{} x {} ({}{})", dtype_name(t),
                                                     shape_to_string(sa), shape_to_string(sb), ta ? "T" : "N",
                                                     tb ? "T" : "N"));
    }
}

TEST(BackendMatmul, PlainWithEveryTransposeCombination) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64}) {
    DiffBatch batch;
    for (const Dims& d : kDims) add_matmuls(batch, t, {}, d);
    batch.check(101, test::test_options());
  }
}

TEST(BackendMatmul, Batched) {
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    add_matmuls(batch, t, {3}, {5, 7, 19});
    add_matmuls(batch, t, {2, 2}, {4, 3, 33});
    add_matmuls(batch, t, {1}, {9, 2, 1});
    add_matmuls(batch, t, {0}, {3, 3, 3});
    batch.check(102, test::test_options());
  }
}

TEST(BackendMatmul, SpansSeveralPanelsAndThreads) {
  // 300 columns are three panels of the f32 kernel; run with two threads too.
  for (int threads : {1, 2}) {
    DiffBatch batch;
    add_matmuls(batch, DType::f32, {}, {70, 45, 300});
    add_matmuls(batch, DType::f64, {2}, {30, 20, 150});
    batch.check(103, test::test_options(threads));
  }
}

// |got - want| <= K * eps * sum_p |a_ip b_pj| + tiny, for C = A B.
void expect_within_dot_bound(const Tensor& a, const Tensor& b, const Tensor& got, const Tensor& want,
                             int64_t m, int64_t k, int64_t n, double eps) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double scale = 0;
      for (int64_t p = 0; p < k; ++p) scale += std::abs(a.get(i * k + p) * b.get(p * n + j));
      double bound = static_cast<double>(k) * eps * scale + 1e-300;
      ASSERT_LE(std::abs(got.get(i * n + j) - want.get(i * n + j)), bound) << "at " << i << "," << j;
    }
}

TEST(BackendMatmul, FastMathFusesMultiplyAddsWithinTheDotProductBound) {
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    Value a = batch.input({t, {37, 53}});
    Value b = batch.input({t, {53, 41}});
    batch.result(matmul(a, b), "matmul");
    std::vector<Tensor> in = batch.random_inputs(104, 0.0);
    CompileOptions o = test::test_options();
    o.fast_math = true;
    Executable exe = compile(batch.f(), o);
    std::vector<Tensor> got = exe.run(in);
    std::vector<Tensor> want = interpret(batch.f(), in);
    expect_within_dot_bound(in[0], in[1], got[0], want[0], 37, 53, 41, t == DType::f32 ? FLT_EPSILON : DBL_EPSILON);
  }
}

}  // namespace
}  // namespace nabla
