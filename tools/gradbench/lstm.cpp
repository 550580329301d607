// lstm: ADBench's LSTM (upstream evals/lstm/README.md, cpp/gradbench/evals/
// lstm.hpp): l layers of b cells with diagonal weights, run over a sequence
// of c characters of b bits each, and the mean log-likelihood of the next
// character; its gradient in main_params [2l,4b] and extra_params [3,b].
// Per layer and step, with x the layer's input and (h, s) its state:
//   s' = s sigmoid(x w_f + b_f) + sigmoid(h w_i + b_i) tanh(h w_c + b_c)
//   h' = sigmoid(x w_o + b_o) tanh(s')
// the first layer's x is the character times in_weight, the others' x the
// layer below's h'; the prediction y = h'_last out_weight + out_bias and the
// step's score sum(next * (y - log(sum(exp(y)) + 2))). The c - 1 steps are one
// nabla::scan carrying every layer's (h, s); the gradient is nabla::grad.
#include <span>

#include "tools/gradbench/evals.h"
#include "tools/gradbench/scan_evals.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kMax = int64_t{1} << 24;

// The number of rows of a field that is an array of arrays.
int64_t num_rows(const llvm::json::Object& input, std::string_view name) {
  const llvm::json::Array* a = input.getArray(name);
  if (!a || a->empty() || static_cast<int64_t>(a->size()) > kMax || !(*a)[0].getAsArray())
    throw Error("field \"" + std::string(name) + "\": expected a non-empty array of arrays");
  return static_cast<int64_t>(a->size());
}

Parsed read(const llvm::json::Object& input) {
  int64_t rows = num_rows(input, "main_params"), c = num_rows(input, "sequence");
  int64_t cols = static_cast<int64_t>(input.getArray("main_params")->front().getAsArray()->size());
  if (rows % 2 || cols % 4 || cols == 0)
    throw Error("field \"main_params\": expected 2 l rows of 4 b numbers each");
  if (c < 2) throw Error("field \"sequence\": expected at least 2 characters");
  int64_t l = rows / 2, b = cols / 4;
  auto t = [](Shape s, const std::vector<double>& v) { return Tensor::from_doubles(DType::f64, s, v); };
  return {{t({2 * l, 4 * b}, matrix_field(input, "main_params", 2 * l, 4 * b)),
           t({3, b}, matrix_field(input, "extra_params", 3, b)),
           t({2 * l, b}, matrix_field(input, "state", 2 * l, b)),
           t({c, b}, matrix_field(input, "sequence", c, b))},
          {l, b, c}};
}

// Row r, columns [k b, (k + 1) b) of m, as a vector [b].
Value part(Value m, int64_t r, int64_t k, int64_t b) {
  return reshape(slice(m, {r, k * b}, {r + 1, (k + 1) * b}), {b});
}

// One step: the next (h, s) of every layer and the step's score. w holds,
// per layer, w_f, w_i, w_o, w_c, b_f, b_i, b_o, b_c, then in_weight,
// out_weight and out_bias.
std::pair<std::vector<Value>, Value> lstm_step(std::span<const Value> state, Value x, Value next,
                                               std::span<const Value> w) {
  size_t layers = state.size() / 2;
  std::vector<Value> out;
  Value in = x * w[8 * layers];
  for (size_t i = 0; i < layers; ++i) {
    const Value* p = &w[8 * i];
    Value h = state[2 * i], s = state[2 * i + 1];
    Value cell = s * sigmoid(in * p[0] + p[4]) + sigmoid(h * p[1] + p[5]) * tanh(h * p[3] + p[7]);
    in = sigmoid(in * p[2] + p[6]) * tanh(cell);
    out.push_back(in);
    out.push_back(cell);
  }
  Value y = in * w[8 * layers + 1] + w[8 * layers + 2];
  Value lse = log(sum(exp(y)) + 2.0);
  return {out, sum(next * (y - lse))};
}

void build_objective(Function& f, const std::vector<int64_t>& s) {
  Value main = f.input("main_params", f64({2 * s[0], 4 * s[1]}));
  Value extra = f.input("extra_params", f64({3, s[1]}));
  Value state = f.input("state", f64({2 * s[0], s[1]}));
  Value sequence = f.input("sequence", f64({s[2], s[1]}));
  f.output(lstm_loss(main, extra, state, sequence, unrolled_loops()));
}

void build_jacobian(Function& f, const std::vector<int64_t>& s) {
  Value main = f.input("main_params", f64({2 * s[0], 4 * s[1]}));
  Value extra = f.input("extra_params", f64({3, s[1]}));
  Value state = f.input("state", f64({2 * s[0], s[1]}));
  Value sequence = f.input("sequence", f64({s[2], s[1]}));
  std::vector<Value> g = grad(lstm_loss(main, extra, state, sequence, unrolled_loops()), {main, extra});
  f.output(concat(std::vector<Value>{reshape(g[0], {8 * s[0] * s[1]}), reshape(g[1], {3 * s[1]})}, 0));
}

}  // namespace

Value lstm_loss(Value main, Value extra, Value state, Value sequence, bool unrolled) {
  int64_t l = main->shape()[0] / 2, b = extra->shape()[1], c = sequence->shape()[0];
  std::vector<Value> w, init;
  for (int64_t i = 0; i < l; ++i)
    for (int64_t k = 0; k < 8; ++k) w.push_back(part(main, 2 * i + k / 4, k % 4, b));
  for (int64_t k = 0; k < 3; ++k) w.push_back(part(extra, k, 0, b));
  for (int64_t r = 0; r < 2 * l; ++r) init.push_back(part(state, r, 0, b));
  Value total;
  if (unrolled) {
    for (int64_t t = 0; t + 1 < c; ++t) {
      auto [next, score] = lstm_step(init, part(sequence, t, 0, b), part(sequence, t + 1, 0, b), w);
      init = next;
      total = t == 0 ? score : total + score;
    }
  } else {
    Value xs = slice(sequence, {0, 0}, {c - 1, b}), next = slice(sequence, {1, 0}, {c, b});
    ScanResult r = scan([](auto carry, auto x, auto w) -> ScanBodyResult {
      auto [state, score] = lstm_step(carry, x[0], x[1], w);
      return {state, {score}};
    }, init, {xs, next}, w);
    total = sum(r.ys[0]);
  }
  return total * (-1.0 / static_cast<double>((c - 1) * b));
}

std::vector<EvalFunction> lstm_functions() {
  return {{"lstm", "objective", read, build_objective, write_scalar},
          {"lstm", "jacobian", read, build_jacobian, write_array}};
}

}  // namespace nabla::gradbench
