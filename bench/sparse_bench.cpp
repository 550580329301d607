// Sparse derivative matrices (issue 17): the extended Rosenbrock Hessian
// (lower triangle, CSR) and a 2-D Brusselator Jacobian, each beside the time
// of the function itself, nabla's dense hessian (one batched sweep at
// --dense-n, blocks of --block rows at --n), and ADOL-C's sparse_hess and sparse_jac (bench/adolc_sparse.cpp)
// on the same functions in the same run. Compiled with the JIT, one thread,
// f64; medians.
//   sparse_bench [--n 10000] [--grid 64] [--dense-n 1000] [--block 1000] [--quick]
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/passes/derivatives.h"
#include "nabla/passes/sparse_derivatives.h"
#include "bench/adolc_sparse.h"
#include "tests/support/sparse_cases.h"

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The median time of one run of exe on `inputs` over `reps` runs, in ms.
double run_ms(Executable& exe, const std::vector<Tensor>& inputs, int reps, std::vector<double>& first) {
  std::vector<Tensor> out = exe.run(inputs);  // warm-up, and the outputs
  for (int64_t i = 0; i < out[0].numel(); ++i) first.push_back(out[0].get(i));
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    exe.run(inputs, out);
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Measured {
  double build_ms = 0, compile_ms = 0, run_ms = 0;
  int32_t colors = 0;
  int64_t nnz = 0;
  std::vector<double> values;  // the first result
  SparseDerivative d;          // for the sparse ones: pattern and coloring
};

CompileOptions options() {
  CompileOptions o;
  o.num_threads = 1;
  return o;
}

// Builds f(x) -> make(x) (timing the graph construction: pattern, coloring,
// sweeps), compiles it and times a run at x in [-1, 1].
// The bench's point x in [-1, 1].
std::vector<double> point(int64_t n) {
  std::vector<double> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -1.0 + 2.0 * static_cast<double>((i * 7919) % 1000) / 1000.0;
  return x;
}

Measured measure(int64_t n, const std::function<Value(Value, Measured&)>& make, int reps) {
  Measured m;
  Module mod;
  Function& f = mod.add_function("f");
  Value x = f.input("x", f64({n}));
  auto t0 = Clock::now();
  f.output(make(x, m));
  m.build_ms = ms_since(t0);
  t0 = Clock::now();
  Executable exe = compile(f, options());
  m.compile_ms = ms_since(t0);
  Tensor xv = Tensor::from_doubles(DType::f64, {n}, point(n));
  m.run_ms = run_ms(exe, {xv}, reps, m.values);
  return m;
}

void row(const char* what, const Measured& m, double base_ms) {
  std::printf("%-44s %9.3f %9.1f %9.0f %8.2fx %7d %9lld\n", what, m.run_ms, m.build_ms, m.compile_ms,
              base_ms > 0 ? m.run_ms / base_ms : 0.0, m.colors, static_cast<long long>(m.nnz));
}

// ADOL-C's line (its tape time in the build column), nabla's time over
// ADOL-C's, and the largest relative difference of the values.
void adolc_row(const char* what, const AdolcTimes& a, double base_ms, const Measured& nabla) {
  double diff = 0;
  for (size_t k = 0; k < a.values.size(); ++k)
    diff = std::max(diff, std::fabs(a.values[k] - nabla.values[k]) / std::max(1.0, std::fabs(nabla.values[k])));
  std::printf("%-44s %9.3f %9.1f %9s %8.2fx %7d %9zu\n", what, a.run_ms, a.tape_ms, "-", a.run_ms / base_ms,
              nabla.colors, a.values.size());
  std::printf("%-44s %9.3f   (values differ by at most %.1e)\n", "  nabla / ADOL-C", nabla.run_ms / a.run_ms, diff);
}

// The seed and recovery entries of a sparse derivative, for ADOL-C: each
// nonzero's (row, color) in the compressed matrix.
Compression compression(const SparseDerivative& d, const SparsityPattern& full, bool hessian) {
  Compression c{d.coloring.count, d.coloring.color, {}};
  for (int64_t i = 0; i < d.pattern.rows; ++i)
    for (int64_t k = d.pattern.row_ptr[i]; k < d.pattern.row_ptr[i + 1]; ++k) {
      int64_t j = d.pattern.col_idx[k];
      c.entries.push_back(hessian ? star_recovery_entry(full, d.coloring, i, j)
                                  : std::pair<int64_t, int64_t>{i, d.coloring.color[j]});
    }
  return c;
}

Value sparse(SparseDerivative d, Measured& m) {
  m.colors = d.coloring.count;
  m.nnz = d.pattern.nnz();
  m.d = d;
  return d.values;
}

// nabla's dense Hessian where one batched sweep of P = n would not fit
// (n = 10,000: 10^8 entries per intermediate): hvp_batched with `block`
// identity rows per run, the first row an input, run n / block times; the
// time is that of the whole Hessian. Each block's entries are checked against
// the sparse Hessian (lower triangle): the largest difference on the pattern,
// and the count of nonzeros off it (expected 0).
void dense_by_blocks(int64_t n, int64_t block, int reps, const Measured& sparse_h, double base_ms) {
  Module mod;
  Function& f = mod.add_function("f");
  Value x = f.input("x", f64({n}));
  Value first = f.input("first", i64());
  Tensor rows(DType::i64, {block, 1}), cols(DType::i64, {1, n});
  for (int64_t k = 0; k < n; ++k) cols.set(k, static_cast<double>(k));
  for (int64_t k = 0; k < block; ++k) rows.set(k, static_cast<double>(k));
  Value seeds = cast(equal(constant(f, std::move(rows)) + first, constant(f, std::move(cols))), DType::f64);
  auto t0 = Clock::now();
  f.output(hvp_batched(sparsetest::rosenbrock(x), x, seeds));
  double build_ms = ms_since(t0);
  t0 = Clock::now();
  Executable exe = compile(f, options());
  double compile_ms = ms_since(t0);
  Tensor xv = Tensor::from_doubles(DType::f64, {n}, point(n));
  const SparsityPattern& p = sparse_h.d.pattern;
  double diff = 0;
  int64_t off_pattern = 0;
  std::vector<double> t;
  for (int r = 0; r <= reps; ++r) {  // r = 0: warm-up and the check
    auto t1 = Clock::now();
    for (int64_t b = 0; b < n; b += block) {
      std::vector<Tensor> in{xv, Tensor::scalar(DType::i64, static_cast<double>(b))};
      std::vector<Tensor> out = exe.run(in);
      for (int64_t i = b; r == 0 && i < std::min(n, b + block); ++i)
        for (int64_t j = 0; j < n; ++j) {
          double v = out[0].get((i - b) * n + j);
          int64_t lo = std::min(i, j), hi = std::max(i, j);
          auto at = std::find(p.col_idx.begin() + p.row_ptr[hi], p.col_idx.begin() + p.row_ptr[hi + 1], lo);
          if (at == p.col_idx.begin() + p.row_ptr[hi + 1]) off_pattern += v != 0;
          else diff = std::max(diff, std::fabs(v - sparse_h.values[at - p.col_idx.begin()]));
        }
    }
    if (r > 0) t.push_back(ms_since(t1));
  }
  std::sort(t.begin(), t.end());
  Measured m;
  m.run_ms = t[t.size() / 2], m.build_ms = build_ms, m.compile_ms = compile_ms, m.nnz = n * n;
  char what[64];
  std::snprintf(what, sizeof what, "dense hessian, %lld blocks of P = %lld rows", static_cast<long long>(n / block),
                static_cast<long long>(block));
  row(what, m, base_ms);
  std::printf("%-44s %9.0fx  (on the pattern values differ by at most %.1e, %lld nonzeros off it)\n",
              "  dense / sparse", m.run_ms / sparse_h.run_ms, diff, static_cast<long long>(off_pattern));
}

int run(int argc, char** argv) {
  int64_t n = 10000, grid = 64, dense_n = 1000, block = 1000;
  int reps = 21;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? std::atoll(argv[++i]) : 0; };
    if (!std::strcmp(argv[i], "--n")) n = next();
    else if (!std::strcmp(argv[i], "--grid")) grid = next();
    else if (!std::strcmp(argv[i], "--dense-n")) dense_n = next();
    else if (!std::strcmp(argv[i], "--block")) block = next();
    else if (!std::strcmp(argv[i], "--quick")) reps = 5;
    else {
      std::fprintf(stderr, "usage: sparse_bench [--n 10000] [--grid 64] [--dense-n 1000] [--block 1000] [--quick]\n");
      return 1;
    }
  }
  using sparsetest::rosenbrock;
  std::printf("JIT, 1 thread, f64; run: median of %d runs; build: pattern + coloring + sweeps\n", reps);
  std::printf("%-44s %9s %9s %9s %9s %7s %9s\n", "", "run ms", "build ms", "compile", "/ f(x)", "colors", "nnz");
  for (int64_t size : {n, dense_n}) {
    Measured f = measure(size, [](Value x, Measured&) { return rosenbrock(x); }, reps);
    std::printf("-- extended Rosenbrock, n = %lld\n", static_cast<long long>(size));
    row("objective", f, f.run_ms);
    Measured h = measure(size, [](Value x, Measured& m) { return sparse(sparse_hessian(rosenbrock(x), x), m); }, reps);
    row("sparse_hessian (lower triangle, CSR)", h, f.run_ms);
    {
      Module tmp;
      Value x = tmp.add_function("f").input("x", f64({size}));
      Compression c = compression(h.d, hessian_pattern(rosenbrock(x), x), true);
      adolc_row("ADOL-C hess_mat, same seed, + recovery", adolc_rosenbrock_hessian(point(size), c, reps), f.run_ms, h);
    }
    if (size != dense_n && block > 0 && size % block == 0)
      dense_by_blocks(size, block, std::max(3, reps / 7), h, f.run_ms);
    if (size == dense_n)
      row("dense hessian (one batched hvp, P = n)", measure(size, [](Value x, Measured&) {
            return hessian(rosenbrock(x), x);
          }, std::max(3, reps / 4)), f.run_ms);
  }
  int64_t u = 2 * grid * grid;
  std::printf("-- 2-D Brusselator right-hand side, %lldx%lld grid, %lld unknowns\n", static_cast<long long>(grid),
              static_cast<long long>(grid), static_cast<long long>(u));
  Measured rhs = measure(u, [&](Value x, Measured&) { return sparsetest::brusselator(x, grid); }, reps);
  row("right-hand side", rhs, rhs.run_ms);
  Measured j = measure(u, [&](Value x, Measured& m) {
    return sparse(sparse_jacobian(sparsetest::brusselator(x, grid), x), m);
  }, reps);
  row("sparse_jacobian (CSR)", j, rhs.run_ms);
  if (!j.d.by_rows)
    adolc_row("ADOL-C fov_forward, same seed, + recovery",
              adolc_brusselator_jacobian(point(u), static_cast<int>(grid), compression(j.d, j.d.pattern, false), reps),
              rhs.run_ms, j);
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
