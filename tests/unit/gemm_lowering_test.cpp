// matmul compiled through the generated GEMM (compiler/lower_matmul.cpp)
// against the interpreter: bit for bit without fast-math (exact sums), within
// a K-dependent tolerance with it (fused multiply-adds, blocked sums), on 1
// and 2 threads; tiny and integer products stay on the simple kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Inputs in [0.5, 1) (integers: 1 to 9, for the integer product): no cancellation, so relative
// tolerances are meaningful.
std::vector<Tensor> positive_inputs(const Function& f, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.0);
  std::vector<Tensor> in;
  for (const Node* x : f.inputs()) {
    std::vector<double> v(static_cast<size_t>(x->type().numel()));
    for (auto& e : v) e = is_float(x->dtype()) ? u(rng) : std::floor(u(rng) * 18) - 8;
    in.push_back(Tensor::from_doubles(x->dtype(), x->shape(), v));
  }
  return in;
}

Module matmul_module(DType t, Shape a, Shape b, bool ta, bool tb) {
  return test::make_function({{t, a}, {t, b}}, [&](std::vector<Value>& x) {
    return std::vector<Value>{matmul(x[0], x[1], ta, tb)};
  });
}

// Stored shapes of A and B for C[batch..., m, n] with depth k.
std::pair<Shape, Shape> stored(Shape batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  Shape a = batch, b = batch;
  a.push_back(ta ? k : m), a.push_back(ta ? m : k);
  b.push_back(tb ? n : k), b.push_back(tb ? k : n);
  return {a, b};
}

TEST(GemmLowering, ExactWithoutFastMathOnOneAndTwoThreads) {
  for (DType t : {DType::f32, DType::f64})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int threads : {1, 2}) {
          auto [a, b] = stored({}, 37, 70, 300, ta, tb);  // K over one block of packed B
          Module m = matmul_module(t, a, b, ta, tb);
          const Function& f = *m.find("f");
          EXPECT_EQ(test::compare_with_interpreter(f, positive_inputs(f, 1),
                                                   test::test_options(threads)),
                    "")
              << dtype_name(t) << " ta " << ta << " tb " << tb << " threads " << threads;
        }
}

TEST(GemmLowering, BatchedExact) {
  auto [a, b] = stored({2, 3}, 19, 33, 40, true, false);
  Module m = matmul_module(DType::f32, a, b, true, false);
  const Function& f = *m.find("f");
  EXPECT_EQ(test::compare_with_interpreter(f, positive_inputs(f, 2), test::test_options(2)), "");
}

TEST(GemmLowering, FastMathWithinTolerance) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto [a, b] = stored({}, 64, 90, 520, ta, tb);
      Module m = matmul_module(DType::f32, a, b, ta, tb);
      const Function& f = *m.find("f");
      CompileOptions o = test::test_options(2);
      o.fast_math = true;
      // Each result sums 520 positive products: relative error <= 520 eps (f32 eps 1.2e-7).
      EXPECT_EQ(test::compare_with_interpreter(f, positive_inputs(f, 3), o, {6.2e-5, 1.2e-13}), "")
          << "ta " << ta << " tb " << tb;
    }
}

std::string compiled_ir(const Module& m, const std::string& path) {
  CompileOptions o = test::test_options();
  o.dump_llvm_ir = path;
  compile(m, "f", o);
  return test::read_file(path);
}

TEST(GemmLowering, TinyAndIntegerProductsUseTheSimpleKernel) {
  std::string dir = NABLA_BINARY_DIR;
  auto [a, b] = stored({}, 40, 50, 60, false, false);
  EXPECT_NE(compiled_ir(matmul_module(DType::f32, a, b, false, false), dir + "/gemm_big.ll")
                .find("gemm.node"),
            std::string::npos);
  auto [ta, tb] = stored({}, 3, 4, 5, false, false);
  EXPECT_EQ(compiled_ir(matmul_module(DType::f32, ta, tb, false, false), dir + "/gemm_tiny.ll")
                .find("gemm.node"),
            std::string::npos);
  Module ints = matmul_module(DType::i32, a, b, false, false);
  EXPECT_EQ(compiled_ir(ints, dir + "/gemm_int.ll").find("gemm.node"), std::string::npos);
  const Function& f = *ints.find("f");
  EXPECT_EQ(test::compare_with_interpreter(f, positive_inputs(f, 4), test::test_options(2)), "");
}

// The GEMM's shared transpose carries its compile time, 30 us a lane squared
// (kWorkAttribute, compiler/codegen.h), by which the split compile deals the
// module's functions out (compiler/parallel_codegen.cpp).
TEST(GemmLowering, TheTransposeCarriesItsCompileTime) {
  auto [a, b] = stored({}, 40, 50, 60, false, true);
  CompileOptions o = test::test_options();
  o.dump_llvm_ir_unoptimized = std::string(NABLA_BINARY_DIR) + "/gemm_transpose_work.ll";
  compile(matmul_module(DType::f32, a, b, false, true), "f", o);
  std::string ir = test::read_file(o.dump_llvm_ir_unoptimized);
  std::string name = "@nabla.gemm.transpose.f32x";
  size_t at = ir.find(name);
  ASSERT_NE(at, std::string::npos);
  int lanes = std::stoi(ir.substr(at + name.size()));
  EXPECT_NE(ir.find("\"nabla-work\"=\"" + std::to_string(30 * lanes * lanes) + "\""), std::string::npos)
      << lanes << " lanes";
}

// Every function of a module (the entry, its kernels of each kind, the GEMM's
// functions, the tasks of parallel kernels) carries the same vector-width
// attributes: LLVM's X86 backend creates a subtarget for each distinct set in
// each part of a split compile (docs/performance.md, "Compile time").
TEST(GemmLowering, EveryFunctionHasTheSameVectorWidths) {
  auto [a, b] = stored({}, 64, 200, 300, false, true);
  Module m = test::make_function({{DType::f32, a}, {DType::f32, b}}, [&](std::vector<Value>& x) {
    Value y = matmul(x[0], x[1], false, true);
    return std::vector<Value>{softmax(y), sum(y * y, std::vector<int64_t>{0})};
  });
  CompileOptions o = test::test_options(2);
  o.dump_llvm_ir_unoptimized = std::string(NABLA_BINARY_DIR) + "/gemm_vector_widths.ll";
  compile(m, "f", o);
  std::string ir = test::read_file(o.dump_llvm_ir_unoptimized);
  auto attribute = [&](const std::string& group, const std::string& key) {
    size_t at = ir.find("attributes " + group + " = {");
    if (at == std::string::npos) return std::string("(no group)");
    std::string line = ir.substr(at, ir.find('\n', at) - at);
    size_t k = line.find("\"" + key + "\"=\"");
    if (k == std::string::npos) return std::string("(none)");
    k += key.size() + 4;
    return line.substr(k, line.find('"', k) - k);
  };
  std::set<std::string> sets;
  int defined = 0;
  for (size_t at = ir.find("\ndefine "); at != std::string::npos; at = ir.find("\ndefine ", at + 1)) {
    std::string line = ir.substr(at + 1, ir.find('\n', at + 1) - at - 1);
    std::string group = line.substr(line.rfind('#'), line.rfind(" {") - line.rfind('#'));
    sets.insert(attribute(group, "prefer-vector-width") + "/" + attribute(group, "min-legal-vector-width"));
    ++defined;
  }
  EXPECT_GE(defined, 6);  // the entry, the softmax, the reduction, the GEMM's driver, kernel and packing
  ASSERT_EQ(sets.size(), 1u) << *sets.begin() << ", " << *sets.rbegin();
  EXPECT_EQ(sets.begin()->substr(0, 4), "512/");  // min-legal-vector-width: the target's widest
  EXPECT_EQ(sets.begin()->find("(none)"), std::string::npos) << *sets.begin();
}

}  // namespace
}  // namespace nabla
