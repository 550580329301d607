#pragma once
// Data-parallel training (docs/distributed.md#data-parallel-training): R
// ranks each run the same step on their own B examples, and the step's
// gradients are averaged across ranks, so that R ranks with batch B give the
// parameters one process gets with batch R·B.
#include <span>
#include <vector>

#include "nabla/passes/build_grad.h"

namespace nabla {

// grad(loss, params), each gradient all-reduced with op = mean. `loss` must be
// this rank's mean over its batch (plus terms every rank computes alike, such
// as weight decay): the mean over ranks of the ranks' mean gradients is then
// the gradient of the mean over all R·B examples. With one process it is
// grad(loss, params).
std::vector<Value> data_parallel_grad(Value loss, std::span<const Value> params, GradOptions options = {});

}  // namespace nabla
