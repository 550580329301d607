#pragma once
// The update rules of the training demos, compiled into the training step
// (built with the C++ API after build-grad has appended the gradients):
//   sgd        p' = p - lr g
//   momentum   v' = mu v + g;  p' = p - lr v'                    (PyTorch's SGD with momentum)
//   adam       m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;
//              p' = p - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
//              with t the 1-based step count, an input of the step (Kingma and Ba, 2015, Algorithm 1)
// The state (v, or m and v) has the parameters' shapes, starts at zero, and
// is an input and an output of the step, as the parameters are.
#include <string>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla::demo {

enum class OptimizerKind { sgd, momentum, adam };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

OptimizerKind optimizer_kind(std::string_view name);  // "sgd", "momentum", "adam"; throws otherwise
const char* optimizer_name(OptimizerKind kind);

// The step's inputs after the parameters and the outputs after the loss.
struct UpdateRule {
  Value lr, t;                        // t: Adam's step count (f32), absent otherwise
  std::vector<Value> state;           // inputs, for each parameter: v (momentum), m then v (Adam)
  std::vector<std::string> state_names;  // "W1_v", "W1_m", ...
  std::vector<Value> new_params, new_state;
};

// Adds the inputs lr (f32 scalar), t (Adam) and the state of `params`
// (named after them), and builds the updated parameters and state from the
// gradients `grads`. The caller outputs new_params then new_state.
UpdateRule build_update(Function& f, const OptimizerOptions& o, const std::vector<Value>& params,
                        const std::vector<Value>& grads);

}  // namespace nabla::demo
