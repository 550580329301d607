// The lecture's worked examples, each gradient compared with the formula
// derived by hand (computed here in plain C++ loops), in f64.
#include "grad_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// Row-major matrix helpers for the hand formulas.
struct Mat {
  int64_t r, c;
  std::vector<double> v;
  double& operator()(int64_t i, int64_t j) { return v[i * c + j]; }
  double operator()(int64_t i, int64_t j) const { return v[i * c + j]; }
};
Mat mat(const Tensor& t) { return {t.shape()[0], t.shape()[1], values(t)}; }
Mat matmul(const Mat& a, const Mat& b, bool ta = false) {
  int64_t m = ta ? a.c : a.r, k = ta ? a.r : a.c;
  Mat out{m, b.c, std::vector<double>(m * b.c, 0.0)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < b.c; ++j)
      for (int64_t p = 0; p < k; ++p) out(i, j) += (ta ? a(p, i) : a(i, p)) * b(p, j);
  return out;
}
Mat transpose(const Mat& a) {
  Mat out{a.c, a.r, std::vector<double>(a.v.size())};
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = 0; j < a.c; ++j) out(j, i) = a(i, j);
  return out;
}

// z = f(f(f(w))) with f = sin: dz/dw = f'(y) f'(x) f'(w), with x and y the
// stored forward values, not recomputed.
TEST(GradLecture, ChainRuleWithStoredIntermediates) {
  Module m;
  Function& f = m.add_function("f");
  Value w = f.input("w", f64());
  Value x = sin(w), y = sin(x), z = sin(y);
  f.output(grad(z, {w})[0]);
  int sines = 0;
  for (Node* n : f) sines += n->op() == Op::Sin;
  EXPECT_EQ(sines, 3);  // f(w) and f(f(w)) are reused, never rebuilt
  for (double wv : {0.3, -1.2, 2.0}) {
    double xv = std::sin(wv), yv = std::sin(xv);
    double want = std::cos(yv) * std::cos(xv) * std::cos(wv);
    expect_close(values(run(f, {Tensor::scalar(DType::f64, wv)})[0]), {want}, 1e-14);
  }
}

// mul x, x: bprop returns x for each operand slot, and the sum gives 2x.
TEST(GradLecture, SquareByMultiplyingXWithItself) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({4}));
  f.output(grad(sum(mul(x, x)), {x})[0]);
  Tensor xv = Tensor::from_doubles(DType::f64, {4}, std::vector<double>{1.5, -2, 0, 3.25});
  expect_close(values(run(f, {xv})[0]), {3, -4, 0, 6.5}, 0);
}

// Logistic regression: yhat = sigmoid(X w + b), J = mean of the binary
// cross-entropy; grad_w J = X^T (yhat - y) / N, grad_b J = mean(yhat - y).
TEST(GradLecture, LogisticRegression) {
  const int64_t n = 6, d = 3;
  Module m;
  Function& f = m.add_function("f");
  Value X = f.input("X", f64({n, d})), w = f.input("w", f64({d, 1}));
  Value b = f.input("b", f64()), y = f.input("y", f64({n, 1}));
  Value yhat = sigmoid(add(matmul(X, w), b));
  Value ll = add(mul(y, log(yhat)), mul(sub(1.0, y), log(sub(1.0, yhat))));
  Value J = neg(mean(ll));
  for (Value g : grad(J, {w, b})) f.output(g);
  Stream s(3);
  Tensor Xv = random_tensor(X->type(), s), wv = random_tensor(w->type(), s);
  Tensor bv = Tensor::scalar(DType::f64, 0.25), yv(DType::f64, {n, 1});
  for (int64_t i = 0; i < n; ++i) yv.set(i, i % 2);
  std::vector<Tensor> out = run(f, {Xv, wv, bv, yv});
  Mat r = matmul(mat(Xv), mat(wv));
  Mat resid{n, 1, std::vector<double>(n)};
  double gb = 0;
  for (int64_t i = 0; i < n; ++i) {
    resid(i, 0) = (1 / (1 + std::exp(-(r(i, 0) + 0.25))) - yv.get(i)) / n;
    gb += resid(i, 0);
  }
  expect_close(values(out[0]), matmul(mat(Xv), resid, /*ta=*/true).v, 1e-13);
  expect_close(values(out[1]), {gb}, 1e-13);
}

// H = max{0, XW + b} and J = sum(H * C): grad_W = X^T (C . [U > 0]),
// grad_b = column sums of C . [U > 0], with U = XW + b.
TEST(GradLecture, ReluLayer) {
  const int64_t n = 5, d = 4, h = 3;
  Module m;
  Function& f = m.add_function("f");
  Value X = f.input("X", f64({n, d})), W = f.input("W", f64({d, h})), b = f.input("b", f64({h}));
  Value C = f.input("C", f64({n, h}));
  Value U = add(matmul(X, W), b);
  Value J = sum(mul(relu(U), C));
  for (Value g : grad(J, {W, b})) f.output(g);
  Stream s(4);
  std::vector<Tensor> in = {random_tensor(X->type(), s), random_tensor(W->type(), s),
                            random_tensor(b->type(), s), random_tensor(C->type(), s)};
  std::vector<Tensor> out = run(f, in);
  Mat u = matmul(mat(in[0]), mat(in[1])), c = mat(in[3]);
  Mat masked{n, h, std::vector<double>(n * h)};
  std::vector<double> gb(h, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < h; ++j) {
      masked(i, j) = u(i, j) + in[2].get(j) > 0 ? c(i, j) : 0;
      gb[j] += masked(i, j);
    }
  expect_close(values(out[0]), matmul(mat(in[0]), masked, true).v, 1e-13);
  expect_close(values(out[1]), gb, 1e-13);
}

// The lecture's MLP: H = relu(X W1), U2 = H W2, J = cross_entropy(U2, y) +
// lambda (sum W1^2 + sum W2^2). With G = (softmax(U2) - onehot(y)) / N:
//   grad_W2 = H^T G + 2 lambda W2,
//   grad_W1 = X^T G' + 2 lambda W1, G' = (G W2^T) zeroed where U1 < 0.
// Each weight gets two contributions (prediction and weight decay), summed.
TEST(GradLecture, MlpWithReluCrossEntropyAndWeightDecay) {
  const int64_t n = 6, d = 5, hid = 4, k = 3;
  const double lambda = 0.01;
  Module m;
  Function& f = m.add_function("f");
  Value X = f.input("X", f64({n, d})), W1 = f.input("W1", f64({d, hid}));
  Value W2 = f.input("W2", f64({hid, k})), y = f.input("y", i32({n}));
  Value U1 = matmul(X, W1), H = relu(U1), U2 = matmul(H, W2);
  Value decay = mul(lambda, add(sum(mul(W1, W1)), sum(mul(W2, W2))));
  Value J = add(cross_entropy(U2, y), decay);
  for (Value g : grad(J, {W1, W2})) f.output(g);
  Stream s(5);
  std::vector<Tensor> in = {random_tensor(X->type(), s), random_tensor(W1->type(), s),
                            random_tensor(W2->type(), s), Tensor(DType::i32, {n})};
  for (int64_t i = 0; i < n; ++i) in[3].set(i, (i * 7) % k);
  std::vector<Tensor> out = run(f, in);

  Mat x = mat(in[0]), w1 = mat(in[1]), w2 = mat(in[2]);
  Mat u1 = matmul(x, w1), hm = u1;
  for (double& v : hm.v) v = std::max(v, 0.0);
  Mat u2 = matmul(hm, w2), G = u2;
  for (int64_t i = 0; i < n; ++i) {
    double mx = -INFINITY, total = 0;
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, u2(i, j));
    for (int64_t j = 0; j < k; ++j) total += std::exp(u2(i, j) - mx);
    for (int64_t j = 0; j < k; ++j)
      G(i, j) = (std::exp(u2(i, j) - mx) / total - (in[3].get(i) == j ? 1 : 0)) / n;
  }
  Mat gw2 = matmul(hm, G, true);
  for (size_t i = 0; i < gw2.v.size(); ++i) gw2.v[i] += 2 * lambda * w2.v[i];
  Mat gprime = matmul(G, transpose(w2));
  for (size_t i = 0; i < gprime.v.size(); ++i)
    if (u1.v[i] < 0) gprime.v[i] = 0;
  Mat gw1 = matmul(x, gprime, true);
  for (size_t i = 0; i < gw1.v.size(); ++i) gw1.v[i] += 2 * lambda * w1.v[i];
  expect_close(values(out[0]), gw1.v, 1e-13);
  expect_close(values(out[1]), gw2.v, 1e-13);
}

// The general case of the lecture's picture: a value reached from z along
// two paths (u = w * w feeds both a and b) gets the sum of both.
TEST(GradLecture, TwoPathsAreSummed) {
  Module m;
  Function& f = m.add_function("f");
  Value w = f.input("w", f64());
  Value u = mul(w, w);
  Value z = add(exp(u), sin(u));  // dz/dw = (e^u + cos u) 2w
  f.output(grad(z, {w})[0]);
  double wv = 0.7, uv = wv * wv;
  expect_close(values(run(f, {Tensor::scalar(DType::f64, wv)})[0]),
               {(std::exp(uv) + std::cos(uv)) * 2 * wv}, 1e-14);
}

}  // namespace
}  // namespace nabla
