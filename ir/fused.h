#pragma once
// Fused regions: a `fused` node owns a body function that computes its result
// from its operands (body input i is operand i). The fuse pass
// (passes/fuse.h) makes them from groups of elementwise ops so that the
// backend computes each group in one loop nest without temporary buffers.
//
// A body holds elementwise ops (unary, binary, comparisons, select, cast),
// broadcast_to and constants, and has one result; that result may be a
// reduction (sum, mean, max) of the elementwise part, which then feeds nothing
// else. A body may also hold one matmul of two body inputs whose type is the
// body result's (a product with an elementwise epilogue, made by the
// fuse-matmul pass, passes/fuse_matmul.h): the backend then computes the
// elementwise part as the GEMM's epilogue. The body's inputs have the
// operands' types, and its result the node's.
#include <memory>
#include <span>
#include <vector>

#include "ir/function.h"

namespace nabla {

// Checks that `body` is a valid body for operands of these types and returns
// the result type. Throws nabla::Error naming the problem, e.g.
//   "fused: body op matmul is not elementwise".
TensorType check_fused_body(std::span<const TensorType> operands, const Function& body);

// Creates a fused node in f (at its insertion point) over `operands`.
Node* make_fused(Function& f, std::vector<Node*> operands, std::shared_ptr<const Function> body);

// True for the ops a body may hold besides a final reduction and a matmul.
bool is_fusible_op(Op op);

// The matmul of a fused node's body, or null.
const Node* fused_matmul(const Node& fused);

}  // namespace nabla
