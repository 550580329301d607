// gmm: the log posterior of a Gaussian mixture with a Wishart prior (upstream
// evals/gmm/README.md, "Implementation"), and its gradient in alpha, mu, q, l.
//   Q_k = diag(exp(q_k)) + L(l_k)   (l fills the strict lower part column by column)
//   beta_ik = alpha_k + sum_j q_kj - 1/2 |Q_k x_i - Q_k mu_k|^2
//   F = -N D/2 log 2pi - N lse(alpha) + sum_i lse_k(beta_ik)
//       - sum_k (gamma^2/2 |Q_k|_F^2 - m sum_j q_kj) + K C
// Q_k x_i for all i and k is one matmul: X [N,D] times the K*D rows of Q.
// C (with a log of the multivariate gamma function) depends on gamma, m and
// D only: computed here, an input of the graph like gamma^2/2 and m.
#include <cmath>
#include <numbers>

#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kMax = int64_t{1} << 24;

double log_wishart_constant(int64_t d, int64_t m, double gamma) {
  double n = static_cast<double>(d + m + 1), p = static_cast<double>(d);
  double log_gamma_d = 0.25 * p * (p - 1) * std::log(std::numbers::pi);
  for (int64_t j = 1; j <= d; ++j) log_gamma_d += std::lgamma(0.5 * n + 0.5 * static_cast<double>(1 - j));
  return n * p * (std::log(gamma) - 0.5 * std::log(2.0)) - log_gamma_d;
}

Parsed read(const llvm::json::Object& input) {
  int64_t d = integer_field(input, "d", 2, 4096), k = integer_field(input, "k", 1, kMax);
  int64_t n = integer_field(input, "n", 1, kMax), m = integer_field(input, "m", 0, kMax);
  double gamma = number_field(input, "gamma");
  if (!(gamma > 0)) throw Error("field \"gamma\": expected a positive number");
  int64_t l = d * (d - 1) / 2;
  auto t = [](Shape s, const std::vector<double>& v) { return Tensor::from_doubles(DType::f64, s, v); };
  auto scalar = [](double v) { return Tensor::scalar(DType::f64, v); };
  return {{t({k}, vector_field(input, "alpha", k)), t({k, d}, matrix_field(input, "mu", k, d)),
           t({k, d}, matrix_field(input, "q", k, d)), t({k, l}, matrix_field(input, "l", k, l)),
           t({n, d}, matrix_field(input, "x", n, d)), scalar(0.5 * gamma * gamma),
           scalar(static_cast<double>(m)), scalar(static_cast<double>(k) * log_wishart_constant(d, m, gamma))},
          {d, k, n}};
}

// The lower-triangular factors Q [K,D,D] from q [K,D] and l [K,D(D-1)/2].
Value factors(Function& f, Value q, Value l, int64_t d, int64_t k) {
  // Position of Q[r][c] in [0, l...]: 0 (a zero) on and above the diagonal.
  Tensor idx(DType::i64, {d * d}), eye(DType::f64, {d, d});
  for (int64_t c = 0, pos = 1; c < d; ++c) {
    eye.set(c * d + c, 1);
    for (int64_t r = c + 1; r < d; ++r) idx.set(r * d + c, static_cast<double>(pos++));
  }
  Value padded = concat(std::vector<Value>{constant(f, Tensor(DType::f64, {k, 1})), l}, 1);
  Value lower = reshape(gather(padded, constant(f, idx), 1), {k, d, d});
  return lower + reshape(exp(q), {k, 1, d}) * constant(f, eye);
}

// log sum_j exp(v_j) along the last axis, shifted by the (fixed) maximum.
Value logsumexp(Value v) {
  Value a = stop_gradient(max(v, std::vector<int64_t>{-1}, true));
  return a + log(sum(exp(v - a), std::vector<int64_t>{-1}, true));
}

struct Inputs {
  Value alpha, mu, q, l, x, half_gamma2, m, prior_constant;
};

Inputs add_inputs(Function& f, int64_t d, int64_t k, int64_t n) {
  int64_t l = d * (d - 1) / 2;
  return {f.input("alpha", f64({k})), f.input("mu", f64({k, d})),   f.input("q", f64({k, d})),
          f.input("l", f64({k, l})),  f.input("x", f64({n, d})),    f.input("half_gamma2", f64()),
          f.input("m", f64()),        f.input("prior_constant", f64())};
}

Value objective(Function& f, const Inputs& in, int64_t d, int64_t k, int64_t n) {
  Value Q = factors(f, in.q, in.l, d, k);
  Value sum_q = sum(in.q, std::vector<int64_t>{1});
  Value Qx = matmul(in.x, reshape(Q, {k * d, d}), false, true);                           // [N,K*D]
  Value Qmu = reshape(sum(Q * reshape(in.mu, {k, 1, d}), std::vector<int64_t>{2}), {1, k * d});
  Value diff = Qx - Qmu;
  Value sq = sum(reshape(diff * diff, {n, k, d}), std::vector<int64_t>{2});               // [N,K]
  Value beta = reshape(in.alpha + sum_q, {1, k}) - 0.5 * sq;
  double c = -static_cast<double>(n * d) * 0.5 * std::log(2 * std::numbers::pi);
  Value likelihood = c + sum(logsumexp(beta)) - static_cast<double>(n) * sum(logsumexp(in.alpha));
  Value Qdiag = exp(in.q);
  Value frobenius = sum(Qdiag * Qdiag) + sum(in.l * in.l);
  Value prior = in.prior_constant - (in.half_gamma2 * frobenius - in.m * sum(in.q));
  return likelihood + prior;
}

void build_objective(Function& f, const std::vector<int64_t>& s) {
  f.output(objective(f, add_inputs(f, s[0], s[1], s[2]), s[0], s[1], s[2]));
}

void build_jacobian(Function& f, const std::vector<int64_t>& s) {
  Inputs in = add_inputs(f, s[0], s[1], s[2]);
  for (Value g : grad(objective(f, in, s[0], s[1], s[2]), {in.alpha, in.mu, in.q, in.l})) f.output(g);
}

llvm::json::Value write_jacobian(const std::vector<Tensor>& r, const std::vector<int64_t>& s) {
  int64_t d = s[0], k = s[1];
  return llvm::json::Object{{"alpha", to_json_array(r[0])},
                            {"mu", to_json_matrix(r[1], k, d)},
                            {"q", to_json_matrix(r[2], k, d)},
                            {"l", to_json_matrix(r[3], k, d * (d - 1) / 2)}};
}

}  // namespace

std::vector<EvalFunction> gmm_functions() {
  return {{"gmm", "objective", read, build_objective, write_scalar},
          {"gmm", "jacobian", read, build_jacobian, write_jacobian}};
}

}  // namespace nabla::gradbench
