#include "examples/train_digits/model.h"

#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/data_parallel.h"

namespace nabla::demo {
namespace {

std::vector<Value> parameter_inputs(Function& f, const ModelShape& s) {
  std::vector<Value> params;
  std::vector<Shape> shapes = parameter_shapes(s);
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string name = (i % 2 == 0 ? "W" : "b") + std::to_string(i / 2 + 1);
    params.push_back(f.input(name, f32(shapes[i])));
  }
  return params;
}

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

size_t build_train_step(Function& f, const ModelShape& s, int64_t batch, bool data_parallel) {
  Value x = f.input("X", f32({batch, s.features}));
  Value y = f.input("y", i32({batch}));
  Value lr = f.input("lr", f32());
  std::vector<Value> params = parameter_inputs(f, s);
  Value decay;
  for (size_t l = 0; l < params.size(); l += 2) {
    Value sq = sum(params[l] * params[l]);
    decay = decay.node ? decay + sq : sq;
  }
  Value loss = cross_entropy(forward(x, params), y) + s.weight_decay * decay;
  loss->set_name("loss");
  size_t forward_nodes = f.size();
  std::vector<Value> grads = data_parallel ? data_parallel_grad(loss, params) : grad(loss, params);
  f.output(loss);
  for (size_t i = 0; i < params.size(); ++i) f.output(params[i] - lr * grads[i]);
  return forward_nodes;
}

void build_logits(Function& f, const ModelShape& s, int64_t n) {
  Value x = f.input("X", f32({n, s.features}));
  f.output(forward(x, parameter_inputs(f, s)));
}

}  // namespace nabla::demo
