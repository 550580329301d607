// Differential tests of softmax, log_softmax, cross_entropy and one_hot
// against the interpreter, with logits large enough that an unstable kernel
// would overflow; and the label checks done by the generated code: a label
// outside [0, bound) gives the interpreter's error, for the JIT and for the
// raw entry (status and details in the context).
// Tolerance: none (same operations in the same order as the interpreter).
#include <gtest/gtest.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

TEST(BackendNeural, SoftmaxAndLogSoftmaxOnEveryAxis) {
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    for (Shape s : {Shape{3, 4, 5}, Shape{1}, Shape{7, 1}, Shape{2, 0, 3}, Shape{4, 37}}) {
      Value x = batch.input({t, s});
      for (int64_t axis = 0; axis < static_cast<int64_t>(s.size()); ++axis) {
        std::string where = std::string(dtype_name(t)) + shape_to_string(s) + " axis " + std::to_string(axis);
        batch.result(softmax(x, axis), "softmax " + where);
        batch.result(log_softmax(x, axis), "log_softmax " + where);
      }
    }
    batch.check(batch.random_inputs(201), test::test_options());
    // Logits around +-1000 overflow exp unless the maximum is subtracted.
    batch.check(batch.random_inputs(202, 0.0, 500.0), test::test_options());
    batch.check(batch.random_inputs(203, 0.2), test::test_options());  // many infs and NaNs
  }
}

TEST(BackendNeural, CrossEntropyAndOneHotOnValidLabels) {
  for (DType t : {DType::f32, DType::f64}) {
    for (DType label : {DType::i32, DType::i64}) {
      DiffBatch batch;
      Value logits = batch.input({t, {13, 10}});
      Value labels = batch.input({label, {13}});
      batch.result(cross_entropy(logits, labels), "cross_entropy");
      batch.result(cross_entropy(logits * 300.0, labels), "cross_entropy of large logits");
      Value empty = batch.input({t, {0, 4}});
      batch.result(cross_entropy(empty, batch.input({label, {0}})), "cross_entropy over no rows");
      Value one = batch.input({t, {1, 1}});
      batch.result(cross_entropy(one, batch.input({label, {1}})), "one class");
      Value grid = batch.input({label, {2, 3}});
      for (DType out : kAllDTypes) batch.result(one_hot(grid, 5, out), "one_hot " + std::string(dtype_name(out)));
      batch.result(one_hot(batch.input({label, {}}), 1), "one_hot depth 1 of a scalar");
      batch.check(nabla::random_inputs(batch.f(), 204), test::test_options());
      batch.check(nabla::random_inputs(batch.f(), 205), test::test_options());
    }
  }
}

Module labelled(DType label, bool use_one_hot) {
  return test::make_function({f32({4, 10}), {label, {4}}}, [&](std::vector<Value>& x) {
    Value loss = use_one_hot ? sum(one_hot(x[1], 10) * x[0]) : cross_entropy(x[0], x[1]);
    return std::vector<Value>{exp(loss)};
  });
}

TEST(BackendNeural, LabelOutOfRangeIsTheInterpretersError) {
  for (DType label : {DType::i32, DType::i64})
    for (bool use_one_hot : {false, true})
      for (double bad : {10.0, -1.0, 12.0, -2147483648.0}) {
        Module m = labelled(label, use_one_hot);
        Tensor logits(DType::f32, {4, 10});
        Tensor labels = Tensor::from_doubles(label, {4}, std::vector<double>{1, 9, 0, bad});
        std::vector<Tensor> in{logits, labels};
        Executable exe = compile(m, "f", test::test_options());
        std::string want = std::string(use_one_hot ? "one_hot" : "cross_entropy") + ": label " +
                           std::to_string(static_cast<int64_t>(bad)) + " at index 3 is outside [0, 10)";
        try {
          exe.run(in);
          ADD_FAILURE() << "no error for label " << bad;
        } catch (const EvaluationError& e) {
          EXPECT_EQ(std::string(e.what()), want);
          ASSERT_NE(e.node(), nullptr);
          EXPECT_EQ(e.node()->op(), use_one_hot ? Op::OneHot : Op::CrossEntropy);
        }
        EXPECT_EQ(test::compare_with_interpreter(m.functions()[0][0], in, test::test_options()), "");
        // A good call afterwards works.
        labels.set(3, 2);
        EXPECT_NO_THROW(exe.run(in));
      }
}

TEST(BackendNeural, RawEntryReturnsTheStatusAndDetails) {
  Module m = labelled(DType::i64, false);
  Executable exe = compile(m, "f", test::test_options());
  float logits[40] = {};
  int64_t labels[4] = {0, 1, 55, 3};
  float result = 0;
  const void* inputs[] = {logits, labels};
  void* outputs[] = {&result};
  std::vector<std::byte> workspace(static_cast<size_t>(exe.workspace_bytes()) + 64);
  void* ws = workspace.data() + (64 - reinterpret_cast<uintptr_t>(workspace.data()) % 64) % 64;
  nabla_context ctx{};
  EXPECT_EQ(exe.entry()(inputs, outputs, ws, &ctx), NABLA_LABEL_OUT_OF_RANGE);
  EXPECT_EQ(ctx.error.status, NABLA_LABEL_OUT_OF_RANGE);
  EXPECT_STREQ(ctx.error.op, "cross_entropy");
  EXPECT_EQ(ctx.error.value, 55);
  EXPECT_EQ(ctx.error.index, 2);
  EXPECT_EQ(ctx.error.bound, 10);
  // Without a context the status alone comes back.
  EXPECT_EQ(exe.entry()(inputs, outputs, ws, nullptr), NABLA_LABEL_OUT_OF_RANGE);
  labels[2] = 9;
  EXPECT_EQ(exe.entry()(inputs, outputs, ws, nullptr), NABLA_OK);
}

}  // namespace
}  // namespace nabla
