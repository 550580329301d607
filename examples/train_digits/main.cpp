// train_digits: trains the lecture's MLP on the UCI digits (or MNIST) with
// minibatch SGD, momentum or Adam. The training step is built with the C++
// API, differentiated by build-grad, optimized by the default pipeline and
// JIT-compiled; the loop, its options and its reports are the demos' common
// ones (examples/common/trainer.h, `train_digits --help`, docs/cli.md).
// Under mpirun it trains data-parallel: each rank takes its share of every
// global batch (--batch per rank), rank 0 prints (docs/distributed.md).
#include "examples/train_digits/model.h"

int main(int argc, char** argv) {
  using namespace nabla::demo;
  Demo demo{"train_digits",
            "trains the lecture's MLP on the UCI digits (or MNIST) with a training step that nabla differentiates, "
            "optimizes and JIT-compiles",
            [](int64_t features, int64_t classes) {
              ModelShape shape;
              shape.features = features;
              shape.classes = classes;
              return mlp(shape);
            },
            30, 0.1};
  return train_main(argc, argv, demo);
}
