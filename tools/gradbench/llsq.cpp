// llsq: y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(n-1)
// and s_i = sign(t_i), i.e. 1/2 |s - T x|^2 for the n-by-m matrix
// T_ij = t_i^j, which is data (it does not depend on x): a constant of the
// graph, built once per (n, m).
#include <cmath>

#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 28;

Parsed read(const llvm::json::Object& input) {
  std::vector<double> x = vector_field(input, "x");
  if (x.empty()) throw Error("field \"x\": expected at least one number");
  int64_t m = static_cast<int64_t>(x.size());
  int64_t n = integer_field(input, "n", 2, kMaxElements / m);
  return {{Tensor::from_doubles(DType::f64, {m, 1}, x)}, {n, m}};
}

Value objective(Function& f, Value x, int64_t n, int64_t m) {
  Tensor T(DType::f64, {n, m}), s(DType::f64, {n, 1});
  for (int64_t i = 0; i < n; ++i) {
    double t = -1 + static_cast<double>(i) * 2 / static_cast<double>(n - 1), power = 1;
    s.set(i, (0 < t) - (t < 0));
    for (int64_t j = 0; j < m; ++j, power *= t) T.set(i * m + j, power);
  }
  Value r = constant(f, s) - matmul(constant(f, T), x);
  return 0.5 * sum(r * r);
}

void build_primal(Function& f, const std::vector<int64_t>& sizes) {
  Value x = f.input("x", f64({sizes[1], 1}));
  f.output(objective(f, x, sizes[0], sizes[1]));
}

void build_gradient(Function& f, const std::vector<int64_t>& sizes) {
  Value x = f.input("x", f64({sizes[1], 1}));
  f.output(grad(objective(f, x, sizes[0], sizes[1]), {x})[0]);
}

}  // namespace

std::vector<EvalFunction> llsq_functions() {
  return {{"llsq", "primal", read, build_primal, write_scalar},
          {"llsq", "gradient", read, build_gradient, write_array}};
}

}  // namespace nabla::gradbench
