#pragma once
// The training loop of the demos (train_digits, train_cnn), for any model:
// the command line (examples/common/options.h), the data and its
// train/validation/test split, a training step compiled with the model's
// gradient and the chosen update rule (examples/common/optimizer.h), early
// stopping, checkpoints, the per-epoch report and its CSV log and SVG plot,
// the test score (once, at the end), and the exported classifier. Under
// mpirun (when nabla_mpi is built) it trains data-parallel.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "examples/common/datasets.h"
#include "nabla/ir/function.h"
#include "nabla/runtime/tensor.h"

namespace nabla::demo {

// A model the loop can train. Every image is a row of `features` pixels.
struct Model {
  std::vector<std::string> names;  // of the parameters
  std::vector<Shape> parameters;   // their shapes
  // The logits [n, classes] of the images x [n, features].
  std::function<Value(Value x, const std::vector<Value>& params)> logits;
  // The training loss of a batch (cross-entropy, plus any regularization);
  // absent: the cross-entropy of logits(x).
  std::function<Value(Value x, Value y, const std::vector<Value>& params)> loss;
  // Initial parameter values.
  std::function<std::vector<Tensor>(uint64_t seed)> init;
};

// The model for a data set's image size and class count.
using ModelFor = std::function<Model(int64_t features, int64_t classes)>;

struct Demo {
  const char* name;      // "train_digits"
  const char* overview;  // for --help
  ModelFor model;
  int default_epochs;
  double default_lr;
};

// The whole of a demo's main.
int train_main(int argc, char** argv, const Demo& demo);

// He-initialized (normal, variance 2 / fan_in) tensor of `shape`.
Tensor he_normal(const Shape& shape, int64_t fan_in, std::mt19937_64& rng);

}  // namespace nabla::demo
