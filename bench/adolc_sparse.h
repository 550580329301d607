#pragma once
// The ADOL-C baseline of bench/sparse_bench.cpp (Debian libadolc-dev, whose
// sparse drivers use ColPack): the same functions taped once, then
// sparse_hess / sparse_jac with repeat = 1 (pattern and coloring kept).
#include <vector>

namespace nabla::bench {

struct AdolcTimes {
  double tape_ms = 0;    // recording the tape
  double first_ms = 0;   // the first call: pattern, coloring, values
  double repeat_ms = 0;  // the median of later calls (repeat = 1): the values only
  int nnz = 0;           // as ADOL-C counts them (the Hessian: one triangle)
};

// The extended Rosenbrock Hessian at x.
AdolcTimes adolc_rosenbrock_hessian(const std::vector<double>& x, int reps);
// The Jacobian of the 2-D Brusselator right-hand side (tests/support/sparse_cases.h) at x.
AdolcTimes adolc_brusselator_jacobian(const std::vector<double>& x, int grid, int reps);

}  // namespace nabla::bench
