#pragma once
// The reference interpreter: Algorithm 1 of the lecture (forward propagation).
// It evaluates a function op by op on concrete tensors, in the graph's own
// dtypes, with plain loops. It is the oracle every compiled result is checked
// against, so it favours clarity over speed. Semantics of every op: docs/ops.md.
#include <span>
#include <string>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

// What interpret throws when evaluating a node fails (e.g. a label out of
// range): what() is the evaluation's own message, e.g.
// "cross_entropy: label 12 at index 3 is outside [0, 10)"; node() is the node
// (valid while its function lives), for tools that print its source position.
class EvaluationError : public Error {
 public:
  EvaluationError(const std::string& message, const Node* node) : Error(message), node_(node) {}
  const Node* node() const { return node_; }

 private:
  const Node* node_;
};

// Evaluates one node on concrete operand tensors (the operands' values, in
// order). Checks that each operand has the type the node's operand has.
// Throws nabla::Error for run-time errors (e.g. a label out of range), for
// `input` nodes and for `grad` ("grad: run the build-grad pass before evaluating").
// Collectives (all_reduce) go through `comm` (runtime/abi.h); null means one
// process, where they are identities.
Tensor evaluate(const Node& n, std::span<const Tensor> operands,
                const nabla_communicator* comm = nullptr);

// Runs a loop node (scan or while, ir/loop.h) and returns all of its
// results, in the order of its group of nodes. More than max_trip_count steps
// of a while throws "while: still running after max_trip_count = N steps".
std::vector<Tensor> evaluate_loop(const Node& n, std::span<const Tensor> operands,
                                  const nabla_communicator* comm = nullptr);

// The same for an op that is not (yet) a node: `attrs` must be normalized
// (as Function::make leaves them) and `result` the type infer_type gives.
Tensor evaluate(Op op, const Attrs& attrs, const TensorType& result,
                std::span<const Tensor> operands, const nabla_communicator* comm = nullptr);

// Checks a tensor against input `index` of f. Throws, e.g.
//   "@mlp: input %x expects f32[64,784], got f64[64,784]".
void check_input(const Function& f, size_t index, const Tensor& t);

// Evaluates f on `inputs` (one per function input, in order; checked with
// check_input) and returns one owned tensor per function result. Errors in
// the nodes are thrown as EvaluationError. Collectives go through `comm`
// (null: one process), in body order.
std::vector<Tensor> interpret(const Function& f, std::span<const Tensor> inputs,
                              const nabla_communicator* comm = nullptr);

}  // namespace nabla
