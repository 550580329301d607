#pragma once
// The reference interpreter: Algorithm 1 of the lecture (forward propagation).
// It evaluates a function op by op on concrete tensors, in the graph's own
// dtypes, with plain loops. It is the oracle every compiled result is checked
// against, so it favours clarity over speed. Semantics of every op: docs/ops.md.
#include <span>
#include <string>
#include <vector>

#include "ir/function.h"
#include "runtime/tensor.h"

namespace nabla {

// Evaluates one node on concrete operand tensors (the operands' values, in
// order). Checks that each operand has the type the node's operand has.
// Throws nabla::Error for run-time errors (e.g. a label out of range), for
// `input` nodes and for `grad` ("grad: run the build-grad pass before evaluating").
Tensor evaluate(const Node& n, std::span<const Tensor> operands);

// The same for an op that is not (yet) a node: `attrs` must be normalized
// (as Function::make leaves them) and `result` the type infer_type gives.
Tensor evaluate(Op op, const Attrs& attrs, const TensorType& result,
                std::span<const Tensor> operands);

// Checks a tensor against input `index` of f. Throws, e.g.
//   "@mlp: input %x expects f32[64,784], got f64[64,784]".
void check_input(const Function& f, size_t index, const Tensor& t);

// Evaluates f on `inputs` (one per function input, in order; checked with
// check_input) and returns one owned tensor per function result.
std::vector<Tensor> interpret(const Function& f, std::span<const Tensor> inputs);

}  // namespace nabla
