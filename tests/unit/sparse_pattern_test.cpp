// Sparsity patterns found on the graph (passes/sparsity.h) against brute
// force: the nonzeros of the dense Jacobian or Hessian (nabla::jacobian,
// nabla::hessian) evaluated by the interpreter in f64 at random inputs.
// Exact on the named cases; a superset on the seeded random graphs.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/printer.h"
#include "nabla/passes/derivatives.h"
#include "nabla/passes/sparsity.h"
#include "nabla/passes/sparsity_sets.h"
#include "nabla/runtime/error.h"
#include "tests/support/sparse_cases.h"
#include "tests/support/random_graph.h"

namespace nabla {

void PrintTo(const SparsityPattern& p, std::ostream* os) { *os << p.rows << "x" << p.cols << ", " << p.nnz() << " nonzeros"; }

namespace NABLA_UNITY_ID {

using namespace sparsetest;

// The entries of the result `dense` of f (rows x cols, flattened) that are
// finite and nonzero at any of the inputs.
SparsityPattern nonzeros(Function& f, Value dense, int64_t rows, int64_t cols,
                         const std::vector<std::vector<Tensor>>& inputs) {
  f.clear_results();
  f.output(dense);
  std::vector<std::vector<int32_t>> nz(rows);
  for (const auto& in : inputs) {
    Tensor d = interpret(f, in)[0];
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if (double v = d.get(i * cols + j); v != 0 && std::isfinite(v)) nz[i].push_back(static_cast<int32_t>(j));
  }
  for (auto& r : nz) {
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
  }
  return SparsityPattern::from_rows(cols, nz);
}

std::vector<std::vector<Tensor>> random_points(const Function& f, int count) {
  std::vector<std::vector<Tensor>> points;
  for (int s = 0; s < count; ++s) points.push_back(test::random_inputs(f, 100 + s, 0.0));
  return points;
}

std::string describe(const SparsityPattern& p) {
  std::string s;
  for (int64_t i = 0; i < p.rows; ++i) {
    s += "\n";
    for (int64_t j = 0; j < p.cols; ++j) s += p.contains(i, j) ? 'x' : '.';
  }
  return s;
}

// The pattern of case c's Jacobian (or Hessian) equals the nonzeros of the
// dense one at three random points.
void expect_brute_force(const Case& c, bool hessian_case) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({c.n}));
  Value y = c.build(x);
  SparsityPattern p = hessian_case ? hessian_pattern(y, x) : jacobian_pattern(y, x);
  int64_t rows = hessian_case ? c.n : y->type().numel();
  EXPECT_EQ(p.rows, rows);
  EXPECT_EQ(p.cols, c.n);
  SparsityPattern want = nonzeros(f, hessian_case ? hessian(y, x) : jacobian(y, x), rows, c.n, random_points(f, 3));
  EXPECT_EQ(p, want) << "found:" << describe(p) << "\nbrute force:" << describe(want);
  if (hessian_case) {
    EXPECT_EQ(p, p.transposed());
  }
}

class NamedJacobian : public ::testing::TestWithParam<Case> {};
TEST_P(NamedJacobian, PatternEqualsBruteForce) { expect_brute_force(GetParam(), false); }
INSTANTIATE_TEST_SUITE_P(Cases, NamedJacobian, ::testing::ValuesIn(jacobian_cases()),
                         [](const auto& info) { return info.param.name; });

class NamedHessian : public ::testing::TestWithParam<Case> {};
TEST_P(NamedHessian, PatternEqualsBruteForce) { expect_brute_force(GetParam(), true); }
INSTANTIATE_TEST_SUITE_P(Cases, NamedHessian, ::testing::ValuesIn(hessian_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(SparsityPattern, ShapesOfTheNamedOnes) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({10}));
  SparsityPattern tri = hessian_pattern(sum(slice(x, {0}, {9}) * slice(x, {1}, {10})), x);
  for (int64_t i = 0; i < 10; ++i)
    for (int64_t j = 0; j < 10; ++j) EXPECT_EQ(tri.contains(i, j), std::abs(i - j) == 1) << i << "," << j;
  SparsityPattern diag = hessian_pattern(sum(exp(x)), x);
  EXPECT_EQ(diag.nnz(), 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_TRUE(diag.contains(i, i));
  EXPECT_EQ(diag.lower(), diag);
  EXPECT_EQ(hessian_pattern(sum(x * 3.0), x).nnz(), 0);  // linear
  EXPECT_EQ(hessian_pattern(sum(relu(x)), x).nnz(), 0);  // piecewise linear
}

// An elementwise region (its sets built from its leaves, through broadcasts,
// past a zero-derivative floor) read by another elementwise node, a
// reduction and the output: the pattern equals brute force.
TEST(SparsityPattern, ElementwiseRegionsThroughBroadcasts) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({6}));
  Value a = reshape(x, {2, 3}), b = slice(x, {3}, {6});
  Value ab = a * b;                                  // b broadcast along rows
  Value region = ab + floor(a) * exp(b);             // floor carries nothing
  Value y = concat(std::vector<Value>{reshape(region, {6}), sum(ab, std::vector<int64_t>{1}) * sum(b)}, 0);
  SparsityPattern p = jacobian_pattern(y, x);
  EXPECT_EQ(p, nonzeros(f, jacobian(y, x), 8, 6, random_points(f, 3))) << describe(p);
  EXPECT_EQ(p, SparsityPattern::from_rows(6, {{0, 3}, {1, 4}, {2, 5}, {3}, {4}, {5},
                                                {0, 1, 2, 3, 4, 5}, {3, 4, 5}}));
}

// Matmul and gather: per row and column, and by the constant indices.
TEST(SparsityPattern, MatmulAndGather) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({6}));
  Value a = reshape(x, {2, 3});
  Value w = constant(f, Tensor::from_doubles(DType::f64, {3, 2}, std::vector<double>{1, 2, 3, 4, 5, 6}));
  SparsityPattern mm = jacobian_pattern(matmul(a, w), x);  // row i of the result reads row i of a
  EXPECT_EQ(mm.nnz(), 12);
  EXPECT_TRUE(mm.contains(1, 2) && !mm.contains(1, 3) && mm.contains(3, 5));
  Value idx = constant(f, Tensor::from_doubles(DType::i64, {3}, std::vector<double>{4, -1, 0}));
  SparsityPattern g = jacobian_pattern(gather(x, idx, 0), x);
  EXPECT_EQ(g, SparsityPattern::from_rows(6, {{4}, {5}, {0}}));
  Value runtime_idx = f.input("i", i64({2}));
  EXPECT_EQ(jacobian_pattern(gather(a, runtime_idx, 1), x).nnz(), 2 * 2 * 3);  // any column
}

// An index known only at run time: any element of the indexed line, for an
// index of any rank and either side (gather reads it, scatter_add writes it).
TEST(SparsityPattern, RunTimeIndices) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({6}));
  Value a = reshape(x, {2, 3});
  Value i2 = f.input("i2", i64({2, 2})), i4 = f.input("i4", i64({4}));
  std::vector<std::vector<int32_t>> rows;
  for (int32_t o = 0; o < 2; ++o)  // [2, 2, 2]: (o, p, q) reads row o of a
    for (int k = 0; k < 4; ++k) rows.push_back({3 * o, 3 * o + 1, 3 * o + 2});
  EXPECT_EQ(jacobian_pattern(gather(a, i2, 1), x), SparsityPattern::from_rows(6, rows));
  rows.clear();
  for (int p = 0; p < 4; ++p)  // [4, 3]: (p, r) reads column r of a
    for (int32_t r = 0; r < 3; ++r) rows.push_back({r, 3 + r});
  EXPECT_EQ(jacobian_pattern(gather(a, i4, 0), x), SparsityPattern::from_rows(6, rows));
  // base [3, 2] (x[0..6)), updates [2, 2] (x[0..4)) at rows i of axis 0:
  // (k, r) reads base (k, r) and updates (p, r) for every p.
  Value base = reshape(x, {3, 2}), updates = reshape(slice(x, {0}, {4}), {2, 2});
  Value i = f.input("i", i64({2}));
  rows.clear();
  for (int32_t k = 0; k < 3; ++k)
    for (int32_t r = 0; r < 2; ++r) {
      std::vector<int32_t> row{r, 2 + r};
      if (k > 1) row.push_back(2 * k + r);
      rows.push_back(row);
    }
  EXPECT_EQ(jacobian_pattern(scatter_add(base, i, updates, 0), x), SparsityPattern::from_rows(6, rows));
}

TEST(SparsityPattern, Errors) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), i = f.input("i", i32({3}));
  EXPECT_THROW(jacobian_pattern(x, i), Error);
  try {
    hessian_pattern(x, x);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "hessian_pattern: %x must be a float scalar, got f64[3]");
  }
}

// Seeded random graphs over every op: the pattern holds every nonzero of the
// dense Jacobian of each small float result in each float input, and of the
// Hessian of its sum.
TEST(SparsityPattern, RandomGraphsHoldEveryNonzero) {
  test::RandomGraphOptions o;
  o.special_rate = 0;
  int jacobians = 0, hessians = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Module m = test::random_graph(seed, o);
    Function& f = *m.find("random");
    std::vector<Node*> ys = f.results(), xs;
    for (Node* in : f.inputs())
      if (is_float(in->dtype()) && in->type().numel() <= 24) xs.push_back(in);
    auto points = random_points(f, 2);
    for (Node* y : ys) {
      if (!is_float(y->dtype()) || y->type().numel() > 24) continue;
      for (Node* x : xs) {
        SparsityPattern p = jacobian_pattern(y, x);
        SparsityPattern d = nonzeros(f, jacobian(y, x, {.allow_disconnected = true}),
                                     y->type().numel(), x->type().numel(), points);
        for (int64_t i = 0; i < d.rows; ++i)
          for (int64_t k = d.row_ptr[i]; k < d.row_ptr[i + 1]; ++k)
            EXPECT_TRUE(p.contains(i, d.col_idx[k])) << "seed " << seed << ": d" << y->name() << "[" << i
                                                     << "]/dx[" << d.col_idx[k] << "]\n" << print(m);
        ++jacobians;
        Value z = sum(y);
        SparsityPattern hp = hessian_pattern(z, x);
        Value h;
        try {
          h = hessian(z, x);
        } catch (const Error&) {
          continue;  // no path from x to z that carries a gradient
        }
        SparsityPattern hd = nonzeros(f, h, x->type().numel(), x->type().numel(), points);
        for (int64_t i = 0; i < hd.rows; ++i)
          for (int64_t k = hd.row_ptr[i]; k < hd.row_ptr[i + 1]; ++k)
            EXPECT_TRUE(hp.contains(i, hd.col_idx[k])) << "seed " << seed << ": hessian of sum " << y->name();
        ++hessians;
      }
    }
  }
  EXPECT_GT(jacobians, 40);
  EXPECT_GT(hessians, 20);
}

// The pool of index sets (passes/sparsity_sets.h): a union wider than every
// set it reads is added once; one that adds nothing keeps the widest set's
// number; truncate drops the sets made after a mark.
TEST(SparsitySets, UnionsAddOnlyWhatIsNew) {
  using namespace sparsity;
  SetPool pool;
  Sets one = pool.singletons(4);  // {0} .. {3}
  ASSERT_EQ(one.size(), 4u);
  SetUnion u;
  for (SetId id : {one[1], one[3], one[1], SetId{0}}) u.add(pool, id);
  SetId a = u.finish(pool);
  EXPECT_EQ(std::vector<int32_t>(pool[a].begin(), pool[a].end()), (std::vector<int32_t>{1, 3}));
  SetId count = pool.count();
  u.add(pool, one[3]);
  u.add(pool, a);
  EXPECT_EQ(u.finish(pool), a);  // {3} | {1, 3}: nothing new
  EXPECT_EQ(pool.count(), count);
  std::vector<int32_t> scratch;
  EXPECT_EQ(pool.unite(a, one[1], scratch), a);
  EXPECT_EQ(pool.unite(0, a, scratch), a);
  SetId b = pool.unite(a, one[2], scratch);
  EXPECT_EQ(std::vector<int32_t>(pool[b].begin(), pool[b].end()), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(pool.equal(a, b));
  pool.truncate(count);
  EXPECT_EQ(pool.count(), count);
  EXPECT_EQ(pool.size(a), 2u);
}

// A scan of 300 steps whose carry gathers one more element of x at each
// step: every step's body sets are dropped but the results, and the pattern
// stays exact (row i of the ys: x[0..i]; the final carry: all of x).
TEST(SparsitySets, LongScanKeepsOnlyItsResults) {
  Function f("long_scan");
  Value x = f.input("x", f64({300}));
  ScanResult r = scan([](auto c, auto xi, auto) -> ScanBodyResult {
    Value next = c[0] * 0.5 + sin(xi[0]);
    return {{next}, {next}};
  }, {constant(f, 0.0, DType::f64)}, {x});
  SparsityPattern ys = jacobian_pattern(r.ys[0], x);
  ASSERT_EQ(ys.nnz(), 300 * 301 / 2);
  for (int64_t i = 0; i < 300; i += 37) {
    EXPECT_TRUE(ys.contains(i, i));
    EXPECT_TRUE(ys.contains(i, 0));
    EXPECT_FALSE(i + 1 < 300 && ys.contains(i, i + 1));
  }
  EXPECT_EQ(jacobian_pattern(r.carry[0], x).nnz(), 300);
}

}  // namespace
}  // namespace nabla
