#pragma once
// Fused regions: a `fused` node owns a body function that computes its result
// from its operands (body input i is operand i). The fuse pass
// (passes/fuse.h) makes them from groups of elementwise ops so that the
// backend computes each group in one loop nest without temporary buffers.
//
// A body holds elementwise ops (unary, binary, comparisons, select, cast),
// broadcast_to and constants, and slices and concats of inputs, constants
// and each other, read in place (views, ir/fused_views.h; not with a
// reduction or a matmul). With one result, that result may be a
// reduction (sum, mean, max) of the elementwise part, which then feeds nothing
// else. A body may instead have several results (sibling fusion), computed in
// one loop: elementwise results of the loop's shape, and at most one
// reduction (feeding nothing) whose operand has that shape. Each result is one fused
// node; the nodes of one body (its "group") share the operands and stand
// consecutively, in result order (Node::body_result). A body may also hold
// one matmul of two body inputs whose type every result has (a product with
// an elementwise epilogue, made by the fuse-matmul pass,
// passes/fuse_matmul.h; the product itself may be one of the results): the
// backend computes the elementwise part as the GEMM's epilogue. The body's inputs have the operands' types, and result i
// the type of the group's node i.
//
// Indexing: a body may hold gathers whose table and index are body inputs
// or constants, read in the loop where the index points (an indexed read, no
// buffer for the gathered tensor); and a body of one result may end in a
// scatter_add (base and index body inputs or constants) whose updates the
// loop computes element by element, in the interpreter's order.
#include <memory>
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

// Checks that `body` is a valid body for operands of these types and returns
// the result type. Throws nabla::Error naming the problem, e.g.
//   "fused: body op matmul is not elementwise".
// For a body of several results, returns the type of result 0.
TensorType check_fused_body(std::span<const TensorType> operands, const Function& body);

// Creates a fused node in f (at its insertion point) over `operands`, for a
// body of one result.
Node* make_fused(Function& f, std::vector<Node*> operands, std::shared_ptr<const Function> body);

// Creates the group of fused nodes of a body (one node per body result,
// consecutive, in result order) at f's insertion point.
std::vector<Node*> make_fused_group(Function& f, std::vector<Node*> operands,
                                    std::shared_ptr<const Function> body);

// The group of node n: the consecutive nodes sharing its body (just n for a
// body of one result, or for a node without a body). The results of a loop
// (ir/loop.h) make a group the same way.
std::vector<Node*> fused_group(const Node* n);

// The matmul of a fused node's body, or null.
const Node* fused_matmul(const Node& fused);

// Whether a body computes an op through libm: a loop holding one stays scalar
// in the backend, so the fusion passes keep such bodies apart from the others.
bool calls_libm(const Function& body);

// Whether a body's loop is one plain nest: no slice or concat read in place
// (views, whose cells split the loop) and no scatter_add (which must stay its
// body's only result and writes by index).
bool plain_loop_body(const Function& body);

// Whether one of a body's results is a reduction.
bool body_reduces(const Function& body);

// The shape a body's loop runs over: its reduction's operand's, else its results'.
const Shape& body_loop_shape(const Function& body);

}  // namespace nabla
