// The min reduction, erf, argmax/argmin, cumsum, gather and scatter_add,
// compiled, against the interpreter bit for bit, on 1 and 2 threads (with
// min_parallel_work 1, so that every kernel that can split does); scatter_add
// on 2 threads equal to 1 thread; index errors from the JIT with the
// interpreter's message and, through the raw entry, the status and details.
#include <gtest/gtest.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

// Floats with a share special_rate of 0, -0, 1, inf and NaN; indices in range.
std::vector<Tensor> inputs(DiffBatch& batch, uint64_t seed, double special_rate = 0.05) {
  std::vector<Tensor> in = nabla::random_inputs(batch.f(), seed);
  std::vector<Tensor> specials = batch.random_inputs(seed, special_rate);
  for (size_t i = 0; i < in.size(); ++i)
    if (is_float(in[i].dtype())) in[i] = specials[i];
  return in;
}

void check_both(DiffBatch& batch, uint64_t seed) {
  for (int n : {1, 2}) batch.check(inputs(batch, seed), test::split_everything(n));
}

class BackendAxis : public ::testing::TestWithParam<DType> {};

TEST_P(BackendAxis, MinErfArgAndCumSum) {
  DType t = GetParam();
  if (t == DType::bool_) GTEST_SKIP() << "numeric ops";
  {
    DiffBatch batch;
    // 16+: 8 lanes along a row; [19,10], [8,2], [2,3,15]: rows of 2 to 15, 8 rows at once and a tail
    for (Shape s : {Shape{5}, Shape{4, 3, 37}, Shape{2, 0, 3}, Shape{7, 16}, Shape{3, 71}, Shape{19, 10},
                    Shape{8, 2}, Shape{2, 3, 15}}) {
      Value x = batch.input({t, s});
      std::string where = std::string(dtype_name(t)) + shape_to_string(s);
      if (num_elements(s) > 0) batch.result(min(x), "min " + where);
      for (int64_t axis = 0; axis < static_cast<int64_t>(s.size()); ++axis) {
        std::string at = where + " axis " + std::to_string(axis);
        for (bool rev : {false, true})
          for (bool excl : {false, true})
            batch.result(cumsum(x, axis, rev, excl), "cumsum " + at + (rev ? " reverse" : "") + (excl ? " exclusive" : ""));
        if (s[axis] == 0) continue;
        batch.result(min(x, std::vector<int64_t>{axis}, true), "min " + at);
        batch.result(argmax(x, axis), "argmax " + at);
        batch.result(argmin(x, axis, true), "argmin " + at);
      }
      if (is_float(t)) batch.result(erf(x), "erf " + where);
    }
    check_both(batch, 11);
    if (is_float(t)) batch.check(inputs(batch, 12, 0.3), test::split_everything(2));  // many ties (0, 1, inf) and NaNs
  }
}

TEST_P(BackendAxis, GatherAndScatterAdd) {
  DType t = GetParam();
  {
    DiffBatch batch;
    Value x = batch.input({t, {6, 5, 33}});
    for (DType it : {DType::i32, DType::i64}) {
      for (Shape is : {Shape{}, Shape{7}, Shape{3, 4}}) {
        Value idx = batch.input({it, is});
        for (int64_t axis : {0, 1, -1}) {
          std::string at = std::string(dtype_name(it)) + shape_to_string(is) + " axis " + std::to_string(axis);
          Value g = gather(x, idx, axis);
          batch.result(g, "gather " + at);
          if (t == DType::bool_) continue;
          Value upd = batch.input(g->type());
          batch.result(scatter_add(x, idx, upd, axis), "scatter_add " + at);
        }
      }
    }
    Value empty = batch.input({t, {4, 0}});
    batch.result(gather(empty, batch.input({DType::i32, {3}}), 0), "gather of empty rows");
    if (t != DType::bool_) {  // rows of 10 < 16 columns: each task copies its whole block of base at once
      Value narrow = batch.input({t, {4, 3, 10}}), idx = batch.input({DType::i64, {5}});
      batch.result(scatter_add(narrow, idx, batch.input({t, {4, 5, 10}}), 1), "scatter_add narrow rows");
    }
    check_both(batch, 21);
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, BackendAxis, ::testing::ValuesIn(kAllDTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Many updates into few rows: each row sums hundreds of values, whose order
// decides the float result; 2 threads must give the 1-thread bits.
TEST(BackendAxisThreads, ScatterAddOnTwoThreadsIsBitEqualToOne) {
  Module m = test::make_function({f32({50, 64}), i32({4000}), f32({4000, 64})}, [](std::vector<Value>& x) {
    return std::vector<Value>{scatter_add(x[0], x[1], x[2] * 1000.0, 0)};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = nabla::random_inputs(f, 5);
  Executable one = compile(f, test::split_everything(1)), two = compile(f, test::split_everything(2));
  EXPECT_GT(two.stats().num_parallel_kernels, 0);
  Tensor a = one.run(in)[0], b = two.run(in)[0];
  EXPECT_EQ(test::compare_bits(b, a), "");
  EXPECT_EQ(test::compare_bits(a, interpret(f, in)[0]), "");
}

Module indexed(DType it, bool scatter) {
  return test::make_function({f32({4, 10}), {it, {2, 3}}, f32({4, 2, 3})}, [&](std::vector<Value>& x) {
    Value r = scatter ? scatter_add(x[0], x[1], x[2], 1) : gather(x[0], x[1], 1);
    return std::vector<Value>{r};
  });
}

TEST(BackendAxisErrors, IndexOutOfRangeIsTheInterpretersError) {
  for (DType it : {DType::i32, DType::i64})
    for (bool scatter : {false, true})
      for (int64_t bad : {int64_t{10}, int64_t{-11}, int64_t{1} << 40}) {
        if (it == DType::i32 && bad > (int64_t{1} << 31)) continue;
        Module m = indexed(it, scatter);
        Function& f = *m.find("f");
        std::vector<Tensor> in = nabla::random_inputs(f, 3);
        in[1].set(4, static_cast<double>(bad));
        std::string op = scatter ? "scatter_add" : "gather";
        std::string want = op + ": index " + std::to_string(bad) + " at position 4 is outside [-10, 10)";
        std::string got = test::compare_with_interpreter(f, in, test::split_everything(2));
        EXPECT_EQ(got, "") << want;
        EXPECT_EQ(test::error_of([&] { interpret(f, in); }), want);
      }
}

TEST(BackendAxisErrors, RawEntryReportsTheStatusAndDetails) {
  Module m = indexed(DType::i64, false);
  Function& f = *m.find("f");
  Executable exe = compile(f, test::split_everything(1));
  std::vector<Tensor> in = nabla::random_inputs(f, 3);
  in[1].set(2, -12);
  std::vector<Tensor> out{Tensor(DType::f32, {4, 2, 3})};
  nabla_context ctx{};
  EXPECT_EQ(test::call_entry(exe, in, out, &ctx), NABLA_INDEX_OUT_OF_RANGE);
  EXPECT_EQ(ctx.error.status, NABLA_INDEX_OUT_OF_RANGE);
  EXPECT_STREQ(ctx.error.op, "gather");
  EXPECT_EQ(ctx.error.value, -12);
  EXPECT_EQ(ctx.error.index, 2);
  EXPECT_EQ(ctx.error.bound, 10);
  char message[128];
  nabla_error_message(&ctx.error, message, sizeof message);
  EXPECT_STREQ(message, "gather: index -12 at position 2 is outside [-10, 10)");
  // A NULL context: the status alone.
  EXPECT_EQ(test::call_entry(exe, in, out, nullptr), NABLA_INDEX_OUT_OF_RANGE);
}

// The indices are checked even when the result is empty (no element is read).
TEST(BackendAxisErrors, IndicesOfAnEmptyGatherAreChecked) {
  Module m = test::make_function({f32({0, 3}), i32({2})}, [](std::vector<Value>& x) {
    return std::vector<Value>{gather(x[0], x[1], 1)};
  });
  Function& f = *m.find("f");
  std::vector<double> idx = {1, 3};
  std::vector<Tensor> in = {Tensor(DType::f32, {0, 3}), Tensor::from_doubles(DType::i32, {2}, idx)};
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::split_everything(1)), "");
  EXPECT_THROW(interpret(f, in), Error);
}

}  // namespace
}  // namespace nabla
