// nabla-gradbench's evals (tools/gradbench/, docs/gradbench.md): each answer
// of the server on small inputs against a plain C++ transcription of the
// eval's formula (primal) and against f64 central differences of the primal
// graph by the interpreter (derivatives); and the protocol's error replies.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "gradbench_util.h"

namespace nabla::gradbench {
namespace NABLA_UNITY_ID {

TEST(GradBench, Hello) {
  Server server({});
  EXPECT_EQ(ask(server, json::Object{{"id", 1}, {"kind", "evaluate"}, {"module", "hello"},
                                     {"function", "square"}, {"input", 3.5}})
                .getNumber("output"),
            12.25);
  EXPECT_EQ(ask(server, json::Object{{"id", 2}, {"kind", "evaluate"}, {"module", "hello"},
                                     {"function", "double"}, {"input", 3.5}})
                .getNumber("output"),
            7.0);
}

TEST(GradBench, Lse) {
  Server server({});
  std::vector<double> x = {0.3, -1.2, 2.5, 0.7, 2.49, -3};
  json::Object input{{"x", json::Array(std::vector<json::Value>(x.begin(), x.end()))}};
  double a = 2.5, s = 0;
  for (double v : x) s += std::exp(v - a);
  EXPECT_NEAR(flat(evaluate(server, "lse", "primal", input))[0], a + std::log(s), 1e-14);
  expect_near_all(flat(evaluate(server, "lse", "gradient", input)),
                  central_differences("lse", "primal", input, 0), 1e-8);
}

TEST(GradBench, Llsq) {
  Server server({});
  json::Object input{{"x", numbers({0.5, -0.25, 1.5, 0.125})}, {"n", 9}};
  double want = 0;
  for (int i = 0; i < 9; ++i) {
    double t = -1 + i * 2.0 / 8, r = (t > 0) - (t < 0), power = 1;
    for (double xj : {0.5, -0.25, 1.5, 0.125}) r -= xj * power, power *= t;
    want += r * r / 2;
  }
  EXPECT_NEAR(flat(evaluate(server, "llsq", "primal", input))[0], want, 1e-13);
  expect_near_all(flat(evaluate(server, "llsq", "gradient", input)),
                  central_differences("llsq", "primal", input, 0), 1e-7);
}

// A plain transcription of the gmm objective (upstream evals/gmm/README.md).
double gmm_objective(int d, int k, int n, const std::vector<double>& alpha, const std::vector<double>& mu,
                     const std::vector<double>& q, const std::vector<double>& l, const std::vector<double>& x,
                     double gamma, int m) {
  auto lse = [](const std::vector<double>& v) {
    double a = *std::max_element(v.begin(), v.end()), s = 0;
    for (double e : v) s += std::exp(e - a);
    return a + std::log(s);
  };
  int ls = d * (d - 1) / 2;
  double total = -n * d * 0.5 * std::log(2 * std::numbers::pi) - n * lse(alpha);
  for (int i = 0; i < n; ++i) {
    std::vector<double> beta(k);
    for (int c = 0; c < k; ++c) {
      std::vector<double> Qx(d, 0);
      double sum_q = 0;
      for (int j = 0; j < d; ++j) Qx[j] = std::exp(q[c * d + j]) * (x[i * d + j] - mu[c * d + j]), sum_q += q[c * d + j];
      for (int col = 0, p = 0; col < d; ++col)
        for (int row = col + 1; row < d; ++row, ++p) Qx[row] += l[c * ls + p] * (x[i * d + col] - mu[c * d + col]);
      double sq = 0;
      for (double v : Qx) sq += v * v;
      beta[c] = alpha[c] + sum_q - 0.5 * sq;
    }
    total += lse(beta);
  }
  double nn = d + m + 1, log_gamma_d = 0.25 * d * (d - 1) * std::log(std::numbers::pi);
  for (int j = 1; j <= d; ++j) log_gamma_d += std::lgamma(0.5 * nn + 0.5 * (1 - j));
  total += k * (nn * d * (std::log(gamma) - 0.5 * std::log(2.0)) - log_gamma_d);
  for (int c = 0; c < k; ++c) {
    double frob = 0, sum_q = 0;
    for (int j = 0; j < d; ++j) frob += std::exp(2 * q[c * d + j]), sum_q += q[c * d + j];
    for (int p = 0; p < ls; ++p) frob += l[c * ls + p] * l[c * ls + p];
    total -= 0.5 * gamma * gamma * frob - m * sum_q;
  }
  return total;
}

TEST(GradBench, Gmm) {
  const int d = 3, k = 2, n = 5, m = 2;
  const double gamma = 1.5;
  std::vector<double> alpha = {0.2, -0.4}, mu = {0.1, 0.5, -0.3, 1.1, -0.7, 0.4},
                      q = {0.05, -0.2, 0.3, 0.1, 0.0, -0.15}, l = {0.3, -0.2, 0.5, -0.4, 0.25, 0.1}, x;
  for (int i = 0; i < n * d; ++i) x.push_back(std::sin(1.7 * i + 0.3));
  json::Object input{{"d", d}, {"k", k}, {"n", n}, {"m", m}, {"gamma", gamma},
                     {"alpha", json::Array(std::vector<json::Value>(alpha.begin(), alpha.end()))},
                     {"mu", rows(mu, k, d)}, {"q", rows(q, k, d)}, {"l", rows(l, k, 3)}, {"x", rows(x, n, d)}};
  Server server({});
  EXPECT_NEAR(flat(evaluate(server, "gmm", "objective", input))[0],
              gmm_objective(d, k, n, alpha, mu, q, l, x, gamma, m), 1e-11);
  json::Value jac = evaluate(server, "gmm", "jacobian", input);
  const json::Object& g = *jac.getAsObject();
  const char* names[] = {"alpha", "mu", "q", "l"};
  for (size_t t = 0; t < 4; ++t)
    expect_near_all(flat(*g.get(names[t])), central_differences("gmm", "objective", input, t), 1e-7);
  EXPECT_EQ(server.num_compiled(), 2u);
  evaluate(server, "gmm", "jacobian", input);  // the same sizes: compiled once
  EXPECT_EQ(server.num_compiled(), 2u);
}

TEST(GradBench, Errors) {
  Server server({});
  EXPECT_EQ(error_of(server, R"({"id": 1, "kind": "evaluate", "module": "lse", "function": "hessian", "input": {"x": [1]}})"),
            "unknown function 'hessian' of module 'lse'");
  EXPECT_EQ(error_of(server, R"({"id": 2, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": "1"}})"),
            "field \"x\": expected an array of numbers");
  EXPECT_EQ(error_of(server, R"({"id": 3, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": [1, true]}})"),
            "field \"x\": expected an array of numbers");
  EXPECT_EQ(error_of(server, R"({"id": 4, "kind": "evaluate", "module": "llsq", "function": "primal", "input": {"x": [1], "n": 2.5}})"),
            "field \"n\": expected an integer in [2, 268435456]");
  EXPECT_EQ(error_of(server, R"({"id": 5, "kind": "evaluate", "module": "gmm", "function": "objective",)"
                             R"( "input": {"d": 2, "k": 1, "n": 1, "m": 0, "gamma": 1, "alpha": [0], "mu": [[0, 0]],)"
                             R"( "q": [[0, 0]], "l": [[0, 0]], "x": [[1, 2]]}})"),
            "field \"l\" row 0: expected an array of 1 numbers");
  EXPECT_EQ(error_of(server, R"({"id": 6, "kind": "define"})"), "field \"module\": expected a string");
  EXPECT_EQ(error_of(server, R"({"id": 7, "kind": "define", "module": "nope"})"), "unknown module 'nope'");
  EXPECT_EQ(error_of(server, R"({"id": 8, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": [1000, 1e309]}})"),
            "the result is not finite (JSON has no NaN or infinity)");
  EXPECT_EQ(error_of(server, R"([1, 2])"), "a message must be a JSON object");
  // Still serving.
  EXPECT_EQ(flat(evaluate(server, "lse", "primal", json::Object{{"x", numbers({0.0})}}))[0], 0.0);
}

}  // namespace
}  // namespace nabla::gradbench
