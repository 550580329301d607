// Differential tests of reductions and layout kernels against the
// interpreter: sum, mean and max over every subset of axes, with and without
// keepdims; reshape, transpose, broadcast_to, slice and concat in every dtype.
// Tolerance: none (reductions accumulate in the interpreter's order).
#include <gtest/gtest.h>

#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

std::vector<std::vector<int64_t>> subsets(int64_t rank) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t mask = 0; mask < (int64_t{1} << rank); ++mask) {
    std::vector<int64_t> axes;
    for (int64_t a = 0; a < rank; ++a)
      if (mask & (int64_t{1} << a)) axes.push_back(a);
    out.push_back(axes);
  }
  return out;
}

std::string ints(const std::vector<int64_t>& v) { return shape_to_string(v); }

TEST(BackendReduce, EveryAxisSubsetWithAndWithoutKeepdims) {
  const std::vector<Shape> shapes = {{}, {1}, {19}, {3, 0}, {4, 1, 5}, {3, 5, 2, 17}};
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64}) {
    DiffBatch batch;
    for (const Shape& s : shapes) {
      Value x = batch.input({t, s});
      for (const auto& axes : subsets(static_cast<int64_t>(s.size()))) {
        for (bool keep : {false, true}) {
          std::string where = std::string(dtype_name(t)) + shape_to_string(s) + " axes " + ints(axes) +
                              (keep ? " keepdims" : "");
          batch.result(sum(x, axes, keep), "sum " + where);
          if (is_float(t)) batch.result(mean(x, axes, keep), "mean " + where);
          bool empty = false;
          for (int64_t a : axes) empty |= s[a] == 0;
          if (!empty) batch.result(max(x, axes, keep), "max " + where);
        }
      }
    }
    batch.check(61, test::test_options());
  }
}

TEST(BackendReduce, ReductionOfAnElementwiseExpression) {
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    Value w = batch.input({t, {37, 11}});
    Value b = batch.input({t, {11}});
    batch.result(sum(w * w), "sum of squares");
    batch.result(max(exp(w + b), std::vector<int64_t>{0}), "max over rows of exp(w + b)");
    batch.result(mean(relu(w) - b, std::vector<int64_t>{1}, true), "row means");
    batch.check(62, test::test_options());
  }
}

TEST(BackendLayout, ReshapeTransposeBroadcastSlice) {
  for (DType t : kAllDTypes) {
    DiffBatch batch;
    std::string d(dtype_name(t));
    Value x = batch.input({t, {2, 3, 4}});
    batch.result(reshape(x, {4, 6}), "reshape " + d);
    batch.result(reshape(x, {24}) , "reshape flat " + d);
    for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {0, 2, 1}, {2, 0, 1}})
      batch.result(transpose(x, perm), "transpose " + ints(perm) + " " + d);
    Value y = batch.input({t, {3, 1}});
    batch.result(broadcast_to(y, {2, 3, 5}), "broadcast_to " + d);
    batch.result(slice(x, {0, 1, 0}, {2, 3, 4}, {1, 1, 3}), "slice steps " + d);
    batch.result(slice(x, {1, 0, 1}, {2, 3, 3}), "slice " + d);
    batch.result(slice(x, {0, 2, 2}, {2, 2, 4}), "empty slice " + d);
    Value big = batch.input({t, {9, 33}});
    batch.result(transpose(big), "transpose 9x33 " + d);
    batch.result(slice(big, {1, 3}, {8, 33}, {2, 5}), "slice 9x33 " + d);
    Value s = batch.input({t, {}});
    batch.result(reshape(s, {1, 1}), "reshape scalar " + d);
    batch.result(broadcast_to(s, {3, 2}), "broadcast scalar " + d);
    batch.check(71, test::test_options());
  }
}

TEST(BackendLayout, ConcatOnEveryAxis) {
  for (DType t : kAllDTypes) {
    DiffBatch batch;
    std::string d(dtype_name(t));
    for (int64_t axis = 0; axis < 3; ++axis) {
      Shape a = {2, 3, 4}, b = a, c = a;
      b[axis] = 1;
      c[axis] = 0;
      Value xs[] = {batch.input({t, a}), batch.input({t, b}), batch.input({t, c}), batch.input({t, a})};
      batch.result(concat(xs, axis), "concat axis " + std::to_string(axis) + " " + d);
    }
    Value one[] = {batch.input({t, {5}})};
    batch.result(concat(one, 0), "concat of one " + d);
    batch.check(81, test::test_options());
  }
}

TEST(BackendLayout, AliasesAsResultsAndResultsReturnedTwice) {
  DiffBatch batch;
  Value x = batch.input(f32({2, 3}));
  Value y = x * 2.0;
  batch.result(x, "an input returned");
  batch.result(reshape(x, {3, 2}), "reshape of an input");
  batch.result(y, "y");
  batch.result(y, "y again");
  batch.result(reshape(y, {6}), "reshape of y");
  batch.result(stop_gradient(y), "stop_gradient of y");
  batch.result(constant(batch.f(), 2.5, DType::f64), "a constant");
  batch.result(reshape(constant(batch.f(), Tensor::from_doubles(DType::i32, {2, 2}, std::vector<double>{1, 2, 3, 4})),
                       {4}),
               "reshape of a constant");
  batch.check(91, test::test_options());
}

}  // namespace
}  // namespace nabla
