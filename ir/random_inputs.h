#pragma once
// Seeded random input tensors for a function (nabla-run --random-inputs, tests).
// The values depend only on the seed, the input's position and its type, the
// same on every platform (a splitmix64 stream per input, no <random>
// distributions):
//   f32, f64  uniform in [-1, 1]
//   bool      true or false with probability 1/2 each
//   i32, i64  labels: uniform in [0, n) when the input's values reach the
//             labels operand of cross_entropy (n = C, the logits' columns) or
//             the operand of one_hot (n = depth); indices: uniform in [-n, n)
//             when they reach the indices of gather or scatter_add (n = the
//             size of the indexed axis); directly or through ops that only
//             move or copy values (reshape, transpose, broadcast_to, slice,
//             concat, select's branches, gather's x, barrier, stop_gradient, a
//             cast to an integer dtype); with several such uses, the intersection.
//             Other integers: uniform in [-10, 10].
#include <cstdint>
#include <utility>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

std::vector<Tensor> random_inputs(const Function& f, uint64_t seed);

// The inclusive range random_inputs draws integer input `index` from.
std::pair<int64_t, int64_t> random_int_range(const Function& f, size_t index);

}  // namespace nabla
