// sparse_jacobian and sparse_hessian (passes/sparse_derivatives.h): the
// values in CSR order equal the dense Jacobian and Hessian (nabla::jacobian,
// nabla::hessian) in f64 within 1e-12, in the interpreter and compiled; the
// dense matrices are zero outside the pattern. All named cases sit in one
// function, so that one compile covers them.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/ir/interpreter.h"
#include "nabla/passes/derivatives.h"
#include "nabla/passes/sparse_derivatives.h"
#include "tests/support/sparse_cases.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace sparsetest;

struct Entry {
  std::string name;
  SparseDerivative d;
  bool lower = false;  // a Hessian's lower triangle: the dense upper one is not in the pattern
};

// Expects values (CSR order of p) to equal dense (p.rows x p.cols) and dense
// to be zero outside p (above the diagonal too, unless p is a lower triangle).
void expect_match(const Entry& e, const Tensor& values, const Tensor& dense) {
  const std::string& name = e.name;
  const SparsityPattern& p = e.d.pattern;
  ASSERT_EQ(values.numel(), p.nnz()) << name;
  int64_t k = 0;
  for (int64_t i = 0; i < p.rows; ++i)
    for (int64_t j = 0; j < p.cols; ++j) {
      double want = dense.get(i * p.cols + j);
      if (k < p.row_ptr[i + 1] && p.col_idx[k] == j) {
        double got = values.get(k++);
        EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << name << " (" << i << "," << j << ")";
      } else if (!(e.lower && j > i)) {
        EXPECT_EQ(want, 0.0) << name << " (" << i << "," << j << ") outside the pattern";
      }
    }
}

class SparseValues : public ::testing::Test {
 protected:
  // Adds the case's x, its sparse result and the dense one.
  void jac(const Case& c) {
    Value x = f_.input("x_" + c.name, f64({c.n}));
    Value y = c.build(x);
    add(c.name, sparse_jacobian(y, x), jacobian(y, x));
  }
  void hess(const Case& c, bool lower) {
    Value x = f_.input("x_h_" + c.name + (lower ? "" : "_full"), f64({c.n}));
    Value z = c.build(x);
    add("hessian " + c.name + (lower ? " lower" : " full"), sparse_hessian(z, x, {.lower = lower}), hessian(z, x),
        lower);
  }
  void add(std::string name, SparseDerivative d, Value dense, bool lower = false) {
    f_.output(d.values);
    f_.output(dense);
    entries_.push_back({std::move(name), std::move(d), lower});
  }
  void check() {
    std::vector<Tensor> inputs = test::random_inputs(f_, 7, 0.0);
    std::vector<Tensor> r = interpret(f_, inputs);
    for (size_t e = 0; e < entries_.size(); ++e) expect_match(entries_[e], r[2 * e], r[2 * e + 1]);
    EXPECT_EQ(test::compare_with_interpreter(f_, inputs, test::test_options(), {.f32 = 0, .f64 = 1e-12}), "");
  }
  Module m_;
  Function& f_ = m_.add_function("f");
  std::vector<Entry> entries_;
};

TEST_F(SparseValues, JacobiansEqualDense) {
  for (const Case& c : jacobian_cases()) jac(c);
  jac({"two_dense_rows", 9, [](Value x) {  // fewer row colors (2) than column colors (9)
         return concat(std::vector<Value>{reshape(sum(x * x), {1}), reshape(sum(sin(x)), {1})}, 0);
       }});
  EXPECT_TRUE(entries_.back().d.by_rows);
  EXPECT_EQ(entries_.back().d.coloring.count, 2);
  EXPECT_FALSE(entries_[1].d.by_rows);  // tridiagonal: 3 column colors
  EXPECT_EQ(entries_[1].d.coloring.count, 3);
  check();
}

TEST_F(SparseValues, HessiansEqualDense) {
  for (const Case& c : hessian_cases()) hess(c, true);
  hess(hessian_cases()[1], false);  // tridiagonal, both triangles
  hess({"linear", 4, [](Value x) { return sum(x * 2.0); }}, true);
  EXPECT_EQ(entries_.back().d.pattern.nnz(), 0);
  EXPECT_EQ(entries_[7].d.coloring.count, 3);  // rosenbrock
  check();
}

// A layout (a superset of the pattern, as a file format fixes it): the values
// follow it, zeros where the pattern has no entry; one that lacks an entry of
// the pattern, or has another size, is refused.
TEST(SparseLayout, ValuesFollowTheLayout) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3}));
  Value x0 = slice(x, {0}, {1}), x2 = slice(x, {2}, {3});
  Value y = concat(std::vector<Value>{x0 * x0, sin(x2)}, 0);  // pattern {(0,0), (1,2)}
  SparsityPattern layout = SparsityPattern::from_rows(3, {{0, 1, 2}, {1, 2}});
  SparseDerivative d = sparse_jacobian(y, x, {.layout = layout});
  EXPECT_EQ(d.pattern, layout);
  // The values are gathered from the compressed matrix by an i32 index (its
  // 2 places fit: half the bytes of i64), the layout's zeros selected
  // by a constant mask around the gather (no copy of B with a zero
  // appended).
  ASSERT_EQ(d.values->op(), Op::Select);
  const Node* g = d.values->operand(1);
  ASSERT_EQ(g->op(), Op::Gather);
  EXPECT_EQ(g->operand(1)->dtype(), DType::i32);
  EXPECT_EQ(g->operand(0)->type().numel(), 2);  // one color (columns 0 and 2 share no row), 2 rows
  ASSERT_EQ(d.values->operand(0)->op(), Op::Constant);
  const Tensor& keep = d.values->operand(0)->attrs().value;
  ASSERT_EQ(keep.numel(), 5);
  for (int64_t k = 0; k < 5; ++k) EXPECT_EQ(keep.get(k), k == 0 || k == 4 ? 1.0 : 0.0) << k;
  f.output(d.values);
  std::vector<Tensor> in{Tensor::from_doubles(DType::f64, {3}, std::vector<double>{1.5, -2, 0.25})};
  std::vector<Tensor> r = interpret(f, in);
  std::vector<double> want = {3.0, 0, 0, 0, std::cos(0.25)};
  ASSERT_EQ(r[0].numel(), 5);
  for (int64_t k = 0; k < 5; ++k) EXPECT_DOUBLE_EQ(r[0].get(k), want[k]) << k;
  for (int64_t k = 1; k < 4; ++k) EXPECT_FALSE(std::signbit(r[0].get(k))) << k;  // +0, as before
  auto error = [&](const SparsityPattern& l) {
    return test::error_of([&] { sparse_jacobian(y, x, {.layout = l}); });
  };
  EXPECT_EQ(error(SparsityPattern::from_rows(3, {{1, 2}, {2}})), "sparse_jacobian: the layout lacks entry (0, 0) of the pattern");
  EXPECT_EQ(error(SparsityPattern::from_rows(4, {{0}, {2}})), "sparse_jacobian: the layout is 2 by 4, the Jacobian 2 by 3");
}

}  // namespace
}  // namespace nabla
