#pragma once
// The lecture's MLP, built with the C++ API: relu hidden layers, softmax
// cross-entropy against integer labels, weight decay λΣW², and one SGD step
// W ← W − lr·∇W for every parameter, all in one function that build-grad
// differentiates.
#include <cstdint>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla::demo {

struct ModelShape {
  int64_t features = 64;
  std::vector<int64_t> hidden = {128, 128};
  int64_t classes = 10;
  double weight_decay = 1e-4;
};

// Parameter shapes in input order: W1, b1, W2, b2, ..., each W [in, out], b [out].
std::vector<Shape> parameter_shapes(const ModelShape& s);

// @train_step(X f32[batch,features], y i32[batch], lr f32[], W1, b1, ...)
//   -> (loss f32[], W1', b1', ...)      the SGD-updated parameters
// Returns the number of forward nodes (before the gradient was appended).
// data_parallel: the gradients are averaged over the ranks (all_reduce mean,
// passes/data_parallel.h), for a step that each rank runs on its own batch.
size_t build_train_step(Function& f, const ModelShape& s, int64_t batch, bool data_parallel = false);

// @logits(X f32[n,features], W1, b1, ...) -> (f32[n,classes])
void build_logits(Function& f, const ModelShape& s, int64_t n);

}  // namespace nabla::demo
