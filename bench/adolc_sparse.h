#pragma once
// The ADOL-C baseline of bench/sparse_bench.cpp (Debian libadolc-dev): the
// same functions taped once, then the compressed derivative with the same
// seed matrix as nabla's (its coloring) and the same recovery: hess_mat
// (second-order adjoints, one column per color) and fov_forward (P
// tangents at once). Debian's ADOL-C is built without ColPack, so its own
// sparse_hess and sparse_jac abort ("can only be used if linked with
// ColPack"); with repeat = 1 they do exactly this after the first call.
#include <cstdint>
#include <utility>
#include <vector>

namespace nabla::bench {

struct AdolcTimes {
  double tape_ms = 0;  // recording the tape
  double run_ms = 0;   // the median of the compressed derivative and the recovery
  std::vector<double> values;  // the nonzeros, in the order of Compression::entries
};

// The seed matrix (x's element i has color[i] of `colors`) and, for each
// nonzero, the entry (row, color) of the compressed matrix that holds it.
struct Compression {
  int colors = 0;
  std::vector<int32_t> color;
  std::vector<std::pair<int64_t, int64_t>> entries;
};

// The extended Rosenbrock Hessian at x.
AdolcTimes adolc_rosenbrock_hessian(const std::vector<double>& x, const Compression& c, int reps);
// The Jacobian of the 2-D Brusselator right-hand side (tests/support/sparse_cases.h) at x.
AdolcTimes adolc_brusselator_jacobian(const std::vector<double>& x, int grid, const Compression& c, int reps);

}  // namespace nabla::bench
