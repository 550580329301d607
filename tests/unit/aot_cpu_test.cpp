// nablac's code for its default CPU (x86-64: SSE2, no FMA), for x86-64-v3
// (AVX2 and FMA) and for this machine's, against the interpreter: exact code
// equals it bit for bit on every CPU, fast-math code stays within the dot
// product's bound; the multiply-adds of fast-math code fuse only where the
// CPU has FMA and never become calls of libm's fma; nablac's one warning
// says so (docs/nablac.md#targets-and-cpus).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <regex>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/random_inputs.h"
#include "tests/support/aot_runner.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

const std::string kDir = std::string(NABLA_BINARY_DIR) + "/aot_cpu_test/";

// The CPUs the test runs code for: the default, and on a machine with AVX2
// and FMA, x86-64-v3 and this machine's.
std::vector<std::string> cpus() {
  std::vector<std::string> out = {""};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.insert(out.end(), {"x86-64-v3", "native"});
  return out;
}

AotOptions aot_options(const std::string& cpu, bool fast_math) {
  AotOptions o;
  o.target.cpu = cpu;
  o.fast_math = fast_math;
  return o;
}

// C = A B for the sizes: 3 x 5 x 7 takes the simple emitter, 70 x 45 x 300
// the GEMM.
Module products() {
  return test::make_function({{DType::f32, {3, 5}}, {DType::f32, {5, 7}}, {DType::f32, {70, 45}},
                              {DType::f32, {45, 300}}},
                             [](std::vector<Value>& x) {
                               return std::vector<Value>{matmul(x[0], x[1]), matmul(x[2], x[3])};
                             });
}

// |got - want| <= K * eps * sum_p |a_ip b_pj| for each element of C = A B.
std::string within_dot_bound(const Tensor& a, const Tensor& b, const Tensor& got, const Tensor& want) {
  int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double scale = 0;
      for (int64_t p = 0; p < k; ++p) scale += std::abs(a.get(i * k + p) * b.get(p * n + j));
      double error = std::abs(got.get(i * n + j) - want.get(i * n + j));
      if (error > static_cast<double>(k) * FLT_EPSILON * scale)
        return "C[" + std::to_string(i) + "," + std::to_string(j) + "] is off by " + std::to_string(error);
    }
  return "";
}

TEST(AotCpu, ExactCodeEqualsTheInterpreterOnEveryCpu) {
  Module step = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp_step.nabla");
  Module mm = products();
  for (Function* f : {step.find("mlp_step"), mm.find("f")}) {
    std::vector<Tensor> in = random_inputs(*f, 11);
    for (const std::string& cpu : cpus())
      EXPECT_EQ(test::compare_aot_with_interpreter(*f, in, kDir + "exact", aot_options(cpu, false)), "")
          << "@" << f->name() << ", cpu '" << cpu << "'";
    EXPECT_EQ(test::compare_with_interpreter(*f, in, test::test_options()), "") << "@" << f->name() << ", JIT";
  }
}

TEST(AotCpu, FastMathProductsStayWithinTheDotProductBoundOnEveryCpu) {
  Module mm = products();
  const Function& f = *mm.find("f");
  std::vector<Tensor> in = random_inputs(f, 12);
  std::vector<Tensor> want = interpret(f, in);
  for (const std::string& cpu : cpus()) {
    std::vector<Tensor> got = test::run_ahead_of_time(f, in, kDir + "fast", aot_options(cpu, true));
    EXPECT_EQ(within_dot_bound(in[0], in[1], got[0], want[0]), "") << "cpu '" << cpu << "'";
    EXPECT_EQ(within_dot_bound(in[2], in[3], got[1], want[1]), "") << "cpu '" << cpu << "'";
  }
  CompileOptions o = test::test_options();
  o.fast_math = true;
  std::vector<Tensor> jit = compile(f, o).run(in);
  EXPECT_EQ(within_dot_bound(in[2], in[3], jit[1], want[1]), "") << "JIT";
}

// The training step's loss (its weights' updates are differences of nearly
// equal sums, which fast-math may round otherwise; the products' bound is
// checked above).
TEST(AotCpu, FastMathStepLossAgreesWithTheInterpreterOnEveryCpu) {
  Module step = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp_step.nabla");
  const Function& f = *step.find("mlp_step");
  std::vector<Tensor> in = random_inputs(f, 13);
  Tensor want = test::reference_results(f, in)[0];
  for (const std::string& cpu : cpus()) {
    Tensor got = test::run_ahead_of_time(f, in, kDir + "step", aot_options(cpu, true))[0];
    EXPECT_EQ(test::compare_tensors(got, want, {1e-6, 0}), "") << "cpu '" << cpu << "'";
  }
}

TEST(AotCpu, MultiplyAddsFuseOnlyWhereTheCpuHasFmaAndWarnWhereNot) {
  const std::string warning =
      "CPU 'x86-64' has no FMA instruction: the multiply-adds of the matrix products run as a multiply and an "
      "add; --cpu x86-64-v3 (x86 since Haswell and Zen) or --cpu native fuses them "
      "(docs/nablac.md#targets-and-cpus)";
  auto compile_for = [](const std::string& cpu, bool fast_math) {
    Module m = products();
    AotOptions o = aot_options(cpu, fast_math);
    o.target.triple = "x86_64-unknown-linux-gnu";
    AotModule aot = compile_ahead_of_time(m, o);
    return std::make_pair(aot.warnings(), aot.assembly_text());
  };
  auto [generic_warnings, generic_asm] = compile_for("", true);
  EXPECT_EQ(generic_warnings, std::vector<std::string>{warning});
  EXPECT_FALSE(std::regex_search(generic_asm, std::regex("fma"))) << "no FMA instruction, no call of fmaf";
  EXPECT_TRUE(std::regex_search(generic_asm, std::regex("\\bmulps\\b"))) << "multiplies";
  EXPECT_TRUE(std::regex_search(generic_asm, std::regex("\\baddps\\b"))) << "and adds";

  auto [v3_warnings, v3_asm] = compile_for("x86-64-v3", true);
  EXPECT_TRUE(v3_warnings.empty());
  EXPECT_TRUE(std::regex_search(v3_asm, std::regex("\\bvfmadd[0-9]+ps\\b"))) << "fused";

  auto [exact_warnings, exact_asm] = compile_for("x86-64-v3", false);
  EXPECT_TRUE(exact_warnings.empty());
  EXPECT_FALSE(std::regex_search(exact_asm, std::regex("fma"))) << "exact sums never fuse";
  EXPECT_TRUE(compile_for("", false).first.empty()) << "nothing to fuse, no warning";
}

}  // namespace
}  // namespace nabla
