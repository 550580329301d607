// The generated GEMM against a naive reference: every transpose combination,
// f32 and f64, sizes 1, primes and sizes around each block size (small forced
// blocks make crossing them cheap), batches, leading dimensions, beta, alpha,
// the epilogues and the task split over threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nabla/compiler/gemm.h"
#include "nabla/runtime/error.h"
#include "tests/support/gemm_runner.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using testing::AlignedBuffer;
using testing::CompiledGemm;
using testing::TestJit;

TestJit& jit() {
  static TestJit instance;
  return instance;
}

// Operands of one product, stored in the layout the spec describes, with
// sentinel values in the padding of C so that stray writes show.
template <class T>
struct Problem {
  GemmSpec spec;
  GemmPlan plan;
  std::vector<T> a, b, c, bias, d;

  explicit Problem(const GemmSpec& s, unsigned seed) : spec(s), plan(plan_gemm(s)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    auto fill = [&](std::vector<T>& v, int64_t n) {
      v.resize(static_cast<size_t>(std::max<int64_t>(n, 1)));
      for (auto& x : v) x = static_cast<T>(u(rng));
    };
    auto extent = [&](int64_t stride, int64_t rows, int64_t ld) {
      return stride * (s.batch - 1) + rows * ld;
    };
    fill(a, extent(plan.stride_a, s.trans_a ? s.K : s.M, plan.lda));
    fill(b, extent(plan.stride_b, s.trans_b ? s.N : s.K, plan.ldb));
    fill(c, extent(plan.stride_c, s.M, plan.ldc));
    fill(bias, s.N);
    fill(d, extent(plan.stride_d, s.M, plan.ldd));
  }

  T a_at(int64_t bt, int64_t m, int64_t k) const {
    int64_t base = bt * plan.stride_a;
    return a[base + (spec.trans_a ? k * plan.lda + m : m * plan.lda + k)];
  }
  T b_at(int64_t bt, int64_t k, int64_t n) const {
    int64_t base = bt * plan.stride_b;
    return b[base + (spec.trans_b ? n * plan.ldb + k : k * plan.ldb + n)];
  }

  // Runs the compiled product on a copy of c and compares every element of
  // C (and its untouched padding) with the reference.
  void check(const CompiledGemm& g, int threads = 1) const {
    std::vector<T> out = c;
    testing::run_gemm(g, a.data(), b.data(), out.data(), spec.bias ? bias.data() : nullptr,
                      spec.has_d ? d.data() : nullptr, threads);
    const double eps = std::numeric_limits<T>::epsilon();
    int64_t bad = 0;
    std::vector<bool> written(out.size(), false);
    for (int64_t bt = 0; bt < spec.batch; ++bt)
      for (int64_t m = 0; m < spec.M; ++m)
        for (int64_t n = 0; n < spec.N; ++n) {
          double sum = 0, mag = 0;
          for (int64_t k = 0; k < spec.K; ++k) {
            double p = static_cast<double>(a_at(bt, m, k)) * static_cast<double>(b_at(bt, k, n));
            sum += p;
            mag += std::abs(p);
          }
          size_t ci = static_cast<size_t>(bt * plan.stride_c + m * plan.ldc + n);
          double want = spec.alpha * sum;
          mag = std::abs(spec.alpha) * mag;
          if (spec.beta != 0) want += spec.beta * c[ci], mag += std::abs(spec.beta * c[ci]);
          if (spec.bias) want += bias[n], mag += std::abs(bias[n]);
          double dv = spec.has_d ? d[bt * plan.stride_d + m * plan.ldd + n] : 0;
          if (spec.has_d && !spec.d_relu_mask)
            want += spec.d_scale * dv, mag += std::abs(spec.d_scale * dv);
          if (spec.relu && !(want > 0)) want = 0;
          if (spec.d_relu_mask && !(dv > 0)) want = 0;
          double tol = 4 * eps * (mag + 1) * std::sqrt(static_cast<double>(spec.K) + 4);
          written[ci] = true;
          if (!(std::abs(out[ci] - want) <= tol) && bad++ < 5)
            ADD_FAILURE() << "C[" << bt << "][" << m << "," << n << "] = " << out[ci]
                          << ", expected " << want << " (tolerance " << tol << ")";
        }
    for (size_t i = 0; i < out.size(); ++i)
      if (!written[i] && out[i] != c[i] && bad++ < 5)
        ADD_FAILURE() << "element " << i << " outside C was overwritten";
    EXPECT_EQ(bad, 0) << describe();
  }

  std::string describe() const {
    return "batch " + std::to_string(spec.batch) + " M " + std::to_string(spec.M) + " N " +
           std::to_string(spec.N) + " K " + std::to_string(spec.K) + " ta " +
           std::to_string(spec.trans_a) + " tb " + std::to_string(spec.trans_b) + " mr " +
           std::to_string(plan.mr) + " nr " + std::to_string(plan.nr) + " pack_a " +
           std::to_string(plan.pack_a) + " pack_b " + std::to_string(plan.pack_b);
  }
};

// Compiles all specs in one module and checks each against the reference.
void check_all(const std::vector<GemmSpec>& specs, int threads = 1) {
  auto compiled = testing::compile_gemms(jit(), specs);
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE("spec " + std::to_string(i));
    if (specs[i].dtype == DType::f64)
      Problem<double>(specs[i], 17 + static_cast<unsigned>(i)).check(compiled[i], threads);
    else
      Problem<float>(specs[i], 17 + static_cast<unsigned>(i)).check(compiled[i], threads);
  }
}

GemmSpec spec(DType t, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  GemmSpec s;
  s.dtype = t;
  s.M = m, s.N = n, s.K = k;
  s.trans_a = ta, s.trans_b = tb;
  return s;
}

// Small blocks (2 register tiles, 2 vectors deep) so that modest sizes cross
// every block boundary with a remainder.
GemmTuning small_blocks(DType t) {
  int64_t lanes = t == DType::f32 ? 16 : 8;
  GemmTuning tune;
  tune.mr = 4, tune.nr = 2 * lanes;
  tune.mc = 8, tune.nc = 4 * lanes, tune.kc = 2 * lanes;
  return tune;
}

class GemmTransposes : public ::testing::TestWithParam<DType> {};

TEST_P(GemmTransposes, SizesOneAndPrimes) {
  std::vector<GemmSpec> specs;
  const int64_t sizes[][3] = {{1, 1, 1}, {1, 17, 5}, {7, 1, 3}, {3, 5, 1}, {13, 29, 31}, {37, 53, 41}, {2, 3, 67}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto& s : sizes) specs.push_back(spec(GetParam(), s[0], s[1], s[2], ta, tb));
  check_all(specs);
}

TEST_P(GemmTransposes, AcrossSmallBlocks) {
  DType t = GetParam();
  GemmTuning tune = small_blocks(t);
  std::vector<GemmSpec> specs;
  // Below, at and above mc, nc and kc, with and without edge tiles.
  const int64_t sizes[][3] = {{7, tune.nc - 3, tune.kc - 1}, {tune.mc, tune.nc, tune.kc},
                              {3 * tune.mc + 5, 2 * tune.nc + 7, 3 * tune.kc + 3},
                              {2 * tune.mc + 1, tune.nc + 1, tune.kc + 1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto& s : sizes)
        for (int pack : {0, 1}) {
          GemmSpec g = spec(t, s[0], s[1], s[2], ta, tb);
          g.tuning = tune;
          g.tuning.pack_a = g.tuning.pack_b = pack;
          specs.push_back(g);
        }
  check_all(specs);
}

TEST_P(GemmTransposes, AcrossDefaultBlocks) {
  // Default f32 blocks: kc 256 (packed B) or 1024, nc 512, mc 252; f64: kc 128 or 512.
  DType t = GetParam();
  std::vector<GemmSpec> specs;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) specs.push_back(spec(t, 263, 530, 263, ta, tb));
  check_all(specs);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GemmTransposes, ::testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Gemm, NarrowOutputsUseTheDirectPath) {
  // The MLP's 10-class layer: forward, and both backward products.
  std::vector<GemmSpec> specs = {spec(DType::f32, 64, 10, 512, false, false),
                                 spec(DType::f32, 512, 10, 64, true, false),
                                 spec(DType::f32, 64, 512, 10, false, true),
                                 spec(DType::f32, 5, 700, 33, false, false)};
  EXPECT_FALSE(plan_gemm(specs[0]).pack_a);
  EXPECT_FALSE(plan_gemm(specs[0]).pack_b);
  EXPECT_FALSE(plan_gemm(specs[1]).pack_b);
  check_all(specs);
}

TEST(Gemm, RowsCollidingInL1ArePacked) {
  // Rows of 4 KiB all map to one L1 set: A is packed; 3 KiB rows are read in place.
  GemmSpec s = spec(DType::f32, 30, 40, 1024, false, false);
  EXPECT_TRUE(plan_gemm(s).pack_a);
  EXPECT_FALSE(plan_gemm(spec(DType::f32, 30, 40, 768, false, false)).pack_a);
  check_all({s});
}

TEST(Gemm, BatchedWithStridesAndBroadcast) {
  std::vector<GemmSpec> specs;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmSpec s = spec(DType::f32, 19, 37, 23, ta, tb);
      s.batch = 3;
      specs.push_back(s);
      s.stride_b = 0;  // one B for every batch
      s.dtype = DType::f64;
      specs.push_back(s);
    }
  check_all(specs);
}

TEST(Gemm, LeadingDimensionsLargerThanRows) {
  std::vector<GemmSpec> specs;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmSpec s = spec(DType::f32, 21, 45, 35, ta, tb);
      s.lda = (ta ? 21 : 35) + 3;
      s.ldb = (tb ? 35 : 45) + 5;
      s.ldc = 45 + 19;
      s.batch = 2;
      s.stride_c = 21 * s.ldc + 7;
      specs.push_back(s);
    }
  check_all(specs);
}

TEST(Gemm, BetaAlphaAndEpilogues) {
  std::vector<GemmSpec> specs;
  for (DType t : {DType::f32, DType::f64})
    for (int variant = 0; variant < 6; ++variant) {
      GemmSpec s = spec(t, 29, 70, 75, variant % 2 == 1, variant % 3 == 1 || variant == 5);
      s.tuning = small_blocks(t);  // several K blocks: first/last block logic
      s.beta = variant == 0 ? 1.0 : variant == 1 ? 0.5 : 0.0;
      s.alpha = variant == 2 ? -0.25 : 1.0;
      s.bias = variant >= 2;
      s.relu = variant == 3 || variant == 4;
      s.has_d = variant == 2 || variant == 4 || variant == 5;
      s.d_relu_mask = variant == 5;  // relu's backward: (G W^T) * (H > 0)
      s.d_scale = variant == 4 ? 1.0 : 2e-3;
      specs.push_back(s);
      s.tuning = {};  // the same with one K block
      specs.push_back(s);
    }
  check_all(specs);
}

TEST(Gemm, TasksSplitOverThreads) {
  std::vector<GemmSpec> specs;
  for (int threads : {2, 3}) {
    GemmSpec s = spec(DType::f32, 64, 520, 100, false, false);
    s.threads = threads;
    specs.push_back(s);
    s = spec(DType::f32, 300, 10, 64, true, false);  // split over M
    s.threads = threads;
    specs.push_back(s);
    s = spec(DType::f64, 33, 47, 20, false, true);
    s.batch = 3;
    s.threads = threads;
    specs.push_back(s);
  }
  auto plan = plan_gemm(specs[0]);
  EXPECT_EQ(plan.num_tasks % 2, 0);
  EXPECT_GT(plan_gemm(specs[1]).tasks_m, 1);
  check_all(specs, 2);
  check_all(specs, 3);
}

TEST(Gemm, EmptyAndDepthZero) {
  GemmSpec k0 = spec(DType::f32, 5, 7, 0, false, false);
  k0.bias = true;
  GemmSpec k0b = spec(DType::f64, 3, 20, 0, true, true);
  k0b.beta = 1.0;
  check_all({k0, k0b});
  EXPECT_EQ(plan_gemm(spec(DType::f32, 0, 7, 3, false, false)).num_tasks, 0);
  EXPECT_EQ(plan_gemm(spec(DType::f32, 4, 0, 3, false, false)).num_tasks, 0);
}

TEST(Gemm, NarrowerVectors) {
  std::vector<GemmSpec> specs;
  for (int bits : {128, 256}) {
    GemmSpec s = spec(DType::f64, 23, 31, 29, false, true);
    s.vector_bits = bits;
    specs.push_back(s);
    s = spec(DType::f32, 23, 31, 29, true, false);
    s.vector_bits = bits;
    specs.push_back(s);
  }
  check_all(specs);
}

TEST(Gemm, BadSpecsAreErrors) {
  auto message = [](const GemmSpec& s) {
    try {
      plan_gemm(s);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(spec(DType::i32, 2, 2, 2, false, false)),
            "gemm: element type must be f32 or f64, got i32");
  GemmSpec s = spec(DType::f32, 4, 5, 6, false, false);
  s.lda = 5;
  EXPECT_EQ(message(s), "gemm: lda is 5, less than the row length 6");
  s = spec(DType::f32, -1, 5, 6, false, false);
  EXPECT_EQ(message(s), "gemm: negative size: batch 1 M -1 N 5 K 6");
  s = spec(DType::f32, 4, 5, 6, false, false);
  s.tuning.nr = 24;
  EXPECT_EQ(message(s), "gemm: tuning nr 24 is not a multiple of the vector width 16");
  s.tuning.nr = 64;
  s.tuning.mr = 10;
  EXPECT_EQ(message(s), "gemm: register tile 10x64 needs more than 32 registers");
}

}  // namespace
}  // namespace nabla

namespace nabla {
namespace NABLA_UNITY_ID {

// exact: C equals the plain loops `s = 0; for k: s += a * b` in the element
// type, then alpha * s (+ beta * C) (+ bias) (+ d_scale * D) (relu), bit for bit.
template <class T>
void check_exact(const GemmSpec& spec, unsigned seed) {
  Problem<T> p(spec, seed);
  auto g = testing::compile_gemms(jit(), {spec})[0];
  std::vector<T> out = p.c;
  testing::run_gemm(g, p.a.data(), p.b.data(), out.data(), spec.bias ? p.bias.data() : nullptr,
                    spec.has_d ? p.d.data() : nullptr);
  int64_t bad = 0;
  for (int64_t bt = 0; bt < spec.batch; ++bt)
    for (int64_t m = 0; m < spec.M; ++m)
      for (int64_t n = 0; n < spec.N; ++n) {
        T s = 0;
        for (int64_t k = 0; k < spec.K; ++k) {
          T prod = p.a_at(bt, m, k) * p.b_at(bt, k, n);
          s = s + prod;
        }
        size_t ci = static_cast<size_t>(bt * p.plan.stride_c + m * p.plan.ldc + n);
        T v = spec.alpha == 1.0 ? s : static_cast<T>(spec.alpha) * s;
        if (spec.beta != 0) {
          T old = p.c[ci];
          v = spec.beta == 1.0 ? old + v : v + static_cast<T>(spec.beta) * old;
        }
        if (spec.bias) v = v + p.bias[n];
        if (spec.has_d) {
          T dv = p.d[bt * p.plan.stride_d + m * p.plan.ldd + n];
          v = spec.d_scale == 1.0 ? v + dv : v + static_cast<T>(spec.d_scale) * dv;
        }
        if (spec.relu && !(v > 0)) v = 0;
        if (out[ci] != v && bad++ < 5)
          ADD_FAILURE() << "C[" << bt << "][" << m << "," << n << "] = " << out[ci] << ", exact "
                        << v << " (" << p.describe() << ")";
      }
  EXPECT_EQ(bad, 0);
}

TEST(Gemm, ExactEqualsThePlainLoopsBitForBit) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmSpec s = spec(DType::f32, 23, 45, 77, ta, tb);
      s.exact = true;
      check_exact<float>(s, 5);
      s.tuning = small_blocks(DType::f32);  // K in several blocks: the sum goes on through C
      check_exact<float>(s, 6);
      s.dtype = DType::f64;
      s.tuning = small_blocks(DType::f64);
      check_exact<double>(s, 7);
    }
  GemmSpec e = spec(DType::f32, 19, 37, 70, false, true);
  e.exact = true;
  e.tuning = small_blocks(DType::f32);
  e.alpha = -0.3, e.beta = 0.7, e.bias = true, e.has_d = true, e.d_scale = 0.01, e.relu = true;
  EXPECT_GE(plan_gemm(e).kc, 70);  // alpha and beta: one K block
  check_exact<float>(e, 8);
}

}  // namespace
}  // namespace nabla
