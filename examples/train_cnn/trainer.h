#pragma once
// train_cnn's training loop, for any model: the command line (train_digits'
// options), the data, minibatch SGD through a compiled training step, and the
// per-epoch report.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "examples/train_digits/datasets.h"
#include "nabla/ir/function.h"
#include "nabla/runtime/tensor.h"

namespace nabla::demo {

// A model the loop can train. Every image is a row of `features` pixels.
struct Model {
  // Parameter shapes, in the order of the functions' parameter inputs.
  std::vector<Shape> parameters;
  // @train_step(X f32[batch,features], y i32[batch], lr f32[], params...)
  //   -> (loss f32[], params'...); returns the number of forward nodes.
  std::function<size_t(Function& f, int64_t batch)> build_step;
  // @logits(X f32[n,features], params...) -> (f32[n,classes])
  std::function<void(Function& f, int64_t n)> build_logits;
  // Initial parameter values.
  std::function<std::vector<Tensor>(uint64_t seed)> init;
};

// The model for a data set (its image size and class count).
using ModelFor = std::function<Model(const Dataset& all, int64_t classes)>;

// The whole of a demo's main: the command line (--epochs, --batch, --lr,
// --seed, --threads, --data, --mnist, --require-progress), then training.
int train_main(int argc, char** argv, const char* name, const char* overview, const ModelFor& model,
               int default_epochs);

// Names the loss, then outputs it and the SGD update p - lr * dloss/dp of
// every parameter; returns the number of nodes before the gradient.
size_t output_sgd_step(Function& f, Value loss, const std::vector<Value>& params, Value lr);

// He-initialized (normal, variance 2 / fan_in) tensor of `shape`.
Tensor he_normal(const Shape& shape, int64_t fan_in, std::mt19937_64& rng);

}  // namespace nabla::demo
