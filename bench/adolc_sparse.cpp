#include "bench/adolc_sparse.h"

#include <adolc/adolc.h>
#include <adolc/adolc_sparse.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

template <class T>
T rosenbrock(const T* x, int n) {
  T s = 0;
  for (int i = 0; i + 1 < n; ++i) {
    T t = x[i + 1] - x[i] * x[i], o = 1.0 - x[i];
    s += 100.0 * (t * t) + o * o;
  }
  return s;
}

// The 5-point Laplacian of u (m x m, zero outside) at (r, c).
template <class T>
T laplacian(const T* u, int m, int r, int c) {
  T l = -4.0 * u[r * m + c];
  if (r > 0) l += u[(r - 1) * m + c];
  if (r + 1 < m) l += u[(r + 1) * m + c];
  if (c > 0) l += u[r * m + c - 1];
  if (c + 1 < m) l += u[r * m + c + 1];
  return l;
}

// As sparsetest::brusselator: u' = 1 + u^2 v - 4.4 u + 0.02 lap(u), v' = 3.4 u - u^2 v + 0.02 lap(v).
template <class T>
void brusselator(const T* x, T* y, int m) {
  int k = m * m;
  const T *u = x, *v = x + k;
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < m; ++c) {
      int i = r * m + c;
      T uuv = u[i] * u[i] * v[i];
      y[i] = 1.0 + uuv - 4.4 * u[i] + 0.02 * laplacian(u, m, r, c);
      y[k + i] = 3.4 * u[i] - uuv + 0.02 * laplacian(v, m, r, c);
    }
}

double median_ms(int reps, const std::function<void()>& call) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    call();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

AdolcTimes adolc_rosenbrock_hessian(const std::vector<double>& x, int reps) {
  AdolcTimes t;
  int n = static_cast<int>(x.size());
  auto t0 = Clock::now();
  trace_on(1);
  std::vector<adouble> xa(n);
  for (int i = 0; i < n; ++i) xa[i] <<= x[i];
  adouble f = rosenbrock(xa.data(), n);
  double fv;
  f >>= fv;
  trace_off();
  t.tape_ms = ms_since(t0);
  unsigned int *rind = nullptr, *cind = nullptr;
  double* values = nullptr;
  int options[2] = {0, 0};  // safe pattern mode, indirect recovery (ADOL-C's defaults)
  t0 = Clock::now();
  sparse_hess(1, n, 0, x.data(), &t.nnz, &rind, &cind, &values, options);
  t.first_ms = ms_since(t0);
  t.repeat_ms = median_ms(reps, [&] { sparse_hess(1, n, 1, x.data(), &t.nnz, &rind, &cind, &values, options); });
  free(rind);
  free(cind);
  free(values);
  return t;
}

AdolcTimes adolc_brusselator_jacobian(const std::vector<double>& x, int grid, int reps) {
  AdolcTimes t;
  int n = static_cast<int>(x.size());
  auto t0 = Clock::now();
  trace_on(2);
  std::vector<adouble> xa(n), ya(n);
  for (int i = 0; i < n; ++i) xa[i] <<= x[i];
  brusselator(xa.data(), ya.data(), grid);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) ya[i] >>= y[i];
  trace_off();
  t.tape_ms = ms_since(t0);
  unsigned int *rind = nullptr, *cind = nullptr;
  double* values = nullptr;
  int options[4] = {0, 0, 0, 0};  // propagation of index domains, safe mode, forward mode, column compression
  t0 = Clock::now();
  sparse_jac(2, n, n, 0, x.data(), &t.nnz, &rind, &cind, &values, options);
  t.first_ms = ms_since(t0);
  t.repeat_ms = median_ms(reps, [&] { sparse_jac(2, n, n, 1, x.data(), &t.nnz, &rind, &cind, &values, options); });
  free(rind);
  free(cind);
  free(values);
  return t;
}

}  // namespace nabla::bench
