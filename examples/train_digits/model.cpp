#include "examples/train_digits/model.h"

#include "nabla/ir/builder.h"

namespace nabla::demo {
namespace {

// U = relu(... relu(X W1 + b1) ...) W_L + b_L
Value forward(Value x, const std::vector<Value>& params) {
  Value h = x;
  for (size_t l = 0; l < params.size(); l += 2) {
    h = matmul(h, params[l]) + params[l + 1];
    if (l + 2 < params.size()) h = relu(h);
  }
  return h;
}

}  // namespace

std::vector<Shape> parameter_shapes(const ModelShape& s) {
  std::vector<Shape> shapes;
  int64_t in = s.features;
  std::vector<int64_t> widths = s.hidden;
  widths.push_back(s.classes);
  for (int64_t out : widths) {
    shapes.push_back({in, out});
    shapes.push_back({out});
    in = out;
  }
  return shapes;
}

Model mlp(const ModelShape& s) {
  Model m;
  m.parameters = parameter_shapes(s);
  for (size_t i = 0; i < m.parameters.size(); ++i)
    m.names.push_back((i % 2 == 0 ? "W" : "b") + std::to_string(i / 2 + 1));
  m.logits = forward;
  double weight_decay = s.weight_decay;
  m.loss = [weight_decay](Value x, Value y, const std::vector<Value>& params) {
    Value decay;
    for (size_t l = 0; l < params.size(); l += 2) {
      Value sq = sum(params[l] * params[l]);
      decay = decay.node ? decay + sq : sq;
    }
    return cross_entropy(forward(x, params), y) + weight_decay * decay;
  };
  std::vector<Shape> shapes = m.parameters;
  m.init = [shapes](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Tensor> params;
    for (const Shape& shape : shapes)
      params.push_back(shape.size() == 2 ? he_normal(shape, shape[0], rng) : Tensor(DType::f32, shape));
    return params;
  };
  return m;
}

}  // namespace nabla::demo
