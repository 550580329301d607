// Argument errors of Executable::run and compile: each is a clear nabla::Error
// and never a crash.
#include <gtest/gtest.h>

#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

Module two_inputs() {
  return test::make_function({f32({2, 3}), i32({3})}, [](std::vector<Value>& x) {
    return std::vector<Value>{x[0] * cast(x[1], DType::f32), sum(x[0])};
  });
}

std::string run_error(Executable& exe, std::vector<Tensor> in, std::vector<Tensor> out = {}) {
  return test::error_of([&] {
    if (out.empty()) exe.run(in);
    else exe.run(in, out);
  });
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
  EXPECT_EQ(run_error(exe, {x, y}), "(no error)");
}

// run() finds overlaps by one sweep over the arguments' byte ranges sorted by
// address; the messages are those of the pairwise checks.
TEST(BackendErrors, OverlapsInOneBuffer) {
  Module m = two_inputs();
  Executable exe = compile(m, "f", test::test_options());
  std::vector<float> buf(64, 1.f);
  auto at = [&](int64_t offset, DType t, Shape s) { return Tensor::view(buf.data() + offset, t, std::move(s)); };
  Tensor x = at(10, DType::f32, {2, 3}), y = at(11, DType::i32, {3});  // inputs may share bytes
  // Adjacent to x on both sides: no overlap.
  EXPECT_EQ(run_error(exe, {x, y}, {at(4, DType::f32, {2, 3}), at(16, DType::f32, {})}), "(no error)");
  EXPECT_EQ(run_error(exe, {x, y}, {at(5, DType::f32, {2, 3}), Tensor()}), "@f: output tensor 0 overlaps input %x0");
  EXPECT_EQ(run_error(exe, {x, y}, {at(15, DType::f32, {2, 3}), Tensor()}), "@f: output tensor 0 overlaps input %x0");
  // After y's end, inside x (which starts before y).
  EXPECT_EQ(run_error(exe, {x, y}, {at(30, DType::f32, {2, 3}), at(14, DType::f32, {})}),
            "@f: output tensor 1 overlaps input %x0");
  EXPECT_EQ(run_error(exe, {x, y}, {at(30, DType::f32, {2, 3}), at(12, DType::f32, {})}),
            "@f: output tensor 1 overlaps input %x0");
  EXPECT_EQ(run_error(exe, {x, y}, {at(30, DType::f32, {2, 3}), at(35, DType::f32, {})}),
            "@f: output tensors 0 and 1 overlap");
  EXPECT_EQ(run_error(exe, {x, y}, {at(30, DType::f32, {2, 3}), at(29, DType::f32, {})}), "(no error)");
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
