// train_cnn: trains a small convolutional network on the UCI digits (8x8
// images) or MNIST (28x28) with minibatch SGD, momentum or Adam, with the
// demos' common loop and options (examples/common/trainer.h):
//   conv 3x3 (8 channels) -> relu -> conv 3x3 (16) -> relu -> max_pool 2x2
//   -> dense -> softmax cross-entropy
// Convolutions keep the image size (padding 1) and add a bias per channel.
//   build/examples/train_cnn [options]      (train_cnn --help, docs/cli.md)
#include <cmath>

#include <fmt/format.h>

#include "examples/common/trainer.h"
#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"

namespace {

using namespace nabla;

constexpr int64_t kChannels1 = 8, kChannels2 = 16;

struct Net {
  int64_t side, classes;  // images side x side

  int64_t pooled() const { return kChannels2 * (side / 2) * (side / 2); }

  std::vector<Shape> parameters() const {
    return {{kChannels1, 1, 3, 3}, {kChannels1, 1, 1}, {kChannels2, kChannels1, 3, 3}, {kChannels2, 1, 1},
            {pooled(), classes},   {classes}};
  }

  // The logits of X [n, side * side].
  Value forward(Value x, const std::vector<Value>& p) const {
    int64_t n = x->shape()[0];
    Conv2DOptions same{.padding = {1, 1, 1, 1}};
    Value h = relu(conv2d(reshape(x, {n, 1, side, side}), p[0], same) + p[1]);
    h = relu(conv2d(h, p[2], same) + p[3]);
    h = max_pool2d(h, {2, 2}, {.stride = {2, 2}});
    return matmul(reshape(h, {n, pooled()}), p[4]) + p[5];
  }

  // He-initialized weights (fan-in: the window's inputs), zero biases.
  std::vector<Tensor> init(uint64_t seed) const {
    std::mt19937_64 rng(seed);
    std::vector<Tensor> params;
    for (const Shape& s : parameters()) {
      int64_t fan_in = s.size() == 4 ? s[1] * s[2] * s[3] : s.size() == 2 ? s[0] : 0;
      params.push_back(fan_in ? demo::he_normal(s, fan_in, rng) : Tensor(DType::f32, s));
    }
    return params;
  }
};

demo::Model cnn(int64_t features, int64_t classes) {
  auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(features))));
  if (side * side != features || side < 2)
    throw Error(fmt::format("train_cnn needs square images, got {} pixels", features));
  Net net{side, classes};
  demo::Model m;
  m.names = {"W1", "b1", "W2", "b2", "W3", "b3"};
  m.parameters = net.parameters();
  m.logits = [net](Value x, const std::vector<Value>& p) { return net.forward(x, p); };
  m.init = [net](uint64_t seed) { return net.init(seed); };
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  demo::Demo d{"train_cnn",
               "trains a small convolutional network on the UCI digits (or MNIST) with a training step that nabla "
               "differentiates, optimizes and JIT-compiles",
               cnn, 20, 0.2};
  return demo::train_main(argc, argv, d);
}
