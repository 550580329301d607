#pragma once
// The named functions of the sparse-derivative tests (issue 17): each builds
// y (a vector function, for Jacobians) or z (a scalar, for Hessians) of x.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"

namespace nabla::sparsetest {

// x padded with k zeros at each end (same dtype).
inline Value pad(Value x, int64_t k) {
  Value z = constant(*x->function(), Tensor(x->dtype(), {k}));
  return concat(std::vector<Value>{z, x, z}, 0);
}

// x shifted by d: element i is x[i + d], 0 outside.
inline Value shifted(Value x, int64_t d, int64_t k) {
  int64_t n = x->shape()[0];
  return slice(pad(x, k), {k + d}, {k + d + n});
}

// The 5-point Laplacian of u on an m x m grid (zero boundary), flat.
inline Value laplacian(Value u, int64_t m) {
  Value g = reshape(u, {m, m});
  Value zr = constant(*u->function(), Tensor(u->dtype(), {1, m}));
  Value zc = constant(*u->function(), Tensor(u->dtype(), {m + 2, 1}));
  Value p = concat(std::vector<Value>{zr, g, zr}, 0);
  p = concat(std::vector<Value>{zc, p, zc}, 1);
  auto at = [&](int64_t r, int64_t c) { return slice(p, {r, c}, {r + m, c + m}); };
  Value l = at(0, 1) + at(2, 1) + at(1, 0) + at(1, 2) - 4.0 * g;
  return reshape(l, {m * m});
}

// A 2-D Brusselator right-hand side on an m x m grid, x = [u; v] (2 m^2):
//   u' = 1 + u^2 v - 4.4 u + a lap(u),  v' = 3.4 u - u^2 v + a lap(v).
inline Value brusselator(Value x, int64_t m) {
  int64_t k = m * m;
  Value u = slice(x, {0}, {k}), v = slice(x, {k}, {2 * k});
  Value uuv = u * u * v;
  Value du = 1.0 + uuv - 4.4 * u + 0.02 * laplacian(u, m);
  Value dv = 3.4 * u - uuv + 0.02 * laplacian(v, m);
  return concat(std::vector<Value>{du, dv}, 0);
}

// The extended Rosenbrock function (scipy.optimize.rosen).
inline Value rosenbrock(Value x) {
  int64_t n = x->shape()[0];
  Value a = slice(x, {0}, {n - 1}), b = slice(x, {1}, {n});
  Value t = b - a * a, one_minus = 1.0 - a;
  return sum(100.0 * (t * t) + one_minus * one_minus);
}

// A scan over controls: x = [s0 (3); u (6 x 3)], s' = 0.9 s + sin(u_i) s^2,
// y_i = s': y_i[d] depends on s0[d] and u_j[d] for j <= i (block lower
// triangular, each block diagonal).
inline Value scan_controls(Value x) {
  Value s0 = slice(x, {0}, {3}), u = reshape(slice(x, {3}, {21}), {6, 3});
  ScanResult r = scan([](auto c, auto ui, auto) -> ScanBodyResult {
    Value next = 0.9 * c[0] + sin(ui[0]) * c[0] * c[0];
    return {{next}, {next}};
  }, {s0}, {u});
  return reshape(r.ys[0], {18});
}

// A while of 3 steps (max_trip_count 10) over x as 3 pairs, each step
// c' = c + 0.1 tanh(sum of c's pair): block diagonal, 2 x 2 blocks.
inline Value while_blocks(Value x) {
  Function& f = *x->function();
  std::vector<Value> r = while_loop(
      [](auto c, auto) { return less(c[0], constant(*c[0]->function(), 3.0, DType::i64)); },
      [](auto c, auto) {
        Value pairs = sum(reshape(c[1], {3, 2}), std::vector<int64_t>{1}, true);
        Value next = c[1] + 0.1 * reshape(broadcast_to(tanh(pairs), {3, 2}), {6});
        return std::vector<Value>{c[0] + constant(*c[0]->function(), 1.0, DType::i64), next};
      },
      {constant(f, 0.0, DType::i64), x}, {}, 10);
  return r[1];
}

struct Case {
  std::string name;
  int64_t n;                           // the size of x
  std::function<Value(Value)> build;   // y or z of x
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Vector functions with named Jacobian patterns.
inline std::vector<Case> jacobian_cases() {
  return {
      {"diagonal", 12, [](Value x) { return exp(x) * x; }},
      {"tridiagonal", 12, [](Value x) { return exp(shifted(x, -1, 1)) * x + shifted(x, 1, 1) * shifted(x, 1, 1); }},
      {"arrowhead", 12, [](Value x) {  // y_i = x_i x_0, and a last row sum(x^2)
         Value x0 = slice(x, {0}, {1});
         return concat(std::vector<Value>{x * x0, reshape(sum(x * x), {1})}, 0);
       }},
      {"block_diagonal", 12, [](Value x) { return reshape(softmax(reshape(x, {4, 3}), 1), {12}); }},
      {"banded5", 16, [](Value x) {
         Value y = tanh(x);
         for (int64_t d = -5; d <= 5; ++d)
           if (d != 0) y = y + static_cast<double>(d) * sin(shifted(x, d, 5));
         return y;
       }},
      {"laplacian", 25, [](Value x) { return laplacian(x, 5) + x * x; }},
      {"ode_brusselator", 32, [](Value x) { return brusselator(x, 4); }},
      {"scan_controls", 21, scan_controls},
      {"while_blocks", 6, while_blocks},
      {"copies", 12, [](Value x) {  // reshape, transpose, gather, broadcast, slice, concat: sets shared
         Value m = reshape(x, {3, 4});
         Value e = exp(reshape(transpose(m, {1, 0}), {12}));  // the reshape is the transpose's last user
         Tensor idx(DType::i64, {4});
         for (int64_t i = 0; i < 4; ++i) idx.set(i, static_cast<double>((11 * i + 3) % 12));
         Value g = gather(e, constant(*x->function(), std::move(idx)), 0);
         Value b = reshape(broadcast_to(reshape(slice(x, {1}, {3}), {2, 1}), {2, 3}), {6});
         return concat(std::vector<Value>{reshape(m, {12}) * e, g, cos(b), reshape(m, {12})}, 0);
       }},
  };
}

// Scalar functions with named Hessian patterns.
inline std::vector<Case> hessian_cases() {
  return {
      {"diagonal", 12, [](Value x) { return sum(exp(x)); }},
      {"tridiagonal", 12, [](Value x) {
         int64_t n = x->shape()[0];
         return sum(slice(x, {0}, {n - 1}) * slice(x, {1}, {n})) + sum(x * x * x);
       }},
      {"arrowhead", 12, [](Value x) { return reshape(slice(x, {0}, {1}), {}) * sum(x) + sum(cos(x)); }},
      {"block_diagonal", 12, [](Value x) {
         Value s = sum(reshape(x, {4, 3}), std::vector<int64_t>{1});
         return sum(s * s * s);
       }},
      {"banded5", 16, [](Value x) {
         Value z = sum(x * x);
         for (int64_t d = 1; d <= 5; ++d) z = z + sum(x * sin(shifted(x, d, 5)));
         return z;
       }},
      {"laplacian", 25, [](Value x) { return sum(x * laplacian(x, 5)) + sum(x * x * x); }},
      {"partially_separable", 12, [](Value x) {  // sum_i f(x[i-1], x[i], x[i+1])
         int64_t n = x->shape()[0];
         Value a = slice(x, {0}, {n - 2}), b = slice(x, {1}, {n - 1}), c = slice(x, {2}, {n});
         return sum(exp(a * b) * c + (a - c) * (a - c));
       }},
      {"rosenbrock", 12, rosenbrock},
      {"scan_controls", 21, [](Value x) { return sum(scan_controls(x)); }},  // a block per dimension
  };
}

}  // namespace nabla::sparsetest
