// nabla-gradbench's kmeans, ode, det and lstm (tools/gradbench/,
// docs/gradbench.md): the primal against a plain C++ transcription of the
// eval's formula, the derivatives against f64 central differences of the
// primal graph run by the interpreter, on small generated inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "gradbench_util.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/parser.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/derivatives.h"
#include "tools/gradbench/scan_evals.h"

namespace nabla::gradbench {
namespace NABLA_UNITY_ID {

json::Array array(const std::vector<double>& v) { return json::Array(std::vector<json::Value>(v.begin(), v.end())); }

// The nearest of the k centroids C to point p (the first on a tie) and its
// squared distance, as upstream's kmeans.hpp.
std::pair<int, double> nearest(const double* p, const std::vector<double>& C, int k, int d) {
  std::pair<int, double> best = {0, INFINITY};
  for (int j = 0; j < k; ++j) {
    double dist = 0;
    for (int l = 0; l < d; ++l) dist += (C[j * d + l] - p[l]) * (C[j * d + l] - p[l]);
    if (dist < best.second) best = {j, dist};
  }
  return best;
}

// sum_i min_j |C_j - P_i|^2.
double kmeans_cost(const std::vector<double>& P, const std::vector<double>& C, int n, int k, int d) {
  double total = 0;
  for (int i = 0; i < n; ++i) total += nearest(&P[i * d], C, k, d).second;
  return total;
}

TEST(GradBenchEvals, Kmeans) {
  const int n = 9, k = 3, d = 2;
  std::vector<double> P;
  for (int i = 0; i < n * d; ++i) P.push_back(std::sin(2.3 * i + 0.4));
  std::vector<double> C(P.end() - k * d, P.end());  // every cluster has a point
  C[0] += 0.05, C[3] -= 0.1;
  json::Object input{{"points", rows(P, n, d)}, {"centroids", rows(C, k, d)}};
  Server server({});
  EXPECT_NEAR(flat(evaluate(server, "kmeans", "cost", input))[0], kmeans_cost(P, C, n, k, d), 1e-13);
  // dir = J / diag(H): J by central differences of the cost graph, H by
  // second differences of the transcription (exact: piecewise quadratic).
  std::vector<double> J = central_differences("kmeans", "cost", input, 1), want;
  double f0 = kmeans_cost(P, C, n, k, d), h = 1e-3;
  for (int i = 0; i < k * d; ++i) {
    std::vector<double> up = C, down = C;
    up[i] += h, down[i] -= h;
    double H = (kmeans_cost(P, up, n, k, d) - 2 * f0 + kmeans_cost(P, down, n, k, d)) / (h * h);
    want.push_back(J[i] / H);
  }
  expect_near_all(flat(evaluate(server, "kmeans", "dir", input)), want, 1e-6);
}

TEST(GradBenchEvals, KmeansHessianIsDiagonal) {
  // Why dir takes diag(H) as the one product H 1: the Hessian of the cost
  // graph in the centroids is diagonal, 2 (points of the cluster) on it.
  const int n = 8, k = 3, d = 2;
  Module m;
  Function& f = m.add_function("cost");
  find_function("kmeans", "cost")->build(f, {n, k, d});
  f.output(hessian(f.results()[0], f.inputs()[1]));
  std::vector<double> P;
  for (int i = 0; i < n * d; ++i) P.push_back(std::sin(1.9 * i + 0.3));
  std::vector<double> C(P.begin(), P.begin() + k * d);
  Tensor H = interpret(f, std::vector<Tensor>{Tensor::from_doubles(DType::f64, {n, d}, P),
                                             Tensor::from_doubles(DType::f64, {k, d}, C)})[1];
  std::vector<int> cluster_size(k);
  for (int i = 0; i < n; ++i) ++cluster_size[nearest(&P[i * d], C, k, d).first];
  for (int r = 0; r < k * d; ++r)
    for (int c = 0; c < k * d; ++c) EXPECT_EQ(H.get(r * k * d + c), r == c ? 2.0 * cluster_size[r / d] : 0.0) << r << " " << c;
}

// y(2) by s RK4 steps, as upstream's ode.hpp.
std::vector<double> ode_primal(const std::vector<double>& x, int s) {
  size_t n = x.size();
  double h = 2.0 / s;
  std::vector<double> y(n, 0), k1(n), k2(n), k3(n), k4(n), t(n);
  auto f = [&](const std::vector<double>& y, std::vector<double>& z) {
    z[0] = x[0];
    for (size_t i = 1; i < n; ++i) z[i] = x[i] * y[i - 1];
  };
  for (int step = 0; step < s; ++step) {
    f(y, k1);
    for (size_t i = 0; i < n; ++i) t[i] = y[i] + h * k1[i] / 2;
    f(t, k2);
    for (size_t i = 0; i < n; ++i) t[i] = y[i] + h * k2[i] / 2;
    f(t, k3);
    for (size_t i = 0; i < n; ++i) t[i] = y[i] + h * k3[i];
    f(t, k4);
    for (size_t i = 0; i < n; ++i) y[i] += h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) / 6;
  }
  return y;
}

TEST(GradBenchEvals, Ode) {
  std::vector<double> x = {0.7, 0.3, 0.9, 0.45, 0.6, 0.15};
  Server server({});
  for (int s : {1, 3, 7}) {
    json::Object input{{"x", array(x)}, {"s", s}};
    expect_near_all(flat(evaluate(server, "ode", "primal", input)), ode_primal(x, s), 1e-14);
    expect_near_all(flat(evaluate(server, "ode", "gradient", input)),
                    central_differences("ode", "primal", input, 0, -1), 1e-8);
  }
  json::Object one{{"x", numbers({0.25})}, {"s", 2}};
  expect_near_all(flat(evaluate(server, "ode", "primal", one)), {0.5}, 1e-15);
  expect_near_all(flat(evaluate(server, "ode", "gradient", one)), {2.0}, 1e-15);
}

TEST(GradBenchEvals, OdeScanEqualsUnrolled) {
  Tensor x = Tensor::from_doubles(DType::f64, {5}, std::vector<double>{0.2, 0.9, 0.4, 0.75, 0.5});
  std::vector<std::vector<Tensor>> results;
  for (bool unrolled : {false, true}) {
    Module m;
    Function& f = m.add_function("ode");
    Value xv = f.input("x", f64({5}));
    Value y = ode_solution(f, xv, 6, unrolled);
    f.output(y);
    f.output(grad(sum(y * y), {xv})[0]);
    results.push_back(interpret(f, std::vector<Tensor>{x}));
  }
  for (size_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(results[0][r].get(i), results[1][r].get(i), 1e-14);
}

// det(A) by expansion by minors along the first row, recursively.
double det_by_minors(const std::vector<double>& A, int ell, std::vector<int> rows, std::vector<int> cols) {
  if (rows.size() == 1) return A[rows[0] * ell + cols[0]];
  double total = 0;
  std::vector<int> sub_rows(rows.begin() + 1, rows.end());
  for (size_t j = 0; j < cols.size(); ++j) {
    std::vector<int> sub_cols = cols;
    sub_cols.erase(sub_cols.begin() + static_cast<long>(j));
    total += (j % 2 ? -1 : 1) * A[rows[0] * ell + cols[j]] * det_by_minors(A, ell, sub_rows, sub_cols);
  }
  return total;
}

TEST(GradBenchEvals, Det) {
  Server server({});
  for (int ell : {1, 2, 3, 5}) {
    std::vector<double> A;
    for (int i = 0; i < ell * ell; ++i) A.push_back(std::cos(1.3 * i + 0.2 * ell));
    std::vector<int> all(ell);
    for (int i = 0; i < ell; ++i) all[i] = i;
    json::Object input{{"A", array(A)}, {"ell", ell}};
    EXPECT_NEAR(flat(evaluate(server, "det", "primal", input))[0], det_by_minors(A, ell, all, all), 1e-13) << ell;
    expect_near_all(flat(evaluate(server, "det", "gradient", input)),
                    central_differences("det", "primal", input, 0), 1e-8);
  }
}

// The graph of det's gradient at l = 11: about 6 l nodes for the minors
// (one tensor per level), never l! (docs/gradbench.md reports the counts).
TEST(GradBenchEvals, DetGraphStaysSmall) {
  Module m;
  Function& f = m.add_function("gradient");
  find_function("det", "gradient")->build(f, {11});
  size_t before = f.size();
  run_default_pipeline(m);
  std::printf("det l=11 gradient: %zu nodes built, %zu after the default pipeline\n", before, f.size());
  EXPECT_LT(before, 400u);
  EXPECT_LT(f.size(), 400u);
}

// ADBench's LSTM loss, as upstream's lstm.hpp.
double lstm_objective(int l, int c, int b, const std::vector<double>& main, const std::vector<double>& extra,
                      std::vector<double> state, const std::vector<double>& seq) {
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  double total = 0;
  std::vector<double> in(b);
  for (int t = 0; t + 1 < c; ++t) {
    for (int i = 0; i < b; ++i) in[i] = seq[t * b + i] * extra[i];
    for (int layer = 0; layer < l; ++layer) {
      const double* w = &main[8 * b * layer];
      double *h = &state[2 * b * layer], *s = h + b;
      for (int i = 0; i < b; ++i) {
        double forget = sigmoid(in[i] * w[i] + w[4 * b + i]), ingate = sigmoid(h[i] * w[b + i] + w[5 * b + i]);
        double outgate = sigmoid(in[i] * w[2 * b + i] + w[6 * b + i]), change = std::tanh(h[i] * w[3 * b + i] + w[7 * b + i]);
        s[i] = s[i] * forget + ingate * change;
        h[i] = outgate * std::tanh(s[i]);
      }
      in.assign(h, h + b);
    }
    double lse = 2;
    std::vector<double> y(b);
    for (int i = 0; i < b; ++i) y[i] = in[i] * extra[b + i] + extra[2 * b + i], lse += std::exp(y[i]);
    for (int i = 0; i < b; ++i) total += seq[(t + 1) * b + i] * (y[i] - std::log(lse));
  }
  return -total / ((c - 1) * b);
}

TEST(GradBenchEvals, Lstm) {
  const int l = 2, b = 3, c = 5;
  std::vector<double> main, extra, state, seq;
  for (int i = 0; i < 2 * l * 4 * b; ++i) main.push_back(0.5 + 0.4 * std::sin(0.7 * i));
  for (int i = 0; i < 3 * b; ++i) extra.push_back(0.5 + 0.4 * std::cos(1.1 * i));
  for (int i = 0; i < 2 * l * b; ++i) state.push_back(0.3 * std::sin(2.1 * i + 1));
  for (int i = 0; i < c * b; ++i) seq.push_back((i * 7 + i / 3) % 3 == 0 ? 1 : 0);
  json::Object input{{"main_params", rows(main, 2 * l, 4 * b)}, {"extra_params", rows(extra, 3, b)},
                     {"state", rows(state, 2 * l, b)}, {"sequence", rows(seq, c, b)}};
  Server server({});
  EXPECT_NEAR(flat(evaluate(server, "lstm", "objective", input))[0],
              lstm_objective(l, c, b, main, extra, state, seq), 1e-14);
  std::vector<double> want = central_differences("lstm", "objective", input, 0);
  std::vector<double> extra_part = central_differences("lstm", "objective", input, 1);
  want.insert(want.end(), extra_part.begin(), extra_part.end());
  expect_near_all(flat(evaluate(server, "lstm", "jacobian", input)), want, 1e-8);
}

TEST(GradBenchEvals, LstmScanEqualsUnrolled) {
  const int l = 2, b = 2, c = 6;
  std::vector<Tensor> in;
  for (Shape s : {Shape{2 * l, 4 * b}, Shape{3, b}, Shape{2 * l, b}, Shape{c, b}}) {
    in.emplace_back(DType::f64, s);
    for (int64_t i = 0; i < in.back().numel(); ++i) in.back().set(i, std::sin(0.9 * i + in.size()));
  }
  std::vector<std::vector<Tensor>> results;
  for (bool unrolled : {false, true}) {
    Module m;
    Function& f = m.add_function("lstm");
    std::vector<Value> v;
    for (const Tensor& t : in) v.push_back(f.input("v" + std::to_string(v.size()), f64(t.shape())));
    Value loss = lstm_loss(v[0], v[1], v[2], v[3], unrolled);
    f.output(loss);
    for (Value g : grad(loss, {v[0], v[1], v[2]})) f.output(g);
    results.push_back(interpret(f, in));
  }
  for (size_t r = 0; r < 4; ++r)
    for (int64_t i = 0; i < results[0][r].numel(); ++i)
      EXPECT_NEAR(results[0][r].get(i), results[1][r].get(i), 1e-14) << r << " " << i;
}

// nabla-gradbench --unrolled --write-modules DIR: ode built without a scan,
// the same answer, and the module built written as text that parses back.
TEST(GradBenchEvals, UnrolledAndWrittenModules) {
  std::string dir = ::testing::TempDir();
  Server server({});
  server.write_modules_to(dir);
  set_unrolled_loops(true);
  std::vector<double> x = {0.5, 0.25, 0.75};
  json::Value y = evaluate(server, "ode", "primal", json::Object{{"x", array(x)}, {"s", 3}});
  set_unrolled_loops(false);
  expect_near_all(flat(y), ode_primal(x, 3), 1e-14);
  std::ifstream in(dir + "/ode.primal[3,3].nabla");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Module m = parse(text, "ode.nabla");
  EXPECT_EQ(m.functions().size(), 1u);
  EXPECT_EQ(text.find("scan"), std::string::npos);  // unrolled
  server.write_modules_to(dir + "/no-such-dir");
  EXPECT_EQ(error_of(server, R"({"id": 1, "kind": "evaluate", "module": "ode", "function": "primal", "input": {"x": [1], "s": 1}})"),
            "cannot write " + dir + "/no-such-dir/ode.primal[1,1].nabla");
}

TEST(GradBenchEvals, Errors) {
  Server server({});
  EXPECT_EQ(error_of(server, R"({"id": 1, "kind": "evaluate", "module": "kmeans", "function": "cost",)"
                             R"( "input": {"points": [[1, 2], [3]], "centroids": [[0, 0]]}})"),
            "field \"points\" row 1: expected an array of 2 numbers");
  EXPECT_EQ(error_of(server, R"({"id": 2, "kind": "evaluate", "module": "kmeans", "function": "cost",)"
                             R"( "input": {"points": [[1, 2]], "centroids": [[0, 0, 1]]}})"),
            "field \"centroids\" row 0: expected an array of 2 numbers");
  EXPECT_EQ(error_of(server, R"({"id": 3, "kind": "evaluate", "module": "kmeans", "function": "dir",)"
                             R"( "input": {"points": [], "centroids": [[0]]}})"),
            "field \"points\": expected a non-empty array of non-empty arrays");
  EXPECT_EQ(error_of(server, R"({"id": 4, "kind": "evaluate", "module": "ode", "function": "primal",)"
                             R"( "input": {"x": [1, 2], "s": 0}})"),
            "field \"s\": expected an integer in [1, 16777216]");
  EXPECT_EQ(error_of(server, R"({"id": 5, "kind": "evaluate", "module": "ode", "function": "gradient",)"
                             R"( "input": {"x": [], "s": 2}})"),
            "field \"x\": expected an array of 1 to 16777216 numbers");
  EXPECT_EQ(error_of(server, R"({"id": 6, "kind": "evaluate", "module": "det", "function": "primal",)"
                             R"( "input": {"A": [1, 2, 3], "ell": 2}})"),
            "field \"A\": expected an array of 4 numbers");
  EXPECT_EQ(error_of(server, R"({"id": 7, "kind": "evaluate", "module": "det", "function": "gradient",)"
                             R"( "input": {"A": [1], "ell": 17}})"),
            "field \"ell\": expected an integer in [1, 16]");
  EXPECT_EQ(error_of(server, R"({"id": 8, "kind": "evaluate", "module": "lstm", "function": "objective",)"
                             R"( "input": {"main_params": [[1, 2, 3]], "extra_params": [], "state": [], "sequence": [[1]]}})"),
            "field \"main_params\": expected 2 l rows of 4 b numbers each");
  EXPECT_EQ(error_of(server, R"({"id": 9, "kind": "evaluate", "module": "lstm", "function": "jacobian",)"
                             R"( "input": {"main_params": [[1, 2, 3, 4], [1, 2, 3, 4]], "extra_params": [[1], [2], [3]],)"
                             R"( "state": [[0], [0]], "sequence": [[1]]}})"),
            "field \"sequence\": expected at least 2 characters");
  EXPECT_EQ(error_of(server, R"({"id": 10, "kind": "evaluate", "module": "lstm", "function": "jacobian",)"
                             R"( "input": {"main_params": [[1, 2, 3, 4], [1, 2, 3, 4]], "extra_params": [[1], [2]],)"
                             R"( "state": [[0], [0]], "sequence": [[1], [0]]}})"),
            "field \"extra_params\": expected an array of 3 arrays");
}

}  // namespace
}  // namespace nabla::gradbench
