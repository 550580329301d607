// Matmul epilogue fusion (passes/fuse_matmul.h, compiler/gemm_epilogue.h):
// which products the pass fuses, and compiled results of fused products
// against the interpreter, bit for bit without fast-math: bias + relu, the
// relu derivative mask, the SGD update with weight decay, with transposes,
// edge sizes, several K blocks, batches, bool/int leaves, 1 and 2 threads,
// f32 and f64.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "nabla/compiler/compile.h"
#include "nabla/compiler/pipeline.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/passes/fuse_matmul.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using Build = std::function<std::vector<Value>(std::vector<Value>&)>;

// Floats uniform in [-1, 1] with one in 8 exactly 0 (so relu and the masks
// see both sides and ties); ints in [-3, 3]; bools half true.
std::vector<Tensor> signed_inputs(const Function& f, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<Tensor> in;
  for (const Node* x : f.inputs()) {
    std::vector<double> v(static_cast<size_t>(x->type().numel()));
    for (auto& e : v) {
      double r = u(rng);
      if (x->dtype() == DType::bool_) e = r > 0;
      else if (!is_float(x->dtype())) e = std::floor(r * 3.5);
      else e = rng() % 8 == 0 ? 0.0 : r;
    }
    in.push_back(Tensor::from_doubles(x->dtype(), x->shape(), v));
  }
  return in;
}

// Compiles the function on 1 and 2 threads (exact) and compares with the
// interpreter; expects `products` fused products.
void check_exact(const Module& m, int products, const std::string& what, unsigned seed = 1) {
  const Function& f = *m.find("f");
  EXPECT_EQ(test::fused_products(f), products) << what;
  std::vector<Tensor> in = signed_inputs(f, seed);
  for (int threads : {1, 2}) {
    CompileOptions o = test::test_options(threads);
    o.min_parallel_work = 1;
    EXPECT_EQ(test::compare_with_interpreter(f, in, o), "") << what << ", threads " << threads;
  }
}

// Stored shapes of A and B for C[batch..., m, n] with depth k.
std::pair<Shape, Shape> stored(Shape batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  Shape a = batch, b = batch;
  a.push_back(ta ? k : m), a.push_back(ta ? m : k);
  b.push_back(tb ? n : k), b.push_back(tb ? k : n);
  return {a, b};
}

struct Size {
  int64_t m, n, k;
};

// Primes, sizes off the 14 x 32 tile and the vector width, a K of several
// blocks (B in place: up to 1024 deep; packed: 256), a narrow N.
const Size kSizes[] = {{37, 70, 300}, {13, 29, 1031}, {64, 10, 512}, {97, 17, 64}, {1, 64, 64}};

TEST(GemmEpilogue, BiasReluExact) {
  for (DType t : {DType::f32, DType::f64})
    for (Size s : kSizes)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          auto [a, b] = stored({}, s.m, s.n, s.k, ta, tb);
          Module m = test::make_function({{t, a}, {t, b}, {t, {s.n}}}, [&](std::vector<Value>& x) {
            return std::vector<Value>{relu(matmul(x[0], x[1], ta, tb) + x[2])};
          });
          check_exact(m, 1, fmt::format("{} {}x{}x{} ta {} tb {}", dtype_name(t), s.m, s.n, s.k, ta, tb));
        }
}

TEST(GemmEpilogue, ReluMaskExact) {
  // Backprop through relu: G * W^T where the forward pre-activation is > 0.
  for (DType t : {DType::f32, DType::f64})
    for (Size s : kSizes) {
      auto [a, b] = stored({}, s.m, s.n, s.k, false, true);
      Module m = test::make_function({{t, a}, {t, b}, {t, {s.m, s.n}}}, [&](std::vector<Value>& x) {
        Value zero = scalar_like(x[2], 0.0);
        return std::vector<Value>{select(greater(x[2], zero), matmul(x[0], x[1], false, true), zero)};
      });
      check_exact(m, 1, fmt::format("{} {}x{}x{}", dtype_name(t), s.m, s.n, s.k));
    }
}

TEST(GemmEpilogue, SgdWeightDecayUpdateExact) {
  // W - lr * (X^T G + lambda W + lambda W), as build-grad writes it.
  for (DType t : {DType::f32, DType::f64})
    for (Size s : kSizes) {
      auto [a, b] = stored({}, s.m, s.n, s.k, true, false);
      Module m = test::make_function({{t, a}, {t, b}, {t, {s.m, s.n}}, {t, {}}}, [&](std::vector<Value>& x) {
        Value decay = scalar_like(x[2], 1e-4) * x[2];
        Value grad = matmul(x[0], x[1], true, false) + decay + decay;
        return std::vector<Value>{x[2] - x[3] * grad};
      });
      check_exact(m, 1, fmt::format("{} {}x{}x{}", dtype_name(t), s.m, s.n, s.k));
    }
}

TEST(GemmEpilogue, BatchedExact) {
  for (DType t : {DType::f32, DType::f64}) {
    auto [a, b] = stored({2, 3}, 19, 33, 40, true, false);
    // Leaves: a bias row, a full [2,3,M,N] term, a per-batch row [2,3,1,N],
    // a per-row column [M,1] (one element broadcast across the vector).
    Module m = test::make_function(
        {{t, a}, {t, b}, {t, {33}}, {t, {2, 3, 19, 33}}, {t, {2, 3, 1, 33}}, {t, {19, 1}}},
        [&](std::vector<Value>& x) {
          Value v = matmul(x[0], x[1], true, false) + x[2];
          return std::vector<Value>{relu(v * x[3] + x[4] - x[5])};
        });
    check_exact(m, 1, std::string("batched ") + std::string(dtype_name(t)));
  }
}

TEST(GemmEpilogue, BoolAndIntLeavesAndSingleOps) {
  // A bool mask and an i32 leaf cast to float inside the epilogue.
  Module m = test::make_function({{DType::f32, {45, 50}}, {DType::f32, {50, 67}}, {DType::bool_, {45, 67}},
                                  {DType::i32, {67}}},
                                 [&](std::vector<Value>& x) {
                                   Value p = matmul(x[0], x[1]);
                                   return std::vector<Value>{
                                       select(x[2], p, scalar_like(p, 0.0)) + cast(x[3], DType::f32)};
                                 });
  check_exact(m, 1, "bool and int leaves");
  // A single elementwise op as the user (fuse leaves it alone).
  Module single = test::make_function({{DType::f64, {23, 41}}, {DType::f64, {41, 29}}, {DType::f64, {23, 29}}},
                                      [&](std::vector<Value>& x) {
                                        return std::vector<Value>{maximum(matmul(x[0], x[1]), x[2])};
                                      });
  check_exact(single, 1, "single maximum");
}

// The product has other users: it stays a result of the fused node (a group
// of two), the GEMM stores it and the epilogue's value.
TEST(GemmEpilogue, ProductKeptBesideItsEpilogueExact) {
  for (DType t : {DType::f32, DType::f64})
    for (Size s : kSizes)
      for (bool tb : {false, true}) {
        auto [a, b] = stored({}, s.m, s.n, s.k, false, tb);
        // The forward layer and relu's mask (sibling regions: one group, both
        // in the epilogue), and exp of the product after them (libm: not an
        // epilogue), so the product stays a result; the group stands at relu.
        Module m = test::make_function({{t, a}, {t, b}, {t, {s.n}}, {t, {s.m, s.n}}}, [&](std::vector<Value>& x) {
          Value p = matmul(x[0], x[1], false, tb);
          Value h = relu(p + x[2]);
          Value zero = scalar_like(p, 0.0);
          Value mask = select(greater(p + x[2], zero), x[3], zero);
          return std::vector<Value>{h, mask, exp(p * scalar_like(p, 0.01))};
        });
        check_exact(m, 1, fmt::format("{} {}x{}x{} tb {}", dtype_name(t), s.m, s.n, s.k, tb));
      }
  // A reduction reads the product first: the group stands at the product.
  Module early = test::make_function({{DType::f32, {31, 40}}, {DType::f32, {40, 45}}, {DType::f32, {45}}},
                                     [&](std::vector<Value>& x) {
                                       Value p = matmul(x[0], x[1]);
                                       Value rows = sum(p, std::vector<int64_t>{1});
                                       return std::vector<Value>{rows, relu(p + x[2])};
                                     });
  check_exact(early, 1, "group at the product");
  // The product returned as well.
  Module returned = test::make_function({{DType::f64, {20, 33}}, {DType::f64, {33, 50}}}, [&](std::vector<Value>& x) {
    Value p = matmul(x[0], x[1]);
    return std::vector<Value>{p, relu(p)};
  });
  check_exact(returned, 1, "product returned");
  // The user needs a value made after the product from it (its row sums)
  // and something reads the product before: no place for the node.
  Module none = test::make_function({{DType::f32, {31, 40}}, {DType::f32, {40, 45}}}, [&](std::vector<Value>& x) {
    Value p = matmul(x[0], x[1]);
    Value rows = sum(p, std::vector<int64_t>{1}, true);
    return std::vector<Value>{relu(p - rows)};
  });
  check_exact(none, 0, "no place");
}

TEST(GemmEpilogue, FastMathWithinTolerance) {
  for (bool tb : {false, true}) {
    auto [a, b] = stored({}, 64, 90, 520, false, tb);
    Module m = test::make_function({{DType::f32, a}, {DType::f32, b}, {DType::f32, {90}}},
                                   [&](std::vector<Value>& x) {
                                     return std::vector<Value>{relu(matmul(x[0], x[1], false, tb) + x[2])};
                                   });
    const Function& f = *m.find("f");
    EXPECT_EQ(test::fused_products(f), 1);
    CompileOptions o = test::test_options(2);
    o.fast_math = true;
    o.min_parallel_work = 1;
    // Positive operands and bias (no cancellation): each result sums 521
    // positive terms, relative error <= 521 eps (f32 eps 1.2e-7).
    std::vector<Tensor> in = signed_inputs(f, 5);
    for (Tensor* t : {&in[0], &in[1], &in[2]})
      for (int64_t i = 0; i < t->numel(); ++i) t->set(i, std::abs(t->get(i)) + 0.5);
    EXPECT_EQ(test::compare_with_interpreter(f, in, o, {6.2e-5, 1.2e-13}), "") << "tb " << tb;
  }
}

// The products the pass must leave alone still compute the same results.
TEST(GemmEpilogue, PassLeavesOtherProducts) {
  auto count = [](const std::vector<TensorType>& in, const Build& build) {
    Module m = test::make_function(in, build);
    return test::fused_products(*m.find("f"));
  };
  TensorType x{DType::f32, {40, 60}}, w{DType::f32, {60, 50}};
  // libm in the user, a reduction, a broadcast of the product, integers, tiny products.
  EXPECT_EQ(count({x, w}, [](std::vector<Value>& v) { return std::vector<Value>{exp(matmul(v[0], v[1]))}; }), 0);
  EXPECT_EQ(count({x, w}, [](std::vector<Value>& v) { return std::vector<Value>{sum(relu(matmul(v[0], v[1])), {{1}})}; }), 0);
  EXPECT_EQ(count({{DType::f32, {40, 1}}, {DType::f32, {1, 50}}, {DType::f32, {3, 40, 50}}},
                  [](std::vector<Value>& v) { return std::vector<Value>{matmul(v[0], v[1]) + v[2]}; }), 0);
  EXPECT_EQ(count({{DType::i32, {40, 60}}, {DType::i32, {60, 50}}},
                  [](std::vector<Value>& v) { return std::vector<Value>{neg(matmul(v[0], v[1]))}; }), 0);
  EXPECT_EQ(count({{DType::f32, {8, 8}}, {DType::f32, {8, 8}}},
                  [](std::vector<Value>& v) { return std::vector<Value>{relu(matmul(v[0], v[1]))}; }), 0);
  // Batch axes broadcast in part ([1,3,1,N] against [2,3,M,N]): left alone, still right.
  Module partial = test::make_function({{DType::f32, {2, 3, 20, 30}}, {DType::f32, {2, 3, 30, 40}}, {DType::f32, {3, 1, 40}}},
                                       [](std::vector<Value>& v) { return std::vector<Value>{relu(matmul(v[0], v[1]) + v[2])}; });
  check_exact(partial, 0, "partial batch broadcast");
}

}  // namespace
}  // namespace nabla
