// Slices and concats read in place by fused regions (ir/fused_views.h): the
// fuse pass takes them into the region of their elementwise users, the
// backend runs one loop nest per cell; every result bit-equal to the
// interpreter's, on 1 thread and on 2 with every kernel split.
#include <gtest/gtest.h>

#include "nabla/ir/clone.h"
#include "nabla/ir/fused_views.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/fuse.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

Value constant_of(Function& f, Shape shape, double start) {
  Tensor t(DType::f64, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, start + 0.25 * static_cast<double>(i));
  return constant(f, t);
}

// The number of slices and concats inside fused bodies after the fuse pass,
// and of those left outside.
std::pair<int, int> views_inside_and_out(const Function& f) {
  Module m;
  Function& copy = clone_function(f, m);
  fuse(copy);
  int inside = 0, outside = 0;
  for (const Node* n : copy) {
    if (is_view_op(n->op())) ++outside;
    if (n->op() == Op::Fused)
      for (const Node* b : *n->body()) inside += is_view_op(b->op());
  }
  return {inside, outside};
}

void expect_matches(const Function& f) {
  std::vector<Tensor> in = random_inputs(f, 7);
  for (int threads : {1, 2}) EXPECT_EQ(test::compare_with_interpreter(f, in, test::split_everything(threads)), "") << threads;
}

// The views inside and outside the regions are as given, and the results match.
void expect_views(Module& m, int inside, int outside) {
  Function& f = *m.find("f");
  EXPECT_EQ(views_inside_and_out(f), std::make_pair(inside, outside));
  expect_matches(f);
}

// ode's right-hand side x * (1, y_0, ..., y_{n-2}) in an RK4-like update: a
// concat of a constant and a slice, read shifted by one (two cells).
TEST(BackendFusedViews, ShiftedReadIsOneRegion) {
  Module m = test::make_function({f64({1000}), f64({1000})}, [](std::vector<Value>& x) {
    Function& f = *x[0]->function();
    Value shifted = concat(std::vector<Value>{constant(f, 1.0, DType::f64) * constant_of(f, {1}, 1), slice(x[1], {0}, {999})}, 0);
    return std::vector<Value>{x[1] + x[0] * shifted * 0.01};
  });
  expect_views(m, 2, 0);
  EXPECT_EQ(compile(*m.find("f"), test::test_options()).stats().num_kernels, 1);
}

// Concats along both axes, slices with steps and offsets, a view read
// broadcast, the same operand twice, a constant of more than 16 elements
// (a body input) and one of fewer (inlined): 4 x 3 cells.
TEST(BackendFusedViews, CellsOfSeveralAxesAndBroadcastViews) {
  Module m = test::make_function({f64({4, 9}), f64({2, 5}), f64({6, 7})}, [](std::vector<Value>& x) {
    Function& f = *x[0]->function();
    Value rows = concat(std::vector<Value>{slice(x[0], {0, 1}, {4, 6}), slice(x[2], {0, 0}, {6, 5}, {3, 1}), x[1]}, 0);  // [8,5]
    Value big = constant_of(f, {8, 3}, -1), small = constant_of(f, {8, 1}, 2);
    Value wide = concat(std::vector<Value>{big, small, slice(rows, {0, 0}, {8, 1})}, 1);  // [8,5]
    Value row = slice(x[1], {1, 0}, {2, 5});  // [1,5], read broadcast over 8 rows
    Value twice = concat(std::vector<Value>{x[1], x[1], x[1], x[1]}, 0);  // [8,5]
    return std::vector<Value>{(rows * wide + row) - twice};
  });
  expect_views(m, 7, 0);
}

// More than kMaxViewCells cells: the concat stays a copy kernel.
TEST(BackendFusedViews, TooManyCellsStayCopies) {
  Module m = test::make_function({f64({40}), f64({3, 40})}, [](std::vector<Value>& x) {
    std::vector<Value> parts;
    for (int64_t i = 0; i < 20; ++i) parts.push_back(slice(x[0], {2 * i}, {2 * i + 2}));
    Value pieces = concat(parts, 0);
    return std::vector<Value>{x[1] * pieces};
  });
  expect_views(m, 0, 21);
}

// A view also returned stays for that use and is read in place by the
// region; under a reduction it stays outside (a reduction's loop has no
// cells); a computed value that is sliced stays a buffer.
TEST(BackendFusedViews, ReturnedReducedAndComputedViews) {
  Module m = test::make_function({f64({6, 4}), f64({6, 4})}, [](std::vector<Value>& x) {
    Value c = concat(std::vector<Value>{slice(x[0], {1, 0}, {6, 4}), slice(x[1], {0, 0}, {1, 4})}, 0);
    Value y = exp(x[0]) + 1.0;
    Value shifted = concat(std::vector<Value>{slice(y, {0, 1}, {6, 4}), slice(y, {0, 0}, {6, 1})}, 1);
    return std::vector<Value>{c, c * x[1], sum(c * x[0]), shifted * x[1]};
  });
  Function& f = *m.find("f");
  expect_matches(f);
}

// ode itself: RK4 steps as a scan, primal and gradient, against the
// interpreter (the primal's step is four regions and no copy).
TEST(BackendFusedViews, OdeScanPrimalAndGradient) {
  auto rhs = [](Value x, Value y) {
    int64_t n = x->shape()[0];
    Value one = constant(*x->function(), Tensor::from_doubles(DType::f64, {1}, std::vector<double>{1.0}));
    return x * concat(std::vector<Value>{one, slice(y, {0}, {n - 1})}, 0);
  };
  Module m = test::make_function({f64({37})}, [&](std::vector<Value>& x) {
    Value y0 = constant(*x[0]->function(), Tensor(DType::f64, {37}));
    ScanResult r = scan([&](auto c, auto, auto w) -> ScanBodyResult {
      Value k1 = rhs(w[0], c[0]);
      Value k2 = rhs(w[0], c[0] + k1 * 0.05);
      return {{c[0] + (k1 + k2) * 0.05}, {}};
    }, {y0}, {}, {x[0]}, {.length = 9});
    Value y = r.carry[0];
    return std::vector<Value>{y, grad(sum(slice(y, {36}, {37})), {x[0]})[0]};
  });
  expect_matches(*m.find("f"));
}

}  // namespace
}  // namespace nabla
