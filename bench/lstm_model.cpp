#include "bench/lstm_model.h"

#include <cmath>
#include <random>
#include <span>
#include <string>

#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"

namespace nabla::bench {
namespace {

// One step of the stack: carries (h_1, c_1, ..., h_L, c_L), the one-hot x
// [B,V] and labels [B]; returns the next carries and the step's loss.
std::pair<std::vector<Value>, Value> lstm_step(std::span<const Value> carry, Value x, Value labels,
                                               std::span<const Value> w, int64_t layers) {
  std::vector<Value> next;
  Value in = x;
  for (int64_t l = 0; l < layers; ++l) {
    Value h = carry[2 * l], c = carry[2 * l + 1];
    int64_t b = h->shape()[0], n = h->shape()[1];
    Value z = matmul(in, w[3 * l]) + matmul(h, w[3 * l + 1]) + w[3 * l + 2];
    auto gate = [&](int64_t k) { return slice(z, {0, k * n}, {b, (k + 1) * n}); };
    Value cn = sigmoid(gate(1)) * c + sigmoid(gate(0)) * tanh(gate(2));
    Value hn = sigmoid(gate(3)) * tanh(cn);
    next.push_back(hn);
    next.push_back(cn);
    in = hn;
  }
  Value logits = matmul(in, w[3 * layers]) + w[3 * layers + 1];
  return {next, cross_entropy(logits, labels)};
}

std::vector<Value> zeros(Function& f, const LstmSpec& s) {
  Tensor z(DType::f32, {s.batch, s.hidden});
  std::fill_n(z.data_as<float>(), z.numel(), 0.0f);
  return std::vector<Value>(static_cast<size_t>(2 * s.layers), constant(f, z));
}

Value scanned_loss(Function& f, const LstmSpec& s, Value x, Value labels, const std::vector<Value>& w) {
  int64_t layers = s.layers;
  ScanResult r = scan([layers](auto c, auto xs, auto w) -> ScanBodyResult {
    auto [next, loss] = lstm_step(c, xs[0], xs[1], w, layers);
    return {next, {loss}};
  }, zeros(f, s), {x, labels}, w);
  return mean(r.ys[0]);
}

Value unrolled_loss(Function& f, const LstmSpec& s, Value x, Value labels, const std::vector<Value>& w) {
  std::vector<Value> carry = zeros(f, s);
  Value total;
  for (int64_t t = 0; t < s.length; ++t) {
    Value xt = reshape(slice(x, {t, 0, 0}, {t + 1, s.batch, s.vocab}), {s.batch, s.vocab});
    Value lt = reshape(slice(labels, {t, 0}, {t + 1, s.batch}), {s.batch});
    auto [next, loss] = lstm_step(carry, xt, lt, w, s.layers);
    carry = next;
    total = t == 0 ? loss : total + loss;
  }
  return total / static_cast<double>(s.length);
}

void fill_uniform(Tensor& t, double bound, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-bound, bound);
  for (int64_t k = 0; k < t.numel(); ++k) t.data_as<float>()[k] = static_cast<float>(u(rng));
}

}  // namespace

std::vector<Shape> lstm_parameter_shapes(const LstmSpec& s) {
  std::vector<Shape> shapes;
  for (int64_t l = 0; l < s.layers; ++l) {
    shapes.push_back({l == 0 ? s.vocab : s.hidden, 4 * s.hidden});
    shapes.push_back({s.hidden, 4 * s.hidden});
    shapes.push_back({4 * s.hidden});
  }
  shapes.push_back({s.hidden, s.vocab});
  shapes.push_back({s.vocab});
  return shapes;
}

void build_lstm_lm(Function& f, const LstmSpec& s, bool unrolled, bool with_grad) {
  Value x = f.input("x", f32({s.length, s.batch, s.vocab}));
  Value labels = f.input("labels", i32({s.length, s.batch}));
  std::vector<Value> w;
  for (const Shape& shape : lstm_parameter_shapes(s)) w.push_back(f.input("w" + std::to_string(w.size()), f32(shape)));
  Value loss = unrolled ? unrolled_loss(f, s, x, labels, w) : scanned_loss(f, s, x, labels, w);
  f.output(loss);
  if (with_grad)
    for (Value g : grad(loss, w)) f.output(g);
}

std::vector<Tensor> lstm_inputs(const LstmSpec& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> letter(0, static_cast<int32_t>(s.vocab - 1));
  Tensor x(DType::f32, {s.length, s.batch, s.vocab}), labels(DType::i32, {s.length, s.batch});
  std::fill_n(x.data_as<float>(), x.numel(), 0.0f);
  std::vector<int32_t> text(static_cast<size_t>((s.length + 1) * s.batch));
  for (int32_t& c : text) c = letter(rng);
  for (int64_t k = 0; k < s.length * s.batch; ++k) {
    x.data_as<float>()[k * s.vocab + text[static_cast<size_t>(k)]] = 1.0f;
    labels.data_as<int32_t>()[k] = text[static_cast<size_t>(k + s.batch)];
  }
  std::vector<Tensor> in = {x, labels};
  for (const Shape& shape : lstm_parameter_shapes(s)) {
    in.emplace_back(DType::f32, shape);
    fill_uniform(in.back(), 1.0 / std::sqrt(static_cast<double>(s.hidden)), rng);
  }
  return in;
}

void build_rk4(Function& f, int64_t dim, int64_t steps, double dt, Rk4Grad grads, int64_t checkpoint) {
  Value y0 = f.input("y0", f32({1, dim})), a = f.input("A", f32({dim, dim}));
  ScanResult r = scan([dt](auto c, auto, auto w) -> ScanBodyResult {
    Value y = c[0], A = w[0];
    Value k1 = matmul(y, A);
    Value k2 = matmul(y + k1 * (dt / 2), A);
    Value k3 = matmul(y + k2 * (dt / 2), A);
    Value k4 = matmul(y + k3 * dt, A);
    return {{y + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6)}, {}};
  }, {y0}, {}, {a}, {.length = steps, .checkpoint = checkpoint});
  Value z = sum(r.carry[0] * r.carry[0]) * 0.5;
  f.output(z);
  if (grads == Rk4Grad::y0) f.output(grad(z, {y0})[0]);
  if (grads == Rk4Grad::all)
    for (Value g : grad(z, {a, y0})) f.output(g);
}

// A = -I/2 + a random matrix of spectral radius about 0.5: a decaying,
// rotating solution over t = steps * dt.
std::vector<Tensor> rk4_inputs(int64_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor y0(DType::f32, {1, dim}), a(DType::f32, {dim, dim});
  fill_uniform(y0, 1.0, rng);
  fill_uniform(a, std::sqrt(3.0) * 0.5 / std::sqrt(static_cast<double>(dim)), rng);
  for (int64_t i = 0; i < dim; ++i) a.data_as<float>()[i * dim + i] -= 0.5f;
  return {y0, a};
}

}  // namespace nabla::bench
