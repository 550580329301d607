// Argument errors of Executable::run and compile: each is a clear nabla::Error
// and never a crash.
#include <gtest/gtest.h>

#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace {

Module two_inputs() {
  return test::make_function({f32({2, 3}), i32({3})}, [](std::vector<Value>& x) {
    return std::vector<Value>{x[0] * cast(x[1], DType::f32), sum(x[0])};
  });
}

std::string run_error(Executable& exe, std::vector<Tensor> in, std::vector<Tensor> out = {}) {
  try {
    if (out.empty()) exe.run(in);
    else exe.run(in, out);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(BackendErrors, WrongArguments) {
  Module m = two_inputs();
  Executable exe = compile(m, "f", test::test_options());
  Tensor x(DType::f32, {2, 3}), y(DType::i32, {3});
  EXPECT_EQ(run_error(exe, {x}), "@f: expected 2 inputs, got 1");
  EXPECT_EQ(run_error(exe, {x, y, y}), "@f: expected 2 inputs, got 3");
  EXPECT_EQ(run_error(exe, {x, Tensor(DType::i64, {3})}), "@f: input %x1 expects i32[3], got i64[3]");
  EXPECT_EQ(run_error(exe, {Tensor(DType::f32, {3, 2}), y}), "@f: input %x0 expects f32[2,3], got f32[3,2]");
  EXPECT_EQ(run_error(exe, {Tensor(), y}), "@f: input %x0 expects f32[2,3], got no tensor");
  EXPECT_EQ(run_error(exe, {x, y}, {Tensor(DType::f32, {2, 3})}), "@f: expected 2 output tensors, got 1");
  EXPECT_EQ(run_error(exe, {x, y}, {Tensor(DType::f32, {2, 3}), Tensor(DType::f64, {})}),
            "@f: result 1 is f32[], but the output tensor is f64[]");
  // Outputs that overlap an input or each other.
  EXPECT_EQ(run_error(exe, {x, y}, {x, Tensor()}), "@f: output tensor 0 overlaps input %x0");
  Tensor shared(DType::f32, {2, 3});
  EXPECT_EQ(run_error(exe, {x, y}, {shared, Tensor::view(shared.data(), DType::f32, {})}),
            "@f: output tensors 0 and 1 overlap");
  // Misaligned caller memory.
  std::vector<std::byte> raw(64);
  EXPECT_EQ(run_error(exe, {Tensor::view(raw.data() + 1, DType::f32, {2, 3}), y}),
            "@f: input %x0 is not aligned to its element size (4 bytes)");
  // Still usable after all that.
  EXPECT_EQ(run_error(exe, {x, y}), "no error");
}

TEST(BackendErrors, CompileErrors) {
  Module m = two_inputs();
  EXPECT_THROW(
      {
        try {
          compile(m, "g");
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "compile: no function @g in the module (it has @f)");
          throw;
        }
      },
      Error);
  CompileOptions bad;
  bad.opt_level = 7;
  EXPECT_THROW(compile(m, "f", bad), Error);
  CompileOptions pipeline;
  pipeline.pipeline = "no-such-pass";
  EXPECT_THROW(compile(m, "f", pipeline), Error);
  EXPECT_THROW(Executable().run(std::vector<Tensor>{}), Error);
}

TEST(BackendErrors, CompileDoesNotModifyTheModule) {
  Module m = two_inputs();
  size_t before = m.functions()[0]->size();
  compile(m, "f", test::test_options());
  EXPECT_EQ(m.functions()[0]->size(), before);
}

}  // namespace
}  // namespace nabla
