#pragma once
// The lecture's MLP, built with the C++ API: relu hidden layers, softmax
// cross-entropy against integer labels and weight decay λΣW², trained by the
// demos' common loop (examples/common/trainer.h).
#include <cstdint>
#include <vector>

#include "examples/common/trainer.h"

namespace nabla::demo {

struct ModelShape {
  int64_t features = 64;
  std::vector<int64_t> hidden = {128, 128};
  int64_t classes = 10;
  double weight_decay = 1e-4;
};

// Parameter shapes in input order: W1, b1, W2, b2, ..., each W [in, out], b [out].
std::vector<Shape> parameter_shapes(const ModelShape& s);

// The MLP as a Model: He-initialized weights, zero biases.
Model mlp(const ModelShape& s);

}  // namespace nabla::demo
