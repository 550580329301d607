// all_reduce across real processes (mpiexec -np 1, 2, 3): the interpreter and
// the JIT against sums computed by hand, in f32, f64, i32 and i64, several in
// one function; and each reduction's derivative against central differences
// of the sum of every rank's value, checked on every rank.
#include <cmath>

#include <gtest/gtest.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/communicator.h"
#include "tests/mpi/mpi_testing.h"

namespace nabla {
namespace {

using mpitest::comm;
using mpitest::rank;
using mpitest::size;

// Rank r's operands: exact binary fractions, so sums in any order are exact.
double x_of(int r, int64_t i) { return 0.5 * (r + 1) + 0.25 * static_cast<double>(i); }
double y_of(int r, int64_t i) { return 1.5 * (r + 1) - static_cast<double>(i); }
double k_of(int r, int64_t i) { return (r + 1) * (static_cast<double>(i) - 2); }
double l_of(int r, int64_t i) { return 7.0 * r - static_cast<double>(i); }

Tensor filled(DType t, int64_t n, double (*v)(int, int64_t)) {
  Tensor out(t, {n});
  for (int64_t i = 0; i < n; ++i) out.set(i, v(rank(), i));
  return out;
}

// Over all ranks: fold(v(0, i), v(1, i), ...).
template <class Fold> double over_ranks(double (*v)(int, int64_t), int64_t i, Fold fold) {
  double acc = v(0, i);
  for (int r = 1; r < size(); ++r) acc = fold(acc, v(r, i));
  return acc;
}

TEST(AllReduce, InterpreterAndJitGiveTheHandComputedReductions) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({5})), y = f.input("y", f64({3})), k = f.input("k", i32({4})),
        l = f.input("l", i64({2}));
  f.output(all_reduce(x));
  f.output(all_reduce(y, Reduction::mean));
  f.output(all_reduce(k, Reduction::max));
  f.output(all_reduce(l, Reduction::min));
  f.output(all_reduce(k) * 2);  // read by a kernel after the others
  std::vector<Tensor> in = {filled(DType::f32, 5, x_of), filled(DType::f64, 3, y_of), filled(DType::i32, 4, k_of),
                            filled(DType::i64, 2, l_of)};
  Executable exe = compile(m, "f");
  exe.set_communicator(&comm());
  std::vector<std::vector<Tensor>> runs = {interpret(f, in, &comm()), exe.run(in)};
  auto plus = [](double a, double b) { return a + b; };
  auto larger = [](double a, double b) { return std::max(a, b); };
  auto smaller = [](double a, double b) { return std::min(a, b); };
  for (const std::vector<Tensor>& out : runs) {
    for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(out[0].get(i), over_ranks(x_of, i, plus)) << i;
    for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(out[1].get(i), over_ranks(y_of, i, plus) / size()) << i;
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(out[2].get(i), over_ranks(k_of, i, larger)) << i;
    for (int64_t i = 0; i < 2; ++i) EXPECT_EQ(out[3].get(i), over_ranks(l_of, i, smaller)) << i;
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(out[4].get(i), 2 * over_ranks(k_of, i, plus)) << i;
  }
}

// z_r = sum(w_r * sin(all_reduce(x_r * x_r, op))); Z = sum over ranks of z_r.
// build-grad's dz_r/dx_r on rank q must be dZ/dx_q, by central differences
// in which only rank q moves its x.
void check_gradient(Reduction op) {
  Module m;
  Function& f = m.function("z");
  Value x = f.input("x", f64({4})), w = f.input("w", f64({4}));
  Value z = sum(w * sin(all_reduce(x * x, op)));
  f.output(z);
  Function& g = m.function("g");
  Value gx = g.input("x", f64({4})), gw = g.input("w", f64({4}));
  g.output(grad(sum(gw * sin(all_reduce(gx * gx, op))), {gx})[0]);
  Executable ez = compile(m, "z"), eg = compile(m, "g");
  ez.set_communicator(&comm());
  eg.set_communicator(&comm());
  Tensor xs(DType::f64, {4}), ws(DType::f64, {4});
  for (int64_t i = 0; i < 4; ++i) {
    xs.set(i, 0.3 + 0.1 * static_cast<double>(i) + 0.05 * rank());  // no ties across ranks
    ws.set(i, 1 + 0.2 * rank() - 0.1 * static_cast<double>(i));
  }
  Tensor grad_x = eg.run(std::vector<Tensor>{xs, ws})[0];
  auto total = [&](const Tensor& at) {
    Tensor zr = ez.run(std::vector<Tensor>{at, ws})[0];
    all_reduce_in_place(comm(), zr, NABLA_REDUCE_SUM);
    return zr.get(0);
  };
  const double h = 1e-6;
  for (int q = 0; q < size(); ++q) {
    for (int64_t i = 0; i < 4; ++i) {
      Tensor plus = xs.clone(), minus = xs.clone();
      if (rank() == q) {
        plus.set(i, xs.get(i) + h);
        minus.set(i, xs.get(i) - h);
      }
      double fd = (total(plus) - total(minus)) / (2 * h);
      if (rank() == q) {
        EXPECT_NEAR(grad_x.get(i), fd, 1e-7 * std::max(1.0, std::abs(fd))) << "x[" << i << "]";
      }
    }
  }
}

TEST(AllReduce, SumGradientMatchesFiniteDifferences) { check_gradient(Reduction::sum); }
TEST(AllReduce, MeanGradientMatchesFiniteDifferences) { check_gradient(Reduction::mean); }
TEST(AllReduce, MaxGradientMatchesFiniteDifferences) { check_gradient(Reduction::max); }
TEST(AllReduce, MinGradientMatchesFiniteDifferences) { check_gradient(Reduction::min); }

}  // namespace
}  // namespace nabla
