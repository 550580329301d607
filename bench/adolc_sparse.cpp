#include "bench/adolc_sparse.h"

#include <adolc/adolc.h>

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
  call();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    call();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// A dense rows x cols matrix as ADOL-C takes it (double**), zero-filled.
struct Matrix {
  std::vector<double> data;
  std::vector<double*> rows;
  Matrix(int64_t r, int64_t c) : data(r * c, 0.0), rows(r) {
    for (int64_t i = 0; i < r; ++i) rows[i] = data.data() + i * c;
  }
};

Matrix seed(const Compression& c) {
  Matrix s(static_cast<int64_t>(c.color.size()), c.colors);
  for (size_t i = 0; i < c.color.size(); ++i) s.rows[i][c.color[i]] = 1.0;
  return s;
}

void recover(const Matrix& b, const Compression& c, std::vector<double>& values) {
  values.resize(c.entries.size());
  for (size_t k = 0; k < c.entries.size(); ++k) values[k] = b.rows[c.entries[k].first][c.entries[k].second];
}

}  // namespace

AdolcTimes adolc_rosenbrock_hessian(const std::vector<double>& x, const Compression& c, int reps) {
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
  Matrix s = seed(c), b(n, c.colors);
  std::vector<double> xs = x;
  t.run_ms = median_ms(reps, [&] {
    hess_mat(1, n, c.colors, xs.data(), s.rows.data(), b.rows.data());
    recover(b, c, t.values);
  });
  return t;
}

AdolcTimes adolc_brusselator_jacobian(const std::vector<double>& x, int grid, const Compression& c, int reps) {
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
  Matrix s = seed(c), b(n, c.colors);
  t.run_ms = median_ms(reps, [&] {
    fov_forward(2, n, n, c.colors, x.data(), s.rows.data(), y.data(), b.rows.data());
    recover(b, c, t.values);
  });
  return t;
}

}  // namespace nabla::bench
