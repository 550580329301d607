// Large constants stay out of the generated code (CompileOptions::
// external_constant_bytes): the JIT defines each as an absolute symbol at the
// bytes the compiled function holds, read through the GOT. ba10's sparse
// Jacobian (some 165 MB of seeds and gather indices) once failed to link as
// "relocation ... out of range of Delta32 fixup" when they were data
// sections of the code's module. Every path that reads a constant is here:
// an operand of a kernel, a leaf of a fused region, a gather's index, a
// result, and a constant of a scan's body.
#include <gtest/gtest.h>

#include "nabla/compiler/aot.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr int64_t kN = 20000;  // 160,000 bytes per f64 or i64 constant

Tensor ramp(DType dtype, int64_t n, double scale, int64_t modulo) {
  Tensor t(dtype, {n});
  for (int64_t i = 0; i < n; ++i) t.set(i, scale * static_cast<double>((i * 7919) % modulo));
  return t;
}

// x [kN] -> (x * c + gather(x, idx), c, the scan of 3 steps y <- y * 0.5 + d).
Module with_large_constants() {
  return test::make_function({f64({kN})}, [](std::vector<Value>& x) {
    Function& f = *x[0]->function();
    Value c = constant(f, ramp(DType::f64, kN, 1e-3, 1000));
    Value idx = constant(f, ramp(DType::i64, kN, 1, kN));
    Value mixed = x[0] * c + gather(x[0], idx, 0);
    ScanOptions o;
    o.length = 3;
    ScanResult s = scan(
        [](std::span<const Value> carry, std::span<const Value>, std::span<const Value>) {
          Value d = constant(*carry[0]->function(), ramp(DType::f64, kN, 1e-2, 97));
          return ScanBodyResult{{carry[0] * 0.5 + d}, {}};
        },
        {x[0]}, {}, {}, o);
    return std::vector<Value>{mixed, c, s.carry[0]};
  });
}

std::vector<Tensor> inputs() { return {ramp(DType::f64, kN, 0.25, 313)}; }

TEST(BackendConstants, LargeConstantsStayOutOfTheCodeAndAgreeWithTheInterpreter) {
  Module m = with_large_constants();
  CompileOptions o = test::test_options();
  ASSERT_EQ(o.external_constant_bytes, int64_t{64} << 10);  // the default
  Executable exe = compile(m, "f", o);
  // c, idx and the body's d; c is read by the fused region and returned.
  EXPECT_EQ(exe.stats().num_external_constants, 3);
  EXPECT_EQ(exe.stats().external_constant_bytes, 3 * kN * 8);
  EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), inputs(), o), "");
}

TEST(BackendConstants, BelowTheThresholdOrWithItOffConstantsAreInTheCode) {
  Module m = with_large_constants();
  CompileOptions o = test::test_options();
  o.external_constant_bytes = 0;  // off: every constant in the module, as before
  EXPECT_EQ(compile(m, "f", o).stats().num_external_constants, 0);
  EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), inputs(), o), "");
  o.external_constant_bytes = kN * 8 + 1;  // just above their size
  EXPECT_EQ(compile(m, "f", o).stats().num_external_constants, 0);
  o.external_constant_bytes = kN * 8;  // exactly their size
  EXPECT_EQ(compile(m, "f", o).stats().num_external_constants, 3);
}

TEST(BackendConstants, TheCompiledFunctionKeepsItsConstantsAfterTheModuleIsGone) {
  Executable exe;
  {
    Module m = with_large_constants();
    exe = compile(m, "f", test::test_options());
  }
  Module again = with_large_constants();
  std::vector<Tensor> got = exe.run(inputs());
  std::vector<Tensor> want = test::reference_results(*again.find("f"), inputs());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "result " << i;
}

// A constant of zeros (from 4 KiB) takes no bytes of a nablac object: it is
// placed in a .bss section (compiler/kernel_builder.cpp). 256 KiB of zeros
// concatenated to x: the object stays far below them, and the code, JIT and
// object alike, reads zeros there.
Module with_zeros() {
  return test::make_function({f32({64, 256})}, [](std::vector<Value>& x) {
    Value zeros = constant(*x[0]->function(), Tensor(DType::f32, {256, 256}));
    return std::vector<Value>{concat(std::vector<Value>{x[0], zeros}, 0)};
  });
}

TEST(BackendConstants, ZerosTakeNoBytesOfTheObject) {
  Module m = with_zeros();
  AotOptions o;
  o.pipeline.pipeline = "";  // keep the constant
  EXPECT_LT(compile_ahead_of_time(m, o).object_bytes().size(), size_t{32} << 10);
  Module again = with_zeros();
  Tensor x(DType::f32, {64, 256});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, static_cast<double>(i % 97) - 48);
  CompileOptions jit = test::test_options();
  jit.pipeline = "";
  jit.external_constant_bytes = 0;  // the constant in the JIT's module too
  EXPECT_EQ(test::compare_with_interpreter(*again.find("f"), std::vector<Tensor>{x}, jit), "");
}

}  // namespace
}  // namespace nabla
