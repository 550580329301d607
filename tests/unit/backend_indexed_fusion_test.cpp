// gather fused into elementwise and reduction regions as an indexed read, and
// scatter_add computing its updates in its own loop (ir/fused.h,
// compiler/lower_indexed.h): compiled on 1 and 2 threads (every kernel that
// can split does) against the interpreter bit for bit, with negative and
// repeated indices; one kernel where the gathered tensor or the updates would
// have been a buffer; out-of-range indices with the interpreter's message and,
// through the raw entry, the op's name and details.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Compiles f on 1 and 2 threads; both equal the interpreter bit for bit on
// `in`. Returns the 1-thread kernel count (and the 2-thread count of
// parallel kernels in *parallel, when given).
int check_bits(Function& f, const std::vector<Tensor>& in, int* parallel = nullptr) {
  std::vector<Tensor> want = test::reference_results(f, in);
  int kernels = -1;
  for (int threads : {1, 2}) {
    Executable exe = compile(f, test::split_everything(threads));
    if (threads == 1) kernels = exe.stats().num_kernels;
    if (threads == 2 && parallel) *parallel = exe.stats().num_parallel_kernels;
    std::vector<Tensor> got = exe.run(in);
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "result " << i << ", " << threads << " thread(s)";
  }
  return kernels;
}

int check_bits(Function& f, uint64_t seed) { return check_bits(f, nabla::random_inputs(f, seed)); }

class IndexedFusion : public ::testing::TestWithParam<DType> {};

// y = sum over the bag of exp(table[idx]) * w: the gather, the elementwise
// part and the reduction in one loop.
TEST_P(IndexedFusion, GatherIntoAReduction) {
  DType t = GetParam();
  for (DType it : {DType::i32, DType::i64}) {
    Module m = test::make_function({{t, {40, 19}}, {it, {6, 5}}, {t, {19}}}, [&](std::vector<Value>& x) {
      Value g = gather(x[0], x[1], 0);
      Value e = is_float(t) ? exp(g) : g;
      return std::vector<Value>{sum(e * x[2], std::vector<int64_t>{1}), max(g, std::vector<int64_t>{1, 2})};
    });
    EXPECT_EQ(check_bits(*m.find("f"), 3), 2) << dtype_name(it);
  }
}

// Gathers along each axis, with an index of rank 0, 1 and 2, feeding
// elementwise chains (one also reads the index's table as a plain leaf).
TEST_P(IndexedFusion, GatherIntoElementwise) {
  DType t = GetParam();
  for (int64_t axis : {0, 1, 2}) {
    for (Shape is : {Shape{}, Shape{7}, Shape{3, 4}}) {
      Shape xs{5, 6, 33};
      Shape gs(xs.begin(), xs.begin() + axis);
      gs.insert(gs.end(), is.begin(), is.end());
      gs.insert(gs.end(), xs.begin() + axis + 1, xs.end());
      Module m = test::make_function({{t, xs}, {DType::i64, is}, {t, gs}}, [&](std::vector<Value>& x) {
        Value g = gather(x[0], x[1], axis);
        Value r = is_float(t) ? tanh(g) * x[2] + g : maximum(g * x[2], g);
        return std::vector<Value>{r + 1.0};
      });
      EXPECT_EQ(check_bits(*m.find("f"), 5 + static_cast<uint64_t>(axis)), 1)
          << "axis " << axis << " index " << shape_to_string(is);
    }
  }
}

// Two regions read one gather: each computes it (a copied member).
TEST_P(IndexedFusion, SharedGather) {
  DType t = GetParam();
  if (!is_float(t)) GTEST_SKIP() << "exp";
  Module m = test::make_function({{t, {9, 4}}, {DType::i32, {300}}, {t, {300, 4}}}, [&](std::vector<Value>& x) {
    Value g = gather(x[0], x[1], 0);
    Value a = exp(g * x[2]);
    return std::vector<Value>{sum(g * a), g * x[2] - a};
  });
  check_bits(*m.find("f"), 7);
}

// A region reading gathered rows on 2 threads: its threads claim chunks of
// ceil(1000 / 16) = 63 bags (KernelInfo::claim), the last one shorter (1000
// = 15 x 63 + 55), and every bag equals 1 thread and the interpreter bit for
// bit whichever thread summed it.
TEST(IndexedFusionClaim, ChunksOfBagsEqualOneThread) {
  Module m = test::make_function({{DType::f32, {50, 33}}, {DType::i32, {1000, 7}}}, [&](std::vector<Value>& x) {
    return std::vector<Value>{sum(gather(x[0], x[1], 0) * 3.0, std::vector<int64_t>{1})};
  });
  Function& f = *m.find("f");
  int parallel = 0;
  EXPECT_EQ(check_bits(f, nabla::random_inputs(f, 14), &parallel), 1);
  EXPECT_EQ(parallel, 1);
}

INSTANTIATE_TEST_SUITE_P(DTypes, IndexedFusion, ::testing::Values(DType::f32, DType::f64, DType::i32),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The embedding bag's gradient: scatter_add of dy broadcast over each bag,
// the broadcast computed in the scatter's loop, into a +0 base (written as
// zeros), a base computed by another kernel, and broadcast scalars (filled);
// many repeated indices.
TEST(IndexedFusionScatter, UpdatesComputedInTheLoop) {
  for (double fill : {0.0, -1.5}) {
    Module m = test::make_function({{DType::f32, {7, 40}}, {DType::i32, {30, 20}}, {DType::f32, {30, 40}}},
                                   [&](std::vector<Value>& x) {
      Value upd = broadcast_to(reshape(x[2], {30, 1, 40}), {30, 20, 40});
      return std::vector<Value>{scatter_add(broadcast_to(scalar_like(x[0], fill), {7, 40}), x[1], upd, 0)};
    });
    EXPECT_EQ(check_bits(*m.find("f"), 8), 1) << fill;
  }
  for (bool zero_base : {true, false}) {
    Module m = test::make_function({{DType::f32, {7, 40}}, {DType::i32, {30, 20}}, {DType::f32, {30, 40}}},
                                   [&](std::vector<Value>& x) {
      Value upd = broadcast_to(reshape(x[2], {30, 1, 40}), {30, 20, 40}) * 3.0;
      Value base = zero_base ? constant(*x[0]->function(), Tensor(DType::f32, {7, 40})) : x[0] * 0.5;
      return std::vector<Value>{scatter_add(base, x[1], upd, 0)};
    });
    EXPECT_EQ(check_bits(*m.find("f"), 9), zero_base ? 1 : 2) << zero_base;
  }
  Module m = test::make_function({{DType::f64, {3, 8, 5}}, {DType::i64, {4}}, {DType::f64, {3, 4, 5}}},
                                 [&](std::vector<Value>& x) {
    return std::vector<Value>{scatter_add(x[0], x[1], exp(x[2]), 1), scatter_add(x[0], x[1], -x[2], -2)};
  });
  check_bits(*m.find("f"), 11);
}

// Rows of more than 16 columns after the axis: the tasks split the result's
// rows, each adding the update rows that land in its own and prefetching the
// row 32 update rows ahead. Along axis 1 of [3, 5, 24] (15 rows: the two
// threads' ranges part inside an outer block), 200 updates per outer block
// into 5 rows, some indices counted from the end.
TEST(IndexedFusionScatter, TasksSplitTheResultRows) {
  Module m = test::make_function({{DType::f32, {3, 5, 24}}, {DType::i32, {8, 25}}, {DType::f32, {3, 8, 25, 24}}},
                                 [&](std::vector<Value>& x) {
    return std::vector<Value>{scatter_add(x[0], x[1], exp(x[2]) * 100.0, 1)};
  });
  Function& f = *m.find("f");
  std::vector<Tensor> in = nabla::random_inputs(f, 12);
  for (int64_t p : {3, 17, 30, 199}) in[1].set(p, in[1].get(p) < 0 ? in[1].get(p) : in[1].get(p) - 5);
  int parallel = 0;
  EXPECT_EQ(check_bits(f, in, &parallel), 1);
  EXPECT_EQ(parallel, 1);
}

// Updates that are only moved (dy broadcast over each bag, as in the
// embedding bag's gradient) stay on one task from one update row per result
// row on (serial_pays): 2 threads then run no parallel kernel and equal 1
// thread and the interpreter bit for bit; fewer update rows keep the split,
// and so do updates that compute (exp, TasksSplitTheResultRows).
TEST(IndexedFusionScatter, MovedUpdatesStayOnOneThread) {
  for (int64_t bags : {3, 6, 30}) {  // 60, 120 and 600 update rows into 100 rows of 24
    Module m = test::make_function({{DType::i32, {bags, 20}}, {DType::f32, {bags, 24}}}, [&](std::vector<Value>& x) {
      Value upd = broadcast_to(reshape(x[1], {bags, 1, 24}), {bags, 20, 24});
      Value zeros = constant(*x[0]->function(), Tensor(DType::f32, {100, 24}));
      return std::vector<Value>{scatter_add(zeros, x[0], upd, 0)};
    });
    Function& f = *m.find("f");
    int parallel = -1;
    EXPECT_EQ(check_bits(f, nabla::random_inputs(f, 13), &parallel), 1) << bags;
    EXPECT_EQ(parallel, bags * 20 >= 100 ? 0 : 1) << bags;
  }
}

Module bad_index_module(bool scatter) {
  return test::make_function({{DType::f32, {4, 10}}, {DType::i64, {2, 3}}, {DType::f32, {4, 2, 3}}},
                             [&](std::vector<Value>& x) {
    Value r = scatter ? scatter_add(x[0], x[1], x[2] * 2.0, 1) : exp(gather(x[0], x[1], 1)) * x[2];
    return std::vector<Value>{r};
  });
}

TEST(IndexedFusionErrors, OutOfRangeIsTheInterpretersError) {
  for (bool scatter : {false, true})
    for (int64_t bad : {int64_t{10}, int64_t{-11}}) {
      Module m = bad_index_module(scatter);
      Function& f = *m.find("f");
      std::vector<Tensor> in = nabla::random_inputs(f, 3);
      in[1].set(4, static_cast<double>(bad));
      std::string want = std::string(scatter ? "scatter_add" : "gather") + ": index " + std::to_string(bad) +
                         " at position 4 is outside [-10, 10)";
      for (int threads : {1, 2}) {
        Executable exe = compile(f, test::split_everything(threads));
        EXPECT_EQ(exe.stats().num_fused_regions, 1);
        EXPECT_EQ(test::error_of([&] { exe.run(in); }), want) << threads << " thread(s)";
      }
      EXPECT_EQ(test::error_of([&] { interpret(f, in); }), want);
    }
}

// The details name the body's op, not "fused".
TEST(IndexedFusionErrors, RawEntryNamesTheBodysOp) {
  for (bool scatter : {false, true}) {
    Module m = bad_index_module(scatter);
    Function& f = *m.find("f");
    Executable exe = compile(f, test::split_everything(1));
    std::vector<Tensor> in = nabla::random_inputs(f, 3);
    in[1].set(scatter ? 5 : 2, scatter ? 10 : -12);
    std::vector<Tensor> out{Tensor(DType::f32, scatter ? Shape{4, 10} : Shape{4, 2, 3})};
    nabla_context ctx{};
    int32_t status = test::call_entry(exe, in, out, &ctx);
    std::string got = fmt::format("{} {} {} {} {}", status, ctx.error.op, ctx.error.value, ctx.error.index, ctx.error.bound);
    EXPECT_EQ(got, scatter ? fmt::format("{} scatter_add 10 5 10", int{NABLA_INDEX_OUT_OF_RANGE})
                           : fmt::format("{} gather -12 2 10", int{NABLA_INDEX_OUT_OF_RANGE}));
  }
}

}  // namespace
}  // namespace nabla
